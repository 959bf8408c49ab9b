"""The one staging routine: carry a batch into set-based SQL, keep only rows not stored yet and
store them, on SQLite and PostgreSQL alike.

Every write of a batch (exposures, conversions, first assignments) is the same four steps:
**stage** the rows in a per-connection temporary table (binary ``COPY`` on PostgreSQL), **drop**
rows that clash with another table (an event id is unique across both event tables), **insert**
the rows whose key is not stored yet, and **clear** the stage (on PostgreSQL the commit clears
it, and a second stage in the same transaction clears it first). The per-customer totals
follow later (:mod:`service.storage.aggregator`). The dialects differ only in how:

* PostgreSQL: event ids are usually new, so the rows are first copied straight into the
  table (binary ``COPY``, no stage) in a savepoint; a batch with a stored or concurrently
  written id (or an id of the other event table) takes the careful path, ``INSERT ... ON
  CONFLICT DO NOTHING`` from the stage in key order (concurrent writers then never deadlock).
  Assignments take the careful path at once (customers are asked for again).
* SQLite: the transaction holds the only write lock, so deleting the staged rows already stored
  makes every remaining row new.

A small batch (up to :data:`LISTED_ROWS` rows: a group commit of one-customer requests) skips
the temporary table: its rows are listed in the statement itself, as a ``VALUES`` table named
like the stage, and the same clauses select, filter and order them in one round trip.

Domain code calls :mod:`service.storage.totals`, never this module's SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

__all__ = [
    "LISTED_ROWS",
    "SAMPLE_ROWS",
    "Staged",
    "Target",
    "clear",
    "insert_new",
    "is_postgres",
    "stage",
]


@dataclass(frozen=True, slots=True)
class Staged:
    """A per-connection temporary table that carries one batch into set-based SQL."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_list(self) -> str:
        return ", ".join(name for name, _ in self.columns)


@dataclass(frozen=True, slots=True)
class Target:
    """Where staged rows are stored: the table, how a staged row maps to its columns, and how
    a stored row with the same key is recognised (``t`` is the stored row, ``{s}`` the stage)."""

    table: str
    columns: str
    select: str
    same_key: str
    postgres_order: str
    sqlite_order: str
    expect_new: bool = False
    """Keys are usually new (event ids): on PostgreSQL try copying the rows straight into the
    table first (:func:`_copy_new`)."""
    new_if_sample_is: bool = False
    """Keys are often all new or all stored (customers of a first send, or of a repeated
    one): on PostgreSQL copy straight in when none of a sample of the batch is stored
    (:func:`_sample_is_new`)."""
    constants: tuple[tuple[str, str, str], ...] = ()
    """``(column, binary COPY type, SQL expression)`` of the table's columns beyond the staged
    ones, the same for every row of a write (``seq``, a pilot's id): the direct copy evaluates
    them once. A table copied into directly has ``seq`` among them."""


class _IdInOtherTable(Exception):
    """An id of the copied rows is stored in the table whose ids it must not share."""


def _copy_new(
    conn: Connection,
    staged: Staged,
    rows: Sequence[Sequence[Any]],
    target: Target,
    values: Mapping[str, object],
    unique_with: str | None,
) -> int | None:
    """PostgreSQL, when the batch's keys are probably new: ``COPY`` the rows straight into
    the table, in a savepoint; ``None`` if a key clashed (a resent event, a concurrent batch
    with the same ids, a stored customer, or an id of the ``unique_with`` table), after rolling
    the savepoint back, for the careful path.

    This is the database's own fastest load, without a stage: the temporary table, its
    ``COPY`` and ``ANALYZE`` and the ``INSERT ... SELECT`` from it cost about a third of a
    100,000-event batch's storing, and ``ON CONFLICT`` about half of an insert's. The rows go
    in the caller's order (customer order: the by-customer index is filled at its right
    places in turn, and concurrent writers take key locks in the same order). The
    ``unique_with`` check finds the copied rows by their ``seq`` (this transaction's, through
    its index).
    """
    names = [name for name, _, _ in target.constants]
    statement = (
        f"COPY {target.table} ({staged.column_list}, {', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    )
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with conn.begin_nested():
            expressions = ", ".join(expression for _, _, expression in target.constants)
            constant = tuple(conn.execute(text(f"SELECT {expressions}"), values).one())
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(_binary_types(staged) + [kind for _, kind, _ in target.constants])
                for row in rows:
                    copy.write_row((*row, *constant))
            seq = constant[names.index("seq")]
            if (
                unique_with is not None
                and conn.execute(
                    text(
                        f"SELECT EXISTS (SELECT 1 FROM {target.table} t JOIN {unique_with} o"
                        " ON o.id = t.id WHERE t.seq = :seq)"
                    ),
                    {"seq": seq},
                ).scalar_one()
            ):
                raise _IdInOtherTable
            return len(rows)
    except _IdInOtherTable:
        return None
    except (DBAPIError, psycopg.Error) as exc:
        if getattr(getattr(exc, "orig", exc), "sqlstate", None) in _KEY_CLASHES:
            return None
        raise


SAMPLE_ROWS = 64
"""Rows of a batch looked up before copying it straight in (:func:`_sample_is_new`)."""


def _sample_is_new(
    conn: Connection,
    staged: Staged,
    rows: Sequence[Sequence[Any]],
    target: Target,
    values: Mapping[str, object],
) -> bool:
    """Whether none of :data:`SAMPLE_ROWS` rows spread over the batch has a stored key (one
    statement). A batch of stored customers (a repeated send) then skips a copy that would
    fail at its first row; a mixed one the sample misses fails later and takes the careful
    path all the same: the sample only chooses what is tried first."""
    sample = list(rows[:: max(1, len(rows) // SAMPLE_ROWS)])[:SAMPLE_ROWS]
    probe = dict(values)
    s = staged.name
    # LATERAL ... LIMIT 1: one index lookup per sampled row. As a semi-join PostgreSQL
    # hashed the whole table instead (235 ms at 100,000 stored customers).
    stored = conn.execute(
        text(
            f"{_listed(conn, staged, sample, probe)} SELECT EXISTS (SELECT 1 FROM {s} CROSS JOIN"
            f" LATERAL (SELECT 1 FROM {target.table} t WHERE {target.same_key.format(s=s)}"
            " LIMIT 1) stored)"
        ),
        probe,
    ).scalar_one()
    return not stored


def _binary_types(staged: Staged) -> list[str]:
    """Each staged column's type for binary ``COPY``: ``VARCHAR(64)`` is dumped as ``varchar``."""
    return [kind.split("(")[0].lower() for _, kind in staged.columns]


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def stage(conn: Connection, staged: Staged, rows: Iterable[Sequence[Any]]) -> None:
    """Load ``rows`` into the connection's temporary table (binary COPY on PostgreSQL)."""
    definition = ", ".join(f"{name} {kind}" for name, kind in staged.columns)
    if is_postgres(conn):
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {staged.name} ({definition}) ON COMMIT DELETE ROWS"
        )
        # Empty at the start of every transaction (ON COMMIT DELETE ROWS), so this costs a
        # round trip; it matters only when one transaction stages twice (group commit of
        # several pilots' assignments). Clearing here rather than after use saves deleting,
        # row by row, every batch of a transaction that stages once (18 ms per 73k rows).
        conn.exec_driver_sql(f"DELETE FROM {staged.name}")
        raw = conn.connection.driver_connection
        assert raw is not None
        statement = f"COPY {staged.name} ({staged.column_list}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(_binary_types(staged))
            for row in rows:
                copy.write_row(row)
        # A temporary table has no statistics until analysed, and the planner then guesses
        # thousands of rows: it hash-joined one new customer with every stored conversion
        # (1 s a request at 2.5M conversions). With real counts it looks the few rows up by
        # index, and still hashes where a batch is large. The count is what matters: a sample
        # of 3,000 rows instead of 30,000 analyses 73k staged rows in 4 ms instead of 38.
        conn.exec_driver_sql("SET LOCAL default_statistics_target = 10")
        conn.exec_driver_sql(f"ANALYZE {staged.name}")
        return
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {staged.name} ({definition})")
    marks = ", ".join("?" for _ in staged.columns)
    conn.exec_driver_sql(
        f"INSERT INTO {staged.name} ({staged.column_list}) VALUES ({marks})", list(rows)
    )


def clear(conn: Connection, staged: Staged) -> None:
    """Empty a staging table after use. On PostgreSQL nothing to do: the table empties at
    commit, and :func:`stage` empties it first when one transaction stages twice."""
    if not is_postgres(conn):
        conn.exec_driver_sql(f"DELETE FROM {staged.name}")


# PostgreSQL's unique violation and deadlock: a stored or concurrently written key.
_KEY_CLASHES = ("23505", "40P01")


LISTED_ROWS = 100
"""Most rows written from a ``VALUES`` list instead of the temporary table. Staging costs a
fixed five to seven round trips (create, clear, ``COPY``, ``ANALYZE``; a delete on SQLite),
which is most of a small write: a group commit of eight one-customer requests took 1.95 ms on
PostgreSQL, staged."""


def _listed(
    conn: Connection, staged: Staged, rows: Sequence[Sequence[Any]], values: dict[str, object]
) -> str:
    """``WITH <stage>(columns) AS (VALUES ...)``: the rows as a table named like the stage,
    with the stage's column types (the first row is cast; ``VALUES`` takes its types from it)
    and, on SQLite, a ``rowid`` that numbers the rows as the temporary table would."""
    sqlite = not is_postgres(conn)
    names = [name for name, _ in staged.columns] + (["rowid"] if sqlite else [])
    listed = []
    for i, row in enumerate(rows):
        marks = []
        for (_, kind), j in zip(staged.columns, range(len(row))):
            values[f"r{i}_{j}"] = row[j]
            marks.append(f"CAST(:r{i}_{j} AS {kind})" if i == 0 else f":r{i}_{j}")
        if sqlite:
            marks.append(str(i + 1))
        listed.append(f"({', '.join(marks)})")
    return f"WITH {staged.name} ({', '.join(names)}) AS (VALUES {', '.join(listed)})"


def _insert_listed(
    conn: Connection,
    staged: Staged,
    rows: Sequence[Sequence[Any]],
    target: Target,
    values: dict[str, object],
    unique_with: str | None,
) -> int:
    """:func:`insert_new` for a small batch, in one statement (same clauses, same order)."""
    s = staged.name
    listed = _listed(conn, staged, rows, values)
    clashes = [f"NOT EXISTS (SELECT 1 FROM {unique_with} o WHERE o.id = {s}.id)"] * bool(
        unique_with
    )
    if is_postgres(conn):
        where = f" WHERE {' AND '.join(clashes)}" if clashes else ""
        tail = f"{where} {target.postgres_order} ON CONFLICT DO NOTHING"
    else:
        # The one writer holds the lock: a row whose key is not stored is new.
        stored = f"NOT EXISTS (SELECT 1 FROM {target.table} t WHERE {target.same_key.format(s=s)})"
        tail = f" WHERE {' AND '.join([*clashes, stored])} {target.sqlite_order}"
    inserted = conn.execute(
        text(
            # The list follows INSERT: Python's sqlite3 counts rows only of a statement that
            # starts with INSERT.
            f"INSERT INTO {target.table} ({target.columns})"
            f" {listed} SELECT {target.select} FROM {s}{tail}"
        ),
        values,
    )
    return max(inserted.rowcount, 0)


def insert_new(
    conn: Connection,
    staged: Staged,
    rows: Iterable[Sequence[Any]],
    target: Target,
    *,
    params: Mapping[str, object] | None = None,
    unique_with: str | None = None,
) -> int:
    """Stage ``rows`` and store those whose key is not stored yet (nor, with ``unique_with``,
    in that table's ``id``); returns how many were new."""
    values = dict(params or {})
    if isinstance(rows, Sequence) and len(rows) <= LISTED_ROWS:
        return _insert_listed(conn, staged, rows, target, values, unique_with) if rows else 0
    if (
        is_postgres(conn)
        and target.constants
        and isinstance(rows, Sequence)
        and (
            target.expect_new
            or (target.new_if_sample_is and _sample_is_new(conn, staged, rows, target, values))
        )
    ):
        stored = _copy_new(conn, staged, rows, target, values, unique_with)
        if stored is not None:
            return stored
    stage(conn, staged, rows)
    if unique_with is not None:
        conn.exec_driver_sql(
            f"DELETE FROM {staged.name} WHERE EXISTS"
            f" (SELECT 1 FROM {unique_with} o WHERE o.id = {staged.name}.id)"
        )
    s = staged.name
    if is_postgres(conn):
        inserted = conn.execute(
            text(
                f"INSERT INTO {target.table} ({target.columns})"
                f" SELECT {target.select} FROM {s} {target.postgres_order}"
                " ON CONFLICT DO NOTHING"
            ),
            values,
        )
        return max(inserted.rowcount, 0)
    same_key = target.same_key.format(s=s)
    conn.execute(
        text(f"DELETE FROM {s} WHERE EXISTS (SELECT 1 FROM {target.table} t WHERE {same_key})"),
        values,
    )
    stored = conn.execute(
        text(
            f"INSERT INTO {target.table} ({target.columns})"
            f" SELECT {target.select} FROM {s} {target.sqlite_order}"
        ),
        values,
    ).rowcount
    clear(conn, staged)
    return max(stored, 0)
