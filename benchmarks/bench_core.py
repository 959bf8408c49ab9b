"""Core performance figures of pilotlift on this machine (a benchmark, not a test).

Prints:
1. in-process assignment rate (ids/s) of the hashing rule;
2. HTTP batch assignment with recording (ids/s, 100k ids per request, new customers);
3. NDJSON ingestion (events/s, 100k events per request);
4. results latency for a pilot with 1,000,000 assigned customers and 3,000,000 events.

The server is a real ``pilotlift serve`` process on a temporary SQLite file; the client runs
in this process on the same machine, with request bodies encoded before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.assignment import AssignmentRule
from tests.conftest import ServerProcess

KEY = "bench"


def in_process_rate(n: int = 1_000_000) -> float:
    rule = AssignmentRule(KEY, 0.1, ("a", "b"), (1.0, 1.0), traffic=0.9)
    ids = [f"customer-{i:08d}" for i in range(n)]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        rule.group_codes(ids)
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    args = parser.parse_args()
    n, n_events = args.customers, args.events

    print(f"machine: {sys.platform}, python {sys.version.split()[0]}")
    print(f"1. in-process assignment: {in_process_rate():,.0f} ids/s")

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "bench.db")
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=600) as client:
                run(client, n, n_events)
        finally:
            server.stop()


def run(client: httpx.Client, n: int, n_events: int) -> None:
    pilot = {
        "key": KEY,
        "name": "bench",
        "channel": "sms",
        "holdout_share": 0.1,
        "variants": [{"key": "a"}, {"key": "b"}],
        "metrics": [
            {"key": "orders", "event": "order", "kind": "binary"},
            {"key": "order_count", "event": "order", "kind": "count"},
            {"key": "revenue", "event": "order", "kind": "sum"},
        ],
        "min_lift": 0.05,
        "costs": {"per_exposure": 0.01, "fixed": 100},
    }
    client.post("/v1/experiments", json=pilot).raise_for_status()
    client.post(f"/v1/experiments/{KEY}/start").raise_for_status()

    ids = [f"customer-{i:08d}" for i in range(n)]
    bodies = [
        json.dumps({"customer_ids": ids[s : s + 100_000]}).encode() for s in range(0, n, 100_000)
    ]
    start = time.perf_counter()
    groups: dict[str, str] = {}
    for body in bodies:
        r = client.post(
            f"/v1/experiments/{KEY}/assignments",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        r.raise_for_status()
        groups.update((a["customer_id"], a["group"]) for a in r.json()["assignments"])
    elapsed = time.perf_counter() - start
    print(
        f"2. HTTP batch assignment with recording: {n / elapsed:,.0f} ids/s"
        f" ({n:,} new customers, 100k per request, {elapsed:.1f} s)"
    )

    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    lines: list[bytes] = []
    exposed = [c for c in ids if groups[c] in ("a", "b")][: int(n_events * 0.3)]
    for i, c in enumerate(exposed):
        lines.append(
            json.dumps(
                {
                    "id": f"x{i}",
                    "type": "exposure",
                    "customer_id": c,
                    "experiment": KEY,
                    "ts": now.isoformat(),
                }
            ).encode()
        )
    buyers = rng.integers(0, n, size=n_events - len(lines))
    offsets = rng.uniform(-20, 0.5, size=len(buyers))  # pre-period and window purchases
    for i, (b, off) in enumerate(zip(buyers.tolist(), offsets.tolist())):
        ts = (now + timedelta(days=off)).isoformat()
        lines.append(
            json.dumps(
                {
                    "id": f"o{i}",
                    "type": "conversion",
                    "customer_id": ids[b],
                    "event": "order",
                    "ts": ts,
                    "value": 30.0,
                }
            ).encode()
        )
    batches = [b"\n".join(lines[s : s + 100_000]) for s in range(0, len(lines), 100_000)]
    start = time.perf_counter()
    accepted = 0
    for body in batches:
        r = client.post(
            "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
        r.raise_for_status()
        accepted += r.json()["accepted"]
    elapsed = time.perf_counter() - start
    print(
        f"3. NDJSON ingestion: {accepted / elapsed:,.0f} events/s"
        f" ({accepted:,} events, 100k per request, {elapsed:.1f} s)"
    )

    as_of = (now + timedelta(days=1)).isoformat()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        r = client.get(f"/v1/experiments/{KEY}/results", params={"as_of": as_of})
        r.raise_for_status()
        times.append(time.perf_counter() - start)
    customers = sum(a["customers"] for a in r.json()["arms"])
    print(
        f"4. results latency: median {statistics.median(times):.2f} s, best {min(times):.2f} s"
        f" ({customers:,} customers, {accepted:,} events, 3 metrics)"
    )


if __name__ == "__main__":
    main()
