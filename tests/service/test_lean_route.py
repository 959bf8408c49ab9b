"""The lean assignment route answers exactly as the app does, and hands every other case on.

A real uvicorn server with the route in front of the app is asked the assignment call in every
way a campaign tool can get it right or wrong (each key scope, malformed and invalid bodies,
unknown, draft, stopped and geo pilots, a body too large for the route, a batch over the
server's limit). Each answer must equal, status and body, the answer of the app alone
(Litestar's test client on the same database). A spy between the route and the app shows
which requests the route answered itself: exactly the successful small ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.assignment.lean_route import LEAN_BODY_BYTES, LeanAssignments
from service.runtime.clock import SimulatedClock
from service.runtime.server import ThreadedServer, free_port
from service.settings import Settings
from tests.service.credentials import credentials

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
PILOT = {
    "key": "sms", "name": "SMS pilot", "channel": "sms", "holdout_share": 0.2,
    "variants": [{"key": "a"}, {"key": "b"}],
    "metrics": [{"key": "orders", "event": "order", "kind": "binary"}],
    "min_lift": 0.05,
}  # fmt: skip


@dataclass
class Spy:
    """Between the route and the app: counts the assignment calls the app had to answer."""

    app: Any
    handed_on: int = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/assignments"):
            self.handed_on += 1
        await self.app(scope, receive, send)


@dataclass
class Setup:
    url: str
    spy: Spy
    reference: TestClient[Any]
    secrets: dict[str, str]


@pytest.fixture
def setup(database_url: str) -> Iterator[Setup]:
    secrets = credentials(database_url, T0, revoked_scope="assign")
    # A server limit below the hard maximum, so the route must apply the server's settings.
    settings = replace(Settings(database_url=database_url, clock=SimulatedClock(T0)),
                       max_batch=5_000)  # fmt: skip
    app = create_app(settings)
    spy = Spy(app)
    state = app.state
    lean = LeanAssignments(spy, assigner=state.assigner, settings=state.settings,
                           keyring=state.keyring, allow_open=state.allow_open)  # fmt: skip
    server = ThreadedServer(lean, "127.0.0.1", free_port())
    server.start()
    try:
        with TestClient(create_app(settings)) as reference:
            admin = {"Authorization": f"Bearer {secrets['admin']}"}
            for key, status in (("sms", "running"), ("draft", "draft"), ("stopped", "stopped")):
                body = {**PILOT, "key": key}
                assert reference.post("/v1/experiments", json=body, headers=admin).is_success
                if status != "draft":
                    start = reference.post(f"/v1/experiments/{key}/start", headers=admin)
                    assert start.is_success
            assert reference.post("/v1/experiments/stopped/stop", headers=admin).is_success
            yield Setup(server.url, spy, reference, secrets)
    finally:
        server.stop()


def _body(ids: list[str]) -> bytes:
    return json.dumps({"customer_ids": ids}).encode()


LARGE = [f"large-customer-{i:06d}" for i in range(4_000)]  # more than LEAN_BODY_BYTES

CASES: list[tuple[str, str, str, bytes, bool]] = [
    # (case, credential, pilot, body, answered by the lean route)
    ("one customer", "assign", "sms", _body(["c-1"]), True),
    ("several with a repeat", "assign", "sms", _body(["c-2", "c-3", "c-2"]), True),
    ("the admin scope", "admin", "sms", _body(["c-4"]), True),
    ("asked again", "assign", "sms", _body(["c-1", "c-4"]), True),
    ("read scope", "read", "sms", _body(["c-5"]), False),
    ("no key", "none", "sms", _body(["c-5"]), False),
    ("unknown key", "bad", "sms", _body(["c-5"]), False),
    ("revoked key", "revoked", "sms", _body(["c-5"]), False),
    ("malformed JSON", "assign", "sms", b'{"customer_ids": [', False),
    ("unknown field", "assign", "sms", b'{"customer_ids": ["c-5"], "ids": []}', False),
    ("empty list", "assign", "sms", _body([]), False),
    ("id too long", "assign", "sms", _body(["x" * 129]), False),
    ("unknown pilot", "assign", "nope", _body(["c-5"]), False),
    ("draft pilot", "assign", "draft", _body(["c-5"]), False),
    ("stopped pilot", "assign", "stopped", _body(["c-5"]), False),
    ("over the server's limit", "assign", "sms", _body([f"b-{i}" for i in range(5_001)]), False),
    ("too large for the route", "assign", "sms", _body(LARGE), False),
]  # fmt: skip


def _post(client: Any, setup: Setup, credential: str, pilot: str, body: bytes) -> Any:
    headers = {"Content-Type": "application/json", "X-Request-ID": "lean-test-1"}
    if credential != "none":
        headers["Authorization"] = f"Bearer {setup.secrets[credential]}"
    return client.post(f"/v1/experiments/{pilot}/assignments", content=body, headers=headers)


def test_every_case_is_answered_as_the_app_answers_it(setup: Setup) -> None:
    assert len(_body(LARGE)) > LEAN_BODY_BYTES
    with httpx.Client(base_url=setup.url) as served:
        for case, credential, pilot, body, lean in CASES:
            before = setup.spy.handed_on
            answer = _post(served, setup, credential, pilot, body)
            assert (setup.spy.handed_on == before) == lean, case
            expected = _post(setup.reference, setup, credential, pilot, body)
            assert answer.status_code == expected.status_code, case
            assert answer.json() == expected.json(), case
            assert answer.headers["content-type"] == expected.headers["content-type"], case
            assert answer.headers["x-request-id"] == "lean-test-1", case
        assert (answer.status_code, len(answer.json()["assignments"])) == (200, 4_000)


def test_what_the_route_answers_is_recorded_counted_and_logged(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    auth = {"Authorization": f"Bearer {setup.secrets['assign']}"}
    read = {"Authorization": f"Bearer {setup.secrets['read']}"}
    with httpx.Client(base_url=setup.url) as served:

        def metric(name: str) -> float:
            text = served.get("/metrics", headers=read).text
            lines = [ln for ln in text.splitlines() if ln.startswith(name)]
            return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)

        requests = 'pilotlift_requests_total{app_name="pilotlift",method="POST",'
        requests += 'path="/v1/experiments/{key}/assignments",status_code="200"}'
        before = (metric(requests), metric("pilotlift_assignments_served_total"),
                  metric("pilotlift_assignments_recorded_total"))  # fmt: skip
        with caplog.at_level(logging.INFO, logger="pilotlift.access"):
            groups = {}
            for i in range(6):
                answer = served.post("/v1/experiments/sms/assignments", headers=auth,
                                     json={"customer_ids": [f"r-{i}", "r-0"]})  # fmt: skip
                assert answer.status_code == 200
                groups.update({a["customer_id"]: a["group"] for a in answer.json()["assignments"]})
        after = (metric(requests), metric("pilotlift_assignments_served_total"),
                 metric("pilotlift_assignments_recorded_total"))  # fmt: skip
        assert setup.spy.handed_on == 0
        assert [a - b for a, b in zip(after, before)] == [6, 12, 6]
        for customer, group in groups.items():
            stored = served.get(f"/v1/experiments/sms/assignments/{customer}", headers=read)
            assert stored.json()["group"] == group
            assert stored.json()["assigned_at"].startswith("2026-11-16T09:00:00")
    lines = [r for r in caplog.records if r.name == "pilotlift.access"
             and getattr(r, "path", "") == "/v1/experiments/sms/assignments"]  # fmt: skip
    assert len(lines) == 6
    assert {(r.method, r.status, r.actor) for r in lines} == {("POST", 200, "assign-key")}  # type: ignore[attr-defined]
    assert all(len(r.request_id) == 32 and r.duration_ms >= 0 for r in lines)  # type: ignore[attr-defined]
