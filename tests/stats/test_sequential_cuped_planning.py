"""Golden values for the sequential method, CUPED, Holm, planning and decisions: against
statsmodels on raw data or against the formulas written out by hand (to 1e-6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from stats import (
    CovariateSample,
    SampleMean,
    compare,
    holm,
    infer,
    plan_pilot,
    sequential_rho2,
)


def _sample(v: np.ndarray) -> SampleMean:
    return SampleMean(len(v), float(v.sum()), float((v**2).sum()))


def _cov_sample(y: np.ndarray, x: np.ndarray) -> CovariateSample:
    return CovariateSample(_sample(y), _sample(x), float((x * y).sum()))


def test_always_valid_interval_and_p_value_by_hand() -> None:
    est, se, n, planned, alpha = 0.004, 0.0015, 30_000, 50_000, 0.05
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / planned
    sigma = se * math.sqrt(n)
    half = sigma * math.sqrt(
        2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    )
    got = infer(est, se, alpha=alpha, method="always_valid", n=n, planned_customers=planned)
    assert sequential_rho2(alpha, planned) == pytest.approx(rho2, rel=1e-12)
    assert got.ci == pytest.approx((est - half, est + half), abs=1e-9)
    # The p-value is the level at which the sequence (ρ fixed by the design's α) touches zero.
    nr = n * rho2 + 1
    at_p = sigma * math.sqrt(2 * nr / (n**2 * rho2) * math.log(math.sqrt(nr) / got.p_value))
    assert at_p == pytest.approx(abs(est), rel=1e-9)
    # Always wider than the fixed-horizon interval at the same level.
    fixed = infer(est, se, alpha=alpha)
    assert half > fixed.half_width and got.p_value > fixed.p_value


def test_cuped_equals_welch_on_adjusted_raw_data() -> None:
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 10.0, size=(2, 4000))
    y = 0.6 * x + rng.normal(0, 8, size=(2, 4000))
    y[1] += 1.5
    c = compare(_cov_sample(y[0], x[0]), _cov_sample(y[1], x[1]), kind="mean", cuped=True)
    xs, ys = x.ravel(), y.ravel()
    theta = np.cov(xs, ys, ddof=1)[0, 1] / xs.var(ddof=1)
    adj = y - theta * (x - xs.mean())
    cm = CompareMeans(DescrStatsW(adj[1]), DescrStatsW(adj[0]))
    _t, p_value, _df = cm.ttest_ind(usevar="unequal")
    assert c.cuped and c.theta == pytest.approx(theta, rel=1e-9)
    assert c.absolute_lift == pytest.approx(adj[1].mean() - adj[0].mean(), abs=1e-9)
    assert c.p_value == pytest.approx(p_value, abs=1e-6)
    assert c.absolute_ci == pytest.approx(cm.tconfint_diff(usevar="unequal"), abs=1e-6)
    plain = compare(_sample(y[0]), _sample(y[1]), kind="mean")
    assert c.variance_reduction == pytest.approx(1 - c.absolute_se**2 / plain.absolute_se**2)
    # Relative lift over the unadjusted control mean; delta method with Cov(Δ, ȳc) by hand.
    mu_c, d, nc = y[0].mean(), c.absolute_lift, 4000
    cov_c = np.cov(x[0], y[0], ddof=1)[0, 1]
    var = (
        c.absolute_se**2 / mu_c**2
        + d**2 * y[0].var(ddof=1) / (nc * mu_c**4)
        + 2 * d * (y[0].var(ddof=1) - theta * cov_c) / (nc * mu_c**3)
    )
    assert c.relative_lift == pytest.approx(d / mu_c, rel=1e-9)
    assert c.relative_se == pytest.approx(math.sqrt(var), rel=1e-9)


def test_cuped_falls_back_when_covariate_is_constant() -> None:
    y = np.random.default_rng(1).normal(10, 2, size=(2, 500))
    ones = np.ones(500)
    c = compare(_cov_sample(y[0], ones), _cov_sample(y[1], ones), kind="mean", cuped=True)
    plain = compare(_sample(y[0]), _sample(y[1]), kind="mean")
    assert not c.cuped and c.status == "ok" and "no variance" in (c.message or "")
    assert c.absolute_ci == pytest.approx(plain.absolute_ci, abs=1e-12)


@pytest.mark.parametrize(
    "ps",
    [[0.01, 0.04, 0.03, 0.2], [0.5], [0.001, 0.001, 0.9], [0.04, 0.01], [0.3, 0.2, 0.1, 0.02, 0.6]],
)
def test_holm_matches_statsmodels(ps: list[float]) -> None:
    expected = multipletests(ps, method="holm")[1]
    assert holm([*ps, None]) == pytest.approx([*expected, None], abs=1e-12)
    assert holm([None]) == [None] and holm([]) == []


def test_plan_matches_statsmodels_and_hand_formula() -> None:
    plan = plan_pilot(baseline=0.05, min_lift=0.1, alpha=0.05, power=0.8, holdout_share=0.2,
                      variants=2, daily_customers=5000)  # fmt: skip
    ratio = 0.4 / 0.2
    h = abs(proportion_effectsize(0.055, 0.05))
    n1 = NormalIndPower().solve_power(h, alpha=0.025, power=0.8, ratio=ratio)
    assert plan.holdout_customers == math.ceil(n1)
    # Normal approximation by hand: n1 = (z(1-α/2) + z(power))² (1 + 1/ratio) / h².
    from scipy.stats import norm

    hand = (norm.ppf(1 - 0.025 / 2) + norm.ppf(0.8)) ** 2 * (1 + 1 / ratio) / h**2
    assert n1 == pytest.approx(hand, rel=1e-3)
    assert plan.customers_per_variant == math.ceil(plan.holdout_customers * ratio)
    assert plan.days == math.ceil(plan.total_customers / 5000)
    mean_plan = plan_pilot(baseline=20.0, min_lift=0.05, sd=40.0, holdout_share=0.5)
    assert mean_plan.effect_size == pytest.approx(20 * 0.05 / 40)
    with pytest.raises(ValueError):
        plan_pilot(baseline=0.95, min_lift=0.1)
