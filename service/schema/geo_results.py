"""The ``geo`` block of a geo pilot's results: regions, the daily observed and counterfactual
series with its band, what is missing, incremental spend and iROAS.

A day of the series (:class:`GeoDay`) and the pre-period fit (:class:`~service.schema.GeoFit`)
are :mod:`stats.geo.tbr`'s own result types, frozen dataclasses that msgspec encodes and
decodes like a :class:`~service.schema.common.Response` (same fields in the same order,
unknown fields ignored): the analysis' numbers are answered as computed, not copied field by
field into a mirror type."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from service.schema.common import Interval, Response
from service.schema.geo import GeoDirection, GeoFit, GeoMethod, GeoPeriod
from stats.geo.tbr import GeoDay

__all__ = ["GeoDay", "GeoMissing", "GeoResults"]


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
