"""The one mapping from :mod:`stats` results to the response Structs of :mod:`service.schema`.

Results of a stored pilot and ``/v1/analyze`` on posted sums answer with the same types; both
build them here, so a number means the same thing wherever it appears: a field the stats result
and the response name alike is copied (:func:`struct_from`), the rest is set here by name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

import stats
from service import schema
from service.schema.common import Direction
from service.schema.results import ComparisonKind

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["comparison", "decision", "srm", "struct_from"]

S = TypeVar("S", bound=msgspec.Struct)


def struct_from(out: type[S], source: DataclassInstance | msgspec.Struct, **given: Any) -> S:
    """``out`` with every field of ``source`` that it names alike, and ``given`` (which wins).

    A :mod:`stats` result (or a stored aggregate, or the pilot) and the response Struct built
    from it use one name for one number, so the fields they share are copied by name instead of
    being listed twice; ``given`` holds what the response adds, renames or shows differently.
    """
    if isinstance(source, msgspec.Struct):
        names = source.__struct_fields__
    else:
        names = tuple(f.name for f in dataclasses.fields(source))
    wanted = set(out.__struct_fields__).difference(given)
    return out(**{n: getattr(source, n) for n in names if n in wanted}, **given)


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
    return struct_from(
        schema.Comparison,
        c,
        variant=variant,
        metric=metric,
        kind=kind,
        guardrail=guardrail,
        direction=direction,
        relative_lift=_finite(c.relative_lift),
        p_value_adjusted=p_adjusted,
        significant=p_adjusted is not None and p_adjusted < c.alpha,
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
    return struct_from(
        schema.Srm, result, expected_shares=dict(expected_shares), observed=dict(observed)
    )


def decision(d: stats.Decision) -> schema.Decision:
    return struct_from(
        schema.Decision,
        d,
        variants=[struct_from(schema.VariantDecision, v) for v in d.variants],
        variant_actions=dict(d.variant_actions),
    )
