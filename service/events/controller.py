"""``POST /v1/events``: exposures and conversions, JSON or NDJSON, all-or-nothing."""

from __future__ import annotations

from litestar import Request, post
from litestar.concurrency import sync_to_thread
from litestar.status_codes import HTTP_200_OK

from service.events.decoding import is_ndjson, read_ndjson_body
from service.events.ingestion import ingest_body, result_of
from service.runtime.dependencies import EngineDep, SettingsDep
from service.runtime.metrics import EVENTS_DUPLICATE, EVENTS_INGESTED
from service.schema import IngestResult

__all__ = ["ingest"]


@post("/v1/events", operation_id="ingestEvents", status_code=HTTP_200_OK, tags=["events"],
      opt={"scope": "assign"})  # fmt: skip
async def ingest(request: Request, engine: EngineDep, settings: SettingsDep) -> IngestResult:
    """Store a batch of events: ``{"events": [...]}`` as JSON, or one event per line with
    ``Content-Type: application/x-ndjson``. Any invalid event rejects the whole batch (422
    naming each index and field). Answers only after the batch is durably stored."""
    ndjson = is_ndjson(request.headers.get("content-type"))
    if ndjson:
        body = await read_ndjson_body(request.stream(), settings.max_batch)
    else:
        body = await request.body()
    # Handed over in a list so that ingestion holds the only reference and can drop it.
    outcome = await sync_to_thread(
        ingest_body, [body], ndjson=ndjson, engine=engine, settings=settings
    )
    del body
    EVENTS_INGESTED.labels("exposure").inc(outcome.exposures)
    EVENTS_INGESTED.labels("conversion").inc(outcome.conversions)
    EVENTS_DUPLICATE.inc(outcome.duplicates)
    return result_of(outcome)
