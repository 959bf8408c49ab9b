"""Event ingestion: decode a JSON or NDJSON batch, validate it as a whole, store it at once.

The batch is all-or-nothing: every event is checked (shape, zone-aware time, not too far in the
future, known pilot), each problem is reported with its index and field, and only a fully valid
batch is written, in one transaction that commits (fsync) before the caller answers. Ids are
the sender's idempotency keys: an id already stored, in either table, is a duplicate and is not
stored again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, select

from service.errors import InvalidInput
from service.schema import Conversion, Event, EventBatch, Exposure
from service.storage import totals
from service.storage.sql import chunks, read_transaction, write_transaction
from service.storage.tables import pilots
from service.timeutil import to_us

__all__ = [
    "IngestOutcome",
    "PreparedBatch",
    "decode_events",
    "ingest_events",
    "prepare_events",
    "read_ndjson_body",
    "store_events",
]

MAX_EVENTS = 100_000
MAX_ERRORS_LISTED = 100
_PATH = re.compile(r" - at `\$(?:\.events)?\[?(\d*)\]?\.?([^`]*)`$")
_event_decoder = msgspec.json.Decoder(Event)
_batch_decoder = msgspec.json.Decoder(EventBatch)
_raw_batch_decoder = msgspec.json.Decoder(dict[str, list[msgspec.Raw]])


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    accepted: int
    duplicates: int
    exposures: int
    conversions: int


def _problem(index: int, exc: msgspec.ValidationError | msgspec.DecodeError) -> dict[str, Any]:
    text = str(exc)
    match = re.search(r" - at `\$\.?([^`]*)`$", text)
    field = match.group(1) if match else None
    message = text[: match.start()] if match else text
    return {"index": index, "field": field or None, "message": message}


def _too_many(n: int, limit: int = MAX_EVENTS, *, at_least: bool = False) -> InvalidInput:
    count = f"more than {limit:,}" if at_least else f"{n:,}"
    return InvalidInput(f"A batch holds at most {limit:,} events; this one has {count}. Split it.")


def _decode_each(raws: Sequence[bytes | msgspec.Raw]) -> list[Event]:
    """Decode one by one so that *every* bad event is named, not only the first."""
    events: list[Event] = []
    problems = []
    for i, raw in enumerate(raws):
        try:
            events.append(_event_decoder.decode(raw))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problems.append(_problem(i, exc))
    if problems:
        raise InvalidInput(
            f"{len(problems)} of {len(raws)} events are invalid; nothing from this batch was"
            " stored. Fix the events listed in 'extra' (index, field, message) and resend.",
            extra=problems[:MAX_ERRORS_LISTED],
        )
    return events


def decode_events(
    body: bytes, *, ndjson: bool, max_events: int = MAX_EVENTS, max_id_length: int = 128
) -> list[Event]:
    """Decode a batch; raise :class:`InvalidInput` naming each bad event."""
    events = _decode(body, ndjson=ndjson, max_events=max_events)
    if max_id_length < 128:
        _check_id_lengths(events, max_id_length)
    return events


def _check_id_lengths(events: Sequence[Event], limit: int) -> None:
    problems = [
        {"index": i, "field": name, "message": f"longer than {limit} characters"}
        for i, ev in enumerate(events)
        for name in ("id", "customer_id")
        if len(getattr(ev, name)) > limit
    ]
    if problems:
        raise InvalidInput(
            f"{len(problems)} id(s) exceed the configured {limit} characters; nothing from this"
            " batch was stored.",
            extra=problems[:MAX_ERRORS_LISTED],
        )


def _decode(body: bytes, *, ndjson: bool, max_events: int) -> list[Event]:
    if ndjson:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if not lines:
            raise InvalidInput("The NDJSON body holds no events.")
        if len(lines) > max_events:
            raise _too_many(len(lines), max_events)
        try:  # fast path: one C-level decode of the whole batch
            return msgspec.json.decode(b"[" + b",".join(lines) + b"]", type=list[Event])
        except (msgspec.ValidationError, msgspec.DecodeError):
            return _decode_each(lines)
    try:
        batch = _batch_decoder.decode(body)
        if len(batch.events) > max_events:
            raise _too_many(len(batch.events), max_events)
        return batch.events
    except (msgspec.ValidationError, msgspec.DecodeError) as first:
        try:
            raw = _raw_batch_decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise InvalidInput(
                f'The body must be a JSON object {{"events": [...]}}: {first}'
            ) from first
        unknown = sorted(set(raw) - {"events"})
        if unknown or "events" not in raw:
            raise InvalidInput(
                "The body must be a JSON object with one field, 'events'"
                + (f" (unknown: {', '.join(unknown)})." if unknown else ".")
            ) from first
        items = raw["events"]
        if not items:
            raise InvalidInput("The batch holds no events.") from first
        if len(items) > max_events:
            raise _too_many(len(items), max_events) from first
        return _decode_each(items)


def _check_semantics(events: Sequence[Event], pilot_ids: dict[str, int], latest: datetime) -> None:
    problems: list[dict[str, Any]] = []
    for i, ev in enumerate(events):
        if ev.ts > latest:
            problems.append(
                {
                    "index": i,
                    "field": "ts",
                    "message": f"{ev.ts.isoformat()} is more than 24 h in the future",
                }
            )
        if isinstance(ev, Exposure) and ev.experiment not in pilot_ids:
            problems.append(
                {
                    "index": i,
                    "field": "experiment",
                    "message": f"no pilot with key {ev.experiment!r}",
                }
            )
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s) in this batch; nothing from it was stored. Fix the"
            " events listed in 'extra' (index, field, message) and resend.",
            extra=problems[:MAX_ERRORS_LISTED],
        )


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
    pilot_keys = {ev.experiment for ev in events if isinstance(ev, Exposure)}
    pilot_ids: dict[str, int] = {}
    if pilot_keys:
        with read_transaction(engine) as conn:
            for part in chunks(sorted(pilot_keys)):
                rows = conn.execute(select(pilots.c.key, pilots.c.id).where(pilots.c.key.in_(part)))
                pilot_ids.update({k: i for k, i in rows})
    _check_semantics(events, pilot_ids, now + max_future)

    seen: set[str] = set()
    exposure_rows: list[tuple[Any, ...]] = []
    conversion_rows: list[tuple[Any, ...]] = []
    for ev in events:
        if ev.id in seen:
            continue
        seen.add(ev.id)
        if isinstance(ev, Conversion):
            conversion_rows.append((ev.id, ev.customer_id, ev.event, to_us(ev.ts), ev.value))
        else:
            exposure_rows.append((ev.id, pilot_ids[ev.experiment], ev.customer_id, to_us(ev.ts)))
    # In customer order, SQLite's inserts into the by-customer event index and its lookups of
    # each customer's assignments walk the B-trees once instead of jumping at random: a 100k
    # batch at 500k customers went from 3.7 s to 2.0 s.
    exposure_rows.sort(key=itemgetter(2))
    conversion_rows.sort(key=itemgetter(1))
    return PreparedBatch(len(events), exposure_rows, conversion_rows)


def store_events(engine: Engine, batch: PreparedBatch) -> IngestOutcome:
    """Store a prepared batch in one transaction; ids already stored count as duplicates."""
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "events")
        stored_exposures = _store(conn, totals.STAGED_EXPOSURES, batch.exposure_rows, "conversions")
        stored_conversions = _store(
            conn, totals.STAGED_CONVERSIONS, batch.conversion_rows, "exposures"
        )
    accepted = stored_exposures + stored_conversions
    return IngestOutcome(accepted, batch.received - accepted, stored_exposures, stored_conversions)


def ingest_events(
    engine: Engine, events: Sequence[Event], now: datetime, *, max_future: timedelta
) -> IngestOutcome:
    """Check and store a decoded batch (:func:`prepare_events`, then :func:`store_events`)."""
    return store_events(engine, prepare_events(engine, events, now, max_future=max_future))


def _store(conn: Connection, staged: totals.Staged, rows: list[tuple[Any, ...]], other: str) -> int:
    """Stage one event type, drop ids the *other* type already holds (ids are unique across
    all events), store the rest with their totals; returns how many were new."""
    if not rows:
        return 0
    totals.stage(conn, staged, rows)
    conn.exec_driver_sql(
        f"DELETE FROM {staged.name} WHERE EXISTS"
        f" (SELECT 1 FROM {other} o WHERE o.id = {staged.name}.id)"
    )
    add = totals.add_conversions if staged is totals.STAGED_CONVERSIONS else totals.add_exposures
    stored = add(conn)
    totals.clear(conn, staged)
    return stored


async def read_ndjson_body(chunks: AsyncIterator[bytes], max_events: int) -> bytes:
    """Read an NDJSON body as it streams in, and stop reading as soon as it holds more lines
    than a batch may: an oversized batch is refused without being held in memory. (The body
    size limit is enforced by the framework as the bytes arrive.)"""
    parts: list[bytes] = []
    newlines = 0
    async for chunk in chunks:
        newlines += chunk.count(b"\n")
        if newlines > max_events:  # a trailing newline after the last event is fine
            raise _too_many(newlines, max_events, at_least=True)
        parts.append(chunk)
    return b"".join(parts)
