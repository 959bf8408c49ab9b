"""Time-based regression (TBR) of a geo pilot, with an interval calibrated for autocorrelation.

**Estimator** (Kerman, Wang & Vaver 2017, "Estimating ad effectiveness using geo experiments in
a time-based regression framework"). With ``y(t)`` the treated regions' summed KPI and ``x(t)``
the control regions', fit on the pre-period (statsmodels OLS)

    y(t) = a + b·x(t) + ε(t),

predict the counterfactual ``ŷ(t) = â + b̂·x(t)`` over the test period, and report the
incremental KPI to date ``Δ(k) = Σ_{t≤k} (y(t) − ŷ(t))``.

**Why the interval is calibrated.** Kerman et al. treat ``ε`` as independent: the variance of
``Δ(k)`` is then ``k·σ² + zₖ'·Cov(â, b̂)·zₖ`` with ``zₖ = Σ_{t≤k} (1, x(t))``. Daily regional
KPIs are autocorrelated, and the *sum* of ``k`` AR(1) errors has variance
``σ²·[k + 2·Σ_{j<k} (k − j)·ρʲ]`` — about ``k·σ²·(1 + ρ)/(1 − ρ)``, three times ``k·σ²`` at
ρ = 0.5 — so the published intervals are too narrow (the issue measured 86.5 % coverage of
90 % intervals). Newey–West (HAC) points the right way, but its Bartlett kernel and the
downward bias of residual autocorrelations in ~90-day series still leave it narrow. The default
calibration, ``"ar1"``:

1. ``ε`` is AR(1) over calendar days, marginal variance ``s²``, lag-one correlation ρ.
2. ρ and ``s²`` come from the OLS residuals ``e = M·ε`` (``M = I − H``) by matching their
   *exact* finite-sample expectations: ρ solves
   ``Σₜ eₜ·eₜ₊₁ / Σₜ eₜ² = Σₜ (M R(ρ) M)ₜ,ₜ₊₁ / tr(M R(ρ))`` with ``R(ρ)ᵢⱼ = ρ^|tᵢ − tⱼ|`` (this
   removes the bias of fitting ``a`` and ``b``: plain residual autocorrelations average 0.46
   for ρ = 0.5 and 91 days), then the ratio's own O(1/n) bias is added back,
   ``ρ ← ρ·(1 + 2/n)`` (the Marriott & Pope 1954 term for a known mean), and ρ is kept in
   [−0.9, 0.98]; ``s² = e'e / tr(M R(ρ))``.
3. The estimation error of ``Δ(k)`` is one linear form in all errors, pre and test:
   ``Δ̂(k) − Δ(k) = Σ_{t≤k} εₜ − zₖ'(X'X)⁻¹X'ε_pre = w'ε``, so its variance is exactly
   ``w'·Σ·w`` with ``Σᵢⱼ = s²·ρ^|tᵢ − tⱼ|``. That is at once the OLS sandwich (a HAC
   covariance with the AR(1) kernel in place of Bartlett's) for the coefficients, the AR(1)
   variance of the summed test errors, and their covariance across the boundary.
4. The quantile is Student's t with Satterthwaite degrees of freedom ``2 / Var(log V̂)`` for
   the estimated variance ``V̂`` (delta method, :func:`_satterthwaite_df`; 14 for ρ = 0.5 and
   91 pre-period days, about 30 for independent errors): ρ̂ and ``ŝ²`` are noisy, and the
   normal quantile would ignore it (95 % intervals then cover 92.8 % instead of 95.0 % of
   simulated AR(1) regressions).

``calibration="iid"`` (Kerman et al. as published) and ``"newey_west"`` (statsmodels HAC
covariance of the coefficients with ``maxlags = ⌊4(n/100)^{2/9}⌋`` and the Bartlett long-run
variance of the summed test errors; t with ``n − 2`` degrees of freedom) are kept for
comparison; ``benchmarks/simulate_geo.py`` prints all three.

**Known bias.** The control aggregate is itself noisy, so ``b̂`` is attenuated (errors in
variables; about 5 % in the simulated panels). Where the control KPI drifts away from its
pre-period mean — a common trend — the counterfactual lags the drift: on the simulated
reference panels (AR(1) noise) the estimate is biased by +0.005, +0.045, +0.085 and +0.16
standard errors at trends of 0, 5, 10 and 20 %/year, and the A/A rate rises from 5.2 % to
6.0 % (``benchmarks/simulate_geo.py``). The interval does not include that bias.

The p-value is two-sided from the same t, so the interval excludes 0 exactly when ``p < α``.
**Relative lift** ``Δ / C`` over the cumulative counterfactual ``C = Y − Δ`` (``Y`` the observed
treated total, known): ``Δ ↦ Δ/(Y − Δ)`` is increasing, so the interval is the image of Δ's —
Fieller's interval when numerator and denominator are perfectly (negatively) correlated — and it
excludes 0 exactly when Δ's does. **iROAS** = Δ / incremental spend; the spend is the
advertiser's own decision and treated as known, the interval is Δ's divided by it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from stats.geo.panel import (
    DEFAULT_MIN_PER_ARM,
    DEFAULT_MIN_PRE_DAYS,
    DEFAULT_MIN_PRE_MULTIPLE,
    GeoPanel,
    PanelCheck,
    PanelStatus,
    Period,
    check_panel,
)

__all__ = [
    "Calibration",
    "Direction",
    "GeoDay",
    "GeoFit",
    "TbrModel",
    "TbrPrediction",
    "TbrResult",
    "TbrStatus",
    "analyze_geo_pilot",
    "fit_tbr",
]

Calibration = Literal["ar1", "newey_west", "iid"]
Direction = Literal["heavy_up", "go_dark"]
TbrStatus = PanelStatus | Literal["degenerate_fit"]
_RHO_MAX = 0.98
_RHO_MIN = -0.9


# Every quadratic form in the AR(1) correlation ``R(ρ)ᵢⱼ = ρ^|tᵢ − tⱼ|`` is a polynomial in ρ:
# ``Σᵢⱼ Gᵢⱼ·R(ρ)ᵢⱼ = Σₗ ρˡ·cₗ`` with ``cₗ`` the sum of ``G`` over the pairs ``l`` days apart. The
# coefficients are computed once per fit (or prediction) and every ρ afterwards costs a dot
# product — no n×n matrix products, which a loaded machine's threaded BLAS makes slow.


def _offsets(pos: np.ndarray) -> np.ndarray:
    """Whole days from the first position."""
    return np.rint(np.asarray(pos) - np.min(pos)).astype(np.int64)


def _poly(coeffs: np.ndarray, rho: float) -> np.ndarray:
    """``Σₗ ρˡ·coeffs[l]`` (along the first axis)."""
    return np.asarray(np.power(rho, np.arange(coeffs.shape[0])) @ coeffs)


def _matrix_lag_sums(G: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Coefficients of ``Σᵢⱼ Gᵢⱼ·ρ^|tᵢ − tⱼ|`` for a square ``G`` over positions ``off``."""
    lags = np.abs(off[:, None] - off[None, :])
    return np.bincount(lags.ravel(), weights=G.ravel(), minlength=int(off.max()) + 1)


def _quadratic_lag_sums(W: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Coefficients of ``wₖ'·R(ρ)·wₖ`` for every column of ``W`` (autocorrelations by FFT)."""
    size = int(off.max()) + 1
    grid = np.zeros((size, W.shape[1]))
    grid[off] = W
    spectrum = np.fft.rfft(grid, n=2 * size, axis=0)
    auto = np.fft.irfft(spectrum * spectrum.conj(), n=2 * size, axis=0)[:size]
    auto[1:] *= 2
    return np.asarray(auto)


def _estimate_ar1(
    resid: np.ndarray, X: np.ndarray, xtx_inv: np.ndarray, pos: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """(ρ, s², coefficients of tr(M R(ρ))) from OLS residuals by matching exact finite-sample
    expectations (see the module)."""
    from scipy.optimize import brentq  # on first use: see stats/__init__.py

    n = len(resid)
    off = _offsets(pos)
    P, Q = X @ xtx_inv, X  # M = I − P·Q'
    M = np.eye(n) - P @ Q.T
    trace_coeffs = _matrix_lag_sums(M, off)  # tr(M R) = Σᵢⱼ Mᵢⱼ Rᵢⱼ
    adj = np.flatnonzero(np.diff(off) == 1)
    ee = float(resid @ resid)
    if adj.size == 0 or ee <= 0:
        return 0.0, ee / max(n - X.shape[1], 1), trace_coeffs
    r1 = float(resid[adj] @ resid[adj + 1]) / ee
    # E Σ_adj eₜeₜ₊₁ = s²·Σ_adj (M R M)ₜ,ₜ₊₁ = s²·Σᵢⱼ Gᵢⱼ Rᵢⱼ with G = Σ_adj M[:, t]·M[:, t+1]',
    # built from the rank-2 parts of M (an n×n×n product is slow under a threaded BLAS).
    G = P @ (Q[adj].T @ Q[adj + 1]) @ P.T
    G[adj, :] -= Q[adj + 1] @ P.T
    G[:, adj + 1] -= P @ Q[adj].T
    G[adj, adj + 1] += 1.0
    lag1_coeffs = _matrix_lag_sums(G, off)

    def ratio(rho: float) -> float:
        return float(_poly(lag1_coeffs, rho) / _poly(trace_coeffs, rho))

    lo, hi = ratio(_RHO_MIN), ratio(_RHO_MAX)
    if r1 <= lo:
        rho = _RHO_MIN
    elif r1 >= hi:
        rho = _RHO_MAX
    else:
        rho = float(brentq(lambda r: ratio(r) - r1, _RHO_MIN, _RHO_MAX, xtol=1e-7))
        rho = min(rho * (1 + 2 / n), _RHO_MAX)
    return rho, ee / float(_poly(trace_coeffs, rho)), trace_coeffs


def _satterthwaite_df(
    n: int, trace_coeffs: np.ndarray, quad_coeffs: np.ndarray, rho: float
) -> np.ndarray:
    """Degrees of freedom of each estimated variance ``V̂ = (e'e/n)·g(ρ̂)``, where
    ``g(ρ) = n·w'R(ρ)w / tr(M R(ρ))`` (one per column of ``quad_coeffs``): ``2 / Var(log V̂)``.

    By the delta method with Bartlett's large-sample covariances of a Gaussian AR(1)'s sample
    variance ``γ̂₀`` and lag-one autocorrelation ``ρ̂`` — ``n·Var(log γ̂₀) = 2(1 + ρ²)/(1 − ρ²)``,
    ``n·Var(ρ̂) = 1 − ρ²``, ``n·Cov(log γ̂₀, ρ̂) = 2ρ`` —
    ``n·Var(log V̂) ≈ 2(1 + ρ²)/(1 − ρ²) + s²(1 − ρ²) + 4sρ`` with ``s = ∂ log g/∂ρ``
    (numerically). The covariance term matters: a high ρ̂ comes with a high ``γ̂₀``.
    """

    def log_g(r: float) -> np.ndarray:
        quad = np.maximum(_poly(quad_coeffs, r), 1e-300)
        return np.asarray(np.log(quad) - math.log(float(_poly(trace_coeffs, r))))

    step = 0.01
    lo, hi = max(rho - step, _RHO_MIN), min(rho + step, _RHO_MAX)
    slope = (log_g(hi) - log_g(lo)) / (hi - lo)
    var_log = (2 * (1 + rho**2) / (1 - rho**2) + slope**2 * (1 - rho**2) + 4 * slope * rho) / n
    return np.asarray(np.clip(2.0 / var_log, 2.0, max(n - 2.0, 2.0)))


def _bartlett_lrv_sums(resid: np.ndarray, h: int, maxlags: int) -> np.ndarray:
    """Newey–West variance of sums of 1..h future errors from residual autocovariances."""
    n = len(resid)
    gam = np.array([resid[: n - j] @ resid[j:] / n for j in range(maxlags + 1)])
    weights = 1 - np.arange(maxlags + 1) / (maxlags + 1)
    k = np.arange(1, h + 1)[:, None].astype(float)
    j = np.arange(1, maxlags + 1)[None, :]
    cross = 2 * np.clip(k - j, 0, None) * (weights[1:] * gam[1:])[None, :]
    return np.asarray(k[:, 0] * gam[0] + cross.sum(axis=1))


@dataclass(frozen=True, slots=True, eq=False)
class TbrPrediction:
    """The counterfactual over target days and the calibrated variances of its errors.

    ``var_daily[k]``: variance of day ``k``'s prediction error (``None`` when not asked for);
    ``var_cumulative[k]``: of the sum over days ``0..k``; ``df_*`` the t degrees of freedom
    that go with each.
    """

    counterfactual: np.ndarray
    var_daily: np.ndarray | None
    var_cumulative: np.ndarray
    df_daily: np.ndarray | None
    df_cumulative: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class TbrModel:
    """``treated = a + b·control`` fitted on the pre-period, with its error model.

    ``rho`` and ``sigma`` describe the error process (lag-one correlation, marginal sd) under the
    ``"ar1"`` calibration; ``residual_sd`` is the plain OLS one (``sqrt(e'e/(n − 2))``).
    """

    intercept: float
    slope: float
    r_squared: float
    residual_sd: float
    rho: float
    sigma: float
    n_fit: int
    calibration: Calibration
    fitted: np.ndarray = field(repr=False)
    positions: np.ndarray = field(repr=False)
    _X: np.ndarray = field(repr=False)
    _xtx_inv: np.ndarray = field(repr=False)
    _resid: np.ndarray = field(repr=False)
    _cov: np.ndarray = field(repr=False)
    _maxlags: int = field(repr=False)
    _trace_coeffs: np.ndarray = field(repr=False)

    def predict(
        self,
        control_test: np.ndarray,
        *,
        positions: np.ndarray | None = None,
        daily: bool = True,
    ) -> TbrPrediction:
        """Counterfactual of the treated aggregate given the control aggregate on target days.

        ``positions``: the target days on the model's calendar axis (default: the days right
        after the last pre-period day). ``daily=False`` skips the day-by-day variances.
        """
        xt = np.asarray(control_test, dtype=float)
        h = len(xt)
        if h < 1:
            raise ValueError("need at least one target day")
        tpos = (
            self.positions[-1] + 1 + np.arange(h, dtype=float)
            if positions is None
            else np.asarray(positions, dtype=float)
        )
        if len(tpos) != h or np.intersect1d(np.rint(tpos), np.rint(self.positions)).size:
            raise ValueError("positions must match control_test and differ from the fit's days")
        X, A, n = self._X, self._xtx_inv, self.n_fit
        Xt = np.column_stack([np.ones(h), xt])
        counterfactual = Xt @ np.array([self.intercept, self.slope])
        Zc = np.cumsum(Xt, axis=0)  # zₖ of the cumulative sums
        var_day: np.ndarray | None = None
        df_day: np.ndarray | None = None
        if self.calibration == "ar1":
            off = _offsets(np.r_[self.positions, tpos])
            Ws = [np.vstack([-X @ A @ Zc.T, np.triu(np.ones((h, h)))])]
            if daily:
                Ws.append(np.vstack([-X @ A @ Xt.T, np.eye(h)]))
            coeffs = [_quadratic_lag_sums(W, off) for W in Ws]
            var_cum = self.sigma**2 * _poly(coeffs[0], self.rho)
            df_cum = _satterthwaite_df(n, self._trace_coeffs, coeffs[0], self.rho)
            if daily:
                var_day = self.sigma**2 * _poly(coeffs[1], self.rho)
                df_day = _satterthwaite_df(n, self._trace_coeffs, coeffs[1], self.rho)
        else:
            cov = self._cov
            quad_cum = np.einsum("ki,ij,kj->k", Zc, cov, Zc)
            quad_day = np.einsum("ki,ij,kj->k", Xt, cov, Xt)
            if self.calibration == "iid":
                var_cum = np.arange(1, h + 1) * self.residual_sd**2 + quad_cum
                var_day = self.residual_sd**2 + quad_day
            else:
                e = self._resid
                var_cum = _bartlett_lrv_sums(e, h, self._maxlags) + quad_cum
                var_day = float(e @ e) / n + quad_day
            df_cum = np.full(h, float(n - 2))
            df_day = df_cum if daily else None
            if not daily:
                var_day = None
        return TbrPrediction(
            counterfactual,
            None if var_day is None else np.maximum(var_day, 0.0),
            np.maximum(var_cum, 0.0),
            df_day,
            df_cum,
        )


def fit_tbr(
    treated_pre: np.ndarray,
    control_pre: np.ndarray,
    *,
    calibration: Calibration = "ar1",
    positions: np.ndarray | None = None,
) -> TbrModel | None:
    """Regress the treated aggregate on the control aggregate over the pre-period
    (statsmodels OLS) and estimate the error model of ``calibration``. ``None`` when the
    control series is constant (no slope can be fitted).

    ``positions`` are the pre-period's day numbers on one calendar axis (default ``0..n−1``);
    they set the lags of the AR(1) covariance, so a pre-period with a hole is handled.
    """
    from statsmodels.regression.linear_model import OLS  # on first use: see stats/__init__.py

    y = np.asarray(treated_pre, dtype=float)
    x = np.asarray(control_pre, dtype=float)
    n = len(y)
    if len(x) != n or n < 4:
        raise ValueError("need treated and control pre-period series of the same length >= 4")
    if calibration not in ("ar1", "newey_west", "iid"):
        raise ValueError(f"unknown calibration {calibration!r}")
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise ValueError("the aggregate series must be finite")
    fpos = np.arange(n, dtype=float) if positions is None else np.asarray(positions, dtype=float)
    if len(fpos) != n or np.any(np.diff(fpos) <= 0):
        raise ValueError("positions must be increasing and match the series")
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    X = np.column_stack([np.ones(n), x])
    res = OLS(y, X).fit()
    resid = np.asarray(res.resid)
    xtx_inv = np.asarray(res.normalized_cov_params)
    ols_s2 = float(res.scale)
    maxlags = math.floor(4 * (n / 100) ** (2 / 9))
    rho, sigma = 0.0, math.sqrt(ols_s2)
    cov = np.asarray(res.cov_params())
    trace_coeffs = np.zeros(1)
    if calibration == "ar1":
        rho, s2, trace_coeffs = _estimate_ar1(resid, X, xtx_inv, fpos)
        sigma = math.sqrt(s2)
    elif calibration == "newey_west":
        hac = OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags, "use_correction": True})
        cov = np.asarray(hac.cov_params())
        rho = float(resid[:-1] @ resid[1:] / (resid @ resid)) if ols_s2 > 0 else 0.0
    params = np.asarray(res.params)
    return TbrModel(
        intercept=float(params[0]),
        slope=float(params[1]),
        r_squared=float(res.rsquared),
        residual_sd=math.sqrt(ols_s2),
        rho=float(rho),
        sigma=float(sigma),
        n_fit=n,
        calibration=calibration,
        fitted=np.asarray(res.fittedvalues),
        positions=fpos,
        _X=X,
        _xtx_inv=xtx_inv,
        _resid=resid,
        _cov=cov,
        _maxlags=maxlags,
        _trace_coeffs=trace_coeffs,
    )


# ---------------------------------------------------------------------------------------------
# The analysis of a pilot on a panel.


# GeoFit and GeoDay are also the HTTP API's types of these numbers (``service.schema``
# re-exports them; their names are the OpenAPI component names): a field added, renamed or
# retyped here changes the API.


@dataclass(frozen=True, slots=True)
class GeoFit:
    """How well the control regions predict the treated ones in the pre-period (TBR's
    ``treated = intercept + slope · control``), and the AR(1) error correlation ``rho``.

    ``calibration`` is the :data:`Calibration` the model was fitted with, typed ``str`` as the
    API answers it, so that a client decoding an answer still reads a calibration added later.
    """

    days: int
    intercept: float
    slope: float
    r_squared: float
    residual_sd: float
    rho: float
    calibration: str

    @classmethod
    def of_model(cls, model: TbrModel, days: int) -> GeoFit:
        """The summary of a fitted pre-period model over ``days`` days: the analysis and the
        design report the same numbers, so they are read from the model in this one place."""
        return cls(
            days,
            model.intercept,
            model.slope,
            model.r_squared,
            model.residual_sd,
            model.rho,
            model.calibration,
        )


@dataclass(frozen=True, slots=True)
class GeoDay:
    """One day of the treated regions' KPI against its counterfactual.

    Pre-period days carry the in-sample fit only. On test days ``lower``/``upper`` are the
    day's prediction interval of the counterfactual, and the ``cumulative_*`` numbers the
    incremental KPI from the first test day to this one, with its interval.
    """

    date: date
    period: Literal["pre", "test"]
    observed: float
    counterfactual: float
    lower: float | None = None
    upper: float | None = None
    cumulative_incremental: float | None = None
    cumulative_lower: float | None = None
    cumulative_upper: float | None = None


@dataclass(frozen=True, slots=True)
class TbrResult:
    """A geo pilot's lift by time-based regression. ``None`` marks a number that is undefined;
    ``status != "ok"`` carries no estimate and ``message`` says what is missing."""

    status: TbrStatus
    message: str | None
    direction: Direction
    alpha: float
    treatment: tuple[str, ...]
    control: tuple[str, ...]
    pre_days: int
    test_days: int
    check: PanelCheck | None = None
    fit: GeoFit | None = None
    observed: float | None = None
    counterfactual: float | None = None
    incremental: float | None = None
    incremental_se: float | None = None
    incremental_ci: tuple[float, float] | None = None
    p_value: float | None = None
    df: float | None = None
    relative_lift: float | None = None
    relative_ci: tuple[float, float] | None = None
    incremental_spend: float | None = None
    iroas: float | None = None
    iroas_ci: tuple[float, float] | None = None
    daily: tuple[GeoDay, ...] = ()

    @property
    def expected_sign(self) -> int:
        """+1 for a heavy-up test, −1 for a go-dark one (spend cut)."""
        return -1 if self.direction == "go_dark" else 1


def _incremental_spend(
    st_pre: np.ndarray, sc_pre: np.ndarray, st_test: np.ndarray, sc_test: np.ndarray
) -> tuple[float, str]:
    """Treated spend in the test minus its counterfactual: the same regression on spend when
    the control regions' spend varies in the pre-period, else the treated pre-period level."""
    observed = float(st_test.sum())
    if np.ptp(sc_pre) > 1e-12 * max(1.0, float(np.abs(sc_pre).max())):
        X = np.column_stack([np.ones(len(sc_pre)), sc_pre])
        coef = np.linalg.lstsq(X, st_pre, rcond=None)[0]
        return observed - float((coef[0] + coef[1] * sc_test).sum()), "regression"
    return observed - float(st_pre.mean()) * len(st_test), "pre_level"


def analyze_geo_pilot(
    panel: GeoPanel,
    *,
    treatment: Sequence[str],
    pre_period: Period,
    test_period: Period,
    control: Sequence[str] | None = None,
    alpha: float = 0.05,
    direction: Direction = "heavy_up",
    calibration: Calibration = "ar1",
    min_per_arm: int = DEFAULT_MIN_PER_ARM,
    min_pre_days: int = DEFAULT_MIN_PRE_DAYS,
    min_pre_multiple: float = DEFAULT_MIN_PRE_MULTIPLE,
) -> TbrResult:
    """The incremental KPI of ``treatment`` over ``test_period`` (so far) by TBR.

    ``control`` defaults to every other region of the panel. ``test_period`` may end before
    the planned end: the estimate is then the lift to date. ``direction="go_dark"`` marks a
    spend cut (the expected effect is negative); the estimator is the same and every number is
    reported with the sign measured. With spend in the panel, iROAS = incremental KPI /
    incremental spend.
    """
    from scipy import stats as scipy_stats  # on first use: see stats/__init__.py

    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if direction not in ("heavy_up", "go_dark"):
        raise ValueError(f"unknown direction {direction!r}")
    treatment = tuple(treatment)
    if control is None:
        chosen = set(treatment)
        control = tuple(g for g in panel.geos if g not in chosen)
    control = tuple(control)
    check = check_panel(
        panel,
        pre_period=pre_period,
        test_period=test_period,
        treatment=treatment,
        control=control,
        min_per_arm=min_per_arm,
        min_pre_days=min_pre_days,
        min_pre_multiple=min_pre_multiple,
    )
    base = {
        "direction": direction,
        "alpha": alpha,
        "treatment": treatment,
        "control": control,
        "pre_days": check.pre_days,
        "test_days": check.test_days,
        "check": check,
    }
    if not check.ok:
        return TbrResult(status=check.status, message=check.message, **base)  # type: ignore[arg-type]

    t_rows, c_rows = panel.index(treatment), panel.index(control)
    pre, test = panel.day_mask(pre_period), panel.day_mask(test_period)
    pre_dates = [d for d, m in zip(panel.dates, pre) if m]
    test_dates = [d for d, m in zip(panel.dates, test) if m]
    # Calendar positions: a gap between the periods (a washout) lowers the AR(1) correlation.
    origin = pre_period[0]
    pre_pos = np.array([(d - origin).days for d in pre_dates], dtype=float)
    test_pos = np.array([(d - origin).days for d in test_dates], dtype=float)
    y = panel.values[t_rows].sum(axis=0)
    x = panel.values[c_rows].sum(axis=0)
    model = fit_tbr(y[pre], x[pre], calibration=calibration, positions=pre_pos)
    if model is None:
        return TbrResult(
            status="degenerate_fit",
            message="The control regions' KPI is constant over the pre-period, so it cannot"
            " predict the treated regions; choose other control regions or a longer pre-period.",
            **base,  # type: ignore[arg-type]
        )
    pred = model.predict(x[test], positions=test_pos)
    se_cum = np.sqrt(pred.var_cumulative)
    if not se_cum[-1] > 0:
        return TbrResult(
            status="degenerate_fit",
            message="The control regions predict the treated ones without any error in the"
            " pre-period, so no uncertainty can be estimated; check that the arms differ.",
            **base,  # type: ignore[arg-type]
        )
    fit = GeoFit.of_model(model, check.pre_days)
    observed = y[test]
    gap = observed - pred.counterfactual
    cum = np.cumsum(gap)
    q_cum = scipy_stats.t.ppf(1 - alpha / 2, pred.df_cumulative)
    assert pred.var_daily is not None and pred.df_daily is not None
    q_day = scipy_stats.t.ppf(1 - alpha / 2, pred.df_daily)
    half_day = q_day * np.sqrt(pred.var_daily)
    half_cum = q_cum * se_cum
    daily = [
        GeoDay(d, "pre", float(o), float(f)) for d, o, f in zip(pre_dates, y[pre], model.fitted)
    ]
    for k, d in enumerate(test_dates):
        cf = float(pred.counterfactual[k])
        daily.append(
            GeoDay(
                d,
                "test",
                float(observed[k]),
                cf,
                cf - float(half_day[k]),
                cf + float(half_day[k]),
                float(cum[k]),
                float(cum[k] - half_cum[k]),
                float(cum[k] + half_cum[k]),
            )
        )

    delta, se, df = float(cum[-1]), float(se_cum[-1]), float(pred.df_cumulative[-1])
    ci = (delta - float(half_cum[-1]), delta + float(half_cum[-1]))
    p_value = float(2 * scipy_stats.t.sf(abs(delta) / se, df))
    total = float(observed.sum())
    counterfactual = total - delta
    notes: list[str] = []
    rel = rel_ci = None
    if counterfactual > 0:
        rel = delta / counterfactual
        if total - ci[1] > 0:
            rel_ci = (ci[0] / (total - ci[0]), ci[1] / (total - ci[1]))
        else:
            notes.append(
                "The relative lift has no upper bound: the counterfactual could be zero at the"
                " upper end of the interval."
            )
    else:
        notes.append("The counterfactual KPI is not positive, so a relative lift is undefined.")

    inc_spend = iroas = iroas_ci = None
    if panel.spend is not None:
        st = panel.spend[t_rows].sum(axis=0)
        sc = panel.spend[c_rows].sum(axis=0)
        inc_spend, _how = _incremental_spend(st[pre], sc[pre], st[test], sc[test])
        scale = max(1.0, float(np.abs(st[test]).sum()), float(np.abs(st[pre]).mean()))
        if abs(inc_spend) > 1e-9 * scale:
            iroas = delta / inc_spend
            ends = sorted((ci[0] / inc_spend, ci[1] / inc_spend))
            iroas_ci = (ends[0], ends[1])
        else:
            notes.append("The treated regions' spend did not change, so iROAS is undefined.")

    expected_sign = -1 if direction == "go_dark" else 1
    if p_value < alpha and delta * expected_sign < 0:
        expected = "a decrease" if direction == "go_dark" else "an increase"
        notes.append(
            f"The measured effect is significant in the other direction than the test's"
            f" {expected}; check the assignment and the spend data."
        )
    return TbrResult(
        status="ok",
        message=" ".join(notes) or None,
        fit=fit,
        observed=total,
        counterfactual=counterfactual,
        incremental=delta,
        incremental_se=se,
        incremental_ci=ci,
        p_value=p_value,
        df=df,
        relative_lift=rel,
        relative_ci=rel_ci,
        incremental_spend=inc_spend,
        iroas=iroas,
        iroas_ci=iroas_ci,
        daily=tuple(daily),
        **base,  # type: ignore[arg-type]
    )
