"""Fieller's interval for the relative lift: hand-worked quadratics, the invariant with the
absolute test on random cases (directly and through ``compare``), and coverage by seeded
simulation (reduced sizes; full size in ``benchmarks/simulate_decisions.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from stats import SampleMean, compare
from stats.fieller import (
    critical_value,
    delta_method_relative_interval,
    fieller_set,
    relative_lift_interval,
)
from stats.inference import Method
from stats.simulation.decisions import (
    COVERAGE_SCENARIOS,
    Scenario,
    compare_invariant,
    covariate_sample,
    coverage,
    cuped_covariance,
    fieller_invariant,
    simulate_arms,
    welch_estimates,
)


def test_golden_interval_by_hand() -> None:
    # Δ = 3, m = 10, v_Δ = 1, v_m = 4, c = −1, q = 2:
    # (3 − 10r)² ≤ 4(1 + 2r + 4r²)  ⇔  9 − 60r + 100r² ≤ 4 + 8r + 16r²  ⇔  84r² − 68r + 5 ≤ 0,
    # r = (68 ± sqrt(68² − 4·84·5)) / (2·84) = (68 ± sqrt(2944)) / 168.
    r = relative_lift_interval(3.0, 10.0, var_delta=1.0, var_baseline=4.0, covariance=-1.0, q=2.0)
    root = math.sqrt(2944.0)
    assert r.status == "ok" and r.message is None
    assert r.estimate == pytest.approx(0.3)
    assert r.ci == pytest.approx(((68 - root) / 168, (68 + root) / 168), rel=1e-12)
    assert r.ci is not None and r.ci[0] == pytest.approx(0.081794, abs=1e-6)
    assert r.excludes_zero  # |Δ|/sqrt(v_Δ) = 3 > q = 2
    # The interval is not symmetric about Δ/m, unlike the delta method's:
    # se² = 1/10² + 3²·4/10⁴ − 2·3·(−1)/10³ = 0.0196, so 0.3 ± 2·0.14 = [0.02, 0.58].
    d = delta_method_relative_interval(
        3.0, 10.0, var_delta=1.0, var_baseline=4.0, covariance=-1.0, q=2.0
    )
    assert d.method == "delta" and d.ci == pytest.approx((0.02, 0.58), rel=1e-12)


def test_boundary_case_zero_is_an_end_point_exactly() -> None:
    # Δ = 2: |Δ|/sqrt(v_Δ) = q exactly (p = α). (2 − 10r)² ≤ 4(1 + 2r + 4r²) ⇔ 84r² − 48r ≤ 0,
    # r ∈ [0, 4/7]: zero is in the closed set, exactly as the absolute test does not reject.
    r = relative_lift_interval(2.0, 10.0, var_delta=1.0, var_baseline=4.0, covariance=-1.0, q=2.0)
    assert r.ci is not None
    assert r.ci[0] == 0.0 and r.ci[1] == pytest.approx(4 / 7, rel=1e-14)
    assert r.excludes_zero is False


def test_unbounded_sets_by_hand() -> None:
    # m = 3 with v_m = 4: m/se(m) = 1.5 < q = 2, so the set is not a finite interval.
    # (3 − 3r)² ≤ 4(1 + 2r + 4r²) ⇔ 7r² + 26r − 5 ≥ 0: r ≤ (−26 − √816)/14 or r ≥ (−26 + √816)/14.
    r = relative_lift_interval(3.0, 3.0, var_delta=1.0, var_baseline=4.0, covariance=-1.0, q=2.0)
    assert r.status == "unbounded" and r.ci is None
    assert r.message is not None and "not clearly above zero" in r.message
    assert r.estimate == pytest.approx(1.0)
    assert r.fieller is not None and r.fieller.kind == "two_rays"
    (lo_ray, hi_ray) = r.fieller.pieces
    assert lo_ray == (-math.inf, pytest.approx((-26 - math.sqrt(816)) / 14, rel=1e-12))
    assert hi_ray == (pytest.approx((-26 + math.sqrt(816)) / 14, rel=1e-12), math.inf)
    assert r.excludes_zero  # Δ is significant (3 > 2) although the ratio is unbounded
    # (0.1 − 0.5r)² ≤ 4(1 + r²) for every r: −3.75r² − 0.1r − 3.99 ≤ 0 has no real root.
    everything = fieller_set(0.1, 0.5, var_numerator=1, var_denominator=1, covariance=0, q=2)
    assert everything.kind == "everything" and everything.contains(-1e9)
    # m² = q²·v_m exactly: linear, −2h·r + C ≤ 0 with h = 6, C = 5: r ≥ 5/12.
    half = fieller_set(3.0, 2.0, var_numerator=1, var_denominator=1, covariance=0, q=2)
    assert half.kind == "half_line" and half.pieces == ((pytest.approx(5 / 12), math.inf),)


@pytest.mark.parametrize("baseline", [0.0, -2.0])
def test_nonpositive_baseline_has_no_relative_lift(baseline: float) -> None:
    for interval in (relative_lift_interval, delta_method_relative_interval):
        r = interval(1.0, baseline, var_delta=1.0, var_baseline=1.0, covariance=0.0, q=1.96)
        assert r.status == "nonpositive_baseline"
        assert r.estimate is None and r.ci is None and r.excludes_zero is None
        assert r.message is not None and "undefined" in r.message


def test_misuse_raises() -> None:
    ok = {"var_delta": 1.0, "var_baseline": 1.0, "covariance": 0.5, "q": 1.96}
    for bad in ({"q": 0.0}, {"q": math.inf}, {"var_delta": -1.0}, {"covariance": 1.5}):
        with pytest.raises(ValueError):
            relative_lift_interval(1.0, 2.0, **{**ok, **bad})
    with pytest.raises(ValueError):
        relative_lift_interval(math.nan, 2.0, **ok)
    with pytest.raises(ValueError):
        critical_value(1.5)


def test_critical_value_is_the_absolute_tests() -> None:
    assert critical_value(0.05, df=37.5) == pytest.approx(sps.t.ppf(0.975, 37.5), rel=1e-14)
    assert critical_value(0.1) == pytest.approx(sps.norm.ppf(0.95), rel=1e-14)
    control, treatment = SampleMean(400, 40, 40), SampleMean(500, 70, 70)
    cases: tuple[tuple[Method, tuple[float, ...]], ...] = (
        ("always_valid", ()),
        ("sequential", ()),
        ("sequential", (0.1,)),
    )
    for method, looks in cases:
        c = compare(
            control,
            treatment,
            kind="binary",
            method=method,
            planned_customers=3000,
            looks=looks,
        )
        assert c.absolute_ci is not None and c.absolute_se is not None
        q = critical_value(
            0.05,
            method=method,
            n=900,
            planned_customers=3000,
            looks=looks,
        )
        assert (c.absolute_ci[1] - c.absolute_ci[0]) / 2 == pytest.approx(q * c.absolute_se)
        assert q > sps.norm.ppf(0.975)  # a look before the end pays for looking


def test_invariant_on_5000_random_cases() -> None:
    inv = fieller_invariant(5000, looks_share=0.02)
    assert inv.agree == inv.cases == 5000
    # The cases probe both sides of the critical value and unbounded sets ...
    assert 1500 < inv.rejected < 3500 and inv.unbounded > 500
    # ... and they are hard enough that the delta method fails the same check.
    assert inv.delta_disagree > 500


def test_invariant_through_compare_with_cuped_and_every_method() -> None:
    inv = compare_invariant(400)
    assert inv.cases > 350 and inv.agree == inv.cases
    assert 50 < inv.rejected < inv.cases - 50


def test_cuped_covariance_matches_compares_delta_method_at_large_n() -> None:
    """At large n Fieller's interval converges to the delta method's; with the CUPED
    covariance it matches ``compare``'s (which carries the θ·cov_c term), with the plain
    covariance −Var(ȳc) it does not."""
    rng = np.random.default_rng(8)
    n = 1_000_000
    arms = []
    for lift in (0.0, 0.1):  # relative lift 0.5 on a small baseline: the covariance term matters
        x = rng.normal(0, 1, n)
        y = 0.2 + lift + 0.8 * x + rng.normal(0, 1, n)
        arms.append(covariate_sample(x, y))
    c = compare(arms[0], arms[1], kind="mean", alpha=0.05)
    assert c.cuped and c.theta is not None and c.relative_ci is not None
    assert c.absolute_ci is not None and c.absolute_se is not None
    q = sps.norm.ppf(0.975)  # compare's relative interval uses the normal quantile
    common = {"var_delta": c.absolute_se**2, "var_baseline": arms[0].outcome.variance / n, "q": q}
    right = relative_lift_interval(
        c.absolute_lift, c.control_mean, covariance=cuped_covariance(arms[0], c.theta), **common
    )
    wrong = relative_lift_interval(
        c.absolute_lift, c.control_mean, covariance=cuped_covariance(arms[0], 0.0), **common
    )
    assert right.ci is not None and wrong.ci is not None
    width = c.relative_ci[1] - c.relative_ci[0]
    assert max(abs(a - b) for a, b in zip(right.ci, c.relative_ci)) < 0.01 * width
    assert min(abs(a - b) for a, b in zip(wrong.ci, c.relative_ci)) > 0.03 * width


def test_vectorized_welch_numbers_equal_compares() -> None:
    sc = Scenario("", "revenue", 300, 2700, 0.1, 0.12)
    e = welch_estimates(sc, 5, seed=3)
    for i, (control, treatment) in enumerate(simulate_arms(sc, 5, seed=3)):
        c = compare(control, treatment, kind="mean")
        assert c.absolute_ci is not None and c.absolute_se is not None
        assert e.delta[i] == pytest.approx(c.absolute_lift, rel=1e-12)
        assert e.se[i] == pytest.approx(c.absolute_se, rel=1e-12)
        assert e.q[i] * e.se[i] == pytest.approx((c.absolute_ci[1] - c.absolute_ci[0]) / 2)


@pytest.mark.parametrize("scenario", COVERAGE_SCENARIOS, ids=lambda s: s.name)
def test_fieller_covers_the_true_relative_lift_95_percent(scenario: Scenario) -> None:
    sims = {"binary": 10_000, "revenue": 10_000, "cuped": 1_500}[scenario.kind]
    cov = coverage(scenario, sims, seed=7)
    assert 0.935 <= cov.fieller <= 0.965, cov
    assert cov.undefined == 0.0
    if scenario.kind == "cuped":
        assert cov.variance_reduction is not None and cov.variance_reduction > 0.15
