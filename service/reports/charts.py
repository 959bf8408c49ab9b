"""Charts of the weekly review, drawn by matplotlib as inline SVG.

SVG keeps the HTML page one self-contained file that prints sharply and can be mailed or
archived; text is drawn as paths, so no font has to travel with it. Figures are built with
:class:`matplotlib.figure.Figure` directly (no pyplot global state), which is safe in a
threaded server.
"""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from service.schema import ACTION_COLOURS, PilotReview
from service.schema.display import lift_axis_limits

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["cumulative_lift_svg", "forest_plot_svg", "geo_counterfactual_svg"]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and DOCTYPE for inlining


def forest_plot_svg(pilots: list[PilotReview]) -> str | None:
    """Relative lift of the primary metric with its interval, one row per pilot and variant,
    with the zero line and each pilot's minimum worthwhile lift."""
    rows = [
        (f"{p.key} · {c.variant}", c, p)
        for p in pilots
        for c in p.primary
        if c.relative_lift is not None and c.relative_ci is not None
    ]
    if not rows:
        return None
    from matplotlib.figure import Figure  # on first use: see stats/__init__.py

    fig = Figure(figsize=(8, 0.55 * len(rows) + 1.4))
    ax = fig.add_subplot()
    for y, (_label, c, p) in enumerate(reversed(rows)):
        lo, hi = c.relative_ci  # type: ignore[misc]
        colour = ACTION_COLOURS.get(p.decision.action, "#57606a")
        ax.plot([lo * 100, hi * 100], [y, y], color=colour, linewidth=2.5)
        ax.plot([c.relative_lift * 100], [y], "o", color=colour)  # type: ignore[operator]
        ax.plot([p.min_lift * 100] * 2, [y - 0.35, y + 0.35], color="#cf222e", linestyle="--",
                linewidth=1.2, label="min_lift" if y == 0 else None)  # fmt: skip
    ax.axvline(0, color="#24292f", linewidth=1, label="no effect")
    ax.set_yticks(range(len(rows)), [label for label, _, _ in reversed(rows)])
    ax.set_xlabel("relative lift of the primary metric (%), with interval")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _svg(fig)


def cumulative_lift_svg(pilot: PilotReview) -> str | None:
    """Daily cumulative relative lift of the primary metric per variant with its band."""
    by_variant: dict[str, list[tuple[date, float, float, float]]] = {}
    for point in pilot.timeseries:
        if point.relative_lift is None or point.relative_ci is None:
            continue
        day = date.fromisoformat(point.date)
        lo, hi = point.relative_ci
        by_variant.setdefault(point.variant, []).append(
            (day, point.relative_lift * 100, lo * 100, hi * 100)
        )
    if not by_variant:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot()
    for variant, points in by_variant.items():
        days = np.array([p[0] for p in points], dtype="datetime64[D]")
        line = ax.plot(days, [p[1] for p in points], marker="o", markersize=3, label=variant)
        ax.fill_between(days, [p[2] for p in points], [p[3] for p in points],
                        color=line[0].get_color(), alpha=0.2)  # fmt: skip
    ax.axhline(0, color="#24292f", linewidth=1)
    ax.axhline(pilot.min_lift * 100, color="#cf222e", linestyle="--", linewidth=1,
               label="min_lift")  # fmt: skip
    ax.set_ylim(*lift_axis_limits(by_variant.values(), pilot.min_lift * 100))
    ax.set_ylabel("cumulative lift (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig)


def geo_counterfactual_svg(pilot: PilotReview) -> str | None:
    """A geo pilot's treated regions: observed KPI against the counterfactual from the control
    regions with its daily band (pre-period fit, then the test), and the cumulative incremental
    KPI with its interval."""
    geo = pilot.geo
    if geo is None or not any(d.period == "test" for d in geo.series):
        return None
    from matplotlib.figure import Figure

    days = np.array([d.date for d in geo.series], dtype="datetime64[D]")
    test = [d.period == "test" for d in geo.series]
    test_days = days[test]
    band = [(d.lower, d.upper) for d in geo.series if d.period == "test"]
    fig = Figure(figsize=(8, 4.6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.plot(days, [d.observed for d in geo.series], color="#24292f", linewidth=1.2,
             label="observed (treated regions)")  # fmt: skip
    top.plot(days, [d.counterfactual for d in geo.series], color="#0969da", linewidth=1.2,
             linestyle="--", label="counterfactual (from control regions)")  # fmt: skip
    top.fill_between(test_days, [b[0] or 0.0 for b in band], [b[1] or 0.0 for b in band],
                     color="#0969da", alpha=0.2, label="95 % band")  # fmt: skip
    top.axvline(test_days[0], color="#57606a", linewidth=1, linestyle=":")
    top.set_ylabel(geo.metric)
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    cumulative = [d for d in geo.series if d.period == "test"]
    bottom.plot(test_days, [d.cumulative_incremental for d in cumulative], color="#1a7f37",
                marker="o", markersize=2, label="incremental to date")  # fmt: skip
    bottom.fill_between(test_days, [d.cumulative_lower or 0.0 for d in cumulative],
                        [d.cumulative_upper or 0.0 for d in cumulative], color="#1a7f37",
                        alpha=0.2)  # fmt: skip
    bottom.axhline(0, color="#24292f", linewidth=1)
    bottom.set_ylabel(f"incremental {geo.metric}")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    return _svg(fig)
