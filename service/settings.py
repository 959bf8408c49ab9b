"""Settings, read from ``PILOTLIFT_*`` environment variables by :meth:`Settings.from_env`.

Tests build :class:`Settings` directly (and may pass a simulated clock); nothing else reads the
environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.timeutil import utc_now

__all__ = ["Settings"]


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = "pilotlift.db"
    """SQLAlchemy URL, ``postgresql://...``, or a path to a SQLite file."""
    max_body_bytes: int = 128 * 1024 * 1024
    """Largest request body accepted (a 100k-event NDJSON batch is ~15 MB)."""
    max_future_skew_hours: float = 24.0
    """Events stamped further in the future than this are rejected."""
    migrate_on_start: bool = True
    report_schedule: str | None = None
    """Publish the weekly review automatically, e.g. ``"mon 08:00"`` (UTC); off when unset."""
    report_poll_seconds: float = 60.0
    """How often each process checks whether the scheduled publication is due."""
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)
    """The service's notion of *now*; the demo passes a simulated clock."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        kwargs: dict[str, object] = {}
        if "PILOTLIFT_DATABASE_URL" in env:
            kwargs["database_url"] = env["PILOTLIFT_DATABASE_URL"]
        if "PILOTLIFT_MAX_BODY_BYTES" in env:
            kwargs["max_body_bytes"] = int(env["PILOTLIFT_MAX_BODY_BYTES"])
        if "PILOTLIFT_MAX_FUTURE_SKEW_HOURS" in env:
            kwargs["max_future_skew_hours"] = float(env["PILOTLIFT_MAX_FUTURE_SKEW_HOURS"])
        if "PILOTLIFT_MIGRATE_ON_START" in env:
            kwargs["migrate_on_start"] = env["PILOTLIFT_MIGRATE_ON_START"] not in ("0", "false")
        if env.get("PILOTLIFT_REPORT_SCHEDULE"):
            kwargs["report_schedule"] = env["PILOTLIFT_REPORT_SCHEDULE"]
        if "PILOTLIFT_REPORT_POLL_SECONDS" in env:
            kwargs["report_poll_seconds"] = float(env["PILOTLIFT_REPORT_POLL_SECONDS"])
        return cls(**kwargs)  # type: ignore[arg-type]
