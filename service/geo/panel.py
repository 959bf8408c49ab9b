"""From stored geo rows to the panel :mod:`stats.geo` reads: regions × calendar days.

The KPI keeps its gaps (``NaN``): a region-day without a row is *missing*, and the statistics
name it. Spend is different: ad platforms report only where money was spent, so a region-day
without a spend row spent nothing (0), and a panel has a spend matrix only when at least one of
its regions has a spend row in the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import numpy as np

from service.storage.geo import GeoRow
from stats.geo import GeoPanel

__all__ = ["build_panel", "calendar", "regions_with_data"]


def calendar(start: date, end: date) -> tuple[date, ...]:
    """Every day from ``start`` to ``end`` (both included)."""
    return tuple(start + timedelta(days=k) for k in range((end - start).days + 1))


def regions_with_data(rows: Iterable[GeoRow], metric: str, start: date, end: date) -> list[str]:
    """The regions with at least one row of ``metric`` in ``start``..``end``, sorted."""
    return sorted({r.geo for r in rows if r.metric == metric and start <= r.day <= end})


def build_panel(
    rows: Iterable[GeoRow],
    *,
    metric: str,
    spend_metric: str | None,
    geos: Sequence[str],
    start: date,
    end: date,
) -> GeoPanel:
    """``metric`` (and ``spend_metric``) of ``geos`` over ``start``..``end``."""
    days = calendar(start, end)
    gi = {g: i for i, g in enumerate(geos)}
    di = {d: j for j, d in enumerate(days)}
    values = np.full((len(geos), len(days)), np.nan)
    spend = np.zeros_like(values)
    has_spend = False
    for r in rows:
        i, j = gi.get(r.geo), di.get(r.day)
        if i is None or j is None:
            continue
        if r.metric == metric:
            values[i, j] = r.value
        elif r.metric == spend_metric:
            spend[i, j] = r.value
            has_spend = True
    return GeoPanel(tuple(geos), days, values, spend if has_spend else None)
