"""The recommended decision for a pilot, per variant, from its pre-registered criteria.

**check_data** (the whole pilot) — a sample-ratio mismatch, or more than
``max_holdout_exposed_share`` (default 1 %) of the holdout exposed: the comparison itself
cannot be trusted until the data are fixed. Less contamination only dilutes the
intention-to-treat estimate towards zero; it is a warning, not a reason to stop reading.

Per variant (signs flipped for metrics whose good direction is ``decrease``):

* **too early** — before ``min_duration_days`` or while an arm has fewer than
  ``min_conversions`` conversions of the primary metric, no variant is scaled or stopped
  (novelty effects, weekly cycles, and too few events for the normal approximation);
* **stop** — the primary lift is significantly negative; a guardrail is ``harmed`` (its
  interval lies wholly beyond the margin or the cap: :mod:`stats.guardrail`); the incremental
  ROI's upper bound is below ``min_roi`` (:func:`stats.profit.roi_verdict`); or the relative
  lift's upper bound is below ``min_lift`` (futility: even the optimistic end is not worth
  scaling for);
* **scale** — the primary lift is significantly positive (Holm-adjusted p below α), *every*
  guardrail is ``non_inferior`` and the ROI interval's lower bound is at least ``min_roi``
  (when the pilot has a cost and a revenue metric);
* otherwise **continue**, saying what is still missing.

The pilot's action is ``scale`` when some variant scales, ``stop`` when every variant stops,
else ``continue``; the first reason is one sentence naming each variant's call ("scale
sms_a; stop sms_b"), so a reviewer never reads "scale" while another variant harms a guardrail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from stats.comparison import Comparison
from stats.guardrail import GuardrailVerdict

__all__ = [
    "Action",
    "Criteria",
    "Decision",
    "GuardrailEvidence",
    "MetricEvidence",
    "VariantDecision",
    "VariantEvidence",
    "decide",
]

Action = Literal["scale", "stop", "continue", "check_data"]
RoiVerdict = Literal["meets", "below", "inconclusive"]


@dataclass(frozen=True, slots=True)
class MetricEvidence:
    metric: str
    comparison: Comparison
    p_value_adjusted: float | None
    direction: Literal["increase", "decrease"] = "increase"

    @property
    def sign(self) -> int:
        return 1 if self.direction == "increase" else -1

    def significant(self, alpha: float) -> bool:
        p = self.p_value_adjusted
        return self.comparison.status in ("ok", "zero_baseline") and p is not None and p < alpha

    def good(self, alpha: float) -> bool:
        return self.significant(alpha) and self.sign * self.comparison.absolute_lift > 0

    def bad(self, alpha: float) -> bool:
        return self.significant(alpha) and self.sign * self.comparison.absolute_lift < 0

    def good_relative_upper(self) -> float | None:
        ci = self.comparison.relative_ci
        if ci is None:
            return None
        return max(self.sign * ci[0], self.sign * ci[1])


@dataclass(frozen=True, slots=True)
class GuardrailEvidence:
    metric: str
    verdict: GuardrailVerdict


@dataclass(frozen=True, slots=True)
class VariantEvidence:
    variant: str
    primary: MetricEvidence
    guardrails: Sequence[GuardrailEvidence] = ()
    roi: RoiVerdict | None = None  # None: no cost or no revenue metric, ROI does not apply
    roi_ci: tuple[float, float] | None = None
    conversions: float = math.inf  # primary-metric conversions in the variant's arm


@dataclass(frozen=True, slots=True)
class Criteria:
    """The pilot's pre-registered decision criteria."""

    alpha: float
    min_lift: float
    min_roi: float = 0.0
    min_duration_days: float = 7.0
    min_conversions: float = 100.0
    max_holdout_exposed_share: float = 0.01


@dataclass(frozen=True, slots=True)
class VariantDecision:
    variant: str
    action: Action
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reasons: list[str]
    variant_actions: dict[str, Action] = field(default_factory=dict)
    needed_customers: int | None = None  # more customers the plan needs (continue only)
    needed_days: int | None = None  # at the current daily rate
    variants: list[VariantDecision] = field(default_factory=list)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _ci_text(ci: tuple[float, float] | None) -> str:
    return "no finite interval yet" if ci is None else f"[{ci[0]:+.1%}, {ci[1]:+.1%}]"


def _summary(ev: VariantEvidence) -> str:
    p, c = ev.primary, ev.primary.comparison
    if p.p_value_adjusted is None:
        return f"{ev.variant}: {p.metric} cannot be compared yet ({c.message or c.status})"
    return (
        f"{ev.variant}: {p.metric} {_pct(c.relative_lift)} {_ci_text(c.relative_ci)}"
        f" (adjusted p = {p.p_value_adjusted:.3g})"
    )


def _stop_reasons(ev: VariantEvidence, crit: Criteria, summary: str) -> list[str]:
    reasons = []
    if ev.primary.bad(crit.alpha):
        reasons.append(f"{summary}: significantly worse than the holdout.")
    for g in ev.guardrails:
        if g.verdict.verdict == "harmed":
            reasons.append(f"{ev.variant}: guardrail {g.metric} is harmed. {g.verdict.message}")
    if ev.roi == "below" and ev.roi_ci is not None:
        reasons.append(
            f"{ev.variant}: the incremental ROI {_ci_text(ev.roi_ci)} is below the required"
            f" {crit.min_roi:+.0%}; it costs more than it brings."
        )
    upper = ev.primary.good_relative_upper()
    if upper is not None and upper < crit.min_lift:
        reasons.append(
            f"{summary}: even the upper end of the interval is below the minimum worthwhile"
            f" lift of {crit.min_lift:.1%} (futility)."
        )
    return reasons


def _variant(
    ev: VariantEvidence, crit: Criteria, early: list[str], holdout_conversions: float
) -> VariantDecision:
    summary = _summary(ev)
    too_few = min(ev.conversions, holdout_conversions) < crit.min_conversions
    if early or too_few:
        why = list(early)
        if too_few:
            why.append(
                f"{ev.variant}: {min(ev.conversions, holdout_conversions):,.0f} conversions in"
                f" the smaller arm, fewer than the {crit.min_conversions:,.0f} required."
            )
        return VariantDecision(
            ev.variant, "continue", [f"{summary}. Too early to call: " + " ".join(why)]
        )
    stop = _stop_reasons(ev, crit, summary)
    if stop:
        return VariantDecision(ev.variant, "stop", stop)
    if not ev.primary.good(crit.alpha):
        return VariantDecision(ev.variant, "continue", [f"{summary}: not yet conclusive."])
    missing = [
        f"guardrail {g.metric} is not yet shown non-inferior ({g.verdict.message.rstrip('.')})"
        for g in ev.guardrails
        if g.verdict.verdict != "non_inferior"
    ]
    if ev.roi == "inconclusive":
        missing.append(
            f"the incremental ROI {_ci_text(ev.roi_ci)} is not yet clearly above"
            f" {crit.min_roi:+.0%}"
        )
    if missing:
        return VariantDecision(
            ev.variant,
            "continue",
            [f"{summary}: significantly better, but " + "; ".join(missing) + "."],
        )
    return VariantDecision(
        ev.variant, "scale", [f"{summary}: significantly better than the holdout."]
    )


def _headline(decisions: Sequence[VariantDecision]) -> str:
    """``"scale sms_a; stop sms_b"``: each variant's call in one line."""
    by_action: dict[str, list[str]] = {}
    for d in decisions:
        by_action.setdefault(d.action, []).append(d.variant)
    return "; ".join(f"{a} {', '.join(vs)}" for a, vs in by_action.items()) + "."


def decide(
    variants: Sequence[VariantEvidence],
    criteria: Criteria,
    *,
    srm_ok: bool = True,
    srm_message: str | None = None,
    holdout_customers: int = 0,
    holdout_exposed: int = 0,
    holdout_conversions: float = math.inf,
    days_running: float = 0.0,
    customers: int = 0,
    planned_customers: int | None = None,
    daily_customers: float | None = None,
) -> Decision:
    """The pilot's recommended action, per variant and overall (see the module docstring)."""
    problems = []
    if not srm_ok:
        problems.append(srm_message or "The group sizes do not match the configured split.")
    exposed_share = holdout_exposed / holdout_customers if holdout_customers else 0.0
    if exposed_share > criteria.max_holdout_exposed_share:
        problems.append(
            f"{exposed_share:.1%} of the holdout ({holdout_exposed:,} customers) were exposed,"
            f" more than the {criteria.max_holdout_exposed_share:.1%} tolerated; the holdout is"
            " contaminated."
        )
    if problems:
        return Decision("check_data", [*problems, "Fix the data before reading the lift."])
    early = []
    if days_running < criteria.min_duration_days:
        early.append(
            f"the pilot has run {days_running:.1f} of the minimum"
            f" {criteria.min_duration_days:g} days."
        )
    decisions = [_variant(ev, criteria, early, holdout_conversions) for ev in variants]
    actions: Mapping[str, Action] = {d.variant: d.action for d in decisions}
    reasons = [_headline(decisions), *(r for d in decisions for r in d.reasons)]
    if any(a == "scale" for a in actions.values()):
        return Decision("scale", reasons, dict(actions), variants=decisions)
    if actions and all(a == "stop" for a in actions.values()):
        return Decision("stop", reasons, dict(actions), variants=decisions)
    waiting_on_data = not any(ev.primary.good(criteria.alpha) for ev in variants)
    more = more_days = None
    if waiting_on_data and planned_customers is not None and customers < planned_customers:
        more = planned_customers - customers
        more_days = math.ceil(more / daily_customers) if daily_customers else None
        days = f", about {more_days} more day(s) at the current rate" if more_days else ""
        reasons.append(f"The plan needs {more:,} more customers{days}.")
    return Decision("continue", reasons, dict(actions), more, more_days, decisions)
