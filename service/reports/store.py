"""Published weekly reviews (immutable snapshots) and the per-pilot decision log."""

from __future__ import annotations

import json
from datetime import datetime

import msgspec
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from service.admin import audit
from service.errors import Conflict, NotFound
from service.schema import (
    DecisionLog,
    DecisionRecord,
    ReportInfo,
    ReportList,
    ReportSnapshot,
    WeeklyReport,
)
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import decision_log, report_snapshots
from service.timeutil import from_us, to_us

__all__ = ["decision_history", "get_snapshot", "list_reports", "publish_report"]


def publish_report(
    engine: Engine, report: WeeklyReport, *, by: str, now: datetime, actor: str | None = None
) -> ReportSnapshot:
    """Store ``report`` as the week's snapshot and log each pilot's call, atomically.

    A week is published once: a second attempt (another process's schedule, a repeated POST)
    is a :class:`Conflict` and changes nothing.
    """
    body = msgspec.json.encode(report).decode()
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                report_snapshots.insert().values(
                    week=report.week, published_at=to_us(now), published_by=by, body=body
                )
            )
            audit.record(conn, actor=actor or by, action="report.publish", target=report.week,
                         change=report.summary.actions, now=now)  # fmt: skip
            for review in report.pilots:
                conn.execute(
                    decision_log.insert().values(
                        pilot_key=review.key,
                        week=report.week,
                        action=review.decision.action,
                        reasons=json.dumps(review.decision.reasons),
                        note=None,
                        source="weekly_review",
                        recorded_at=to_us(now),
                        information_fraction=review.information_fraction,
                    )
                )
    except IntegrityError as exc:
        existing = get_snapshot(engine, report.week)
        raise Conflict(
            f"The review of {report.week} was already published at"
            f" {existing.published_at.isoformat()} by {existing.published_by}; published"
            " reviews are immutable."
        ) from exc
    return ReportSnapshot(week=report.week, published_at=now, published_by=by, report=report)


def get_snapshot(engine: Engine, week: str) -> ReportSnapshot:
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(report_snapshots).where(report_snapshots.c.week == week)
        ).one_or_none()
    if row is None:
        raise NotFound(f"No review of {week} has been published.")
    return ReportSnapshot(
        week=row.week,
        published_at=from_us(row.published_at),
        published_by=row.published_by,
        report=msgspec.json.decode(row.body, type=WeeklyReport),
    )


def find_snapshot(engine: Engine, week: str) -> ReportSnapshot | None:
    try:
        return get_snapshot(engine, week)
    except NotFound:
        return None


def list_reports(engine: Engine) -> ReportList:
    with read_transaction(engine) as conn:
        rows = conn.execute(select(report_snapshots).order_by(report_snapshots.c.week)).all()
    infos = []
    for row in rows:
        report = msgspec.json.decode(row.body, type=WeeklyReport)
        infos.append(
            ReportInfo(
                week=row.week,
                published_at=from_us(row.published_at),
                published_by=row.published_by,
                pilots=report.summary.pilots,
                actions=report.summary.actions,
            )
        )
    return ReportList(reports=infos)


def decision_history(engine: Engine, key: str) -> DecisionLog:
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(decision_log)
            .where(decision_log.c.pilot_key == key)
            .order_by(decision_log.c.recorded_at, decision_log.c.id)
        ).all()
    return DecisionLog(
        experiment=key,
        decisions=[
            DecisionRecord(
                experiment=key,
                week=r.week,
                action=r.action,
                reasons=json.loads(r.reasons),
                note=r.note,
                source=r.source,
                recorded_at=from_us(r.recorded_at),
            )
            for r in rows
        ],
    )
