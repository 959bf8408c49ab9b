"""Several service processes assign the same new customers at the same moment: each customer
ends with exactly one recorded group and one ``assigned_at``, the same from every process —
on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from service.testing import ServerProcess

CUSTOMERS = 10_000
KEY = "race"


def test_racing_processes_record_each_customer_once(database_url: str) -> None:
    database: Path | str = Path(database_url) if "://" not in database_url else database_url
    servers = [ServerProcess(database, workers=2) for _ in range(2)]
    servers[0].start()
    servers[1].start()
    try:
        body = {"key": KEY, "name": "race", "channel": "sms", "holdout_share": 0.3,
                "variants": [{"key": "a"}, {"key": "b"}], "min_lift": 0.05}  # fmt: skip
        httpx.post(f"{servers[0].url}/v1/experiments", json=body).raise_for_status()
        httpx.post(f"{servers[0].url}/v1/experiments/{KEY}/start").raise_for_status()
        ids = [f"r{i}" for i in range(CUSTOMERS)]
        answers: list[dict[str, str]] = []
        barrier = threading.Barrier(6)

        def tool(url: str, order: list[str]) -> None:
            barrier.wait()
            r = httpx.post(f"{url}/v1/experiments/{KEY}/assignments",
                           json={"customer_ids": order}, timeout=120)  # fmt: skip
            r.raise_for_status()
            answers.append({a["customer_id"]: a["group"] for a in r.json()["assignments"]})

        threads = [
            threading.Thread(target=tool, args=(s.url, ids if k % 2 else ids[::-1]))
            for s in servers
            for k in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 6 and all(a == answers[0] for a in answers)
        sample = ids[:: CUSTOMERS // 200]
        seen = [
            {c: httpx.get(f"{s.url}/v1/experiments/{KEY}/assignments/{c}").json() for c in sample}
            for s in servers
        ]
    finally:
        for s in servers:
            s.stop()
    assert seen[0] == seen[1]
    assert all(seen[0][c]["group"] == answers[0][c] for c in sample)
    from service.storage.engine import create_storage_engine

    engine = create_storage_engine(database_url)
    with engine.connect() as conn:
        rows, distinct, times = conn.exec_driver_sql(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id), COUNT(DISTINCT assigned_at)"
            " FROM assignments"
        ).one()
    engine.dispose()
    assert rows == distinct == CUSTOMERS
    assert times >= 1
