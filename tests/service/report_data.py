"""A database with five pilots over two ISO weeks, for the weekly-review tests.

Week 1 is the ISO week before the last complete one (by the real clock), week 2 the last
complete one, so that a real server and its schedule see the same weeks as the tests:

* ``winner``   — +50 % orders: ``continue`` after week 1 (minimum duration), ``scale`` after week 2;
* ``loser``    — −40 % orders: ``continue`` after week 1 (too early), ``stop`` after week 2;
* ``unclear``  — no effect, few customers: ``continue``;
* ``skewed``   — assignments imported 3:1 for a 50/50 design: sample-ratio mismatch, ``check_data``;
* ``finished`` — +50 %, concluded with ``scale`` on the Thursday of week 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.timeutil import last_complete_week, parse_iso_week, shift_week


@dataclass(frozen=True)
class ReportData:
    database: Path | str
    week1: str
    week2: str


LIFTS = {"winner": 0.5, "loser": -0.4, "unclear": 0.0, "skewed": 0.0, "finished": 0.5}
DAILY = {"winner": 800, "loser": 800, "unclear": 60, "skewed": 400, "finished": 800}


def _pilot(key: str) -> dict[str, Any]:
    return {
        "key": key, "name": key.title() + " SMS", "channel": "sms", "owner": "crm-team",
        "hypothesis": f"The {key} message raises orders", "holdout_share": 0.5,
        "variants": [{"key": "sms"}],
        "metrics": [{"key": "orders", "event": "order", "kind": "binary"},
                    {"key": "revenue", "event": "order", "kind": "sum"},
                    {"key": "unsubscribes", "event": "unsubscribe", "kind": "binary",
                     "guardrail": True, "direction": "decrease", "margin": 0.5}],
        "min_lift": 0.05, "planned_duration_days": 14,
        "costs": {"per_exposure": 0.05, "fixed": 100.0},
    }  # fmt: skip


def build(database: Path | str, now: datetime | None = None) -> ReportData:
    now = now or datetime.now(UTC)
    week2 = last_complete_week(now)
    week1 = shift_week(week2, -1)
    monday, _ = parse_iso_week(week1)
    clock = SimulatedClock(monday + timedelta(hours=9))
    rng = np.random.default_rng(11)
    with TestClient(create_app(Settings(database_url=str(database), clock=clock))) as api:
        for key in LIFTS:
            assert api.post("/v1/experiments", json=_pilot(key)).status_code == 201
            assert api.post(f"/v1/experiments/{key}/start").status_code == 200
        for day in range(14):
            clock.set(monday + timedelta(days=day, hours=9))
            if day == 10:  # Thursday of week 2
                conclusion = {"decision": "scale", "note": "Roll out to all regions."}
                api.post("/v1/experiments/finished/conclude", json=conclusion)
            for key, lift in LIFTS.items():
                if key == "finished" and day >= 10:
                    continue
                _one_day(api, clock, rng, key, day, lift)
    return ReportData(database, week1, week2)


def _one_day(api: TestClient[Any], clock: SimulatedClock, rng: np.random.Generator, key: str,
             day: int, lift: float) -> None:  # fmt: skip
    ids = [f"{key}-{day}-{i}" for i in range(DAILY[key])]
    if key == "skewed":
        groups = {c: ("holdout" if i % 4 else "sms") for i, c in enumerate(ids)}
        rows = [{"customer_id": c, "group": g, "assigned_at": clock().isoformat()}
                for c, g in groups.items()]  # fmt: skip
        assert api.post(f"/v1/experiments/{key}/assignments/import",
                        json={"assignments": rows}).status_code == 200  # fmt: skip
    else:
        r = api.post(f"/v1/experiments/{key}/assignments", json={"customer_ids": ids})
        groups = {a["customer_id"]: a["group"] for a in r.json()["assignments"]}
    events = []
    later = (clock() + timedelta(hours=2)).isoformat()
    for cid, group in groups.items():
        treated = group != "holdout"
        if treated:
            events.append({"id": f"x-{cid}", "type": "exposure", "customer_id": cid,
                           "experiment": key, "ts": clock().isoformat()})  # fmt: skip
        if rng.random() < 0.10 * (1 + lift if treated else 1):
            events.append({"id": f"o-{cid}", "type": "conversion", "customer_id": cid,
                           "event": "order", "value": 25.0, "ts": later})  # fmt: skip
        if rng.random() < 0.01:
            events.append({"id": f"u-{cid}", "type": "conversion", "customer_id": cid,
                           "event": "unsubscribe", "ts": later})  # fmt: skip
    assert api.post("/v1/events", json={"events": events}).status_code == 200
