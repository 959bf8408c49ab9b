"""Results of a pilot: arms, comparisons, revenue, sample-ratio check, decision, timeseries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from service.schema.common import Action, Direction, Interval, Method, PilotStatus, Response
from stats.comparison import ComparisonStatus

__all__ = [
    "Arm",
    "ArmMetric",
    "Comparison",
    "ComparisonKind",
    "Decision",
    "Results",
    "Revenue",
    "Srm",
    "Timeseries",
    "TimeseriesPoint",
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


class Comparison(Response):
    """One variant against the holdout on one metric; ``None`` marks an undefined number."""

    variant: str
    metric: str
    kind: ComparisonKind
    guardrail: bool
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
    test: Literal["welch_t", "sequential"]
    incremental_conversions: float | None
    incremental_conversions_ci: Interval | None
    exposure_rate: float
    lift_among_exposed: float | None
    lift_among_exposed_ci: Interval | None
    direction: Direction = "increase"
    relative_se: float | None = None


class Revenue(Response):
    metric: str | None
    incremental_revenue: float | None
    cost: float
    incremental_roi: float | None
    incremental_revenue_ci: Interval | None = None
    incremental_roi_ci: Interval | None = None


class Decision(Response):
    """``scale`` / ``stop`` / ``continue`` / ``check_data`` with reasons as sentences."""

    action: Action
    reasons: list[str]
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
