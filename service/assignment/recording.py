"""Assignment requests and imports: compute groups, record first assignments, read them back.

A customer's group is decided by :mod:`service.assignment.rule`; the first time a customer lands in
the holdout or a variant, that group and time are recorded once (``INSERT ... ON CONFLICT DO
NOTHING``), so later calls keep the first ``assigned_at`` and the attribution window starts at
the first decision. ``not_in_pilot`` is never recorded: a later traffic increase may bring the
customer in.

A pilot whose ``channel`` has a running channel holdout answers ``channel_holdout`` for the
customers held out this period (:func:`respect_channel`): they are not recorded as pilot
members, and every customer the pilot is asked about is recorded as a member of the channel's
period (eligible or held out, so the channel compares like with like). The channel is read in
the recording transaction, like the pilot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from service.admin import audit
from service.channels.eligibility import member_rows, running_channel
from service.channels.lifecycle import ChannelRecord
from service.errors import Conflict, InvalidInput, NotFound
from service.geo.rules import regions_not_customers
from service.pilots.lifecycle import PilotRecord, load_pilot
from service.schema import ImportedAssignment, RecordedAssignment
from service.schema.common import CHANNEL_HOLDOUT, ELIGIBLE, HOLDOUT, NOT_IN_PILOT
from service.storage import totals
from service.storage.channels import record_members
from service.storage.sql import chunks, read_transaction, write_transaction
from service.storage.tables import assignments, pilots
from service.timeutil import from_us, to_us, utc_now

__all__ = [
    "AssignmentWrite",
    "WriteResult",
    "assign_customers",
    "import_assignments",
    "not_running",
    "record_assignments",
    "recorded_assignment",
    "respect_channel",
]


def _recorded_groups(
    conn: Connection, pilot_id: int, customer_ids: Sequence[str]
) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    unique = list(dict.fromkeys(customer_ids))
    for part in chunks(unique):
        rows = conn.execute(
            select(assignments.c.customer_id, assignments.c.group, assignments.c.assigned_at)
            .where(assignments.c.pilot_id == pilot_id)
            .where(assignments.c.customer_id.in_(part))
        )
        for cid, group, at in rows:
            found[cid] = (group, at)
    return found


def _insert_new(
    conn: Connection, record: PilotRecord, rows: dict[str, tuple[str, int, str]]
) -> int:
    """Record the customers of ``rows`` (customer → group, assigned_at, source) that have no
    assignment yet; returns how many were new."""
    if not rows:
        return 0
    return totals.record_assignments(conn, record.id, [(c, *rows[c]) for c in sorted(rows)])


@dataclass(frozen=True, slots=True)
class AssignmentWrite:
    """One request's customers and the groups computed for them from ``record``."""

    record: PilotRecord
    customer_ids: Sequence[str]
    groups: list[str]
    at: int
    channel: ChannelRecord | None = None  # the running channel the groups respect, if any


# Per request: its groups (imported customers keep their recorded group) and how many customers
# were newly recorded; or the error for that request alone.
WriteResult = tuple[list[str], int]


def not_running(record: PilotRecord) -> Conflict:
    status = record.pilot.status
    return Conflict(
        f"Pilot {record.pilot.key!r} is {status}; only a running pilot assigns customers."
        + (" Start it first." if status == "draft" else "")
    )


def respect_channel(
    channel: ChannelRecord | None, customer_ids: Sequence[str], groups: list[str], at: int
) -> list[str]:
    """``groups`` with ``channel_holdout`` for the customers the running ``channel`` holds out
    in the period of ``at`` (unchanged without a channel)."""
    if channel is None:
        return groups
    held = channel.rule(channel.period_at(at)).held_out(customer_ids)
    return [CHANNEL_HOLDOUT if h else g for g, h in zip(groups, held)]


def _record_channel_members(
    conn: Connection, channel: ChannelRecord, writes: Sequence[AssignmentWrite],
    groups: dict[int, list[str]],
) -> None:  # fmt: skip
    """Every customer a pilot of ``channel`` was asked about is a member of its period."""
    for i, gs in groups.items():
        w = writes[i]
        kinds = [CHANNEL_HOLDOUT if g == CHANNEL_HOLDOUT else ELIGIBLE for g in gs]
        record_members(
            conn, channel.id, channel.period_at(w.at), member_rows(w.customer_ids, kinds, w.at)
        )


def _keep_recorded(
    recorded: dict[str, tuple[str, int]], customer_ids: Sequence[str], groups: list[str]
) -> list[str]:
    return [recorded[c][0] if c in recorded else g for c, g in zip(customer_ids, groups)]


def record_assignments(
    engine: Engine,
    writes: Sequence[AssignmentWrite],
    on_fresh: Callable[[PilotRecord], None] | None = None,
    on_channel: Callable[[str, ChannelRecord | None], None] | None = None,
) -> list[WriteResult | Exception]:
    """Record the first assignments of several requests in one transaction.

    Each pilot is read again inside the transaction: a pilot stopped since the request's record
    was read gets 409, and one changed since (a traffic ramp, a first import) has its groups
    computed again from the stored design, so a stale copy never records a wrong group. The
    pilot's channel is read likewise: a channel started, stopped or changed since the request's
    copy has its groups computed again. ``on_fresh`` sees every pilot as read here and
    ``on_channel`` every pilot's channel (the caller's caches). New recordings are
    counted once per pilot and transaction, on that pilot's first request.
    """
    results: list[WriteResult | Exception] = [(w.groups, 0) for w in writes]
    by_pilot: dict[int, list[int]] = {}
    for i, w in enumerate(writes):
        by_pilot.setdefault(w.record.id, []).append(i)
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "facts")
        for indexes in by_pilot.values():
            record = load_pilot(conn, writes[indexes[0]].record.pilot.key)
            if on_fresh is not None:
                on_fresh(record)
            if record.pilot.status != "running":
                for i in indexes:
                    results[i] = not_running(record)
                continue
            channel = running_channel(conn, record.pilot.channel)
            if on_channel is not None:
                on_channel(record.pilot.channel, channel)
            groups = {i: writes[i].groups for i in indexes}
            stale = [
                i for i in indexes if (writes[i].record, writes[i].channel) != (record, channel)
            ]
            if stale:
                rule = record.rule()
                for i in stale:
                    w = writes[i]
                    groups[i] = respect_channel(channel, w.customer_ids,
                                                rule.assign(w.customer_ids), w.at)  # fmt: skip
            if record.has_imports:
                # Imported (externally randomized) customers keep their recorded group.
                ids = [c for i in indexes for c in writes[i].customer_ids]
                recorded = _recorded_groups(conn, record.id, ids)
                for i, gs in groups.items():
                    kept = _keep_recorded(recorded, writes[i].customer_ids, gs)
                    groups[i] = respect_channel(channel, writes[i].customer_ids, kept, writes[i].at)
            rows: dict[str, tuple[str, int, str]] = {}
            for i in indexes:
                for cid, group in zip(writes[i].customer_ids, groups[i]):
                    # Channel-held-out customers are never pilot members; the earliest wins.
                    if group not in (NOT_IN_PILOT, CHANNEL_HOLDOUT) and cid not in rows:
                        rows[cid] = (group, writes[i].at, "hash")
            new = _insert_new(conn, record, rows)
            if channel is not None:
                _record_channel_members(conn, channel, writes, groups)
            for i in indexes:
                results[i] = (groups[i], new if i == indexes[0] else 0)
    return results


def assign_customers(
    engine: Engine, key: str, customer_ids: Sequence[str], now: datetime
) -> tuple[str, list[str], int]:
    """Groups for ``customer_ids`` (in order) and how many were newly recorded, in one
    transaction of its own (the HTTP service shares transactions: :mod:`.assigner`)."""
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
    if record.pilot.status != "running":
        raise not_running(record)
    write = AssignmentWrite(record, customer_ids, record.rule().assign(customer_ids), to_us(now))
    (result,) = record_assignments(engine, [write])
    if isinstance(result, Exception):
        raise result
    groups, new = result
    return record.pilot.key, groups, new


def recorded_assignment(engine: Engine, key: str, customer_id: str) -> RecordedAssignment:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        row = conn.execute(
            select(assignments.c.group, assignments.c.assigned_at, assignments.c.source).where(
                assignments.c.pilot_id == record.id, assignments.c.customer_id == customer_id
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"Customer {customer_id!r} has no recorded assignment in pilot {key!r}.")
    return RecordedAssignment(
        experiment=key,
        customer_id=customer_id,
        group=row.group,
        assigned_at=from_us(row.assigned_at),
        source=row.source,
    )


def _check_import_groups(record: PilotRecord, items: Sequence[ImportedAssignment]) -> None:
    allowed = {HOLDOUT, *(v.key for v in record.pilot.variants)}
    errors = [
        {
            "index": i,
            "field": "group",
            "message": f"{item.group!r} is not a group of this pilot"
            f" ({', '.join(sorted(allowed))})",
        }
        for i, item in enumerate(items)
        if item.group not in allowed
    ]
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        first = seen.setdefault(item.customer_id, i)
        if first != i and items[first].group != item.group:
            errors.append(
                {
                    "index": i,
                    "field": "customer_id",
                    "message": f"customer {item.customer_id!r} appears at index {first}"
                    " with another group",
                }
            )
    if errors:
        raise InvalidInput(
            f"{len(errors)} imported assignment(s) are invalid; nothing was imported.",
            extra=errors[:100],
        )


def import_assignments(
    engine: Engine,
    key: str,
    items: Sequence[ImportedAssignment],
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> tuple[int, int]:
    """Record externally randomized assignments; returns (imported, unchanged)."""
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "facts")
        record = load_pilot(conn, key, for_update=True)
        if record.pilot.unit == "geo":
            raise regions_not_customers(record.pilot)
        if record.pilot.status == "concluded":
            raise Conflict(f"Pilot {key!r} is concluded; it no longer takes assignments.")
        _check_import_groups(record, items)
        unique = {item.customer_id: item for item in items}
        recorded = _recorded_groups(conn, record.id, list(unique))
        clashes = [
            f"{cid!r} is recorded in {recorded[cid][0]!r}, not {item.group!r}"
            for cid, item in unique.items()
            if cid in recorded and recorded[cid][0] != item.group
        ]
        if clashes:
            raise Conflict(
                f"{len(clashes)} customer(s) are already recorded in another group; nothing was"
                " imported.",
                extra=clashes[:100],
            )
        rows = {
            cid: (item.group, to_us(item.assigned_at), "import")
            for cid, item in unique.items()
            if cid not in recorded
        }
        imported = _insert_new(conn, record, rows)
        if imported and not record.has_imports:
            conn.execute(pilots.update().where(pilots.c.id == record.id).values(has_imports=True))
        audit.record(conn, actor=actor, action="assignments.import", target=key,
                     change={"imported": imported, "unchanged": len(items) - imported},
                     now=now or utc_now())  # fmt: skip
    return imported, len(items) - imported
