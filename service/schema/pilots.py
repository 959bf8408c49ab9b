"""Pilots: the declared design (frozen at start) and the stored lifecycle."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from service.schema.common import (
    RESERVED_GROUPS,
    Days,
    Direction,
    Label,
    LookbackDays,
    MarginRate,
    MetricKindName,
    MinLift,
    Money,
    Name,
    Owner,
    PilotKey,
    PilotStatus,
    PositiveWeight,
    Probability,
    Request,
    Response,
    Salt,
    Share,
    Text,
    Traffic,
)
from service.schema.geo import GeoDesign, Unit, check_geo_pilot

__all__ = [
    "DEFAULT_METRICS",
    "Conclusion",
    "Costs",
    "FinalDecision",
    "Metric",
    "Pilot",
    "PilotCreate",
    "PilotList",
    "PilotPatch",
    "Variant",
]

Variants = Annotated[list["Variant"], Meta(min_length=1, max_length=20)]
Metrics = Annotated[list["Metric"], Meta(min_length=1, max_length=50)]
MinDurationDays = Annotated[int, Meta(ge=0, le=3650)]
FinalDecision = Literal["scale", "stop"]
Margin = Annotated[float, Meta(gt=0, le=10)]
MinRoi = Annotated[float, Meta(ge=-1, le=1000)]
ExposedShare = Annotated[float, Meta(ge=0, lt=1)]
MinConversions = Annotated[int, Meta(ge=0, le=10**9)]


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
    direction: Direction = "increase"
    margin: Margin | None = None
    """Guardrails only: the variant may be at most this much worse than the holdout
    (relative non-inferiority margin; 0.10 by default when neither rule is given)."""
    max_rate: Annotated[float, Meta(gt=0, le=1e6)] | None = None
    """Guardrails only, for a metric that is structurally zero in the holdout (unsubscribes,
    complaints): the variant's rate per customer may be at most this (binary or count)."""

    def __post_init__(self) -> None:
        if not self.guardrail and (self.margin is not None or self.max_rate is not None):
            raise ValueError(f"metrics: {self.key!r} has a margin or max_rate but is no guardrail")
        if self.margin is not None and self.max_rate is not None:
            raise ValueError(f"metrics: {self.key!r} takes a margin or a max_rate, not both")
        if self.max_rate is not None:
            if self.kind == "sum":
                raise ValueError(f"metrics: {self.key!r}: max_rate caps a binary or count metric")
            if self.direction != "decrease":
                raise ValueError(
                    f"metrics: {self.key!r}: max_rate caps a metric whose good direction is"
                    " 'decrease'"
                )
            if self.kind == "binary" and self.max_rate >= 1:
                raise ValueError(f"metrics: {self.key!r}: a binary max_rate must be below 1")


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
    owner: Owner | None = None
    holdout_share: Share
    variants: Variants
    traffic: Traffic = 1.0
    layer: PilotKey | None = None
    salt: Salt | None = None
    metrics: Metrics | None = None
    primary_metric: PilotKey | None = None
    min_lift: MinLift
    alpha: Probability = 0.05
    power: Probability = 0.8
    attribution_window_days: Days = 30
    covariate_lookback_days: LookbackDays = 30
    planned_duration_days: Days = 14
    min_duration_days: MinDurationDays = 7
    costs: Costs | None = None
    min_roi: MinRoi = 0.0
    """Scale needs the incremental ROI interval's lower bound at least this (0: pays back)."""
    margin_rate: MarginRate = 1.0
    """The share of revenue that is profit (incremental profit = margin_rate × revenue − cost)."""
    max_holdout_exposed_share: ExposedShare = 0.01
    """More of the holdout exposed than this makes the decision ``check_data``."""
    min_conversions: MinConversions = 100
    """No scale or stop before each arm has this many conversions of the primary metric."""
    unit: Unit = "customer"
    """``geo``: regions are randomized, not customers (``geo_design``; docs/geo.md)."""
    geo_design: GeoDesign | None = None

    def __post_init__(self) -> None:
        if self.unit == "geo" and self.geo_design is not None:
            kpi = self.geo_design.metric  # a geo pilot's default metric: its design's KPI
            self.metrics = self.metrics or [Metric(key=kpi, event=kpi, kind="sum")]
            self.planned_duration_days = self.geo_design.test_period.days
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
        check_geo_pilot(self)


class PilotPatch(Request):
    """Fields to change. In ``draft`` anything; once running only the descriptive fields,
    ``costs`` and an increase of ``traffic``."""

    name: Name | UnsetType = UNSET
    channel: Label | UnsetType = UNSET
    hypothesis: Text | UnsetType = UNSET
    owner: Owner | UnsetType | None = UNSET
    holdout_share: Share | UnsetType = UNSET
    variants: Variants | UnsetType = UNSET
    traffic: Traffic | UnsetType = UNSET
    layer: PilotKey | UnsetType | None = UNSET
    salt: Salt | UnsetType = UNSET
    metrics: Metrics | UnsetType = UNSET
    primary_metric: PilotKey | UnsetType = UNSET
    min_lift: MinLift | UnsetType = UNSET
    alpha: Probability | UnsetType = UNSET
    power: Probability | UnsetType = UNSET
    attribution_window_days: Days | UnsetType = UNSET
    covariate_lookback_days: LookbackDays | UnsetType = UNSET
    planned_duration_days: Days | UnsetType = UNSET
    min_duration_days: MinDurationDays | UnsetType = UNSET
    costs: Costs | UnsetType | None = UNSET
    min_roi: MinRoi | UnsetType = UNSET
    margin_rate: MarginRate | UnsetType = UNSET
    max_holdout_exposed_share: ExposedShare | UnsetType = UNSET
    min_conversions: MinConversions | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    geo_design: GeoDesign | UnsetType | None = UNSET


class Conclusion(Request):
    decision: FinalDecision
    note: Text = ""


class PilotHeading(Response):
    """What names a pilot and where it stands: the first fields of a stored pilot and of its
    row in the weekly review."""

    key: str
    name: str
    channel: str
    hypothesis: str
    owner: str | None
    status: PilotStatus


class Pilot(PilotHeading, kw_only=True):
    """A stored pilot: the declared design plus its lifecycle."""

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
    min_roi: float = 0.0
    margin_rate: float = 1.0
    max_holdout_exposed_share: float = 0.01
    min_conversions: int = 100
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    concluded_at: datetime | None = None
    decision: FinalDecision | None = None
    decision_note: str | None = None
    layer_buckets: list[tuple[int, int]] = []
    unit: Unit = "customer"
    geo_design: GeoDesign | None = None


class PilotList(Response):
    experiments: list[Pilot]
