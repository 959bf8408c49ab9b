"""The ``geo`` block of a geo pilot's results: regions, the daily observed and counterfactual
series with its band, what is missing, incremental spend and iROAS."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from service.schema.common import Interval, Response
from service.schema.geo import GeoDirection, GeoFit, GeoMethod, GeoPeriod

__all__ = ["GeoDay", "GeoMissing", "GeoResults"]


class GeoDay(Response):
    """The treated regions' KPI on one day against its counterfactual. Test days carry the
    day's prediction interval (``lower``, ``upper``) and the incremental KPI from the first
    test day to this one with its interval; pre-period days the in-sample fit only."""

    date: dt.date
    period: Literal["pre", "test"]
    observed: float
    counterfactual: float
    lower: float | None = None
    upper: float | None = None
    cumulative_incremental: float | None = None
    cumulative_lower: float | None = None
    cumulative_upper: float | None = None


class GeoMissing(Response):
    """A region (or ``all regions``) and the days it has no row in the pre or test period."""

    geo: str
    series: Literal["kpi", "spend"]
    days: list[dt.date]


class GeoResults(Response):
    """The ``geo`` block of a geo pilot's results (primary metric).

    ``series`` is the primary metric's treated total per day, observed and counterfactual with
    the band; ``incremental_spend`` the treated regions' spend above its counterfactual;
    ``iroas`` the revenue metric's incremental KPI per incremental spend, with its interval.
    """

    method: GeoMethod
    direction: GeoDirection
    metric: str
    status: str
    message: str | None
    treatment_geos: list[str]
    control_geos: list[str]
    pre_period: GeoPeriod
    test_period: GeoPeriod | None
    """The test days analysed so far (``None`` before the first one)."""
    planned_test_period: GeoPeriod
    observed: float | None = None
    counterfactual: float | None = None
    incremental: float | None = None
    incremental_ci: Interval | None = None
    fit: GeoFit | None = None
    minimum_detectable_lift: float | None = None
    incremental_spend: float | None = None
    iroas: float | None = None
    iroas_ci: Interval | None = None
    iroas_metric: str | None = None
    missing: list[GeoMissing] = []
    series: list[GeoDay] = []
