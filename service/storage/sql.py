"""Small helpers for hand-written bulk SQL that runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")

# SQLite's default limit of bound variables per statement is 32,766.
MAX_IN_LIST = 30_000


def param(conn: Connection) -> str:
    """The driver's positional placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def chunks(items: Sequence[T], size: int = MAX_IN_LIST) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that takes the write lock at once (``BEGIN IMMEDIATE`` on SQLite) and
    commits before returning, so the caller may acknowledge only after this block."""
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
