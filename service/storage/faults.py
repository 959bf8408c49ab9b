"""What a database failure means for the caller: the one classification of storage faults.

Every SQLAlchemy, psycopg or sqlite3 error that reaches the HTTP layer is passed to
:func:`storage_error`; the few that are faults of the storage itself, not of the request or
the code, become :class:`~service.errors.StorageUnavailable` (503 with ``Retry-After``) or
:class:`~service.errors.StorageFull` (507). Everything else stays an internal error (500).

======================================================  ===========  =====================
error                                                   fault        answer
======================================================  ===========  =====================
PostgreSQL SQLSTATE class 08 (connection exception),    unavailable  503, ``Retry-After``
57P01 admin_shutdown, 57P02 crash_shutdown,
57P03 cannot_connect_now (starting up / shutting down),
53300 too_many_connections
psycopg ``OperationalError`` without SQLSTATE           unavailable  503, ``Retry-After``
(connection refused, server closed the connection,
the connection is closed), or any error after which
SQLAlchemy invalidated the connection
SQLAlchemy pool ``TimeoutError`` (no connection free)   unavailable  503, ``Retry-After``
SQLite ``SQLITE_CANTOPEN`` (file cannot be opened)      unavailable  503, ``Retry-After``
PostgreSQL 53100 disk_full;                             full         507
SQLite ``SQLITE_FULL`` ("database or disk is full")
PostgreSQL 25006 read_only_sql_transaction;             read_only    507
SQLite ``SQLITE_READONLY`` ("attempt to write a
readonly database")
anything else, e.g. SQLite ``SQLITE_BUSY`` ("database   (none)       500
is locked" beyond the busy timeout), constraint
violations, syntax errors, deadlocks
======================================================  ===========  =====================

A failed request stored nothing: every write is one transaction (``write_transaction``) that
is rolled back, or never committed, when any statement of it fails. One window stays open: a
connection lost while its ``COMMIT`` is in flight leaves the outcome unknown to the service;
the answer is still 503, and resending is safe because event ids and first assignments are
idempotent. Recovery needs no restart: the PostgreSQL pool pings a connection before lending
it (``pool_pre_ping``; without it the first request after a restart of an idle service fails,
see ``tests/service/test_faults.py``) and SQLAlchemy drops every pooled connection older than
a disconnect it has seen.

:func:`probe` is ``/ready``'s check: the database answers, and it can be written (PostgreSQL:
the session is not read-only, as on a standby; SQLite: the file system holds at least
:data:`MIN_FREE_BYTES` and the file and its directory are writable). It costs one round trip
and, on SQLite, one ``statvfs``.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.errors import StorageFull, StorageUnavailable

__all__ = [
    "DATABASE_ERRORS",
    "MIN_FREE_BYTES",
    "RETRY_AFTER_SECONDS",
    "Diagnosis",
    "Fault",
    "describe",
    "diagnose",
    "probe",
    "storage_error",
    "summary",
]

DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, psycopg.Error, sqlite3.Error)
"""Every error type a storage call can raise (raw psycopg errors come from ``COPY``, which
runs on the driver's connection)."""

RETRY_AFTER_SECONDS = 2
"""A restarting PostgreSQL is back within a few seconds; a client that waits this long before
resending does not hammer a recovering server."""

MIN_FREE_BYTES = 1 << 20
"""Below this much free space /ready reports the SQLite database full (a commit of a small
batch needs a few 16 KiB pages in the WAL)."""


class Fault(enum.Enum):
    UNAVAILABLE = "unavailable"
    FULL = "full"
    READ_ONLY = "read_only"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    fault: Fault
    reason: str
    """A few words for the sentence: "connection refused", "disk full", ..."""


_PG_UNAVAILABLE = {
    "57P01": "the server is shutting down",  # admin_shutdown
    "57P02": "the server crashed",  # crash_shutdown
    "57P03": "the server is starting up or shutting down",  # cannot_connect_now
    "53300": "too many connections",  # too_many_connections
}
_PG_FULL = {"53100"}  # disk_full
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction

_SQLITE_FULL = 13  # SQLITE_FULL; extended codes keep the primary code in the low byte
_SQLITE_READONLY = 8  # SQLITE_READONLY and its extended codes (READONLY_DIRECTORY, ...)
_SQLITE_CANTOPEN = 14


def summary(exc: BaseException) -> str:
    """The driver's first line of an error (SQLAlchemy's own text carries the statement and
    every parameter of a batch)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _postgres(exc: psycopg.Error) -> Diagnosis | None:
    state = exc.sqlstate
    if state is None:
        if isinstance(exc, psycopg.OperationalError):  # refused, closed, broken: no server
            return Diagnosis(Fault.UNAVAILABLE, _connection_reason(exc))
        return None
    if state.startswith("08"):
        return Diagnosis(Fault.UNAVAILABLE, "connection lost")
    if state in _PG_UNAVAILABLE:
        return Diagnosis(Fault.UNAVAILABLE, _PG_UNAVAILABLE[state])
    if state in _PG_FULL:
        return Diagnosis(Fault.FULL, "disk full")
    if state in _PG_READ_ONLY:
        return Diagnosis(Fault.READ_ONLY, "read-only transaction")
    return None


def _connection_reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "shutting down" in text or "starting up" in text or "recovery mode" in text:
        return "the server is starting up or shutting down"
    if "administrator command" in text:
        return "the server is shutting down"
    if "too many" in text:
        return "too many connections"
    return "connection lost"


def _sqlite(exc: sqlite3.Error) -> Diagnosis | None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == _SQLITE_FULL or "database or disk is full" in text:
        return Diagnosis(Fault.FULL, "disk full")
    if primary == _SQLITE_READONLY or "readonly database" in text:
        return Diagnosis(Fault.READ_ONLY, "read-only database file")
    if primary == _SQLITE_CANTOPEN or "unable to open database file" in text:
        return Diagnosis(Fault.UNAVAILABLE, "the database file cannot be opened")
    return None


def diagnose(exc: BaseException) -> Diagnosis | None:
    """The storage fault ``exc`` stands for, or ``None`` when it is not one (a bug, a
    constraint, a lock timeout: those stay internal errors)."""
    if isinstance(exc, PoolTimeout):
        return Diagnosis(Fault.UNAVAILABLE, "no database connection free")
    if isinstance(exc, DisconnectionError):
        return Diagnosis(Fault.UNAVAILABLE, "connection lost")
    if isinstance(exc, DBAPIError):
        found = diagnose(exc.orig) if exc.orig is not None else None
        if found is None and exc.connection_invalidated:
            return Diagnosis(Fault.UNAVAILABLE, "connection lost")
        return found
    if isinstance(exc, psycopg.Error):
        return _postgres(exc)
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc)
    return None


def storage_error(exc: BaseException, *, write: bool) -> StorageUnavailable | StorageFull | None:
    """The answer to a request that failed with ``exc``: a sentence saying what happened to
    it and what to do, or ``None`` when ``exc`` is no storage fault."""
    found = diagnose(exc)
    if found is None:
        return None
    if found.fault is Fault.UNAVAILABLE:
        outcome = "nothing from this request was stored; " if write else ""
        return StorageUnavailable(
            f"The database is unavailable ({found.reason}); {outcome}retry in"
            f" {RETRY_AFTER_SECONDS} s.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    outcome = "nothing from this request was stored" if write else "the query could not run"
    if found.fault is Fault.FULL:
        return StorageFull(
            f"The database's disk is full; {outcome}. Free space on the database's disk, then"
            " resend."
        )
    return StorageFull(
        f"The database cannot be written ({found.reason}); {outcome}. Make it writable (a"
        " primary, not a standby; a writable file and file system), then resend."
    )


# --- /ready ---------------------------------------------------------------------------------


def probe(engine: Engine) -> Diagnosis | None:
    """``None`` when the database answers and can be written; else what is wrong."""
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # On a standby, or with default_transaction_read_only, every write fails 25006.
                read_only = conn.exec_driver_sql(
                    "SELECT current_setting('transaction_read_only')"
                ).scalar_one()
                if read_only == "on":
                    return Diagnosis(Fault.READ_ONLY, "read-only transaction")
            else:
                conn.exec_driver_sql("SELECT 1")
    except DATABASE_ERRORS as exc:
        return diagnose(exc) or Diagnosis(Fault.UNAVAILABLE, summary(exc))
    if engine.dialect.name == "sqlite":
        return _sqlite_file(engine.url.database)
    return None


def _sqlite_file(database: str | None) -> Diagnosis | None:
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database).absolute()
    try:
        stat = os.statvfs(path.parent)
    except OSError as exc:
        return Diagnosis(Fault.UNAVAILABLE, f"the database's directory: {exc.strerror}")
    if stat.f_flag & os.ST_RDONLY:
        return Diagnosis(Fault.READ_ONLY, "read-only file system")
    # Blocks reserved for root are usable by a service that runs as root.
    geteuid = getattr(os, "geteuid", None)
    blocks = stat.f_bfree if geteuid is not None and geteuid() == 0 else stat.f_bavail
    free = blocks * stat.f_frsize
    if free < MIN_FREE_BYTES:
        return Diagnosis(Fault.FULL, f"{free:,} bytes free")
    for target in (path, path.parent):
        if target.exists() and not os.access(target, os.W_OK):
            return Diagnosis(Fault.READ_ONLY, f"{target} is not writable")
    return None


def describe(found: Diagnosis) -> str:
    """/ready's sentence for a fault."""
    if found.fault is Fault.UNAVAILABLE:
        return f"The database is unavailable ({found.reason}); requests that need it get 503."
    what = "'s disk is full" if found.fault is Fault.FULL else " cannot be written"
    return f"The database{what} ({found.reason}); writes get 507, reads still work."
