"""``ChannelView``: is a channel, as a whole, worth what it costs? Live in JupyterLab.

A composite ``VBox`` like :class:`~jupyter_ext.dashboard.PilotDashboard`: a channel picker and
a refresh button on top; then the current period's incremental revenue, cost, incremental
profit and ROI with their intervals, the naive and shrunk sums of the channel's pilots, and
every period side by side. The numbers are kept on traits (``frame``, ``summary``) so they can
be read and tested without a browser; a failure is a sentence inside the widget.
"""

from __future__ import annotations

from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from jupyter_ext._exceptions import PilotliftClientError
from jupyter_ext._format import interval, number, warning_html
from jupyter_ext._view import PickerView
from jupyter_ext.client import Client
from service.schema import ChannelResults

__all__ = ["ChannelView"]


def _money(x: float | None) -> str:
    return number(x, ",.0f")


def _band(ci: tuple[float, float] | None, fmt: str = ",.0f") -> str:
    """`` [low, high]`` after a number, nothing when there is no interval."""
    return "" if ci is None else f" {interval(ci, fmt)}"


class ChannelView(PickerView):
    """One channel at a time against its standing holdout, fed by a :class:`Client`."""

    channel_key = traitlets.Unicode(None, allow_none=True)
    frame = traitlets.Any(None, allow_none=True)
    summary = traitlets.Unicode("")

    def __init__(self, client: Client, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(client, item="Channel", width="24rem", **kwargs)
        self.periods = widgets.HTML()
        self.children = [
            widgets.HBox([self.picker, self.refresh_button]),
            self.error,
            self.header,
            self.periods,
        ]
        self.add_class("pilotlift-channel")
        self.picker.observe(self._picked, names="value")
        self._load_channels(key)

    def _load_channels(self, key: str | None) -> None:
        try:
            keys = [c.key for c in self.client.channels()]
        except PilotliftClientError as exc:
            self._fail(str(exc))
            return
        if not keys:
            self._fail("No channel exists yet: create one with POST /v1/channels.")
            return
        self.picker.options = keys
        self.picker.value = key if key in keys else keys[0]

    def _picked(self, change: dict[str, Any]) -> None:
        self.channel_key = change["new"]
        self.refresh()

    def _fail(self, message: str) -> None:
        self.error_text = message
        self.error.value = warning_html(message)

    def refresh(self) -> None:
        """Read the channel's results again and redraw."""
        if self.channel_key is None:
            return
        try:
            frame = self.client.channel_results(self.channel_key)
        except PilotliftClientError as exc:
            self._fail(str(exc))
            return
        self.error_text, self.error.value = "", ""
        self.frame = frame
        results: ChannelResults = frame.attrs["results"]
        pilots = results.pilots
        self.summary = (
            f"Period {results.period} ({results.method}): incremental revenue"
            f" {_money(results.incremental_revenue)}{_band(results.incremental_revenue_ci)},"
            f" cost {_money(results.cost)}, incremental profit"
            f" {_money(results.incremental_profit)}{_band(results.incremental_profit_ci)},"
            f" ROI {number(results.roi, '+.2f')}"
            f"{_band(results.roi_ci, '+.2f')}."
        )
        pilots_text = ""
        if pilots.pilots:
            pilots_text = (
                f"<p>The channel's pilots: naive sum of their lifts {_money(pilots.naive_sum)},"
                f" shrunk {_money(pilots.shrunk_sum)} (empirical Bayes; what the holdout can"
                " confirm).</p>"
            )
        self.header.value = f"<p><b>{escape(self.summary)}</b></p>{pilots_text}"
        self.periods.value = _periods_html(frame)


def _periods_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>No period has data yet.</p>"
    columns = ["eligible", "channel_holdout", "incremental_revenue", "cost",
               "incremental_profit", "roi"]  # fmt: skip
    shown = frame[[c for c in columns if c in frame.columns]]
    return str(shown.to_html(float_format=lambda x: f"{x:,.2f}", na_rep="–", border=0))
