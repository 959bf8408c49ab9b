"""Presentation rules the weekly review and the notebook dashboard share (both draw the
same charts; the notebook may import only the schema)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ACTION_COLOURS", "lift_axis_limits"]

ACTION_COLOURS: dict[str, str] = {
    "scale": "#1a7f37",
    "stop": "#cf222e",
    "continue": "#9a6700",
    "check_data": "#8250df",
}
"""The colour of each recommended action in the HTML review, its charts and the dashboard."""


def lift_axis_limits(
    series: Iterable[Sequence[tuple[object, float, float, float]]], reference: float
) -> tuple[float, float]:
    """The y range of a cumulative-lift chart: every estimate, zero, the reference line, and the
    intervals of the later two thirds of the days. Day one's interval (±400 % on a few
    customers) would otherwise flatten weeks of lift into a line at zero; its band is clipped.
    """
    values = [0.0, reference]
    for points in series:
        values += [p[1] for p in points]
        for p in points[len(points) // 3 :]:
            values += [p[2], p[3]]
    lo, hi = min(values), max(values)
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad
