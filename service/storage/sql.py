"""Small helpers for hand-written bulk SQL that runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TypeVar

from sqlalchemy import Connection, Engine

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own busy wait only
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

# SQLite's default limit of bound variables per statement is 32,766.
MAX_IN_LIST = 30_000


def chunks(items: Sequence[T], size: int = MAX_IN_LIST) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that takes the write lock at once (``BEGIN IMMEDIATE`` on SQLite) and
    commits before returning, so the caller may acknowledge only after this block."""
    with (
        _sqlite_writer_turn(engine),
        engine.connect().execution_options(write=True) as conn,
        conn.begin(),
    ):
        if conn.dialect.name == "postgresql":
            # Writes are short statements whose plans cost little to run: PostgreSQL's JIT
            # compiler spent 0.41 s on one 100k-customer assignment batch that ran in 2 s.
            conn.exec_driver_sql("SET LOCAL jit = off")
        yield conn


class _WriterTurn:
    """SQLite's writers of all processes queue on one ``flock`` beside the database file.

    SQLite itself makes a writer that finds the database locked poll, sleeping 1, 2, 5, 10 …
    up to 100 ms between tries, so with several worker processes a write can wait far longer
    than the lock is held (p99 of a one-customer request: 100 ms with two workers, against
    17 ms with one). A blocked ``flock`` is woken by the kernel the moment the holder lets go.
    ``BEGIN IMMEDIATE`` still guards the database against writers that skip this queue.
    """

    def __init__(self, database: str) -> None:
        self._threads = threading.Lock()
        self._file = open(f"{database}.writelock", "a+b")  # noqa: SIM115 - lives with the engine

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._threads:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)


_turns: weakref.WeakKeyDictionary[Engine, _WriterTurn | None] = weakref.WeakKeyDictionary()
_turns_lock = threading.Lock()


def _sqlite_writer_turn(engine: Engine) -> AbstractContextManager[None]:
    with _turns_lock:
        if engine not in _turns:
            database = engine.url.database
            usable = (
                engine.dialect.name == "sqlite"
                and fcntl is not None
                and database not in (None, "", ":memory:")
            )
            _turns[engine] = _WriterTurn(str(database)) if usable else None
        turn = _turns[engine]
    return turn.turn() if turn is not None else nullcontext()


@contextmanager
def read_transaction(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
    """A read-only transaction; with ``snapshot`` every statement sees the same committed state
    (PostgreSQL's REPEATABLE READ: a read of several statements, such as the totals and the
    aggregator's watermark, then agrees with itself. SQLite's read transactions always do)."""
    with engine.connect() as conn, conn.begin():
        if snapshot and conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield conn
