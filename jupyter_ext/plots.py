"""The dashboard's charts as inline SVG (matplotlib, no pyplot state), plus the data they draw
so tests and analysts can read exactly what is plotted."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from service.schema.display import lift_axis_limits

__all__ = ["forest_svg", "series_svg"]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def forest_svg(rows: list[dict[str, Any]], min_lift: float, metric: str) -> str:
    """Relative lift per variant with its interval, the zero line and ``min_lift``.

    ``rows``: ``{"variant", "relative_lift", "low", "high"}`` in percent-free fractions.
    """
    fig = Figure(figsize=(6.5, 0.6 * max(len(rows), 1) + 1.3))
    ax = fig.add_subplot()
    for y, row in enumerate(reversed(rows)):
        ax.plot([row["low"] * 100, row["high"] * 100], [y, y], color="#0969da", linewidth=2.5)
        ax.plot([row["relative_lift"] * 100], [y], "o", color="#0969da")
    ax.axvline(0, color="#24292f", linewidth=1, label="no effect")
    ax.axvline(min_lift * 100, color="#cf222e", linestyle="--", linewidth=1.2, label="min_lift")
    ax.set_yticks(range(len(rows)), [r["variant"] for r in reversed(rows)])
    ax.set_xlabel(f"relative lift of {metric} (%), with interval")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _svg(fig)


def series_svg(points: list[dict[str, Any]], min_lift: float, metric: str) -> str:
    """Cumulative relative lift per variant over days with its interval band.

    ``points``: ``{"date", "variant", "relative_lift", "low", "high"}``.
    """
    fig = Figure(figsize=(6.5, 2.8))
    ax = fig.add_subplot()
    for variant in dict.fromkeys(p["variant"] for p in points):
        mine = [p for p in points if p["variant"] == variant]
        days = np.array([p["date"] for p in mine], dtype="datetime64[D]")
        line = ax.plot(days, [p["relative_lift"] * 100 for p in mine], marker="o",
                       markersize=3, label=variant)  # fmt: skip
        ax.fill_between(days, [p["low"] * 100 for p in mine], [p["high"] * 100 for p in mine],
                        color=line[0].get_color(), alpha=0.2)  # fmt: skip
    ax.axhline(0, color="#24292f", linewidth=1)
    ax.axhline(min_lift * 100, color="#cf222e", linestyle="--", linewidth=1, label="min_lift")
    by_variant = [
        [(p["date"], p["relative_lift"] * 100, p["low"] * 100, p["high"] * 100)
         for p in points if p["variant"] == variant]
        for variant in dict.fromkeys(p["variant"] for p in points)
    ]  # fmt: skip
    ax.set_ylim(*lift_axis_limits(by_variant, min_lift * 100))
    ax.set_ylabel(f"cumulative lift of {metric} (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig)


def geo_svg(days: list[dict[str, Any]], metric: str) -> str:
    """A geo pilot's treated regions: observed KPI against the counterfactual, with the
    prediction band over the test period (``days``: ``{date, observed, counterfactual, lower,
    upper}``; ``lower``/``upper`` only on test days)."""
    fig = Figure(figsize=(6.5, 2.8))
    ax = fig.add_subplot()
    dates = np.array([d["date"] for d in days], dtype="datetime64[D]")
    ax.plot(dates, [d["observed"] for d in days], color="#24292f", linewidth=1.2,
            label="observed")  # fmt: skip
    ax.plot(dates, [d["counterfactual"] for d in days], color="#0969da", linestyle="--",
            linewidth=1.2, label="counterfactual")  # fmt: skip
    band = [d for d in days if d.get("lower") is not None and d.get("upper") is not None]
    if band:
        ax.fill_between(np.array([d["date"] for d in band], dtype="datetime64[D]"),
                        [d["lower"] for d in band], [d["upper"] for d in band],
                        color="#0969da", alpha=0.2, label="interval")  # fmt: skip
    ax.set_ylabel(f"{metric}, treated regions")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig)
