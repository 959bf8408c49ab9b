"""Results of a pilot: intention-to-treat comparisons of every variant with the holdout.

Aggregates come from one read (:mod:`.read`); the numbers come from
:mod:`stats`. Everyone *assigned* counts, delivered or not: that is the unbiased effect of
running the channel. Exposures give the delivery rate, the lift among reached customers and the
cost. While a pilot runs the default inference is sequential (always valid, however often the
weekly review looks); once it stops it is fixed-horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from service.pilots.lifecycle import PilotRecord
from service.results import present
from service.schema import Arm, ArmMetric, Metric, Pilot, Results, Revenue, Srm
from service.schema import Comparison as ComparisonOut
from service.schema.common import HOLDOUT, default_method
from service.storage.aggregates import ArmAggregate, PilotAggregate
from stats import (
    Comparison,
    CovariateSample,
    Method,
    MetricEvidence,
    MetricKind,
    SampleMean,
    VariantEvidence,
    compare,
    decide,
    holm,
    incremental_roi,
    infer,
    plan_pilot,
    srm_check,
)

__all__ = [
    "Options",
    "analyze",
    "expected_shares",
    "metric_comparisons",
    "pilot_method",
    "primary_comparisons",
]


@dataclass(frozen=True, slots=True)
class Options:
    """How to analyse: inference method and CUPED; ``method=None`` picks by pilot status."""

    method: Method | None = None
    cuped: bool = True


def pilot_method(pilot: Pilot, options: Options) -> Method:
    """The method asked for, else the default for the pilot's status."""
    return options.method or default_method(pilot.status)


def expected_shares(pilot: Pilot) -> dict[str, float]:
    total = sum(v.weight for v in pilot.variants)
    shares = {HOLDOUT: pilot.holdout_share}
    for v in pilot.variants:
        shares[v.key] = (1 - pilot.holdout_share) * v.weight / total
    return shares


def _sample(arm: ArmAggregate, metric: Metric) -> CovariateSample:
    s = arm.metrics[metric.key]
    return CovariateSample(
        SampleMean(arm.customers, s.sum, s.sum_squares),
        SampleMean(arm.customers, s.covariate_sum, s.covariate_sum_squares),
        s.cross_sum,
    )


def _arm_out(arm: ArmAggregate, metrics: list[Metric]) -> Arm:
    out = {}
    for m in metrics:
        s = _sample(arm, m).outcome
        out[m.key] = ArmMetric(mean=s.mean, sd=s.sd, total=s.sum)
    return Arm(
        group=arm.group,
        customers=arm.customers,
        exposed=arm.exposed,
        exposures=arm.exposures,
        metrics=out,
    )


@dataclass(frozen=True, slots=True)
class _Context:
    """Everything the per-comparison code needs besides the two arms."""

    pilot: Pilot
    agg: PilotAggregate
    method: Method
    cuped: bool
    planned_customers: int | None  # whole pilot; None → tighten at the current size


def _planned_pair(ctx: _Context, variant: str) -> float | None:
    if ctx.planned_customers is None:
        return None
    shares = expected_shares(ctx.pilot)
    return ctx.planned_customers * (shares[HOLDOUT] + shares.get(variant, 0.0))


def _comparison(
    ctx: _Context, metric: Metric, control: ArmAggregate, treatment: ArmAggregate
) -> Comparison:
    kind: MetricKind = "binary" if metric.kind == "binary" else "mean"
    return compare(
        _sample(control, metric),
        _sample(treatment, metric),
        kind=kind,
        alpha=ctx.pilot.alpha,
        method=ctx.method,
        planned_customers=_planned_pair(ctx, treatment.group),
        cuped=ctx.cuped,
    )


def _comparison_out(
    metric: Metric,
    c: Comparison,
    p_adjusted: float | None,
    control: ArmAggregate,
    treatment: ArmAggregate,
) -> ComparisonOut:
    rate_t = treatment.exposed / treatment.customers if treatment.customers else 0.0
    rate_c = control.exposed / control.customers if control.customers else 0.0
    return present.comparison(
        c,
        p_adjusted,
        variant=treatment.group,
        metric=metric.key,
        kind=metric.kind,
        guardrail=metric.guardrail,
        direction=metric.direction,
        treated_customers=treatment.customers if metric.kind != "sum" else None,
        exposure_rate=rate_t,
        exposure_rate_lift=rate_t - rate_c,
    )


def _revenue(ctx: _Context, results: dict[tuple[str, str], Comparison]) -> Revenue:
    pilot, agg = ctx.pilot, ctx.agg
    costs = pilot.costs
    metric = next((m for m in pilot.metrics if m.kind == "sum" and not m.guardrail), None)
    incremental = revenue_ci = None
    if metric is not None and HOLDOUT in agg.arms:
        parts = [(agg.arms[v.key].customers, results[(v.key, metric.key)]) for v in pilot.variants]
        parts = [(n, c) for n, c in parts if c.absolute_se is not None]
        incremental = sum(n * c.absolute_lift for n, c in parts)
        if parts:
            # Variants share the holdout: Cov(Δv, Δw) = Var(holdout mean).
            control = _sample(agg.arms[HOLDOUT], metric).outcome
            var_c = control.variance / control.n if control.n else 0.0
            own = sum(n**2 * ((c.absolute_se or 0.0) ** 2 - var_c) for n, c in parts)
            shared = sum(n for n, _ in parts) ** 2 * var_c
            se = math.sqrt(max(own + shared, 0.0))
            if se > 0:
                revenue_ci = infer(
                    incremental,
                    se,
                    alpha=pilot.alpha,
                    method=ctx.method,
                    n=sum(a.customers for a in agg.arms.values()),
                    planned_customers=ctx.planned_customers,
                ).ci
    roi = incremental_roi(
        incremental or 0.0,
        exposures=agg.total_exposures,
        per_exposure=costs.per_exposure if costs else 0.0,
        fixed=costs.fixed if costs else 0.0,
        revenue_ci=revenue_ci,
    )
    return Revenue(
        metric=metric.key if metric else None,
        incremental_revenue=incremental,
        incremental_revenue_ci=revenue_ci,
        cost=roi.cost,
        incremental_roi=roi.incremental_roi if incremental is not None else None,
        incremental_roi_ci=roi.roi_ci,
    )


def _srm(pilot: Pilot, agg: PilotAggregate) -> Srm:
    shares = expected_shares(pilot)
    observed = {g: agg.arms[g].customers if g in agg.arms else 0 for g in shares}
    result = srm_check(list(observed.values()), list(shares.values()))
    return present.srm(result, shares, observed)


def _warnings(pilot: Pilot, agg: PilotAggregate, srm: Srm) -> list[str]:
    warnings = []
    if srm.message and not srm.ok:
        warnings.append(srm.message)
    holdout = agg.arms.get(HOLDOUT)
    if holdout is not None and holdout.exposed:
        warnings.append(
            f"{holdout.exposed} holdout customer(s) were exposed: the holdout must never receive"
            " the treatment; check the campaign tool's suppression list."
        )
    if agg.unassigned_exposures:
        warnings.append(
            f"{agg.unassigned_exposures} exposure(s) were logged for customers never assigned"
            " to this pilot; they cost money but are outside the comparison."
        )
    for v in pilot.variants:
        arm = agg.arms.get(v.key)
        if arm is not None and arm.customers >= 1000 and arm.exposed / arm.customers < 0.2:
            warnings.append(
                f"Only {arm.exposed / arm.customers:.0%} of {v.key!r} customers were exposed:"
                " check that the campaign tool sends exposures (or that delivery works)."
            )
    designed = {HOLDOUT, *(v.key for v in pilot.variants)}
    for group in sorted(set(agg.arms) - designed):
        warnings.append(f"Customers recorded in unknown group {group!r} are not compared.")
    return warnings


def _days_running(pilot: Pilot, as_of: datetime) -> float:
    if pilot.started_at is None:
        return 0.0
    end = min(as_of, pilot.stopped_at) if pilot.stopped_at else as_of
    return max((end - pilot.started_at).total_seconds() / 86_400, 0.0)


def _planned_customers(pilot: Pilot, customers: int, days: float) -> int | None:
    """Customers the pilot will have at its planned duration, at the observed daily rate."""
    if days < 1 or customers == 0:
        return None
    return max(customers, round(customers / days * pilot.planned_duration_days))


def _needed_customers(pilot: Pilot, agg: PilotAggregate) -> int | None:
    """Customers the pre-registered plan needs, at the observed holdout baseline."""
    metric = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    holdout = agg.arms.get(HOLDOUT)
    if holdout is None or holdout.customers < 2:
        return None
    base = _sample(holdout, metric).outcome
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


def _evidence(
    pilot: Pilot,
    out: list[ComparisonOut],
    results: dict[tuple[str, str], Comparison],
    roi_ci: tuple[float, float] | None,
) -> list[VariantEvidence]:
    """Decision inputs per variant; the ROI interval is the pilot's (cost is not split)."""
    by_key = {(c.variant, c.metric): c for c in out}
    metrics = {m.key: m for m in pilot.metrics}

    def ev(variant: str, key: str) -> MetricEvidence:
        return MetricEvidence(
            key,
            results[(variant, key)],
            by_key[(variant, key)].p_value_adjusted,
            metrics[key].direction,
        )

    return [
        VariantEvidence(
            v.key,
            ev(v.key, pilot.primary_metric),
            [ev(v.key, m.key) for m in pilot.metrics if m.guardrail],
            roi_ci,
        )
        for v in pilot.variants
    ]


def _context(pilot: Pilot, agg: PilotAggregate, as_of: datetime, options: Options) -> _Context:
    customers = sum(a.customers for a in agg.arms.values())
    days = _days_running(pilot, as_of)
    return _Context(
        pilot, agg, pilot_method(pilot, options), options.cuped,
        _planned_customers(pilot, customers, days),
    )  # fmt: skip


def metric_comparisons(ctx: _Context, metric: Metric) -> list[tuple[str, Comparison, float | None]]:
    """Every variant against the holdout on ``metric``, with Holm-adjusted p-values."""
    control = ctx.agg.arms[HOLDOUT]
    row = [
        (v.key, _comparison(ctx, metric, control, ctx.agg.arms[v.key])) for v in ctx.pilot.variants
    ]
    adjusted = holm([c.p_value for _, c in row])
    return [(variant, c, p_adj) for (variant, c), p_adj in zip(row, adjusted)]


def primary_comparisons(
    pilot: Pilot, agg: PilotAggregate, as_of: datetime, options: Options
) -> tuple[Method, list[tuple[str, Comparison, float | None]]]:
    """The primary metric's comparisons alone (the daily series needs nothing else)."""
    ctx = _context(pilot, agg, as_of, options)
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    return ctx.method, metric_comparisons(ctx, primary)


def analyze(
    record: PilotRecord, agg: PilotAggregate, as_of: datetime, options: Options = Options()
) -> Results:
    """The results of a pilot from its aggregates: pure computation, no storage."""
    pilot = record.pilot
    customers = sum(a.customers for a in agg.arms.values())
    days = _days_running(pilot, as_of)
    ctx = _context(pilot, agg, as_of, options)
    method = ctx.method
    srm = _srm(pilot, agg)
    control = agg.arms[HOLDOUT]
    results: dict[tuple[str, str], Comparison] = {}
    comparisons: list[ComparisonOut] = []
    for metric in pilot.metrics:
        for variant, c, p_adj in metric_comparisons(ctx, metric):
            results[(variant, metric.key)] = c
            comparisons.append(_comparison_out(metric, c, p_adj, control, agg.arms[variant]))
    revenue = _revenue(ctx, results)
    decision = decide(
        _evidence(pilot, comparisons, results, revenue.incremental_roi_ci),
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        srm_ok=srm.ok,
        srm_message=srm.message,
        holdout_exposed=control.exposed,
        days_running=days,
        min_duration_days=pilot.min_duration_days,
        customers=customers,
        planned_customers=_needed_customers(pilot, agg),
        daily_customers=customers / days if days >= 1 else None,
    )
    ordered = [HOLDOUT, *(v.key for v in pilot.variants)]
    ordered += sorted(set(agg.arms) - set(ordered))
    return Results(
        experiment=pilot.key,
        status=pilot.status,
        as_of=as_of,
        method=method,
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        primary_metric=pilot.primary_metric,
        arms=[_arm_out(agg.arms[g], pilot.metrics) for g in ordered],
        comparisons=comparisons,
        revenue=revenue,
        srm=srm,
        warnings=_warnings(pilot, agg, srm),
        decision=present.decision(decision),
        cuped=options.cuped,
        days_running=round(days, 3),
        planned_customers=ctx.planned_customers,
    )
