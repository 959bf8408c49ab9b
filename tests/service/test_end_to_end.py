"""A campaign tool's whole journey against a real server process, on a temporary SQLite file
and on a throw-away PostgreSQL database.

50,000 customers are assigned; variant customers are exposed (95 %); purchases are drawn with a
known true lift (holdout 10 %, variant 12 %: +20 % relative). Randomness is seeded and groups
are a deterministic hash, so every run sees the same data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from service.testing import ServerProcess

KEY = "sms-e2e"
N = 50_000
P_HOLDOUT, P_VARIANT = 0.10, 0.12


class _Now:
    """The pilot's reference time, fixed when the pilot is created (not at collection: in a
    long suite the tests run minutes after collection, and events must follow assignment)."""

    value = datetime.now(UTC)


def now() -> datetime:
    return _Now.value


def ndjson(events: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json.dumps(e).encode() for e in events)


def post_ndjson(client: httpx.Client, events: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        "/v1/events", content=ndjson(events), headers={"Content-Type": "application/x-ndjson"}
    )


@pytest.fixture(scope="module")
def pilot(client: httpx.Client) -> dict[str, Any]:
    """Create, start, assign, expose and convert; return what the campaign tool knows."""
    body = {
        "key": KEY,
        "name": "SMS e2e",
        "channel": "sms",
        "holdout_share": 0.5,
        "variants": [{"key": "sms"}],
        "metrics": [
            {"key": "orders", "event": "order", "kind": "binary"},
            {"key": "revenue", "event": "order", "kind": "sum"},
        ],
        "min_lift": 0.05,
        "attribution_window_days": 7,
        "costs": {"per_exposure": 0.05, "fixed": 100.0},
    }
    _Now.value = datetime.now(UTC)
    assert client.post("/v1/experiments", json=body).status_code == 201
    assert client.post(f"/v1/experiments/{KEY}/start").status_code == 200
    ids = [f"cust-{i}" for i in range(N)]
    answer = client.post(f"/v1/experiments/{KEY}/assignments", json={"customer_ids": ids})
    assert answer.status_code == 200
    groups = {a["customer_id"]: a["group"] for a in answer.json()["assignments"]}

    rng = np.random.default_rng(2026)
    ts = (now() + timedelta(minutes=1)).isoformat()
    exposures = [
        {"id": f"x-{c}", "type": "exposure", "customer_id": c, "experiment": KEY, "ts": ts}
        for c in ids
        if groups[c] == "sms" and rng.random() < 0.95
    ]
    conversions = []
    for c in ids:
        p = P_VARIANT if groups[c] == "sms" else P_HOLDOUT
        if rng.random() < p:
            conversions.append(
                {
                    "id": f"o-{c}",
                    "type": "conversion",
                    "customer_id": c,
                    "event": "order",
                    "ts": ts,
                    "value": 40.0,
                }
            )
    events = exposures + conversions
    first = post_ndjson(client, events)
    assert first.status_code == 200, first.text
    return {
        "ids": ids,
        "groups": groups,
        "events": events,
        "first": first.json(),
        "exposures": len(exposures),
        "conversions": conversions,
    }


def results(client: httpx.Client) -> dict[str, Any]:
    as_of = (now() + timedelta(hours=1)).isoformat()
    r = client.get(f"/v1/experiments/{KEY}/results", params={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_event_was_accepted(pilot: dict[str, Any]) -> None:
    assert pilot["first"] == {"accepted": len(pilot["events"]), "duplicates": 0}


def test_results_count_what_was_sent(client: httpx.Client, pilot: dict[str, Any]) -> None:
    res = results(client)
    arms = {a["group"]: a for a in res["arms"]}
    groups = pilot["groups"]
    for group in ("holdout", "sms"):
        members = {c for c, g in groups.items() if g == group}
        converted = sum(1 for e in pilot["conversions"] if e["customer_id"] in members)
        assert arms[group]["customers"] == len(members)
        assert arms[group]["metrics"]["orders"]["total"] == converted
        assert arms[group]["metrics"]["revenue"]["total"] == pytest.approx(40.0 * converted)
    assert arms["sms"]["exposed"] == pilot["exposures"]
    assert arms["holdout"]["exposed"] == 0
    assert res["revenue"]["cost"] == pytest.approx(0.05 * pilot["exposures"] + 100.0)


def test_true_lift_lies_inside_the_interval(client: httpx.Client, pilot: dict[str, Any]) -> None:
    res = results(client)
    orders = next(c for c in res["comparisons"] if c["metric"] == "orders")
    low, high = orders["relative_ci"]
    assert low < P_VARIANT / P_HOLDOUT - 1 < high
    a_low, a_high = orders["absolute_ci"]
    assert a_low < P_VARIANT - P_HOLDOUT < a_high
    assert orders["significant"] and orders["p_value"] < 0.05
    assert orders["exposure_rate"] == pytest.approx(0.95, abs=0.01)
    assert orders["lift_among_exposed"] == pytest.approx(
        orders["absolute_lift"] / orders["exposure_rate"]
    )


def test_group_shares_pass_the_srm_check(client: httpx.Client, pilot: dict[str, Any]) -> None:
    srm = results(client)["srm"]
    assert srm["ok"] and srm["p_value"] > 0.001
    assert sum(srm["observed"].values()) == N


def test_repeating_a_batch_stores_nothing_new(client: httpx.Client, pilot: dict[str, Any]) -> None:
    before = results(client)
    again = post_ndjson(client, pilot["events"])
    assert again.json() == {"accepted": 0, "duplicates": len(pilot["events"])}
    same_as_json = client.post("/v1/events", json={"events": pilot["events"][:100]})
    assert same_as_json.json() == {"accepted": 0, "duplicates": 100}
    assert results(client)["arms"] == before["arms"]


def test_a_bad_event_rejects_the_whole_batch(client: httpx.Client, pilot: dict[str, Any]) -> None:
    ts = (now() + timedelta(minutes=2)).isoformat()
    good = [
        {
            "id": f"late-{i}",
            "type": "conversion",
            "customer_id": f"cust-{i}",
            "event": "order",
            "ts": ts,
            "value": 5.0,
        }
        for i in range(10)
    ]
    bad = [
        *good[:4],
        {
            "id": "bad-1",
            "type": "conversion",
            "customer_id": "cust-1",
            "event": "order",
            "ts": "2026-11-20 10:00",
        },
        *good[4:],
    ]
    future = [
        *good,
        {
            "id": "bad-2",
            "type": "exposure",
            "customer_id": "cust-2",
            "experiment": KEY,
            "ts": (now() + timedelta(days=3)).isoformat(),
        },
    ]
    for batch, index, field in ((bad, 4, "ts"), (future, 10, "ts")):
        r = post_ndjson(client, batch)
        assert r.status_code == 422
        problems = r.json()["extra"]
        assert [(p["index"], p["field"]) for p in problems] == [(index, field)]
        assert "nothing" in r.json()["detail"]
    # Nothing of the good events was stored: sending them alone now accepts all ten.
    assert post_ndjson(client, good).json() == {"accepted": 10, "duplicates": 0}


def test_forbidden_changes_to_a_running_pilot_get_409(
    client: httpx.Client, pilot: dict[str, Any]
) -> None:
    for change in (
        {"holdout_share": 0.2},
        {"variants": [{"key": "other"}]},
        {"metrics": [{"key": "m", "event": "order", "kind": "count"}]},
        {"attribution_window_days": 30},
        {"traffic": 0.5},
    ):
        r = client.patch(f"/v1/experiments/{KEY}", json=change)
        assert r.status_code == 409, change
        assert "cannot change" in r.json()["detail"] or "only increase" in r.json()["detail"]
    ok = client.patch(
        f"/v1/experiments/{KEY}", json={"name": "SMS e2e, renamed", "costs": {"per_exposure": 0.05}}
    )
    assert ok.status_code == 200 and ok.json()["name"] == "SMS e2e, renamed"
    assert client.post(f"/v1/experiments/{KEY}/start").status_code == 409


def test_a_restart_changes_no_ones_group(
    client: httpx.Client, server: ServerProcess, pilot: dict[str, Any]
) -> None:
    before = client.get(f"/v1/experiments/{KEY}/assignments/cust-7").json()
    server.restart()
    with httpx.Client(base_url=server.url, timeout=120) as fresh:
        again = fresh.post(
            f"/v1/experiments/{KEY}/assignments", json={"customer_ids": pilot["ids"]}
        )
        assert {a["customer_id"]: a["group"] for a in again.json()["assignments"]} == pilot[
            "groups"
        ]
        after = fresh.get(f"/v1/experiments/{KEY}/assignments/cust-7").json()
    assert after == before  # same group, same first assigned_at
