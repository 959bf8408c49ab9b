"""``POST /v1/analyze``: the statistics of results on per-arm sums computed elsewhere (a
warehouse). No storage is involved."""

from __future__ import annotations

from service.errors import InvalidInput
from service.results import present
from service.results.settings import IntervalSettings
from service.schema import AnalyzeArm, AnalyzeRequest, AnalyzeResponse
from stats import CovariateSample, SampleMean, compare, holm, srm_check
from stats.validity import check_sufficient

__all__ = ["analyze_sums"]


def _arm(a: AnalyzeArm, *, with_covariate: bool) -> SampleMean | CovariateSample:
    outcome = SampleMean(a.n, a.sum, a.sum_squares)
    if not with_covariate or a.covariate_sum is None or a.covariate_sum_squares is None:
        return outcome
    return CovariateSample(
        outcome, SampleMean(a.n, a.covariate_sum, a.covariate_sum_squares), a.cross_sum or 0.0
    )


def _check(req: AnalyzeRequest) -> None:
    """Refuse sums that no data could produce, naming the arm and the rule (a clipped negative
    variance would otherwise come back as a confident, wrong lift)."""
    sentences = [
        (i, f"arm {a.group!r}: {sentence}")
        for i, a in enumerate(req.arms)
        for sentence in check_sufficient(
            a.n,
            a.sum,
            a.sum_squares,
            binary=req.metric_kind == "binary",
            covariate_sum=a.covariate_sum,
            covariate_sum_squares=a.covariate_sum_squares,
            cross_sum=a.cross_sum,
        )
    ]
    if sentences:
        raise InvalidInput(
            "No data can produce these sums: " + " ".join(s for _, s in sentences),
            extra=[{"index": i, "field": "arms", "message": s} for i, s in sentences],
        )


def analyze_sums(req: AnalyzeRequest) -> AnalyzeResponse:
    _check(req)
    settings = IntervalSettings(
        method=req.method,
        planned_customers=req.planned_customers,
        cuped=req.cuped,
        looks=[n / req.planned_customers for n in req.looks] if req.planned_customers else [],
    )
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
            **settings,
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
