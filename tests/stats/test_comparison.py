"""Every interval and p-value of stats.compare cross-checked against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from stats import SampleMean, compare


def _sample(values: np.ndarray) -> SampleMean:
    return SampleMean(len(values), float(values.sum()), float((values**2).sum()))


def test_sample_mean_matches_numpy() -> None:
    values = np.random.default_rng(1).gamma(2.0, 3.0, size=1000)
    s = _sample(values)
    assert s.mean == pytest.approx(values.mean(), rel=1e-12)
    assert s.variance == pytest.approx(values.var(ddof=1), rel=1e-9)
    assert s.population_variance == pytest.approx(values.var(ddof=0), rel=1e-9)
    both = s + _sample(values[:10])
    assert both.n == 1010 and both.sum == pytest.approx(values.sum() + values[:10].sum())


def _binary(conversions: int, n: int) -> np.ndarray:
    return np.r_[np.ones(conversions), np.zeros(n - conversions)]


@pytest.mark.parametrize(
    ("conv_c", "n_c", "conv_t", "n_t"),
    [(500, 10_000, 560, 10_000), (512, 10_012, 2530, 45_101), (13, 40, 19, 41)],
)
def test_binary_matches_statsmodels_welch(conv_c: int, n_c: int, conv_t: int, n_t: int) -> None:
    c = compare(SampleMean(n_c, conv_c, conv_c), SampleMean(n_t, conv_t, conv_t), kind="binary")
    cm = CompareMeans(DescrStatsW(_binary(conv_t, n_t)), DescrStatsW(_binary(conv_c, n_c)))
    _t, p_value, _df = cm.ttest_ind(usevar="unequal")
    low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    assert c.status == "ok"
    assert c.p_value == pytest.approx(p_value, abs=1e-6)
    assert c.absolute_ci == pytest.approx((low, high), abs=1e-6)
    assert c.absolute_lift == pytest.approx(conv_t / n_t - conv_c / n_c, abs=1e-12)
    # At pilot sizes the two-proportion Wald z-test tells the same story.
    if n_c >= 10_000:
        wald = sm_proportion.test_proportions_2indep(
            conv_t, n_t, conv_c, n_c, method="wald", compare="diff", correction=False
        )
        assert c.p_value == pytest.approx(wald.pvalue, rel=1e-3)


@pytest.mark.parametrize(("conv_c", "conv_t"), [(0, 8), (3, 12), (9, 2)])
def test_rare_binary_events_use_fishers_exact_test(conv_c: int, conv_t: int) -> None:
    """Fewer than 10 events in an arm: Fisher's p (scipy), with an interval that excludes 0
    exactly when p < α (0 of 1,000 vs 8 of 1,000: Welch 0.0046, Fisher 0.0077)."""
    from scipy.stats import fisher_exact

    c = compare(SampleMean(1000, conv_c, conv_c), SampleMean(1000, conv_t, conv_t), kind="binary")
    table = [[conv_t, 1000 - conv_t], [conv_c, 1000 - conv_c]]
    assert c.test == "fisher_exact"
    assert c.p_value == pytest.approx(fisher_exact(table).pvalue, rel=1e-9)
    assert c.absolute_ci is not None
    assert (c.absolute_ci[0] > 0 or c.absolute_ci[1] < 0) == (c.p_value < 0.05)


def test_mean_matches_statsmodels_welch() -> None:
    rng = np.random.default_rng(7)
    control = rng.exponential(10.0, size=3000) * (rng.random(3000) < 0.1)
    treatment = rng.exponential(11.0, size=2500) * (rng.random(2500) < 0.11)
    c = compare(_sample(control), _sample(treatment), kind="mean", alpha=0.1)
    cm = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
    t_stat, p_value, _df = cm.ttest_ind(usevar="unequal")
    low, high = cm.tconfint_diff(alpha=0.1, usevar="unequal")
    assert c.p_value == pytest.approx(p_value, abs=1e-6)
    assert c.absolute_ci == pytest.approx((low, high), abs=1e-6)
    assert c.absolute_se == pytest.approx(c.absolute_lift / t_stat, rel=1e-9)


def test_relative_lift_fieller_by_hand() -> None:
    """Fieller's set {r : (Δ − r·m)² ≤ q²(vΔ − 2r·c + r²·vm)} solved by hand, with the
    absolute test's own t quantile; the delta-method standard error is still reported."""
    control, treatment = SampleMean(20_000, 1_000, 1_000), SampleMean(20_000, 1_120, 1_120)
    c = compare(control, treatment, kind="binary")
    mc, mt, n = 0.05, 0.056, 20_000
    vc, vt = mc * (1 - mc) * n / (n - 1), mt * (1 - mt) * n / (n - 1)
    d, v_d, v_m, cov = mt - mc, vt / n + vc / n, vc / n, -vc / n
    df = (vt / n + vc / n) ** 2 / ((vt / n) ** 2 / (n - 1) + (vc / n) ** 2 / (n - 1))
    q = sps.t.ppf(0.975, df)
    a, h, k = mc**2 - q**2 * v_m, d * mc - q**2 * cov, d**2 - q**2 * v_d
    lo, hi = (h - math.sqrt(h * h - a * k)) / a, (h + math.sqrt(h * h - a * k)) / a
    assert c.relative_lift == pytest.approx(0.12, abs=1e-12)
    assert c.relative_ci == pytest.approx((lo, hi), abs=1e-12)
    delta_var = vt / (mc**2 * n) + vc * mt**2 / (mc**4 * n)
    assert c.relative_se == pytest.approx(math.sqrt(delta_var), rel=1e-9)
    # Both intervals agree with the test: p < 0.05 and neither interval contains 0.
    assert c.p_value is not None and c.p_value < 0.05
    assert c.absolute_ci is not None and c.absolute_ci[0] > 0 and lo > 0


def test_degenerate_cases_return_a_status_not_an_error() -> None:
    empty = compare(SampleMean(0, 0, 0), SampleMean(5, 1, 1), kind="binary")
    assert empty.status == "insufficient_data" and empty.p_value is None and empty.message
    flat = compare(SampleMean(100, 0, 0), SampleMean(100, 0, 0), kind="binary")
    assert flat.status == "zero_variance" and flat.absolute_ci is None
    zero_base = compare(SampleMean(1000, 0, 0), SampleMean(1000, 10, 10), kind="binary")
    assert zero_base.status == "zero_baseline"
    assert zero_base.relative_lift is None and zero_base.absolute_ci is not None
    assert zero_base.absolute_lift == pytest.approx(0.01)
