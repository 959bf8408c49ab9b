"""Group commit: concurrent small writes of one process share one transaction.

A write transaction costs a lock, a few statements and an fsync whatever its size, so a
campaign tool that asks for one customer at a time from sixteen connections would otherwise pay
sixteen fsyncs where one does. Here requests queue on the event loop; while no write is
running, the queue is handed at once to one worker thread, which writes everything in it in one
transaction; what arrives meanwhile forms the next batch. A lone request is written at once —
nothing waits for a timer — and every caller still gets its answer only after the transaction
holding its rows has committed, so an acknowledgement still means "on disk".

This is the scheme databases use for their own log (PostgreSQL's ``commit_delay``, MySQL's
binlog group commit), applied one level up, where it also saves the per-transaction
statements. It lives on the event loop so that waiting requests hold no thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio.to_thread

__all__ = ["GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Run ``write(items)`` in a worker thread over every item queued while the previous write
    ran. ``write`` returns one entry per item, in order: a result, or an exception for that
    item alone. An exception raised by ``write`` fails every item of its batch."""

    def __init__(
        self, write: Callable[[Sequence[T]], Sequence[R | Exception]], max_batch: int = 512
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    def pending(self) -> int:
        """Items queued behind the running write (for metrics and tests)."""
        return len(self._queue)

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    # Shielded: a caller that disconnects must not abandon a half-run batch
                    # that others are waiting for.
                    results = await asyncio.shield(
                        anyio.to_thread.run_sync(self._write, [item for item, _ in batch])
                    )
                    if len(results) != len(batch):
                        raise ValueError(f"{len(results)} results for {len(batch)} items")
                except Exception as error:  # every caller of the batch learns why it failed
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results):
                    if future.done():  # the caller went away
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        except asyncio.CancelledError:  # shutdown: nobody is left waiting forever
            for _, future in batch + self._queue:
                if not future.done():
                    future.set_exception(RuntimeError("the service is shutting down"))
            self._queue.clear()
            raise
        finally:
            self._writer = None
