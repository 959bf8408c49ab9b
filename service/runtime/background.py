"""Loops that run beside the requests of a service process (the weekly review's schedule, the
aggregator): started with the app, cancelled at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["BackgroundLoop"]


class BackgroundLoop:
    """Runs ``make()`` as a task from the app's start to its shutdown; ``None``: nothing runs
    (the feature is off in this process)."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, None]] | None) -> None:
        self.make = make
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.make is not None:
            self.task = asyncio.create_task(self.make())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
