"""Geo metrics in SQL: restating upserts of a KPI per region and day, and the reads of a panel.

A batch is carried into SQL by the one staging routine's :func:`~service.storage.staging.stage`
(``COPY`` on PostgreSQL), then two set-based statements that run unchanged on both backends:
delete the stored rows the batch restates (their count is the answer's ``replaced``), insert the
whole batch. On PostgreSQL the batch first takes a lock that only geo writers contend for, so
two batches restating the same key one after the other cannot both find it absent and clash on
insert; readers are never blocked. SQLite's write transaction already holds the only write lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select, text

from service.storage.staging import Staged, clear, is_postgres, stage
from service.storage.tables import ID_WIDTH, geo_metrics

__all__ = ["GeoRow", "last_day_with_data", "read_geo_rows", "upsert_geo_rows"]

_STAGED = Staged(
    "staged_geo_metrics",
    (
        ("metric", "VARCHAR(64)"),
        ("geo", f"VARCHAR({ID_WIDTH})"),
        ("day", "VARCHAR(10)"),
        ("value", "DOUBLE PRECISION"),
    ),
)


@dataclass(frozen=True, slots=True)
class GeoRow:
    metric: str
    geo: str
    day: date
    value: float


def upsert_geo_rows(conn: Connection, rows: Sequence[GeoRow], recorded_at: int) -> int:
    """Store ``rows`` (unique keys), replacing stored rows with the same (metric, geo, date);
    returns how many were replaced."""
    if not rows:
        return 0
    if is_postgres(conn):
        conn.exec_driver_sql("LOCK TABLE geo_metrics IN SHARE ROW EXCLUSIVE MODE")
    ordered = sorted((r.metric, r.geo, r.day.isoformat(), r.value) for r in rows)
    stage(conn, _STAGED, ordered)
    s = _STAGED.name
    replaced = conn.execute(
        text(
            f"DELETE FROM geo_metrics WHERE EXISTS (SELECT 1 FROM {s}"
            f" WHERE {s}.metric = geo_metrics.metric AND {s}.geo = geo_metrics.geo"
            f" AND {s}.day = geo_metrics.date)"
        )
    ).rowcount
    conn.execute(
        text(
            "INSERT INTO geo_metrics (metric, geo, date, value, recorded_at)"
            f" SELECT metric, geo, day, value, :at FROM {s} ORDER BY metric, geo, day"
        ),
        {"at": recorded_at},
    )
    clear(conn, _STAGED)
    return max(replaced, 0)


def read_geo_rows(conn: Connection, metrics: Iterable[str], start: date, end: date) -> list[GeoRow]:
    """Every row of ``metrics`` dated ``start``..``end`` (both included)."""
    query = select(geo_metrics.c.metric, geo_metrics.c.geo, geo_metrics.c.date,
                   geo_metrics.c.value).where(
        geo_metrics.c.metric.in_(sorted(set(metrics))),
        geo_metrics.c.date >= start.isoformat(),
        geo_metrics.c.date <= end.isoformat(),
    )  # fmt: skip
    return [GeoRow(m, g, date.fromisoformat(d), float(v)) for m, g, d, v in conn.execute(query)]


def last_day_with_data(conn: Connection, metric: str, start: date, end: date) -> date | None:
    """The latest day in ``start``..``end`` on which any region has a row of ``metric``."""
    found = conn.execute(
        select(func.max(geo_metrics.c.date)).where(
            geo_metrics.c.metric == metric,
            geo_metrics.c.date >= start.isoformat(),
            geo_metrics.c.date <= end.isoformat(),
        )
    ).scalar_one_or_none()
    return date.fromisoformat(found) if found else None
