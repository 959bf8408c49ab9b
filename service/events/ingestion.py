"""Event ingestion: validate a decoded batch as a whole, store it at once.

The batch is all-or-nothing: every event is checked (shape, zone-aware time, not too far in the
future, known pilot), each problem is reported with its index and field, and only a fully valid
batch is written, in one transaction that commits (fsync) before the caller answers. Ids are
the sender's idempotency keys: an id already stored, in either table, is a duplicate and is not
stored again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, select

from service.events.decoding import decode_events, problem, rejected
from service.runtime.memory import release_free_memory
from service.schema import Conversion, Event, Exposure, IngestResult
from service.settings import Settings
from service.storage import totals
from service.storage.sql import chunks, read_transaction, write_transaction
from service.storage.tables import pilots
from service.timeutil import to_us

__all__ = [
    "IngestOutcome",
    "PreparedBatch",
    "ingest_body",
    "ingest_events",
    "prepare_events",
    "store_events",
]


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    accepted: int
    duplicates: int
    exposures: int
    conversions: int


def _check_semantics(events: Sequence[Event], pilot_ids: dict[str, int], latest: datetime) -> None:
    problems: list[dict[str, Any]] = []
    for i, ev in enumerate(events):
        if ev.ts > latest:
            future = f"{ev.ts.isoformat()} is more than 24 h in the future"
            problems.append(problem(i, "ts", future))
        if isinstance(ev, Exposure) and ev.experiment not in pilot_ids:
            problems.append(problem(i, "experiment", f"no pilot with key {ev.experiment!r}"))
    if problems:
        raise rejected(f"{len(problems)} problem(s) in this batch", problems)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A checked batch as rows for storage (first occurrence of each id), in customer order."""

    received: int
    exposure_rows: list[tuple[Any, ...]]
    conversion_rows: list[tuple[Any, ...]]


def prepare_events(
    engine: Engine, events: Sequence[Event], now: datetime, *, max_future: timedelta
) -> PreparedBatch:
    """Check a decoded batch against the stored pilots and turn it into rows; raises
    :class:`InvalidInput` naming every bad event. The caller may drop ``events`` afterwards:
    a 100k batch's rows take half the memory of its decoded events."""
    latest = now + max_future
    latest_us = to_us(latest)
    # One pass builds the rows (first occurrence of each id; exposures keep their pilot's key
    # until the ids are read) and notes what the checks need; the checks name each bad event
    # only when one is bad (a 100k batch: 103–123 ms in three passes, 96–115 ms in one).
    seen: set[str] = set()
    pilot_keys: set[str] = set()
    too_late = False
    exposures: list[tuple[str, str, str, int]] = []
    conversion_rows: list[tuple[Any, ...]] = []
    for ev in events:
        ts = to_us(ev.ts)
        if ts > latest_us:
            too_late = True
        if isinstance(ev, Conversion):
            if ev.id not in seen:
                seen.add(ev.id)
                conversion_rows.append((ev.id, ev.customer_id, ev.event, ts, ev.value))
        else:
            pilot_keys.add(ev.experiment)
            if ev.id not in seen:
                seen.add(ev.id)
                exposures.append((ev.id, ev.experiment, ev.customer_id, ts))
    del seen
    pilot_ids: dict[str, int] = {}
    if pilot_keys:
        with read_transaction(engine) as conn:
            for part in chunks(sorted(pilot_keys)):
                rows = conn.execute(select(pilots.c.key, pilots.c.id).where(pilots.c.key.in_(part)))
                pilot_ids.update({k: i for k, i in rows})
    if too_late or len(pilot_ids) < len(pilot_keys):
        _check_semantics(events, pilot_ids, latest)
    exposure_rows: list[tuple[Any, ...]] = [
        (event_id, pilot_ids[key], customer, ts) for event_id, key, customer, ts in exposures
    ]
    del exposures
    # In customer order, SQLite's inserts into the by-customer event index and its lookups of
    # each customer's assignments walk the B-trees once instead of jumping at random: a 100k
    # batch at 500k customers went from 3.7 s to 2.0 s.
    exposure_rows.sort(key=itemgetter(2))
    conversion_rows.sort(key=itemgetter(1))
    return PreparedBatch(len(events), exposure_rows, conversion_rows)


def store_events(engine: Engine, batch: PreparedBatch) -> IngestOutcome:
    """Store a prepared batch in one transaction; ids already stored count as duplicates."""
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "facts")
        exposures, conversions = totals.store_events(
            conn, batch.exposure_rows, batch.conversion_rows
        )
    accepted = exposures + conversions
    return IngestOutcome(accepted, batch.received - accepted, exposures, conversions)


def ingest_events(
    engine: Engine, events: Sequence[Event], now: datetime, *, max_future: timedelta
) -> IngestOutcome:
    """Check and store a decoded batch (:func:`prepare_events`, then :func:`store_events`)."""
    return store_events(engine, prepare_events(engine, events, now, max_future=max_future))


def ingest_body(
    handed_over: list[bytes], *, ndjson: bool, engine: Engine, settings: Settings
) -> IngestOutcome:
    """Decode, check and store one request body (run in a worker thread).

    A worker's memory is its largest batch: the body (handed over in a list, whose only element
    this function takes) is dropped once decoded, the decoded events once they are rows, and
    free heap goes back to the system after the batch (glibc keeps it otherwise).
    """
    body = handed_over.pop()
    events = decode_events(
        body, ndjson=ndjson, max_events=settings.max_batch, max_id_length=settings.max_id_length
    )
    del body
    batch = prepare_events(
        engine, events, settings.clock(),
        max_future=timedelta(hours=settings.max_future_skew_hours),
    )  # fmt: skip
    del events
    outcome = store_events(engine, batch)
    del batch
    release_free_memory()
    return outcome


def result_of(outcome: IngestOutcome) -> IngestResult:
    return IngestResult(accepted=outcome.accepted, duplicates=outcome.duplicates)
