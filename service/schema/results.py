"""Results of a pilot: arms, comparisons, revenue, sample-ratio check, decision, timeseries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from service.schema.common import Action, Direction, Interval, Method, PilotStatus, Response
from service.schema.geo import GeoTest
from service.schema.geo_results import GeoResults
from stats.comparison import ComparisonStatus, TestName
from stats.fieller import RelativeStatus

__all__ = [
    "Arm",
    "ArmMetric",
    "Comparison",
    "ComparisonKind",
    "Decision",
    "Guardrail",
    "Results",
    "Revenue",
    "Srm",
    "Timeseries",
    "TimeseriesPoint",
    "VariantDecision",
    "VariantMoney",
]

ComparisonKind = Literal["binary", "count", "sum", "mean"]
"""A pilot metric's kind, or ``binary`` / ``mean`` for sums posted to ``/v1/analyze``."""


class ArmMetric(Response):
    mean: float
    sd: float
    total: float


class Arm(Response):
    group: str
    customers: int
    exposed: int
    exposures: int
    metrics: dict[str, ArmMetric]


class Guardrail(Response):
    """A guardrail's verdict for one variant: ``bound`` is the one-sided upper confidence bound
    of harm (relative harm for ``relative_margin``, the variant's rate for ``max_rate``) at the
    Bonferroni-corrected level ``alpha``; ``harmed`` when the whole interval lies beyond the
    threshold, ``non_inferior`` when the bound is within it."""

    rule: Literal["relative_margin", "max_rate"]
    threshold: float
    bound: float | None
    verdict: Literal["non_inferior", "harmed", "inconclusive"]
    message: str
    lower: float | None = None
    alpha: float = 0.05
    rate: float | None = None
    needed_customers: int | None = None


class Comparison(Response):
    """One variant against the holdout on one metric; ``None`` marks an undefined number.
    ``guardrail`` is the verdict of a guardrail metric, ``None`` for other metrics."""

    variant: str
    metric: str
    kind: ComparisonKind
    guardrail: Guardrail | None
    status: ComparisonStatus
    message: str | None
    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_se: float | None
    absolute_ci: Interval | None
    relative_lift: float | None
    relative_ci: Interval | None
    p_value: float | None
    p_value_adjusted: float | None
    significant: bool
    cuped: bool
    variance_reduction: float | None
    method: Method
    test: TestName | GeoTest
    incremental_conversions: float | None
    incremental_conversions_ci: Interval | None
    exposure_rate: float
    lift_among_exposed: float | None
    lift_among_exposed_ci: Interval | None
    direction: Direction = "increase"
    relative_se: float | None = None
    relative_status: RelativeStatus = "ok"


class VariantMoney(Response):
    """What one variant earned and cost: incremental profit = margin_rate × incremental revenue
    − cost; ROI = profit / cost; iROAS = incremental revenue / cost."""

    variant: str
    cost: float
    incremental_revenue: float | None = None
    incremental_revenue_ci: Interval | None = None
    incremental_profit: float | None = None
    incremental_profit_ci: Interval | None = None
    probability_profitable: float | None = None
    incremental_roi: float | None = None
    incremental_roi_ci: Interval | None = None
    iroas: float | None = None
    iroas_ci: Interval | None = None
    cost_per_incremental_conversion: float | None = None
    cost_per_incremental_conversion_ci: Interval | None = None
    roi_verdict: Literal["meets", "below", "inconclusive"] | None = None


class Revenue(Response):
    metric: str | None
    incremental_revenue: float | None
    cost: float
    incremental_roi: float | None
    incremental_revenue_ci: Interval | None = None
    incremental_roi_ci: Interval | None = None
    margin_rate: float = 1.0
    incremental_profit: float | None = None
    incremental_profit_ci: Interval | None = None
    costs_by_kind: dict[str, float] = {}
    variants: list[VariantMoney] = []


class VariantDecision(Response):
    variant: str
    action: Action
    reasons: list[str]


class Decision(Response):
    """``scale`` / ``stop`` / ``continue`` / ``check_data`` with reasons as sentences; the first
    reason names each variant's call, and ``variants`` holds them one by one."""

    action: Action
    reasons: list[str]
    variants: list[VariantDecision] = []
    variant_actions: dict[str, Action] = {}
    needed_customers: int | None = None
    needed_days: int | None = None


class Srm(Response):
    """The sample-ratio check: observed customers per group against the designed shares."""

    p_value: float | None
    chi2: float | None
    ok: bool
    message: str | None
    expected_shares: dict[str, float]
    observed: dict[str, int]


class Results(Response):
    experiment: str
    status: PilotStatus
    as_of: datetime
    method: Method
    alpha: float
    min_lift: float
    primary_metric: str
    arms: list[Arm]
    comparisons: list[Comparison]
    revenue: Revenue
    srm: Srm
    warnings: list[str]
    decision: Decision
    cuped: bool = True
    days_running: float = 0.0
    planned_customers: int | None = None
    information_fraction: float | None = None
    """Customers as a share of those planned: where this look stands in the group-sequential
    design (``None`` before the first day)."""
    looks: list[float] = []
    """Information fractions of the earlier looks that counted (published reviews)."""
    geo: GeoResults | None = None
    """A geo pilot's regions, daily observed vs counterfactual series and iROAS (``unit`` geo)."""


class TimeseriesPoint(Response):
    date: str
    as_of: datetime
    variant: str
    customers: int
    absolute_lift: float | None
    absolute_ci: Interval | None
    relative_lift: float | None
    relative_ci: Interval | None
    p_value: float | None


class Timeseries(Response):
    experiment: str
    metric: str
    method: Method
    points: list[TimeseriesPoint]
