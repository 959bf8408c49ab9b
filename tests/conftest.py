"""Shared fixtures: a real ``pilotlift serve`` process on a temporary SQLite file or a
throw-away PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.server import free_port


class ServerProcess:
    """``pilotlift serve`` in a child process; can be stopped and started again."""

    def __init__(
        self, database: Path | str, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.database = database
        self.workers = workers
        self.extra_env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a busy server writes a log line per request and must never
        # block on a full pipe nobody reads.
        if isinstance(database, Path):
            self.log_path = database.with_suffix(f".{self.port}.log")
        else:  # a PostgreSQL URL
            self.log_path = Path(tempfile.gettempdir()) / f"pilotlift-server-{self.port}.log"

    def start(self) -> None:
        env = dict(os.environ, PILOTLIFT_DATABASE_URL=str(self.database), **self.extra_env)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self._log_file(),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_text()}")
            try:
                ready = httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                ready = False
            # Several workers: wait for all, or the first would take every early connection.
            if ready and (self.workers == 1 or "workers are ready" in self.log_text()):
                return
            time.sleep(0.1)
        raise RuntimeError("server did not become ready in 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._log.close()
        self.process = None

    def _log_file(self) -> Any:
        self._log = self.log_path.open("ab")
        return self._log

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self._log.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | str]:
    """A SQLite file or a throw-away PostgreSQL database shared by one test module: the
    end-to-end suites run once on each backend."""
    if request.param == "sqlite":
        yield tmp_path_factory.mktemp("db") / "pilotlift.db"
        return
    from tests.pg import throwaway_database

    with throwaway_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(module_database: Path | str) -> Iterator[ServerProcess]:
    proc = ServerProcess(module_database)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a SQLite file and on a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "pilotlift.db")
        return
    from tests.pg import throwaway_database

    with throwaway_database() as url:
        yield url
