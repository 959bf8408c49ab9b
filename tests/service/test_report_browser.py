"""The weekly review served by a real ``pilotlift serve`` process: the HTML page in headless
Chromium (no console errors, charts drawn with a size), and the schedule publishing exactly once
while several service processes race for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from service.testing import ServerProcess
from tests.service.report_data import ReportData, build

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def data(module_database: Path | str) -> ReportData:
    """Five pilots on SQLite and on PostgreSQL (the schedule's once-only lock differs)."""
    return build(module_database)


@pytest.fixture(scope="module")
def server(data: ReportData) -> Iterator[ServerProcess]:
    proc = ServerProcess(data.database)
    proc.start()
    yield proc
    proc.stop()


def test_html_review_renders_in_chromium(server: ServerProcess, data: ReportData) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(f"{server.url}/v1/reports/weekly?week={data.week2}",
                             wait_until="load")  # fmt: skip
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")  # by Accept
        assert page.title() == f"Weekly scale/stop review {data.week2}"
        charts = page.locator(".chart svg")
        assert charts.count() == 6
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, box
        assert page.locator("#pilot-winner h2 .action").inner_text() == "SCALE"
        assert page.locator("#pilot-skewed h2 .action").inner_text() == "CHECK_DATA"
        # Each variant's own call is on the page beside the pilot's.
        assert page.locator("#pilot-winner .variant-decisions .action").inner_text() == "SCALE"
        page.screenshot(path=str(ARTIFACTS / "weekly-review.png"), full_page=True)
        browser.close()
    assert errors == []
    assert (ARTIFACTS / "weekly-review.png").stat().st_size > 10_000


def test_schedule_publishes_once_across_processes(data: ReportData) -> None:
    env = {"PILOTLIFT_REPORT_SCHEDULE": "mon 00:00", "PILOTLIFT_REPORT_POLL_SECONDS": "0.2"}
    servers = [ServerProcess(data.database, workers=2, env=env) for _ in range(2)]
    try:
        for s in servers:
            s.start()
        deadline = time.monotonic() + 90
        reports: list[dict[str, object]] = []
        while time.monotonic() < deadline and not reports:
            reports = httpx.get(f"{servers[0].url}/v1/reports").json()["reports"]
            time.sleep(0.3)
        time.sleep(3)  # every process has ticked many more times by now
        reports = httpx.get(f"{servers[1].url}/v1/reports").json()["reports"]
        log = httpx.get(f"{servers[1].url}/v1/experiments/winner/decisions").json()["decisions"]
    finally:
        for s in servers:
            s.stop()
    assert [(r["week"], r["published_by"]) for r in reports] == [(data.week2, "schedule")]
    assert [d["week"] for d in log if d["source"] == "weekly_review"] == [data.week2]
