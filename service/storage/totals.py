"""Per-customer window totals, so results never join all events: written by the aggregator.

The results of a pilot need, per assigned customer and conversion event, the count and value
of the events inside the attribution window ``[assigned_at, assigned_at + window)`` and in the
pre-period ``[assigned_at - lookback, assigned_at)``, and per customer the exposures. Joining
every assignment with every event at each look costs about 1 µs per customer on SQLite (3.7 s
for a million customers). Instead ``customer_totals`` holds exactly those numbers.

Writes of facts (assignments, exposures, conversions) only store the rows, each tagged with
``seq``, the number of the transaction that wrote it (:func:`write_seq`). The aggregator
(:mod:`service.storage.aggregator`) later *folds* every row with ``seq`` in
``[folded_below, horizon)`` into the totals in one transaction and moves the watermark
``aggregation.folded_below`` to the horizon, so the totals always hold exactly the rows below
the watermark:

* **assignment beyond the watermark** → its totals are built from the conversions and
  exposures below the horizon (imports and late assignment requests can follow the events);
* **conversion beyond the watermark** → added to the totals of every pilot its customer was
  assigned to below the watermark, when it falls in that pilot's window or pre-period;
* **exposure beyond the watermark** → likewise, to the customer's exposure row of that pilot.

Results read the stored totals and replace the rows of customers with facts beyond the
watermark by values computed from the raw rows (:mod:`service.storage.aggregates`), so they
are exact however far the aggregator lags.

``last_ts`` is the latest event a row counts. Results as of a time before it recompute the row
from the raw events (a look into the past, or events dated up to 24 h ahead).

Concurrency. Writers of facts never touch the totals, so they no longer wait for each other
here. Whoever writes the totals (the aggregator, a draft's rebuild, a customer's erasure) takes
the totals lock first (:func:`lock_totals`; on SQLite the single writer is the lock). An
erasure also takes the gate in EXCLUSIVE mode, which waits for the writers of facts (they
hold it in ROW EXCLUSIVE mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, text

from service.storage.staging import Staged, Target, insert_new, is_postgres
from service.storage.tables import ID_WIDTH

__all__ = [
    "EXPOSURE_EVENT",
    "FACT_TABLES",
    "any_unfolded",
    "fold",
    "folded_below",
    "lock_gate",
    "lock_totals",
    "rebuild_pilot",
    "record_assignments",
    "store_events",
    "write_seq",
]

EXPOSURE_EVENT = ""  # the totals row of a customer's exposures (event names are non-empty)
FACT_TABLES = ("assignments", "exposures", "conversions")  # the rows that carry ``seq``

# The advisory lock of whoever writes customer_totals on PostgreSQL (an arbitrary constant).
_TOTALS_LOCK = 1885957232

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


SEQ_ROWS = 2_000
"""On SQLite a transaction numbers its rows in runs of this many (``seq`` + the run's index),
so the aggregator can fold a 100k-row batch in several short passes: each pass holds the one
write lock (PostgreSQL tags a transaction's rows with its id; a pass there blocks no writer)."""


_XACT_SEQ = "pg_current_xact_id()::text::bigint"
"""PostgreSQL's ``seq``: the writing transaction's id, read in the insert itself (no round
trip of its own)."""


def _row_seq(conn: Connection) -> str:
    """The ``seq`` of a staged row in an ``INSERT ... SELECT`` from the stage."""
    return _XACT_SEQ if is_postgres(conn) else f"(:seq + (rowid - 1) / {SEQ_ROWS})"


def _seq_params(conn: Connection, rows: int) -> dict[str, object]:
    """The parameters :func:`_row_seq` needs for a write of ``rows`` rows (none on PostgreSQL)."""
    return {} if is_postgres(conn) else {"seq": write_seq(conn, rows)}


def _event_target(table: str, staged: Staged, row_seq: str) -> Target:
    # Rows arrive in customer order (see events.ingestion) and SQLite inserts them so; on
    # PostgreSQL the primary key's order keeps concurrent ingestions from deadlocking.
    return Target(
        table=table,
        columns=f"{staged.column_list}, seq",
        select=f"{staged.column_list}, {row_seq}",
        same_key="t.id = {s}.id",
        postgres_order="ORDER BY id",
        sqlite_order="ORDER BY customer_id",
        expect_new=True,
        constants=(("seq", "int8", _XACT_SEQ),),
    )


def _assignment_target(row_seq: str) -> Target:
    return Target(
        table="assignments",
        columns='pilot_id, customer_id, "group", assigned_at, source, seq',
        select=f':pilot_id, customer_id, "group", assigned_at, source, {row_seq}',
        same_key="t.pilot_id = :pilot_id AND t.customer_id = {s}.customer_id",
        postgres_order="ORDER BY customer_id",
        sqlite_order="ORDER BY customer_id",
        new_if_sample_is=True,
        constants=(("pilot_id", "int4", "CAST(:pilot_id AS INTEGER)"), ("seq", "int8", _XACT_SEQ)),
    )


def write_seq(conn: Connection, rows: int = 1) -> int:
    """The number this write transaction tags its (up to ``rows``) rows with: PostgreSQL's
    transaction id, or on SQLite the next value of a counter, advanced past the runs of
    :data:`SEQ_ROWS` rows (the one writer holds the lock, so numbers of committed transactions
    never pass a running one)."""
    if is_postgres(conn):
        return int(conn.exec_driver_sql(f"SELECT {_XACT_SEQ}").scalar_one())
    runs = max(1, -(-rows // SEQ_ROWS))
    last = conn.execute(
        text("UPDATE aggregation SET last_seq = last_seq + :runs WHERE id = 1 RETURNING last_seq"),
        {"runs": runs},
    ).scalar_one()
    return int(last) - runs + 1


def folded_below(conn: Connection) -> int:
    """The watermark: the totals hold exactly the rows with a lower ``seq``."""
    return int(conn.exec_driver_sql("SELECT folded_below FROM aggregation").scalar_one())


def any_unfolded(conn: Connection, watermark: int) -> bool:
    """Whether any fact lies beyond ``watermark``: the largest ``seq`` of each table, one
    step down the end of its index (a filtered ``EXISTS`` may scan a whole table when the
    planner expects many matches and there are none)."""
    return any(
        (conn.exec_driver_sql(f"SELECT MAX(seq) FROM {table}").scalar_one() or 0) >= watermark
        for table in FACT_TABLES
    )


def lock_gate(conn: Connection, mode: Literal["facts", "exclusive"]) -> None:
    """Take the PostgreSQL gate first thing in a writing transaction (no-op on SQLite):
    writers of facts in parallel with each other, an erasure alone."""
    if is_postgres(conn):
        lock = "ROW EXCLUSIVE" if mode == "facts" else "EXCLUSIVE"
        conn.exec_driver_sql(f"LOCK TABLE totals_gate IN {lock} MODE")


def lock_totals(conn: Connection, *, wait: bool = True) -> bool:
    """Take the lock of the totals' writers for this transaction (PostgreSQL; SQLite's single
    writer holds it already); with ``wait=False`` give up at once if another holds it."""
    if not is_postgres(conn):
        return True
    if wait:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_TOTALS_LOCK})")
        return True
    return bool(
        conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({_TOTALS_LOCK})").scalar_one()
    )


def _window_sums(a: str, c: str) -> str:
    """A totals row's five numbers from the conversions ``c`` of the assignment ``a`` (aliases):
    count and value in the window (at or after assignment) and in the pre-period, and the
    latest event in the window."""
    after = f"{c}.ts >= {a}.assigned_at"
    return f"""
            SUM(CASE WHEN {after} THEN 1 ELSE 0 END),
            SUM(CASE WHEN {after} THEN {c}.value ELSE 0 END),
            SUM(CASE WHEN NOT ({after}) THEN 1 ELSE 0 END),
            SUM(CASE WHEN NOT ({after}) THEN {c}.value ELSE 0 END),
            MAX(CASE WHEN {after} THEN {c}.ts ELSE 0 END)"""


def _build_select(source: str) -> str:
    """Totals of assignments from the events below ``:hi``.

    ``source`` yields ``pilot_id, customer_id, "group", assigned_at`` of assignments that have
    no totals yet; each pilot's window and lookback come from the pilots table.
    """
    return f"""
        SELECT s.pilot_id, c.event, s."group", s.customer_id, s.assigned_at,{_window_sums("s", "c")}
        FROM {source} s CROSS JOIN pilots p CROSS JOIN conversions c
        WHERE p.id = s.pilot_id AND c.customer_id = s.customer_id AND c.seq < :hi
            AND c.ts >= s.assigned_at - p.lookback_us AND c.ts < s.assigned_at + p.window_us
        GROUP BY s.pilot_id, c.event, s."group", s.customer_id, s.assigned_at
        UNION ALL
        SELECT s.pilot_id, CAST('' AS VARCHAR(64)), s."group", s.customer_id, s.assigned_at,
            COUNT(*), 0, 0, 0, MAX(e.ts)
        FROM {source} s CROSS JOIN exposures e
        WHERE e.pilot_id = s.pilot_id AND e.customer_id = s.customer_id AND e.seq < :hi
        GROUP BY s.pilot_id, s."group", s.customer_id, s.assigned_at
    """


# Conversions and exposures in [lo, hi) added to the totals of assignments below ``lo`` (those
# in [lo, hi) are built whole by _build_select, these events included).
_CONVERSIONS_FOLD = f"""
    INSERT INTO customer_totals ({_COLUMNS})
    SELECT a.pilot_id, s.event, a."group", a.customer_id, a.assigned_at,{_window_sums("a", "s")}
    FROM (SELECT customer_id, event, ts, value FROM conversions
          WHERE seq >= :lo AND seq < :hi) s
        CROSS JOIN assignments a CROSS JOIN pilots p
    WHERE a.customer_id = s.customer_id AND a.seq < :lo AND p.id = a.pilot_id
        AND s.ts >= a.assigned_at - p.lookback_us AND s.ts < a.assigned_at + p.window_us
    GROUP BY a.pilot_id, s.event, a."group", a.customer_id, a.assigned_at
    {_ADD_ON_CONFLICT}
"""
_EXPOSURES_FOLD = f"""
    INSERT INTO customer_totals ({_COLUMNS})
    SELECT a.pilot_id, CAST('' AS VARCHAR(64)), a."group", a.customer_id, a.assigned_at,
        COUNT(*), 0, 0, 0, MAX(s.ts)
    FROM (SELECT pilot_id, customer_id, ts FROM exposures WHERE seq >= :lo AND seq < :hi) s
        CROSS JOIN assignments a
    WHERE a.pilot_id = s.pilot_id AND a.customer_id = s.customer_id AND a.seq < :lo
    GROUP BY a.pilot_id, a."group", a.customer_id, a.assigned_at
    {_ADD_ON_CONFLICT}
"""
_NEW_ASSIGNMENTS = (
    '(SELECT pilot_id, customer_id, "group", assigned_at FROM assignments'
    " WHERE seq >= :lo AND seq < :hi)"
)
_ASSIGNMENTS_FOLD = f"INSERT INTO customer_totals ({_COLUMNS}) {_build_select(_NEW_ASSIGNMENTS)}"
# SQLite's planner (no statistics) read the exposures half's new assignments by scanning the
# whole table in key order: 10 ms a pass at 200,000 assignments, growing with the table, all
# of it under the one write lock. Materialized once, they are read through the seq index.
_ASSIGNMENTS_FOLD_SQLITE = (
    f"INSERT INTO customer_totals ({_COLUMNS})"
    f" WITH fresh AS MATERIALIZED {_NEW_ASSIGNMENTS} {_build_select('fresh')}"
)


def fold(conn: Connection, lo: int, hi: int) -> None:
    """Fold the facts with ``lo <= seq < hi`` into the totals and set the watermark to ``hi``;
    the caller holds the totals lock, ``lo`` is the watermark and every transaction numbered
    below ``hi`` has ended."""
    params = {"lo": lo, "hi": hi}
    conn.execute(text(_CONVERSIONS_FOLD), params)
    conn.execute(text(_EXPOSURES_FOLD), params)
    conn.execute(text(_ASSIGNMENTS_FOLD if is_postgres(conn) else _ASSIGNMENTS_FOLD_SQLITE), params)
    conn.execute(text("UPDATE aggregation SET folded_below = :hi WHERE id = 1"), params)


def record_assignments(
    conn: Connection, pilot_id: int, rows: Sequence[tuple[str, str, int, str]]
) -> int:
    """Record the assignments ``(customer, group, assigned_at, source)`` that are new, in
    customer order; returns how many were new. (Rows go in customer order: two processes
    inserting overlapping batches in different orders would otherwise deadlock on
    PostgreSQL's unique index.)"""
    return insert_new(
        conn,
        _STAGED_ASSIGNMENTS,
        rows,
        _assignment_target(_row_seq(conn)),
        params={"pilot_id": pilot_id, **_seq_params(conn, len(rows))},
    )


def store_events(
    conn: Connection,
    exposures: Sequence[Sequence[Any]],
    conversions: Sequence[Sequence[Any]],
) -> tuple[int, int]:
    """Store the exposures ``(id, pilot, customer, ts)`` and conversions ``(id, customer,
    event, ts, value)`` not stored yet (an id is unique across both tables); returns how many
    of each were new."""
    values = _seq_params(conn, max(len(exposures), len(conversions)))
    stored = []
    for rows, staged, table, other in (
        (exposures, _STAGED_EXPOSURES, "exposures", "conversions"),
        (conversions, _STAGED_CONVERSIONS, "conversions", "exposures"),
    ):
        target = _event_target(table, staged, _row_seq(conn))
        if not rows:
            stored.append(0)
            continue
        stored.append(insert_new(conn, staged, rows, target, params=values, unique_with=other))
    return stored[0], stored[1]


def rebuild_pilot(conn: Connection, pilot_id: int) -> None:
    """Recompute one pilot's totals with its current windows (after a draft's windows change):
    the assignments and events below the watermark, as the aggregator would have folded them."""
    lock_totals(conn)
    hi = folded_below(conn)
    conn.execute(text("DELETE FROM customer_totals WHERE pilot_id = :p"), {"p": pilot_id})
    source = (
        '(SELECT pilot_id, customer_id, "group", assigned_at FROM assignments'
        " WHERE pilot_id = :pilot_id AND seq < :hi)"
    )
    conn.execute(
        text(f"INSERT INTO customer_totals ({_COLUMNS}) {_build_select(source)}"),
        {"pilot_id": pilot_id, "hi": hi},
    )
