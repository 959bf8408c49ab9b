"""The recommended decision for a pilot, from its pre-registered criteria.

``check_data`` — a sample-ratio mismatch or exposures logged for holdout customers: the
comparison itself cannot be trusted until the data are fixed.

Per variant (signs flipped for metrics whose good direction is ``decrease``):

* **scale** — the primary lift is significantly positive (its multiplicity-adjusted p-value is
  below α), no guardrail is significantly harmed, the incremental ROI is not significantly
  negative (its interval's upper bound is not below zero), and the minimum duration has passed;
* **stop** — the primary lift is significantly negative, a guardrail is significantly harmed,
  or the relative lift's upper bound is below ``min_lift`` (futility: even the optimistic end of
  the interval is not worth scaling for);
* otherwise **continue**.

The pilot is ``scale`` when some variant is, ``stop`` when every variant is, else ``continue``,
with how many more customers and days the plan needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from stats.comparison import Comparison

__all__ = ["Action", "Decision", "MetricEvidence", "VariantEvidence", "decide"]

Action = Literal["scale", "stop", "continue", "check_data"]


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
class VariantEvidence:
    variant: str
    primary: MetricEvidence
    guardrails: Sequence[MetricEvidence] = ()
    roi_ci: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reasons: list[str]
    variant_actions: dict[str, Action] = field(default_factory=dict)
    needed_customers: int | None = None  # more customers the plan needs (continue only)
    needed_days: int | None = None  # at the current daily rate


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _ci_text(ci: tuple[float, float] | None) -> str:
    return "no interval yet" if ci is None else f"[{ci[0]:+.1%}, {ci[1]:+.1%}]"


def _variant_verdict(
    ev: VariantEvidence, *, alpha: float, min_lift: float, duration_ok: bool
) -> tuple[Action, list[str]]:
    p, name = ev.primary, ev.variant
    c = p.comparison
    summary = (
        f"{name}: {p.metric} {_pct(c.relative_lift)} {_ci_text(c.relative_ci)}"
        f" (adjusted p = {p.p_value_adjusted:.3g})"
        if p.p_value_adjusted is not None
        else f"{name}: {p.metric} cannot be compared yet ({c.message or c.status})"
    )
    harmed = [g.metric for g in ev.guardrails if g.bad(alpha)]
    if harmed:
        return "stop", [f"{summary}; guardrail {', '.join(harmed)} is significantly harmed."]
    if p.bad(alpha):
        return "stop", [f"{summary}: significantly worse than the holdout."]
    upper = p.good_relative_upper()
    if upper is not None and upper < min_lift:
        return "stop", [
            f"{summary}: even the upper end of the interval is below the minimum worthwhile"
            f" lift of {min_lift:.1%} (futility)."
        ]
    if p.good(alpha):
        if ev.roi_ci is not None and ev.roi_ci[1] < 0:
            return "continue", [
                f"{summary}: the lift is real but the incremental ROI is significantly negative"
                f" ({_ci_text(ev.roi_ci)}); the channel costs more than it brings."
            ]
        if not duration_ok:
            return "continue", [
                f"{summary}: significantly positive, but the minimum duration has not passed."
            ]
        return "scale", [f"{summary}: significantly better than the holdout."]
    return "continue", [f"{summary}: not yet conclusive."]


def decide(
    variants: Sequence[VariantEvidence],
    *,
    alpha: float,
    min_lift: float,
    srm_ok: bool = True,
    srm_message: str | None = None,
    holdout_exposed: int = 0,
    days_running: float = 0.0,
    min_duration_days: float = 7.0,
    customers: int = 0,
    planned_customers: int | None = None,
    daily_customers: float | None = None,
) -> Decision:
    """The pilot's recommended action with reasons as sentences (see the module docstring)."""
    problems = []
    if not srm_ok:
        problems.append(srm_message or "The group sizes do not match the configured split.")
    if holdout_exposed > 0:
        problems.append(
            f"{holdout_exposed} holdout customer(s) were exposed; the holdout is contaminated."
        )
    if problems:
        return Decision("check_data", [*problems, "Fix the data before reading the lift."])

    duration_ok = days_running >= min_duration_days
    verdicts = {
        ev.variant: _variant_verdict(ev, alpha=alpha, min_lift=min_lift, duration_ok=duration_ok)
        for ev in variants
    }
    actions = {v: a for v, (a, _) in verdicts.items()}
    reasons = [r for _, rs in verdicts.values() for r in rs]
    if any(a == "scale" for a in actions.values()):
        return Decision("scale", reasons, actions)
    if actions and all(a == "stop" for a in actions.values()):
        return Decision("stop", reasons, actions)
    if not duration_ok:
        reasons.append(
            f"The pilot has run {days_running:.1f} of the minimum {min_duration_days:g} days."
        )
    waiting_on_data = not any(ev.primary.good(alpha) for ev in variants)
    more = more_days = None
    if waiting_on_data and planned_customers is not None and customers < planned_customers:
        more = planned_customers - customers
        more_days = math.ceil(more / daily_customers) if daily_customers else None
        days = f", about {more_days} more day(s) at the current rate" if more_days else ""
        reasons.append(f"The plan needs {more:,} more customers{days}.")
    return Decision("continue", reasons, actions, more, more_days)
