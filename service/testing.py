"""Helpers that the tests and the benchmarks share: a real ``pilotlift serve`` in a child
process, and throw-away PostgreSQL databases on the machine's server.

They live in the package (not under ``tests/``) so that benchmarks import them without path
hacks. Nothing in the service imports this module.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from service.runtime.server import free_port

__all__ = ["ADMIN_URL", "ServerProcess", "local_service", "run_example", "throwaway_database"]


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


ADMIN_URL = os.environ.get("PILOTLIFT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty database for one test (module); dropped afterwards, connections and all."""
    name = f"pilotlift_test_{secrets.token_hex(5)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def local_service(
    database_name: str = "pilotlift.db",
    *,
    database_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[str]:
    """An in-process service on ``database_url``, by default a temporary SQLite file (the
    examples run against it when no server is given), with an optional fixed ``clock``;
    yields its base URL."""
    from service.app import create_app
    from service.runtime.server import ThreadedServer
    from service.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"{tmp}/{database_name}"
        settings = Settings(database_url=url)
        if clock is not None:
            settings = dataclasses.replace(settings, clock=clock)
        app = create_app(settings)
        server = ThreadedServer(app, "127.0.0.1", free_port())
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


def run_example(
    description: str,
    database_name: str,
    work: Callable[[httpx.Client], str],
    *,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """The command line of every example: ``--url`` of a running service, or a service of its
    own (:func:`local_service`); prints what ``work`` returns."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", help="a running pilotlift service (default: start one)")
    args = parser.parse_args()
    if args.url:
        with httpx.Client(base_url=args.url, timeout=300) as client:
            print(work(client))
        return
    with (
        local_service(database_name, clock=clock) as url,
        httpx.Client(base_url=url, timeout=300) as client,
    ):
        print(work(client))
