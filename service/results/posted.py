"""Analysis of posted sufficient statistics (``POST /v1/analyze``): no storage involved."""

from __future__ import annotations

from service.results.analyse import comparison_numbers
from service.schema import AnalyzeArm, AnalyzeRequest, AnalyzeResponse, ComparisonOut, SrmOut
from stats import CovariateSample, SampleMean, compare, holm, srm_check

__all__ = ["analyze_posted"]


def _arm(a: AnalyzeArm) -> SampleMean | CovariateSample:
    outcome = SampleMean(a.n, a.sum, a.sum_squares)
    if a.covariate_sum is None or a.covariate_sum_squares is None or a.cross_sum is None:
        return outcome
    return CovariateSample(
        outcome, SampleMean(a.n, a.covariate_sum, a.covariate_sum_squares), a.cross_sum
    )


def analyze_posted(req: AnalyzeRequest) -> AnalyzeResponse:
    control = next(a for a in req.arms if a.group == req.control)
    variants = [a for a in req.arms if a.group != req.control]
    # CUPED only when every arm carries the covariate sums, as the contract says.
    every = all(a.cross_sum is not None for a in req.arms)
    results = [
        compare(
            _arm(control) if every else SampleMean(control.n, control.sum, control.sum_squares),
            _arm(v) if every else SampleMean(v.n, v.sum, v.sum_squares),
            kind=req.metric_kind,
            alpha=req.alpha,
            method=req.method,
            planned_customers=req.planned_customers,
            cuped=req.cuped,
        )
        for v in variants
    ]
    adjusted = holm([c.p_value for c in results])
    comparisons = [
        ComparisonOut(
            variant=v.group,
            metric=req.metric_kind,
            kind=req.metric_kind,
            guardrail=False,
            **comparison_numbers(c, p_adj),
            incremental_conversions=c.absolute_lift * v.n if req.metric_kind == "binary" else None,
            incremental_conversions_ci=None,
            exposure_rate=0.0,
            lift_among_exposed=None,
            lift_among_exposed_ci=None,
        )
        for v, c, p_adj in zip(variants, results, adjusted)
    ]
    srm = None
    if req.expected_shares is not None:
        groups = [a.group for a in req.arms]
        s = srm_check([a.n for a in req.arms], [req.expected_shares[g] for g in groups])
        srm = SrmOut(
            p_value=s.p_value,
            chi2=s.chi2,
            ok=s.ok,
            message=s.message,
            expected_shares=dict(req.expected_shares),
            observed={a.group: a.n for a in req.arms},
        )
    return AnalyzeResponse(comparisons=comparisons, srm=srm)
