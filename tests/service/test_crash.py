"""Crash safety: a campaign tool streams assignment and event batches with retries while the
server is killed with SIGKILL and restarted, again and again, on SQLite and on PostgreSQL.
After every kill the database holds every acknowledged batch in full and no batch in part; at
the end every event is stored exactly once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from service.storage.engine import create_storage_engine
from service.testing import ServerProcess

BATCHES = 60
EVENTS_PER_BATCH = 1500
IDS_PER_BATCH = 1500
KILLS = 5
KEY = "crash"


def _post_until_acknowledged(server: ServerProcess, path: str, **kwargs: object) -> dict[str, int]:
    while True:
        try:
            r = httpx.post(f"{server.url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
            assert r.status_code >= 500 or r.status_code == 503, r.text  # never a 4xx here
        except httpx.TransportError:
            pass
        time.sleep(0.05)


def _per_batch(db: str, table: str, column: str) -> dict[int, int]:
    """Stored rows per batch (ids are ``{batch}-{i}``). A fresh engine opens the database like
    a restarted server would (on SQLite that recovers the WAL)."""
    engine = create_storage_engine(db)
    try:
        with engine.connect() as conn:
            ids = conn.exec_driver_sql(f"SELECT {column} FROM {table}").scalars().all()
    finally:
        engine.dispose()
    return dict(Counter(int(i.split("-", 1)[0]) for i in ids))


def _count(db: str, sql: str) -> tuple[int, ...]:
    engine = create_storage_engine(db)
    try:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(sql).one())
    finally:
        engine.dispose()


def test_kill_dash_nine_loses_nothing_acknowledged(database_url: str) -> None:
    db = database_url
    server = ServerProcess(db)
    server.start()
    body = {
        "key": KEY,
        "name": "crash",
        "channel": "sms",
        "holdout_share": 0.5,
        "variants": [{"key": "a"}],
        "min_lift": 0.05,
    }
    httpx.post(f"{server.url}/v1/experiments", json=body).raise_for_status()
    httpx.post(f"{server.url}/v1/experiments/{KEY}/start").raise_for_status()

    acked_assignments: set[int] = set()
    acked_events: set[int] = set()
    done = threading.Event()
    ts = datetime.now(UTC).isoformat()

    def campaign_tool() -> None:
        for b in range(BATCHES):
            ids = [f"{b}-{i}" for i in range(IDS_PER_BATCH)]
            _post_until_acknowledged(
                server, f"/v1/experiments/{KEY}/assignments", json={"customer_ids": ids}
            )
            acked_assignments.add(b)
            lines = "\n".join(
                f'{{"id":"{b}-{i}","type":"conversion","customer_id":"{b}-{i}",'
                f'"event":"order","ts":"{ts}","value":1}}'
                for i in range(EVENTS_PER_BATCH)
            )
            _post_until_acknowledged(
                server,
                "/v1/events",
                content=lines.encode(),
                headers={"Content-Type": "application/x-ndjson"},
            )
            acked_events.add(b)
        done.set()

    tool = threading.Thread(target=campaign_tool, daemon=True)
    tool.start()
    rng = random.Random(9)
    kills = 0
    try:
        while kills < KILLS and not done.is_set():
            time.sleep(rng.uniform(0.3, 1.0))
            server.kill()
            kills += 1
            # While the server is down: everything acknowledged is there, nothing half-written.
            events = _per_batch(db, "conversions", "id")
            assigned = _per_batch(db, "assignments", "customer_id")
            assert all(n == EVENTS_PER_BATCH for n in events.values()), events
            assert all(n == IDS_PER_BATCH for n in assigned.values()), assigned
            assert acked_events <= set(events) and acked_assignments <= set(assigned)
            server.start()
        tool.join(timeout=300)
    finally:
        server.stop()
    assert done.is_set() and kills == KILLS
    stored = _count(db, "SELECT COUNT(*), COUNT(DISTINCT id) FROM conversions")
    (recorded,) = _count(db, "SELECT COUNT(*) FROM assignments")
    assert stored == (BATCHES * EVENTS_PER_BATCH, BATCHES * EVENTS_PER_BATCH)
    assert recorded == BATCHES * IDS_PER_BATCH
    print(
        f"kills survived {kills}; events checked {stored[0]:,}; assignments checked"
        f" {recorded:,}; losses 0"
    )


def test_sigterm_lets_the_in_flight_batch_finish(database_url: str) -> None:
    """Graceful shutdown: a batch being stored when SIGTERM arrives is stored and answered."""
    db = database_url
    server = ServerProcess(db)
    server.start()
    ts = datetime.now(UTC).isoformat()
    n = 100_000
    body = "\n".join(
        f'{{"id":"t{i}","type":"conversion","customer_id":"c{i}","ts":"{ts}"}}' for i in range(n)
    ).encode()
    answer: dict[str, object] = {}

    def send() -> None:
        r = httpx.post(f"{server.url}/v1/events", content=body, timeout=120,
                       headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
        answer.update(status=r.status_code, body=r.json())

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.4)  # the batch is uploaded and being decoded or written
    assert server.process is not None
    server.process.terminate()
    sender.join(timeout=120)
    server.process.wait(timeout=60)
    assert answer == {"status": 200, "body": {"accepted": n, "duplicates": 0}}
    assert _count(db, "SELECT COUNT(*) FROM conversions") == (n,)
