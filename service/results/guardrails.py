"""Guardrail verdicts of a pilot's variants (:mod:`stats.guardrail`), as the API reports them.

Each guardrail metric is judged per variant by its declared rule — a relative non-inferiority
``margin`` or, for a metric that is structurally zero in the holdout, an absolute ``max_rate``
— at the Bonferroni-corrected one-sided level ``α / guardrails``; one without either gets
:data:`stats.guardrail.DEFAULT_MARGIN`. Also reported: how many customers the pilot needs for
the guardrail to be shown non-inferior if nothing is harmed.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.schema import Guardrail, Metric, Pilot
from stats import CovariateSample, Method
from stats.guardrail import (
    DEFAULT_MARGIN,
    GuardrailKind,
    GuardrailVerdict,
    guardrail_sample_size,
    guardrail_verdict,
)

__all__ = ["judge", "present"]


def _kind(metric: Metric) -> GuardrailKind:
    return "mean" if metric.kind == "sum" else metric.kind


def judge(
    pilot: Pilot,
    metric: Metric,
    control: CovariateSample,
    treatment: CovariateSample,
    *,
    method: Method,
    planned_customers: float | None,
    cuped: bool,
    looks: Sequence[float] = (),
) -> GuardrailVerdict:
    guardrails = sum(1 for m in pilot.metrics if m.guardrail)
    margin = metric.margin
    if margin is None and metric.max_rate is None:
        margin = DEFAULT_MARGIN
    return guardrail_verdict(
        control,
        treatment,
        kind=_kind(metric),
        direction=metric.direction,
        margin=margin,
        max_rate=metric.max_rate,
        alpha=pilot.alpha,
        guardrails=guardrails,
        method=method,
        planned_customers=planned_customers,
        cuped=cuped,
        looks=looks,
    )


def _needed(pilot: Pilot, metric: Metric, control: CovariateSample) -> int | None:
    base = control.outcome
    margin = metric.margin
    if margin is None and metric.max_rate is None:
        margin = DEFAULT_MARGIN
    try:
        plan = guardrail_sample_size(
            baseline=0.0 if metric.max_rate is not None else base.mean,
            kind=_kind(metric),
            direction=metric.direction,
            margin=margin,
            max_rate=metric.max_rate,
            sd=base.sd or None if metric.kind != "binary" else None,
            alpha=pilot.alpha,
            guardrails=sum(1 for m in pilot.metrics if m.guardrail),
            power=pilot.power,
            holdout_share=pilot.holdout_share,
            variants=len(pilot.variants),
        )
    except ValueError:  # no baseline yet to plan from
        return None
    return plan.holdout_customers + len(pilot.variants) * plan.customers_per_variant


def present(
    pilot: Pilot, metric: Metric, verdict: GuardrailVerdict, control: CovariateSample,
    treatment: CovariateSample,
) -> Guardrail:  # fmt: skip
    rate = None
    if verdict.rule == "max_rate" and treatment.outcome.n:
        rate = treatment.outcome.mean
    return Guardrail(
        rule=verdict.rule,
        threshold=verdict.threshold,
        bound=verdict.bound,
        verdict=verdict.verdict,
        message=verdict.message,
        lower=verdict.lower,
        alpha=verdict.alpha,
        rate=rate,
        needed_customers=_needed(pilot, metric, control),
    )
