"""Results of a pilot: intention-to-treat comparisons of every variant with the holdout.

Aggregates come from SQL (:mod:`service.storage.aggregates`); the numbers come from
:mod:`stats`. Everyone *assigned* counts, delivered or not: that is the unbiased effect of
running the channel. Exposures give the delivery rate, the lift among reached customers and the
cost.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import Engine

from service.pilots import PilotRecord, load_pilot
from service.schema import (
    Arm,
    ArmMetric,
    ComparisonOut,
    Metric,
    Pilot,
    Results,
    RevenueOut,
    SrmOut,
)
from service.storage.aggregates import ArmAggregate, PilotAggregate, aggregate_pilot
from service.storage.sql import read_transaction
from service.timeutil import US_PER_DAY, to_us
from stats import MetricKind, SampleMean, compare, incremental_roi, lift_among_exposed, srm_check

__all__ = ["compute_results", "expected_shares"]

HOLDOUT = "holdout"


def expected_shares(pilot: Pilot) -> dict[str, float]:
    total = sum(v.weight for v in pilot.variants)
    shares = {HOLDOUT: pilot.holdout_share}
    for v in pilot.variants:
        shares[v.key] = (1 - pilot.holdout_share) * v.weight / total
    return shares


def _sample(arm: ArmAggregate, metric: Metric) -> SampleMean:
    sums = arm.metrics[metric.key]
    return SampleMean(arm.customers, sums.sum, sums.sum_squares)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _arm_out(arm: ArmAggregate, metrics: list[Metric]) -> Arm:
    out = {}
    for m in metrics:
        s = _sample(arm, m)
        out[m.key] = ArmMetric(mean=s.mean, sd=s.sd, total=s.sum)
    return Arm(
        group=arm.group,
        customers=arm.customers,
        exposed=arm.exposed,
        exposures=arm.exposures,
        metrics=out,
    )


def _comparison(
    pilot: Pilot, metric: Metric, control: ArmAggregate, treatment: ArmAggregate
) -> ComparisonOut:
    kind: MetricKind = "binary" if metric.kind == "binary" else "mean"
    c = compare(_sample(control, metric), _sample(treatment, metric), kind=kind, alpha=pilot.alpha)
    rate_t = treatment.exposed / treatment.customers if treatment.customers else 0.0
    rate_c = control.exposed / control.customers if control.customers else 0.0
    return ComparisonOut(
        variant=treatment.group,
        metric=metric.key,
        kind=metric.kind,
        guardrail=metric.guardrail,
        status=c.status,
        message=c.message,
        control_mean=c.control_mean,
        treatment_mean=c.treatment_mean,
        absolute_lift=c.absolute_lift,
        absolute_se=c.absolute_se,
        absolute_ci=c.absolute_ci,
        relative_lift=_finite(c.relative_lift),
        relative_ci=c.relative_ci,
        p_value=c.p_value,
        significant=c.p_value is not None and c.p_value < pilot.alpha,
        cuped=False,
        test=c.test,
        incremental_conversions=(
            c.absolute_lift * treatment.customers if metric.kind != "sum" else None
        ),
        exposure_rate=rate_t,
        lift_among_exposed=lift_among_exposed(c.absolute_lift, rate_t - rate_c),
    )


def _revenue(pilot: Pilot, agg: PilotAggregate) -> RevenueOut:
    costs = pilot.costs
    revenue_metric = next((m for m in pilot.metrics if m.kind == "sum" and not m.guardrail), None)
    incremental = None
    if revenue_metric is not None and HOLDOUT in agg.arms:
        control = _sample(agg.arms[HOLDOUT], revenue_metric)
        incremental = sum(
            (_sample(agg.arms[v.key], revenue_metric).mean - control.mean)
            * agg.arms[v.key].customers
            for v in pilot.variants
            if v.key in agg.arms and agg.arms[v.key].customers
        )
    roi = incremental_roi(
        incremental or 0.0,
        exposures=agg.total_exposures,
        per_exposure=costs.per_exposure if costs else 0.0,
        fixed=costs.fixed if costs else 0.0,
    )
    return RevenueOut(
        metric=revenue_metric.key if revenue_metric else None,
        incremental_revenue=incremental,
        cost=roi.cost,
        incremental_roi=roi.incremental_roi if incremental is not None else None,
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
    designed = {HOLDOUT, *(v.key for v in pilot.variants)}
    for group in sorted(set(agg.arms) - designed):
        warnings.append(f"Customers recorded in unknown group {group!r} are not compared.")
    return warnings


def analyse(record: PilotRecord, agg: PilotAggregate, as_of: datetime) -> Results:
    pilot = record.pilot
    srm = _srm(pilot, agg)
    control = agg.arms[HOLDOUT]
    comparisons = [
        _comparison(pilot, metric, control, agg.arms[variant.key])
        for metric in pilot.metrics
        for variant in pilot.variants
    ]
    ordered = [HOLDOUT, *(v.key for v in pilot.variants)]
    ordered += sorted(set(agg.arms) - set(ordered))
    return Results(
        experiment=pilot.key,
        status=pilot.status,
        as_of=as_of,
        method="fixed",
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        primary_metric=pilot.primary_metric,
        arms=[_arm_out(agg.arms[g], pilot.metrics) for g in ordered],
        comparisons=comparisons,
        revenue=_revenue(pilot, agg),
        srm=srm,
        warnings=_warnings(pilot, agg, srm),
    )


def compute_results(engine: Engine, key: str, as_of: datetime) -> Results:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        pilot = record.pilot
        agg = aggregate_pilot(
            conn,
            record.id,
            [HOLDOUT, *(v.key for v in pilot.variants)],
            pilot.metrics,
            window_us=pilot.attribution_window_days * US_PER_DAY,
            lookback_us=pilot.covariate_lookback_days * US_PER_DAY,
            as_of_us=to_us(as_of),
        )
    return analyse(record, agg, as_of)
