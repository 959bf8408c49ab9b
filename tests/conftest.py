"""Shared fixtures: a real ``pilotlift serve`` process on a temporary SQLite file or a
throw-away PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.testing import ServerProcess, throwaway_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | str]:
    """A SQLite file or a throw-away PostgreSQL database shared by one test module: the
    end-to-end suites run once on each backend."""
    if request.param == "sqlite":
        yield tmp_path_factory.mktemp("db") / "pilotlift.db"
        return
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
    with throwaway_database() as url:
        yield url
