"""Geo pilots: a KPI per region and day, the pilot's geo design and the design search (the
``geo`` block of results is in :mod:`service.schema.geo_results`).

A geo pilot (``"unit": "geo"``) randomizes regions, not customers; it is read by time-based
regression from one number per region and day (``POST /v1/geo-metrics``). Its ``geo_design``
names the KPI, the pre-period the control relation is fitted on, the test period, and how the
treated regions are chosen: ``treatment_share`` (randomized by ``POST .../design``) or
``treatment_geos`` (a test that ran elsewhere).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from service.schema.common import (
    KEY_PATTERN,
    MAX_BATCH,
    CustomerId,
    FiniteValue,
    Request,
    Response,
    Share,
)
from stats.geo.tbr import GeoFit

if TYPE_CHECKING:
    from service.schema.pilots import PilotCreate

__all__ = [
    "MAX_GEO_REGIONS",
    "MAX_PRE_PERIOD_DAYS",
    "MAX_TEST_PERIOD_DAYS",
    "SPEND",
    "GeoCandidate",
    "GeoChoice",
    "GeoDesign",
    "GeoDesignRequest",
    "GeoDesignResult",
    "GeoDirection",
    "GeoFit",
    "GeoMethod",
    "GeoMetricBatch",
    "GeoMetricName",
    "GeoMetricResult",
    "GeoMetricRow",
    "GeoPeriod",
    "GeoPlacebo",
    "GeoTest",
    "Unit",
    "check_geo_pilot",
]

SPEND = "spend"
"""The default name of the channel's spend series among the geo metrics."""
MAX_GEO_REGIONS = 10_000
MAX_PRE_PERIOD_DAYS = 1_000
MAX_TEST_PERIOD_DAYS = 366

Unit = Literal["customer", "geo"]
"""What a pilot randomizes: customers (the default) or regions."""
GeoMethod = Literal["tbr"]
"""Time-based regression (Kerman, Wang & Vaver 2017)."""
GeoDirection = Literal["heavy_up", "go_dark"]
"""``heavy_up``: the treated regions get the channel (or more of it); ``go_dark``: they lose it."""
GeoTest = Literal["tbr"]
"""The test of a geo pilot's comparison: TBR's calibrated predictive interval."""
GeoMetricName = Annotated[
    str, Meta(pattern=KEY_PATTERN, description="[a-z0-9][a-z0-9_-]{0,63}, e.g. revenue, spend")
]
GeoIds = Annotated[list[CustomerId], Meta(max_length=MAX_GEO_REGIONS)]


def _is_spend(metric: str) -> bool:
    return metric == SPEND or metric.startswith((f"{SPEND}_", f"{SPEND}-"))


# --- rows ------------------------------------------------------------------------------------


class GeoMetricRow(Request):
    """One region's KPI (or spend) on one day. ``geo`` follows the customer-id rules; a row with
    the same ``(geo, date, metric)`` as a stored one restates it."""

    geo: CustomerId
    date: dt.date
    metric: GeoMetricName
    value: FiniteValue

    def __post_init__(self) -> None:
        if _is_spend(self.metric) and self.value < 0:
            raise ValueError("a spend value cannot be negative")


class GeoMetricBatch(Request):
    rows: Annotated[list[GeoMetricRow], Meta(min_length=1, max_length=MAX_BATCH)]


class GeoMetricResult(Response):
    """``stored``: rows new to the service; ``replaced``: rows that restated a stored value."""

    stored: int
    replaced: int


# --- the pilot's geo design ------------------------------------------------------------------


class GeoPeriod(Request):
    """First and last day, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class GeoChoice(Response):
    """What ``POST .../design`` chose: frozen with the rest of the design at start."""

    salt: str
    candidate: int
    candidates: int
    minimum_detectable_lift: float
    designed_at: dt.datetime


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for g in ids:
        (repeated if g in seen else seen).add(g)
    return sorted(repeated)


class GeoDesign(Request, kw_only=True):
    """How a geo pilot is run and read.

    ``treatment_share`` randomizes the regions (by ``POST .../design``; default
    ``1 − holdout_share``); ``treatment_geos`` names regions chosen elsewhere (a test that
    already ran), ``control_geos`` then defaults to every other region with data.
    ``exclude_geos`` take no part. ``spend_metric`` names the channel's spend series.
    ``treatment_geos``, ``control_geos`` and ``designed`` are written by ``POST .../design``.
    """

    metric: GeoMetricName
    pre_period: GeoPeriod
    test_period: GeoPeriod
    treatment_share: Share | None = None
    treatment_geos: GeoIds | None = None
    control_geos: GeoIds | None = None
    exclude_geos: GeoIds = []
    method: GeoMethod = "tbr"
    direction: GeoDirection = "heavy_up"
    spend_metric: GeoMetricName = SPEND
    designed: GeoChoice | None = None

    def __post_init__(self) -> None:
        if _is_spend(self.metric):
            raise ValueError(
                f"geo_design.metric: {self.metric!r} names a spend series; name the KPI the"
                " channel should move (e.g. 'revenue') and the spend as spend_metric"
            )
        if not _is_spend(self.spend_metric):
            raise ValueError("geo_design.spend_metric: name a spend series 'spend' or 'spend_…'")
        if self.test_period.start <= self.pre_period.end:
            raise ValueError(
                "geo_design.test_period: the test must start after the pre-period ends"
                f" ({self.pre_period.end})"
            )
        if self.pre_period.days > MAX_PRE_PERIOD_DAYS:
            raise ValueError(f"geo_design.pre_period: at most {MAX_PRE_PERIOD_DAYS} days")
        if self.test_period.days > MAX_TEST_PERIOD_DAYS:
            raise ValueError(f"geo_design.test_period: at most {MAX_TEST_PERIOD_DAYS} days")
        lists = {
            "treatment_geos": self.treatment_geos or [],
            "control_geos": self.control_geos or [],
            "exclude_geos": self.exclude_geos,
        }
        for name, ids in lists.items():
            repeated = _duplicates(ids)
            if repeated:
                raise ValueError(f"geo_design.{name}: repeated regions {repeated[:5]}")
        if self.treatment_geos is not None and not self.treatment_geos:
            raise ValueError("geo_design.treatment_geos: name at least one region, or omit it")
        if self.control_geos is not None and self.treatment_geos is None:
            raise ValueError("geo_design.control_geos: give treatment_geos with it")
        given = self.treatment_geos is not None and self.designed is None
        if given and self.treatment_share is not None:
            raise ValueError(
                "geo_design: give treatment_share (regions randomized by POST .../design) or"
                " treatment_geos (regions chosen elsewhere), not both"
            )
        names = list(lists)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                both = sorted(set(lists[a]) & set(lists[b]))
                if both:
                    raise ValueError(f"geo_design: {both[:5]} are in both {a} and {b}")


def check_geo_pilot(p: PilotCreate) -> None:
    """The rules between a pilot's customer-level fields and its unit (see docs/geo.md).

    A geo pilot has one treated arm (one variant; its weight does not matter), every region of
    the design takes part (``traffic`` 1, no ``layer``), its holdout is its control regions
    (``holdout_share`` is ``1 − treatment_share``), it has no exposures (no per-exposure cost:
    the spend series is its cost) and its metrics are daily totals per region (``sum`` or
    ``count``, no guardrails; the primary metric's ``event`` is the design's KPI).
    """
    design = p.geo_design
    if p.unit == "customer":
        if design is not None:
            raise ValueError('geo_design: only a geo pilot ("unit": "geo") takes a geo design')
        return
    if design is None:
        raise ValueError(
            "geo_design: a geo pilot needs one (metric, pre_period, test_period, and"
            " treatment_share or treatment_geos)"
        )
    if p.traffic != 1:
        raise ValueError(
            "traffic: a geo pilot has no customer traffic share; every region of the design"
            " takes part (leave traffic at 1, exclude regions with geo_design.exclude_geos)"
        )
    if p.layer is not None:
        raise ValueError("layer: layers share customers; a geo pilot assigns regions")
    if len(p.variants) != 1:
        raise ValueError(
            f"variants: a geo pilot has one treated arm (one variant), not {len(p.variants)};"
            " run a second geo pilot for a second treatment"
        )
    if (
        design.treatment_share is not None
        and abs(design.treatment_share + p.holdout_share - 1) > 1e-9
    ):
        raise ValueError(
            f"holdout_share: a geo pilot's holdout is its control regions, so holdout_share must"
            f" be 1 − treatment_share = {1 - design.treatment_share:g}; give either one"
        )
    if p.costs is not None and p.costs.per_exposure > 0:
        raise ValueError(
            "costs.per_exposure: a geo pilot has no exposures; post the channel's spend per"
            f" region and day as the {design.spend_metric!r} geo metric"
        )
    for m in p.metrics or []:
        if m.guardrail:
            raise ValueError(f"metrics: {m.key!r}: guardrails are judged per customer; a geo"
                             " pilot has none")  # fmt: skip
        if m.kind == "binary":
            raise ValueError(
                f"metrics: {m.key!r} is binary (per customer); a geo pilot reads daily totals"
                " per region (kind 'sum' or 'count')"
            )
        if _is_spend(m.event):
            raise ValueError(f"metrics: {m.key!r} reads the spend series; spend is the cost")
    primary = next((m for m in p.metrics or [] if m.key == p.primary_metric), None)
    if primary is not None and primary.event != design.metric:
        raise ValueError(
            f"geo_design.metric: {design.metric!r} must be the primary metric's event"
            f" ({primary.event!r}): the design is powered on the primary metric"
        )


class GeoDesignRequest(Request):
    """``candidates``: randomizations to compare (the one with the smallest minimum detectable
    lift is chosen). ``cost_per_incremental_unit``: what the channel is expected to spend per
    incremental KPI unit; with it the answer says what spend the detectable lift needs."""

    candidates: Annotated[int, Meta(ge=1, le=50)] = 5
    cost_per_incremental_unit: Annotated[float, Meta(gt=0, le=1e9)] | None = None


class GeoPlacebo(Response):
    """Placebo tests on the pre-period: windows analysed as if they were the test; about
    ``alpha`` of them significant and ``rms_z`` near 1 when the control relation holds."""

    windows: int
    significant: int
    rms_z: float | None


class GeoCandidate(Response):
    index: int
    salt: str
    treatment_geos: list[str]
    control_geos: list[str]
    treated_kpi_share: float | None
    minimum_detectable_lift: float | None
    r_squared: float | None
    placebo: GeoPlacebo
    required_spend: float | None = None
    message: str | None = None


class GeoDesignResult(Response):
    """The chosen randomization and what it promises.

    ``minimum_detectable_lift`` is relative (0.04 = 4 %) at the pilot's ``alpha`` and
    ``power`` for the test period's length; ``minimum_detectable_incremental`` the KPI units
    that is over the test. ``required_spend`` (with ``cost_per_incremental_unit``) funds that
    lift; ``baseline_spend`` is what the treated regions spent over a test-length window in the
    pre-period (when spend rows exist).
    """

    experiment: str
    metric: str
    salt: str
    candidate: int
    treatment_geos: list[str]
    control_geos: list[str]
    excluded_geos: list[str]
    minimum_detectable_lift: float
    minimum_detectable_incremental: float | None
    expected_counterfactual: float | None
    alpha: float
    power: float
    pre_days: int
    test_days: int
    pre_fit: GeoFit | None
    placebo: GeoPlacebo
    required_spend: float | None
    baseline_spend: float | None
    notes: list[str]
    candidates: list[GeoCandidate]


# --- results ---------------------------------------------------------------------------------
