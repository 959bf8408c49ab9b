"""``POST /v1/plan``: customers and days a proposed pilot needs (no storage involved)."""

from __future__ import annotations

from service.errors import InvalidInput
from service.results import present
from service.schema import PlanRequest, PlanResponse
from stats import plan_pilot

__all__ = ["plan"]


def plan(req: PlanRequest) -> PlanResponse:
    """The fixed-horizon plan; inputs no plan can serve answer 422 with the reason."""
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
    return present.plan(p, mean_metric=req.sd is not None)
