"""A channel's costs: rows posted by the caller, keyed by the caller's id, restated by re-posting.

A batch is validated as a whole: a negative amount, an unknown kind or one id posted twice with
different values rejects the batch with 422 naming every bad row, and nothing is stored. A
period's cost is the sum of the rows dated inside it (pre-launch costs count in period 1), up
to the look's date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from service.admin import audit
from service.channels.lifecycle import ChannelRecord, load_channel
from service.errors import InvalidInput
from service.schema import COST_KINDS, ChannelCostResult, ChannelCostRow
from service.storage.sql import chunks, write_transaction
from service.storage.tables import channel_costs
from service.timeutil import from_us, to_us

__all__ = ["MAX_ERRORS_LISTED", "period_costs", "post_costs"]

MAX_ERRORS_LISTED = 100


def _problem(index: int, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message}


def _problems(rows: Sequence[ChannelCostRow]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        if not row.amount >= 0:
            problems.append(_problem(i, "amount", f"must be >= 0, got {row.amount:g}"))
        if row.kind not in COST_KINDS:
            kinds = ", ".join(COST_KINDS)
            problems.append(_problem(i, "kind", f"{row.kind!r} is not one of {kinds}"))
        j = first.setdefault(row.id, i)
        if j != i and rows[j] != row:
            problems.append(_problem(i, "id", f"id {row.id!r} is at index {j} with other values"))
    return problems


def _values(row: ChannelCostRow) -> tuple[str, float, str, str | None]:
    return (row.date.isoformat(), float(row.amount), row.kind, row.note)


def post_costs(
    engine: Engine,
    key: str,
    rows: Sequence[ChannelCostRow],
    now: datetime,
    *,
    actor: str = "system",
) -> ChannelCostResult:
    """Store new ids, restate known ids whose values differ; all or nothing."""
    problems = _problems(rows)
    if problems:
        raise InvalidInput(
            f"{len({p['index'] for p in problems})} of {len(rows)} cost rows are invalid;"
            " nothing was stored. Fix the rows listed in 'extra' (index, field, message):"
            " amounts are >= 0 and kind is one of " + ", ".join(COST_KINDS) + ".",
            extra=problems[:MAX_ERRORS_LISTED],
        )
    latest = {row.id: row for row in rows}
    with write_transaction(engine) as conn:
        record = load_channel(conn, key, for_update=True)
        stored = _stored(conn, record.id, list(latest))
        new = [r for i, r in latest.items() if i not in stored]
        changed = [r for i, r in latest.items() if i in stored and stored[i] != _values(r)]
        for part in chunks([r.id for r in changed]):
            conn.execute(
                delete(channel_costs).where(
                    channel_costs.c.channel_id == record.id, channel_costs.c.id.in_(part)
                )
            )
        if new or changed:
            at = to_us(now)
            conn.execute(
                channel_costs.insert(),
                [
                    {"channel_id": record.id, "id": r.id, "date": r.date.isoformat(),
                     "amount": float(r.amount), "kind": r.kind, "note": r.note,
                     "recorded_at": at}
                    for r in [*new, *changed]
                ],
            )  # fmt: skip
        result = ChannelCostResult(
            stored=len(new), replaced=len(changed), unchanged=len(latest) - len(new) - len(changed)
        )
        audit.record(conn, actor=actor, action="channel.costs", target=key,
                     change={"stored": result.stored, "replaced": result.replaced,
                             "unchanged": result.unchanged}, now=now)  # fmt: skip
    return result


def _stored(
    conn: Connection, channel_id: int, ids: Sequence[str]
) -> dict[str, tuple[str, float, str, str | None]]:
    found = {}
    for part in chunks(ids):
        query = select(
            channel_costs.c.id, channel_costs.c.date, channel_costs.c.amount,
            channel_costs.c.kind, channel_costs.c.note,
        ).where(channel_costs.c.channel_id == channel_id, channel_costs.c.id.in_(part))  # fmt: skip
        for cid, day, amount, kind, note in conn.execute(query):
            found[cid] = (day, float(amount), kind, note)
    return found


def period_costs(
    conn: Connection, record: ChannelRecord, period: int, as_of: datetime
) -> dict[str, float]:
    """Cost per kind of the rows dated in ``period`` (period 1 also takes earlier rows), up to
    the date of ``as_of``; every kind is present (0 when none)."""
    begins, ends = record.bounds(period)
    # A period owns the days from its first to the next period's first (exclusive).
    before = min(from_us(ends).date(), as_of.date() + timedelta(days=1))
    query = (
        select(channel_costs.c.kind, func.sum(channel_costs.c.amount))
        .where(channel_costs.c.channel_id == record.id)
        .where(channel_costs.c.date < before.isoformat())
        .group_by(channel_costs.c.kind)
    )
    if period > 1:
        query = query.where(channel_costs.c.date >= from_us(begins).date().isoformat())
    totals: dict[str, float] = dict.fromkeys(COST_KINDS, 0.0)
    for kind, amount in conn.execute(query):
        totals[kind] = float(amount or 0.0)
    return totals
