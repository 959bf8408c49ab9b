"""The service's assignment path: a per-process copy of running pilots and shared commits.

A campaign tool asking for one customer at a time must get an answer in a few milliseconds,
thousands of times a second. Two things make that possible without giving up any guarantee:

* **Running pilots are kept in memory.** A request computes its groups from the copy without
  a read transaction; the copy is checked against the stored pilot inside the very write
  transaction that records the customers (:func:`.recording.record_assignments`), so a
  pilot stopped or ramped by another process is never recorded from a stale copy — the request
  gets 409 or groups computed again from the stored design.
* **Concurrent requests share one transaction** (:class:`~service.storage.groupcommit.GroupCommit`):
  one fsync for all the requests that arrived while the previous write ran, and each answer
  still waits for its own commit.

Running channels are kept the same way (:class:`~service.channels.eligibility.ChannelCache`,
shared with the eligibility endpoint): a pilot of a running channel answers
``channel_holdout`` for the customers its holdout keeps this period, at the cost of one more
hash per customer, and the channel is checked inside the recording transaction like the pilot.

Batches larger than :data:`GROUP_COMMIT_MAX_IDS` amortize their own commit and are hashed and
written in a worker thread, off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import anyio.to_thread
from sqlalchemy import Engine

from service.assignment.groupcommit import GroupCommit
from service.assignment.recording import (
    AssignmentWrite,
    WriteResult,
    not_running,
    record_assignments,
    respect_channel,
)
from service.assignment.rule import AssignmentRule
from service.channels.eligibility import channel_cache
from service.geo.rules import regions_not_customers
from service.pilots.lifecycle import PilotRecord, get_pilot
from service.runtime.metrics import ASSIGNMENTS_RECORDED, ASSIGNMENTS_SERVED
from service.schema import AssignmentResponse, CustomerAssignment
from service.settings import Settings
from service.timeutil import to_us

__all__ = ["GROUP_COMMIT_MAX_IDS", "Assigner"]

# Requests up to this size share transactions and are hashed on the event loop (a thousand
# ids hash in well under a millisecond); larger ones go to a worker thread on their own.
GROUP_COMMIT_MAX_IDS = 1000


class Assigner:
    """Assign customers of running pilots for one service process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._running: dict[str, tuple[PilotRecord, AssignmentRule]] = {}
        self._channels = channel_cache(engine)
        self._commit: GroupCommit[AssignmentWrite, WriteResult] = GroupCommit(self._write)

    def _remember(self, record: PilotRecord) -> None:
        """Keep running pilots (as last read from the database); forget the others."""
        cached = self._running.get(record.pilot.key)
        if record.pilot.status != "running":
            self._running.pop(record.pilot.key, None)
        elif cached is None or cached[0] != record:
            self._running[record.pilot.key] = (record, record.rule())

    def _write(self, writes: Sequence[AssignmentWrite]) -> list[WriteResult | Exception]:
        return record_assignments(
            self._engine, writes, on_fresh=self._remember, on_channel=self._channels.remember
        )

    async def _pilot(self, key: str) -> tuple[PilotRecord, AssignmentRule]:
        cached = self._running.get(key)
        if cached is not None:
            return cached
        # Not known to be running: read it (NotFound for an unknown key) and ask again.
        record = await anyio.to_thread.run_sync(get_pilot, self._engine, key)
        if record.pilot.unit == "geo":  # never cached: every call is refused
            raise regions_not_customers(record.pilot)
        self._remember(record)
        if record.pilot.status != "running":
            raise not_running(record)
        return self._running[key]

    def _request(
        self, record: PilotRecord, rule: AssignmentRule, customer_ids: Sequence[str],
        now: datetime,
    ) -> AssignmentWrite:  # fmt: skip
        """Groups from the cached pilot and its cached channel (``None`` while unknown: the
        recording transaction reads it and computes again if it is running)."""
        _, channel = self._channels.lookup(record.pilot.channel)
        at = to_us(now)
        groups = respect_channel(channel, customer_ids, rule.assign(customer_ids), at)
        return AssignmentWrite(record, customer_ids, groups, at, channel)

    async def assign(
        self, key: str, customer_ids: Sequence[str], now: datetime
    ) -> tuple[str, list[str], int]:
        """Groups for ``customer_ids`` (in order) and how many were newly recorded; returns
        after the customers' first assignments are committed."""
        record, rule = await self._pilot(key)
        if len(customer_ids) > GROUP_COMMIT_MAX_IDS:
            result = await anyio.to_thread.run_sync(self._assign_alone, record, rule,
                                                    customer_ids, now)  # fmt: skip
        else:
            result = await self._commit.submit(self._request(record, rule, customer_ids, now))
        groups, new = result
        return record.pilot.key, groups, new

    async def respond(
        self, key: str, customer_ids: Sequence[str], settings: Settings
    ) -> AssignmentResponse:
        """The answer to ``POST /v1/experiments/{key}/assignments``: the server's limits, then
        the groups in request order, counted in the metrics. (The controller and the lean
        route both answer with it.)"""
        settings.check_ids(customer_ids, "customer_ids")
        pilot_key, groups, new = await self.assign(key, customer_ids, settings.clock())
        ASSIGNMENTS_SERVED.inc(len(groups))
        ASSIGNMENTS_RECORDED.inc(new)
        return AssignmentResponse(
            experiment=pilot_key,
            assignments=[
                CustomerAssignment(customer_id=c, group=g) for c, g in zip(customer_ids, groups)
            ],
        )

    def _assign_alone(
        self, record: PilotRecord, rule: AssignmentRule, customer_ids: Sequence[str],
        now: datetime,
    ) -> WriteResult:  # fmt: skip
        (result,) = self._write([self._request(record, rule, customer_ids, now)])
        if isinstance(result, Exception):
            raise result
        return result
