"""Results over HTTP while the aggregator lags, then after it caught up: the same numbers.

A real server with its aggregator switched off (``PILOTLIFT_AGGREGATE_EVERY_SECONDS=0``) takes
assignments, exposures and conversions (some before assignment, some late, some duplicated);
results at several ``as_of`` are read while nothing is folded (every number from the raw
rows), then ``pilotlift fold`` folds the whole backlog and the same looks
are read again from the totals. A second server with the default aggregator shows the backlog
going to zero on its own, with the same answers.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from service.storage.aggregator import backlog
from service.storage.engine import create_storage_engine
from service.testing import ServerProcess

NOW = datetime.now(UTC).replace(microsecond=0)
CUSTOMERS = [f"lag-{i:04d}" for i in range(600)]
PILOT = {
    "key": "lag", "name": "Lag", "channel": "sms", "holdout_share": 0.3,
    "variants": [{"key": "sms"}], "min_lift": 0.05, "attribution_window_days": 2,
    "covariate_lookback_days": 3,
    "metrics": [{"key": "orders", "event": "order", "kind": "binary"},
                {"key": "revenue", "event": "order", "kind": "sum"},
                {"key": "visits", "event": "visit", "kind": "count"}],
    "primary_metric": "orders",
}  # fmt: skip


def _events(rng: random.Random, first: int, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(first, first + n):
        ts = (NOW + timedelta(hours=rng.uniform(-90, 20))).isoformat()
        customer = rng.choice(CUSTOMERS)
        if rng.random() < 0.3:
            out.append({"type": "exposure", "id": f"x{i}", "customer_id": customer,
                        "experiment": "lag", "ts": ts})  # fmt: skip
        else:
            out.append({"type": "conversion", "id": f"c{i}", "customer_id": customer, "ts": ts,
                        "event": rng.choice(["order", "visit"]),
                        "value": round(rng.uniform(1, 90), 2)})  # fmt: skip
    return out


def _write(client: httpx.Client) -> None:
    rng = random.Random(11)
    assert client.post("/v1/experiments", json=PILOT).status_code == 201
    assert client.post("/v1/experiments/lag/start").status_code == 200
    assert client.post("/v1/events", json={"events": _events(rng, 0, 900)}).status_code == 200
    ids = {"customer_ids": CUSTOMERS[:400]}
    assert client.post("/v1/experiments/lag/assignments", json=ids).status_code == 200
    second = _events(rng, 900, 900)
    assert client.post("/v1/events", json={"events": second + second[:50]}).status_code == 200
    ids = {"customer_ids": CUSTOMERS[300:]}
    assert client.post("/v1/experiments/lag/assignments", json=ids).status_code == 200
    assert client.post("/v1/events", json={"events": _events(rng, 1800, 900)}).status_code == 200


def _looks(client: httpx.Client) -> list[dict[str, Any]]:
    looks = []
    for hours in (-1, 6, 30, 60):
        as_of = (NOW + timedelta(hours=hours)).isoformat()
        body = client.get("/v1/experiments/lag/results", params={"as_of": as_of}).json()
        looks.append({"as_of": as_of, "arms": body["arms"], "comparisons": body["comparisons"]})
    return looks


def _rounded(tree: Any) -> Any:
    """Floats to 12 significant digits: a sum from the totals and the same sum from the raw
    rows add in different orders."""
    if isinstance(tree, dict):
        return {k: _rounded(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_rounded(v) for v in tree]
    return float(f"{tree:.12g}") if isinstance(tree, float) else tree


def test_results_are_the_same_while_the_aggregator_lags_and_after(
    module_database: Path | str,
) -> None:
    server = ServerProcess(module_database, env={"PILOTLIFT_AGGREGATE_EVERY_SECONDS": "0"})
    server.start()
    engine = create_storage_engine(str(module_database))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            _write(client)
            lag = backlog(engine).rows
            assert lag > 2500  # nothing folded: every fact beyond the watermark
            lagging = _looks(client)
            # The operator's catch-up for a deployment that folds from a job: `pilotlift fold`.
            env = dict(os.environ, PILOTLIFT_DATABASE_URL=str(module_database))
            done = subprocess.run([sys.executable, "-m", "service.cli", "fold"], env=env,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            assert done.stdout.strip() == f"folded {lag:,} fact rows into the totals; 0 left"
            assert backlog(engine).rows == 0
            caught_up = _looks(client)
        assert _rounded(caught_up) == _rounded(lagging)
        arms = {a["group"]: a for a in caught_up[-1]["arms"]}
        assert arms["holdout"]["customers"] + arms["sms"]["customers"] == len(CUSTOMERS)
        assert arms["sms"]["exposed"] > 0
        assert arms["sms"]["metrics"]["revenue"]["mean"] > 0
    finally:
        engine.dispose()
        server.stop()

    # The default aggregator folds the next writes on its own, and answers the same.
    server = ServerProcess(module_database)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            events = _events(random.Random(5), 5000, 300)
            assert client.post("/v1/events", json={"events": events}).status_code == 200
            engine = create_storage_engine(str(module_database))
            deadline = time.monotonic() + 30
            while backlog(engine).rows and time.monotonic() < deadline:
                time.sleep(0.1)
            assert backlog(engine).rows == 0
            engine.dispose()
            metrics = client.get("/metrics").text
            assert "pilotlift_unfolded_facts 0.0" in metrics
            folded = _looks(client)
        assert folded != lagging  # the 300 new events count
        assert [look["as_of"] for look in folded] == [look["as_of"] for look in lagging]
    finally:
        server.stop()
