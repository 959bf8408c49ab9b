"""Group-sequential test: boundaries against published values and an independent Monte Carlo,
the repeated interval / p-value invariant, the inflation factor, and reduced-size simulations of
binary pilots (the full sizes run in ``benchmarks/simulate_group_sequential.py``)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from stats import SampleMean, compare
from stats.group_sequential import (
    boundaries,
    crossing_probabilities,
    equally_spaced,
    group_sequential_inference,
    inflation_factor,
    information_fraction,
    obf_spending,
)
from stats.simulation.group_sequential import design, simulate, welch_z

N = NormalDist()


def _mc_se(p: float, sims: int) -> float:
    return math.sqrt(p * (1 - p) / sims)


def test_four_equally_spaced_looks_match_the_published_table() -> None:
    # Lan-DeMets O'Brien-Fleming-type spending, two-sided alpha = 0.05 (gsDesign sfLDOF with
    # test.type = 2, ldbounds): 4.3326, 2.9631, 2.3590, 2.0141.
    b = boundaries(equally_spaced(4), 0.05)
    assert b.z == pytest.approx((4.3326, 2.9631, 2.3590, 2.0141), abs=1e-4)
    # Cumulative alpha by hand: each side spends 2 - 2 Phi(z_{0.0125} / sqrt(t)).
    z_side = N.inv_cdf(1 - 0.0125)
    by_hand = [2 * (2 - 2 * N.cdf(z_side / math.sqrt(t))) for t in (0.25, 0.5, 0.75)]
    assert b.spent[:3] == pytest.approx(by_hand, rel=1e-9)
    assert b.spent == pytest.approx((1.4734e-5, 0.0030506, 0.019299, 0.05), rel=1e-4)
    assert b.spent[-1] == 0.05  # the final look spends what is left
    assert b.nominal_alpha == pytest.approx([2 * (1 - N.cdf(z)) for z in b.z], rel=1e-9)
    assert b.nominal_alpha[-1] == pytest.approx(0.0440, abs=1e-4)


def test_five_looks_and_unequal_looks_match_reference_values() -> None:
    # Five equal looks: the classic table (DeMets & Lan 1994; gsDesign) 4.877 3.357 2.680 2.290
    # 2.031.
    five = boundaries(equally_spaced(5), 0.05).z
    assert five == pytest.approx((4.8769, 3.3570, 2.6803, 2.2898, 2.0310), abs=2e-4)
    # Unequal looks, computed by an independent implementation of the same recursion (another
    # grid, 24 points per sd): agreement to 1e-5.
    assert boundaries((0.15, 0.4, 0.7, 1.0)).z == pytest.approx(
        (5.66967, 3.35687, 2.44454, 2.00054), abs=2e-5
    )
    assert boundaries((0.1, 0.3, 0.6, 1.0)).z == pytest.approx(
        (6.99135, 3.92857, 2.66997, 1.98102), abs=2e-5
    )


def test_one_look_is_the_fixed_horizon_test_and_spending_is_ob_f() -> None:
    assert boundaries((1.0,), 0.05).z[0] == pytest.approx(1.959964, abs=1e-6)
    assert boundaries((1.0,), 0.01).z[0] == pytest.approx(2.575829, abs=1e-6)
    # A single interim look at t: the boundary in closed form, Phi^-1(1 - 2 Phi(-z_{a/4}/sqrt t)).
    t = 0.3
    c1 = -N.inv_cdf(2 * N.cdf(-N.inv_cdf(1 - 0.0125) / math.sqrt(t)))
    assert boundaries((t,), 0.05).z[0] == pytest.approx(c1, abs=1e-7)
    assert obf_spending(0.0, 0.05) == 0.0 and obf_spending(1.0, 0.05) == 0.05
    assert obf_spending(0.5, 0.05) == pytest.approx(4 * N.cdf(-N.inv_cdf(1 - 0.0125) / 0.5**0.5))


def test_crossing_probabilities_agree_with_a_brownian_monte_carlo() -> None:
    """Simulate Z_k = B(t_k)/sqrt(t_k) directly (independent of the grid recursion)."""
    rng = np.random.default_rng(11)
    sims = 400_000
    for looks in ((0.15, 0.4, 0.7, 1.0), (0.3, 0.45, 1.0)):
        b = boundaries(looks)
        t = np.asarray(looks)
        for drift in (0.0, 2.8):
            steps = rng.standard_normal((sims, len(t))) * np.sqrt(np.diff(t, prepend=0.0))
            z = (steps.cumsum(axis=1) + drift * t) / np.sqrt(t)
            crossed = np.abs(z) >= np.asarray(b.z)
            ever = crossed.any(axis=1)
            first = np.where(ever, np.argmax(crossed, axis=1), -1)
            expected = crossing_probabilities(b, drift)
            for k, p in enumerate(expected):
                observed = float(np.mean(first == k))
                assert abs(observed - p) < 4 * _mc_se(p, sims) + 1e-5, (looks, drift, k)
            if drift == 0.0:
                assert sum(expected) == pytest.approx(0.05, abs=1e-7)
                assert np.cumsum(expected) == pytest.approx(b.spent, abs=1e-7)


def test_inflation_factor() -> None:
    assert inflation_factor(1) == pytest.approx(1.0, abs=1e-9)
    four = inflation_factor(4, 0.05, 0.8)
    assert four == pytest.approx(1.0196, abs=2e-4)  # independent implementation: 1.01964
    factors = [inflation_factor(k) for k in (2, 3, 4, 5)]
    assert factors == sorted(factors) and factors[0] > 1
    # Its meaning: at the fixed design's drift times sqrt(R), the design has the target power.
    fixed_drift = N.inv_cdf(0.975) + N.inv_cdf(0.8)
    power = sum(crossing_probabilities(boundaries(equally_spaced(4)), fixed_drift * four**0.5))
    assert power == pytest.approx(0.8, abs=1e-4)
    assert inflation_factor((0.15, 0.4, 0.7, 1.0)) == pytest.approx(1.0153, abs=2e-4)
    with pytest.raises(ValueError):
        inflation_factor((0.25, 0.5))  # the planned looks must end at 1


def _random_looks(rng: np.random.Generator) -> tuple[float, ...]:
    """Weekly-like looks: 1 to 6, 5-40 % of the information apart, ending at or before 1."""
    steps = np.cumsum(rng.uniform(0.05, 0.4, size=int(rng.integers(1, 7))))
    return tuple(float(t) for t in steps / max(1.0, float(steps[-1])))


def test_interval_excludes_zero_exactly_when_p_is_below_alpha() -> None:
    rng = np.random.default_rng(3)
    cases = 0
    for _ in range(40):
        ts = _random_looks(rng)
        alpha = float(rng.choice([0.05, 0.1, 0.01]))
        c = boundaries(ts, alpha).z[-1]
        for _ in range(50):
            se = float(rng.lognormal(0, 3))
            # |Z| around the boundary, with a few at it to the last bit.
            z = c * float(rng.lognormal(0, 0.2)) * float(rng.choice([-1, 1]))
            if rng.random() < 0.1:
                z = math.copysign(c, z)
            r = group_sequential_inference(
                z * se, se, alpha=alpha, looks=ts[:-1], fraction_now=ts[-1]
            )
            excludes = r.ci[0] > 0 or r.ci[1] < 0
            assert excludes == (r.p_value < alpha) == r.significant, (ts, alpha, z, se, r)
            assert 0 < r.p_value <= 1
            assert r.half_width == pytest.approx(c * se) and r.z_boundary == c
            assert r.ci == pytest.approx((z * se - c * se, z * se + c * se))
            cases += 1
    assert cases == 2000


def test_p_value_is_the_repeated_p_value() -> None:
    """p is the alpha' at which the same looks put the boundary exactly at |Z|."""
    for looks, now, z in (
        ((), 0.3, 3.1),
        ((0.25,), 0.5, 2.4),
        ((0.25, 0.5), 0.75, 2.7),
        ((0.25, 0.5, 0.75), 1.0, 1.7),
        ((0.2, 0.45), 0.8, 5.0),
    ):
        r = group_sequential_inference(z * 0.5, 0.5, looks=looks, fraction_now=now)
        assert boundaries((*looks, now), r.p_value).z[-1] == pytest.approx(z, abs=1e-6)
        assert r.p_value >= 2 * (1 - N.cdf(z))  # never below the nominal p
    # At the final look of four, the repeated p of |Z| = 2.5 (design: 2.0141 at alpha 0.05).
    final = group_sequential_inference(2.5, 1.0, looks=(0.25, 0.5, 0.75), fraction_now=1.0)
    assert final.p_value == pytest.approx(0.013540, abs=2e-6) and final.final
    # Monotone in |Z|, 1 at Z = 0.
    ps = [
        group_sequential_inference(z, 1.0, looks=(0.3,), fraction_now=0.6).p_value
        for z in (0.0, 1.0, 2.0, 3.0, 4.0)
    ]
    assert ps[0] == 1.0 and ps == sorted(ps, reverse=True)


def test_current_look_bookkeeping_and_misuse() -> None:
    r = group_sequential_inference(0.01, 0.004, looks=(0.25, 0.5), fraction_now=0.75)
    assert (r.look, r.information_fraction, r.final) == (3, 0.75, False)
    assert r.z == pytest.approx(2.5) and r.z_boundary == pytest.approx(2.3590, abs=1e-4)
    assert r.alpha_spent == pytest.approx(0.019299, rel=1e-4)
    assert r.inference().ci == r.ci and r.inference().p_value == r.p_value
    late = group_sequential_inference(0.01, 0.004, looks=(0.25, 0.5, 0.75), fraction_now=1.3)
    assert late.final and late.information_fraction == 1.0
    assert late.z_boundary == pytest.approx(2.0141, abs=1e-4)
    assert information_fraction(1_500, 1_000) == 1.0 and information_fraction(250, 1_000) == 0.25
    bad: list[dict[str, object]] = [
        {"estimate": 1.0, "se": 0.0, "fraction_now": 0.5},
        {"estimate": float("nan"), "se": 1.0, "fraction_now": 0.5},
        {"estimate": 1.0, "se": 1.0, "fraction_now": 0.0},
        {"estimate": 1.0, "se": 1.0, "looks": (0.5,), "fraction_now": 0.4},
        {"estimate": 1.0, "se": 1.0, "looks": (0.3, 0.2), "fraction_now": 0.6},
        {"estimate": 1.0, "se": 1.0, "looks": (0.5,), "fraction_now": 0.5002},
        {"estimate": 1.0, "se": 1.0, "looks": (1.0,), "fraction_now": 1.0},
        {"estimate": 1.0, "se": 1.0, "alpha": 1.0, "fraction_now": 0.5},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            group_sequential_inference(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        boundaries((0.0, 1.0))


def test_simulation_statistic_is_the_comparison_s() -> None:
    """The vectorized z of the simulation equals ``compare``'s estimate / se."""
    for (cc, nc), (ct, nt) in (((1500, 31_000), (1700, 31_000)), ((90, 1_800), (760, 16_000))):
        r = compare(SampleMean(nc, cc, cc), SampleMean(nt, ct, ct), kind="binary")
        assert r.absolute_se is not None
        z = welch_z(np.array(cc), np.array(nc), np.array(ct), np.array(nt))
        assert float(z) == pytest.approx(r.absolute_lift / r.absolute_se, rel=1e-12)


@pytest.mark.parametrize("holdout_share", [0.5, 0.1])
def test_aa_false_positives_and_power_with_four_weekly_looks(holdout_share: float) -> None:
    d = design(holdout_share)
    assert d.factor == pytest.approx(1.0196, abs=2e-4)
    aa = simulate(40_000, d, lift=0.0, seed=1 if holdout_share == 0.5 else 2)
    assert 0.035 <= aa.significant <= 0.055, aa
    assert aa.fixed_peeking > 0.10  # the fixed-horizon test read four times: ~13 %
    h1 = simulate(10_000, d, lift=0.10, seed=3 if holdout_share == 0.5 else 4)
    assert abs(h1.significant - 0.80) <= 0.03, h1
    assert h1.mean_fraction < 0.9  # stopping early when the lift is real saves customers


def test_unequal_looks_keep_alpha_and_power() -> None:
    d = design(0.5)  # planned for four equal looks, looked at as traffic ramps up
    looks = (0.15, 0.4, 0.7, 1.0)
    aa = simulate(40_000, d, lift=0.0, looks=looks, seed=5)
    assert 0.035 <= aa.significant <= 0.055, aa
    h1 = simulate(10_000, d, lift=0.10, looks=looks, seed=6)
    assert abs(h1.significant - 0.80) <= 0.03, h1


def test_api_agrees_with_the_vectorized_simulation() -> None:
    """A few simulated pilots through ``group_sequential_inference`` look by look."""
    d = design(0.5)
    rng = np.random.default_rng(8)
    looks = equally_spaced(4)
    n = np.round(np.asarray(looks) * d.holdout).astype(np.int64)
    for _ in range(12):
        conv_c = rng.binomial(np.diff(n, prepend=0), 0.05).cumsum()
        conv_t = rng.binomial(np.diff(n, prepend=0), 0.056).cumsum()
        for k in range(4):
            c = compare(
                SampleMean(int(n[k]), float(conv_c[k]), float(conv_c[k])),
                SampleMean(int(n[k]), float(conv_t[k]), float(conv_t[k])),
                kind="binary",
            )
            assert c.absolute_se is not None
            r = group_sequential_inference(
                c.absolute_lift, c.absolute_se, looks=looks[:k], fraction_now=looks[k]
            )
            z = float(welch_z(conv_c[k], n[k], conv_t[k], n[k]))
            assert r.significant == (abs(z) > boundaries(looks).z[k])
