"""Building the weekly review: every pilot that ran during an ISO week, as of the week's end.

Each pilot is analysed with the method its status called for at the week's end (sequential
while running, fixed once stopped) and compared with the previous week: the published snapshot
of that week when there is one (the decision log), else the previous week recomputed now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from service.channels.review import channel_reviews
from service.pilots.lifecycle import list_pilots
from service.reports.store import find_snapshot
from service.results.analyze import Options
from service.results.present import struct_from
from service.results.read import compute_results
from service.results.timeseries import compute_timeseries
from service.schema import (
    Comparison,
    Pilot,
    PilotReview,
    ReportSummary,
    Results,
    TimeseriesPoint,
    WeeklyReport,
)
from service.schema.common import ACTIONS, Action, PilotStatus, default_method
from service.timeutil import parse_iso_week, shift_week

__all__ = ["build_weekly_report", "review_of_week", "status_at"]


def status_at(pilot: Pilot, moment: datetime) -> PilotStatus:
    if pilot.concluded_at is not None and pilot.concluded_at <= moment:
        return "concluded"
    if pilot.stopped_at is not None and pilot.stopped_at <= moment:
        return "stopped"
    return "running"


def _ran_during(pilot: Pilot, start: datetime, end: datetime) -> bool:
    if pilot.started_at is None or pilot.started_at >= end:
        return False
    finished = pilot.concluded_at or pilot.stopped_at
    return finished is None or finished >= start


def _primary_by_variant(results: Results) -> dict[str, Comparison]:
    return {c.variant: c for c in results.comparisons if c.metric == results.primary_metric}


def _width(c: Comparison) -> float | None:
    return None if c.relative_ci is None else c.relative_ci[1] - c.relative_ci[0]


def _changes(now: Results, before: Results | None, previous_action: Action | None) -> list[str]:
    if before is None:
        return ["New in this review."]
    lines = []
    if previous_action is not None and previous_action != now.decision.action:
        lines.append(f"Decision changed: {previous_action} → {now.decision.action}.")
    elif previous_action is not None:
        lines.append(f"Decision unchanged ({now.decision.action}).")
    old = _primary_by_variant(before)
    for variant, c in _primary_by_variant(now).items():
        prev = old.get(variant)
        if prev is None or c.relative_lift is None or prev.relative_lift is None:
            continue
        text = f"{variant}: lift {c.relative_lift:+.1%} (was {prev.relative_lift:+.1%})"
        w, pw = _width(c), _width(prev)
        if w is not None and pw is not None:
            trend = "narrower" if w < pw else "wider" if w > pw else "unchanged"
            text += f", interval width {w:.1%} (was {pw:.1%}, {trend})"
        lines.append(text + ".")
    return lines


def _review(
    engine: Engine,
    pilot: Pilot,
    as_of: datetime,
    previous: tuple[Results | None, Action | None],
) -> PilotReview:
    status = status_at(pilot, as_of)
    concluded = status == "concluded"
    options = Options(default_method(status))
    results = compute_results(engine, pilot.key, as_of, options)
    guard_keys = {m.key for m in pilot.metrics if m.guardrail}
    series: list[TimeseriesPoint] = []  # a geo pilot's series is results.geo
    if pilot.unit != "geo":
        series = compute_timeseries(engine, pilot.key, as_of, options).points
    return struct_from(
        PilotReview,
        pilot,  # what the pilot declares (key, name, channel, owner, …) under the same names
        status=status,
        stopped_at=pilot.stopped_at if pilot.stopped_at and pilot.stopped_at <= as_of else None,
        concluded_at=pilot.concluded_at if concluded else None,
        final_decision=pilot.decision if concluded else None,
        final_note=pilot.decision_note if concluded else None,
        days_running=results.days_running,
        customers={a.group: a.customers for a in results.arms},
        method=results.method,
        primary=[c for c in results.comparisons if c.metric == pilot.primary_metric],
        guardrails=[c for c in results.comparisons if c.metric in guard_keys],
        revenue=results.revenue,
        decision=results.decision,
        warnings=results.warnings,
        srm=results.srm,
        changes=_changes(results, *previous),
        previous_action=previous[1],
        information_fraction=results.information_fraction if status == "running" else None,
        timeseries=series,
        geo=results.geo,
    )


def build_weekly_report(
    engine: Engine, week: str, now: datetime, *, previous: WeeklyReport | None = None
) -> WeeklyReport:
    """The review of ``week`` (``YYYY-Www``); ``previous`` is last week's published snapshot."""
    start, end = parse_iso_week(week)
    as_of = min(end, now)
    prev_week = shift_week(week, -1)
    _prev_start, prev_end = parse_iso_week(prev_week)
    published = {p.key: p for p in previous.pilots} if previous else {}
    reviews = []
    for pilot in list_pilots(engine, None):
        if not _ran_during(pilot, start, end):
            continue
        before: Results | None = None
        prev_action: Action | None = None
        if pilot.started_at is not None and pilot.started_at < prev_end:
            options = Options(default_method(status_at(pilot, prev_end)))
            before = compute_results(engine, pilot.key, prev_end, options)
            prev_action = before.decision.action
            if pilot.key in published:  # the published call is the one on record
                prev_action = published[pilot.key].decision.action
        reviews.append(_review(engine, pilot, as_of, (before, prev_action)))
    counts: dict[str, int] = {a: sum(r.decision.action == a for r in reviews) for a in ACTIONS}
    channels, budget = channel_reviews(engine, start, end, as_of)
    return WeeklyReport(
        week=week,
        starts=start,
        ends=end,
        generated_at=now,
        compared_with=(
            f"{prev_week} (published)" if previous else f"{prev_week} (recomputed, not published)"
        ),
        summary=ReportSummary(
            pilots=len(reviews),
            actions=counts,
            incremental_revenue=sum(r.revenue.incremental_revenue or 0.0 for r in reviews),
            cost=sum(r.revenue.cost for r in reviews),
        ),
        pilots=reviews,
        channels=channels,
        budget=budget,
    )


def review_of_week(engine: Engine, week: str, now: datetime) -> WeeklyReport:
    """The review of ``week``, compared with last week's published snapshot if there is one
    (the decision log), else with last week recomputed now."""
    previous = find_snapshot(engine, shift_week(week, -1))
    return build_weekly_report(engine, week, now, previous=previous.report if previous else None)
