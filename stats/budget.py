"""Where the next budget should go: a capped, budget-neutral shift between channels.

Each channel's standing holdout gives its incremental ROI ``(incremental revenue − cost)/cost``
with a standard error. Budget moves towards channels whose ROI is *significantly* higher than
another's, away from those significantly lower, and stays put otherwise.

* **Pairwise tests.** The channels' holdouts are separate randomisations, so their estimates are
  independent: for channels ``i, j`` the difference ``d = r_i − r_j`` has
  ``se = √(se_i² + se_j²)``, ``z = d/se``, two-sided ``p = 2Φ(−|z|)``. An interval given instead
  of a standard error is read as symmetric and normal at ``ci_level``:
  ``se = (upper − lower) / (2 z_{(1+ci_level)/2})``.
* **Multiplicity.** Holm's step-down adjustment (Holm 1979; :func:`stats.multiple.holm`) over
  all ``K(K − 1)/2`` pairs controls the chance of moving money on *any* difference that is not
  there at ``α``; a pair is significant when its adjusted p is below ``α``.
* **Direction.** A channel *gains* when it is significantly higher than some channel and
  significantly lower than none, *gives* when it is significantly lower than some and higher than
  none, and *holds* otherwise (no difference, or in the middle of two). Whenever some pair is
  significant there is at least one gainer and one giver (follow the significant pairs up and
  down to their ends).
* **Amounts.** Each channel moves at most its ``step`` (default 6 % of its spend per review, the
  practice of the seed teams). With ``G`` the givers' capacity ``Σ step·spend`` and ``R`` the
  gainers', ``T = min(G, R)`` moves: each giver gives ``T·cap_i/G``, each gainer gets
  ``T·cap_i/R``. The smaller side moves its full step, the larger side proportionally less, and
  total spend is unchanged.

Why small, capped steps: a holdout measures the *average* incremental ROI of what the channel
spends now, while a reallocation earns the *marginal* return of the next euro, which is lower
where returns diminish (response curves: Jin, Wang, Sun, Chan & Koehler 2017, "Bayesian methods
for media mix modeling with carryover and shape effects", Google). A step of a few per cent
keeps the marginal close to the measured average, and the next review re-measures before the
next step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from stats.multiple import holm

__all__ = [
    "DEFAULT_STEP",
    "BudgetRecommendation",
    "BudgetStatus",
    "ChannelRoi",
    "ChannelShift",
    "PairComparison",
    "ShiftDirection",
    "recommend_budget_shift",
]

DEFAULT_STEP = 0.06

BudgetStatus = Literal["shift", "no_change", "too_few_channels"]
ShiftDirection = Literal["increase", "decrease", "hold"]


@dataclass(frozen=True, slots=True)
class ChannelRoi:
    """One channel's current spend and incremental ROI (``None`` while it has no estimate).

    Give ``se`` or ``ci`` (a symmetric interval at the function's ``ci_level``), not both.
    ``step`` is the most this channel's budget may move per review, as a share of ``spend``.
    """

    key: str
    spend: float
    roi: float | None
    se: float | None = None
    ci: tuple[float, float] | None = None
    step: float = DEFAULT_STEP


@dataclass(frozen=True, slots=True)
class PairComparison:
    """``higher`` minus ``lower`` by point estimate; ``significant`` after Holm."""

    higher: str
    lower: str
    difference: float
    se: float
    p_value: float
    p_value_adjusted: float
    significant: bool


@dataclass(frozen=True, slots=True)
class ChannelShift:
    key: str
    spend: float
    roi: float | None
    change: float  # amount, + more budget, − less
    change_relative: float | None  # change / spend (0.06 = +6 %); None when spend is 0
    direction: ShiftDirection
    reason: str


@dataclass(frozen=True, slots=True)
class BudgetRecommendation:
    status: BudgetStatus
    summary: str
    channels: tuple[ChannelShift, ...]  # input order
    pairs: tuple[PairComparison, ...]
    moved: float  # total amount moved (sum of the increases = sum of the decreases)
    alpha: float


def _standard_error(channel: ChannelRoi, z_ci: float) -> float:
    if channel.se is not None and channel.ci is not None:
        raise ValueError(f"channel {channel.key!r}: give se or ci, not both")
    if channel.se is not None:
        se = float(channel.se)
    elif channel.ci is not None:
        lower, upper = channel.ci
        se = (float(upper) - float(lower)) / (2 * z_ci)
    else:
        raise ValueError(f"channel {channel.key!r}: an ROI estimate needs its se or ci")
    if not (math.isfinite(se) and se > 0):
        raise ValueError(f"channel {channel.key!r}: the ROI's se must be positive and finite")
    return se


def _validate(channels: Sequence[ChannelRoi]) -> None:
    keys = [c.key for c in channels]
    if len(set(keys)) != len(keys):
        raise ValueError("channel keys must be unique")
    for c in channels:
        if not (math.isfinite(c.spend) and c.spend >= 0):
            raise ValueError(f"channel {c.key!r}: spend must be finite and non-negative")
        if not 0 <= c.step <= 1:
            raise ValueError(f"channel {c.key!r}: step must be in [0, 1]")
        if c.roi is not None and not math.isfinite(c.roi):
            raise ValueError(f"channel {c.key!r}: roi must be finite")


def _names(keys: Sequence[str]) -> str:
    if len(keys) <= 1:
        return "".join(keys)
    return ", ".join(keys[:-1]) + " and " + keys[-1]


def _money(x: float) -> str:
    return f"{x:+,.2f}"


def recommend_budget_shift(
    channels: Sequence[ChannelRoi], *, alpha: float = 0.05, ci_level: float = 0.95
) -> BudgetRecommendation:
    """Budget-neutral shift towards significantly better incremental ROI, capped per channel."""
    from scipy.stats import norm  # on first use: see stats/__init__.py

    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if not 0 < ci_level < 1:
        raise ValueError("ci_level must be in (0, 1)")
    _validate(channels)
    z_ci = float(norm.ppf((1 + ci_level) / 2))
    measured = [c for c in channels if c.roi is not None]
    se = {c.key: _standard_error(c, z_ci) for c in measured}
    roi = {c.key: float(c.roi) for c in measured if c.roi is not None}
    level = f"α = {alpha:g}"

    raw: list[tuple[str, str, float, float, float]] = []
    for i, a in enumerate(measured):
        for b in measured[i + 1 :]:
            hi, lo = (a.key, b.key) if roi[a.key] >= roi[b.key] else (b.key, a.key)
            d = roi[hi] - roi[lo]
            s = math.sqrt(se[hi] ** 2 + se[lo] ** 2)
            raw.append((hi, lo, d, s, float(2 * norm.sf(d / s))))
    adjusted = holm([r[4] for r in raw])
    pairs = tuple(
        PairComparison(hi, lo, d, s, p, float(adj), float(adj) < alpha)
        for (hi, lo, d, s, p), adj in zip(raw, adjusted)
        if adj is not None
    )
    above = {
        c.key: [p.lower for p in pairs if p.significant and p.higher == c.key] for c in channels
    }
    below = {
        c.key: [p.higher for p in pairs if p.significant and p.lower == c.key] for c in channels
    }
    gainers = [c for c in measured if above[c.key] and not below[c.key]]
    givers = [c for c in measured if below[c.key] and not above[c.key]]
    gainer_keys, giver_keys = {c.key for c in gainers}, {c.key for c in givers}
    give_cap = sum(c.step * c.spend for c in givers)
    gain_cap = sum(c.step * c.spend for c in gainers)
    moved = min(give_cap, gain_cap)

    def change_of(c: ChannelRoi) -> float:
        if moved <= 0:
            return 0.0
        if c.key in gainer_keys:
            return moved * c.step * c.spend / gain_cap
        if c.key in giver_keys:
            return -moved * c.step * c.spend / give_cap
        return 0.0

    def reason(c: ChannelRoi, change: float) -> str:
        if c.roi is None:
            return (
                "No incremental ROI estimate yet, so it is left out of the comparisons and its"
                " budget stays."
            )
        r = f"Incremental ROI {c.roi:.2f}"
        hi, lo = above[c.key], below[c.key]
        if not hi and not lo:
            return (
                f"{r} is not significantly different from any other channel's (Holm, {level}),"
                " so its budget stays."
            )
        if hi and lo:
            return (
                f"{r} is significantly higher than that of {_names(hi)} but lower than that of"
                f" {_names(lo)}, so its budget stays."
            )
        side = "higher" if hi else "lower"
        against = _names(hi or lo)
        if c.step * c.spend == 0:
            return (
                f"{r} is significantly {side} than that of {against}, but with spend × step"
                " = 0 its budget cannot move."
            )
        if change == 0.0:
            return (
                f"{r} is significantly {side} than that of {against}, but the other side has no"
                " budget to move, so its budget stays."
            )
        pct = f"{change / c.spend:+.1%}"
        full = math.isclose(abs(change), c.step * c.spend, rel_tol=1e-9)
        limit = (
            "the full step"
            if full
            else f"less than the {c.step:.0%} step to keep total spend unchanged"
        )
        return (
            f"{r} is significantly {side} than that of {against}:"
            f" {_money(change)} ({pct}), {limit}."
        )

    shifts = []
    for c in channels:
        change = change_of(c)
        shifts.append(
            ChannelShift(
                key=c.key,
                spend=c.spend,
                roi=c.roi,
                change=change,
                change_relative=change / c.spend if c.spend > 0 else None,
                direction="increase" if change > 0 else "decrease" if change < 0 else "hold",
                reason=reason(c, change),
            )
        )

    def result(status: BudgetStatus, summary: str) -> BudgetRecommendation:
        return BudgetRecommendation(status, summary, tuple(shifts), pairs, moved, alpha)

    if len(measured) < 2:
        return result(
            "too_few_channels",
            f"No change: {len(measured)} channel{'' if len(measured) == 1 else 's'} with an"
            " incremental ROI estimate; at least two are needed to compare.",
        )
    if not any(p.significant for p in pairs):
        smallest = min(p.p_value_adjusted for p in pairs)
        return result(
            "no_change",
            f"No change: no two channels' incremental ROI differ significantly after Holm's"
            f" correction over {len(pairs)} pair{'s' if len(pairs) != 1 else ''} ({level};"
            f" smallest adjusted p = {smallest:.3f}).",
        )
    if moved <= 0:
        return result(
            "no_change",
            "No change: incremental ROI differs significantly, but the channels that would"
            " give or gain have no budget (or no step) to move.",
        )
    total = sum(c.spend for c in channels)
    return result(
        "shift",
        f"Move {moved:,.2f} ({moved / total:.1%} of total spend) from"
        f" {_names([c.key for c in givers])} to {_names([c.key for c in gainers])}: their"
        f" incremental ROI differs significantly (Holm over {len(pairs)}"
        f" pair{'s' if len(pairs) != 1 else ''}, {level}); total spend is unchanged.",
    )
