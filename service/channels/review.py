"""The weekly review's channel table: per channel running that week, its incremental profit,
ROI and cost per incremental conversion with intervals, its spend, and where the next budget
should go (:func:`stats.budget.recommend_budget_shift`, each channel moving at most its
``budget_step`` of spend, 6 % by default).

Each channel is read as of the week's end in the period running then, with the method the
period called for (sequential while it runs). The shift compares the channels' ROI by the
intervals the table shows (read as normal at ``1 − alpha``), so only a difference those
intervals support moves money, and total spend stays the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from service.channels.lifecycle import ChannelRecord, list_channels
from service.channels.results import PeriodFigures, analyse_period, read_periods
from service.schema import BudgetSummary, ChannelReview
from service.timeutil import to_us
from stats.budget import ChannelRoi, recommend_budget_shift

__all__ = ["channel_reviews"]


def _ran_during(record: ChannelRecord, start: datetime, end: datetime) -> bool:
    if record.started_at is None or record.started_at >= to_us(end):
        return False
    return record.stopped_at is None or record.stopped_at >= to_us(start)


def _roi(figures: PeriodFigures, step: float, key: str) -> ChannelRoi:
    """The ROI with the interval the table shows (sequential while the period runs), so money
    moves only on differences that the displayed intervals support."""
    p = figures.profit
    ci = p.roi_ci if p is not None else None
    if p is None or p.incremental_roi is None or ci is None or not ci[1] > ci[0]:
        return ChannelRoi(key, spend=figures.cost, roi=None, step=step)
    return ChannelRoi(key, spend=figures.cost, roi=p.incremental_roi, ci=ci, step=step)


def channel_reviews(
    engine: Engine, start: datetime, end: datetime, as_of: datetime
) -> tuple[list[ChannelReview], BudgetSummary | None]:
    """The rows of the channels that ran during ``[start, end)``, read as of ``as_of``, and the
    budget recommendation across them (``None`` without channels)."""
    looked: list[tuple[ChannelRecord, PeriodFigures]] = []
    for listed in list_channels(engine):
        if not _ran_during(listed, start, end):
            continue
        record, periods = read_periods(engine, listed.key, as_of)
        # The period running in the week's last moment (not one that begins at its very end).
        period = record.last_period(max(to_us(as_of) - 1, record.started_at or 0))
        looked.append((record, analyse_period(record, periods[period - 1], as_of)))
    if not looked:
        return [], None
    alpha = min(r.design.alpha for r, _ in looked)
    advice = recommend_budget_shift(
        [_roi(f, r.design.budget_step, r.key) for r, f in looked], alpha=alpha, ci_level=1 - alpha
    )
    rows = []
    for (record, f), shift in zip(looked, advice.channels):
        rows.append(
            ChannelReview(
                key=record.key,
                name=record.design.name,
                status="stopped"
                if record.stopped_at and record.stopped_at <= to_us(as_of)
                else "running",
                period=f.data.period,
                customers=f.customers,
                spend=f.cost,
                **f.money(),
                **f.cost_per_conversion(),
                budget_step=record.design.budget_step,
                change=shift.change,
                change_relative=shift.change_relative,
                direction=shift.direction,
                reason=shift.reason,
            )
        )
    return rows, BudgetSummary(status=advice.status, summary=advice.summary, moved=advice.moved)
