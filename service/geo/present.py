"""The mapping from :mod:`stats.geo` results to the response Structs, field by field.

A TBR result becomes the same :class:`~service.schema.Comparison` a customer pilot reports:
``treatment_mean`` and ``control_mean`` are the treated regions' observed and counterfactual
*totals* over the test so far, so ``absolute_lift`` is the incremental KPI and
``relative_lift`` the incremental KPI over the counterfactual; the interval and the p-value
are TBR's calibrated predictive ones (``test`` is ``tbr``, ``method`` fixed-horizon).

The pre-period fit and the daily series need no mapping: :class:`stats.geo.GeoFit` and
:class:`stats.geo.GeoDay` are the response types themselves.
"""

from __future__ import annotations

import math
from typing import Any, cast

import stats
import stats.geo as stats_geo
from service import schema
from service.results import present
from service.schema import GeoMissing, GeoPlacebo, Metric
from service.schema.common import Direction
from stats.comparison import TestName

__all__ = [
    "comparison",
    "evidence_comparison",
    "missing_out",
    "missing_problems",
    "placebo_out",
]


def placebo_out(c: stats_geo.DesignCandidate) -> GeoPlacebo:
    rms = c.placebo_rms_z
    return GeoPlacebo(
        windows=c.placebo_windows,
        significant=c.placebo_significant,
        rms_z=rms if rms is not None and math.isfinite(rms) else None,
    )


def missing_out(check: stats_geo.PanelCheck | None) -> list[GeoMissing]:
    if check is None:
        return []
    return [GeoMissing(geo=m.geo, series=m.series, days=list(m.days)) for m in check.missing]


def missing_problems(check: stats_geo.PanelCheck | None, field: str) -> list[dict[str, Any]]:
    """The ``extra`` of a 422: one entry per region with missing days (at most 100)."""
    return [
        {"field": field, "message": f"{m.geo}{' (spend)' if m.series == 'spend' else ''}:"
                                    f" no data on {stats_geo.format_days(m.days)}"}
        for m in (check.missing if check is not None else ())[:100]
    ]  # fmt: skip


# TBR is not one of stats.comparison's customer-level tests; the decision rules never read the
# test's name, the schema's Comparison accepts "tbr".
_TBR = cast(TestName, "tbr")


def evidence_comparison(r: stats_geo.TbrResult) -> stats.Comparison:
    """The TBR result as the :class:`stats.Comparison` the decision rules read."""
    if r.status != "ok" or r.incremental is None:
        return stats.Comparison(
            status="insufficient_data", message=r.message, control_mean=0.0,
            treatment_mean=0.0, absolute_lift=0.0, absolute_se=None, absolute_ci=None,
            relative_lift=None, relative_se=None, relative_ci=None, p_value=None, test=_TBR,
            alpha=r.alpha,
        )  # fmt: skip
    relative_status: Any = "ok"
    if r.relative_lift is None:
        relative_status = "nonpositive_baseline"
    elif r.relative_ci is None:
        relative_status = "unbounded"
    return stats.Comparison(
        status="ok",
        message=r.message,
        control_mean=r.counterfactual or 0.0,
        treatment_mean=r.observed or 0.0,
        absolute_lift=r.incremental,
        absolute_se=r.incremental_se,
        absolute_ci=r.incremental_ci,
        relative_lift=r.relative_lift,
        relative_se=None,
        relative_ci=r.relative_ci,
        p_value=r.p_value,
        test=_TBR,
        alpha=r.alpha,
        method="fixed",
        relative_status=relative_status,
    )


def comparison(
    c: stats.Comparison, *, variant: str, metric: Metric, direction: Direction
) -> schema.Comparison:
    """The comparison as the API reports it; a count metric's incremental KPI is also its
    incremental conversions."""
    counted = metric.kind == "count"
    return present.comparison(
        c,
        c.p_value,
        variant=variant,
        metric=metric.key,
        kind=metric.kind,
        direction=direction,
        treated_customers=1 if counted else None,
        exposure_rate=0.0,
        exposure_rate_lift=None,
    )
