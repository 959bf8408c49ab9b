"""Time as the storage sees it: integer microseconds since the Unix epoch, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a zone")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def parse_iso_week(week: str) -> tuple[datetime, datetime]:
    """``"2026-W47"`` → (Monday 00:00 UTC, the next Monday 00:00 UTC). Raises ``ValueError``."""
    import re

    match = re.fullmatch(r"(\d{4})-W(\d{2})", week)
    if match is None:
        raise ValueError(f"week must look like 2026-W47, got {week!r}")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = datetime.fromisocalendar(year, number, 1).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{week!r} is not an ISO week of {year}") from exc
    return monday, monday + timedelta(days=7)


def iso_week_of(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(now: datetime) -> str:
    """The ISO week that ended most recently before ``now``."""
    return iso_week_of(now - timedelta(days=7))


def shift_week(week: str, weeks: int) -> str:
    start, _ = parse_iso_week(week)
    return iso_week_of(start + timedelta(days=7 * weeks))


def checked_week(week: str | None, now: datetime) -> str:
    """``week`` if it is a valid ISO week (else 422 with the reason), or the last complete."""
    from service.errors import InvalidInput

    week = week or last_complete_week(now)
    try:
        parse_iso_week(week)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return week
