"""Results of a pilot: intention-to-treat comparisons of every variant with the holdout.

Aggregates come from SQL (:mod:`service.storage.aggregates`); the numbers come from
:mod:`stats`. Everyone *assigned* counts, delivered or not: that is the unbiased effect of
running the channel. Exposures give the delivery rate, the lift among reached customers and the
cost. While a pilot runs the default inference is sequential (always valid, however often the
weekly review looks); once it stops it is fixed-horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from service.pilots.lifecycle import PilotRecord, load_pilot
from service.schema import (
    Arm,
    ArmMetric,
    ComparisonOut,
    DecisionOut,
    Metric,
    Pilot,
    Results,
    RevenueOut,
    SrmOut,
)
from service.storage.aggregates import ArmAggregate, PilotAggregate, aggregate_pilot
from service.storage.sql import read_transaction
from service.timeutil import US_PER_DAY, to_us
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
    lift_among_exposed,
    plan_pilot,
    scale_interval,
    srm_check,
)

__all__ = [
    "Options",
    "analyse",
    "comparison_numbers",
    "compute_results",
    "default_method",
    "expected_shares",
]

HOLDOUT = "holdout"


@dataclass(frozen=True, slots=True)
class Options:
    """How to analyse: inference method and CUPED; ``method=None`` picks by pilot status."""

    method: Method | None = None
    cuped: bool = True


def default_method(pilot: Pilot) -> Method:
    return "sequential" if pilot.status == "running" else "fixed"


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


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


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


def comparison_numbers(c: Comparison, p_adjusted: float | None) -> dict[str, Any]:
    """The fields of a :class:`ComparisonOut` that come straight from the statistics."""
    return {
        "status": c.status,
        "message": c.message,
        "control_mean": c.control_mean,
        "treatment_mean": c.treatment_mean,
        "absolute_lift": c.absolute_lift,
        "absolute_se": c.absolute_se,
        "absolute_ci": c.absolute_ci,
        "relative_lift": _finite(c.relative_lift),
        "relative_se": c.relative_se,
        "relative_ci": c.relative_ci,
        "p_value": c.p_value,
        "p_value_adjusted": p_adjusted,
        "significant": p_adjusted is not None and p_adjusted < c.alpha,
        "cuped": c.cuped,
        "variance_reduction": c.variance_reduction,
        "method": c.method,
        "test": c.test,
    }


def _comparison_out(
    metric: Metric,
    c: Comparison,
    p_adjusted: float | None,
    control: ArmAggregate,
    treatment: ArmAggregate,
) -> ComparisonOut:
    rate_t = treatment.exposed / treatment.customers if treatment.customers else 0.0
    rate_c = control.exposed / control.customers if control.customers else 0.0
    rate = rate_t - rate_c
    counts = metric.kind != "sum"
    return ComparisonOut(
        variant=treatment.group,
        metric=metric.key,
        kind=metric.kind,
        guardrail=metric.guardrail,
        direction=metric.direction,
        **comparison_numbers(c, p_adjusted),
        incremental_conversions=c.absolute_lift * treatment.customers if counts else None,
        incremental_conversions_ci=(
            scale_interval(c.absolute_ci, treatment.customers) if counts else None
        ),
        exposure_rate=rate_t,
        lift_among_exposed=lift_among_exposed(c.absolute_lift, rate),
        lift_among_exposed_ci=scale_interval(c.absolute_ci, 1 / rate) if rate > 0 else None,
    )


def _revenue(ctx: _Context, results: dict[tuple[str, str], Comparison]) -> RevenueOut:
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
    return RevenueOut(
        metric=metric.key if metric else None,
        incremental_revenue=incremental,
        incremental_revenue_ci=revenue_ci,
        cost=roi.cost,
        incremental_roi=roi.incremental_roi if incremental is not None else None,
        incremental_roi_ci=roi.roi_ci,
    )


def _srm(pilot: Pilot, agg: PilotAggregate) -> SrmOut:
    shares = expected_shares(pilot)
    observed = {g: agg.arms[g].customers if g in agg.arms else 0 for g in shares}
    result = srm_check(list(observed.values()), list(shares.values()))
    return SrmOut(
        p_value=result.p_value,
        chi2=result.chi2,
        ok=result.ok,
        message=result.message,
        expected_shares=shares,
        observed=observed,
    )


def _warnings(pilot: Pilot, agg: PilotAggregate, srm: SrmOut) -> list[str]:
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


def analyse(
    record: PilotRecord, agg: PilotAggregate, as_of: datetime, options: Options = Options()
) -> Results:
    pilot = record.pilot
    method = options.method or default_method(pilot)
    customers = sum(a.customers for a in agg.arms.values())
    days = _days_running(pilot, as_of)
    ctx = _Context(pilot, agg, method, options.cuped, _planned_customers(pilot, customers, days))
    srm = _srm(pilot, agg)
    control = agg.arms[HOLDOUT]
    results: dict[tuple[str, str], Comparison] = {}
    comparisons: list[ComparisonOut] = []
    for metric in pilot.metrics:
        row = [(v.key, _comparison(ctx, metric, control, agg.arms[v.key])) for v in pilot.variants]
        adjusted = holm([c.p_value for _, c in row])
        for (variant, c), p_adj in zip(row, adjusted):
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
        decision=DecisionOut(
            action=decision.action,
            reasons=decision.reasons,
            variant_actions=dict(decision.variant_actions),
            needed_customers=decision.needed_customers,
            needed_days=decision.needed_days,
        ),
        cuped=options.cuped,
        days_running=round(days, 3),
        planned_customers=ctx.planned_customers,
    )


def aggregate(
    engine: Engine, key: str, as_of: datetime, metrics: list[Metric] | None = None
) -> tuple[PilotRecord, PilotAggregate]:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        pilot = record.pilot
        agg = aggregate_pilot(
            conn,
            record.id,
            [HOLDOUT, *(v.key for v in pilot.variants)],
            pilot.metrics if metrics is None else metrics,
            window_us=pilot.attribution_window_days * US_PER_DAY,
            as_of_us=to_us(as_of),
        )
    return record, agg


def compute_results(
    engine: Engine, key: str, as_of: datetime, options: Options = Options()
) -> Results:
    record, agg = aggregate(engine, key, as_of)
    return analyse(record, agg, as_of, options)
