"""``POST /v1/analyze``: the statistics of results on per-arm sums computed elsewhere (a
warehouse). No storage is involved."""

from __future__ import annotations

from service.results import present
from service.schema import AnalyzeArm, AnalyzeRequest, AnalyzeResponse
from stats import CovariateSample, SampleMean, compare, holm, srm_check

__all__ = ["analyze_sums"]


def _arm(a: AnalyzeArm, *, with_covariate: bool) -> SampleMean | CovariateSample:
    outcome = SampleMean(a.n, a.sum, a.sum_squares)
    if not with_covariate or a.covariate_sum is None or a.covariate_sum_squares is None:
        return outcome
    return CovariateSample(
        outcome, SampleMean(a.n, a.covariate_sum, a.covariate_sum_squares), a.cross_sum or 0.0
    )


def analyze_sums(req: AnalyzeRequest) -> AnalyzeResponse:
    control = next(a for a in req.arms if a.group == req.control)
    variants = [a for a in req.arms if a.group != req.control]
    # CUPED only when every arm carries the covariate sums, as the contract says.
    every = all(a.cross_sum is not None for a in req.arms)
    results = [
        compare(
            _arm(control, with_covariate=every),
            _arm(v, with_covariate=every),
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
        present.comparison(
            c,
            p_adj,
            variant=v.group,
            metric=req.metric_kind,
            kind=req.metric_kind,
            treated_customers=v.n if req.metric_kind == "binary" else None,
        )
        for v, c, p_adj in zip(variants, results, adjusted)
    ]
    srm = None
    if req.expected_shares is not None:
        shares = {a.group: req.expected_shares[a.group] for a in req.arms}
        observed = {a.group: a.n for a in req.arms}
        srm = present.srm(
            srm_check(list(observed.values()), list(shares.values())), shares, observed
        )
    return AnalyzeResponse(comparisons=comparisons, srm=srm)
