"""Results of a pilot: intention-to-treat comparisons of every variant with the holdout.

Aggregates come from one read (:mod:`.read`); the numbers come from :mod:`stats`. Everyone
*assigned* counts, delivered or not: that is the unbiased effect of running the channel.
Exposures give the delivery rate, the lift among reached customers and the cost. While a pilot
runs the default inference is group-sequential over the weekly reviews' looks (the published
reviews' information fractions, :attr:`Facts.looks`); once it stops it is fixed-horizon.
Guardrails get non-inferiority verdicts (:mod:`.guardrails`), every variant its money
(:mod:`.money`), and the decision weighs all of it per variant (:func:`stats.decide`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from service.pilots.costs import PilotCosts
from service.pilots.lifecycle import PilotRecord
from service.results import guardrails, money, present, quality
from service.results.settings import IntervalSettings
from service.schema import Arm, ArmMetric, Guardrail, Metric, Pilot, Results
from service.schema import Comparison as ComparisonOut
from service.schema.common import HOLDOUT, default_method
from service.storage.aggregates import ArmAggregate, PilotAggregate
from stats import (
    Comparison,
    Criteria,
    GuardrailEvidence,
    Method,
    MetricEvidence,
    MetricKind,
    VariantEvidence,
    compare,
    decide,
    holm,
)
from stats.guardrail import GuardrailVerdict

__all__ = [
    "CONVERSIONS",
    "Facts",
    "Options",
    "analyze",
    "metric_comparisons",
    "pilot_method",
    "primary_comparisons",
]

CONVERSIONS = "__conversions"
"""Key of the count of primary-metric events per arm, aggregated for the too-early rule."""


@dataclass(frozen=True, slots=True)
class Options:
    """How to analyse: inference method and CUPED; ``method=None`` picks by pilot status."""

    method: Method | None = None
    cuped: bool = True


@dataclass(frozen=True, slots=True)
class Facts:
    """What results need besides the aggregates: the earlier looks of the group-sequential
    design (published reviews) and the posted costs."""

    looks: tuple[float, ...] = ()
    costs: PilotCosts = money.NO_POSTED_COSTS


def pilot_method(pilot: Pilot, options: Options) -> Method:
    """The method asked for, else the default for the pilot's status."""
    return options.method or default_method(pilot.status)


def conversions_metric(pilot: Pilot) -> Metric:
    """A count of the primary metric's event: the conversions the too-early rule counts."""
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    return Metric(key=CONVERSIONS, event=primary.event, kind="count")


def _arm_out(arm: ArmAggregate, metrics: list[Metric]) -> Arm:
    out = {}
    for m in metrics:
        s = quality.sample(arm, m).outcome
        out[m.key] = ArmMetric(mean=s.mean, sd=s.sd, total=s.sum)
    return present.struct_from(Arm, arm, metrics=out)


@dataclass(frozen=True, slots=True)
class _Context:
    """Everything the per-comparison code needs besides the two arms."""

    pilot: Pilot
    agg: PilotAggregate
    method: Method
    cuped: bool
    planned_customers: int | None  # whole pilot; None → tighten at the current size
    looks: tuple[float, ...] = ()

    def planned_pair(self, variant: str) -> float | None:
        if self.planned_customers is None:
            return None
        shares = quality.expected_shares(self.pilot)
        return self.planned_customers * (shares[HOLDOUT] + shares.get(variant, 0.0))

    def settings(self, variant: str) -> IntervalSettings:
        """How ``variant``'s intervals against the holdout are drawn, on every metric."""
        return IntervalSettings(
            method=self.method,
            planned_customers=self.planned_pair(variant),
            cuped=self.cuped,
            looks=self.looks,
        )


def _context(
    pilot: Pilot, agg: PilotAggregate, as_of: datetime, options: Options, looks: tuple[float, ...]
) -> _Context:
    customers = sum(a.customers for a in agg.arms.values())
    days = quality.days_running(pilot, as_of)
    return _Context(
        pilot, agg, pilot_method(pilot, options), options.cuped,
        quality.planned_customers(pilot, customers, days), looks,
    )  # fmt: skip


def _comparison(
    ctx: _Context, metric: Metric, control: ArmAggregate, treatment: ArmAggregate
) -> Comparison:
    kind: MetricKind = "mean" if metric.kind == "sum" else metric.kind
    return compare(
        quality.sample(control, metric),
        quality.sample(treatment, metric),
        kind=kind,
        alpha=ctx.pilot.alpha,
        **ctx.settings(treatment.group),
    )


def metric_comparisons(ctx: _Context, metric: Metric) -> list[tuple[str, Comparison, float | None]]:
    """Every variant against the holdout on ``metric``, with Holm-adjusted p-values."""
    control = ctx.agg.arms[HOLDOUT]
    row = [
        (v.key, _comparison(ctx, metric, control, ctx.agg.arms[v.key])) for v in ctx.pilot.variants
    ]
    adjusted = holm([c.p_value for _, c in row])
    return [(variant, c, p_adj) for (variant, c), p_adj in zip(row, adjusted)]


def primary_comparisons(
    pilot: Pilot, agg: PilotAggregate, as_of: datetime, options: Options,
    looks: tuple[float, ...] = (),
) -> tuple[Method, list[tuple[str, Comparison, float | None]]]:  # fmt: skip
    """The primary metric's comparisons alone (the daily series needs nothing else)."""
    ctx = _context(pilot, agg, as_of, options, looks)
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    return ctx.method, metric_comparisons(ctx, primary)


def _guardrail_out(
    ctx: _Context, metric: Metric, treatment: ArmAggregate, verdict: GuardrailVerdict | None
) -> Guardrail | None:
    if verdict is None:
        return None
    control = quality.sample(ctx.agg.arms[HOLDOUT], metric)
    return guardrails.present(
        ctx.pilot, metric, verdict, control, quality.sample(treatment, metric)
    )


def _comparison_out(
    ctx: _Context,
    metric: Metric,
    c: Comparison,
    p_adjusted: float | None,
    treatment: ArmAggregate,
    verdict: GuardrailVerdict | None,
) -> ComparisonOut:
    control = ctx.agg.arms[HOLDOUT]
    rate_t = treatment.exposed / treatment.customers if treatment.customers else 0.0
    rate_c = control.exposed / control.customers if control.customers else 0.0
    return present.comparison(
        c,
        p_adjusted,
        variant=treatment.group,
        metric=metric.key,
        kind=metric.kind,
        guardrail=_guardrail_out(ctx, metric, treatment, verdict),
        direction=metric.direction,
        treated_customers=treatment.customers if metric.kind != "sum" else None,
        exposure_rate=rate_t,
        exposure_rate_lift=rate_t - rate_c,
    )


def _verdict(ctx: _Context, metric: Metric, variant: str) -> GuardrailVerdict:
    return guardrails.judge(
        ctx.pilot, metric, quality.sample(ctx.agg.arms[HOLDOUT], metric),
        quality.sample(ctx.agg.arms[variant], metric), ctx.settings(variant),
    )  # fmt: skip


def _conversions(agg: PilotAggregate, group: str) -> float:
    arm = agg.arms.get(group)
    sums = arm.metrics.get(CONVERSIONS) if arm is not None else None
    return sums.sum if sums is not None else float("inf")


def analyze(
    record: PilotRecord,
    agg: PilotAggregate,
    as_of: datetime,
    options: Options = Options(),
    facts: Facts = Facts(),
) -> Results:
    """The results of a pilot from its aggregates: pure computation, no storage."""
    pilot = record.pilot
    customers = sum(a.customers for a in agg.arms.values())
    days = quality.days_running(pilot, as_of)
    ctx = _context(pilot, agg, as_of, options, facts.looks)
    srm = quality.srm(pilot, agg)
    control = agg.arms[HOLDOUT]
    results: dict[tuple[str, str], Comparison] = {}
    comparisons: list[ComparisonOut] = []
    evidence: dict[tuple[str, str], MetricEvidence] = {}
    verdicts: dict[str, list[GuardrailEvidence]] = {v.key: [] for v in pilot.variants}
    for metric in pilot.metrics:
        for variant, c, p_adj in metric_comparisons(ctx, metric):
            verdict = _verdict(ctx, metric, variant) if metric.guardrail else None
            if verdict is not None:
                verdicts[variant].append(GuardrailEvidence(metric.key, verdict))
            results[(variant, metric.key)] = c
            evidence[(variant, metric.key)] = MetricEvidence(metric.key, c, p_adj, metric.direction)
            comparisons.append(_comparison_out(ctx, metric, c, p_adj, agg.arms[variant], verdict))
    revenue = money.revenue_of(
        pilot, agg, results, facts.costs,
        holdout_variance=_holdout_variance(pilot, control),
        inference=money.TotalInference(ctx.method, customers, ctx.planned_customers, ctx.looks),
    )  # fmt: skip
    by_variant = {m.variant: m for m in revenue.variants}
    decision = decide(
        [
            VariantEvidence(
                v.key,
                evidence[(v.key, pilot.primary_metric)],
                verdicts[v.key],
                by_variant[v.key].roi_verdict,
                by_variant[v.key].incremental_roi_ci,
                _conversions(agg, v.key),
            )
            for v in pilot.variants
        ],
        _criteria(pilot),
        srm_ok=srm.ok,
        srm_message=srm.message,
        holdout_customers=control.customers,
        holdout_exposed=control.exposed,
        holdout_conversions=_conversions(agg, HOLDOUT),
        days_running=days,
        customers=customers,
        planned_customers=quality.needed_customers(pilot, agg),
        daily_customers=customers / days if days >= 1 else None,
    )
    ordered = [HOLDOUT, *(v.key for v in pilot.variants)]
    ordered += sorted(set(agg.arms) - set(ordered))
    planned = ctx.planned_customers
    return Results(
        experiment=pilot.key,
        status=pilot.status,
        as_of=as_of,
        method=ctx.method,
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        primary_metric=pilot.primary_metric,
        arms=[_arm_out(agg.arms[g], pilot.metrics) for g in ordered],
        comparisons=comparisons,
        revenue=revenue,
        srm=srm,
        warnings=quality.warnings(pilot, agg, srm),
        decision=present.decision(decision),
        cuped=options.cuped,
        days_running=round(days, 3),
        planned_customers=planned,
        information_fraction=min(1.0, customers / planned) if planned else None,
        looks=list(ctx.looks),
    )


def _criteria(pilot: Pilot) -> Criteria:
    """The pilot's pre-registered criteria: it declares each under the name :mod:`stats` uses."""
    return Criteria(**{f.name: getattr(pilot, f.name) for f in fields(Criteria)})


def _holdout_variance(pilot: Pilot, control: ArmAggregate) -> float:
    """Variance of the holdout's mean revenue (the covariance the variants' totals share)."""
    metric = money.revenue_metric(pilot)
    if metric is None:
        return 0.0
    outcome = quality.sample(control, metric).outcome
    return outcome.variance / outcome.n if outcome.n else 0.0
