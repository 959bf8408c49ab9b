"""Storage faults answer what they are, against real servers.

* PostgreSQL is restarted and then killed (``-m immediate``) while a campaign tool streams
  event batches and retries each on 503 after its ``Retry-After``: the same server process
  answers 503 (never 500) during the outage and normally once PostgreSQL is back, the first
  request after each recovery succeeds, and every acknowledged event is stored exactly once.
* SQLite on a full file system (a small tmpfs; needs root): a batch gets 507 with a sentence and
  stores nothing, ``/ready`` says ``full``, and once space is freed the same batch is accepted.
  The same on PostgreSQL, with the events table moved to a tablespace on such a tmpfs.
* The classification table of :mod:`service.storage.faults`, on real driver errors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine

from service.errors import StorageFull, StorageUnavailable
from service.storage.engine import create_storage_engine
from service.storage.faults import Fault, diagnose, probe, storage_error
from service.testing import ADMIN_URL, ServerProcess, throwaway_database

EVENTS_PER_BATCH = 2_000
NDJSON = {"Content-Type": "application/x-ndjson"}


def _batch(prefix: str, n: int = EVENTS_PER_BATCH) -> bytes:
    ts = datetime.now(UTC).isoformat()
    return "\n".join(
        f'{{"id":"{prefix}-{i}","type":"conversion","customer_id":"c{i}","event":"order",'
        f'"ts":"{ts}","value":1}}'
        for i in range(n)
    ).encode()


def _stored(db: str | Path) -> tuple[int, int, dict[str, int]]:
    """(rows, distinct ids, rows per batch prefix) of the conversions table, read by a fresh
    engine as a restarted server would."""
    engine = create_storage_engine(str(db))
    try:
        with engine.connect() as conn:
            ids = conn.exec_driver_sql("SELECT id FROM conversions").scalars().all()
    finally:
        engine.dispose()
    return len(ids), len(set(ids)), dict(Counter(i.rsplit("-", 1)[0] for i in ids))


# --- PostgreSQL restarted and killed under a stream of batches ------------------------------


def _cluster() -> list[str]:
    """The pg_ctlcluster command of the local cluster the tests use, or skip."""
    address = urlsplit(ADMIN_URL)
    if address.hostname not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip(f"PILOTLIFT_TEST_PG is on {address.hostname}: this test restarts a local one")
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        pytest.skip("no pg_ctlcluster: this test restarts the machine's PostgreSQL cluster")
    if os.geteuid() != 0:
        pytest.skip("restarting the PostgreSQL cluster needs root")
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    port = str(address.port or 5432)
    for version, name, cluster_port, *_ in (line.split() for line in listed.splitlines()):
        if cluster_port == port:
            return ["pg_ctlcluster", "--skip-systemctl-redirect", version, name]
    pytest.skip(f"no local cluster listens on port {port}")


def _pg(cluster: list[str], *action: str) -> float:
    started = time.monotonic()
    subprocess.run([*cluster, *action], check=True, capture_output=True, timeout=90)
    return time.monotonic() - started


def _accepts(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def _wait_for_postgres(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _accepts(url):
        if time.monotonic() > deadline:
            raise AssertionError(f"PostgreSQL did not accept connections within {timeout} s")
        time.sleep(0.1)


@dataclass
class CampaignTool:
    """Posts batches of unique ids one after another; each is resent until acknowledged,
    after the ``Retry-After`` of a 503. Records every answer with the time it was sent."""

    url: str
    acked: int = 0
    answers: list[tuple[float, float, int]] = field(default_factory=list)  # sent, answered
    unexpected: list[tuple[int, str]] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    retry_after: list[str | None] = field(default_factory=list)
    details: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)
    acked_event: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            batch = 0
            while not self.stop.is_set():
                body = _batch(f"b{batch}")
                while True:
                    sent = time.monotonic()
                    try:
                        r = client.post("/v1/events", content=body, headers=NDJSON)
                    except httpx.TransportError as exc:  # the server itself must stay up
                        self.transport_errors.append(repr(exc))
                        time.sleep(0.5)
                        continue
                    self.answers.append((sent, time.monotonic(), r.status_code))
                    if r.status_code == 200:
                        break
                    if r.status_code == 503:
                        self.retry_after.append(r.headers.get("retry-after"))
                        self.details.add(r.json()["detail"])
                        time.sleep(float(r.headers.get("retry-after") or 1))
                    else:
                        self.unexpected.append((r.status_code, r.text[:300]))
                        time.sleep(0.5)
                with self.acked_event:
                    self.acked = batch + 1
                    self.acked_event.notify_all()
                batch += 1

    def wait_for(self, acked: int, timeout: float = 60) -> None:
        with self.acked_event:
            if not self.acked_event.wait_for(lambda: self.acked >= acked, timeout=timeout):
                raise AssertionError(
                    f"only {self.acked} batches acknowledged, waited for {acked}; answers since"
                    f" the last: {Counter(s for _, _, s in self.answers[-20:])}"
                )


@dataclass
class Recovery:
    """One outage as the main thread saw it (monotonic times)."""

    name: str
    started: float = 0.0  # the stop (or restart) command
    back_at: float = 0.0  # PostgreSQL accepts connections again
    until: float = float("inf")  # the next outage
    first_status: int = 0  # of the first request after back_at
    first_latency: float = 0.0

    def summary(self, answers: list[tuple[float, float, int]]) -> str:
        refused = sum(1 for _, done, s in answers if s == 503 and self.started <= done)
        refused -= sum(1 for _, done, s in answers if s == 503 and done >= self.until)
        tool_back = min(
            (done for sent, done, s in answers if s == 200 and sent > self.back_at), default=0
        )
        return (
            f"{self.name}: PostgreSQL back after {self.back_at - self.started:.1f} s, {refused}"
            f" batch(es) answered 503, a read right after {self.first_status} in"
            f" {self.first_latency * 1000:.0f} ms, the tool's next batch acknowledged"
            f" {tool_back - self.back_at:.1f} s after"
        )


def _first_request_after(server: ServerProcess, recovery: Recovery, probe_id: str) -> None:
    """The first requests once PostgreSQL accepts again, a read and a write: both answered
    (no stale pooled connection)."""
    recovery.back_at = time.monotonic()
    r = httpx.get(f"{server.url}/v1/experiments", timeout=30)
    recovery.first_latency = time.monotonic() - recovery.back_at
    recovery.first_status = r.status_code
    assert r.status_code == 200, (recovery.name, r.status_code, r.text)
    w = httpx.post(f"{server.url}/v1/events", content=_batch(probe_id, 10), headers=NDJSON,
                   timeout=30)  # fmt: skip
    assert w.status_code == 200 and w.json() == {"accepted": 10, "duplicates": 0}, w.text


def test_postgres_restart_and_crash_answer_503_and_lose_nothing() -> None:
    cluster = _cluster()
    _wait_for_postgres(ADMIN_URL)
    with throwaway_database() as url:
        server = ServerProcess(url)
        tool = CampaignTool(server.url)
        thread = threading.Thread(target=tool.run, daemon=True)
        restart, kill = Recovery("restart (-m fast)"), Recovery("kill (-m immediate)")
        idle = Recovery("restart while idle")
        try:
            server.start()
            assert server.process is not None
            pid = server.process.pid
            thread.start()
            tool.wait_for(3)

            # 1. A fast restart: PostgreSQL terminates every session, then starts again.
            restart.started = time.monotonic()
            _pg(cluster, "restart", "-m", "fast")
            _wait_for_postgres(url)
            _first_request_after(server, restart, "probe-restart")
            tool.wait_for(tool.acked + 3)

            # 2. A crash: every backend killed, no checkpoint; down while the tool retries.
            kill.started = restart.until = time.monotonic()
            _pg(cluster, "stop", "-m", "immediate")
            time.sleep(0.5)
            during = httpx.get(f"{server.url}/v1/experiments", timeout=30)
            ready = httpx.get(f"{server.url}/ready", timeout=30)
            time.sleep(2.5)  # the tool meets the outage too
            _pg(cluster, "start")
            _wait_for_postgres(url)
            _first_request_after(server, kill, "probe-kill")
            tool.wait_for(tool.acked + 3)

            # 3. A restart while nothing is sent: no failed request has flushed the pool, so
            # only the ping before each checkout keeps a dead connection from being lent.
            tool.stop.set()
            thread.join(timeout=90)
            idle.started = kill.until = time.monotonic()
            _pg(cluster, "restart", "-m", "fast")
            _wait_for_postgres(url)
            _first_request_after(server, idle, "probe-idle")
        finally:
            tool.stop.set()
            # Other tests share the cluster: it runs again whatever happened here.
            if not _accepts(ADMIN_URL):
                subprocess.run([*cluster, "start"], capture_output=True, timeout=90)
            _wait_for_postgres(ADMIN_URL)
            if thread.is_alive():
                thread.join(timeout=90)
            alive = server.process is not None and server.process.poll() is None
            same = server.process is not None and server.process.pid == pid
            log = server.log_text()
            server.stop()
        stored, distinct, per_batch = _stored(url)

    assert not thread.is_alive()
    assert alive and same  # the same server process throughout: no restart
    assert "exited with" not in log and '"status": 500' not in log

    # During the outage: 503 with Retry-After and a sentence, for reads and writes; no 500.
    assert during.status_code == 503, during.text
    assert during.headers["retry-after"] == "2"
    assert during.json()["detail"].startswith("The database is unavailable (")
    assert during.json()["detail"].endswith("; retry in 2 s.")  # a read stores nothing
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable", ready.text
    statuses = Counter(status for _, _, status in tool.answers)
    assert tool.unexpected == [] and set(statuses) <= {200, 503}, (tool.unexpected, statuses)
    assert tool.transport_errors == []
    assert statuses[503] >= 1 and set(tool.retry_after) == {"2"}
    assert all(
        d.startswith("The database is unavailable (")
        and d.endswith("; nothing from this request was stored; retry in 2 s.")
        for d in tool.details
    ), tool.details
    # Once PostgreSQL accepted again, no request got a stale pooled connection.
    for r in (restart, kill):
        late = [s for sent, done, s in tool.answers if r.back_at < sent and done < r.until]
        assert late and set(late) == {200}, (r.name, late)

    # Every acknowledged batch stored exactly once, in full; nothing else stored.
    assert stored == distinct
    expected = {f"b{b}": EVENTS_PER_BATCH for b in range(tool.acked)}
    expected |= {"probe-restart": 10, "probe-kill": 10, "probe-idle": 10}
    assert per_batch == expected
    print(
        f"acknowledged {tool.acked} batches ({tool.acked * EVENTS_PER_BATCH:,} events), each"
        f" stored once; answers {dict(statuses)}; "
        + "; ".join(r.summary(tool.answers) for r in (restart, kill))
        + f"; {idle.name}: the first read after it {idle.first_status} in"
        f" {idle.first_latency * 1000:.0f} ms"
    )


# --- SQLite on a full file system -----------------------------------------------------------


@contextlib.contextmanager
def _small_tmpfs(size: str = "8m") -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    where = Path(tempfile.mkdtemp(prefix="pilotlift-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
        with contextlib.suppress(OSError):
            where.rmdir()


def _fill(path: Path) -> int:
    """Write zeros until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = chunk[: len(chunk) // 2]


def test_sqlite_full_disk_answers_507_stores_nothing_and_recovers(tmp_path: Path) -> None:
    with _small_tmpfs() as disk:
        db = disk / "pilotlift.db"
        server = ServerProcess(db)
        server.log_path = tmp_path / "server.log"  # not on the disk about to fill
        try:
            server.start()
            with httpx.Client(base_url=server.url, timeout=60) as client:
                first = client.post("/v1/events", content=_batch("first", 200), headers=NDJSON)
                assert first.status_code == 200, first.text
                before = _stored(db)

                filler = disk / "filler"
                _fill(filler)
                body = _batch("full")
                refused = client.post("/v1/events", content=body, headers=NDJSON)
                ready = client.get("/ready")
                read = client.get("/v1/experiments")  # reads still work
                stored_while_full = _stored(db)

                filler.unlink()
                ready_after = client.get("/ready")
                accepted = client.post("/v1/events", content=body, headers=NDJSON)
            after = _stored(db)
        finally:
            server.stop()

    assert refused.status_code == 507, refused.text
    assert "retry-after" not in refused.headers
    detail = refused.json()["detail"]
    assert refused.json() == {"status_code": 507, "detail": detail, "extra": None}
    assert detail.startswith("The database's disk is full; nothing from this request was stored.")
    assert stored_while_full == before  # nothing of the refused batch, not even part of it
    assert ready.status_code == 507 and ready.json()["status"] == "full", ready.text
    assert read.status_code == 200, read.text
    assert ready_after.status_code == 200 and ready_after.json() == {"status": "ready"}
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"accepted": EVENTS_PER_BATCH, "duplicates": 0}
    assert after[0] == after[1] == before[0] + EVENTS_PER_BATCH
    print(f"507: {detail!r}; /ready while full: {ready.json()}")


def test_postgres_full_disk_answers_507_and_recovers(tmp_path: Path) -> None:
    """The events table on a tablespace on a small tmpfs, filled: SQLSTATE 53100 end to end."""
    _cluster()  # a local cluster, run by root
    with _small_tmpfs() as disk:
        space = disk / "tablespace"
        space.mkdir()
        shutil.chown(space, "postgres", "postgres")
        tablespace = f"pilotlift_full_{secrets.token_hex(4)}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"CREATE TABLESPACE {tablespace} LOCATION '{space}'")
        try:
            with throwaway_database() as url:
                server = ServerProcess(url)
                try:
                    server.start()
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f"ALTER TABLE conversions SET TABLESPACE {tablespace}")
                    with httpx.Client(base_url=server.url, timeout=60) as client:
                        first = client.post("/v1/events", content=_batch("first", 200),
                                            headers=NDJSON)  # fmt: skip
                        assert first.status_code == 200, first.text
                        before = _stored(url)
                        filler = disk / "filler"
                        _fill(filler)
                        body = _batch("full")
                        refused = client.post("/v1/events", content=body, headers=NDJSON)
                        # PostgreSQL's free space is not visible to a client: /ready checks
                        # that it answers and is writable (not a standby), not the disk.
                        ready = client.get("/ready")
                        stored_while_full = _stored(url)
                        filler.unlink()
                        accepted = client.post("/v1/events", content=body, headers=NDJSON)
                    after = _stored(url)
                finally:
                    server.stop()
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"DROP TABLESPACE IF EXISTS {tablespace}")

    assert refused.status_code == 507, refused.text
    assert refused.json()["detail"].startswith("The database's disk is full; nothing from")
    assert stored_while_full == before
    assert ready.status_code == 200
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"accepted": EVENTS_PER_BATCH, "duplicates": 0}
    assert after[0] == after[1] == before[0] + EVENTS_PER_BATCH


# --- the classification table on real driver errors ----------------------------------------


def test_sqlite_errors_classified(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    readonly = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        readonly.execute("INSERT INTO t VALUES (1)")
    assert diagnose(caught.value) is not None
    assert diagnose(caught.value).fault is Fault.READ_ONLY  # type: ignore[union-attr]
    error = storage_error(caught.value, write=True)
    assert isinstance(error, StorageFull) and error.status_code == 507
    assert "cannot be written" in error.detail and "nothing from this request" in error.detail

    # A lock held beyond the busy timeout is not a storage fault: it stays a 500.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0.01)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("INSERT INTO t VALUES (1)")
    assert "locked" in str(locked.value) and diagnose(locked.value) is None
    holder.execute("ROLLBACK")

    missing = create_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    with pytest.raises(Exception) as cannot_open:
        missing.connect()
    assert diagnose(cannot_open.value).fault is Fault.UNAVAILABLE  # type: ignore[union-attr]

    # /ready's check of the file and its file system.
    engine = create_storage_engine(str(tmp_path / "ok.db"))
    assert probe(engine) is None
    engine.dispose()


def test_postgres_errors_classified() -> None:
    with throwaway_database() as url:
        engine = create_storage_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("CREATE TABLE t (x int)")
                conn.commit()
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                with pytest.raises(Exception) as read_only:
                    conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                conn.rollback()
            found = diagnose(read_only.value)
            assert found is not None and found.fault is Fault.READ_ONLY
            assert isinstance(storage_error(read_only.value, write=True), StorageFull)

            # A role allowed no connection: 53300, as when max_connections is reached.
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("DROP ROLE IF EXISTS pilotlift_faults")
                admin.execute("CREATE ROLE pilotlift_faults LOGIN CONNECTION LIMIT 0")
            try:
                limited = create_storage_engine(url.replace("postgres@", "pilotlift_faults@"))
                with pytest.raises(Exception) as too_many:
                    limited.connect()
                limited.dispose()
            finally:
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute("DROP ROLE pilotlift_faults")
            found = diagnose(too_many.value)
            assert found is not None and found.fault is Fault.UNAVAILABLE, too_many.value
            unavailable = storage_error(too_many.value, write=False)
            assert isinstance(unavailable, StorageUnavailable)
            assert unavailable.headers == {"Retry-After": "2"}
            assert unavailable.detail == (
                "The database is unavailable (too many connections); retry in 2 s."
            )

            # Nothing listens: connection refused.
            port = urlsplit(url).port or 5432
            refused = create_storage_engine(url.replace(f":{port}/", ":1/"))
            with pytest.raises(Exception) as nobody:
                refused.connect()
            assert diagnose(nobody.value) is not None
            assert "connection refused" in storage_error(nobody.value, write=True).detail  # type: ignore[union-attr]

            # The pool is exhausted: every connection lent out beyond the timeout.
            small = create_engine(engine.url, pool_size=1, max_overflow=0, pool_timeout=0.05)
            with small.connect(), pytest.raises(Exception) as exhausted:
                small.connect()
            small.dispose()
            found = diagnose(exhausted.value)
            assert found is not None and found.fault is Fault.UNAVAILABLE

            # /ready: writable; read-only when new sessions are (a standby, or as here).
            assert probe(engine) is None
            with psycopg.connect(url, autocommit=True) as admin:
                name = urlsplit(url).path.lstrip("/")
                admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            fresh = create_storage_engine(url)
            found = probe(fresh)
            fresh.dispose()
            assert found is not None and found.fault is Fault.READ_ONLY
        finally:
            engine.dispose()
