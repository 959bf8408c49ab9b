"""The review's channel table, as cells: one formatting for Markdown and HTML, so the two
always show the same numbers."""

from __future__ import annotations

from service.schema import ChannelReview
from service.schema.common import Interval

__all__ = ["CHANNEL_HEADERS", "channel_cells", "cost_per_conversion", "shift"]

CHANNEL_HEADERS = (
    "channel",
    "period",
    "spend",
    "incremental revenue",
    "incremental profit",
    "ROI",
    "cost per incremental conversion",
    "budget",
)


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _band(interval: Interval | None, fmt: str) -> str:
    return "" if interval is None else f" [{interval[0]:{fmt}}, {interval[1]:{fmt}}]"


def cost_per_conversion(row: ChannelReview) -> str:
    if row.cost_per_incremental_conversion is None:
        return "n/a"
    ci = row.cost_per_incremental_conversion_ci
    return f"{row.cost_per_incremental_conversion:,.2f}{_band(ci, ',.2f')}"


def shift(row: ChannelReview) -> str:
    """The recommended budget change, e.g. ``+1,234 (+6.0%)`` or ``hold``."""
    if row.direction == "hold":
        return "hold"
    relative = f" ({row.change_relative:+.1%})" if row.change_relative is not None else ""
    return f"{row.change:+,.0f}{relative}"


def channel_cells(row: ChannelReview) -> list[str]:
    """The row's cells in the order of :data:`CHANNEL_HEADERS`."""
    roi = "n/a" if row.roi is None else f"{row.roi:+.2f}{_band(row.roi_ci, '+.2f')}"
    return [
        row.key,
        str(row.period),
        _money(row.spend),
        _money(row.incremental_revenue) + _band(row.incremental_revenue_ci, ",.0f"),
        _money(row.incremental_profit) + _band(row.incremental_profit_ci, ",.0f"),
        roi,
        cost_per_conversion(row),
        shift(row),
    ]
