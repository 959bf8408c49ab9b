"""A real ``pilotlift serve`` process with five pilots (see ``tests/service/report_data``),
shared by the notebook-side tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.service.report_data import ReportData, build


@pytest.fixture(scope="session")
def pilot_data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    return build(tmp_path_factory.mktemp("jupyter") / "p.db")


@pytest.fixture(scope="session")
def service_url(pilot_data: ReportData) -> Iterator[str]:
    proc = ServerProcess(pilot_data.database)
    proc.start()
    yield proc.url
    proc.stop()
