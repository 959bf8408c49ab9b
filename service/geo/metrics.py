"""Geo metrics: a KPI (or the channel's spend) per region and day, posted in batches.

``POST /v1/geo-metrics`` takes ``{"rows": [...]}`` or NDJSON, up to 100,000 rows. A batch is
validated as a whole: every bad row is named by its index (msgspec's message, an id longer than
the server allows, a date in the future, a key repeated inside the batch) and nothing is
stored. A row whose ``(geo, date, metric)`` is stored already restates it — data are restated
in practice — and the answer counts those as ``replaced``; the audit trail records each batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Engine

from service.admin import audit
from service.errors import InvalidInput
from service.events.decoding import describe_problem, problem, raw_items, rejected, too_many
from service.schema import GeoMetricBatch, GeoMetricResult, GeoMetricRow
from service.schema.common import MAX_BATCH, MAX_ID_LENGTH
from service.storage.geo import GeoRow, upsert_geo_rows
from service.storage.sql import write_transaction
from service.timeutil import to_us

__all__ = ["RowRules", "decode_rows", "record_rows"]

_row_decoder = msgspec.json.Decoder(GeoMetricRow)
_batch_decoder = msgspec.json.Decoder(GeoMetricBatch)


@dataclass(frozen=True, slots=True)
class RowRules:
    """What msgspec cannot know about a row: the server's id length and clock."""

    now: datetime
    max_id_length: int = MAX_ID_LENGTH
    future_skew: timedelta = timedelta(hours=24)


def _check(rows: Sequence[tuple[int, GeoMetricRow]], rules: RowRules) -> list[dict[str, Any]]:
    """Problems of decoded rows (by their batch index): too long an id, a date in the future, a
    key repeated inside the batch."""
    latest = (rules.now + rules.future_skew).date()
    first: dict[tuple[str, str, Any], int] = {}
    problems: list[dict[str, Any]] = []
    limit = rules.max_id_length
    for i, r in rows:
        if len(r.geo) > limit:
            problems.append(problem(i, "geo", f"longer than {limit} characters"))
        if r.date > latest:
            problems.append(problem(i, "date", f"{r.date} is in the future"))
        j = first.setdefault((r.metric, r.geo, r.date), i)
        if j != i:
            problems.append(problem(i, "geo", f"repeats row {j}'s (geo, date, metric)"))
    return problems


def _checked(
    raws: Sequence[bytes | msgspec.Raw] | None, rows: list[GeoMetricRow] | None, rules: RowRules
) -> list[GeoMetricRow]:
    """Every row decoded (one by one when the fast path failed) and checked; all problems of
    the batch in one 422."""
    problems: list[dict[str, Any]] = []
    indexed: list[tuple[int, GeoMetricRow]] = []
    if rows is not None:
        indexed = list(enumerate(rows))
    else:
        assert raws is not None
        for i, raw in enumerate(raws):
            try:
                indexed.append((i, _row_decoder.decode(raw)))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                problems.append(describe_problem(i, exc))
    problems += _check(indexed, rules)
    if problems:
        total = len(rows) if rows is not None else len(raws or ())
        bad = len({p["index"] for p in problems})
        ordered = sorted(problems, key=lambda p: p["index"])
        raise rejected(f"{bad} of {total} rows are invalid", ordered, "rows")
    return [r for _, r in indexed]


def _decode_items(
    items: Sequence[bytes | msgspec.Raw], rules: RowRules, max_rows: int, *, empty: str
) -> list[GeoMetricRow]:
    """Rows given one by one (NDJSON lines, or the items of a body the batch decoder refused):
    at least one and at most ``max_rows``, decoded in one C-level call when all are valid and
    else one by one, so each bad row is named."""
    if not items:
        raise InvalidInput(empty)
    if len(items) > max_rows:
        raise too_many(len(items), max_rows, "rows")
    try:
        decoded = msgspec.json.decode(b"[" + b",".join(items) + b"]", type=list[GeoMetricRow])
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _checked(items, None, rules)
    return _checked(None, decoded, rules)


def decode_rows(
    body: bytes, *, ndjson: bool, rules: RowRules, max_rows: int = MAX_BATCH
) -> list[GeoMetricRow]:
    """Decode and check a batch; raise :class:`InvalidInput` naming each bad row."""
    if ndjson:
        lines = [line for line in body.split(b"\n") if line.strip()]
        return _decode_items(lines, rules, max_rows, empty="The NDJSON body holds no rows.")
    try:
        batch = _batch_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as first:
        items = raw_items(body, "rows", first)
        return _decode_items(items, rules, max_rows, empty="The batch holds no rows.")
    if len(batch.rows) > max_rows:
        raise too_many(len(batch.rows), max_rows, "rows")
    return _checked(None, batch.rows, rules)


def record_rows(
    engine: Engine,
    rows: Sequence[GeoMetricRow],
    *,
    now: datetime,
    actor: str,
) -> GeoMetricResult:
    """Store a decoded batch (all or none); restated keys replace the stored value and are
    counted."""
    stored_rows = [GeoRow(r.metric, r.geo, r.date, r.value) for r in rows]
    with write_transaction(engine) as conn:
        replaced = upsert_geo_rows(conn, stored_rows, to_us(now))
        result = GeoMetricResult(stored=len(rows) - replaced, replaced=replaced)
        days = [r.date for r in rows]
        audit.record(conn, actor=actor, action="geo.metrics", target="geo-metrics",
                     change={"stored": result.stored, "replaced": result.replaced,
                             "metrics": sorted({r.metric for r in rows}),
                             "regions": len({r.geo for r in rows}),
                             "first_day": min(days), "last_day": max(days)},
                     now=now)  # fmt: skip
    return result
