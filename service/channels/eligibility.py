"""Eligibility: who a channel may message this period, recorded like first assignments.

A campaign tool asks before every business-as-usual send; the answer for each customer is
``eligible`` or ``channel_holdout`` (:class:`~service.assignment.rule.ChannelRule`, one draw
per period), and the first time a customer is asked in a period that group and time are
recorded (``first_at`` starts the customer's measurement, as ``assigned_at`` does for a pilot).

Running channels are kept per process (:class:`ChannelCache`), shared with the pilots'
assignment path (a pilot of a running channel answers ``channel_holdout`` for its held-out
customers). Groups are computed from the copy; the channel is read again inside the write
transaction that records the members, so a channel stopped or changed by another process is
never recorded from a stale copy: the request gets 409, or groups computed again.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine

from service.channels.lifecycle import ChannelRecord, find_channel, get_channel, load_channel
from service.errors import Conflict, InvalidInput
from service.storage.channels import record_members
from service.storage.sql import write_transaction
from service.timeutil import to_us

__all__ = [
    "ChannelCache",
    "channel_cache",
    "check_eligibility",
    "check_pilot_fits",
    "member_rows",
    "not_running",
    "running_channel",
]


class ChannelCache:
    """This process's copy of channels as last read: running ones, and keys known to have no
    running channel (``None``), so a pilot's request needs no read to learn it has none."""

    def __init__(self) -> None:
        self._known: dict[str, ChannelRecord | None] = {}

    def lookup(self, key: str) -> tuple[bool, ChannelRecord | None]:
        """(known?, the running channel or ``None``)."""
        if key in self._known:
            return True, self._known[key]
        return False, None

    def remember(self, key: str, record: ChannelRecord | None) -> None:
        self._known[key] = record if record is not None and record.status == "running" else None


_caches: weakref.WeakKeyDictionary[Engine, ChannelCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def channel_cache(engine: Engine) -> ChannelCache:
    """The process's one cache of the channels stored behind ``engine``."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = ChannelCache()
        return cache


def not_running(record: ChannelRecord) -> Conflict:
    return Conflict(
        f"Channel {record.key!r} is {record.status}; only a running channel answers"
        " eligibility." + (" Start it first." if record.status == "draft" else "")
    )


def running_channel(conn: Connection, key: str) -> ChannelRecord | None:
    """The running channel ``key`` as stored now, or ``None``."""
    record = find_channel(conn, key)
    return record if record is not None and record.status == "running" else None


def member_rows(
    customer_ids: Sequence[str], groups: Sequence[str], at: int
) -> list[tuple[str, str, int]]:
    """Unique ``(customer, group, first_at)`` rows of one request (a repeated id counts once)."""
    rows: dict[str, tuple[str, str, int]] = {}
    for cid, group in zip(customer_ids, groups):
        if cid not in rows:
            rows[cid] = (cid, group, at)
    return list(rows.values())


def check_eligibility(
    engine: Engine, key: str, customer_ids: Sequence[str], now: datetime
) -> tuple[int, list[str], int]:
    """(period, group of every customer in order, members newly recorded); returns after the
    first memberships are committed."""
    at = to_us(now)
    cache = channel_cache(engine)
    _, record = cache.lookup(key)
    if record is None:  # not known to be running: read it (404 for an unknown key)
        record = get_channel(engine, key)
        cache.remember(key, record)
        if record.status != "running":
            raise not_running(record)
    period = record.period_at(at)
    groups = record.rule(period).groups(customer_ids)
    with write_transaction(engine) as conn:
        fresh = load_channel(conn, key)
        cache.remember(key, fresh)
        if fresh.status != "running":
            raise not_running(fresh)
        if fresh != record:  # changed since the copy was taken: recompute from the stored one
            period = fresh.period_at(at)
            groups = fresh.rule(period).groups(customer_ids)
        new = record_members(conn, fresh.id, period, member_rows(customer_ids, groups, at))
    return period, groups, new


def check_pilot_fits(conn: Connection, channel: str, holdout_share: float, pilot: str) -> None:
    """422 when the channel's holdout plus the pilot's own leaves no customer to message."""
    record = find_channel(conn, channel)
    if record is None or record.status == "stopped":
        return
    share = record.design.holdout_share
    if share + holdout_share >= 1:
        raise InvalidInput(
            f"Pilot {pilot!r} is in channel {channel!r}, which holds out {share:.0%} of"
            f" customers; with the pilot's own holdout of {holdout_share:.0%} no customer is"
            f" left to message. Lower holdout_share below {1 - share:.0%}.",
            extra=[{"field": "holdout_share", "message": f"must be below {1 - share:g}"}],
        )
