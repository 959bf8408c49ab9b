"""The weekly review's channel table in JSON, Markdown and HTML (in headless Chromium), on
SQLite and PostgreSQL: two channels with standing holdouts over the last two ISO weeks, SMS
cheap with a strong effect and e-mail expensive with almost none, so the review recommends
moving budget from e-mail to SMS by SMS's full 6 % step (the smaller side), keeping total spend.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from playwright.sync_api import sync_playwright

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.testing import ServerProcess
from service.timeutil import last_complete_week, parse_iso_week, shift_week

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
N = 20_000
EFFECT = {"sms": 1.4, "email": 1.02}  # multiplier of the purchase probability when eligible
SPEND = {"sms": 5_000.0, "email": 40_000.0}


@dataclass(frozen=True)
class Data:
    database: Path | str
    week: str
    end: datetime


def build(database: Path | str) -> Data:
    week = last_complete_week(datetime.now(UTC))
    monday, _ = parse_iso_week(shift_week(week, -1))
    _, end = parse_iso_week(week)
    clock = SimulatedClock(monday + timedelta(hours=9))
    rng = np.random.default_rng(7)
    ids = [f"c{i:05d}" for i in range(N)]
    with TestClient(create_app(Settings(database_url=str(database), clock=clock))) as api:
        multiplier = np.ones(N)
        for key in EFFECT:
            body = {"key": key, "name": key.upper(), "holdout_share": 0.1, "period_days": 14}
            assert api.post("/v1/channels", json=body).status_code == 201
            assert api.post(f"/v1/channels/{key}/start").status_code == 200
            answer = api.post(f"/v1/channels/{key}/eligibility", json={"customer_ids": ids})
            eligible = np.array([c["group"] == "eligible" for c in answer.json()["customers"]])
            multiplier *= np.where(eligible, EFFECT[key], 1.0)
            rows = [{"id": f"{key}-media", "date": monday.date().isoformat(),
                     "amount": SPEND[key], "kind": "media"}]  # fmt: skip
            assert api.post(f"/v1/channels/{key}/costs", json={"rows": rows}).status_code == 200
        buyers = np.flatnonzero(rng.random(N) < 0.12 * multiplier)
        hours = rng.uniform(1, 13 * 24, len(buyers))
        values = np.round(rng.lognormal(3.6, 0.5, len(buyers)), 2)
        clock.set(end - timedelta(minutes=1))
        events = [{"id": f"o{i}", "type": "conversion", "customer_id": ids[i],
                   "ts": (monday + timedelta(hours=9 + h)).isoformat(), "value": float(v)}
                  for i, h, v in zip(buyers.tolist(), hours, values)]  # fmt: skip
        assert api.post("/v1/events", json={"events": events}).status_code == 200
    return Data(database, week, end)


@pytest.fixture(scope="module")
def data(module_database: Path | str) -> Data:
    return build(module_database)


@pytest.fixture(scope="module")
def api(data: Data) -> Iterator[TestClient[Any]]:
    settings = Settings(database_url=str(data.database), clock=SimulatedClock(data.end))
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def review(api: TestClient[Any], data: Data) -> dict[str, Any]:
    r = api.get("/v1/reports/weekly", params={"week": data.week})
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _band(ci: list[float] | None, fmt: str) -> str:
    return "" if ci is None else f" [{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


def expected_cells(row: dict[str, Any]) -> list[str]:
    """The table's cells written out from the JSON row, independently of the renderer."""
    cpc = row["cost_per_incremental_conversion"]
    change = "hold" if row["direction"] == "hold" else (
        f"{row['change']:+,.0f} ({row['change_relative']:+.1%})")  # fmt: skip
    return [
        row["key"], str(row["period"]), f"{row['spend']:,.0f}",
        f"{row['incremental_revenue']:,.0f}" + _band(row["incremental_revenue_ci"], ",.0f"),
        f"{row['incremental_profit']:,.0f}" + _band(row["incremental_profit_ci"], ",.0f"),
        f"{row['roi']:+.2f}" + _band(row["roi_ci"], "+.2f"),
        "n/a" if cpc is None else f"{cpc:,.2f}" + _band(
            row["cost_per_incremental_conversion_ci"], ",.2f"),
        change,
    ]  # fmt: skip


def test_json_channel_table_and_recommendation(
    review: dict[str, Any], api: TestClient[Any], data: Data
) -> None:
    rows = {c["key"]: c for c in review["channels"]}
    assert list(rows) == ["sms", "email"]
    for key, row in rows.items():
        results = api.get(f"/v1/channels/{key}/results",
                          params={"as_of": data.end.isoformat()}).json()  # fmt: skip
        assert row["period"] == results["period"] == 1
        assert row["spend"] == results["cost"] == SPEND[key]
        for name in ("incremental_revenue_ci", "incremental_profit", "incremental_profit_ci",
                     "roi", "roi_ci", "cost_per_incremental_conversion"):  # fmt: skip
            assert row[name] == pytest.approx(results[name]), name
        assert row["customers"] == {a["group"]: a["customers"] for a in results["arms"]}
    sms, email = rows["sms"], rows["email"]
    assert sms["roi_ci"][0] > email["roi_ci"][1]  # SMS pays, e-mail does not
    assert sms["cost_per_incremental_conversion"] is not None
    # SMS can take at most 6 % of its 5,000 (the smaller side); e-mail gives that much.
    assert sms["direction"] == "increase" and sms["change"] == pytest.approx(300.0)
    assert sms["change_relative"] == pytest.approx(0.06)
    assert email["direction"] == "decrease" and email["change"] == pytest.approx(-300.0)
    budget = review["budget"]
    assert budget["status"] == "shift" and budget["moved"] == pytest.approx(300.0)
    assert budget["summary"].startswith("Move 300.00 (0.7% of total spend) from email to sms")


def test_markdown_channel_table(api: TestClient[Any], data: Data, review: dict[str, Any]) -> None:
    md = api.get("/v1/reports/weekly", params={"week": data.week},
                 headers={"Accept": "text/markdown"}).text  # fmt: skip
    assert "## Channels: incremental profit and where the budget should go" in md
    for row in review["channels"]:
        assert "| " + " | ".join(expected_cells(row)) + " |" in md
        assert f"- {row['key']}: {row['reason']}" in md
    assert f"**Budget:** {review['budget']['summary']}" in md


def test_html_channel_table_in_chromium(data: Data, review: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    server = ServerProcess(data.database)
    server.start()
    errors: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(f"{server.url}/v1/reports/weekly?week={data.week}&format=html")
            assert response is not None and response.status == 200
            for row in review["channels"]:
                cells = page.locator(f"#channel-{row['key']} td").all_inner_texts()
                assert cells == expected_cells(row)
            assert page.locator("#channels .budget").inner_text() == review["budget"]["summary"]
            assert page.locator("#channels th").count() == 8
            page.locator("#channels").screenshot(path=str(ARTIFACTS / "weekly-channels.png"))
            browser.close()
    finally:
        server.stop()
    assert errors == []
