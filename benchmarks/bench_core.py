"""Performance figures of pilotlift on this machine (a benchmark, not a test).

One run prints, for SQLite and PostgreSQL and for one and two worker processes:

1. in-process assignment rate (ids/s), with the GrowthBook Python SDK's rate as a reference
   (``gb.run()`` per customer, and its bare ``gbhash``), if the SDK is installed;
2. HTTP batch assignment with recording (ids/s, 100k new ids per request);
3. single-customer assignment over HTTP (requests/s and p99 latency, driven by ``wrk``);
4. NDJSON ingestion (events/s, 100k events per request);
5. results latency for a pilot with ``--customers`` assigned and ``--events`` events;
6. the largest resident memory of any service process during ingestion.

``--big`` adds the PostgreSQL run at 10,000,000 customers and 30,000,000 events;
``--memory-events 10000000`` instead runs only a long ingestion through one worker per backend
and prints its rate and the service's peak memory. Servers are
real ``pilotlift serve`` processes; clients run in this process on the same 2 cores (threads,
one per worker), with request bodies encoded before the clock starts.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.assignment import AssignmentRule
from tests.conftest import ServerProcess

KEY = "bench"
BATCH = 100_000
PILOT = {
    "key": KEY, "name": "bench", "channel": "sms", "holdout_share": 0.1,
    "variants": [{"key": "a"}, {"key": "b"}],
    "metrics": [
        {"key": "orders", "event": "order", "kind": "binary"},
        {"key": "order_count", "event": "order", "kind": "count"},
        {"key": "revenue", "event": "order", "kind": "sum"},
    ],
    "min_lift": 0.05, "costs": {"per_exposure": 0.01, "fixed": 100},
}  # fmt: skip
WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = '{"customer_ids": ["single-' .. PREFIX .. '-' .. counter .. '"]}'
  return wrk.format("POST", "/v1/experiments/bench/assignments",
                    {["Content-Type"] = "application/json"}, body)
end
"""


def best_rate(work: Callable[[], object], n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return n / best


def in_process(n: int = 1_000_000) -> None:
    rule = AssignmentRule(KEY, 0.1, ("a", "b"), (1.0, 1.0), traffic=0.9)
    ids = [f"customer-{i:08d}" for i in range(n)]
    ours = best_rate(lambda: rule.group_codes(ids), n)
    print(f"in-process assignment: {ours:,.0f} ids/s")
    try:
        from growthbook import Experiment, GrowthBook
        from growthbook.core import gbhash
    except ImportError:
        print("  (GrowthBook SDK not installed: `pip install growthbook` for the reference)")
        return
    sample = ids[:100_000]
    gb = GrowthBook(attributes={"id": ""})
    exp = Experiment(key=KEY, variations=[0, 1, 2], weights=[0.1, 0.45, 0.45], coverage=0.9)

    def sdk() -> None:
        for c in sample:
            gb.set_attributes({"id": c})
            gb.run(exp)

    run_rate = best_rate(sdk, len(sample))
    hash_rate = best_rate(lambda: [gbhash(KEY, c, 2) for c in sample], len(sample))
    print(
        f"  GrowthBook SDK: gb.run() {run_rate:,.0f} ids/s (pilotlift {ours / run_rate:.1f}×),"
        f" bare gbhash {hash_rate:,.0f} ids/s (pilotlift {ours / hash_rate:.1f}×)"
    )


class MemoryWatch:
    """Samples the RSS of a server's processes (master and workers) every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in [self.root, *self.root.children(recursive=True)]:
                with suppress(psutil.NoSuchProcess):
                    self.peak[p.pid] = max(self.peak.get(p.pid, 0), p.memory_info().rss)
            self._stop.wait(0.2)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def largest_mb(self) -> float:
        return max(self.peak.values(), default=0) / 2**20


def post_all(url: str, path: str, bodies: list[bytes], content_type: str, clients: int) -> float:
    """POST every body, ``clients`` threads in parallel; returns the elapsed seconds."""
    errors: list[str] = []

    def worker(part: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=900) as client:
            for body in part:
                r = client.post(path, content=body, headers={"Content-Type": content_type})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(bodies[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return time.perf_counter() - start


def assignment_bodies(ids: list[str]) -> list[bytes]:
    return [
        msgspec.json.encode({"customer_ids": ids[s : s + BATCH]}) for s in range(0, len(ids), BATCH)
    ]


def event_bodies(
    n_customers: int, first: int, count: int, now: datetime, seed: int
) -> Iterator[list[bytes]]:
    """NDJSON bodies of ``count`` events (30 % exposures, the rest orders over the last 20 days
    and the next 12 hours), in chunks of at most 10 bodies so memory stays flat."""
    rng = np.random.default_rng(seed)
    stamp = [(now + timedelta(minutes=m)).isoformat() for m in range(-20 * 1440, 720, 7)]
    rule = AssignmentRule(KEY, 0.1, ("a", "b"), (1.0, 1.0))
    for start in range(0, count, 10 * BATCH):
        size = min(10 * BATCH, count - start)
        who = rng.integers(0, n_customers, size=size).tolist()
        when = rng.integers(0, len(stamp), size=size).tolist()
        kind = (rng.random(size) < 0.3).tolist()
        customers = [f"customer-{c:08d}" for c in who]
        groups = rule.group_codes(customers)
        lines = []
        for i in range(size):
            eid = first + start + i
            if kind[i] and groups[i] > 0:  # exposures go to variant customers
                lines.append(
                    f'{{"id":"x{eid}","type":"exposure","customer_id":"{customers[i]}",'
                    f'"experiment":"{KEY}","ts":"{stamp[-1 - when[i] % 50]}"}}'
                )
            else:
                lines.append(
                    f'{{"id":"o{eid}","type":"conversion","customer_id":"{customers[i]}",'
                    f'"event":"order","ts":"{stamp[when[i]]}","value":{30 + who[i] % 40}}}'
                )
        yield ["\n".join(lines[s : s + BATCH]).encode() for s in range(0, size, BATCH)]


def single_customer(url: str, prefix: str, seconds: int = 10, connections: int = 16) -> str:
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        return "wrk not installed (apt-get install wrk)"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'PREFIX = "{prefix}"\n' + WRK_SCRIPT)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = f", {errors.group(1)} non-2xx" if errors else ""
    return f"{rps:,.0f} requests/s, p99 {p99} ({connections} connections{bad})"


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield str(Path(tmp) / "bench.db")
    else:
        from tests.pg import throwaway_database

        with throwaway_database() as url:
            yield url


def results_latency(url: str, as_of: str) -> str:
    times = []
    with httpx.Client(base_url=url, timeout=900) as client:
        for _ in range(3):
            start = time.perf_counter()
            r = client.get(f"/v1/experiments/{KEY}/results", params={"as_of": as_of})
            r.raise_for_status()
            times.append(time.perf_counter() - start)
    customers = sum(a["customers"] for a in r.json()["arms"])
    median, best = statistics.median(times), min(times)
    return f"median {median:.2f} s, best {best:.2f} s ({customers:,} customers)"


def memory_run(backend: str, n: int, n_events: int) -> None:
    """One worker assigns ``n`` customers and ingests ``n_events``; the service's memory is
    sampled throughout (the issue's "memory while ingesting 10,000,000 events")."""
    now = datetime.now(UTC)
    with database(backend) as db:
        server = ServerProcess(db)  # type: ignore[arg-type]
        server.start()
        try:
            httpx.post(f"{server.url}/v1/experiments", json=PILOT).raise_for_status()
            httpx.post(f"{server.url}/v1/experiments/{KEY}/start").raise_for_status()
            bodies = assignment_bodies([f"customer-{i:08d}" for i in range(n)])
            path = f"/v1/experiments/{KEY}/assignments"
            post_all(server.url, path, bodies, "application/json", 1)
            elapsed = 0.0
            with MemoryWatch(server.process.pid) as memory:  # type: ignore[union-attr]
                for chunk in event_bodies(n, 0, n_events, now, seed=3):
                    elapsed += post_all(server.url, "/v1/events", chunk, "application/x-ndjson", 1)
            print(f"[{backend}, 1 worker] ingesting {n_events:,} events ({n:,} customers):"
                  f" {n_events / elapsed:,.0f} events/s; largest service process"
                  f" {memory.largest_mb():.0f} MB RSS")  # fmt: skip
        finally:
            server.stop()


def run_backend(backend: str, n: int, n_events: int) -> None:
    """Half the customers and events through one worker, half through two, then results."""
    now = datetime.now(UTC)
    with database(backend) as db:
        for workers in (1, 2):
            server = ServerProcess(db, workers=workers)  # type: ignore[arg-type]
            server.start()
            label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
            try:
                if workers == 1:
                    httpx.post(f"{server.url}/v1/experiments", json=PILOT).raise_for_status()
                    httpx.post(f"{server.url}/v1/experiments/{KEY}/start").raise_for_status()
                half = range(0, n // 2) if workers == 1 else range(n // 2, n)
                bodies = assignment_bodies([f"customer-{i:08d}" for i in half])
                path = f"/v1/experiments/{KEY}/assignments"
                elapsed = post_all(server.url, path, bodies, "application/json", workers)
                rate = len(half) / elapsed
                print(f"[{label}] HTTP batch assignment with recording: {rate:,.0f} ids/s"
                      f" ({len(half):,} new customers)")  # fmt: skip
                print(f"[{label}] single-customer assignment:"
                      f" {single_customer(server.url, f'{backend}{workers}')}")  # fmt: skip
                first = 0 if workers == 1 else n_events // 2
                count = n_events // 2 if workers == 1 else n_events - n_events // 2
                elapsed = 0.0
                with MemoryWatch(server.process.pid) as memory:  # type: ignore[union-attr]
                    for chunk in event_bodies(n, first, count, now, seed=workers):
                        elapsed += post_all(
                            server.url, "/v1/events", chunk, "application/x-ndjson", workers
                        )
                print(f"[{label}] NDJSON ingestion: {count / elapsed:,.0f} events/s"
                      f" ({count:,} events); largest service process"
                      f" {memory.largest_mb():.0f} MB RSS")  # fmt: skip
                if workers == 2:
                    as_of = (now + timedelta(days=1)).isoformat()
                    print(f"[{label}] results, {n:,} customers / {n_events:,} events:"
                          f" {results_latency(server.url, as_of)}")  # fmt: skip
            finally:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--big", action="store_true", help="also 10M customers / 30M events (PostgreSQL)"
    )
    parser.add_argument(
        "--memory-events",
        type=int,
        default=0,
        help="only: one worker per backend ingests this many events; rate and peak RSS",
    )
    args = parser.parse_args()
    if args.memory_events:
        for backend in args.backends.split(","):
            memory_run(backend, args.customers, args.memory_events)
        return
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {psutil.cpu_count()} cores, python {sys.version.split()[0]}"
    )
    in_process()
    for backend in args.backends.split(","):
        run_backend(backend, args.customers, args.events)
    if args.big:
        run_backend("postgresql", 10_000_000, 30_000_000)


if __name__ == "__main__":
    main()
