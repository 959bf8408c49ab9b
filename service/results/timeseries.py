"""Daily cumulative lift of the primary metric: the results as they stood at each day's end.

Each point is a full re-aggregation as of that moment (only the primary metric), so late events
are placed where they belong in time and every point is what the results endpoint would have
said then, sequential intervals included.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import msgspec
from sqlalchemy import Engine

from service.pilots.lifecycle import get_pilot
from service.results.analyse import HOLDOUT, Options, aggregate, analyse
from service.schema import Timeseries, TimeseriesPoint

__all__ = ["compute_timeseries"]

MAX_DAYS = 366


def _day_ends(start: datetime, end: datetime) -> list[datetime]:
    first = datetime.combine(start.astimezone(UTC).date(), time(), UTC) + timedelta(days=1)
    ends: list[datetime] = []
    moment = first
    while moment < end and len(ends) < MAX_DAYS:
        ends.append(moment)
        moment += timedelta(days=1)
    return [*ends[-(MAX_DAYS - 1) :], end] if ends else [end]


def compute_timeseries(engine: Engine, key: str, as_of: datetime, options: Options) -> Timeseries:
    pilot = get_pilot(engine, key).pilot
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    points: list[TimeseriesPoint] = []
    method = options.method
    if pilot.started_at is not None and pilot.started_at < as_of:
        end = min(as_of, pilot.stopped_at) if pilot.stopped_at else as_of
        for moment in _day_ends(pilot.started_at, end):
            record, agg = aggregate(engine, key, moment, [primary])
            # Analyse only the primary metric (guardrails do not enter the series).
            single = replace(record, pilot=msgspec.structs.replace(record.pilot, metrics=[primary]))
            res = analyse(single, agg, moment, options)
            method = res.method
            customers = {a.group: a.customers for a in res.arms}
            for c in res.comparisons:
                points.append(
                    TimeseriesPoint(
                        date=(moment - timedelta(microseconds=1)).date().isoformat(),
                        as_of=moment,
                        variant=c.variant,
                        customers=customers.get(c.variant, 0) + customers.get(HOLDOUT, 0),
                        absolute_lift=c.absolute_lift if c.absolute_se is not None else None,
                        absolute_ci=c.absolute_ci,
                        relative_lift=c.relative_lift,
                        relative_ci=c.relative_ci,
                        p_value=c.p_value,
                    )
                )
    return Timeseries(
        experiment=pilot.key,
        metric=primary.key,
        method=method or ("sequential" if pilot.status == "running" else "fixed"),
        points=points,
    )
