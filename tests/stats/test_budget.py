"""Budget shift between channels: hand-derived cases (pairwise z-tests, Holm, capped steps)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from stats.budget import ChannelRoi, recommend_budget_shift


def _p(d: float, se: float) -> float:
    return float(2 * norm.sf(abs(d) / se))


def test_two_clearly_different_channels_move_one_step_each_way() -> None:
    rec = recommend_budget_shift(
        [ChannelRoi("email", 100_000, 2.0, se=0.2), ChannelRoi("sms", 100_000, 0.5, se=0.2)]
    )
    assert rec.status == "shift"
    (pair,) = rec.pairs
    assert (pair.higher, pair.lower) == ("email", "sms")
    assert pair.difference == pytest.approx(1.5)
    assert pair.se == pytest.approx(math.sqrt(0.08))
    assert pair.p_value == pytest.approx(_p(1.5, math.sqrt(0.08)))  # z = 5.30
    assert pair.p_value_adjusted == pair.p_value and pair.significant
    email, sms = rec.channels
    assert (email.change, email.change_relative, email.direction) == (6000.0, 0.06, "increase")
    assert (sms.change, sms.change_relative, sms.direction) == (-6000.0, -0.06, "decrease")
    assert email.change + sms.change == 0.0 and rec.moved == 6000.0
    assert "significantly higher than that of sms" in email.reason
    assert "+6,000.00 (+6.0%), the full step" in email.reason
    assert "-6,000.00 (-6.0%)" in sms.reason
    assert rec.summary.startswith("Move 6,000.00 (3.0% of total spend) from sms to email")


def test_the_smaller_side_moves_its_full_step_and_the_other_side_what_balances_it() -> None:
    rec = recommend_budget_shift(
        [ChannelRoi("email", 100_000, 2.0, se=0.2), ChannelRoi("sms", 50_000, 0.5, se=0.2)]
    )
    email, sms = rec.channels
    # sms can release 6 % of 50,000 = 3,000; email could take 6,000 but gets 3,000 (+3 %).
    assert sms.change == pytest.approx(-3000.0) and sms.change_relative == pytest.approx(-0.06)
    assert email.change == pytest.approx(3000.0) and email.change_relative == pytest.approx(0.03)
    assert "less than the 6% step" in email.reason and "full step" in sms.reason


def test_overlapping_intervals_mean_no_change() -> None:
    # 95 % intervals read back to se = 0.8 / (2 · 1.96) = 0.408 each; d = 0.4, z = 0.69.
    rec = recommend_budget_shift(
        [
            ChannelRoi("email", 80_000, 1.0, ci=(0.2, 1.8)),
            ChannelRoi("sms", 20_000, 0.6, ci=(-0.2, 1.4)),
        ]
    )
    se = 1.6 / (2 * norm.ppf(0.975))
    assert rec.status == "no_change" and rec.moved == 0.0
    assert rec.pairs[0].se == pytest.approx(se * math.sqrt(2))
    assert rec.pairs[0].p_value == pytest.approx(_p(0.4, se * math.sqrt(2)))
    assert rec.pairs[0].p_value == pytest.approx(0.488, abs=0.001)
    assert all(c.change == 0.0 and c.direction == "hold" for c in rec.channels)
    assert "smallest adjusted p = 0.488" in rec.summary
    assert "not significantly different" in rec.channels[0].reason


def test_overlapping_individual_intervals_can_still_differ_significantly() -> None:
    """The test is on the difference: se_d = √2 · se, not the sum of the two half-widths."""
    se = 0.28
    rec = recommend_budget_shift(
        [ChannelRoi("a", 10_000, 1.0, se=se), ChannelRoi("b", 10_000, 0.2, se=se)]
    )
    half = norm.ppf(0.975) * se
    assert 1.0 - half < 0.2 + half  # the two 95 % intervals overlap ...
    assert rec.pairs[0].p_value == pytest.approx(_p(0.8, se * math.sqrt(2)))  # ... p = 0.043
    assert rec.status == "shift" and [c.change for c in rec.channels] == pytest.approx([600, -600])


def test_three_channels_holm_keeps_only_the_clear_pair() -> None:
    # A − C: z = 2/0.5 = 4, p = 6.3e-5 → ×3; A − B: z = 1/0.5 = 2, p = 0.0455 → ×2 = 0.0910;
    # B − C: z = 1/√0.32 = 1.77, p = 0.0771 → running max 0.0910. Only A > C survives Holm,
    # though A − B alone would be "significant" at 5 %.
    rec = recommend_budget_shift(
        [
            ChannelRoi("A", 100_000, 2.0, se=0.3),
            ChannelRoi("B", 50_000, 1.0, se=0.4),
            ChannelRoi("C", 40_000, 0.0, se=0.4),
        ]
    )
    pairs = {(p.higher, p.lower): p for p in rec.pairs}
    p_ab, p_ac, p_bc = _p(1, 0.5), _p(2, 0.5), _p(1, math.sqrt(0.32))
    assert p_ab < 0.05
    assert pairs["A", "C"].p_value_adjusted == pytest.approx(3 * p_ac)
    assert pairs["A", "B"].p_value_adjusted == pytest.approx(2 * p_ab)
    assert pairs["B", "C"].p_value == pytest.approx(p_bc)
    assert pairs["B", "C"].p_value_adjusted == pytest.approx(2 * p_ab)  # monotone step-down
    assert 2 * p_ab > p_bc
    assert [p.significant for p in rec.pairs] == [False, True, False]  # AB, AC, BC
    a, b, c = rec.channels
    # C releases 6 % of 40,000 = 2,400; A (capacity 6,000) takes it all: +2.4 %.
    assert c.change == pytest.approx(-2400.0) and c.change_relative == pytest.approx(-0.06)
    assert a.change == pytest.approx(2400.0) and a.change_relative == pytest.approx(0.024)
    assert b.change == 0.0 and b.direction == "hold" and "not significantly" in b.reason
    assert "from C to A" in rec.summary and "3 pairs" in rec.summary


def test_three_channels_two_gainers_share_in_proportion_to_their_steps() -> None:
    rec = recommend_budget_shift(
        [
            ChannelRoi("A", 100_000, 3.0, se=0.1),
            ChannelRoi("B", 300_000, 3.0, se=0.1),
            ChannelRoi("C", 200_000, 1.0, se=0.1),
        ]
    )
    a, b, c = rec.channels
    # C gives its 12,000; the gainers' capacities are 6,000 and 18,000, so they get 1/4 and 3/4.
    assert c.change == pytest.approx(-12_000.0)
    assert a.change == pytest.approx(3_000.0) and b.change == pytest.approx(9_000.0)
    assert a.change_relative == pytest.approx(0.03) and b.change_relative == pytest.approx(0.03)
    assert a.change + b.change + c.change == pytest.approx(0.0, abs=1e-9)
    assert rec.summary.startswith("Move 12,000.00 (2.0% of total spend) from C to A and B")


def test_a_channel_in_the_middle_holds() -> None:
    rec = recommend_budget_shift(
        [
            ChannelRoi("A", 50_000, 3.0, se=0.1),
            ChannelRoi("B", 50_000, 2.0, se=0.1),
            ChannelRoi("C", 50_000, 1.0, se=0.1),
        ]
    )
    assert all(p.significant for p in rec.pairs)
    assert [c.change for c in rec.channels] == pytest.approx([3000.0, 0.0, -3000.0])
    middle = rec.channels[1]
    assert middle.direction == "hold"
    assert "higher than that of C but lower than that of A" in middle.reason


def test_per_channel_step_caps_each_channel() -> None:
    rec = recommend_budget_shift(
        [
            ChannelRoi("A", 100_000, 2.0, se=0.1, step=0.10),
            ChannelRoi("B", 100_000, 1.0, se=0.1),
        ]
    )
    assert [c.change for c in rec.channels] == pytest.approx([6000.0, -6000.0])
    assert "less than the 10% step" in rec.channels[0].reason


def test_channels_without_an_estimate_hold_and_are_not_compared() -> None:
    rec = recommend_budget_shift(
        [
            ChannelRoi("email", 100_000, 2.0, se=0.2),
            ChannelRoi("new", 5_000, None),
            ChannelRoi("sms", 100_000, 0.5, se=0.2),
        ]
    )
    assert len(rec.pairs) == 1 and rec.status == "shift"
    new = rec.channels[1]
    assert new.change == 0.0 and "No incremental ROI estimate" in new.reason
    assert "1.5% of total spend" not in rec.summary and "2.9% of total spend" in rec.summary
    one = recommend_budget_shift([ChannelRoi("email", 1.0, 2.0, se=0.2), ChannelRoi("x", 1, None)])
    assert one.status == "too_few_channels" and one.pairs == ()
    assert "1 channel with an incremental ROI estimate" in one.summary


def test_nothing_to_move_when_the_giver_has_no_budget() -> None:
    rec = recommend_budget_shift(
        [ChannelRoi("email", 100_000, 2.0, se=0.2), ChannelRoi("sms", 0.0, 0.5, se=0.2)]
    )
    assert rec.status == "no_change" and rec.moved == 0.0
    assert rec.channels[1].change_relative is None
    assert "spend × step = 0" in rec.channels[1].reason
    assert "other side has no budget" in rec.channels[0].reason


def test_interval_level_is_respected() -> None:
    rec = recommend_budget_shift(
        [ChannelRoi("a", 1, 1.0, ci=(0.0, 2.0)), ChannelRoi("b", 1, 0.0, ci=(-1.0, 1.0))],
        ci_level=0.90,
    )
    assert rec.pairs[0].se == pytest.approx(math.sqrt(2) / norm.ppf(0.95))


def test_misuse_raises() -> None:
    good = ChannelRoi("a", 1.0, 1.0, se=0.1)
    with pytest.raises(ValueError, match="unique"):
        recommend_budget_shift([good, good])
    with pytest.raises(ValueError, match="not both"):
        recommend_budget_shift([good, ChannelRoi("b", 1.0, 1.0, se=0.1, ci=(0.8, 1.2))])
    with pytest.raises(ValueError, match="needs its se or ci"):
        recommend_budget_shift([good, ChannelRoi("b", 1.0, 1.0)])
    with pytest.raises(ValueError, match="spend"):
        recommend_budget_shift([good, ChannelRoi("b", -1.0, 1.0, se=0.1)])
    with pytest.raises(ValueError, match="step"):
        recommend_budget_shift([good, ChannelRoi("b", 1.0, 1.0, se=0.1, step=1.5)])
    with pytest.raises(ValueError, match="positive"):
        recommend_budget_shift([good, ChannelRoi("b", 1.0, 1.0, se=0.0)])
    with pytest.raises(ValueError, match="alpha"):
        recommend_budget_shift([good], alpha=0.0)
