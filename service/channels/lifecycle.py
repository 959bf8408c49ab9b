"""Channel lifecycle: create, read, patch, start, stop — and the period schedule.

A channel's holdout is drawn afresh each period (:class:`~service.assignment.rule.ChannelRule`
takes the period number). Periods are numbered 1, 2, … from the start and last
``period_days``; a change of ``period_days`` while running takes effect from the *next* period,
so no period that has begun moves. The schedule is stored as segments ``(first period, its
start, days per period)``, and every period's bounds follow from it.

What decides who is held out (``holdout_share``, ``salt``) and what is measured (``event``, the
lookback, ``alpha``) freezes at start; ``name``, ``period_days``, ``margin_rate`` and
``budget_step`` may change later. Every change is audited in its own transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from service.admin import audit
from service.assignment.rule import ChannelRule
from service.errors import Conflict, InvalidInput
from service.pilots.records import find_row, list_rows, load_row, patched, permitted_changes
from service.schema import Channel, ChannelCreate, ChannelPatch, ChannelPeriod
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import channels, pilots
from service.timeutil import US_PER_DAY, from_us, to_us

__all__ = [
    "MUTABLE_AFTER_START",
    "ChannelRecord",
    "channel_out",
    "channel_periods",
    "create_channel",
    "get_channel",
    "list_channels",
    "load_channel",
    "patch_channel",
    "start_channel",
    "stop_channel",
]

MUTABLE_AFTER_START = frozenset({"name", "period_days", "margin_rate", "budget_step"})

Segment = tuple[int, int, int]  # (first period, its start in µs, days per period)


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """A stored channel: its design, status and period schedule (times in µs)."""

    id: int
    key: str
    status: str
    design: ChannelCreate
    schedule: tuple[Segment, ...]
    created_at: int
    started_at: int | None
    stopped_at: int | None

    @property
    def salt(self) -> str:
        return self.design.salt or self.design.key

    def period_at(self, at_us: int) -> int:
        """The period running at ``at_us`` (1 before and at the start)."""
        if not self.schedule:
            return 1
        first, start, days = self.schedule[0]
        for segment in self.schedule:
            if segment[1] <= at_us:
                first, start, days = segment
        return first + max(at_us - start, 0) // (days * US_PER_DAY)

    def bounds(self, period: int) -> tuple[int, int]:
        """``[start, end)`` of ``period`` in µs (the schedule must exist: started)."""
        first, start, days = self.schedule[0]
        for segment in self.schedule:
            if segment[0] <= period:
                first, start, days = segment
        begins = start + (period - first) * days * US_PER_DAY
        return begins, begins + days * US_PER_DAY

    def last_period(self, at_us: int) -> int:
        """The period to report at ``at_us``: the current one, or the last one once stopped."""
        if self.stopped_at is not None and self.stopped_at <= at_us:
            return self.period_at(max(self.stopped_at - 1, self.started_at or 0))
        return self.period_at(at_us)

    def rule(self, period: int) -> ChannelRule:
        return ChannelRule(self.salt, period, self.design.holdout_share)


def _record(row: Any) -> ChannelRecord:
    return ChannelRecord(
        id=row.id,
        key=row.key,
        status=row.status,
        design=msgspec.json.decode(row.design, type=ChannelCreate),
        schedule=tuple((int(a), int(b), int(c)) for a, b, c in json.loads(row.schedule)),
        created_at=row.created_at,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
    )


def channel_out(record: ChannelRecord, now: datetime) -> Channel:
    """The channel as the API answers it, with the period running at ``now``."""
    fields = msgspec.structs.asdict(record.design)
    fields["salt"] = record.salt
    period = None
    if record.started_at is not None:
        number = record.last_period(to_us(now))
        begins, ends = record.bounds(number)
        period = ChannelPeriod(period=number, starts_at=from_us(begins), ends_at=from_us(ends))
    return Channel(
        **fields,
        status=record.status,  # type: ignore[arg-type]
        created_at=from_us(record.created_at),
        started_at=from_us(record.started_at) if record.started_at is not None else None,
        stopped_at=from_us(record.stopped_at) if record.stopped_at is not None else None,
        period=period,
    )


def load_channel(conn: Connection, key: str, *, for_update: bool = False) -> ChannelRecord:
    return _record(load_row(conn, channels, key, "channel", for_update=for_update))


def find_channel(conn: Connection, key: str, *, for_update: bool = False) -> ChannelRecord | None:
    row = find_row(conn, channels, key, for_update=for_update)
    return None if row is None else _record(row)


def get_channel(engine: Engine, key: str) -> ChannelRecord:
    with read_transaction(engine) as conn:
        return load_channel(conn, key)


def list_channels(engine: Engine, status: str | None = None) -> list[ChannelRecord]:
    return [_record(row) for row in list_rows(engine, channels, status)]


def _crowded_pilots(conn: Connection, key: str, holdout_share: float) -> list[str]:
    """Pilots of channel ``key`` whose own holdout plus ``holdout_share`` reaches 1."""
    crowded = []
    for pilot_key, design in conn.execute(select(pilots.c.key, pilots.c.design)):
        declared = json.loads(design)
        if declared.get("channel") == key and declared["holdout_share"] + holdout_share >= 1:
            crowded.append(pilot_key)
    return crowded


def create_channel(
    engine: Engine, body: ChannelCreate, now: datetime, *, actor: str = "system"
) -> ChannelRecord:
    design = msgspec.structs.replace(body, salt=body.salt or body.key)
    try:
        with write_transaction(engine) as conn:
            crowded = _crowded_pilots(conn, body.key, body.holdout_share)
            if crowded:
                raise InvalidInput(
                    f"A channel holdout of {body.holdout_share:.0%} plus the holdout of pilot"
                    f" {crowded[0]!r} of channel {body.key!r} leaves no customer to message;"
                    " lower one of them.",
                    extra=[{"field": "holdout_share", "message": f"pilot {k!r}"} for k in crowded],
                )
            conn.execute(
                channels.insert().values(
                    key=body.key,
                    status="draft",
                    design=msgspec.json.encode(design).decode(),
                    schedule="[]",
                    created_at=to_us(now),
                )
            )
            audit.record(conn, actor=actor, action="channel.create", target=body.key,
                         change=msgspec.to_builtins(design), now=now)  # fmt: skip
            return load_channel(conn, body.key)
    except IntegrityError as exc:
        raise Conflict(f"A channel with key {body.key!r} already exists.") from exc


def _rescheduled(record: ChannelRecord, days: int, now_us: int) -> str:
    """The schedule with ``days`` per period from the period after the current one on."""
    current = record.period_at(now_us)
    _, ends = record.bounds(current)
    kept = [s for s in record.schedule if s[0] <= current]
    return json.dumps([list(s) for s in [*kept, (current + 1, ends, days)]])


def patch_channel(
    engine: Engine, key: str, patch: ChannelPatch, now: datetime, *, actor: str = "system"
) -> ChannelRecord:
    with write_transaction(engine) as conn:
        record = load_channel(conn, key, for_update=True)
        changes = permitted_changes(
            patch,
            record.status,
            MUTABLE_AFTER_START,
            "channel",
            decides="who is held out or what is measured",
            allowed="name, period_days, margin_rate and budget_step",
        )
        values: dict[str, Any] = {}
        period_days = changes.get("period_days", record.design.period_days)
        if record.status != "draft" and period_days != record.design.period_days:
            if record.status != "running":
                raise Conflict(f"The channel is {record.status}; its periods are over.")
            values["schedule"] = _rescheduled(record, period_days, to_us(now))
        design = patched(record.design, changes, "channel")
        if record.status == "draft" and "holdout_share" in changes:
            crowded = _crowded_pilots(conn, key, design.holdout_share)
            if crowded:
                raise InvalidInput(
                    f"A channel holdout of {design.holdout_share:.0%} plus the holdout of pilot"
                    f" {crowded[0]!r} leaves no customer to message; lower one of them."
                )
        values["design"] = msgspec.json.encode(design).decode()
        conn.execute(update(channels).where(channels.c.id == record.id).values(**values))
        audit.record(conn, actor=actor, action="channel.patch", target=key,
                     change=msgspec.to_builtins(changes), now=now)  # fmt: skip
        return load_channel(conn, key)


def _transition(
    engine: Engine, key: str, allowed_from: str, to: str, *, actor: str, now: datetime,
    **values: Any,
) -> ChannelRecord:  # fmt: skip
    with write_transaction(engine) as conn:
        record = load_channel(conn, key, for_update=True)
        if record.status != allowed_from:
            raise Conflict(
                f"Cannot move channel {key!r} from {record.status} to {to}; allowed from:"
                f" {allowed_from}."
            )
        if to == "running":
            values["schedule"] = json.dumps([[1, values["started_at"], record.design.period_days]])
        conn.execute(update(channels).where(channels.c.id == record.id).values(status=to, **values))
        action = "channel.start" if to == "running" else "channel.stop"
        audit.record(conn, actor=actor, action=action, target=key,
                     change={"from": record.status, "to": to}, now=now)  # fmt: skip
        return load_channel(conn, key)


def start_channel(
    engine: Engine, key: str, now: datetime, *, actor: str = "system"
) -> ChannelRecord:
    """``draft → running``: period 1 begins now; eligibility and the pilots' holdout start."""
    return _transition(engine, key, "draft", "running", actor=actor, now=now, started_at=to_us(now))


def stop_channel(
    engine: Engine, key: str, now: datetime, *, actor: str = "system"
) -> ChannelRecord:
    """``running → stopped``: no holdout any more; the periods stay readable."""
    return _transition(
        engine, key, "running", "stopped", actor=actor, now=now, stopped_at=to_us(now)
    )


def channel_periods(conn: Connection, now: datetime) -> list[tuple[int, int]]:
    """``(channel id, period)`` of every period begun by ``now``: where members can be."""
    records = [_record(row) for row in conn.execute(select(channels))]
    return [
        (r.id, period)
        for r in records
        if r.started_at is not None
        for period in range(1, r.last_period(to_us(now)) + 1)
    ]
