"""``POST /v1/analyze`` and ``POST /v1/plan``: statistics on numbers posted by the caller."""

from __future__ import annotations

from litestar import post
from litestar.status_codes import HTTP_200_OK

from service.errors import InvalidInput
from service.results.posted import analyze_posted
from service.schema import AnalyzeRequest, AnalyzeResponse, PlanRequest, PlanResponse
from stats import plan_pilot


@post(
    "/v1/analyze",
    operation_id="analyzeSums",
    tags=["analysis"],
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    opt={"scope": "read"},
)
def analyze(data: AnalyzeRequest) -> AnalyzeResponse:
    """Comparisons (and SRM) for per-arm sums computed elsewhere, e.g. in a warehouse."""
    return analyze_posted(data)


@post("/v1/plan", operation_id="planPilot", tags=["analysis"], status_code=HTTP_200_OK,
      sync_to_thread=False, opt={"scope": "read"})  # fmt: skip
def plan(data: PlanRequest) -> PlanResponse:
    """Customers per arm, in total, and days needed to detect ``min_lift`` with ``power``."""
    try:
        p = plan_pilot(
            baseline=data.baseline,
            min_lift=data.min_lift,
            alpha=data.alpha,
            power=data.power,
            holdout_share=data.holdout_share,
            variants=data.variants,
            daily_customers=data.daily_customers,
            sd=data.sd,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return PlanResponse(
        metric_kind="binary" if data.sd is None else "mean",
        effect_size=p.effect_size,
        holdout_customers=p.holdout_customers,
        customers_per_variant=p.customers_per_variant,
        total_customers=p.total_customers,
        days=p.days,
        alpha_per_comparison=p.alpha_per_comparison,
    )
