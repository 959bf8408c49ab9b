"""What a pilot and each of its variants earned and cost: pure, from the comparisons.

Cost is known, not estimated: per variant ``per_exposure × its exposures`` plus its share of the
fixed cost and of posted cost rows (rows named for a variant go to it; the fixed cost and
unattributed rows are shared in proportion to exposures, or to customers before any exposure).
Incremental revenue is the revenue metric's ITT lift × the variant's customers, with the
comparison's own interval; profit, ROI, iROAS and cost per incremental conversion follow from
:func:`stats.profit.profit_check` at the comparison's critical value, so each money interval
agrees with the test it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.pilots.costs import PilotCosts
from service.results.present import struct_from
from service.schema import Metric, Pilot, Revenue, VariantMoney
from service.schema.common import HOLDOUT
from service.storage.aggregates import PilotAggregate
from stats import Comparison, Method, infer
from stats.profit import ProfitCheck, profit_check, roi_verdict

__all__ = [
    "NO_POSTED_COSTS",
    "TotalInference",
    "conversion_metric",
    "revenue_metric",
    "revenue_of",
]


NO_POSTED_COSTS = PilotCosts({}, 0.0, {})


@dataclass(frozen=True, slots=True)
class TotalInference:
    """How the pilot-level revenue interval is drawn: the comparisons' method at this look."""

    method: Method
    customers: int
    planned_customers: float | None
    looks: tuple[float, ...] = ()


def _variant_costs(pilot: Pilot, agg: PilotAggregate, posted: PilotCosts) -> dict[str, float]:
    keys = [v.key for v in pilot.variants]
    exposures = {k: agg.arms[k].exposures if k in agg.arms else 0 for k in keys}
    basis = exposures if sum(exposures.values()) else {
        k: agg.arms[k].customers if k in agg.arms else 0 for k in keys
    }  # fmt: skip
    total = sum(basis.values())
    share = {k: basis[k] / total if total else 1 / len(keys) for k in keys}
    costs = pilot.costs
    per_exposure = costs.per_exposure if costs else 0.0
    fixed = costs.fixed if costs else 0.0
    return {
        k: per_exposure * exposures[k]
        + (fixed + posted.shared) * share[k]
        + posted.by_variant.get(k, 0.0)
        for k in keys
    }


def _critical(c: Comparison) -> float | None:
    if c.absolute_ci is None or not c.absolute_se:
        return None
    return (c.absolute_ci[1] - c.absolute_ci[0]) / (2 * c.absolute_se)


def _variant_money(
    pilot: Pilot,
    variant: str,
    customers: int,
    cost: float,
    revenue: Comparison | None,
    conversions: Comparison | None,
) -> tuple[VariantMoney, ProfitCheck | None]:
    q = _critical(revenue) if revenue is not None else None
    if revenue is None or q is None or revenue.absolute_ci is None:
        return VariantMoney(variant=variant, cost=cost), None
    conv_ci = None
    if conversions is not None and conversions.absolute_ci is not None:
        conv_ci = (conversions.absolute_ci[0] * customers, conversions.absolute_ci[1] * customers)
    check = profit_check(
        revenue.absolute_lift * customers,
        cost=cost,
        revenue_ci=(revenue.absolute_ci[0] * customers, revenue.absolute_ci[1] * customers),
        revenue_se=(revenue.absolute_se or 0.0) * customers,
        margin_rate=pilot.margin_rate,
        incremental_conversions=(
            conversions.absolute_lift * customers if conv_ci is not None and conversions else None
        ),
        conversions_ci=conv_ci,
        conversions_se=(
            (conversions.absolute_se or 0.0) * customers if conv_ci and conversions else None
        ),
        alpha=pilot.alpha,
        critical_value=q,
    )
    verdict = roi_verdict(check.roi_ci, pilot.min_roi) if check.roi_ci is not None else None
    money = struct_from(
        VariantMoney,
        check,  # incremental revenue, profit and ROI, iROAS and its interval, P(profit)
        variant=variant,
        cost=cost,
        incremental_revenue_ci=check.revenue_ci,
        incremental_profit_ci=check.profit_ci,
        incremental_roi_ci=check.roi_ci,
        cost_per_incremental_conversion=check.cost_per_conversion,
        cost_per_incremental_conversion_ci=check.cost_per_conversion_ci,
        roi_verdict=verdict,
    )
    return money, check


def revenue_metric(pilot: Pilot) -> Metric | None:
    return next((m for m in pilot.metrics if m.kind == "sum" and not m.guardrail), None)


def conversion_metric(pilot: Pilot) -> Metric | None:
    """The metric whose incremental count prices a conversion: the primary when it counts."""
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    if primary.kind != "sum":
        return primary
    return next((m for m in pilot.metrics if m.kind != "sum" and not m.guardrail), None)


def revenue_of(
    pilot: Pilot,
    agg: PilotAggregate,
    results: Mapping[tuple[str, str], Comparison],
    posted: PilotCosts,
    *,
    holdout_variance: float,
    inference: TotalInference,
) -> Revenue:
    """The pilot's money: per variant, and in total with the shared holdout's covariance."""
    metric, counting = revenue_metric(pilot), conversion_metric(pilot)
    costs = _variant_costs(pilot, agg, posted)
    variants: list[VariantMoney] = []
    for v in pilot.variants:
        customers = agg.arms[v.key].customers if v.key in agg.arms else 0
        money, _ = _variant_money(
            pilot, v.key, customers, costs[v.key],
            results.get((v.key, metric.key)) if metric else None,
            results.get((v.key, counting.key)) if counting else None,
        )  # fmt: skip
        variants.append(money)
    total_cost = sum(costs.values())
    incremental, revenue_ci = _total_revenue(pilot, agg, results, metric, holdout_variance,
                                             inference)  # fmt: skip
    profit = profit_ci = roi = roi_ci = None
    if incremental is not None:
        profit = pilot.margin_rate * incremental - total_cost
        if revenue_ci is not None:
            profit_ci = (
                pilot.margin_rate * revenue_ci[0] - total_cost,
                pilot.margin_rate * revenue_ci[1] - total_cost,
            )
        if total_cost > 0:
            roi = profit / total_cost
            roi_ci = (profit_ci[0] / total_cost, profit_ci[1] / total_cost) if profit_ci else None
    return Revenue(
        metric=metric.key if metric else None,
        incremental_revenue=incremental,
        incremental_revenue_ci=revenue_ci,
        cost=total_cost,
        incremental_roi=roi,
        incremental_roi_ci=roi_ci,
        margin_rate=pilot.margin_rate,
        incremental_profit=profit,
        incremental_profit_ci=profit_ci,
        costs_by_kind=dict(posted.by_kind),
        variants=variants,
    )


def _total_revenue(
    pilot: Pilot,
    agg: PilotAggregate,
    results: Mapping[tuple[str, str], Comparison],
    metric: Metric | None,
    holdout_variance: float,
    inference: TotalInference,
) -> tuple[float | None, tuple[float, float] | None]:
    if metric is None or HOLDOUT not in agg.arms:
        return None, None
    parts: Sequence[tuple[int, Comparison]] = [
        (agg.arms[v.key].customers, results[(v.key, metric.key)]) for v in pilot.variants
    ]
    parts = [(n, c) for n, c in parts if c.absolute_se is not None]
    incremental = sum(n * c.absolute_lift for n, c in parts)
    if not parts:
        return incremental, None
    # Variants share the holdout: Cov(Δv, Δw) = Var(holdout mean).
    own = sum(n**2 * ((c.absolute_se or 0.0) ** 2 - holdout_variance) for n, c in parts)
    shared = sum(n for n, _ in parts) ** 2 * holdout_variance
    se = math.sqrt(max(own + shared, 0.0))
    if se <= 0:
        return incremental, None
    ci = infer(
        incremental, se, alpha=pilot.alpha, method=inference.method, n=inference.customers,
        planned_customers=inference.planned_customers, looks=inference.looks,
    ).ci  # fmt: skip
    return incremental, ci
