"""Per-customer window totals, kept current by every write, so results never join all events.

The results of a pilot need, per assigned customer and conversion event, the count and value
of the events inside the attribution window ``[assigned_at, assigned_at + window)`` and in the
pre-period ``[assigned_at - lookback, assigned_at)``, and per customer the exposures. Joining
every assignment with every event at each look costs about 1 µs per customer on SQLite (3.7 s
for a million customers). Instead ``customer_totals`` holds exactly those numbers and is
updated in the transaction that writes the facts:

* **new assignment** → its totals are built from the conversions and exposures already stored
  (imports and late assignment requests can follow the events);
* **new conversion** → added to the totals of every pilot the customer is assigned to, when it
  falls in that pilot's window or pre-period;
* **new exposure** → added to the customer's exposure row for that pilot.

``last_ts`` is the latest event a row counts. Results as of a time after it read the row as it
is; a row with a later event (a look into the past, or events dated up to 24 h ahead) is
recomputed from the raw events, so every ``as_of`` is exact and the usual look costs a scan.

Concurrency. SQLite has one writer at a time. On PostgreSQL an ingestion and a first
assignment of the same customer could otherwise each miss the other's uncommitted row, so they
are kept apart by a table lock on the empty ``totals_gate``: ingestions take SHARE (they run in
parallel with each other), assignment recording takes ROW EXCLUSIVE (also parallel with each
other), and the two modes conflict. Each transaction takes the gate first and nothing else
before it, so the gate cannot take part in a deadlock. Rows are written in key order for the
same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, text

from service.storage.staging import Staged, Target, insert_new, is_postgres
from service.storage.tables import ID_WIDTH

__all__ = [
    "EXPOSURE_EVENT",
    "lock_gate",
    "rebuild_pilot",
    "record_assignments",
    "store_conversions",
    "store_exposures",
]

EXPOSURE_EVENT = ""  # the totals row of a customer's exposures (event names are non-empty)

_COLUMNS = (
    'pilot_id, event, "group", customer_id, assigned_at,'
    " n_window, value_window, n_pre, value_pre, last_ts"
)
_ADD_ON_CONFLICT = """
    ON CONFLICT (pilot_id, event, "group", customer_id) DO UPDATE SET
        n_window = customer_totals.n_window + excluded.n_window,
        value_window = customer_totals.value_window + excluded.value_window,
        n_pre = customer_totals.n_pre + excluded.n_pre,
        value_pre = customer_totals.value_pre + excluded.value_pre,
        last_ts = CASE WHEN excluded.last_ts > customer_totals.last_ts
                       THEN excluded.last_ts ELSE customer_totals.last_ts END
"""
_ID = f"VARCHAR({ID_WIDTH})"

_STAGED_CONVERSIONS = Staged(
    "staged_conversions",
    (("id", _ID), ("customer_id", _ID), ("event", "VARCHAR(64)"), ("ts", "BIGINT"),
     ("value", "DOUBLE PRECISION")),
)  # fmt: skip
_STAGED_EXPOSURES = Staged(
    "staged_exposures",
    (("id", _ID), ("pilot_id", "INTEGER"), ("customer_id", _ID), ("ts", "BIGINT")),
)
_STAGED_ASSIGNMENTS = Staged(
    "staged_assignments",
    (("customer_id", _ID), ('"group"', "VARCHAR(64)"), ("assigned_at", "BIGINT"),
     ("source", "VARCHAR(8)")),
)  # fmt: skip


def _event_target(table: str, staged: Staged) -> Target:
    # Rows arrive in customer order (see events.ingestion) and SQLite inserts them so; on
    # PostgreSQL the primary key's order keeps concurrent ingestions from deadlocking.
    return Target(
        table=table,
        columns=staged.column_list,
        select=staged.column_list,
        same_key="t.id = {s}.id",
        postgres_order="ORDER BY id",
        sqlite_order="ORDER BY customer_id",
    )


_ASSIGNMENT_TARGET = Target(
    table="assignments",
    columns='pilot_id, customer_id, "group", assigned_at, source',
    select=':pilot_id, customer_id, "group", assigned_at, source',
    same_key="t.pilot_id = :pilot_id AND t.customer_id = {s}.customer_id",
    postgres_order="ORDER BY customer_id",
    sqlite_order="ORDER BY customer_id",
)


def lock_gate(conn: Connection, mode: Literal["events", "assignments", "exclusive"]) -> None:
    """Take the PostgreSQL gate first thing in a writing transaction (no-op on SQLite)."""
    if is_postgres(conn):
        lock = {"events": "SHARE", "assignments": "ROW EXCLUSIVE"}.get(mode, "EXCLUSIVE")
        conn.exec_driver_sql(f"LOCK TABLE totals_gate IN {lock} MODE")


def _build_select(source: str) -> str:
    """Totals of new assignments from the events already stored.

    ``source`` yields ``customer_id, group, assigned_at`` of assignments that have no totals yet;
    the pilot is ``:pilot_id`` with ``:window`` and ``:lookback`` in microseconds.
    """
    return f"""
        SELECT :pilot_id, c.event, s."group", s.customer_id, s.assigned_at,
            SUM(CASE WHEN c.ts >= s.assigned_at THEN 1 ELSE 0 END),
            SUM(CASE WHEN c.ts >= s.assigned_at THEN c.value ELSE 0 END),
            SUM(CASE WHEN c.ts < s.assigned_at THEN 1 ELSE 0 END),
            SUM(CASE WHEN c.ts < s.assigned_at THEN c.value ELSE 0 END),
            MAX(CASE WHEN c.ts >= s.assigned_at THEN c.ts ELSE 0 END)
        FROM {source} s CROSS JOIN conversions c
        WHERE c.customer_id = s.customer_id
            AND c.ts >= s.assigned_at - :lookback AND c.ts < s.assigned_at + :window
        GROUP BY c.event, s."group", s.customer_id, s.assigned_at
        UNION ALL
        SELECT :pilot_id, CAST('' AS VARCHAR(64)), s."group", s.customer_id, s.assigned_at,
            COUNT(*), 0, 0, 0, MAX(e.ts)
        FROM {source} s CROSS JOIN exposures e
        WHERE e.pilot_id = :pilot_id AND e.customer_id = s.customer_id
        GROUP BY s."group", s.customer_id, s.assigned_at
    """


def _totals_of_new_assignments(source: str, _order: str) -> str:
    return f"INSERT INTO customer_totals ({_COLUMNS}) {_build_select(source)}"


def record_assignments(
    conn: Connection,
    pilot_id: int,
    rows: Sequence[tuple[str, str, int, str]],
    *,
    window_us: int,
    lookback_us: int,
) -> int:
    """Record the assignments ``(customer, group, assigned_at, source)`` that are new, in
    customer order, with their totals built from the events already stored; returns how many
    were new. (Rows go in customer order: two processes inserting overlapping batches in
    different orders would otherwise deadlock on PostgreSQL's unique index.)"""
    return insert_new(
        conn,
        _STAGED_ASSIGNMENTS,
        rows,
        _ASSIGNMENT_TARGET,
        params={"pilot_id": pilot_id, "window": window_us, "lookback": lookback_us},
        follow_up=_totals_of_new_assignments,
    )


def _conversion_upsert(source: str, order: str) -> str:
    return f"""
        INSERT INTO customer_totals ({_COLUMNS})
        SELECT a.pilot_id, s.event, a."group", a.customer_id, a.assigned_at,
            SUM(CASE WHEN s.ts >= a.assigned_at THEN 1 ELSE 0 END),
            SUM(CASE WHEN s.ts >= a.assigned_at THEN s.value ELSE 0 END),
            SUM(CASE WHEN s.ts < a.assigned_at THEN 1 ELSE 0 END),
            SUM(CASE WHEN s.ts < a.assigned_at THEN s.value ELSE 0 END),
            MAX(CASE WHEN s.ts >= a.assigned_at THEN s.ts ELSE 0 END)
        FROM {source} s CROSS JOIN assignments a CROSS JOIN pilots p
        WHERE a.customer_id = s.customer_id AND p.id = a.pilot_id
            AND s.ts >= a.assigned_at - p.lookback_us AND s.ts < a.assigned_at + p.window_us
        GROUP BY a.pilot_id, s.event, a."group", a.customer_id, a.assigned_at
        {order}
        {_ADD_ON_CONFLICT}
    """


def _exposure_upsert(source: str, order: str) -> str:
    return f"""
        INSERT INTO customer_totals ({_COLUMNS})
        SELECT a.pilot_id, CAST('' AS VARCHAR(64)), a."group", a.customer_id, a.assigned_at,
            COUNT(*), 0, 0, 0, MAX(s.ts)
        FROM {source} s CROSS JOIN assignments a
        WHERE a.pilot_id = s.pilot_id AND a.customer_id = s.customer_id
        GROUP BY a.pilot_id, a."group", a.customer_id, a.assigned_at
        {order}
        {_ADD_ON_CONFLICT}
    """


def store_conversions(conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
    """Store the conversions ``(id, customer, event, ts, value)`` not stored yet (ids are
    unique across both event tables) and add them to every pilot's totals they count for."""
    if not rows:
        return 0
    return insert_new(
        conn,
        _STAGED_CONVERSIONS,
        rows,
        _event_target("conversions", _STAGED_CONVERSIONS),
        unique_with="exposures",
        follow_up=_conversion_upsert,
    )


def store_exposures(conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
    """Store the exposures ``(id, pilot, customer, ts)`` not stored yet and add them to their
    pilot's totals."""
    if not rows:
        return 0
    return insert_new(
        conn,
        _STAGED_EXPOSURES,
        rows,
        _event_target("exposures", _STAGED_EXPOSURES),
        unique_with="conversions",
        follow_up=_exposure_upsert,
    )


def rebuild_pilot(conn: Connection, pilot_id: int, window_us: int, lookback_us: int) -> None:
    """Recompute one pilot's totals from its assignments (after a draft's windows change)."""
    conn.execute(text("DELETE FROM customer_totals WHERE pilot_id = :p"), {"p": pilot_id})
    source = (
        '(SELECT customer_id, "group", assigned_at FROM assignments WHERE pilot_id = :pilot_id)'
    )
    conn.execute(
        text(_totals_of_new_assignments(source, "")),
        {"pilot_id": pilot_id, "window": window_us, "lookback": lookback_us},
    )
