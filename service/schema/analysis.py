"""Statistics on numbers the caller posts: ``/v1/analyze`` (per-arm sums) and ``/v1/plan``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal

from msgspec import Meta

from service.schema.common import (
    HOLDOUT,
    FiniteValue,
    Label,
    Method,
    MinLift,
    Probability,
    Request,
    Response,
    Share,
)
from service.schema.results import Comparison, Srm
from stats.planning import Plan

__all__ = ["AnalyzeArm", "AnalyzeRequest", "AnalyzeResponse", "PlanRequest", "PlanResponse"]

SumOfSquares = Annotated[float, Meta(ge=0, le=1e18)]
AnalyzedKind = Literal["binary", "mean"]


class AnalyzeArm(Request):
    group: Label
    n: Annotated[int, Meta(ge=0, le=10**12)]
    sum: FiniteValue
    sum_squares: SumOfSquares
    covariate_sum: FiniteValue | None = None
    covariate_sum_squares: SumOfSquares | None = None
    cross_sum: Annotated[float, Meta(ge=-1e18, le=1e18)] | None = None


class AnalyzeRequest(Request):
    """Per-arm sums computed elsewhere (a warehouse); the same statistics as results."""

    metric_kind: AnalyzedKind
    arms: Annotated[list[AnalyzeArm], Meta(min_length=2, max_length=21)]
    control: Label = HOLDOUT
    alpha: Probability = 0.05
    method: Method = "fixed"
    cuped: bool = True
    min_lift: MinLift | None = None
    planned_customers: Annotated[int, Meta(ge=1)] | None = None
    expected_shares: dict[Label, Annotated[float, Meta(gt=0, le=1e6)]] | None = None
    looks: Annotated[list[Annotated[int, Meta(ge=1, le=10**12)]], Meta(max_length=50)] = []
    """Customers (in all arms) at each earlier look of the sequential method, oldest first."""

    def __post_init__(self) -> None:
        groups = [a.group for a in self.arms]
        if len(set(groups)) != len(groups):
            raise ValueError(f"arms: groups must be unique, got {groups}")
        if self.control not in groups:
            raise ValueError(f"control: {self.control!r} is not one of the arms {groups}")
        for a in self.arms:
            if self.metric_kind == "binary" and not 0 <= a.sum <= a.n:
                raise ValueError(f"arms: {a.group!r} has sum {a.sum} outside [0, n={a.n}]")
            covariate = (a.covariate_sum, a.covariate_sum_squares, a.cross_sum)
            if any(v is not None for v in covariate) and any(v is None for v in covariate):
                raise ValueError(
                    f"arms: {a.group!r} needs all of covariate_sum, covariate_sum_squares and"
                    " cross_sum, or none"
                )
        if self.expected_shares is not None and set(self.expected_shares) != set(groups):
            raise ValueError("expected_shares: must name exactly the arms' groups")
        if self.looks and (self.method != "sequential" or self.planned_customers is None):
            raise ValueError("looks: earlier looks need method 'sequential' and planned_customers")
        if any(b <= a for a, b in zip(self.looks, self.looks[1:])):
            raise ValueError("looks: the customers at earlier looks must increase")


class AnalyzeResponse(Response):
    comparisons: list[Comparison]
    srm: Srm | None


class PlanRequest(Request):
    baseline: Annotated[float, Meta(gt=0, le=1e12)]
    min_lift: MinLift
    alpha: Probability = 0.05
    power: Probability = 0.8
    holdout_share: Share = 0.5
    variants: Annotated[int, Meta(ge=1, le=20)] = 1
    daily_customers: Annotated[float, Meta(gt=0, le=1e10)] | None = None
    sd: Annotated[float, Meta(gt=0, le=1e12)] | None = None
    method: Method = "sequential"
    """The design to size for: ``sequential`` (group-sequential over ``looks`` weekly reviews,
    the default while a pilot runs), ``fixed`` or ``always_valid``."""
    looks: Annotated[int, Meta(ge=1, le=52)] = 4

    def __post_init__(self) -> None:
        if self.sd is None and not self.baseline * (1 + self.min_lift) < 1:
            raise ValueError(
                "baseline: a conversion rate and its lifted value must be below 1 (give 'sd'"
                " for a mean metric)"
            )


@dataclass(frozen=True, slots=True)
class PlanResponse(Plan):
    """:class:`stats.Plan` (the fixed-horizon sizes, first) as ``POST /v1/plan`` answers it:
    the sizes are those of ``method``'s design. A frozen dataclass, which msgspec encodes and
    decodes like a :class:`~service.schema.common.Response` (unknown fields ignored)."""

    method: Method = "fixed"
    looks: int = 1
    """Looks the size assumes (equally spaced: the weekly reviews)."""
    inflation_factor: float = 1.0
    """Customers of this design relative to the fixed-horizon test at the same power."""

    @classmethod
    def of(cls, plan: Plan, *, method: Method, looks: int, inflation_factor: float) -> PlanResponse:
        """``plan`` sized for ``method`` with ``looks`` looks."""
        sizes = {f.name: getattr(plan, f.name) for f in dataclasses.fields(Plan)}
        return cls(**sizes, method=method, looks=looks, inflation_factor=inflation_factor)
