"""Empirical-Bayes shrinkage of a channel's pilots: golden values by hand and against
statsmodels, and the winner's curse by seeded simulation (reduced here; full size in
``benchmarks/simulate_winners_curse.py``, which imports :func:`winners_curse` from this module).
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from scipy.stats import norm

from stats.shrinkage import between_pilot_variance, shrink_pilots
from stats.simulation import winners_curse

Z95 = float(norm.ppf(0.975))

# A small example worked by hand (DerSimonian–Laird): y = (1, 2, 6), s = (1, 1, 2).
# w = 1/s² = (1, 1, 1/4), Σw = 9/4, ȳw = (1 + 2 + 6/4)/(9/4) = 2,
# Q = 1·1 + 1·0 + ¼·16 = 5, c = 9/4 − (1 + 1 + 1/16)/(9/4) = 4/3, τ² = (5 − 2)/(4/3) = 9/4.
# Random-effects weights 1/(s² + 9/4) = (4/13, 4/13, 4/25), Σ = 252/325, μ = (612/325)/(252/325)
# = 17/7; B = (9/13, 9/13, 9/25); θ̂ = (131/91, 194/91, 26/7), Σθ̂ = 51/7.
Y, S = (1.0, 2.0, 6.0), (1.0, 1.0, 2.0)
HAND_W = (F(4, 13), F(4, 13), F(4, 25))
HAND_B = (F(9, 13), F(9, 13), F(9, 25))
HAND_THETA = (F(131, 91), F(194, 91), F(26, 7))
HAND_MU = F(17, 7)


def _hand_variance(mask: tuple[bool, ...]) -> F:
    """V₀ = Σ_S B_i s_i² + (Σ_S (1 − B_i))² / Σw, in exact fractions."""
    v = (F(1), F(1), F(4))
    own = sum((b * vi for b, vi, m in zip(HAND_B, v, mask) if m), F(0))
    common = sum((1 - b for b, m in zip(HAND_B, mask) if m), F(0))
    return own + common**2 / sum(HAND_W, F(0))


def test_dersimonian_laird_example_by_hand() -> None:
    r = shrink_pilots(Y, S, method="dersimonian_laird", tau2_uncertainty=False)
    assert r.status == "ok" and r.message is None
    assert r.tau2 == pytest.approx(9 / 4)
    assert r.mu == pytest.approx(float(HAND_MU))
    assert r.mu_se == pytest.approx(math.sqrt(325 / 252))
    assert r.reliabilities == pytest.approx([float(b) for b in HAND_B])
    assert r.posterior_means == pytest.approx([float(t) for t in HAND_THETA])
    # z = y/s = (1, 2, 3): the last two are significant winners at 5 %.
    assert r.winners == (False, True, True)
    assert r.naive_sum == 9.0 and r.naive_winners_sum == 8.0
    assert r.naive_sum_ci == pytest.approx((9 - Z95 * math.sqrt(6), 9 + Z95 * math.sqrt(6)))
    assert r.shrunk_sum == pytest.approx(51 / 7)
    v_all = _hand_variance((True, True, True))
    assert v_all == F(34, 7)
    assert r.shrunk_sum_ci == pytest.approx(
        (51 / 7 - Z95 * math.sqrt(34 / 7), 51 / 7 + Z95 * math.sqrt(34 / 7))
    )
    assert r.shrunk_winners_sum == pytest.approx(float(HAND_THETA[1] + HAND_THETA[2]))
    v_win = float(_hand_variance((False, True, True)))
    assert r.shrunk_winners_ci is not None
    assert (r.shrunk_winners_ci[1] - r.shrunk_winners_ci[0]) / 2 == pytest.approx(
        Z95 * math.sqrt(v_win)
    )
    # Each pilot alone: B_i s_i² + (1 − B_i)²/Σw.
    assert r.posterior_sds is not None
    assert r.posterior_sds[2] == pytest.approx(
        math.sqrt(float(_hand_variance((False, False, True))))
    )


def _shrunk_total(y: np.ndarray, v: np.ndarray, mask: np.ndarray, tau2: float) -> float:
    w = 1 / (v + tau2)
    mu = w @ y / w.sum()
    return float((mu + tau2 / (tau2 + v) * (y - mu))[mask].sum())


def test_kass_steffey_term_is_the_derivative_times_the_reml_variance() -> None:
    """The τ²-uncertainty term, checked by a finite difference and the REML information from
    the projection matrix P = V⁻¹ − V⁻¹11ᵀV⁻¹/(1ᵀV⁻¹1) (Harville 1977: I = ½ tr P²)."""
    y, v = np.array(Y), np.array(S) ** 2
    plain = shrink_pilots(Y, S, method="dersimonian_laird", tau2_uncertainty=False)
    full = shrink_pilots(Y, S, method="dersimonian_laird")
    tau2 = 9 / 4
    vinv = np.diag(1 / (v + tau2))
    ones = np.ones(3)
    p = vinv - np.outer(vinv @ ones, ones @ vinv) / (ones @ vinv @ ones)
    var_tau2 = 1 / (0.5 * np.trace(p @ p))
    assert full.tau2_se == pytest.approx(math.sqrt(var_tau2))
    for mask, plain_ci, full_ci in (
        ((True, True, True), plain.shrunk_sum_ci, full.shrunk_sum_ci),
        ((False, True, True), plain.shrunk_winners_ci, full.shrunk_winners_ci),
    ):
        m = np.array(mask)
        h = 1e-6
        slope = (_shrunk_total(y, v, m, tau2 + h) - _shrunk_total(y, v, m, tau2 - h)) / (2 * h)
        assert plain_ci is not None and full_ci is not None
        half0, half = (plain_ci[1] - plain_ci[0]) / 2, (full_ci[1] - full_ci[0]) / 2
        assert half**2 == pytest.approx(half0**2 + Z95**2 * slope**2 * var_tau2, rel=1e-6)
        assert half > half0 * 1.05  # the correction matters here (3 pilots)


def test_paule_mandel_equal_standard_errors_by_hand() -> None:
    # With equal s, Q(τ²) = Σ(y − ȳ)²/(s² + τ²) = k − 1 gives τ² = S² − s² = 7 − 1 = 6;
    # B = 6/7, μ = ȳ = 2, θ̂ = 2 + 6/7 (y − 2) = (2/7, 8/7, 32/7), and Σθ̂ = Σy.
    r = shrink_pilots([0.0, 1.0, 5.0], [1.0, 1.0, 1.0])
    assert r.method == "paule_mandel"
    assert r.tau2 == pytest.approx(6.0, rel=1e-12)
    assert r.mu == pytest.approx(2.0)
    assert r.reliabilities == pytest.approx([6 / 7] * 3)
    assert r.posterior_means == pytest.approx([2 / 7, 8 / 7, 32 / 7])
    assert r.shrunk_sum == pytest.approx(6.0) and r.naive_sum == 6.0
    assert r.winners == (False, False, True)
    assert r.naive_winners_sum == 5.0 and r.shrunk_winners_sum == pytest.approx(32 / 7)


def test_paule_mandel_solves_the_generalised_q_equation_and_matches_statsmodels() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.array([1.0, 2.0, 6.0, -0.5, 3.2, 0.4])
    s = np.array([1.0, 1.0, 2.0, 0.7, 1.5, 0.9])
    tau2 = between_pilot_variance(y, s)
    w = 1 / (s**2 + tau2)
    mu = w @ y / w.sum()
    assert w @ (y - mu) ** 2 == pytest.approx(len(y) - 1, rel=1e-10)
    # statsmodels' own iteration stops at |Q − (k − 1)| < 1e-5 (a tighter atol makes it
    # overshoot and return 0 in 0.15.0), hence the tolerance.
    pm = combine_effects(y, s**2, method_re="pm")
    dl = combine_effects(y, s**2, method_re="dl")
    assert tau2 == pytest.approx(pm.tau2, rel=1e-6)
    assert between_pilot_variance(y, s, method="dersimonian_laird") == pytest.approx(dl.tau2)
    assert tau2 != pytest.approx(dl.tau2, rel=0.05)  # the two estimators really differ here
    r = shrink_pilots(y, s)
    assert r.mu == pytest.approx(pm.mean_effect_re, rel=1e-6)
    assert r.mu_se == pytest.approx(pm.sd_eff_w_re, rel=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_tau2_is_floored_at_zero_and_everything_shrinks_to_the_common_mean() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    y, s = np.array([1.0, 1.2, 0.9, 1.1]), np.array([0.5, 0.6, 0.4, 0.5])
    dl = combine_effects(y, s**2, method_re="dl")
    assert dl.tau2 < 0  # statsmodels reports the unfloored moment estimate
    for method in ("paule_mandel", "dersimonian_laird"):
        r = shrink_pilots(y, s, method=method)
        assert r.tau2 == 0.0
        assert r.mu == pytest.approx(dl.mean_effect_fe)
        assert r.posterior_means == pytest.approx([dl.mean_effect_fe] * 4)
        assert r.shrunk_sum == pytest.approx(4 * dl.mean_effect_fe)
        assert r.message is not None and "τ² = 0" in r.message


def test_fewer_than_three_pilots_report_the_naive_numbers_only() -> None:
    r = shrink_pilots([3.0, 0.5], [1.0, 1.0])
    assert r.status == "too_few_pilots"
    assert r.message is not None and "at least 3" in r.message
    assert r.winners == (True, False)
    assert r.naive_sum == 3.5 and r.naive_winners_sum == 3.0
    assert r.naive_sum_ci == pytest.approx((3.5 - Z95 * math.sqrt(2), 3.5 + Z95 * math.sqrt(2)))
    assert r.shrunk_sum is None and r.tau2 is None and r.posterior_means is None
    empty = shrink_pilots([], [])
    assert empty.status == "too_few_pilots" and empty.naive_sum == 0.0


def test_relative_lifts_are_shrunk_then_turned_into_amounts_by_the_baselines() -> None:
    lifts, ses, baselines = [0.0, 0.01, 0.05], [0.01, 0.01, 0.01], [100.0, 200.0, 300.0]
    r = shrink_pilots(lifts, ses, scale="relative", baselines=baselines)
    # The equal-se example scaled by 1/100: τ² = 6e-4, θ̂ = (2/7, 8/7, 32/7) %.
    assert r.tau2 == pytest.approx(6e-4)
    assert r.posterior_means == pytest.approx([0.02 / 7, 0.08 / 7, 0.32 / 7])
    assert r.naive_sum == pytest.approx(0 + 2 + 15)
    assert r.shrunk_sum == pytest.approx((100 * 0.02 + 200 * 0.08 + 300 * 0.32) / 7)
    assert r.naive_winners_sum == pytest.approx(15.0)
    assert r.shrunk_winners_sum == pytest.approx(300 * 0.32 / 7)
    # The amounts' uncertainty scales with the baselines: Σ b² s² for the naive sum.
    assert r.naive_sum_ci[1] - r.naive_sum == pytest.approx(Z95 * math.sqrt(14e4 * 1e-4))
    with pytest.raises(ValueError, match="baseline"):
        shrink_pilots(lifts, ses, scale="relative")
    with pytest.raises(ValueError, match="relative"):
        shrink_pilots(lifts, ses, baselines=baselines)


def test_winners_can_be_the_pilots_that_were_scaled() -> None:
    r = shrink_pilots(Y, S, winners=[True, False, True], method="dersimonian_laird")
    assert r.winners == (True, False, True)
    assert r.naive_winners_sum == 7.0
    assert r.shrunk_winners_sum == pytest.approx(float(HAND_THETA[0] + HAND_THETA[2]))
    none = shrink_pilots(Y, S, winners=[False, False, False])
    assert none.naive_winners_sum == 0.0 and none.shrunk_winners_sum == 0.0


def test_misuse_raises() -> None:
    with pytest.raises(ValueError, match="same length"):
        shrink_pilots([1.0, 2.0, 3.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        shrink_pilots([1.0, 2.0, 3.0], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        shrink_pilots([1.0, math.nan, 3.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="alpha"):
        shrink_pilots(Y, S, alpha=1.0)
    with pytest.raises(ValueError, match="one flag per pilot"):
        shrink_pilots(Y, S, winners=[True])
    with pytest.raises(ValueError, match="method"):
        shrink_pilots(Y, S, method="reml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two pilots"):
        between_pilot_variance([1.0], [1.0])


# --- The winner's curse, by simulation ---------------------------------------------------------


def test_shrinkage_lifts_the_winners_curse_when_the_model_holds() -> None:
    r = winners_curse(800)
    assert r.sims_with_winners > 0.6 * r.sims and r.mean_winners > 1.0
    # The naive winners' sum overstates the winners' true total by a lot ...
    assert r.naive_winners_bias > 10 * r.bias_mc_se and r.naive_winners_bias > 1.0
    # ... the shrunk sum much less, and it is closer to the truth far more often than not.
    assert r.shrunk_winners_mae < 0.6 * r.naive_winners_mae, r
    assert abs(r.shrunk_winners_bias) < 0.3 * r.naive_winners_bias, r
    assert r.shrunk_closer > 0.75, r
    # Intervals with the Kass–Steffey term cover (MC se ≈ 0.8 points at 800 sims).
    assert 0.92 <= r.winners_coverage <= 0.99, r
    assert 0.92 <= r.channel_coverage <= 0.975, r
    # Over all pilots shrinkage beats the naive all-pilot sum, which is unbiased but noisier.
    assert r.channel_shrunk_mae < r.channel_naive_mae, r


def test_shrinkage_still_helps_when_most_true_effects_are_near_zero() -> None:
    """Misspecified truth: 70 % of pilots do ~nothing, 30 % are N(2, 1). The normal model
    over-shrinks the real winners a little, but still beats the naive winners' sum."""
    r = winners_curse(500, mu=2.0, tau=1.0, null_share=0.7, seed=17)
    assert r.naive_winners_bias > 10 * r.bias_mc_se
    assert r.shrunk_winners_mae < 0.75 * r.naive_winners_mae, r
    assert r.shrunk_closer > 0.5, r
    assert r.shrunk_winners_bias < 0, r  # over-shrinkage of the slab, as expected
