"""Results with decisions, timeseries, /v1/analyze and /v1/plan through the HTTP contract
(Litestar's TestClient, a real SQLite file, a simulated clock)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from stats import SampleMean, compare, holm, plan_pilot
from stats.group_sequential import inflation_factor

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def api(database_url: str, clock: SimulatedClock) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=database_url, clock=clock)
    with TestClient(create_app(settings)) as client:
        yield client


def _run_pilot(api: TestClient[Any], clock: SimulatedClock, lift: float, days: int = 10,
               daily: int = 2000, key: str = "sms") -> dict[str, str]:  # fmt: skip
    body = {
        "key": key, "name": "SMS", "channel": "sms", "holdout_share": 0.5,
        "variants": [{"key": "sms_a"}],
        "metrics": [{"key": "orders", "event": "order", "kind": "binary"},
                    {"key": "revenue", "event": "order", "kind": "sum"}],
        "min_lift": 0.05, "planned_duration_days": days, "costs": {"per_exposure": 0.01},
    }  # fmt: skip
    assert api.post("/v1/experiments", json=body).status_code == 201
    api.post(f"/v1/experiments/{key}/start")
    rng = np.random.default_rng(7)
    groups: dict[str, str] = {}
    for day in range(days):
        ids = [f"{key}-{day}-{i}" for i in range(daily)]
        r = api.post(f"/v1/experiments/{key}/assignments", json={"customer_ids": ids})
        groups.update((a["customer_id"], a["group"]) for a in r.json()["assignments"])
        events = []
        for cid in ids:
            if groups[cid] != "holdout":
                events.append({"id": f"x-{cid}", "type": "exposure", "customer_id": cid,
                               "experiment": key, "ts": clock().isoformat()})  # fmt: skip
            rate = 0.10 * (1 + lift if groups[cid] != "holdout" else 1)
            if rng.random() < rate:
                events.append({"id": f"o-{cid}", "type": "conversion", "customer_id": cid,
                               "event": "order", "value": 20.0,
                               "ts": (clock() + timedelta(hours=1)).isoformat()})  # fmt: skip
        assert api.post("/v1/events", json={"events": events}).status_code == 200
        clock.advance(timedelta(days=1))
    return groups


def test_clear_winner_is_scaled_with_sequential_inference(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    _run_pilot(api, clock, lift=0.5)
    r = api.get("/v1/experiments/sms/results").json()
    assert r["method"] == "sequential" and r["status"] == "running"
    assert r["decision"]["action"] == "scale", r["decision"]
    orders = next(c for c in r["comparisons"] if c["metric"] == "orders")
    assert orders["significant"] and orders["p_value_adjusted"] == orders["p_value"]
    assert orders["relative_ci"][0] > 0.2
    fixed = api.get("/v1/experiments/sms/results", params={"method": "fixed"}).json()
    f_orders = next(c for c in fixed["comparisons"] if c["metric"] == "orders")
    always = api.get("/v1/experiments/sms/results", params={"method": "always_valid"}).json()
    a_orders = next(c for c in always["comparisons"] if c["metric"] == "orders")

    def width(c: dict[str, Any]) -> float:
        return float(c["absolute_ci"][1] - c["absolute_ci"][0])

    # No review was published, so this is the group-sequential design's first and final look:
    # its boundary is the fixed test's (normal instead of t), and the confidence sequence, valid
    # at every look, is wider around the same estimate.
    assert r["looks"] == [] and r["information_fraction"] == 1.0
    assert width(orders) == pytest.approx(width(f_orders), rel=1e-3)
    assert width(a_orders) > 1.2 * width(orders)
    assert f_orders["absolute_lift"] == pytest.approx(orders["absolute_lift"])
    assert a_orders["absolute_lift"] == pytest.approx(orders["absolute_lift"])
    # Money: incremental revenue interval and ROI interval from it.
    rev = r["revenue"]
    lo, hi = rev["incremental_revenue_ci"]
    assert lo < rev["incremental_revenue"] < hi
    assert rev["incremental_roi_ci"][0] == pytest.approx((lo - rev["cost"]) / rev["cost"])
    # Stopping turns the default to fixed-horizon.
    api.post("/v1/experiments/sms/stop")
    assert api.get("/v1/experiments/sms/results").json()["method"] == "fixed"


def test_null_pilot_continues_and_says_what_it_needs(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    _run_pilot(api, clock, lift=0.0, days=3, daily=500)
    r = api.get("/v1/experiments/sms/results").json()
    assert r["decision"]["action"] in ("continue", "stop")
    if r["decision"]["action"] == "continue":
        assert any("more customers" in s for s in r["decision"]["reasons"])
        assert any("minimum 7 days" in s for s in r["decision"]["reasons"])


def test_timeseries_points_match_results_as_of_each_day(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    _run_pilot(api, clock, lift=0.3, days=4, daily=800)
    ts = api.get("/v1/experiments/sms/timeseries", params={"method": "fixed"}).json()
    assert ts["metric"] == "orders" and ts["method"] == "fixed"
    assert [p["date"] for p in ts["points"]] == [
        "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"
    ]  # fmt: skip
    customers = [p["customers"] for p in ts["points"]]
    assert customers == sorted(customers) and customers[-1] == 3200
    third = ts["points"][2]
    r = api.get("/v1/experiments/sms/results",
                params={"method": "fixed", "as_of": third["as_of"]}).json()  # fmt: skip
    orders = next(c for c in r["comparisons"] if c["metric"] == "orders")
    assert third["relative_ci"] == pytest.approx(orders["relative_ci"])


def test_analyze_endpoint(api: TestClient[Any]) -> None:
    body = {
        "metric_kind": "binary", "control": "holdout", "alpha": 0.05, "method": "fixed",
        "expected_shares": {"holdout": 0.5, "email": 0.25, "sms": 0.25},
        "arms": [
            {"group": "holdout", "n": 10000, "sum": 500, "sum_squares": 500},
            {"group": "email", "n": 5000, "sum": 300, "sum_squares": 300},
            {"group": "sms", "n": 5050, "sum": 262, "sum_squares": 262},
        ],
    }  # fmt: skip
    r = api.post("/v1/analyze", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    ctrl = SampleMean(10000, 500, 500)
    expected = [compare(ctrl, SampleMean(5000, 300, 300), kind="binary"),
                compare(ctrl, SampleMean(5050, 262, 262), kind="binary")]  # fmt: skip
    adjusted = holm([c.p_value for c in expected])
    for got, want, p_adj in zip(out["comparisons"], expected, adjusted):
        assert got["p_value"] == pytest.approx(want.p_value, abs=1e-9)
        assert got["p_value_adjusted"] == pytest.approx(p_adj, abs=1e-9)
        assert got["absolute_ci"] == pytest.approx(want.absolute_ci, abs=1e-9)
    assert out["srm"]["ok"] and out["srm"]["observed"]["sms"] == 5050
    bad = dict(body, arms=[dict(body["arms"][0], sum=20000), body["arms"][1]])
    r = api.post("/v1/analyze", json=bad)
    assert r.status_code == 422 and "outside" in r.json()["detail"]
    r = api.post("/v1/analyze", json=dict(body, control="nobody"))
    assert r.status_code == 422 and "control" in r.json()["detail"]


def test_plan_endpoint(api: TestClient[Any]) -> None:
    body = {"baseline": 0.05, "min_lift": 0.06, "alpha": 0.05, "power": 0.8,
            "holdout_share": 0.1, "variants": 1, "daily_customers": 20000}  # fmt: skip
    r = api.post("/v1/plan", json=dict(body, method="fixed"))
    assert r.status_code == 200, r.text
    p = plan_pilot(baseline=0.05, min_lift=0.06, holdout_share=0.1, daily_customers=20000)
    assert r.json()["total_customers"] == p.total_customers
    assert r.json()["days"] == p.days and r.json()["metric_kind"] == "binary"
    # The default sizes the group-sequential design of four weekly looks.
    seq = api.post("/v1/plan", json=body).json()
    factor = inflation_factor(4, 0.05, 0.8)
    assert seq["method"] == "sequential" and seq["looks"] == 4
    assert seq["inflation_factor"] == pytest.approx(factor) and 1.01 < factor < 1.03
    assert seq["holdout_customers"] == math.ceil(p.holdout_customers * factor)
    assert seq["customers_per_variant"] == math.ceil(p.customers_per_variant * factor)
    mean = api.post("/v1/plan", json=dict(body, baseline=30.0, sd=60.0)).json()
    assert mean["metric_kind"] == "mean" and mean["holdout_customers"] > 0
    r = api.post("/v1/plan", json=dict(body, baseline=0.99))
    assert r.status_code == 422 and "baseline" in r.json()["detail"]
    assert api.post("/v1/plan", json=dict(body, power=1.5)).status_code == 422


def test_empty_and_degenerate_pilots_answer_without_nan(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    body = {"key": "empty", "name": "E", "channel": "sms", "holdout_share": 0.5,
            "variants": [{"key": "a"}, {"key": "b"}], "min_lift": 0.05}  # fmt: skip
    api.post("/v1/experiments", json=body)
    api.post("/v1/experiments/empty/start")
    for seq in ("sequential", "fixed"):
        r = api.get("/v1/experiments/empty/results", params={"method": seq})
        assert r.status_code == 200 and "NaN" not in r.text and "Infinity" not in r.text
        assert {c["status"] for c in r.json()["comparisons"]} == {"insufficient_data"}
        assert r.json()["decision"]["action"] == "continue"
    # Customers but no conversions at all: zero variance, still a clean answer.
    api.post(
        "/v1/experiments/empty/assignments", json={"customer_ids": [f"c{i}" for i in range(50)]}
    )
    r = api.get("/v1/experiments/empty/results")
    assert r.status_code == 200 and "NaN" not in r.text
    assert {c["status"] for c in r.json()["comparisons"]} == {"zero_variance"}
    ts = api.get("/v1/experiments/empty/timeseries")
    assert ts.status_code == 200 and "NaN" not in ts.text
