"""A settable clock for simulations: the demo moves *now* through three simulated weeks."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class SimulatedClock:
    """Callable returning the simulated *now*; thread-safe because handlers run in threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a zone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
