"""``PilotDashboard``: one pilot's lift, uncertainty and decision, live in JupyterLab.

A composite ``VBox`` in the ipywidgets style: controls on top (pilot, metric, method, CUPED,
refresh, auto-refresh), then the header (status, days running, decision with its reasons,
colour-coded), the table of arms and comparisons, the forest plot and the cumulative lift. The
numbers behind every element are kept on traits (``results``, ``forest_data``,
``series_data``) so they can be read — and tested — without a browser. Any failure is shown as
a sentence inside the widget, never as a traceback.
"""

from __future__ import annotations

import threading
from html import escape
from typing import Any

import ipywidgets as widgets
import traitlets

from jupyter_ext._exceptions import PilotliftClientError
from jupyter_ext._format import interval, number
from jupyter_ext._view import PickerView
from jupyter_ext.client import Client
from jupyter_ext.frames import PilotResults
from jupyter_ext.plots import forest_svg, geo_svg, series_svg
from service.schema import ACTION_COLOURS

__all__ = ["PilotDashboard"]


class PilotDashboard(PickerView):
    """Dashboard of one pilot at a time, fed by a :class:`~jupyter_ext.client.Client`."""

    pilot_key = traitlets.Unicode(None, allow_none=True)
    results = traitlets.Any(None, allow_none=True)
    decision_text = traitlets.Unicode("")
    forest_data: traitlets.List[Any] = traitlets.List()
    series_data: traitlets.List[Any] = traitlets.List()
    geo_data: traitlets.List[Any] = traitlets.List()
    auto_refresh_seconds = traitlets.Float(60.0)

    def __init__(self, client: Client, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(client, item="Pilot", width="28rem", **kwargs)
        self.metric = widgets.Dropdown(description="Metric")
        self.method = widgets.ToggleButtons(
            options=[
                ("default", ""),
                ("sequential", "sequential"),
                ("fixed", "fixed"),
                ("always valid", "always_valid"),
            ],
            description="Method",
            style={"button_width": "5.5rem"},
        )
        self.cuped = widgets.Checkbox(value=True, description="CUPED", indent=False)
        self.auto = widgets.Checkbox(value=False, description="Auto-refresh", indent=False)
        self.table = widgets.HTML()
        self.forest = widgets.HTML()
        self.series = widgets.HTML()
        self._stop_auto = threading.Event()
        self.children = [
            widgets.HBox([self.picker, self.metric]),
            self.method,
            widgets.HBox([self.cuped, self.refresh_button, self.auto]),
            self.error,
            self.header,
            self.table,
            self.forest,
            self.series,
        ]
        self.add_class("pilotlift-dashboard")
        self.picker.observe(self._on_pilot, names="value")
        self._quiet = False  # set while the controls are filled in programmatically
        for control in (self.metric, self.method, self.cuped):
            control.observe(self._on_control, names="value")
        self.auto.observe(self._on_auto, names="value")
        self.load_pilots(select=key)

    # --- loading --------------------------------------------------------------------------

    def _show_error(self, exc: Exception) -> None:
        if isinstance(exc, PilotliftClientError):
            message = exc.detail if exc.status_code is None else f"{exc.status_code}: {exc.detail}"
        else:  # never a traceback in the notebook; the message is enough to act on
            message = f"Unexpected {type(exc).__name__}: {exc}"
        self.error_text = message
        self.error.value = (
            '<div class="pilotlift-error" style="color:#cf222e;border:1px solid #cf222e;'
            f'padding:.4rem .6rem;border-radius:4px">⚠ {escape(message)}</div>'
        )

    def _clear_error(self) -> None:
        self.error_text = ""
        self.error.value = ""

    def load_pilots(self, select: str | None = None) -> None:
        try:
            pilots = self.client.pilots()
        except Exception as exc:
            self._show_error(exc)
            return
        self._pilots = {p.key: p for p in pilots}
        options = [(f"{p.name} ({p.key}) · {p.status}", p.key) for p in pilots]
        running = [p.key for p in pilots if p.status == "running"]
        wanted = select or (running[0] if running else (pilots[-1].key if pilots else None))
        notice = None
        if wanted is not None and wanted not in self._pilots:
            notice = PilotliftClientError(
                f"No pilot with key {wanted!r}; showing another one.", status_code=404
            )
            wanted = pilots[0].key if pilots else None
        with self.hold_trait_notifications():
            self.picker.options = options
        if wanted is None:
            self.header.value = "<em>No pilots yet. Create one with POST /v1/experiments.</em>"
            return
        if self.picker.value == wanted:
            self._on_pilot({"new": wanted})
        else:
            self.picker.value = wanted
        if notice is not None:  # after the refresh, which clears errors
            self._show_error(notice)

    def _on_pilot(self, change: dict[str, Any]) -> None:
        key = change["new"]
        if key is None:
            return
        self.pilot_key = key
        pilot = self._pilots[key]
        options = [(m.key + (" (guardrail)" if m.guardrail else ""), m.key) for m in pilot.metrics]
        self._quiet = True
        try:
            self.metric.options = options
            self.metric.value = pilot.primary_metric
        finally:
            self._quiet = False
        self.refresh()

    def _on_control(self, _change: dict[str, Any]) -> None:
        if not self._quiet:
            self.refresh()

    def refresh(self) -> None:
        """Fetch results and the daily series again and redraw everything."""
        if not self.pilot_key:
            return
        method = self.method.value or None
        try:
            results = self.client.results(self.pilot_key, method=method, cuped=self.cuped.value)
            series = self.client.timeseries(self.pilot_key, method=method, cuped=self.cuped.value)
        except Exception as exc:
            self._show_error(exc)
            return
        self._clear_error()
        self.results = results
        self._render(results, series.to_frame().to_dict("records"))

    # --- rendering ------------------------------------------------------------------------

    def _render(self, r: PilotResults, points: list[dict[str, Any]]) -> None:
        pilot = self._pilots[r.experiment]
        metric = self.metric.value or r.primary_metric
        colour = ACTION_COLOURS.get(r.decision.action, "#57606a")
        self.decision_text = f"{r.decision.action.upper()}: " + " ".join(r.decision.reasons)
        reasons = "".join(f"<li>{escape(x)}</li>" for x in r.decision.reasons)
        warnings = "".join(f"<li>⚠ {escape(w)}</li>" for w in r.warnings)
        self.header.value = f"""
<div class="pilotlift-header"><h3 style="margin:.2rem 0">{escape(pilot.name)}
<code>{escape(r.experiment)}</code> · {escape(r.status)} · day {r.days_running:.1f} of
{pilot.planned_duration_days} · {escape(r.method)} inference</h3>
<div class="pilotlift-decision" style="border-left:6px solid {colour};padding:.2rem .6rem">
<strong style="color:{colour}">{escape(r.decision.action.upper())}</strong>
<ul style="margin:.2rem 0">{reasons}</ul></div>
{f'<ul style="color:#9a6700">{warnings}</ul>' if warnings else ""}</div>"""
        self.table.value = self._table(r, metric)
        rows = [
            {"variant": c.variant, "relative_lift": c.relative_lift,
             "low": c.relative_ci[0], "high": c.relative_ci[1]}
            for c in r.comparisons
            if c.metric == metric and c.relative_lift is not None and c.relative_ci is not None
        ]  # fmt: skip
        self.forest_data = rows
        self.forest.value = (
            forest_svg(rows, r.min_lift, metric) if rows else "<em>No interval yet.</em>"
        )
        series = [
            {"date": p["date"].date().isoformat(), "variant": p["variant"],
             "relative_lift": p["relative_lift"], "low": p["relative_ci_low"],
             "high": p["relative_ci_high"]}
            for p in points
            if p["relative_lift"] is not None and p["relative_ci_low"] is not None
        ]  # fmt: skip
        self.series_data = series
        self.series.value = (
            series_svg(series, r.min_lift, r.primary_metric)
            if series
            else "<em>No daily series yet.</em>"
        )
        geo = r.geo
        if geo is not None and geo.series:
            days = [
                {"date": d.date.isoformat(), "observed": d.observed,
                 "counterfactual": d.counterfactual, "lower": d.lower, "upper": d.upper}
                for d in geo.series
            ]  # fmt: skip
            self.geo_data = days
            self.series.value = geo_svg(days, geo.metric)

    @staticmethod
    def _table(r: PilotResults, metric: str) -> str:
        arms = "".join(
            f"<tr><td>{escape(a.group)}</td><td>{a.customers:,}</td>"
            f"<td>{(a.exposed / a.customers if a.customers else 0):.1%}</td>"
            f"<td>{a.metrics[metric].mean:.4g}</td></tr>"
            for a in r.arms
            if metric in a.metrics
        )
        comparisons = "".join(
            f"<tr><td>{escape(c.variant)}</td><td>{c.absolute_lift:+.4g}</td>"
            f"<td>{interval(c.absolute_ci, '+.4g')}</td>"
            f"<td>{number(c.relative_lift, '+.1%')}</td><td>{interval(c.relative_ci, '+.1%')}</td>"
            f"<td>{number(c.p_value, '.3g')}</td><td>{number(c.p_value_adjusted, '.3g')}</td>"
            f"<td>{number(c.variance_reduction, '.1%')}</td></tr>"
            for c in r.comparisons
            if c.metric == metric
        )
        return f"""<table class="pilotlift-arms"><tr><th>group</th><th>customers</th>
<th>exposure rate</th><th>mean {escape(metric)}</th></tr>{arms}</table>
<table class="pilotlift-comparisons"><tr><th>variant</th><th>absolute lift</th><th>interval</th>
<th>relative lift</th><th>interval</th><th>p</th><th>adjusted p</th><th>CUPED reduction</th>
</tr>{comparisons}</table>"""

    # --- auto-refresh ---------------------------------------------------------------------

    def _on_auto(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._stop_auto.clear()
            threading.Thread(target=self._auto_loop, daemon=True).start()
        else:
            self._stop_auto.set()

    def _auto_loop(self) -> None:
        while not self._stop_auto.wait(self.auto_refresh_seconds):
            self.refresh()

    def close(self) -> None:
        self._stop_auto.set()
        super().close()
