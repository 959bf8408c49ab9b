"""The assignment path keeps running pilots in memory and shares commits; two service
processes on one database (two apps, two engines) must still never record from a stale copy:
a ramp made by one is honoured by the other at its next write, a stop gets 409 there, and
concurrent single-customer requests are recorded exactly once each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.assignment.assigner import Assigner
from service.pilots.lifecycle import get_pilot
from service.runtime.clock import SimulatedClock
from service.schema.common import NOT_IN_PILOT
from service.settings import Settings
from service.storage.engine import create_storage_engine
from tests.service.test_api import pilot_body

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
IDS = [f"c{i}" for i in range(400)]


@pytest.fixture
def two_processes(database_url: str) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    clock = SimulatedClock(T0)
    with (
        TestClient(create_app(Settings(database_url=database_url, clock=clock))) as a,
        TestClient(create_app(Settings(database_url=database_url, clock=clock))) as b,
    ):
        yield a, b


def _groups(client: TestClient[Any], ids: list[str]) -> dict[str, str]:
    r = client.post("/v1/experiments/sms/assignments", json={"customer_ids": ids})
    assert r.status_code == 200, r.text
    return {a["customer_id"]: a["group"] for a in r.json()["assignments"]}


def _recorded(client: TestClient[Any], customer_id: str) -> int:
    return client.get(f"/v1/experiments/sms/assignments/{customer_id}").status_code


def test_a_ramp_in_one_process_is_honoured_by_the_others_copy(
    two_processes: tuple[TestClient[Any], TestClient[Any]], database_url: str
) -> None:
    a, b = two_processes
    assert a.post("/v1/experiments", json=pilot_body(traffic=0.3)).status_code == 201
    assert a.post("/v1/experiments/sms/start").status_code == 200
    before = _groups(b, IDS[:200])  # b now holds the pilot at 30 % traffic
    outside = [c for c, g in before.items() if g == NOT_IN_PILOT]
    assert 100 < len(outside) < 180
    assert a.patch("/v1/experiments/sms", json={"traffic": 1.0}).status_code == 200

    after = _groups(b, IDS)  # b's copy is stale; the write reads the ramp
    engine = create_storage_engine(database_url)
    try:
        rule = get_pilot(engine, "sms").rule()
    finally:
        engine.dispose()
    assert after == dict(zip(IDS, rule.assign(IDS), strict=True))
    assert NOT_IN_PILOT not in after.values()
    assert all(after[c] == g for c, g in before.items() if g != NOT_IN_PILOT)  # nobody moved
    assert all(_recorded(a, c) == 200 for c in outside[:20])  # recorded with the new group


def test_a_stop_in_one_process_is_a_409_in_the_other(
    two_processes: tuple[TestClient[Any], TestClient[Any]],
) -> None:
    a, b = two_processes
    assert a.post("/v1/experiments", json=pilot_body()).status_code == 201
    assert a.post("/v1/experiments/sms/start").status_code == 200
    _groups(b, IDS[:10])
    assert a.post("/v1/experiments/sms/stop").status_code == 200
    for ids in (IDS[10:11], IDS[10:2000]):  # the shared-commit path and the large-batch path
        r = b.post("/v1/experiments/sms/assignments", json={"customer_ids": ids})
        assert r.status_code == 409 and "is stopped" in r.json()["detail"]
    assert _recorded(a, IDS[10]) == 404  # nothing was recorded
    r = b.post("/v1/experiments/sms/assignments", json={"customer_ids": IDS[:1]})
    assert r.status_code == 409  # and it stays so


def test_concurrent_single_requests_are_each_recorded_once(database_url: str) -> None:
    clock = SimulatedClock(T0)
    engine = create_storage_engine(database_url)
    with TestClient(
        create_app(Settings(database_url=database_url, clock=clock), engine=engine)
    ) as api:
        assert api.post("/v1/experiments", json=pilot_body()).status_code == 201
        assert api.post("/v1/experiments/sms/start").status_code == 200
    assigner = Assigner(engine)
    ids = [f"s{i}" for i in range(300)] * 2  # every customer asked for twice, concurrently

    async def burst() -> list[tuple[str, list[str], int]]:
        return list(await asyncio.gather(*(assigner.assign("sms", [c], T0) for c in ids)))

    answers = asyncio.run(burst())
    rule = get_pilot(engine, "sms").rule()
    assert [groups for _, groups, _ in answers] == [[g] for g in rule.assign(ids)]
    assert sum(new for _, _, new in answers) == 300  # each first assignment counted once
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM assignments"
        ).one()
    engine.dispose()
    assert tuple(rows) == (300, 300)
