"""Exact methods for rare events, against SciPy/statsmodels and closed forms, and their exact
type I error enumerated (full table in ``benchmarks/simulate_decisions.py``)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import test_poisson_2indep as sm_poisson_2indep

from stats.exact import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    fisher_test,
    is_rare,
    poisson_lower,
    poisson_rate_test,
    poisson_upper,
    rare_event_test,
)
from stats.simulation.decisions import rare_type1, welch_p


def test_fisher_against_welch_on_0_of_1000_vs_8_of_1000() -> None:
    f = fisher_test(0, 1000, 8, 1000)
    # Welch's t on the same 0/1 data (unequal variances, Welch–Satterthwaite df).
    p_t = 8 / 1000
    w = sps.ttest_ind_from_stats(
        p_t, math.sqrt(p_t * (1 - p_t) * 1000 / 999), 1000, 0.0, 0.0, 1000, equal_var=False
    )
    assert f.status == "ok" and f.test == "fisher_exact"
    assert f.p_value == pytest.approx(sps.fisher_exact([[8, 992], [0, 1000]]).pvalue, rel=1e-12)
    assert f.p_value == pytest.approx(0.0077, abs=5e-5)
    assert w.pvalue == pytest.approx(0.0046, abs=5e-5)  # Welch: too small by 40 %
    assert welch_p(0, 1000, 8, 1000) == pytest.approx(w.pvalue, rel=1e-10)
    assert f.statistic == math.inf  # sample odds ratio with no holdout events


def test_fisher_one_sided_is_the_hypergeometric_tail() -> None:
    # Variant 6 of 500, holdout 1 of 800: P(X >= 6), X ~ Hypergeom(M=1300, n=7 events, N=500).
    greater = fisher_test(1, 800, 6, 500, alternative="greater")
    assert greater.p_value == pytest.approx(sps.hypergeom.sf(5, 1300, 7, 500), rel=1e-10)
    # No table in the other tail is as unlikely as this one, so two-sided = one-sided here.
    assert fisher_test(1, 800, 6, 500).p_value == pytest.approx(greater.p_value, rel=1e-12)
    assert fisher_test(1, 800, 6, 500, alternative="less").p_value > 0.9


@pytest.mark.parametrize(
    ("xc", "nc", "xt", "nt"), [(0, 1000, 8, 1000), (3, 5000, 9, 45000), (12, 800, 2, 900)]
)
def test_conditional_poisson_equals_statsmodels_exact_cond(
    xc: int, nc: int, xt: int, nt: int
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels divides by a zero rate
        reference = sm_poisson_2indep(xt, nt, xc, nc, method="exact-cond")
    ours = poisson_rate_test(xc, nc, xt, nt)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert ours.test == "poisson_conditional"


def test_conditional_poisson_by_hand() -> None:
    # Equal exposure, 0 vs 8 events: given 8, X_t ~ Binomial(8, 1/2); two-sided 2·0.5⁸.
    r = poisson_rate_test(0, 1000, 8, 1000)
    assert r.p_value == pytest.approx(2 * 0.5**8, rel=1e-12)
    assert r.statistic == math.inf
    ratio = poisson_rate_test(4, 2000, 6, 1000).statistic
    assert ratio == pytest.approx((6 / 1000) / (4 / 2000))
    # one-sided: P(X >= 6), X ~ Binomial(10, 1/3)
    greater = poisson_rate_test(4, 2000, 6, 1000, alternative="greater")
    assert greater.p_value == pytest.approx(sps.binom.sf(5, 10, 1 / 3), rel=1e-12)


def test_no_events_is_a_status_not_an_error() -> None:
    for kind in ("binary", "count"):
        r = rare_event_test(0, 100, 0, 100, kind=kind)
        assert r.status == "no_events" and r.p_value == 1.0 and r.statistic is None
        assert r.message is not None


@pytest.mark.parametrize(("x", "n"), [(0, 1000), (4, 1_000_000), (17, 230), (230, 230)])
@pytest.mark.parametrize("alpha", [0.05, 0.05 / 3])
def test_clopper_pearson_equals_statsmodels_beta(x: int, n: int, alpha: float) -> None:
    # The two-sided interval at 2α has the one-sided bounds at α as its ends.
    low, high = proportion_confint(x, n, alpha=2 * alpha, method="beta")
    assert clopper_pearson_upper(x, n, alpha=alpha) == pytest.approx(high, rel=1e-10)
    assert clopper_pearson_lower(x, n, alpha=alpha) == pytest.approx(low, rel=1e-10, abs=1e-300)


def test_clopper_pearson_closed_forms() -> None:
    # x = 0: (1 − p)ⁿ = α  ⇒  p = 1 − α^(1/n); x = n: pⁿ = α  ⇒  p = α^(1/n).
    assert clopper_pearson_upper(0, 600) == pytest.approx(1 - 0.05 ** (1 / 600), rel=1e-12)
    assert clopper_pearson_lower(600, 600) == pytest.approx(0.05 ** (1 / 600), rel=1e-12)
    assert clopper_pearson_upper(600, 600) == 1.0 and clopper_pearson_lower(0, 600) == 0.0


def test_clopper_pearson_coverage_is_at_least_nominal() -> None:
    n = 300
    uppers = np.array([clopper_pearson_upper(x, n) for x in range(n + 1)])
    grid = np.linspace(0.0005, 0.05, 200)
    coverage = [float(sps.binom.pmf(np.arange(n + 1), n, p)[uppers >= p].sum()) for p in grid]
    assert min(coverage) >= 0.95  # guaranteed, for every true rate ...
    assert min(coverage) < 0.955  # ... and attained: the bound is as tight as exactness allows


@pytest.mark.parametrize("x", [0, 1, 4, 25])
def test_poisson_bounds_are_garwoods_chi_square_form(x: int) -> None:
    n = 10_000
    assert poisson_upper(x, n) == pytest.approx(sps.chi2.ppf(0.95, 2 * x + 2) / (2 * n), rel=1e-10)
    expected_lower = 0.0 if x == 0 else sps.chi2.ppf(0.05, 2 * x) / (2 * n)
    assert poisson_lower(x, n) == pytest.approx(expected_lower, rel=1e-10)


def test_poisson_upper_with_no_events_is_the_rule_of_three() -> None:
    assert poisson_upper(0, 1000) == pytest.approx(-math.log(0.05) / 1000, rel=1e-12)
    assert poisson_upper(0, 1000) == pytest.approx(0.0029957, abs=1e-7)


def test_is_rare_means_fewer_than_10_events_in_an_arm() -> None:
    assert is_rare(9, 500) and is_rare(500, 0)
    assert not is_rare(10, 10)
    assert is_rare(10, 30, threshold=11) and not is_rare(5, 30, threshold=5)
    with pytest.raises(ValueError):
        is_rare(1, 1, threshold=0)


def test_misuse_raises() -> None:
    with pytest.raises(ValueError):
        clopper_pearson_upper(3.5, 100)  # not an event count
    with pytest.raises(ValueError):
        clopper_pearson_upper(101, 100)
    with pytest.raises(ValueError):
        poisson_upper(3, 0)
    with pytest.raises(ValueError):
        fisher_test(1, 100, 2, 100, alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        clopper_pearson_lower(1, 100, alpha=1.0)
    with pytest.raises(ValueError):
        rare_event_test(1, 100, 2, 100, kind="mean")  # type: ignore[arg-type]
    # Floating-point dust from a SQL sum is an event count all the same.
    assert clopper_pearson_upper(4.0000000000001, 1000) == clopper_pearson_upper(4, 1000)


def test_welch_is_anti_conservative_with_few_holdout_events_and_exact_tests_are_not() -> None:
    # A/A, 10 % holdout (1,000 + 9,000), rate 0.2 %: 2 expected holdout events. Enumerated.
    r = rare_type1(1000, 9000, 0.002)
    assert r.welch > 0.10  # 13.9 %: a zero-event holdout has no variance of its own
    assert r.exact <= 0.05 and r.switched <= 0.05
