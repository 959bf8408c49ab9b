"""The HTTP contract, in process (Litestar's TestClient) on a real SQLite file with a
simulated clock: validation errors, lifecycle, imports, layers and the attribution window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.storage.aggregates import aggregate_pilot
from service.storage.engine import create_storage_engine
from service.storage.sql import read_transaction
from service.timeutil import to_us

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)


def pilot_body(key: str = "sms", **changes: Any) -> dict[str, Any]:
    body = {
        "key": key,
        "name": "SMS",
        "channel": "sms",
        "holdout_share": 0.2,
        "variants": [{"key": "sms_a"}, {"key": "sms_b"}],
        "metrics": [
            {"key": "orders", "event": "order", "kind": "binary"},
            {"key": "revenue", "event": "order", "kind": "sum"},
        ],
        "min_lift": 0.05,
        "attribution_window_days": 7,
        "covariate_lookback_days": 10,
    }
    body.update(changes)
    return body


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def db(database_url: str) -> str:
    return database_url


@pytest.fixture
def api(db: str, clock: SimulatedClock) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(database_url=db, clock=clock))) as client:
        yield client


@pytest.fixture
def running(api: TestClient[Any]) -> TestClient[Any]:
    assert api.post("/v1/experiments", json=pilot_body()).status_code == 201
    assert api.post("/v1/experiments/sms/start").status_code == 200
    return api


BAD_PILOTS = [
    ({"key": "Bad Key"}, "key"),
    ({"holdout_share": 1.0}, "holdout_share"),
    ({"holdout_share": 0}, "holdout_share"),
    ({"variants": []}, "variants"),
    ({"variants": [{"key": "holdout"}]}, "reserved"),
    ({"variants": [{"key": "a"}, {"key": "a"}]}, "unique"),
    ({"variants": [{"key": "a", "weight": 0}]}, "weight"),
    ({"traffic": 1.5}, "traffic"),
    ({"holdout_shre": 0.1}, "holdout_shre"),
    ({"primary_metric": "nope"}, "primary_metric"),
    ({"metrics": [{"key": "m", "event": "e", "kind": "median"}]}, "kind"),
    ({"attribution_window_days": 0}, "attribution_window_days"),
    ({"costs": {"per_exposure": -1}}, "per_exposure"),
]


@pytest.mark.parametrize(("change", "named"), BAD_PILOTS)
def test_invalid_pilot_is_422_naming_the_problem(
    api: TestClient[Any], change: dict[str, Any], named: str
) -> None:
    r = api.post("/v1/experiments", json=pilot_body(**change))
    assert r.status_code == 422
    assert named in r.json()["detail"]
    assert api.get("/v1/experiments").json()["experiments"] == []


def test_missing_min_lift_is_422(api: TestClient[Any]) -> None:
    body = pilot_body()
    del body["min_lift"]
    r = api.post("/v1/experiments", json=body)
    assert r.status_code == 422 and "min_lift" in r.json()["detail"]


def test_default_metrics_when_omitted(api: TestClient[Any]) -> None:
    body = pilot_body()
    del body["metrics"]
    pilot = api.post("/v1/experiments", json=body).json()
    assert [(m["key"], m["kind"], m["event"]) for m in pilot["metrics"]] == [
        ("conversions", "binary", "conversion"),
        ("revenue", "sum", "conversion"),
    ]
    assert pilot["primary_metric"] == "conversions"


STATE_ERRORS = [
    ("post", "/v1/experiments/nope/start", None, 404),
    ("get", "/v1/experiments/nope", None, 404),
    ("get", "/v1/experiments/nope/results", None, 404),
    ("post", "/v1/experiments/sms/stop", None, 409),
    ("post", "/v1/experiments/sms/conclude", {"decision": "scale"}, 409),
    ("post", "/v1/experiments/sms/assignments", {"customer_ids": ["c1"]}, 409),
    ("post", "/v1/experiments", pilot_body(), 409),
    ("get", "/v1/experiments/sms/assignments/c1", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), STATE_ERRORS)
def test_state_errors(api: TestClient[Any], method: str, path: str, body: Any, status: int) -> None:
    api.post("/v1/experiments", json=pilot_body())  # a draft pilot "sms"
    r = api.request(method.upper(), path, json=body)
    assert r.status_code == status
    assert r.json()["status_code"] == status and r.json()["detail"]


def test_lifecycle_and_patching(api: TestClient[Any], clock: SimulatedClock) -> None:
    api.post("/v1/experiments", json=pilot_body())
    draft = api.patch("/v1/experiments/sms", json={"holdout_share": 0.3, "traffic": 0.5})
    assert draft.status_code == 200 and draft.json()["holdout_share"] == 0.3
    bad = api.patch("/v1/experiments/sms", json={"primary_metric": "nope"})
    assert bad.status_code == 422
    assert api.post("/v1/experiments/sms/start").json()["status"] == "running"
    assert api.patch("/v1/experiments/sms", json={"traffic": 0.8}).json()["traffic"] == 0.8
    assert api.patch("/v1/experiments/sms", json={"layer": "x"}).status_code == 409
    clock.advance(timedelta(days=7))
    stopped = api.post("/v1/experiments/sms/stop").json()
    assert stopped["status"] == "stopped" and stopped["stopped_at"] == "2026-11-23T09:00:00Z"
    assert (
        api.post("/v1/experiments/sms/assignments", json={"customer_ids": ["c1"]}).status_code
        == 409
    )
    done = api.post("/v1/experiments/sms/conclude", json={"decision": "stop", "note": "no lift"})
    assert done.json()["decision"] == "stop" and done.json()["decision_note"] == "no lift"
    assert [
        p["key"] for p in api.get("/v1/experiments?status=concluded").json()["experiments"]
    ] == ["sms"]
    assert api.get("/v1/experiments?status=running").json()["experiments"] == []


def test_assignment_validation(running: TestClient[Any]) -> None:
    for body, named in (
        ({"customer_ids": []}, "customer_ids"),
        ({"customer_ids": ["x" * 129]}, "customer_ids"),
        ({"ids": ["c1"]}, "ids"),
    ):
        r = running.post("/v1/experiments/sms/assignments", json=body)
        assert r.status_code == 422 and named in r.json()["detail"]
    r = running.post(
        "/v1/experiments/sms/assignments",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500


def test_first_assignment_time_is_kept(running: TestClient[Any], clock: SimulatedClock) -> None:
    first = running.post("/v1/experiments/sms/assignments", json={"customer_ids": ["c1", "c1"]})
    assert len({a["group"] for a in first.json()["assignments"]}) == 1
    clock.advance(timedelta(days=2))
    running.post("/v1/experiments/sms/assignments", json={"customer_ids": ["c1"]})
    recorded = running.get("/v1/experiments/sms/assignments/c1").json()
    assert recorded["assigned_at"] == "2026-11-16T09:00:00Z" and recorded["source"] == "hash"


def test_imports(api: TestClient[Any]) -> None:
    api.post("/v1/experiments", json=pilot_body())
    at = "2026-11-10T00:00:00Z"
    rows = [
        {"customer_id": "c1", "group": "holdout", "assigned_at": at},
        {"customer_id": "c2", "group": "sms_b", "assigned_at": at},
    ]
    path = "/v1/experiments/sms/assignments/import"
    assert api.post(path, json={"assignments": rows}).json() == {"imported": 2, "unchanged": 0}
    assert api.post(path, json={"assignments": rows}).json() == {"imported": 0, "unchanged": 2}
    clash = api.post(
        path,
        json={
            "assignments": [
                {"customer_id": "c3", "group": "sms_a", "assigned_at": at},
                {"customer_id": "c1", "group": "sms_a", "assigned_at": at},
            ]
        },
    )
    assert clash.status_code == 409
    unknown = api.post(
        path, json={"assignments": [{"customer_id": "c4", "group": "email", "assigned_at": at}]}
    )
    assert unknown.status_code == 422 and unknown.json()["extra"][0]["index"] == 0
    assert api.get("/v1/experiments/sms/assignments/c3").status_code == 404  # nothing stored
    api.post("/v1/experiments/sms/start")
    answer = api.post("/v1/experiments/sms/assignments", json={"customer_ids": ["c1", "c2"]})
    assert [a["group"] for a in answer.json()["assignments"]] == ["holdout", "sms_b"]
    assert api.get("/v1/experiments/sms/assignments/c1").json()["source"] == "import"


def test_layer_pilots_never_share_a_customer(api: TestClient[Any]) -> None:
    api.post("/v1/experiments", json=pilot_body("one", layer="sms", traffic=0.6))
    api.post("/v1/experiments", json=pilot_body("two", layer="sms", traffic=0.6))
    assert api.post("/v1/experiments/one/start").status_code == 200
    full = api.post("/v1/experiments/two/start")
    assert full.status_code == 409 and "free" in full.json()["detail"]
    api.patch("/v1/experiments/two", json={"traffic": 0.4})
    assert api.post("/v1/experiments/two/start").status_code == 200
    ids = [f"c{i}" for i in range(5000)]
    one = api.post("/v1/experiments/one/assignments", json={"customer_ids": ids}).json()
    two = api.post("/v1/experiments/two/assignments", json={"customer_ids": ids}).json()
    in_one = {a["customer_id"] for a in one["assignments"] if a["group"] != "not_in_pilot"}
    in_two = {a["customer_id"] for a in two["assignments"] if a["group"] != "not_in_pilot"}
    assert not in_one & in_two
    assert len(in_one) / len(ids) == pytest.approx(0.6, abs=0.03)
    assert len(in_one | in_two) == len(ids)
    assert api.patch("/v1/experiments/one", json={"traffic": 0.7}).status_code == 409


def event(i: int, ts: datetime, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"e{i}",
        "type": "conversion",
        "customer_id": "c1",
        "event": "order",
        "ts": ts.isoformat(),
        "value": 10.0,
    }
    return base | fields


def test_event_validation(running: TestClient[Any]) -> None:
    r = running.post("/v1/events", content=b"x", headers={"Content-Type": "text/csv"})
    assert r.status_code == 415
    assert running.post("/v1/events", json={"events": []}).status_code == 422
    assert running.post("/v1/events", json={"evnts": []}).status_code == 422
    r = running.post(
        "/v1/events",
        json={
            "events": [
                event(1, T0),
                event(2, T0, type="exposure", experiment="nope", value=None),
                {
                    "id": "e3",
                    "type": "conversion",
                    "customer_id": "c1",
                    "ts": "2026-11-16T09:00:00",
                },
            ]
        },
    )
    assert r.status_code == 422
    fields = [(p["index"], p["field"]) for p in r.json()["extra"]]
    assert (2, "ts") in fields and any(i == 1 for i, _ in fields)
    too_many = b"\n".join([b"{}"] * 100_001)
    r = running.post(
        "/v1/events", content=too_many, headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 422 and "100,000" in r.json()["detail"]


def test_attribution_window_and_pre_period(running: TestClient[Any], db: str) -> None:
    running.post("/v1/experiments/sms/assignments", json={"customer_ids": ["c1"]})
    group = running.get("/v1/experiments/sms/assignments/c1").json()["group"]
    day = timedelta(days=1)
    events = [
        event(1, T0 - 11 * day),  # before the 10-day lookback: ignored
        event(2, T0 - 3 * day, value=5.0),  # pre-period: covariate
        event(3, T0 + day, value=20.0),  # in the 7-day window
        event(4, T0 + 2 * day, value=30.0),  # in the window
        event(5, T0 + 8 * day),  # after the window: ignored
        event(6, T0 + day, customer_id="c2"),  # never assigned: ignored
    ]
    # The clock is T0; only events up to T0 + 24 h are accepted now.
    assert running.post("/v1/events", json={"events": events[:3] + events[5:]}).status_code == 200
    late = running.post("/v1/events", json={"events": events[3:5]})
    assert late.status_code == 422
    engine = create_storage_engine(db)
    with read_transaction(engine) as conn:
        pilot_id = conn.exec_driver_sql("SELECT id FROM pilots WHERE key = 'sms'").scalar_one()
        agg = aggregate_pilot(
            conn,
            pilot_id,
            ["holdout", "sms_a", "sms_b"],
            [_metric("orders", "binary"), _metric("revenue", "sum")],
            as_of_us=to_us(T0 + 30 * day),
        )
    revenue = agg.arms[group].metrics["revenue"]
    assert (revenue.sum, revenue.covariate_sum, revenue.cross_sum) == (20.0, 5.0, 100.0)
    assert agg.arms[group].metrics["orders"].sum == 1.0
    assert agg.arms[group].customers == 1


def _metric(key: str, kind: str) -> Any:
    from service.schema import Metric

    return Metric(key=key, event="order", kind=kind)  # type: ignore[arg-type]


def _served(client: TestClient[Any]) -> float:
    text = client.get("/metrics").text
    return float(re.search(r"^pilotlift_assignments_served_total (\S+)$", text, re.M).group(1))


def test_operations_endpoints(running: TestClient[Any]) -> None:
    before = _served(running)  # counters are process-wide, other tests add to them
    running.post("/v1/experiments/sms/assignments", json={"customer_ids": ["a", "b", "c"]})
    assert _served(running) == before + 3
    assert running.get("/health").json() == {"status": "ok"}
    assert running.get("/ready").json() == {"status": "ready"}
    assert "pilotlift_requests_total" in running.get("/metrics").text
    spec = running.get("/schema/openapi.json").json()
    assert {"/v1/experiments", "/v1/events", "/v1/experiments/{key}/results"} <= set(spec["paths"])
    assert running.get("/schema/swagger").status_code == 200


def test_ids_are_unique_across_exposures_and_conversions(running: TestClient[Any]) -> None:
    exposure = {
        "id": "shared-1",
        "type": "exposure",
        "customer_id": "c1",
        "experiment": "sms",
        "ts": T0.isoformat(),
    }
    first = running.post("/v1/events", json={"events": [exposure, event(1, T0)]})
    assert first.json() == {"accepted": 2, "duplicates": 0}
    # The same ids with the other event type, plus a repeat inside one batch.
    swapped = [
        event(0, T0, id="shared-1"),
        exposure | {"id": "e1"},
        event(2, T0),
        event(2, T0),
    ]
    assert running.post("/v1/events", json={"events": swapped}).json() == {
        "accepted": 1,
        "duplicates": 3,
    }


def test_per_arm_sums_for_every_metric_kind(running: TestClient[Any], db: str) -> None:
    """Hand-computed sums for two customers in one arm: counts, exposures and covariates."""
    ids = [f"k{i}" for i in range(40)]
    groups = {
        a["customer_id"]: a["group"]
        for a in running.post("/v1/experiments/sms/assignments", json={"customer_ids": ids}).json()[
            "assignments"
        ]
    }
    arm = "sms_a"
    c1, c2 = [c for c in ids if groups[c] == arm][:2]
    day = timedelta(days=1)
    events = [
        event(1, T0 - 2 * day, customer_id=c1, value=4.0),  # pre-period
        event(2, T0 - day, customer_id=c1, value=6.0),  # pre-period
        event(3, T0 + day / 2, customer_id=c1, value=10.0),  # window
        event(4, T0 + day / 3, customer_id=c2, value=1.0),  # window
        event(5, T0 + day / 4, customer_id=c2, value=2.0),  # window
        event(6, T0 + day / 4, customer_id=c2, event="visit"),  # another event: ignored
    ]
    exposures = [
        {
            "id": f"x{i}",
            "type": "exposure",
            "customer_id": c,
            "experiment": "sms",
            "ts": T0.isoformat(),
        }
        for i, c in enumerate([c1, c1, c2, "stranger"])
    ]
    assert running.post("/v1/events", json={"events": events + exposures}).status_code == 200
    engine = create_storage_engine(db)
    with read_transaction(engine) as conn:
        pilot_id = conn.exec_driver_sql("SELECT id FROM pilots WHERE key = 'sms'").scalar_one()
        agg = aggregate_pilot(
            conn,
            pilot_id,
            ["holdout", "sms_a", "sms_b"],
            [_metric("orders", "binary"), _metric("n", "count"), _metric("revenue", "sum")],
            as_of_us=to_us(T0 + 2 * day),
        )
    a = agg.arms[arm]
    in_arm = sum(1 for c in ids if groups[c] == arm)
    assert (a.customers, a.exposed, a.exposures) == (in_arm, 2, 3)
    # c1: y = (1, 1, 10), x = (1, 2, 10); c2: y = (1, 2, 3), x = (0, 0, 0)
    assert a.metrics["orders"] == type(a.metrics["orders"])(2, 2, 1, 1, 1)
    assert a.metrics["n"] == type(a.metrics["n"])(3, 5, 2, 4, 2)
    assert a.metrics["revenue"] == type(a.metrics["revenue"])(13, 109, 10, 100, 100)
    assert (agg.total_exposures, agg.unassigned_exposures) == (4, 1)
