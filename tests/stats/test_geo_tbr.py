"""TBR: golden values against a hand OLS (numpy lstsq) and statsmodels, the calibrated variance
against its definition, and the promises of the result (interval ⇔ p-value, relative and iROAS
intervals, daily series, go-dark, statuses)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import date, timedelta

import numpy as np
import pytest
import statsmodels.api as sm

from stats.geo import GeoPanel, analyze_geo_pilot, assign_geos, fit_tbr, inject_lift, simulate_panel
from stats.geo.simulate import SimulatedPanel


def _sim(seed: int = 3, **kw: object) -> tuple[SimulatedPanel, tuple[str, ...], tuple[str, ...]]:
    sim = simulate_panel(seed, **kw)  # type: ignore[arg-type]
    sizes = sim.panel.values[:, sim.panel.day_mask(sim.pre_period)].mean(axis=1)
    treatment, control = assign_geos(sim.panel.geos, sizes, salt=f"tbr-{seed}")
    return sim, treatment, control


def _aggregates(sim: SimulatedPanel, treatment: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    p = sim.panel
    rows = p.index(treatment)
    mask = np.zeros(p.n_geos, dtype=bool)
    mask[rows] = True
    pre, test = p.day_mask(sim.pre_period), p.day_mask(sim.test_period)
    y, x = p.values[mask].sum(axis=0), p.values[~mask].sum(axis=0)
    return y[pre], x[pre], y[test], x[test]


def test_point_estimate_equals_hand_ols_and_statsmodels() -> None:
    sim, treatment, _ = _sim(noise="ar1")
    lifted = inject_lift(sim, treatment, lift=0.08)
    r = analyze_geo_pilot(
        lifted.panel, treatment=treatment, pre_period=sim.pre_period, test_period=sim.test_period
    )
    assert r.status == "ok" and r.fit is not None and r.incremental is not None
    y_pre, x_pre, y_test, x_test = _aggregates(
        dataclasses.replace(sim, panel=lifted.panel), treatment
    )
    X = np.column_stack([np.ones_like(x_pre), x_pre])
    (a, b), *_ = np.linalg.lstsq(X, y_pre, rcond=None)
    hand = float((y_test - (a + b * x_test)).sum())
    ols = sm.OLS(y_pre, X).fit()
    assert r.fit.intercept == pytest.approx(a, rel=1e-9)
    assert r.fit.slope == pytest.approx(b, rel=1e-9)
    assert r.fit.r_squared == pytest.approx(ols.rsquared, rel=1e-12)
    assert r.fit.residual_sd == pytest.approx(math.sqrt(ols.scale), rel=1e-12)
    assert r.incremental == pytest.approx(hand, rel=1e-9)
    counterfactual = ols.get_prediction(np.column_stack([np.ones_like(x_test), x_test]))
    assert r.counterfactual == pytest.approx(counterfactual.predicted_mean.sum(), rel=1e-12)
    assert r.observed == pytest.approx(y_test.sum(), rel=1e-12)
    # The truth is +8 % of the treated regions' own KPI: the estimate is in its neighbourhood.
    assert r.relative_lift == pytest.approx(0.08, abs=0.04)


def test_iid_calibration_is_statsmodels_prediction_variance() -> None:
    sim, treatment, _ = _sim(seed=5)
    y_pre, x_pre, _, x_test = _aggregates(sim, treatment)
    model = fit_tbr(y_pre, x_pre, calibration="iid")
    assert model is not None
    pred = model.predict(x_test)
    Xt = np.column_stack([np.ones_like(x_test), x_test])
    ols = sm.OLS(y_pre, np.column_stack([np.ones_like(x_pre), x_pre])).fit()
    sm_pred = ols.get_prediction(Xt)
    assert pred.var_daily is not None
    np.testing.assert_allclose(pred.var_daily, sm_pred.se_obs**2, rtol=1e-10)
    # The sum of k predictions: k·σ² + z'Cov z with z the summed design rows.
    z = np.cumsum(Xt, axis=0)
    se_mean = ols.get_prediction(z).se_mean
    k = np.arange(1, len(x_test) + 1)
    np.testing.assert_allclose(pred.var_cumulative, k * ols.scale + se_mean**2, rtol=1e-10)


def test_newey_west_uses_statsmodels_hac() -> None:
    from statsmodels.stats.sandwich_covariance import cov_hac

    sim, treatment, _ = _sim(seed=6, noise="ar1")
    y_pre, x_pre, _, _ = _aggregates(sim, treatment)
    model = fit_tbr(y_pre, x_pre, calibration="newey_west")
    assert model is not None
    ols = sm.OLS(y_pre, np.column_stack([np.ones_like(x_pre), x_pre])).fit()
    maxlags = math.floor(4 * (len(y_pre) / 100) ** (2 / 9))
    np.testing.assert_allclose(model._cov, cov_hac(ols, nlags=maxlags), rtol=1e-10)


def test_ar1_variance_is_the_variance_of_the_prediction_error() -> None:
    """w'Σw against brute force: AR(1) errors through the same regression design."""
    sim, treatment, _ = _sim(seed=7)
    y_pre, x_pre, _, x_test = _aggregates(sim, treatment)
    model = fit_tbr(y_pre, x_pre)
    assert model is not None
    rho, sigma = 0.5, 100.0
    model = dataclasses.replace(model, rho=rho, sigma=sigma)
    pred = model.predict(x_test)
    n, h = len(x_pre), len(x_test)
    rng = np.random.default_rng(0)
    draws = 20_000
    e = rng.standard_normal((draws, n + h))
    for t in range(1, n + h):
        e[:, t] = rho * e[:, t - 1] + math.sqrt(1 - rho**2) * e[:, t]
    e *= sigma
    X = np.column_stack([np.ones(n), x_pre])
    Xt = np.column_stack([np.ones(h), x_test])
    coef = np.linalg.lstsq(X, e[:, :n].T, rcond=None)[0]  # 2 × draws: θ̂ − θ
    errors = e[:, n:] - (Xt @ coef).T  # draws × h: each day's prediction error
    cumulative = errors.cumsum(axis=1)
    # The relative standard error of a variance from 20,000 draws is about 1 %.
    np.testing.assert_allclose(
        pred.var_cumulative[[0, 6, h - 1]], cumulative[:, [0, 6, h - 1]].var(axis=0), rtol=0.04
    )
    assert pred.var_daily is not None
    np.testing.assert_allclose(
        pred.var_daily[[0, h - 1]], errors[:, [0, h - 1]].var(axis=0), rtol=0.04
    )
    # The sum of AR(1) errors is far above h·σ² (≈ (1 + ρ)/(1 − ρ) = 3 times).
    assert pred.var_cumulative[-1] > 2.5 * h * sigma**2


def test_rho_estimate_is_nearly_unbiased_for_regression_residuals() -> None:
    rng = np.random.default_rng(11)
    n, rho = 91, 0.5
    x = 100 + 15 * np.sin(2 * np.pi * np.arange(n) / 7) + 3 * rng.standard_normal(n)
    estimates = []
    for _ in range(300):
        e = rng.standard_normal(n)
        for t in range(1, n):
            e[t] = rho * e[t - 1] + math.sqrt(1 - rho**2) * e[t]
        model = fit_tbr(2 + 0.5 * x + e, x)
        assert model is not None
        estimates.append(model.rho)
    # sd of one estimate ≈ sqrt((1 − ρ²)/n) = 0.09, of the mean of 300 ≈ 0.005. The plain lag-one
    # autocorrelation of the residuals would average about 0.46.
    assert np.mean(estimates) == pytest.approx(rho, abs=0.015)


def test_interval_p_value_relative_and_iroas_agree() -> None:
    rng = np.random.default_rng(2)
    seen = {True: 0, False: 0}
    for s in range(40):
        sim, treatment, _ = _sim(seed=100 + s, noise="ar1", spend_per_unit=0.4)
        lifted = inject_lift(sim, treatment, lift=float(rng.uniform(-0.05, 0.05)), spend_change=1.0)
        r = analyze_geo_pilot(
            lifted.panel,
            treatment=treatment,
            pre_period=sim.pre_period,
            test_period=sim.test_period,
        )
        assert r.status == "ok"
        assert r.incremental_ci and r.relative_ci and r.iroas_ci and r.p_value is not None
        lo, hi = r.incremental_ci
        excludes = lo > 0 or hi < 0
        seen[excludes] += 1
        assert excludes == (r.p_value < r.alpha)
        assert (r.relative_ci[0] > 0 or r.relative_ci[1] < 0) == excludes
        assert (r.iroas_ci[0] > 0 or r.iroas_ci[1] < 0) == excludes
        # The relative interval is the image of the absolute one with the observed total fixed.
        assert r.observed is not None and r.counterfactual is not None
        assert r.incremental is not None
        y = r.observed
        assert r.relative_ci == pytest.approx((lo / (y - lo), hi / (y - hi)), rel=1e-12)
        assert r.relative_lift == pytest.approx(r.incremental / r.counterfactual, rel=1e-12)
        assert r.incremental_spend is not None and r.iroas is not None
        assert r.iroas == pytest.approx(r.incremental / r.incremental_spend, rel=1e-12)
        assert r.incremental_spend == pytest.approx(lifted.true_incremental_spend, rel=0.05)
    assert seen[True] >= 5 and seen[False] >= 5  # both branches exercised


def test_daily_series_and_lift_to_date() -> None:
    sim, treatment, _ = _sim(seed=9, noise="ar1")
    lifted = inject_lift(sim, treatment, lift=0.1)
    full = analyze_geo_pilot(
        lifted.panel, treatment=treatment, pre_period=sim.pre_period, test_period=sim.test_period
    )
    assert full.fit is not None and full.incremental_ci is not None
    pre = [d for d in full.daily if d.period == "pre"]
    test = [d for d in full.daily if d.period == "test"]
    assert (len(pre), len(test)) == (91, 28) == (full.pre_days, full.test_days)
    assert test[0].date == sim.test_period[0] and test[-1].date == sim.test_period[1]
    last = test[-1]
    assert last.cumulative_incremental == pytest.approx(full.incremental)
    assert (last.cumulative_lower, last.cumulative_upper) == pytest.approx(full.incremental_ci)
    assert sum(d.observed - d.counterfactual for d in test) == pytest.approx(full.incremental)
    for d in test:
        assert d.lower is not None and d.upper is not None
        assert d.lower < d.counterfactual < d.upper
    assert all(d.lower is None for d in pre)
    # The interval of the cumulative lift widens with time.
    widths = [d.cumulative_upper - d.cumulative_lower for d in test]  # type: ignore[operator]
    assert all(b > a for a, b in itertools.pairwise(widths))
    # Analysed after 14 days: the lift to date equals the first 14 days of the full analysis.
    two_weeks = (sim.test_period[0], sim.test_period[0] + timedelta(days=13))
    half = analyze_geo_pilot(
        lifted.panel, treatment=treatment, pre_period=sim.pre_period, test_period=two_weeks
    )
    assert half.test_days == 14
    assert half.incremental == pytest.approx(test[13].cumulative_incremental)


def test_go_dark_is_reported_with_the_measured_sign() -> None:
    sim, treatment, _ = _sim(seed=12, spend_per_unit=0.5)
    lifted = inject_lift(sim, treatment, lift=-0.1, spend_change=-1.0)
    r = analyze_geo_pilot(
        lifted.panel,
        treatment=treatment,
        pre_period=sim.pre_period,
        test_period=sim.test_period,
        direction="go_dark",
    )
    assert r.direction == "go_dark" and r.expected_sign == -1
    assert r.incremental is not None and r.incremental < 0
    assert r.relative_lift is not None and r.relative_lift < 0
    assert r.relative_ci is not None and r.relative_ci[1] < 0
    assert r.incremental_spend is not None and r.incremental_spend < 0
    assert r.iroas is not None and r.iroas > 0  # fewer sales for less spend
    assert r.iroas_ci is not None and r.iroas_ci[0] < r.iroas_ci[1]
    assert r.message is None
    # A significant effect against the test's direction is flagged.
    up = inject_lift(sim, treatment, lift=0.1, spend_change=-1.0)
    odd = analyze_geo_pilot(
        up.panel,
        treatment=treatment,
        pre_period=sim.pre_period,
        test_period=sim.test_period,
        direction="go_dark",
    )
    assert odd.status == "ok" and "other direction" in (odd.message or "")


def test_statuses_instead_of_estimates() -> None:
    sim, treatment, _ = _sim(seed=13)
    values = sim.panel.values.copy()
    i = sim.panel.index([treatment[0]])[0]
    values[i, 95] = np.nan
    broken = GeoPanel(sim.panel.geos, sim.panel.dates, values)
    r = analyze_geo_pilot(
        broken, treatment=treatment, pre_period=sim.pre_period, test_period=sim.test_period
    )
    assert r.status == "missing_days" and r.incremental is None and r.daily == ()
    assert treatment[0] in (r.message or "")
    few = analyze_geo_pilot(
        sim.panel, treatment=treatment[:3], pre_period=sim.pre_period, test_period=sim.test_period
    )
    assert few.status == "too_few_regions"
    # Control regions with a constant KPI cannot predict anything.
    days = tuple(date(2026, 1, 1) + timedelta(days=k) for k in range(40))
    rng = np.random.default_rng(0)
    flat = np.vstack([rng.gamma(5, 10, size=(4, 40)), np.full((4, 40), 7.0)])
    panel = GeoPanel(tuple("abcdefgh"), days, flat)
    r = analyze_geo_pilot(
        panel,
        treatment=list("abcd"),
        pre_period=(days[0], days[29]),
        test_period=(days[30], days[39]),
    )
    assert r.status == "degenerate_fit" and r.fit is None


def test_misuse_raises() -> None:
    sim, treatment, _ = _sim(seed=14)
    periods = {"pre_period": sim.pre_period, "test_period": sim.test_period}
    with pytest.raises(ValueError, match="alpha"):
        analyze_geo_pilot(sim.panel, treatment=treatment, alpha=1.5, **periods)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction"):
        analyze_geo_pilot(sim.panel, treatment=treatment, direction="sideways", **periods)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown regions"):
        analyze_geo_pilot(sim.panel, treatment=["nowhere"], **periods)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="calibration"):
        fit_tbr(np.arange(10.0), np.arange(10.0) ** 2, calibration="bootstrap")  # type: ignore[arg-type]


def test_calibrated_interval_is_wider_than_the_published_one_on_autocorrelated_data() -> None:
    sim, treatment, _ = _sim(seed=15, noise="ar1")
    kw = {"treatment": treatment, "pre_period": sim.pre_period, "test_period": sim.test_period}
    plain = analyze_geo_pilot(sim.panel, calibration="iid", **kw)  # type: ignore[arg-type]
    calibrated = analyze_geo_pilot(sim.panel, **kw)  # type: ignore[arg-type]
    assert plain.incremental == calibrated.incremental
    # sqrt((1 + ρ)/(1 − ρ)) = 1.7 at ρ = 0.5 for long tests; one panel's estimate varies.
    assert calibrated.incremental_se > 1.25 * plain.incremental_se  # type: ignore[operator]
    assert calibrated.fit is not None and calibrated.fit.rho > 0.2


def test_lag_polynomials_equal_dense_quadratic_forms() -> None:
    """The ρ-polynomials behind the AR(1) variance equal the dense forms, gaps included."""
    from stats.geo.tbr import _matrix_lag_sums, _offsets, _poly, _quadratic_lag_sums

    rng = np.random.default_rng(3)
    pos = np.cumsum(rng.integers(1, 4, size=30)).astype(float)  # gaps of 1–3 days
    off = _offsets(pos)
    W = rng.standard_normal((30, 4))
    G = rng.standard_normal((30, 30))
    for rho in (-0.6, 0.0, 0.3, 0.9):
        R = rho ** np.abs(off[:, None] - off[None, :]).astype(float)
        np.testing.assert_allclose(
            _poly(_quadratic_lag_sums(W, off), rho), np.einsum("ik,ij,jk->k", W, R, W),
            rtol=1e-9, atol=1e-9,
        )  # fmt: skip
        assert float(_poly(_matrix_lag_sums(G, off), rho)) == pytest.approx((G * R).sum())


def test_a_washout_between_the_periods_is_allowed() -> None:
    sim, treatment, _ = _sim(seed=16, noise="ar1")
    pre = (sim.pre_period[0], sim.pre_period[1] - timedelta(days=7))
    r = analyze_geo_pilot(sim.panel, treatment=treatment, pre_period=pre,
                          test_period=sim.test_period)  # fmt: skip
    assert r.status == "ok" and (r.pre_days, r.test_days) == (84, 28)
    assert sum(d.period == "pre" for d in r.daily) == 84
    assert r.incremental_se is not None and r.incremental_se > 0
