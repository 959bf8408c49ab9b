"""The read side of results: one read transaction per look, then pure computation.

:func:`read_pilot` loads, in one transaction (a consistent snapshot), the pilot, its per-arm
sums, the information fractions of its published looks and its posted costs;
:func:`compute_results` hands them to :func:`service.results.analyze.analyze`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from service.geo.results import compute_geo_results
from service.pilots.costs import posted_costs
from service.pilots.lifecycle import PilotRecord, load_pilot
from service.results.analyze import Facts, Options, analyze, conversions_metric
from service.schema import Metric, Results
from service.schema.common import HOLDOUT
from service.storage.aggregates import PilotAggregate, aggregate_pilot
from service.storage.sql import read_transaction
from service.storage.tables import decision_log
from service.timeutil import to_us

__all__ = ["aggregate_as_of", "compute_results", "published_looks", "read_pilot"]


def aggregate_as_of(
    conn: Connection, record: PilotRecord, as_of: datetime, metrics: Sequence[Metric]
) -> PilotAggregate:
    """The pilot's per-arm sums of ``metrics`` as of ``as_of``, inside the caller's read."""
    pilot = record.pilot
    return aggregate_pilot(
        conn,
        record.id,
        [HOLDOUT, *(v.key for v in pilot.variants)],
        metrics,
        as_of_us=to_us(as_of),
    )


def published_looks(conn: Connection, key: str, as_of: datetime) -> tuple[float, ...]:
    """Information fractions of the weekly reviews published before ``as_of``: the looks the
    group-sequential test has already spent α on."""
    rows = conn.execute(
        select(decision_log.c.information_fraction).where(
            decision_log.c.pilot_key == key,
            decision_log.c.source == "weekly_review",
            decision_log.c.information_fraction.is_not(None),
            decision_log.c.recorded_at <= to_us(as_of),
        )
    )
    return tuple(sorted({float(f) for (f,) in rows}))


def read_pilot(
    engine: Engine, key: str, as_of: datetime
) -> tuple[PilotRecord, PilotAggregate, Facts] | None:
    """The pilot with its sums, looks and costs; ``None`` for a geo pilot (read by region)."""
    with read_transaction(engine, snapshot=True) as conn:
        record = load_pilot(conn, key)
        if record.pilot.unit == "geo":
            return None
        metrics = [*record.pilot.metrics, conversions_metric(record.pilot)]
        agg = aggregate_as_of(conn, record, as_of, metrics)
        facts = Facts(
            published_looks(conn, key, as_of), posted_costs(conn, record.id, as_of.date())
        )
        return record, agg, facts


def compute_results(
    engine: Engine, key: str, as_of: datetime, options: Options = Options()
) -> Results:
    read = read_pilot(engine, key, as_of)
    if read is None:  # a geo pilot: regions by time-based regression
        return compute_geo_results(engine, key, as_of)
    record, agg, facts = read
    return analyze(record, agg, as_of, options, facts)
