"""The aggregator's loop in each service process (see :mod:`service.storage.aggregator`).

Every ``aggregate_every_seconds`` the process folds the facts written since the watermark into
the per-customer totals. Processes share the work safely: on PostgreSQL a pass that finds
another process folding skips its turn; on SQLite passes take turns on the write lock. A
failed pass (database away, disk full) is logged and retried on the next tick; the facts stay
beyond the watermark meanwhile and results read them from the raw rows, so nothing is lost or
counted twice. The rows still to fold are exported as ``pilotlift_unfolded_facts``.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from sqlalchemy import Engine

from service.storage.aggregator import backlog, fold_once, fold_rows

__all__ = ["UNFOLDED_FACTS", "run_aggregation"]

log = logging.getLogger("pilotlift.aggregator")

BACKLOG_PAUSE = 0.05
"""Seconds between two passes through a backlog."""

UNFOLDED_FACTS = Gauge(
    "pilotlift_unfolded_facts",
    "Assignment and event rows written but not yet folded into the per-customer totals",
)


def _pass(engine: Engine) -> int:
    folded = fold_once(engine)
    UNFOLDED_FACTS.set(backlog(engine).rows)
    return folded


async def run_aggregation(engine: Engine, every_seconds: float) -> None:
    """The loop: a pass, then the next soon after a full pass (a backlog), else after
    ``every_seconds``. "Soon" leaves the requests a turn: SQLite's writers queue on one lock
    that is not fair, and back-to-back passes starved a second worker's single-customer
    requests (p99 0.5 s while a backlog of 100,000 assignments was folded)."""
    while True:
        folded = 0
        try:
            folded = await asyncio.to_thread(_pass, engine)
        except Exception:  # keep the loop alive; the next tick retries
            log.exception("folding facts into the totals failed; retrying")
        await asyncio.sleep(BACKLOG_PAUSE if folded >= fold_rows(engine) else every_seconds)
