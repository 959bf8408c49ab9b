"""Channel holdouts over the HTTP contract, in process on a SQLite file and on PostgreSQL with a
simulated clock: lifecycle and audit, the eligibility rule against an independent
implementation, pilots that respect their channel, cost rows, and bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
IDS = [f"cust-{i:05d}" for i in range(3000)]


def unit(text: str) -> float:
    """The README's rule, written again from its words: the first 8 bytes of SHA-256 as a
    big-endian integer, shifted right by 11, over 2**53."""
    return (int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 11) / 2**53


def held_out(salt: str, period: int, share: float, customer_id: str) -> bool:
    return unit(f"channel:{salt}:{period}:{customer_id}") < share


def pilot_body(key: str, channel: str = "sms", holdout_share: float = 0.2) -> dict[str, Any]:
    return {"key": key, "name": key, "channel": channel, "holdout_share": holdout_share,
            "variants": [{"key": "a"}, {"key": "b"}], "min_lift": 0.05}  # fmt: skip


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def api(database_url: str, clock: SimulatedClock) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=database_url, clock=clock, max_batch=5000)
    with TestClient(create_app(settings)) as client:
        yield client


def _create(api: TestClient[Any], **changes: Any) -> dict[str, Any]:
    body = {"key": "sms", "name": "SMS", "holdout_share": 0.05, "period_days": 90} | changes
    r = api.post("/v1/channels", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _eligibility(api: TestClient[Any], ids: list[str], key: str = "sms") -> dict[str, str]:
    r = api.post(f"/v1/channels/{key}/eligibility", json={"customer_ids": ids})
    assert r.status_code == 200, r.text
    return {c["customer_id"]: c["group"] for c in r.json()["customers"]}


def test_lifecycle_periods_and_audit(api: TestClient[Any], clock: SimulatedClock) -> None:
    created = _create(api, holdout_share=0.1)
    assert created["status"] == "draft" and created["salt"] == "sms"
    assert created["margin_rate"] == 1.0 and created["budget_step"] == 0.06
    assert created["period"] is None
    assert api.post("/v1/channels", json={"key": "sms", "name": "x", "holdout_share": 0.1}
                    ).status_code == 409  # fmt: skip
    assert (
        api.patch("/v1/channels/sms", json={"holdout_share": 0.05}).json()["holdout_share"] == 0.05
    )
    started = api.post("/v1/channels/sms/start").json()
    assert started["period"] == {"period": 1, "starts_at": "2026-01-05T09:00:00Z",
                                 "ends_at": "2026-04-05T09:00:00Z"}  # fmt: skip
    assert api.post("/v1/channels/sms/start").status_code == 409
    frozen = api.patch("/v1/channels/sms", json={"holdout_share": 0.2})
    assert frozen.status_code == 409 and "holdout_share" in frozen.json()["detail"]
    # A new period length applies from the next period: period 1 keeps its end.
    clock.advance(timedelta(days=10))
    patched = api.patch("/v1/channels/sms", json={"period_days": 30, "margin_rate": 0.4}).json()
    assert patched["period"]["ends_at"] == "2026-04-05T09:00:00Z"
    assert patched["margin_rate"] == 0.4
    clock.set(T0 + timedelta(days=91))
    period = {"period": 2, "starts_at": "2026-04-05T09:00:00Z", "ends_at": "2026-05-05T09:00:00Z"}
    assert api.get("/v1/channels/sms").json()["period"] == period
    running = api.get("/v1/channels", params={"status": "running"}).json()["channels"]
    assert [c["key"] for c in running] == ["sms"]
    assert api.post("/v1/channels/sms/stop").json()["status"] == "stopped"
    stopped = api.post("/v1/channels/sms/eligibility", json={"customer_ids": ["c1"]})
    assert stopped.status_code == 409 and "stopped" in stopped.json()["detail"]
    assert api.patch("/v1/channels/sms", json={"period_days": 60}).status_code == 409
    actions = [e["action"] for e in api.get("/v1/audit").json()["entries"]]
    assert actions[:5] == ["channel.stop", "channel.patch", "channel.start", "channel.patch",
                           "channel.create"]  # fmt: skip


def test_eligibility_follows_the_documented_rule_and_is_recorded(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    _create(api, salt="spring")
    api.post("/v1/channels/sms/start")
    groups = _eligibility(api, IDS)
    expected = {c: "channel_holdout" if held_out("spring", 1, 0.05, c) else "eligible" for c in IDS}
    assert groups == expected
    assert 100 < list(groups.values()).count("channel_holdout") < 200  # 5 % of 3,000
    assert _eligibility(api, IDS[:7]) == {c: expected[c] for c in IDS[:7]}  # one-by-one path
    clock.advance(timedelta(days=3))
    assert _eligibility(api, IDS) == expected  # stable within a period
    arms = {a["group"]: a["customers"] for a in api.get("/v1/channels/sms/results").json()["arms"]}
    assert sum(arms.values()) == 3000
    assert arms["channel_holdout"] == list(groups.values()).count("channel_holdout")
    # Erasure removes the customer's memberships too.
    erased = api.delete(f"/v1/customers/{IDS[0]}")
    assert erased.status_code == 200
    audit = api.get("/v1/audit").json()["entries"][0]
    assert audit["action"] == "customer.erase" and audit["change"]["channel_members"] == 1
    after = api.get("/v1/channels/sms/results").json()["arms"]
    assert sum(a["customers"] for a in after) == 2999


def test_pilots_answer_channel_holdout_for_held_out_customers(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    for key, channel in (("inside", "sms"), ("outside", "email")):
        assert api.post("/v1/experiments", json=pilot_body(key, channel)).status_code == 201
        assert api.post(f"/v1/experiments/{key}/start").status_code == 200
    before = api.post("/v1/experiments/inside/assignments", json={"customer_ids": IDS[:50]})
    assert "channel_holdout" not in {a["group"] for a in before.json()["assignments"]}
    _create(api)  # the pilot's process has cached "no running channel": the write corrects it
    api.post("/v1/channels/sms/start")
    held = {c for c in IDS if held_out("sms", 1, 0.05, c)}
    for batch in (IDS, IDS[:1], [sorted(held)[0]]):  # the batch and the one-customer path
        r = api.post("/v1/experiments/inside/assignments", json={"customer_ids": batch})
        got = {a["customer_id"]: a["group"] for a in r.json()["assignments"]}
        assert {c for c, g in got.items() if g == "channel_holdout"} == held & set(batch)
    some = sorted(held - set(IDS[:50]))[0]  # never assigned before the channel started
    assert api.get(f"/v1/experiments/inside/assignments/{some}").status_code == 404
    results = api.get("/v1/experiments/inside/results").json()
    assert sum(a["customers"] for a in results["arms"]) == len(set(IDS) - held | set(IDS[:50]))
    assert results["srm"]["ok"]
    other = api.post("/v1/experiments/outside/assignments", json={"customer_ids": IDS})
    assert "channel_holdout" not in {a["group"] for a in other.json()["assignments"]}
    # Every customer the pilot was asked about is a member of the channel's period.
    arms = {a["group"]: a["customers"] for a in api.get("/v1/channels/sms/results").json()["arms"]}
    assert arms == {"channel_holdout": len(held), "eligible": len(IDS) - len(held)}
    api.post("/v1/channels/sms/stop")
    after = api.post("/v1/experiments/inside/assignments", json={"customer_ids": sorted(held)})
    assert "channel_holdout" not in {a["group"] for a in after.json()["assignments"]}


def test_a_pilot_that_leaves_no_one_to_message_is_refused(api: TestClient[Any]) -> None:
    _create(api, holdout_share=0.5)
    r = api.post("/v1/experiments", json=pilot_body("crowded", holdout_share=0.5))
    assert r.status_code == 422
    assert "holds out 50%" in r.json()["detail"] and "no customer is left" in r.json()["detail"]
    assert r.json()["extra"][0]["field"] == "holdout_share"
    assert (
        api.post("/v1/experiments", json=pilot_body("fits", holdout_share=0.4)).status_code == 201
    )
    grown = api.patch("/v1/experiments/fits", json={"holdout_share": 0.6})
    assert grown.status_code == 422
    wide = api.post("/v1/channels", json={"key": "email", "name": "E", "holdout_share": 0.1})
    assert wide.status_code == 201
    api.post("/v1/experiments", json=pilot_body("mail", channel="push", holdout_share=0.4))
    crowding = api.post("/v1/channels", json={"key": "push", "name": "P", "holdout_share": 0.7})
    assert crowding.status_code == 422 and "'mail'" in crowding.json()["detail"]


def test_costs_are_restated_by_id_and_bad_rows_are_named(
    api: TestClient[Any], clock: SimulatedClock
) -> None:
    _create(api)
    api.post("/v1/channels/sms/start")
    rows = [{"id": "media-jan", "date": "2026-01-05", "amount": 1200.0, "kind": "media"},
            {"id": "sms-jan", "date": "2026-01-06", "amount": 310.25, "kind": "per_message",
             "note": "31,025 messages"},
            {"id": "setup", "date": "2025-12-20", "amount": 500.0, "kind": "tech"}]  # fmt: skip
    first = api.post("/v1/channels/sms/costs", json={"rows": rows})
    assert first.json() == {"stored": 3, "replaced": 0, "unchanged": 0}
    restated = [dict(rows[0], amount=1250.0), rows[1], {"id": "team", "date": "2026-01-07",
                "amount": 800.0, "kind": "people"}]  # fmt: skip
    again = api.post("/v1/channels/sms/costs", json={"rows": restated})
    assert again.json() == {"stored": 1, "replaced": 1, "unchanged": 1}
    bad = [rows[0], dict(rows[1], amount=-5.0), dict(rows[2], kind="tv"),
           dict(rows[0], amount=1.0)]  # fmt: skip
    refused = api.post("/v1/channels/sms/costs", json={"rows": bad})
    assert refused.status_code == 422
    assert "nothing was stored" in refused.json()["detail"]
    assert [(p["index"], p["field"]) for p in refused.json()["extra"]] == [
        (1, "amount"), (2, "kind"), (3, "id")]  # fmt: skip
    missing = api.post("/v1/channels/sms/costs", json={"rows": [{"id": "x", "amount": 1.0}]})
    assert missing.status_code == 422 and "date" in missing.json()["detail"]
    clock.advance(timedelta(days=5))
    results = api.get("/v1/channels/sms/results").json()
    assert results["costs_by_kind"] == {"media": 1250.0, "per_message": 310.25, "tech": 500.0,
                                        "people": 800.0}  # fmt: skip
    assert results["cost"] == pytest.approx(2860.25, abs=1e-9)
    # A row dated after the look is not part of it.
    later = {"id": "later", "date": "2026-02-01", "amount": 99.0, "kind": "media"}
    assert api.post("/v1/channels/sms/costs", json={"rows": [later]}).status_code == 200
    assert api.get("/v1/channels/sms/results").json()["cost"] == pytest.approx(2860.25)


BAD_CALLS = [
    ("post", "/v1/channels/nope/eligibility", {"customer_ids": ["c1"]}, 404, "No channel"),
    ("post", "/v1/channels/draft/eligibility", {"customer_ids": ["c1"]}, 409, "draft"),
    ("post", "/v1/channels/draft/eligibility", {"customer_ids": []}, 422, "customer_ids"),
    ("post", "/v1/channels/draft/eligibility", {"customer_ids": [f"c{i}" for i in range(5001)]},
     422, "at most 5,000"),
    ("get", "/v1/channels/draft/results", None, 409, "has not started"),
    ("get", "/v1/channels/nope/results", None, 404, "No channel"),
    ("get", "/v1/channels/nope", None, 404, "No channel"),
    ("post", "/v1/channels", {"key": "Bad Key", "name": "x", "holdout_share": 0.1}, 422, "key"),
    ("post", "/v1/channels", {"key": "k", "name": "x", "holdout_share": 1.0}, 422,
     "holdout_share"),
    ("post", "/v1/channels", {"key": "k", "name": "x", "holdout_share": 0.1, "margin_rate": 0},
     422, "margin_rate"),
    ("patch", "/v1/channels/draft", {"holdout_shre": 0.1}, 422, "holdout_shre"),
    ("post", "/v1/channels/draft/stop", None, 409, "allowed from: running"),
    ("post", "/v1/channels/nope/costs",
     {"rows": [{"id": "a", "date": "2026-01-01", "amount": 1, "kind": "media"}]}, 404,
     "No channel"),
]  # fmt: skip


def test_bad_input_gets_a_sentence(api: TestClient[Any]) -> None:
    _create(api, key="draft")
    wrong = []
    for method, path, body, status, words in BAD_CALLS:
        r = api.request(method.upper(), path, json=body)
        if r.status_code != status or words not in r.json()["detail"]:
            wrong.append((method, path, r.status_code, r.text[:200]))
    assert wrong == []


def test_results_periods_are_checked(api: TestClient[Any], clock: SimulatedClock) -> None:
    _create(api)
    api.post("/v1/channels/sms/start")
    _eligibility(api, IDS[:100])
    for params, words in (({"period": 0}, "period"), ({"period": 2}, "between 1 and 1"),
                          ({"as_of": "2026-01-06T00:00:00"}, "zone")):  # fmt: skip
        r = api.get("/v1/channels/sms/results", params=params)
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    early = api.get("/v1/channels/sms/results").json()
    assert early["method"] == "sequential" and early["period"] == 1
    assert early["comparisons"][0]["variant"] == "eligible"
