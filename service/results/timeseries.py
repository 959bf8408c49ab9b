"""Daily cumulative lift of the primary metric: the results as they stood at each day's end.

All days are read in one read transaction (one consistent snapshot), each as of its day's end,
so late events are placed where they belong in time; only the primary metric is aggregated and
only its comparisons are computed (no sample-ratio check, revenue or decision), and every point
equals what the results endpoint would have said then, sequential intervals included.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Connection, Engine

from service.geo.results import compute_geo_results, geo_timeseries
from service.pilots.lifecycle import PilotRecord, load_pilot
from service.results.analyze import Options, pilot_method, primary_comparisons
from service.results.read import aggregate_as_of, published_looks
from service.schema import Timeseries, TimeseriesPoint
from service.schema.common import HOLDOUT
from service.storage.sql import read_transaction

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
    with read_transaction(engine, snapshot=True) as conn:
        record = load_pilot(conn, key)
        if record.pilot.unit != "geo":
            return _customer_series(conn, record, as_of, options)
    # A geo pilot: each day's cumulative estimate of time-based regression.
    return geo_timeseries(compute_geo_results(engine, key, as_of))


def _customer_series(
    conn: Connection, record: PilotRecord, as_of: datetime, options: Options
) -> Timeseries:
    pilot = record.pilot
    points: list[TimeseriesPoint] = []
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    method = pilot_method(pilot, options)
    if pilot.started_at is not None and pilot.started_at < as_of:
        end = min(as_of, pilot.stopped_at) if pilot.stopped_at else as_of
        for moment in _day_ends(pilot.started_at, end):
            agg = aggregate_as_of(conn, record, moment, [primary])
            looks = published_looks(conn, pilot.key, moment)
            method, row = primary_comparisons(pilot, agg, moment, options, looks)
            holdout = agg.arms[HOLDOUT].customers
            for variant, c, _ in row:
                points.append(
                    TimeseriesPoint(
                        date=(moment - timedelta(microseconds=1)).date().isoformat(),
                        as_of=moment,
                        variant=variant,
                        customers=agg.arms[variant].customers + holdout,
                        absolute_lift=c.absolute_lift if c.absolute_se is not None else None,
                        absolute_ci=c.absolute_ci,
                        relative_lift=c.relative_lift,
                        relative_ci=c.relative_ci,
                        p_value=c.p_value,
                    )
                )
    return Timeseries(experiment=pilot.key, metric=primary.key, method=method, points=points)
