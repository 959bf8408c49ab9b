"""Guardrail verdicts of a pilot's variants (:mod:`stats.guardrail`), as the API reports them.

Each guardrail metric is judged per variant by its declared rule — a relative non-inferiority
``margin`` or, for a metric that is structurally zero in the holdout, an absolute ``max_rate``
— at the Bonferroni-corrected one-sided level ``α / guardrails``; one without either gets
:data:`stats.guardrail.DEFAULT_MARGIN`. Also reported: how many customers the pilot needs for
the guardrail to be shown non-inferior if nothing is harmed.
"""

from __future__ import annotations

from typing import TypedDict

from service.results.present import struct_from
from service.results.settings import IntervalSettings
from service.schema import Guardrail, Metric, Pilot
from stats import CovariateSample
from stats.guardrail import (
    DEFAULT_MARGIN,
    Direction,
    GuardrailKind,
    GuardrailVerdict,
    guardrail_sample_size,
    guardrail_verdict,
)

__all__ = ["judge", "present"]


class _Rule(TypedDict):
    """How a guardrail metric is judged; its verdict and the customers it needs share it."""

    kind: GuardrailKind
    direction: Direction
    margin: float | None
    max_rate: float | None
    alpha: float
    guardrails: int


def _rule(pilot: Pilot, metric: Metric) -> _Rule:
    """The metric's declared rule (:data:`DEFAULT_MARGIN` when it declares neither) at the
    pilot's level, split over the pilot's guardrails."""
    margin = metric.margin
    if margin is None and metric.max_rate is None:
        margin = DEFAULT_MARGIN
    return _Rule(
        kind="mean" if metric.kind == "sum" else metric.kind,
        direction=metric.direction,
        margin=margin,
        max_rate=metric.max_rate,
        alpha=pilot.alpha,
        guardrails=sum(1 for m in pilot.metrics if m.guardrail),
    )


def judge(
    pilot: Pilot,
    metric: Metric,
    control: CovariateSample,
    treatment: CovariateSample,
    settings: IntervalSettings,
) -> GuardrailVerdict:
    return guardrail_verdict(control, treatment, **_rule(pilot, metric), **settings)


def _needed(pilot: Pilot, metric: Metric, control: CovariateSample) -> int | None:
    base = control.outcome
    try:
        plan = guardrail_sample_size(
            baseline=0.0 if metric.max_rate is not None else base.mean,
            sd=base.sd or None if metric.kind != "binary" else None,
            power=pilot.power,
            holdout_share=pilot.holdout_share,
            variants=len(pilot.variants),
            **_rule(pilot, metric),
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
    return struct_from(
        Guardrail, verdict, rate=rate, needed_customers=_needed(pilot, metric, control)
    )
