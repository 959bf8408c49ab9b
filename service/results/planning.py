"""``POST /v1/plan``: customers and days a proposed pilot needs (no storage involved)."""

from __future__ import annotations

import dataclasses
import math

from service.errors import InvalidInput
from service.schema import PlanRequest, PlanResponse
from stats import plan_pilot
from stats.group_sequential import inflation_factor

__all__ = ["plan"]


MAX_DAYS = 3650


def plan(req: PlanRequest) -> PlanResponse:
    """The plan for the requested design: the fixed-horizon size, times the group-sequential
    inflation factor for ``looks`` equally spaced looks (``sequential``; Jennison & Turnbull
    2000, ch. 2). The confidence sequence has no closed-form size; it is planned like the
    fixed test and says so. Inputs no plan can serve answer 422 with the reason."""
    try:
        p = plan_pilot(
            baseline=req.baseline,
            min_lift=req.min_lift,
            alpha=req.alpha,
            power=req.power,
            holdout_share=req.holdout_share,
            variants=req.variants,
            daily_customers=req.daily_customers,
            sd=req.sd,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    factor, looks = 1.0, 1
    if req.method == "sequential":
        looks = req.looks
        factor = inflation_factor(looks, p.alpha_per_comparison, req.power)
    sizes = [p.holdout_customers * factor, p.customers_per_variant * factor, p.total_customers]
    if not all(math.isfinite(x) for x in sizes) or p.total_customers * factor > 1e15:
        raise InvalidInput(
            "No finite plan exists for these inputs: the lift is too small to detect against"
            " this baseline and spread (or the numbers are out of range); raise min_lift or"
            " check baseline and sd."
        )
    holdout = math.ceil(p.holdout_customers * factor)
    per_variant = math.ceil(p.customers_per_variant * factor)
    total = max(math.ceil(p.total_customers * factor), holdout + req.variants * per_variant)
    days = math.ceil(total / req.daily_customers) if req.daily_customers else None
    if days is not None and days > MAX_DAYS:
        raise InvalidInput(
            f"The pilot would need {days:,} days at {req.daily_customers:,.0f} customers a day"
            f" (more than {MAX_DAYS:,}); raise min_lift, daily_customers or the variant share."
        )
    fitted = dataclasses.replace(
        p, holdout_customers=holdout, customers_per_variant=per_variant, total_customers=total,
        days=days,
    )  # fmt: skip
    return PlanResponse.of(fitted, method=req.method, looks=looks, inflation_factor=factor)
