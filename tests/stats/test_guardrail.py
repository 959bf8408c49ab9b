"""Guardrail verdicts: by hand, in both directions, for structural zeros, and by seeded
simulation at the margin (reduced sizes; full size in ``benchmarks/simulate_decisions.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from stats import SampleMean
from stats.exact import clopper_pearson_lower, clopper_pearson_upper, poisson_upper
from stats.fieller import relative_lift_interval
from stats.guardrail import (
    DEFAULT_MARGIN,
    guardrail_alpha,
    guardrail_sample_size,
    guardrail_verdict,
    max_rate_verdict,
    relative_margin_verdict,
)
from stats.simulation.decisions import (
    AT_MARGIN,
    covariate_sample,
    guardrail_power,
    guardrail_rates,
    max_rate_exact,
)


def _binary(n: int, events: int) -> SampleMean:
    return SampleMean(n, float(events), float(events))


def test_relative_margin_by_hand() -> None:
    """Bounce rate (bad = up): holdout 1,000 of 5,000, variant 1,060 of 5,000."""
    c, t = _binary(5000, 1000), _binary(5000, 1060)
    v = guardrail_verdict(c, t, kind="binary", direction="decrease", margin=0.10)
    # compare's numbers: ddof-1 variances, Welch df, one-sided 95 % t quantile.
    var_c, var_t = 0.2 * 0.8 * 5000 / 4999, 0.212 * 0.788 * 5000 / 4999
    a, b = var_t / 5000, var_c / 5000
    df = (a + b) ** 2 / (a**2 / 4999 + b**2 / 4999)
    q = sps.t.ppf(0.95, df)
    fieller = relative_lift_interval(
        0.012, 0.2, var_delta=a + b, var_baseline=b, covariance=-b, q=q
    )
    assert fieller.ci is not None
    assert v.rule == "relative_margin" and v.threshold == 0.10 and v.alpha == 0.05
    assert v.bound == pytest.approx(fieller.ci[1], rel=1e-9)
    assert v.lower == pytest.approx(fieller.ci[0], rel=1e-9)
    assert v.bound is not None and v.lower is not None
    assert v.bound == pytest.approx(0.1309, abs=5e-4) and v.lower < 0.06 < v.bound
    assert v.verdict == "inconclusive"  # the upper bound 13.1 % straddles the 10 % margin
    assert "straddles" in v.message


def test_direction_turns_the_interval_around() -> None:
    c, t = _binary(20_000, 4000), _binary(20_000, 3400)  # the variant is 15 % lower
    down_is_good = guardrail_verdict(c, t, kind="binary", direction="decrease")
    up_is_good = guardrail_verdict(c, t, kind="binary", direction="increase")
    assert down_is_good.verdict == "non_inferior" and down_is_good.bound is not None
    assert down_is_good.bound < 0  # the harm is negative: it is better
    assert "better" in down_is_good.message
    assert up_is_good.verdict == "harmed" and up_is_good.lower is not None
    assert up_is_good.lower > 0.10 and "Harmed" in up_is_good.message
    # Same interval, mirrored: harm = r for "decrease", −r for "increase".
    assert up_is_good.bound == pytest.approx(-down_is_good.lower)  # type: ignore[operator]
    assert up_is_good.lower == pytest.approx(-down_is_good.bound)


def test_relative_margin_verdict_from_estimates() -> None:
    # Δ = 3, m = 10, v_Δ = 1, v_m = 4, c = −1, q = 2 → r ∈ [0.0818, 0.7277] (test_fieller).
    args = {"var_delta": 1.0, "var_baseline": 4.0, "covariance": -1.0, "q": 2.0}
    assert relative_margin_verdict(
        3.0, 10.0, direction="decrease", margin=0.05, **args
    ).verdict == ("harmed")
    assert relative_margin_verdict(3.0, 10.0, direction="decrease", margin=0.5, **args).verdict == (
        "inconclusive"
    )
    assert relative_margin_verdict(
        3.0, 10.0, direction="increase", margin=0.05, **args
    ).verdict == ("non_inferior")
    unbounded = relative_margin_verdict(3.0, 3.0, direction="decrease", **args)
    assert unbounded.verdict == "inconclusive" and unbounded.bound is None


def test_bonferroni_widens_each_bound() -> None:
    c, t = _binary(5000, 1000), _binary(5000, 1010)
    one = guardrail_verdict(c, t, kind="binary", direction="decrease")
    three = guardrail_verdict(c, t, kind="binary", direction="decrease", guardrails=3)
    assert three.alpha == pytest.approx(0.05 / 3) == guardrail_alpha(0.05, 3)
    assert three.bound is not None and one.bound is not None and three.bound > one.bound


def test_default_margin_and_rule_choice() -> None:
    c, t = _binary(5000, 1000), _binary(5000, 1010)
    v = guardrail_verdict(c, t, kind="binary", direction="decrease")
    assert v.rule == "relative_margin" and v.threshold == DEFAULT_MARGIN == 0.10
    with pytest.raises(ValueError):
        guardrail_verdict(c, t, kind="binary", direction="decrease", margin=0.1, max_rate=0.01)
    with pytest.raises(ValueError):  # a cap on a metric that should go up
        guardrail_verdict(c, t, kind="binary", direction="increase", max_rate=0.01)
    with pytest.raises(ValueError):
        guardrail_verdict(c, t, kind="mean", direction="decrease", max_rate=0.01)
    with pytest.raises(ValueError):
        guardrail_verdict(c, t, kind="binary", direction="down")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        guardrail_verdict(c, t, kind="binary", direction="decrease", margin=0.0)


def test_structural_zero_unsubscribes() -> None:
    holdout = _binary(100_000, 0)  # never messaged: exactly 0
    ok = guardrail_verdict(
        holdout, _binary(1_000_000, 4), kind="binary", direction="decrease", max_rate=0.005
    )
    assert ok.rule == "max_rate" and ok.verdict == "non_inferior"
    assert ok.bound == pytest.approx(clopper_pearson_upper(4, 1_000_000, alpha=0.05))
    assert ok.bound == pytest.approx(9.15e-6, rel=1e-3)
    harmed = guardrail_verdict(
        holdout,
        _binary(100_000, 700),
        kind="binary",
        direction="decrease",
        max_rate=0.005,
        guardrails=2,
    )
    assert harmed.verdict == "harmed"
    assert harmed.lower == pytest.approx(clopper_pearson_lower(700, 100_000, alpha=0.025))
    assert harmed.lower is not None and harmed.lower > 0.005
    unsure = max_rate_verdict(50, 10_000, max_rate=0.005, kind="binary")
    assert unsure.verdict == "inconclusive" and "straddles" in unsure.message
    counts = max_rate_verdict(4, 1_000_000, max_rate=0.005, kind="count")
    assert counts.verdict == "non_inferior"
    assert counts.bound == pytest.approx(poisson_upper(4, 1_000_000))
    # A relative margin cannot judge a structural zero, and says what to declare instead.
    relative = guardrail_verdict(holdout, _binary(100_000, 7), kind="binary", direction="decrease")
    assert relative.verdict == "inconclusive" and "max_rate" in relative.message


def test_max_rate_errors_at_the_cap_are_at_most_alpha_exactly() -> None:
    for kind in ("binary", "count"):
        e = max_rate_exact(20_000, 0.005, 0.005, kind=kind)
        assert 0.03 < e.harmed <= 0.05 and 0.03 < e.non_inferior <= 0.05, e


def test_sample_size_by_hand() -> None:
    # (z_0.95 + z_0.8)² · p(1 − p) · (1 + 1.1²) / (0.1 · p)², p = 0.2
    z = sps.norm.ppf(0.95) + sps.norm.ppf(0.8)
    n = math.ceil(z**2 * 0.16 * (1 + 1.21) / 0.02**2)
    plan = guardrail_sample_size(baseline=0.2, kind="binary", direction="decrease")
    assert plan.holdout_customers == plan.customers_per_variant == n == 5466
    # Bad = down: the test is at r0 = −margin, (1 − 0.1)² instead of (1 + 0.1)².
    down = guardrail_sample_size(baseline=0.2, kind="binary", direction="increase")
    assert down.holdout_customers == math.ceil(z**2 * 0.16 * (1 + 0.81) / 0.02**2)
    # 10 % holdout: ratio 9, nc = z²σ²(1/9 + 1.21)/(δp)²
    tenth = guardrail_sample_size(
        baseline=0.2, kind="binary", direction="decrease", holdout_share=0.1
    )
    assert tenth.holdout_customers == math.ceil(z**2 * 0.16 * (1 / 9 + 1.21) / 0.02**2)
    # A count metric defaults to Poisson variance; a mean metric needs its sd.
    count = guardrail_sample_size(baseline=0.5, kind="count", direction="decrease")
    assert count.holdout_customers == math.ceil(z**2 * 0.5 * 2.21 / 0.05**2)
    with pytest.raises(ValueError):
        guardrail_sample_size(baseline=10.0, kind="mean", direction="decrease")


def test_max_rate_sample_size_by_hand() -> None:
    # Nothing expected: the bound at 0 events is below the cap once
    # 1 − 0.05^(1/n) < 0.005 (binary) ⇔ n > ln 0.05 / ln 0.995 = 597.6, or −ln 0.05 / n < 0.005
    # (count) ⇔ n > 599.1.
    binary = guardrail_sample_size(
        baseline=0.0, kind="binary", direction="decrease", max_rate=0.005
    )
    assert binary.customers_per_variant == 598
    count = guardrail_sample_size(baseline=0.0, kind="count", direction="decrease", max_rate=0.005)
    assert count.customers_per_variant == 600
    # With events expected: the exact power reaches the target at the plan and not one
    # customer earlier (the power is a saw-tooth; the plan sits at the start of a tooth) ...
    plan = guardrail_sample_size(
        baseline=0.002, kind="binary", direction="decrease", max_rate=0.005
    )
    n = plan.customers_per_variant
    assert 0.8 <= max_rate_exact(n, 0.002, 0.005, kind="binary").non_inferior < 0.85
    assert max_rate_exact(n - 1, 0.002, 0.005, kind="binary").non_inferior < 0.8
    # ... and no smaller pilot reaches it (brute force over every n, counts at 0.1 %).
    needed = guardrail_sample_size(
        baseline=0.001, kind="count", direction="decrease", max_rate=0.005
    ).customers_per_variant
    for m in range(1, needed):
        x = 0  # events the variant may have with its bound still under the cap
        while poisson_upper(x, m) < 0.005:
            x += 1
        power = sps.poisson.cdf(x - 1, m * 0.001) if x else 0.0
        assert power < 0.8, m
    assert needed == 1260
    with pytest.raises(ValueError):
        guardrail_sample_size(baseline=0.006, kind="binary", direction="decrease", max_rate=0.005)


def test_sequential_and_cuped_flow_through_compare() -> None:
    c, t = _binary(5000, 1000), _binary(5000, 1010)
    fixed = guardrail_verdict(c, t, kind="binary", direction="decrease")
    seq = guardrail_verdict(
        c, t, kind="binary", direction="decrease", method="sequential", planned_customers=20_000
    )
    assert seq.bound is not None and fixed.bound is not None and seq.bound > fixed.bound
    always = guardrail_verdict(
        c, t, kind="binary", direction="decrease", method="always_valid", planned_customers=20_000
    )
    assert always.bound is not None and always.bound > fixed.bound
    rng = np.random.default_rng(4)
    arms = []
    for n in (3000, 3000):
        x = rng.gamma(2.0, 5.0, n)
        y = x + rng.gamma(2.0, 2.0, n)  # strongly correlated with the pre-period
        arms.append(covariate_sample(x, y))
    with_cuped = guardrail_verdict(arms[0], arms[1], kind="mean", direction="increase")
    without = guardrail_verdict(arms[0], arms[1], kind="mean", direction="increase", cuped=False)
    assert with_cuped.bound is not None and without.bound is not None
    assert with_cuped.lower is not None and without.lower is not None
    assert with_cuped.bound - with_cuped.lower < 0.6 * (without.bound - without.lower)


def test_too_few_customers_is_inconclusive() -> None:
    v = guardrail_verdict(_binary(1, 0), _binary(1, 1), kind="binary", direction="decrease")
    assert v.verdict == "inconclusive" and v.bound is None and "at least 2" in v.message


def test_at_the_margin_false_harmed_stays_within_alpha() -> None:
    sims = 1200
    mc = 2 * math.sqrt(0.05 * 0.95 / sims)
    rates = [guardrail_rates(g, sims, seed=40 + i) for i, g in enumerate(AT_MARGIN)]
    for r in rates:
        assert r.harmed <= 0.05 + mc, r
    # On a symmetric binary metric the rule is calibrated, not merely conservative: both wrong
    # verdicts happen about α of the time each.
    bounce = rates[0]
    assert abs(bounce.harmed - 0.05) < 1.5 * mc and abs(bounce.non_inferior - 0.05) < 1.5 * mc
    three = guardrail_rates(AT_MARGIN[0], sims, guardrails=3, seed=51)
    assert three.alpha_g == pytest.approx(0.05 / 3)
    assert three.harmed <= 0.05 / 3 + 2 * math.sqrt(0.0167 * 0.9833 / sims)


def test_power_at_the_guardrail_sample_size() -> None:
    p = guardrail_power(1500, seed=60)
    assert p.holdout == 5466
    assert abs(p.rates.non_inferior - 0.8) < 0.035, p
    assert p.rates.harmed == 0.0
