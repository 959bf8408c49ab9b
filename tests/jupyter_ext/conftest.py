"""A real ``pilotlift serve`` process with five pilots (see ``tests/service/report_data``),
shared by the notebook-side tests; once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.testing import ServerProcess
from tests.service.report_data import ReportData, build


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def pilot_data(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReportData]:
    """The notebook side runs against a service on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield build(tmp_path_factory.mktemp("jupyter") / "p.db")
        return
    from service.testing import throwaway_database

    with throwaway_database() as url:
        yield build(url)


@pytest.fixture(scope="session")
def service_url(pilot_data: ReportData) -> Iterator[str]:
    proc = ServerProcess(pilot_data.database)
    proc.start()
    yield proc.url
    proc.stop()
