"""Comparison of one variant against the holdout on one metric.

The absolute lift ``Δ = μt − μc`` gets the unpooled (Welch) standard error
``sqrt(st²/nt + sc²/nc)`` with sample variances (``ddof=1``); the fixed-horizon test is Welch's t
with Welch–Satterthwaite degrees of freedom, for every metric kind. A 0/1 metric is a mean like
any other; at pilot sizes Welch's t and the two-proportion Wald z agree to many digits, and one
method keeps binary, count and sum metrics consistent (and equal to statsmodels'
``CompareMeans.ttest_ind(usevar="unequal")`` on the raw data).

The relative lift ``μt/μc − 1`` gets the delta-method interval
``Var = st²/(μc²·nt) + sc²·μt²/(μc⁴·nc)`` with the normal quantile (as GrowthBook and Eppo do).

**CUPED** (Deng, Xu, Kohavi & Walker 2013), when both arms carry the pre-period covariate ``x``
and it varies: ``θ = cov(x, y) / var(x)`` pooled over the two arms, ``Δ = (ȳt − ȳc) − θ(x̄t − x̄c)``
with per-arm variance ``var(y) − 2θ·cov(x, y) + θ²·var(x)``. The relative lift is ``Δ / ȳc`` over
the *unadjusted* control mean, with the delta-method variance
``se²/ȳc² + Δ²·sc²/(nc·ȳc⁴) + 2Δ·(sc² − θ·cov_c)/(nc·ȳc³)`` (which is the formula above when
θ = 0). ``variance_reduction`` is ``1 − se²(CUPED) / se²(plain)``.

Intervals and p-values come from :func:`stats.inference.infer`, fixed-horizon or sequential.
Undefined cases are not exceptions: they come back with a ``status`` and a sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from stats.inference import Method, infer
from stats.sufficient import CovariateSample, SampleMean

__all__ = ["Comparison", "ComparisonStatus", "MetricKind", "compare"]

MetricKind = Literal["binary", "mean"]
ComparisonStatus = Literal["ok", "insufficient_data", "zero_variance", "zero_baseline"]
Arm = SampleMean | CovariateSample


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment vs control on one metric. ``None`` marks a number that is undefined."""

    status: ComparisonStatus
    message: str | None
    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_se: float | None
    absolute_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_se: float | None
    relative_ci: tuple[float, float] | None
    p_value: float | None
    test: Literal["welch_t", "sequential"]
    alpha: float
    method: Method = "fixed"
    cuped: bool = False
    variance_reduction: float | None = None
    theta: float | None = None


@dataclass(frozen=True, slots=True)
class _Estimate:
    diff: float
    var_t: float  # per-customer variance of the (adjusted) outcome, treatment
    var_c: float
    rel_cov_term: float  # Cov(Δ, ȳc) · nc, for the relative delta method
    theta: float | None
    variance_reduction: float | None


def _welch_df(var_t: float, n_t: int, var_c: float, n_c: int) -> float:
    a, b = var_t / n_t, var_c / n_c
    if a == 0 or b == 0:  # one arm constant: all uncertainty is the other arm's
        return float(n_c - 1 if a == 0 else n_t - 1)
    return (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))


def _outcome(arm: Arm) -> SampleMean:
    return arm.outcome if isinstance(arm, CovariateSample) else arm


def _plain(control: SampleMean, treatment: SampleMean) -> _Estimate:
    return _Estimate(
        treatment.mean - control.mean,
        treatment.variance,
        control.variance,
        -control.variance,
        None,
        None,
    )


def _cuped(control: CovariateSample, treatment: CovariateSample) -> _Estimate | None:
    pooled = control + treatment
    var_x = pooled.covariate.variance
    if var_x <= 0:
        return None
    theta = pooled.covariance / var_x

    def adjusted_variance(arm: CovariateSample) -> float:
        v = arm.outcome.variance - 2 * theta * arm.covariance + theta**2 * arm.covariate.variance
        return max(v, 0.0)

    plain = _plain(control.outcome, treatment.outcome)
    var_t, var_c = adjusted_variance(treatment), adjusted_variance(control)
    nt, nc = treatment.n, control.n
    se2_plain = plain.var_t / nt + plain.var_c / nc
    se2 = var_t / nt + var_c / nc
    return _Estimate(
        plain.diff - theta * (treatment.covariate.mean - control.covariate.mean),
        var_t,
        var_c,
        -(control.outcome.variance - theta * control.covariance),
        theta,
        1 - se2 / se2_plain if se2_plain > 0 else None,
    )


def compare(
    control: Arm,
    treatment: Arm,
    *,
    kind: MetricKind,
    alpha: float = 0.05,
    method: Method = "fixed",
    planned_customers: float | None = None,
    cuped: bool = True,
) -> Comparison:
    """Compare ``treatment`` with ``control`` at level ``alpha`` (two-sided).

    CUPED is applied when ``cuped`` is true, both arms are :class:`CovariateSample` and the
    covariate varies; otherwise the plain estimate is used (and ``message`` says why, when
    CUPED was asked for and possible in principle). ``kind`` documents the metric; binary and
    mean metrics share one estimator.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if kind not in ("binary", "mean"):
        raise ValueError(f"unknown metric kind {kind!r}")
    yc, yt = _outcome(control), _outcome(treatment)
    mu_c, mu_t = yc.mean, yt.mean
    test: Literal["welch_t", "sequential"] = "welch_t" if method == "fixed" else "sequential"

    def result(status: ComparisonStatus, message: str | None, **numbers: object) -> Comparison:
        base: dict[str, object] = {
            "absolute_lift": mu_t - mu_c,
            "absolute_se": None,
            "absolute_ci": None,
            "relative_lift": None,
            "relative_se": None,
            "relative_ci": None,
            "p_value": None,
        }
        base.update(numbers)
        return Comparison(
            status=status,
            message=message,
            control_mean=mu_c,
            treatment_mean=mu_t,
            test=test,
            alpha=alpha,
            method=method,
            **base,  # type: ignore[arg-type]
        )

    if yc.n < 2 or yt.n < 2:
        return result(
            "insufficient_data",
            f"Not enough customers to compare yet (holdout {yc.n}, variant {yt.n};"
            " at least 2 in each are needed).",
        )
    estimate: _Estimate | None = None
    note = None
    if cuped and isinstance(control, CovariateSample) and isinstance(treatment, CovariateSample):
        estimate = _cuped(control, treatment)
        if estimate is None:
            note = (
                "CUPED was not applied: the pre-period covariate has no variance (for example,"
                " no customer converted before assignment)."
            )
    if estimate is None:
        estimate = _plain(yc, yt)
    nt, nc = yt.n, yc.n
    se = math.sqrt(estimate.var_t / nt + estimate.var_c / nc)
    if se == 0.0:
        return result(
            "zero_variance",
            "Every customer has the same value in both groups, so there is no uncertainty to"
            " test against; wait for more conversions.",
        )
    df = _welch_df(estimate.var_t, nt, estimate.var_c, nc) if method == "fixed" else None
    common = {
        "alpha": alpha,
        "method": method,
        "n": nt + nc,
        "planned_customers": planned_customers,
    }
    absolute = infer(estimate.diff, se, df=df, **common)  # type: ignore[arg-type]
    numbers: dict[str, object] = {
        "absolute_lift": estimate.diff,
        "absolute_se": se,
        "absolute_ci": absolute.ci,
        "p_value": absolute.p_value,
        "cuped": estimate.theta is not None,
        "theta": estimate.theta,
        "variance_reduction": estimate.variance_reduction,
    }
    if mu_c == 0.0:
        return result(
            "zero_baseline",
            "The holdout has no conversions yet, so a relative lift is undefined; the absolute"
            " lift is reported.",
            **numbers,
        )
    d = estimate.diff
    rel = d / mu_c
    rel_var = (
        se**2 / mu_c**2
        + d**2 * yc.variance / (nc * mu_c**4)
        - 2 * d * estimate.rel_cov_term / (nc * mu_c**3)
    )
    rel_se = math.sqrt(max(rel_var, 0.0))
    numbers.update(relative_lift=rel, relative_se=rel_se)
    if rel_se > 0:
        numbers["relative_ci"] = infer(rel, rel_se, **common).ci  # type: ignore[arg-type]
    return result("ok", note, **numbers)
