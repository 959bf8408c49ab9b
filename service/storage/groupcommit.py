"""Group commit: concurrent small writes of one process share one transaction.

A write transaction costs a lock, a few statements and an fsync whatever its size, so a
campaign tool that asks for one customer at a time from sixteen connections would otherwise pay
sixteen fsyncs where one does. Here the first caller to arrive becomes the *leader*: it takes
everything queued so far, writes it in one transaction and hands each caller its own result.
Callers arriving meanwhile queue up; when the leader is done, the oldest of them leads the
next batch. A lone caller commits at once — nothing waits for a timer — and every caller still
returns only after the transaction holding its rows has committed, so an acknowledgement still
means "on disk".

This is the leader/follower scheme databases use for their own log (PostgreSQL's
``commit_delay``, MySQL's binlog group commit), applied one level up, where it also saves the
per-transaction statements.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class _Waiter(Generic[T, R]):
    __slots__ = ("done", "error", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Run ``write(items) -> results`` (one result per item, in order) over every item queued
    while the previous write ran; ``submit`` blocks until its item's batch has committed."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]], max_batch: int = 256) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiter[T, R]] = []
        self._leading = False

    def pending(self) -> int:
        """Items queued behind the running write (for metrics and tests)."""
        with self._lock:
            return len(self._queue)

    def submit(self, item: T) -> R:
        waiter: _Waiter[T, R] = _Waiter(item)
        with self._lock:
            self._queue.append(waiter)
            if not self._leading:
                self._leading = waiter.lead = True
        if not waiter.lead:
            waiter.done.wait()
        if waiter.lead:  # first in, or handed the lead by the previous leader
            self._lead(waiter)
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]

    def _lead(self, me: _Waiter[T, R]) -> None:
        with self._lock:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        try:
            results = self._write([w.item for w in batch])
            for waiter, result in zip(batch, results, strict=True):
                waiter.result = result
        except BaseException as error:  # every caller of the batch learns why it failed
            for waiter in batch:
                waiter.error = error
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._leading = False
            else:
                successor.lead = True
        me.lead = False
        for waiter in batch:
            if waiter is not me:
                waiter.done.set()
        if successor is not None:
            successor.done.set()
