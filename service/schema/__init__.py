"""Request and response types of the HTTP API, as msgspec Structs.

This module imports msgspec and nothing from Litestar, so the notebook client in
``jupyter_ext`` decodes responses with exactly these types.

Two bases:

* :class:`Request` forbids unknown fields: a typo such as ``holdout_shre`` is rejected at the
  boundary with a message naming the field instead of silently taking a default.
* :class:`Response` tolerates unknown fields, so an older client keeps working when the service
  adds a field.

Constraints are reusable ``Annotated[..., Meta(...)]`` aliases; cross-field rules live in
``__post_init__`` (msgspec turns a ``ValueError`` there into a validation error).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "DEFAULT_METRICS",
    "AnalyzeArm",
    "AnalyzeRequest",
    "AnalyzeResponse",
    "ApiKeyInfo",
    "Arm",
    "ArmMetric",
    "AssignmentImport",
    "AssignmentImportResult",
    "AssignmentRequest",
    "AssignmentResponse",
    "AuditEntry",
    "AuditLog",
    "ComparisonOut",
    "Conclusion",
    "Conversion",
    "Costs",
    "CustomerAssignment",
    "DecisionLog",
    "DecisionOut",
    "DecisionRecord",
    "Erasure",
    "Event",
    "EventBatch",
    "Exposure",
    "ImportedAssignment",
    "IngestResult",
    "Metric",
    "Pilot",
    "PilotCreate",
    "PilotList",
    "PilotPatch",
    "PilotReview",
    "PlanRequest",
    "PlanResponse",
    "PublishRequest",
    "RecordedAssignment",
    "ReportInfo",
    "ReportList",
    "ReportSnapshot",
    "ReportSummary",
    "Results",
    "RevenueOut",
    "Scope",
    "SrmOut",
    "Timeseries",
    "TimeseriesPoint",
    "Variant",
    "WeeklyReport",
]

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
RESERVED_GROUPS = frozenset({"holdout", "not_in_pilot"})

PilotKey = Annotated[str, Meta(pattern=KEY_PATTERN, description="[a-z0-9][a-z0-9_-]{0,63}")]
Share = Annotated[float, Meta(gt=0, lt=1)]
Traffic = Annotated[float, Meta(gt=0, le=1)]
Probability = Annotated[float, Meta(gt=0, lt=1)]
PositiveWeight = Annotated[float, Meta(gt=0)]
Money = Annotated[float, Meta(ge=0)]
Days = Annotated[int, Meta(ge=1, le=3650)]
LookbackDays = Annotated[int, Meta(ge=0, le=3650)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=5000)]
Label = Annotated[str, Meta(min_length=1, max_length=64)]
CustomerId = Annotated[str, Meta(min_length=1, max_length=128)]
EventId = Annotated[str, Meta(min_length=1, max_length=128)]
AwareTime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a zone")]
FiniteValue = Annotated[float, Meta(ge=-1e12, le=1e12)]

PilotStatus = Literal["draft", "running", "stopped", "concluded"]
MetricKindName = Literal["binary", "count", "sum"]


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are errors, all fields are keywords."""


class Response(msgspec.Struct, kw_only=True):
    """Base of every response body: unknown fields are ignored when a client decodes."""


# --- pilots -------------------------------------------------------------------------------


class Variant(Request):
    key: PilotKey
    weight: PositiveWeight = 1.0


class Metric(Request):
    """A metric over conversion events named ``event`` inside the attribution window.

    ``binary``: 1 if the customer had any such event; ``count``: how many; ``sum``: the sum of
    their ``value``. ``direction`` is the good direction.
    """

    key: PilotKey
    event: Label
    kind: MetricKindName
    guardrail: bool = False
    direction: Literal["increase", "decrease"] = "increase"


DEFAULT_METRICS = (
    Metric(key="conversions", event="conversion", kind="binary"),
    Metric(key="revenue", event="conversion", kind="sum"),
)


class Costs(Request):
    per_exposure: Money = 0.0
    fixed: Money = 0.0


def _check_design(
    variants: list[Variant], metrics: list[Metric], primary_metric: str | None
) -> None:
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        raise ValueError(f"variants: keys must be unique, got {keys}")
    reserved = RESERVED_GROUPS.intersection(keys)
    if reserved:
        raise ValueError(
            f"variants: {sorted(reserved)[0]!r} is a reserved group name, not a variant key"
        )
    mkeys = [m.key for m in metrics]
    if len(set(mkeys)) != len(mkeys):
        raise ValueError(f"metrics: keys must be unique, got {mkeys}")
    if primary_metric is not None and primary_metric not in mkeys:
        raise ValueError(f"primary_metric: {primary_metric!r} is not one of the metrics {mkeys}")
    if primary_metric is not None and any(m.guardrail for m in metrics if m.key == primary_metric):
        raise ValueError(f"primary_metric: {primary_metric!r} cannot be a guardrail")


class PilotCreate(Request, kw_only=True):
    """A pilot as its owner declares it; statistics-deciding fields freeze at start."""

    key: PilotKey
    name: Name
    channel: Label
    hypothesis: Text = ""
    owner: Annotated[str, Meta(max_length=200)] | None = None
    holdout_share: Share
    variants: Annotated[list[Variant], Meta(min_length=1, max_length=20)]
    traffic: Traffic = 1.0
    layer: PilotKey | None = None
    salt: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    metrics: Annotated[list[Metric], Meta(min_length=1, max_length=50)] | None = None
    primary_metric: PilotKey | None = None
    min_lift: Annotated[float, Meta(gt=0, le=100)]
    alpha: Probability = 0.05
    power: Probability = 0.8
    attribution_window_days: Days = 30
    covariate_lookback_days: LookbackDays = 30
    planned_duration_days: Days = 14
    min_duration_days: Annotated[int, Meta(ge=0, le=3650)] = 7
    costs: Costs | None = None

    def __post_init__(self) -> None:
        if self.metrics is None:
            self.metrics = list(DEFAULT_METRICS)
            if self.primary_metric is None:
                self.primary_metric = "conversions"
        if self.primary_metric is None:
            first = next((m for m in self.metrics if not m.guardrail), None)
            if first is None:
                raise ValueError("metrics: at least one metric must not be a guardrail")
            self.primary_metric = first.key
        _check_design(self.variants, self.metrics, self.primary_metric)


class PilotPatch(Request):
    """Fields to change. In ``draft`` anything; once running only the descriptive fields,
    ``costs`` and an increase of ``traffic``."""

    name: Name | UnsetType = UNSET
    channel: Label | UnsetType = UNSET
    hypothesis: Text | UnsetType = UNSET
    owner: Annotated[str, Meta(max_length=200)] | UnsetType | None = UNSET
    holdout_share: Share | UnsetType = UNSET
    variants: Annotated[list[Variant], Meta(min_length=1, max_length=20)] | UnsetType = UNSET
    traffic: Traffic | UnsetType = UNSET
    layer: PilotKey | UnsetType | None = UNSET
    salt: Annotated[str, Meta(min_length=1, max_length=128)] | UnsetType = UNSET
    metrics: Annotated[list[Metric], Meta(min_length=1, max_length=50)] | UnsetType = UNSET
    primary_metric: PilotKey | UnsetType = UNSET
    min_lift: Annotated[float, Meta(gt=0, le=100)] | UnsetType = UNSET
    alpha: Probability | UnsetType = UNSET
    power: Probability | UnsetType = UNSET
    attribution_window_days: Days | UnsetType = UNSET
    covariate_lookback_days: LookbackDays | UnsetType = UNSET
    planned_duration_days: Days | UnsetType = UNSET
    min_duration_days: Annotated[int, Meta(ge=0, le=3650)] | UnsetType = UNSET
    costs: Costs | UnsetType | None = UNSET


class Conclusion(Request):
    decision: Literal["scale", "stop"]
    note: Text = ""


class Pilot(Response, kw_only=True):
    """A stored pilot: the declared design plus its lifecycle."""

    key: str
    name: str
    channel: str
    hypothesis: str
    owner: str | None
    status: PilotStatus
    holdout_share: float
    variants: list[Variant]
    traffic: float
    layer: str | None
    salt: str
    metrics: list[Metric]
    primary_metric: str
    min_lift: float
    alpha: float
    power: float
    attribution_window_days: int
    covariate_lookback_days: int
    planned_duration_days: int
    costs: Costs | None
    created_at: datetime
    min_duration_days: int = 7
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    concluded_at: datetime | None = None
    decision: str | None = None
    decision_note: str | None = None
    layer_buckets: list[tuple[int, int]] = []


class PilotList(Response):
    experiments: list[Pilot]


# --- assignment ---------------------------------------------------------------------------


class AssignmentRequest(Request):
    customer_ids: Annotated[list[CustomerId], Meta(min_length=1, max_length=100_000)]


class CustomerAssignment(Response):
    customer_id: str
    group: str


class AssignmentResponse(Response):
    experiment: str
    assignments: list[CustomerAssignment]


class RecordedAssignment(Response):
    experiment: str
    customer_id: str
    group: str
    assigned_at: datetime
    source: Literal["hash", "import"]


class ImportedAssignment(Request):
    customer_id: CustomerId
    group: Label
    assigned_at: AwareTime


class AssignmentImport(Request):
    assignments: Annotated[list[ImportedAssignment], Meta(min_length=1, max_length=100_000)]


class AssignmentImportResult(Response):
    imported: int
    unchanged: int


# --- events -------------------------------------------------------------------------------


class Exposure(Request, tag_field="type", tag="exposure"):
    """The treatment of ``experiment`` was delivered to the customer."""

    id: EventId
    customer_id: CustomerId
    experiment: PilotKey
    ts: AwareTime


class Conversion(Request, tag_field="type", tag="conversion", kw_only=True):
    """A purchase (or other outcome); counts for every pilot the customer is assigned to."""

    id: EventId
    customer_id: CustomerId
    ts: AwareTime
    event: Label = "conversion"
    value: FiniteValue = 0.0
    experiment: PilotKey | None = None  # informational only: attribution is by assignment


Event = Exposure | Conversion


class EventBatch(Request):
    events: Annotated[list[Event], Meta(min_length=1, max_length=100_000)]


class IngestResult(Response):
    accepted: int
    duplicates: int


# --- results ------------------------------------------------------------------------------


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


class ComparisonOut(Response):
    variant: str
    metric: str
    kind: str
    guardrail: bool
    status: str
    message: str | None
    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_se: float | None
    absolute_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_ci: tuple[float, float] | None
    p_value: float | None
    p_value_adjusted: float | None
    significant: bool
    cuped: bool
    variance_reduction: float | None
    method: Literal["fixed", "sequential"]
    test: str
    incremental_conversions: float | None
    incremental_conversions_ci: tuple[float, float] | None
    exposure_rate: float
    lift_among_exposed: float | None
    lift_among_exposed_ci: tuple[float, float] | None
    direction: Literal["increase", "decrease"] = "increase"
    relative_se: float | None = None


class RevenueOut(Response):
    metric: str | None
    incremental_revenue: float | None
    cost: float
    incremental_roi: float | None
    incremental_revenue_ci: tuple[float, float] | None = None
    incremental_roi_ci: tuple[float, float] | None = None


class DecisionOut(Response):
    """``scale`` / ``stop`` / ``continue`` / ``check_data`` with reasons as sentences."""

    action: Literal["scale", "stop", "continue", "check_data"]
    reasons: list[str]
    variant_actions: dict[str, str] = {}
    needed_customers: int | None = None
    needed_days: int | None = None


class SrmOut(Response):
    p_value: float | None
    chi2: float | None
    ok: bool
    message: str | None
    expected_shares: dict[str, float]
    observed: dict[str, int]


class Results(Response):
    experiment: str
    status: str
    as_of: datetime
    method: Literal["fixed", "sequential"]
    alpha: float
    min_lift: float
    primary_metric: str
    arms: list[Arm]
    comparisons: list[ComparisonOut]
    revenue: RevenueOut
    srm: SrmOut
    warnings: list[str]
    decision: DecisionOut
    cuped: bool = True
    days_running: float = 0.0
    planned_customers: int | None = None


# --- timeseries, analysis of posted sums, planning -----------------------------------------


class TimeseriesPoint(Response):
    date: str
    as_of: datetime
    variant: str
    customers: int
    absolute_lift: float | None
    absolute_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_ci: tuple[float, float] | None
    p_value: float | None


class Timeseries(Response):
    experiment: str
    metric: str
    method: Literal["fixed", "sequential"]
    points: list[TimeseriesPoint]


class AnalyzeArm(Request):
    group: Label
    n: Annotated[int, Meta(ge=0)]
    sum: FiniteValue
    sum_squares: Annotated[float, Meta(ge=0, le=1e18)]
    covariate_sum: FiniteValue | None = None
    covariate_sum_squares: Annotated[float, Meta(ge=0, le=1e18)] | None = None
    cross_sum: Annotated[float, Meta(ge=-1e18, le=1e18)] | None = None


class AnalyzeRequest(Request):
    """Per-arm sums computed elsewhere (a warehouse); the same statistics as results."""

    metric_kind: Literal["binary", "mean"]
    arms: Annotated[list[AnalyzeArm], Meta(min_length=2, max_length=21)]
    control: Label = "holdout"
    alpha: Probability = 0.05
    method: Literal["fixed", "sequential"] = "fixed"
    cuped: bool = True
    min_lift: Annotated[float, Meta(gt=0, le=100)] | None = None
    planned_customers: Annotated[int, Meta(ge=1)] | None = None
    expected_shares: dict[Label, Annotated[float, Meta(gt=0)]] | None = None

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


class AnalyzeResponse(Response):
    comparisons: list[ComparisonOut]
    srm: SrmOut | None


class PlanRequest(Request):
    baseline: Annotated[float, Meta(gt=0, le=1e12)]
    min_lift: Annotated[float, Meta(gt=0, le=100)]
    alpha: Probability = 0.05
    power: Probability = 0.8
    holdout_share: Share = 0.5
    variants: Annotated[int, Meta(ge=1, le=20)] = 1
    daily_customers: Annotated[float, Meta(gt=0)] | None = None
    sd: Annotated[float, Meta(gt=0)] | None = None

    def __post_init__(self) -> None:
        if self.sd is None and not self.baseline * (1 + self.min_lift) < 1:
            raise ValueError(
                "baseline: a conversion rate and its lifted value must be below 1 (give 'sd'"
                " for a mean metric)"
            )


class PlanResponse(Response):
    metric_kind: Literal["binary", "mean"]
    effect_size: float
    holdout_customers: int
    customers_per_variant: int
    total_customers: int
    days: int | None
    alpha_per_comparison: float


def is_valid_key(value: str) -> bool:
    return re.fullmatch(KEY_PATTERN, value) is not None


# --- weekly review ------------------------------------------------------------------------

WeekLabel = Annotated[str, Meta(pattern=r"^\d{4}-W\d{2}$", description="ISO week, 2026-W47")]


class PilotReview(Response):
    """One pilot in a weekly review: the results as of the week's end, and what changed."""

    key: str
    name: str
    channel: str
    hypothesis: str
    owner: str | None
    status: str
    started_at: datetime | None
    stopped_at: datetime | None
    concluded_at: datetime | None
    days_running: float
    planned_duration_days: int
    customers: dict[str, int]
    primary_metric: str
    min_lift: float
    method: Literal["fixed", "sequential"]
    primary: list[ComparisonOut]
    guardrails: list[ComparisonOut]
    revenue: RevenueOut
    decision: DecisionOut
    warnings: list[str]
    srm: SrmOut
    final_decision: str | None = None
    final_note: str | None = None
    changes: list[str] = []
    previous_action: str | None = None
    timeseries: list[TimeseriesPoint] = []


class ReportSummary(Response):
    pilots: int
    actions: dict[str, int]
    incremental_revenue: float
    cost: float


class WeeklyReport(Response):
    week: str
    starts: datetime
    ends: datetime
    generated_at: datetime
    compared_with: str | None
    summary: ReportSummary
    pilots: list[PilotReview]


class PublishRequest(Request):
    week: WeekLabel | None = None


class ReportSnapshot(Response):
    week: str
    published_at: datetime
    published_by: str
    report: WeeklyReport


class ReportInfo(Response):
    week: str
    published_at: datetime
    published_by: str
    pilots: int
    actions: dict[str, int]


class ReportList(Response):
    reports: list[ReportInfo]


class DecisionRecord(Response):
    experiment: str
    week: str | None
    action: str
    reasons: list[str]
    note: str | None
    source: Literal["weekly_review", "conclusion"]
    recorded_at: datetime


class DecisionLog(Response):
    experiment: str
    decisions: list[DecisionRecord]


# --- keys, audit, privacy -------------------------------------------------------------------

Scope = Literal["admin", "read", "assign"]


class ApiKeyInfo(Response):
    """An API key as listed: never the secret, only its first characters."""

    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class AuditEntry(Response):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    change: Any


class AuditLog(Response):
    entries: list[AuditEntry]


class Erasure(Response):
    """What ``DELETE /v1/customers/{customer_id}`` removed, per table."""

    customer_id: str
    assignments: int
    exposures: int
    conversions: int
