"""Data quality and pace of a pilot: the sample-ratio check, warnings, days running, and the
customers the plan expects and needs. Pure functions of the pilot and its aggregates."""

from __future__ import annotations

from datetime import datetime

from service.results import present
from service.schema import Metric, Pilot, Srm
from service.schema.common import HOLDOUT
from service.storage.aggregates import ArmAggregate, PilotAggregate
from stats import CovariateSample, SampleMean, plan_pilot, srm_check

__all__ = [
    "days_running",
    "expected_shares",
    "needed_customers",
    "planned_customers",
    "sample",
    "srm",
    "warnings",
]


def expected_shares(pilot: Pilot) -> dict[str, float]:
    total = sum(v.weight for v in pilot.variants)
    shares = {HOLDOUT: pilot.holdout_share}
    for v in pilot.variants:
        shares[v.key] = (1 - pilot.holdout_share) * v.weight / total
    return shares


def sample(arm: ArmAggregate, metric: Metric) -> CovariateSample:
    s = arm.metrics[metric.key]
    return CovariateSample(
        SampleMean(arm.customers, s.sum, s.sum_squares),
        SampleMean(arm.customers, s.covariate_sum, s.covariate_sum_squares),
        s.cross_sum,
    )


def srm(pilot: Pilot, agg: PilotAggregate) -> Srm:
    shares = expected_shares(pilot)
    observed = {g: agg.arms[g].customers if g in agg.arms else 0 for g in shares}
    result = srm_check(list(observed.values()), list(shares.values()))
    return present.srm(result, shares, observed)


def warnings(pilot: Pilot, agg: PilotAggregate, srm: Srm) -> list[str]:
    found = []
    if srm.message and not srm.ok:
        found.append(srm.message)
    holdout = agg.arms.get(HOLDOUT)
    if holdout is not None and holdout.exposed:
        found.append(
            f"{holdout.exposed} holdout customer(s) ({holdout.exposed / holdout.customers:.2%})"
            " were exposed: the holdout must never receive the treatment; check the campaign"
            " tool's suppression list. The intention-to-treat lift is diluted, not biased"
            " upwards."
        )
    if agg.unassigned_exposures:
        found.append(
            f"{agg.unassigned_exposures} exposure(s) were logged for customers never assigned"
            " to this pilot; they cost money but are outside the comparison."
        )
    for v in pilot.variants:
        arm = agg.arms.get(v.key)
        if arm is not None and arm.customers >= 1000 and arm.exposed / arm.customers < 0.2:
            found.append(
                f"Only {arm.exposed / arm.customers:.0%} of {v.key!r} customers were exposed:"
                " check that the campaign tool sends exposures (or that delivery works)."
            )
    designed = {HOLDOUT, *(v.key for v in pilot.variants)}
    for group in sorted(set(agg.arms) - designed):
        found.append(f"Customers recorded in unknown group {group!r} are not compared.")
    return found


def days_running(pilot: Pilot, as_of: datetime) -> float:
    if pilot.started_at is None:
        return 0.0
    end = min(as_of, pilot.stopped_at) if pilot.stopped_at else as_of
    return max((end - pilot.started_at).total_seconds() / 86_400, 0.0)


def planned_customers(pilot: Pilot, customers: int, days: float) -> int | None:
    """Customers the pilot will have at its planned duration, at the observed daily rate."""
    if days < 1 or customers == 0:
        return None
    return max(customers, round(customers / days * pilot.planned_duration_days))


def needed_customers(pilot: Pilot, agg: PilotAggregate) -> int | None:
    """Customers the pre-registered plan needs, at the observed holdout baseline."""
    metric = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    holdout = agg.arms.get(HOLDOUT)
    if holdout is None or holdout.customers < 2:
        return None
    base = sample(holdout, metric).outcome
    variants = len(pilot.variants)
    try:
        if metric.kind == "binary":
            plan = plan_pilot(
                baseline=base.mean, min_lift=pilot.min_lift, alpha=pilot.alpha,
                power=pilot.power, holdout_share=pilot.holdout_share, variants=variants,
            )  # fmt: skip
        else:
            plan = plan_pilot(
                baseline=base.mean, min_lift=pilot.min_lift, alpha=pilot.alpha,
                power=pilot.power, holdout_share=pilot.holdout_share, variants=variants,
                sd=base.sd or None,
            )  # fmt: skip
    except ValueError:  # zero baseline or variance: nothing to plan from yet
        return None
    return plan.total_customers
