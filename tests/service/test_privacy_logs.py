"""Erasure of a customer everywhere; request ids and structured logs from a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.storage.engine import create_storage_engine
from service.testing import ServerProcess

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=database_url, clock=SimulatedClock(T0))
    with TestClient(create_app(settings)) as client:
        yield client


def _pilot(api: TestClient[Any], key: str) -> None:
    body = {"key": key, "name": key, "channel": "sms", "holdout_share": 0.5,
            "variants": [{"key": "a"}], "min_lift": 0.05,
            "metrics": [{"key": "orders", "event": "order", "kind": "count"}]}  # fmt: skip
    assert api.post("/v1/experiments", json=body).status_code == 201
    assert api.post(f"/v1/experiments/{key}/start").status_code == 200


def test_erasure_removes_the_customer_everywhere(api: TestClient[Any], database_url: str) -> None:
    ids = [f"c{i}" for i in range(200)]
    for key in ("one", "two"):
        _pilot(api, key)
        api.post(f"/v1/experiments/{key}/assignments", json={"customer_ids": ids})
    events = [
        {"id": "x1", "type": "exposure", "customer_id": "c7", "experiment": "one",
         "ts": T0.isoformat()},
        {"id": "x2", "type": "exposure", "customer_id": "c7", "experiment": "two",
         "ts": T0.isoformat()},
        {"id": "o1", "type": "conversion", "customer_id": "c7", "event": "order",
         "ts": (T0 + timedelta(hours=1)).isoformat()},
        {"id": "o0", "type": "conversion", "customer_id": "c7", "event": "order",
         "ts": (T0 - timedelta(days=2)).isoformat()},
        {"id": "o2", "type": "conversion", "customer_id": "c8", "event": "order",
         "ts": (T0 + timedelta(hours=1)).isoformat()},
    ]  # fmt: skip
    assert api.post("/v1/events", json={"events": events}).status_code == 200

    def totals() -> tuple[int, float, int]:
        as_of = (T0 + timedelta(days=1)).isoformat()
        r = api.get("/v1/experiments/one/results", params={"method": "fixed", "as_of": as_of})
        r = r.json()
        return (
            sum(a["customers"] for a in r["arms"]),
            sum(a["metrics"]["orders"]["total"] for a in r["arms"]),
            sum(a["exposed"] for a in r["arms"]),
        )

    assert totals() == (200, 2.0, 1)
    r = api.delete("/v1/customers/c7")
    assert r.status_code == 200
    assert r.json() == {"customer_id": "c7", "assignments": 2, "exposures": 2, "conversions": 2}
    assert totals() == (199, 1.0, 0)  # c8's order stays
    assert api.get("/v1/experiments/one/assignments/c7").status_code == 404
    engine = create_storage_engine(database_url)
    with engine.connect() as conn:
        for table in ("assignments", "exposures", "conversions"):
            sql = f"SELECT COUNT(*) FROM {table} WHERE customer_id = 'c7'"
            assert conn.exec_driver_sql(sql).scalar_one() == 0, table
        audit = conn.exec_driver_sql("SELECT action, target, change FROM audit_log").fetchall()
    engine.dispose()
    erase = [a for a in audit if a[0] == "customer.erase"]
    assert len(erase) == 1 and "c7" not in erase[0][1]  # the log does not keep the id itself
    assert json.loads(erase[0][2]) == {"assignments": 2, "conversions": 2, "exposures": 2}
    again = api.delete("/v1/customers/c7").json()
    assert (again["assignments"], again["exposures"], again["conversions"]) == (0, 0, 0)


def test_request_ids_and_json_log_lines(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "logs.db")
    server.start()
    try:
        given = httpx.get(f"{server.url}/v1/experiments", headers={"X-Request-ID": "tool-42"})
        fresh = httpx.get(f"{server.url}/v1/experiments/nope")
        hostile = httpx.get(f"{server.url}/health", headers={"X-Request-ID": "a;b" * 40})
    finally:
        server.stop()
    assert given.headers["x-request-id"] == "tool-42"
    assert len(fresh.headers["x-request-id"]) == 32 and fresh.status_code == 404
    assert hostile.status_code == 200 and len(hostile.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    requests = {r["request_id"]: r for r in lines if r.get("msg") == "request"}
    assert requests["tool-42"]["path"] == "/v1/experiments"
    assert requests["tool-42"]["status"] == 200 and requests["tool-42"]["actor"] == "open"
    assert requests[fresh.headers["x-request-id"]]["status"] == 404
    assert all({"ts", "level", "logger", "duration_ms"} <= set(r) for r in requests.values())
