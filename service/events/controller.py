"""``POST /v1/events``: exposures and conversions, JSON or NDJSON, all-or-nothing."""

from __future__ import annotations

from datetime import timedelta

from litestar import Request, post
from litestar.concurrency import sync_to_thread
from litestar.status_codes import HTTP_200_OK

from service.errors import UnsupportedMedia
from service.events.ingestion import decode_events, prepare_events, read_ndjson_body, store_events
from service.runtime.dependencies import EngineDep, SettingsDep
from service.runtime.memory import release_free_memory
from service.runtime.metrics import EVENTS_DUPLICATE, EVENTS_INGESTED
from service.schema import IngestResult

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


@post(
    "/v1/events",
    operation_id="ingestEvents",
    status_code=HTTP_200_OK,
    tags=["events"],
    opt={"scope": "assign"},
)
async def ingest(request: Request, engine: EngineDep, settings: SettingsDep) -> IngestResult:
    """Store a batch of events: ``{"events": [...]}`` as JSON, or one event per line with
    ``Content-Type: application/x-ndjson``. Any invalid event rejects the whole batch (422
    naming each index and field). Answers only after the batch is durably stored."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media not in ("application/json", *NDJSON_TYPES):
        raise UnsupportedMedia(
            f"Content-Type {media!r} is not accepted; send application/json or"
            " application/x-ndjson."
        )
    ndjson = media in NDJSON_TYPES
    if ndjson:
        body = await read_ndjson_body(request.stream(), settings.max_batch)
    else:
        body = await request.body()

    def work() -> IngestResult:
        nonlocal body
        events = decode_events(
            body, ndjson=ndjson, max_events=settings.max_batch, max_id_length=settings.max_id_length
        )
        body = b""  # from here on only the rows are kept: a worker's memory is its largest batch
        batch = prepare_events(
            engine,
            events,
            settings.clock(),
            max_future=timedelta(hours=settings.max_future_skew_hours),
        )
        del events
        outcome = store_events(engine, batch)
        del batch
        release_free_memory()
        EVENTS_INGESTED.labels("exposure").inc(outcome.exposures)
        EVENTS_INGESTED.labels("conversion").inc(outcome.conversions)
        EVENTS_DUPLICATE.inc(outcome.duplicates)
        return IngestResult(accepted=outcome.accepted, duplicates=outcome.duplicates)

    return await sync_to_thread(work)
