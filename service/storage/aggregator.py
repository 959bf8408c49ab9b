"""The aggregator: folds the facts written since the watermark into the per-customer totals.

Writes of assignments and events store rows only (:mod:`service.storage.totals`); this module
moves them into ``customer_totals`` afterwards, many requests' rows in one set-based pass, so
the work of the totals leaves the request path and shrinks (one upsert per customer and pass
instead of one per request). Each pass:

1. takes the totals lock without waiting (PostgreSQL: another process is folding, so this one
   has nothing to do; SQLite: the write transaction is the lock);
2. finds the **horizon**, a ``seq`` below which every transaction has ended: on PostgreSQL the
   oldest transaction id still running (``pg_snapshot_xmin``), on SQLite the next counter
   value (no other writer runs while this one holds the lock);
3. folds the rows with ``seq`` in ``[watermark, hi)`` and moves the watermark to ``hi``, in
   the same transaction, so the totals and the watermark always agree. ``hi`` is the horizon,
   or lower so that a pass folds about :data:`FOLD_ROWS` rows: on SQLite a pass holds the one
   write lock, and a backlog of a million rows folded at once would stall every writer for
   seconds (rows sharing one ``seq`` are never split: on SQLite a transaction numbers its
   rows in runs of :data:`~service.storage.totals.SEQ_ROWS`). On PostgreSQL a pass blocks no
   writer, and larger passes cost less per row.

Nothing is lost if a pass fails or the process dies: the rows stay beyond the watermark and
the next pass, in any process, folds them. Results never wait for a pass: they read the rows
beyond the watermark themselves (:mod:`service.storage.aggregates`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from service.storage import totals
from service.storage.sql import read_transaction, write_transaction
from service.storage.staging import is_postgres

__all__ = ["FOLD_ROWS", "Backlog", "backlog", "catch_up", "fold_once", "fold_rows"]

_NO_LIMIT = 2**62
FOLD_ROWS = {"sqlite": 2_000, "postgresql": 50_000}
"""About how many rows one pass folds, by dialect (more when a run of rows sharing one ``seq``
is longer). On SQLite 2,000 new assignments of customers with stored events hold the write lock
about 10 ms (100,000 at once held it 0.5 s and set a second worker's p99 to 0.5 s)."""


def fold_rows(engine: Engine) -> int:
    """How many rows a full pass folds on this engine's database."""
    return FOLD_ROWS.get(engine.dialect.name, min(FOLD_ROWS.values()))


@dataclass(frozen=True, slots=True)
class Backlog:
    """Facts not folded yet: how many rows, beyond which watermark."""

    rows: int
    folded_below: int


def _rows_between(conn: Connection, lo: int, hi: int = _NO_LIMIT) -> int:
    """Fact rows with ``lo <= seq < hi`` (an index range on each table)."""
    return sum(
        int(
            conn.execute(
                text(f"SELECT COUNT(*) FROM {table} WHERE seq >= :lo AND seq < :hi"),
                {"lo": lo, "hi": hi},
            ).scalar_one()
        )
        for table in totals.FACT_TABLES
    )


def backlog(engine: Engine) -> Backlog:
    """The facts the totals do not hold yet (what ``/ready`` and the metrics report)."""
    with read_transaction(engine) as conn:
        watermark = totals.folded_below(conn)
        return Backlog(_rows_between(conn, watermark), watermark)


def _horizon(conn: Connection) -> int:
    """A ``seq`` below which every transaction has ended (see the module's docstring)."""
    if is_postgres(conn):
        return int(
            conn.exec_driver_sql(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            ).scalar_one()
        )
    return int(conn.exec_driver_sql("SELECT last_seq FROM aggregation").scalar_one()) + 1


def _next_seq(conn: Connection) -> int:
    """A ``seq`` above that of every transaction that has committed so far."""
    if is_postgres(conn):
        snapshot = conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one()
        return int(str(snapshot).split(":")[1])  # xmin:xmax:running — xmax is next
    return int(conn.exec_driver_sql("SELECT last_seq FROM aggregation").scalar_one()) + 1


def fold_once(engine: Engine) -> int:
    """One pass; returns how many fact rows it folded (0: nothing to do, or another process
    is folding)."""
    with read_transaction(engine) as conn:
        if _rows_between(conn, totals.folded_below(conn)) == 0:
            return 0  # the usual idle check: no write, no lock
    with write_transaction(engine) as conn:
        if not totals.lock_totals(conn, wait=False):
            return 0
        lo = totals.folded_below(conn)
        hi = min(_horizon(conn), _chunk_end(conn, lo))
        rows = _rows_between(conn, lo, hi) if hi > lo else 0
        if rows:
            totals.fold(conn, lo, hi)
        return rows


def _chunk_end(conn: Connection, lo: int) -> int:
    """The lowest ``seq`` beyond which some table has :func:`fold_rows` rows from ``lo`` on;
    past the first ``seq`` at or above ``lo`` at least (a pass folds a transaction whole)."""

    def nth(table: str, n: int) -> int | None:
        found = conn.execute(
            text(f"SELECT seq FROM {table} WHERE seq >= :lo ORDER BY seq LIMIT 1 OFFSET :n"),
            {"lo": lo, "n": n},
        ).scalar_one_or_none()
        return None if found is None else int(found)

    firsts = [s for t in totals.FACT_TABLES if (s := nth(t, 0)) is not None]
    chunk = fold_rows(conn.engine)
    lasts = [s for t in totals.FACT_TABLES if (s := nth(t, chunk)) is not None]
    if not firsts:
        return lo
    return max(min(firsts) + 1, min(lasts, default=_NO_LIMIT))


def catch_up(engine: Engine, *, timeout: float = 60.0) -> None:
    """Fold until every fact committed before this call is in the totals (tests, benchmarks).

    Raises :class:`TimeoutError` if a transaction that started before the call is still
    running after ``timeout`` seconds (the horizon cannot pass it).
    """
    with read_transaction(engine) as conn:
        target = _next_seq(conn)
    deadline = time.monotonic() + timeout
    while True:
        with read_transaction(engine) as conn:
            if _rows_between(conn, totals.folded_below(conn), target) == 0:
                return
        if fold_once(engine) == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the aggregator could not catch up: a writer is still open")
            with write_transaction(engine) as conn:
                totals.lock_totals(conn)  # another process's pass: wait for it to end
            time.sleep(0.01)
