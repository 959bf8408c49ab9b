"""Automatic publication of the weekly review.

Off by default. ``PILOTLIFT_REPORT_SCHEDULE="mon 08:00"`` (UTC) makes every service process
check, every ``PILOTLIFT_REPORT_POLL_SECONDS``, whether this week's publication time has passed
and the last complete week is still unpublished; if so it builds and publishes it. However many
processes (or machines) race, the week is the snapshot table's primary key, so exactly one
insert wins and the others see the conflict and do nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, time, timedelta

from sqlalchemy import Engine

from service.errors import Conflict
from service.reports.build import review_of_week
from service.reports.store import find_snapshot, publish_report
from service.settings import Settings
from service.timeutil import last_complete_week, parse_iso_week, shift_week

__all__ = ["due_week", "parse_schedule", "publish_if_due", "run_schedule"]

log = logging.getLogger("pilotlift.schedule")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_schedule(text: str) -> tuple[int, time]:
    """``"mon 08:00"`` → (0, 08:00). Raises ``ValueError`` with a usable message."""
    match = re.fullmatch(r"\s*([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*", text.lower())
    if match is None or match.group(1) not in _DAYS:
        raise ValueError(f"report schedule must look like 'mon 08:00' (UTC), got {text!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"report schedule time out of range: {text!r}")
    return _DAYS.index(match.group(1)), time(hour, minute)


def due_week(now: datetime, schedule: tuple[int, time]) -> str | None:
    """The week to publish at ``now``, or ``None`` before this week's publication time."""
    weekday, at = schedule
    this_week = shift_week(last_complete_week(now), 1)
    monday, _ = parse_iso_week(this_week)
    moment = datetime.combine(monday.date() + timedelta(days=weekday), at, monday.tzinfo)
    return last_complete_week(now) if now >= moment else None


def publish_if_due(engine: Engine, settings: Settings, schedule: tuple[int, time]) -> str | None:
    now = settings.clock()
    week = due_week(now, schedule)
    if week is None or find_snapshot(engine, week) is not None:
        return None
    report = review_of_week(engine, week, now)
    try:
        publish_report(engine, report, by="schedule", now=now)
    except Conflict:
        return None  # another process published it first
    log.info("published the weekly review of %s", week)
    return week


async def run_schedule(engine: Engine, settings: Settings) -> None:
    """Background loop started with the app when a schedule is configured."""
    assert settings.report_schedule is not None
    schedule = parse_schedule(settings.report_schedule)
    while True:
        try:
            await asyncio.to_thread(publish_if_due, engine, settings, schedule)
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("scheduled publication failed")
        await asyncio.sleep(settings.report_poll_seconds)
