"""Configured limits: body size (413), batch sizes and id lengths (422), streamed NDJSON that
is refused as soon as it holds too many lines — each with a message a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings

T0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=database_url, clock=SimulatedClock(T0),
                        max_body_bytes=200_000, max_batch=50, max_id_length=20)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        body = {"key": "sms", "name": "s", "channel": "sms", "holdout_share": 0.5,
                "variants": [{"key": "a"}], "min_lift": 0.05}  # fmt: skip
        client.post("/v1/experiments", json=body)
        client.post("/v1/experiments/sms/start")
        yield client


def _event(i: int, **fields: Any) -> str:
    base = {"id": f"e{i}", "type": "conversion", "customer_id": f"c{i}",
            "ts": T0.isoformat()} | fields  # fmt: skip
    import json

    return json.dumps(base)


def test_body_too_large_is_413_with_the_limit(api: TestClient[Any]) -> None:
    big = "\n".join(_event(i) for i in range(3000)).encode()
    r = api.post("/v1/events", content=big, headers=NDJSON)
    assert r.status_code == 413 and "200,000 bytes" in r.json()["detail"]


def test_batch_limits_from_configuration(api: TestClient[Any]) -> None:
    ids = [f"c{i}" for i in range(51)]
    r = api.post("/v1/experiments/sms/assignments", json={"customer_ids": ids})
    assert r.status_code == 422 and "at most 50 per call" in r.json()["detail"]
    r = api.post("/v1/events", content="\n".join(_event(i) for i in range(51)), headers=NDJSON)
    assert r.status_code == 422 and "at most 50 events" in r.json()["detail"]
    events = [__import__("json").loads(_event(i)) for i in range(51)]
    r = api.post("/v1/events", json={"events": events})
    assert r.status_code == 422 and "at most 50 events" in r.json()["detail"]
    ok = api.post("/v1/events", content="\n".join(_event(i) for i in range(50)) + "\n",
                  headers=NDJSON)  # fmt: skip
    assert ok.json() == {"accepted": 50, "duplicates": 0}


def test_id_lengths_from_configuration(api: TestClient[Any]) -> None:
    r = api.post("/v1/experiments/sms/assignments", json={"customer_ids": ["ok", "x" * 21]})
    assert r.status_code == 422 and "longer than 20" in r.json()["detail"]
    assert r.json()["extra"] == [{"index": 1, "field": "customer_id"}]
    r = api.post("/v1/events", content=_event(1, customer_id="y" * 21), headers=NDJSON)
    assert r.status_code == 422
    assert r.json()["extra"][0] == {"index": 0, "field": "customer_id",
                                    "message": "longer than 20 characters"}  # fmt: skip
    # The schema's hard maximum (128) applies whatever the configuration.
    r = api.post("/v1/experiments/sms/assignments", json={"customer_ids": ["z" * 129]})
    assert r.status_code == 422


def test_streamed_ndjson_is_refused_early() -> None:
    import asyncio

    from service.errors import InvalidInput
    from service.events.decoding import read_ndjson_body

    pulled = 0

    async def endless() -> Any:
        nonlocal pulled
        while True:
            pulled += 1
            yield b'{"id": "x"}\n' * 10

    with pytest.raises(InvalidInput, match="more than 50"):
        asyncio.run(read_ndjson_body(endless(), 50))
    assert pulled == 6  # stopped reading at the sixth chunk, not at the end of the stream
