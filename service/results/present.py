"""The one mapping from :mod:`stats` results to the response Structs of :mod:`service.schema`.

Results of a stored pilot and ``/v1/analyze`` on posted sums answer with the same types; both
build them here, field by field, so a number means the same thing wherever it appears.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import stats
from service import schema
from service.schema.common import Direction
from service.schema.results import ComparisonKind

__all__ = ["comparison", "decision", "plan", "srm"]


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def comparison(
    c: stats.Comparison,
    p_adjusted: float | None,
    *,
    variant: str,
    metric: str,
    kind: ComparisonKind,
    guardrail: schema.Guardrail | None = None,
    direction: Direction = "increase",
    treated_customers: int | None = None,
    exposure_rate: float = 0.0,
    exposure_rate_lift: float | None = None,
) -> schema.Comparison:
    """A comparison as the API reports it.

    ``treated_customers`` turns the per-customer lift into incremental conversions (counting
    metrics only); ``exposure_rate_lift`` (variant minus holdout exposure rate) gives the lift
    among reached customers.
    """
    rate = exposure_rate_lift
    return schema.Comparison(
        variant=variant,
        metric=metric,
        kind=kind,
        guardrail=guardrail,
        direction=direction,
        status=c.status,
        message=c.message,
        control_mean=c.control_mean,
        treatment_mean=c.treatment_mean,
        absolute_lift=c.absolute_lift,
        absolute_se=c.absolute_se,
        absolute_ci=c.absolute_ci,
        relative_lift=_finite(c.relative_lift),
        relative_se=c.relative_se,
        relative_status=c.relative_status,
        relative_ci=c.relative_ci,
        p_value=c.p_value,
        p_value_adjusted=p_adjusted,
        significant=p_adjusted is not None and p_adjusted < c.alpha,
        cuped=c.cuped,
        variance_reduction=c.variance_reduction,
        method=c.method,
        test=c.test,
        incremental_conversions=(
            c.absolute_lift * treated_customers if treated_customers is not None else None
        ),
        incremental_conversions_ci=(
            stats.scale_interval(c.absolute_ci, treated_customers)
            if treated_customers is not None
            else None
        ),
        exposure_rate=exposure_rate,
        lift_among_exposed=(
            stats.lift_among_exposed(c.absolute_lift, rate) if rate is not None else None
        ),
        lift_among_exposed_ci=(
            stats.scale_interval(c.absolute_ci, 1 / rate) if rate is not None and rate > 0 else None
        ),
    )


def srm(
    result: stats.SrmResult, expected_shares: Mapping[str, float], observed: Mapping[str, int]
) -> schema.Srm:
    return schema.Srm(
        p_value=result.p_value,
        chi2=result.chi2,
        ok=result.ok,
        message=result.message,
        expected_shares=dict(expected_shares),
        observed=dict(observed),
    )


def decision(d: stats.Decision) -> schema.Decision:
    return schema.Decision(
        action=d.action,
        reasons=d.reasons,
        variants=[
            schema.VariantDecision(variant=v.variant, action=v.action, reasons=v.reasons)
            for v in d.variants
        ],
        variant_actions=dict(d.variant_actions),
        needed_customers=d.needed_customers,
        needed_days=d.needed_days,
    )


def plan(
    p: stats.Plan, *, mean_metric: bool, method: stats.Method = "fixed", looks: int = 1,
    factor: float = 1.0,
) -> schema.PlanResponse:  # fmt: skip
    return schema.PlanResponse(
        metric_kind="mean" if mean_metric else "binary",
        effect_size=p.effect_size,
        holdout_customers=p.holdout_customers,
        customers_per_variant=p.customers_per_variant,
        total_customers=p.total_customers,
        days=p.days,
        alpha_per_comparison=p.alpha_per_comparison,
        method=method,
        looks=looks,
        inflation_factor=factor,
    )
