"""The read side of results: one read transaction per look, then pure computation.

:func:`read_pilot` loads the pilot and its per-arm sums in one transaction (a consistent
snapshot); :func:`compute_results` hands them to :func:`service.results.analyze.analyze`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine

from service.pilots.lifecycle import PilotRecord, load_pilot
from service.results.analyze import Options, analyze
from service.schema import Metric, Results
from service.schema.common import HOLDOUT
from service.storage.aggregates import PilotAggregate, aggregate_pilot
from service.storage.sql import read_transaction
from service.timeutil import US_PER_DAY, to_us

__all__ = ["aggregate_as_of", "compute_results", "read_pilot"]


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
        window_us=pilot.attribution_window_days * US_PER_DAY,
        as_of_us=to_us(as_of),
    )


def read_pilot(engine: Engine, key: str, as_of: datetime) -> tuple[PilotRecord, PilotAggregate]:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        return record, aggregate_as_of(conn, record, as_of, record.pilot.metrics)


def compute_results(
    engine: Engine, key: str, as_of: datetime, options: Options = Options()
) -> Results:
    record, agg = read_pilot(engine, key, as_of)
    return analyze(record, agg, as_of, options)
