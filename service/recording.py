"""Assignment requests and imports: compute groups, record first assignments, read them back.

A customer's group is decided by :mod:`service.assignment`; the first time a customer lands in
the holdout or a variant, that group and time are recorded once (``INSERT ... ON CONFLICT DO
NOTHING``), so later calls keep the first ``assigned_at`` and the attribution window starts at
the first decision. ``not_in_pilot`` is never recorded: a later traffic increase may bring the
customer in.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, Engine, select

from service import audit
from service.assignment import NOT_IN_PILOT
from service.errors import Conflict, InvalidInput, NotFound
from service.pilots import PilotRecord, load_pilot
from service.schema import ImportedAssignment
from service.storage import totals
from service.storage.groupcommit import GroupCommit
from service.storage.sql import chunks, read_transaction, write_transaction
from service.storage.tables import assignments, pilots
from service.timeutil import US_PER_DAY, from_us, to_us, utc_now

__all__ = ["Recorded", "assign_customers", "import_assignments", "recorded_assignment"]


@dataclass(frozen=True, slots=True)
class Recorded:
    customer_id: str
    group: str
    assigned_at: datetime
    source: str


def _recorded_groups(
    conn: Connection, pilot_id: int, customer_ids: Sequence[str]
) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    unique = list(dict.fromkeys(customer_ids))
    for part in chunks(unique):
        rows = conn.execute(
            select(assignments.c.customer_id, assignments.c.grp, assignments.c.assigned_at)
            .where(assignments.c.pilot_id == pilot_id)
            .where(assignments.c.customer_id.in_(part))
        )
        for cid, grp, at in rows:
            found[cid] = (grp, at)
    return found


def _insert_new(
    conn: Connection, record: PilotRecord, rows: dict[str, tuple[str, int, str]]
) -> int:
    """Record the customers of ``rows`` (customer → group, assigned_at, source) that have no
    assignment yet, with their window totals; returns how many were new.

    Rows go in customer order: two processes inserting overlapping batches in different orders
    would otherwise deadlock on PostgreSQL's unique index.
    """
    if not rows:
        return 0
    pilot = record.pilot
    window = pilot.attribution_window_days * US_PER_DAY
    lookback = pilot.covariate_lookback_days * US_PER_DAY
    staged = totals.STAGED_ASSIGNMENTS
    totals.stage(conn, staged, ((c, *rows[c]) for c in sorted(rows)))
    if totals.is_postgres(conn):
        return totals.record_assignments_postgres(conn, record.id, window, lookback)
    # SQLite holds the write lock: what is not recorded now is new.
    conn.exec_driver_sql(
        f"DELETE FROM {staged.name} WHERE EXISTS (SELECT 1 FROM assignments a"
        f" WHERE a.pilot_id = ? AND a.customer_id = {staged.name}.customer_id)",
        (record.id,),
    )
    new = conn.exec_driver_sql(
        "INSERT INTO assignments (pilot_id, customer_id, grp, assigned_at, source)"
        f" SELECT ?, customer_id, grp, assigned_at, source FROM {staged.name}"
        " ORDER BY customer_id",
        (record.id,),
    ).rowcount
    if new:
        totals.build_for_assignments(conn, record.id, window, lookback)
    totals.clear(conn, staged)
    return max(new, 0)


@dataclass(frozen=True, slots=True)
class _AssignmentWrite:
    record: PilotRecord
    customer_ids: Sequence[str]
    groups: list[str]
    at: int


def _write_assignments(
    engine: Engine, writes: Sequence[_AssignmentWrite]
) -> list[tuple[list[str], int]]:
    """Record the first assignments of several requests in one transaction; per request, its
    groups (imported customers keep their recorded group) and the number of new recordings
    (counted once per pilot and transaction, on the pilot's first request)."""
    results: list[tuple[list[str], int]] = [(w.groups, 0) for w in writes]
    by_pilot: dict[int, list[int]] = {}
    for i, w in enumerate(writes):
        by_pilot.setdefault(w.record.id, []).append(i)
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "assignments")
        for indexes in by_pilot.values():
            record = writes[indexes[0]].record
            rows: dict[str, tuple[str, int, str]] = {}
            if any(writes[i].record.has_imports for i in indexes):
                # Imported (externally randomized) customers keep their recorded group.
                ids = [c for i in indexes for c in writes[i].customer_ids]
                recorded = _recorded_groups(conn, record.id, ids)
                for i in indexes:
                    w = writes[i]
                    groups = [recorded[c][0] if c in recorded else g
                              for c, g in zip(w.customer_ids, w.groups)]  # fmt: skip
                    results[i] = (groups, 0)
            for i in indexes:
                w = writes[i]
                for cid, grp in zip(w.customer_ids, results[i][0]):
                    if grp != NOT_IN_PILOT and cid not in rows:  # the earliest request wins
                        rows[cid] = (grp, w.at, "hash")
            results[indexes[0]] = (results[indexes[0]][0], _insert_new(conn, record, rows))
    return results


# Requests up to this size share transactions; larger ones amortize their own commit.
GROUP_COMMIT_MAX_IDS = 1000

_writers: weakref.WeakKeyDictionary[Engine, GroupCommit[_AssignmentWrite, tuple[list[str], int]]]
_writers = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def _writer(engine: Engine) -> GroupCommit[_AssignmentWrite, tuple[list[str], int]]:
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupCommit(partial(_write_assignments, engine))
        return writer


def assign_customers(
    engine: Engine, key: str, customer_ids: Sequence[str], now: datetime
) -> tuple[str, list[str], int]:
    """Groups for ``customer_ids`` (in order) and how many were newly recorded.

    Groups are computed in the caller's thread; the recording goes through the engine's group
    commit, so concurrent requests share one transaction and fsync, and each returns only once
    its customers are on disk.
    """
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
    if record.pilot.status != "running":
        raise Conflict(
            f"Pilot {key!r} is {record.pilot.status}; only a running pilot assigns customers."
            + (" Start it first." if record.pilot.status == "draft" else "")
        )
    groups = record.rule().assign(customer_ids)
    write = _AssignmentWrite(record, customer_ids, groups, to_us(now))
    if len(customer_ids) > GROUP_COMMIT_MAX_IDS:  # a large batch amortizes its own commit
        groups, new = _write_assignments(engine, [write])[0]
    else:
        groups, new = _writer(engine).submit(write)
    return record.pilot.key, groups, new


def recorded_assignment(engine: Engine, key: str, customer_id: str) -> Recorded:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        row = conn.execute(
            select(assignments.c.grp, assignments.c.assigned_at, assignments.c.source).where(
                assignments.c.pilot_id == record.id, assignments.c.customer_id == customer_id
            )
        ).one_or_none()
    if row is None:
        raise NotFound(f"Customer {customer_id!r} has no recorded assignment in pilot {key!r}.")
    return Recorded(customer_id, row.grp, from_us(row.assigned_at), row.source)


def _check_import_groups(record: PilotRecord, items: Sequence[ImportedAssignment]) -> None:
    allowed = {"holdout", *(v.key for v in record.pilot.variants)}
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
        totals.lock_gate(conn, "assignments")
        record = load_pilot(conn, key, for_update=True)
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
