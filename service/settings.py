"""Settings, read from ``PILOTLIFT_*`` environment variables by :meth:`Settings.from_env`.

Tests build :class:`Settings` directly (and may pass a simulated clock); nothing else reads the
environment.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.errors import InvalidInput
from service.schema.common import MAX_BATCH, MAX_ID_LENGTH
from service.timeutil import utc_now

__all__ = ["Settings", "is_loopback"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    aggregate_every_seconds: float = 0.5
    """How often each process folds new facts into the per-customer totals; 0: never (results
    stay exact, reading the unfolded rows; see service.storage.aggregator)."""
    bind_host: str = "127.0.0.1"
    """The address the server listens on; with no API keys it may run open only on loopback."""
    max_batch: int = MAX_BATCH
    """Most customer ids per assignment call and events per event batch (at most 100,000)."""
    max_id_length: int = MAX_ID_LENGTH
    """Longest customer or event id accepted (at most 128)."""

    @property
    def allow_open(self) -> bool:
        return is_loopback(self.bind_host)

    clock: Callable[[], datetime] = field(default=utc_now, compare=False)
    """The service's notion of *now*; the demo passes a simulated clock."""

    def as_of(self, moment: datetime | None) -> datetime:
        """A look's moment: the one asked for (it must carry a zone), else *now*."""
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("as_of must carry a zone, e.g. 2026-11-20T10:00:00Z.")
        return moment or self.clock()

    def check_ids(self, customer_ids: Sequence[str], what: str) -> None:
        """The configured batch and id-length limits (the schema enforces the hard maxima)."""
        if len(customer_ids) > self.max_batch:
            raise InvalidInput(
                f"{what}: at most {self.max_batch:,} per call on this server; got"
                f" {len(customer_ids):,}. Split the batch."
            )
        if self.max_id_length < MAX_ID_LENGTH:
            long = [i for i, c in enumerate(customer_ids) if len(c) > self.max_id_length]
            if long:
                raise InvalidInput(
                    f"{what}: {len(long)} customer id(s) are longer than"
                    f" {self.max_id_length} characters (first at index {long[0]}); nothing was"
                    " recorded.",
                    extra=[{"index": i, "field": "customer_id"} for i in long[:100]],
                )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        kwargs = {name: parse(env[var]) for var, name, parse in _FROM_ENV if var in env}
        return cls(**kwargs)  # type: ignore[arg-type]


def _flag(text: str) -> bool:
    return text not in ("0", "false")


def _capped(limit: int) -> Callable[[str], int]:
    """An integer setting that may lower a hard maximum, never raise it."""
    return lambda text: min(int(text), limit)


_FROM_ENV: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("PILOTLIFT_DATABASE_URL", "database_url", str),
    ("PILOTLIFT_MAX_BODY_BYTES", "max_body_bytes", int),
    ("PILOTLIFT_MAX_FUTURE_SKEW_HOURS", "max_future_skew_hours", float),
    ("PILOTLIFT_MIGRATE_ON_START", "migrate_on_start", _flag),
    ("PILOTLIFT_REPORT_SCHEDULE", "report_schedule", lambda text: text or None),  # "": off
    ("PILOTLIFT_REPORT_POLL_SECONDS", "report_poll_seconds", float),
    ("PILOTLIFT_AGGREGATE_EVERY_SECONDS", "aggregate_every_seconds", float),
    ("PILOTLIFT_BIND_HOST", "bind_host", str),
    ("PILOTLIFT_MAX_BATCH", "max_batch", _capped(MAX_BATCH)),
    ("PILOTLIFT_MAX_ID_LENGTH", "max_id_length", _capped(MAX_ID_LENGTH)),
)
"""Each environment variable :meth:`Settings.from_env` reads: the field it sets and how its
text becomes the value."""
