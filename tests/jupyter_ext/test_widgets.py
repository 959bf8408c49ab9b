"""Widgets built without a kernel, fed by a real service; assertions on their state."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from jupyter_ext import ChannelView, Client, PilotDashboard, PlanningWidget
from stats import plan_pilot
from stats.geo import simulate_panel


@pytest.fixture
def client(service_url: str) -> Client:
    return Client(service_url)


def test_dashboard_shows_the_first_running_pilot(client: Client) -> None:
    board = PilotDashboard(client)
    assert board.picker.options[0] == ("Winner SMS (winner) · running", "winner")
    assert [v for _, v in board.picker.options] == [
        "winner",
        "loser",
        "unclear",
        "skewed",
        "finished",
    ]
    assert board.pilot_key == "winner" and board.metric.value == "orders"
    r = client.results("winner")
    assert board.results is not None and board.results.decision == r.decision
    assert board.decision_text.startswith(f"{r.decision.action.upper()}: ")
    assert r.decision.reasons[0] in board.decision_text
    orders = next(c for c in r.comparisons if c.metric == "orders")
    assert board.forest_data == [
        {
            "variant": "sms",
            "relative_lift": orders.relative_lift,
            "low": orders.relative_ci[0],
            "high": orders.relative_ci[1],
        }
    ]
    assert f"{orders.relative_lift:+.1%}" in board.table.value
    lo, hi = orders.absolute_ci
    assert f"[{lo:+.4g}, {hi:+.4g}]" in board.table.value
    assert "<svg" in board.forest.value and "<svg" in board.series.value
    series = client.timeseries("winner").points
    assert len(board.series_data) == len([p for p in series if p.relative_ci is not None])
    assert board.error_text == "" and "winner" in board.header.value
    state = board.get_state()
    assert state["_view_name"] == "VBoxView" and len(state["children"]) == 8


def test_controls_refresh_the_view(client: Client) -> None:
    board = PilotDashboard(client, "loser")
    assert board.results.experiment == "loser" and board.results.method == "sequential"
    board.method.value = "fixed"
    assert board.results.method == "fixed"
    board.metric.value = "revenue"
    revenue = next(c for c in board.results.comparisons if c.metric == "revenue")
    assert board.forest_data[0]["relative_lift"] == pytest.approx(revenue.relative_lift)
    board.picker.value = "skewed"
    assert board.decision_text.startswith("CHECK_DATA: Sample ratio mismatch")
    assert board.metric.value == "orders"  # the new pilot's primary metric


def test_errors_show_inside_the_widget() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    board = PilotDashboard(Client("http://127.0.0.1:9", transport=httpx.MockTransport(refuse)))
    assert "Cannot reach the pilotlift service" in board.error_text
    assert "pilotlift-error" in board.error.value and "Traceback" not in board.error.value


def test_unknown_pilot_is_a_message_not_a_crash(client: Client) -> None:
    board = PilotDashboard(client, "nope")
    assert "404: No pilot with key 'nope'" in board.error_text
    assert board.pilot_key == "winner"


def test_planning_widget_updates_live() -> None:
    w = PlanningWidget(baseline=0.05, min_lift=0.06, holdout_share=0.1, daily_customers=20000)
    expected = plan_pilot(baseline=0.05, min_lift=0.06, holdout_share=0.1, daily_customers=20000)
    assert w.plan["total_customers"] == expected.total_customers and w.plan["days"] == 24
    w.min_lift.value = 0.12
    bigger = plan_pilot(baseline=0.05, min_lift=0.12, holdout_share=0.1, daily_customers=20000)
    assert w.plan["total_customers"] == bigger.total_customers
    assert f"{bigger.total_customers:,}" in w.answer.value
    w.baseline.value = 0.95  # 0.95 × 1.12 > 1: not a conversion rate any more
    assert w.plan == {} and "(0, 1)" in w.error_text
    w.sd.value = 2.0  # now a mean metric with sd 2
    mean = plan_pilot(
        baseline=0.95, min_lift=0.12, holdout_share=0.1, sd=2.0, daily_customers=20000
    )
    assert w.plan["holdout_customers"] == mean.holdout_customers


def test_channel_view_says_when_there_is_no_channel_then_shows_one(
    client: Client, service_url: str
) -> None:
    empty = ChannelView(client)
    if not client.channels():
        assert "No channel exists yet" in empty.error_text and empty.frame is None
    with httpx.Client(base_url=service_url) as http:
        body = {"key": "sms-view", "name": "SMS", "holdout_share": 0.1, "period_days": 90}
        assert http.post("/v1/channels", json=body).status_code == 201
        assert http.post("/v1/channels/sms-view/start").status_code == 200
        ids = [f"view-{i}" for i in range(400)]
        answer = http.post("/v1/channels/sms-view/eligibility", json={"customer_ids": ids})
        assert answer.status_code == 200
    view = ChannelView(client, key="sms-view")
    assert view.channel_key == "sms-view" and view.error_text == ""
    results = client.channel_results("sms-view").attrs["results"]
    assert view.frame is not None and list(view.frame.index) == [p.period for p in results.periods]
    held_out = sum(a.customers for a in results.arms if a.group == "channel_holdout")
    assert int(view.frame.loc[results.period, "channel_holdout"]) == held_out
    assert view.summary.startswith(f"Period {results.period} ({results.method}): ")
    assert "<table" in view.periods.value


def test_dashboard_draws_a_geo_pilots_observed_against_counterfactual(
    client: Client, service_url: str
) -> None:
    """Last in this module: it adds a pilot to the shared service."""
    sim = simulate_panel(21, n_geos=10, pre_days=60, test_days=14, start=date(2026, 8, 1))
    panel = sim.panel
    pre = {"start": panel.dates[0].isoformat(), "end": panel.dates[59].isoformat()}
    test = {"start": panel.dates[60].isoformat(), "end": panel.dates[-1].isoformat()}
    rows = [
        {"geo": geo, "date": day.isoformat(), "metric": "sales", "value": float(panel.values[i, j])}
        for i, geo in enumerate(panel.geos)
        for j, day in enumerate(panel.dates)
    ]
    body = {
        "key": "dash-geo", "name": "Outdoor by region", "channel": "outdoor", "unit": "geo",
        "holdout_share": 0.5, "variants": [{"key": "treatment"}], "min_lift": 0.03,
        "geo_design": {"metric": "sales", "treatment_geos": list(panel.geos[:5]),
                       "pre_period": pre, "test_period": test},
    }  # fmt: skip
    with httpx.Client(base_url=service_url) as http:
        assert http.post("/v1/geo-metrics", json={"rows": rows}).status_code == 200
        assert http.post("/v1/experiments", json=body).status_code == 201, body
        assert http.post("/v1/experiments/dash-geo/start").status_code == 200
    board = PilotDashboard(client, key="dash-geo")
    results = client.results("dash-geo")
    assert results.geo is not None and board.error_text == ""
    assert [d["date"] for d in board.geo_data] == [d.date.isoformat() for d in results.geo.series]
    assert board.geo_data[-1]["counterfactual"] == results.geo.series[-1].counterfactual
    assert "counterfactual" in board.series.value and "<svg" in board.series.value
