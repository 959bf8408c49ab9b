"""Geo endpoints: regional KPI rows and the design of a geo pilot."""

from __future__ import annotations

from datetime import timedelta

from litestar import Request, post
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from service.events.decoding import is_ndjson
from service.geo import design, metrics
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.schema import GeoDesignRequest, GeoDesignResult, GeoMetricResult

__all__ = ["design_geo_pilot", "post_geo_metrics"]


@post("/v1/geo-metrics", operation_id="postGeoMetrics", status_code=HTTP_200_OK, tags=["geo"],
      opt={"scope": "assign"})  # fmt: skip
async def post_geo_metrics(
    request: Request, engine: EngineDep, settings: SettingsDep, actor: ActorDep
) -> GeoMetricResult:
    """Store a KPI (or ``"metric": "spend"``) per region and day: ``{"rows": [{"geo", "date",
    "metric", "value"}]}`` as JSON, or one row per line as NDJSON; up to 100,000 rows. A stored
    ``(geo, date, metric)`` is restated. Any invalid row rejects the batch (422 naming each)."""
    ndjson = is_ndjson(request.headers.get("content-type"))
    body = await request.body()
    now = settings.clock()
    rules = metrics.RowRules(now, settings.max_id_length,
                             timedelta(hours=settings.max_future_skew_hours))  # fmt: skip
    rows = await sync_to_thread(
        metrics.decode_rows, body, ndjson=ndjson, rules=rules, max_rows=settings.max_batch
    )
    return await sync_to_thread(metrics.record_rows, engine, rows, now=now, actor=actor)


@post("/v1/experiments/{key:str}/design", operation_id="designGeoPilot", status_code=HTTP_200_OK,
      tags=["geo"], sync_to_thread=True)  # fmt: skip
def design_geo_pilot(
    key: FromPath[str], data: JSONBody[GeoDesignRequest], engine: EngineDep,
    settings: SettingsDep, actor: ActorDep,
) -> GeoDesignResult:  # fmt: skip
    """Randomize a draft geo pilot's regions from its pre-period (``candidates`` seeded from
    the salt), store the one with the smallest minimum detectable lift, and answer it."""
    return design.design_pilot(engine, key, data, now=settings.clock(), actor=actor)
