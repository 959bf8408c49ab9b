"""The weekly scale/stop review over five pilots in different states, in JSON, Markdown and
HTML; publishing, week-over-week changes, the decision log and the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.settings import Settings
from service.timeutil import parse_iso_week
from tests.service.report_data import ReportData, build


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    return build(tmp_path_factory.mktemp("reports") / "p.db")


@pytest.fixture
def api(data: ReportData) -> Iterator[TestClient[Any]]:
    _, end = parse_iso_week(data.week2)
    settings = Settings(database_url=str(data.database), clock=SimulatedClock(end))
    with TestClient(create_app(settings)) as client:
        yield client


def _by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["key"]: p for p in report["pilots"]}


def test_json_report_decisions_and_numbers(api: TestClient[Any], data: ReportData) -> None:
    r = api.get("/v1/reports/weekly", params={"week": data.week2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    report = r.json()
    pilots = _by_key(report)
    actions = {k: p["decision"]["action"] for k, p in pilots.items()}
    assert actions == {"winner": "scale", "loser": "stop", "unclear": "continue",
                       "skewed": "check_data", "finished": "scale"}  # fmt: skip
    assert report["summary"]["actions"] == {"scale": 2, "stop": 1, "continue": 1, "check_data": 1}
    assert report["summary"]["pilots"] == 5
    # Key numbers agree with the results endpoint as of the week's end.
    _, end = parse_iso_week(data.week2)
    results = api.get("/v1/experiments/winner/results",
                      params={"as_of": end.isoformat(), "method": "sequential"}).json()  # fmt: skip
    winner = pilots["winner"]
    orders = next(c for c in results["comparisons"] if c["metric"] == "orders")
    assert winner["primary"][0]["relative_ci"] == pytest.approx(orders["relative_ci"])
    assert winner["revenue"]["incremental_revenue"] == pytest.approx(
        results["revenue"]["incremental_revenue"]
    )
    assert winner["customers"]["holdout"] + winner["customers"]["sms"] == 14 * 800
    assert [g["metric"] for g in winner["guardrails"]] == ["unsubscribes"]
    total = sum(p["revenue"]["incremental_revenue"] or 0 for p in report["pilots"])
    assert report["summary"]["incremental_revenue"] == pytest.approx(total)
    assert report["summary"]["cost"] == pytest.approx(
        sum(p["revenue"]["cost"] for p in report["pilots"])
    )
    # States: SRM flagged, the concluded pilot carries its final call.
    assert (
        not pilots["skewed"]["srm"]["ok"]
        and "Sample ratio mismatch" in pilots["skewed"]["warnings"][0]
    )
    assert pilots["finished"]["status"] == "concluded"
    assert pilots["finished"]["final_decision"] == "scale"
    assert pilots["finished"]["final_note"] == "Roll out to all regions."
    assert pilots["unclear"]["decision"]["needed_customers"] > 0
    assert len(winner["timeseries"]) >= 14  # daily points up to the week's end


def test_markdown_and_html_carry_the_same_decisions(api: TestClient[Any], data: ReportData) -> None:
    md = api.get("/v1/reports/weekly", params={"week": data.week2},
                 headers={"Accept": "text/markdown"})  # fmt: skip
    assert md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert f"# Weekly scale/stop review — {data.week2}" in text
    assert "**5 pilot(s): 2 to scale, 1 to stop, 1 to continue, 1 to check.**" in text
    for key, action in [("winner", "SCALE"), ("loser", "STOP"), ("unclear", "CONTINUE"),
                        ("skewed", "CHECK_DATA"), ("finished", "SCALE")]:  # fmt: skip
        assert re.search(rf"^## .*\(`{key}`\) — \*\*{action}\*\*$", text, flags=re.M), key
    assert "**Concluded: scale.** Roll out to all regions." in text
    # Key numbers: the JSON report's figures, formatted, appear in both renderings.
    report = api.get("/v1/reports/weekly", params={"week": data.week2}).json()
    winner = _by_key(report)["winner"]
    orders = winner["primary"][0]
    lo, hi = orders["relative_ci"]
    lift_text = f"{orders['relative_lift']:+.1%} | [{lo:+.1%}, {hi:+.1%}]"
    conversions = f"{orders['incremental_conversions']:+,.0f}"
    revenue = f"Incremental revenue {winner['revenue']['incremental_revenue']:,.0f}"
    assert lift_text in text and conversions in text and revenue in text
    html = api.get("/v1/reports/weekly", params={"week": data.week2, "format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    page = html.text
    assert page.count('class="action scale">SCALE') >= 3  # summary badge + two pilots
    assert 'id="pilot-skewed"' in page and "Sample ratio mismatch" in page
    assert page.count("<svg") == 1 + 5  # the forest plot and one cumulative chart per pilot
    # Self-contained: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page
    assert f"{orders['relative_lift']:+.1%}" in page and conversions in page and revenue in page


def test_publish_is_immutable_and_next_week_shows_changes(
    api: TestClient[Any], data: ReportData
) -> None:
    first = api.post("/v1/reports", json={"week": data.week1})
    assert first.status_code == 201 and first.json()["published_by"] == "api"
    week1 = _by_key(first.json()["report"])
    assert week1["winner"]["decision"]["action"] == "continue"  # not yet 7 days
    # Too early to call stops as well as scales; the reason says so.
    assert week1["loser"]["decision"]["action"] == "continue"
    assert any("Too early to call" in r for r in week1["loser"]["decision"]["reasons"])
    # The look is recorded: 6.6 of 14 planned days is the information fraction of week 1.
    assert 0.4 < week1["winner"]["information_fraction"] < 0.55
    again = api.post("/v1/reports", json={"week": data.week1})
    assert again.status_code == 409 and "immutable" in again.json()["detail"]
    assert [r["week"] for r in api.get("/v1/reports").json()["reports"]] == [data.week1]
    # The published snapshot is served exactly as stored, in every format.
    stored = api.get(f"/v1/reports/{data.week1}").json()
    assert stored["report"] == first.json()["report"]
    assert "<svg" in api.get(f"/v1/reports/{data.week1}", params={"format": "html"}).text

    # The published review is a look of the group-sequential test from now on.
    _, end2 = parse_iso_week(data.week2)
    later = api.get("/v1/experiments/winner/results", params={"as_of": end2.isoformat()}).json()
    assert later["looks"] == [pytest.approx(week1["winner"]["information_fraction"])]

    nxt = api.get("/v1/reports/weekly", params={"week": data.week2}).json()
    assert nxt["compared_with"] == f"{data.week1} (published)"
    winner = _by_key(nxt)["winner"]
    assert winner["previous_action"] == "continue"
    assert winner["changes"][0] == "Decision changed: continue → scale."
    pattern = r"^sms: lift [+-]\d+\.\d% \(was [+-]\d+\.\d%\), interval width .* narrower\)\.$"
    assert re.search(pattern, winner["changes"][1])
    assert _by_key(nxt)["loser"]["changes"][0] == "Decision changed: continue → stop."
    log = api.get("/v1/experiments/finished/decisions").json()["decisions"]
    # In recording order: concluded during week 2, then week 1's review published afterwards.
    assert [(d["source"], d["week"]) for d in log] == [
        ("conclusion", None), ("weekly_review", data.week1)
    ]  # fmt: skip
    assert log[0]["action"] == "scale" and log[0]["note"] == "Roll out to all regions."


def test_bad_week_and_unknown_snapshot(api: TestClient[Any]) -> None:
    r = api.get("/v1/reports/weekly", params={"week": "2026-47"})
    assert r.status_code == 422 and "2026-W47" in r.json()["detail"]
    assert api.get("/v1/reports/weekly", params={"week": "2026-W60"}).status_code == 422
    assert api.get("/v1/reports/weekly", params={"format": "pdf"}).status_code == 422
    assert api.get("/v1/reports/1999-W01").status_code == 404
    assert api.post("/v1/reports", json={"week": "soon"}).status_code == 422


def test_cli_writes_each_format(data: ReportData, tmp_path: Path) -> None:
    env = {"PILOTLIFT_DATABASE_URL": str(data.database), "PATH": ""}
    outputs = {}
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"review.{fmt}"
        subprocess.run([sys.executable, "-m", "service.cli", "report", "--week", data.week2,
                        "--format", fmt, "--out", str(out)], check=True, env=env,
                       capture_output=True, timeout=300)  # fmt: skip
        outputs[fmt] = out.read_text()
    assert "— **STOP**" in outputs["md"] and "<svg" in outputs["html"]
    assert '"week": "' + data.week2 + '"' in outputs["json"]
