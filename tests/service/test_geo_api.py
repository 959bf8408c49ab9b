"""Geo pilots over HTTP against a real ``pilotlift serve``, on SQLite and on PostgreSQL: upload a
simulated pre-period (40 regions, 91 days), design, start, upload the test period (28 days) with
a known lift in the treated regions, and read the lift, the decision, the daily series and the
weekly review (in Chromium); a test that ran elsewhere with days missing gets ``check_data``
naming them; bad input gets a 4xx with a sentence.

The dates are in the past (the results use the server's real clock): the issue's "a test that
already ran" path, which designs and analyses on past days like any other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from service.timeutil import iso_week_of
from stats.geo import GeoPanel, LiftedPanel, inject_lift, simulate_panel

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START = date(2026, 7, 1)  # pre-period 2026-07-01..09-29, test 09-30..10-27: all in the past
LIFT = 0.10
SPEND_CHANGE = 0.5  # the treated regions spend 50 % more during the test


def rows(
    panel: GeoPanel, metric: str, days: np.ndarray, *, skip: Collection[tuple[str, date]] = ()
) -> list[dict[str, Any]]:
    out = []
    for i, geo in enumerate(panel.geos):
        for j in np.flatnonzero(days):
            day = panel.dates[j]
            if (geo, day) in skip:
                continue
            out.append({"geo": geo, "date": day.isoformat(), "metric": metric,
                        "value": float(panel.values[i, j])})  # fmt: skip
            if panel.spend is not None:
                out.append({"geo": geo, "date": day.isoformat(), "metric": "spend",
                            "value": float(panel.spend[i, j])})  # fmt: skip
    return out


def post_rows(client: httpx.Client, batch: list[dict[str, Any]]) -> dict[str, int]:
    r = client.post("/v1/geo-metrics", json={"rows": batch})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def geo_pilot(key: str, metric: str, **design: Any) -> dict[str, Any]:
    return {
        "key": key, "name": f"Paid social by region ({key})", "channel": "paid_social",
        "unit": "geo", "holdout_share": 0.5, "variants": [{"key": "treatment"}],
        "min_lift": 0.03, "margin_rate": 0.5,
        "geo_design": {"metric": metric,
                       "pre_period": {"start": "2026-07-01", "end": "2026-09-29"},
                       "test_period": {"start": "2026-09-30", "end": "2026-10-27"}} | design,
    }  # fmt: skip


@dataclass(frozen=True)
class Designed:
    design: dict[str, Any]
    lifted: LiftedPanel


@pytest.fixture(scope="module")
def designed(client: httpx.Client) -> Designed:
    """The main pilot: pre-period uploaded, designed, started, test period uploaded."""
    sim = simulate_panel(7, n_geos=40, pre_days=91, test_days=28, noise="ar1",
                         spend_per_unit=0.05, start=START)  # fmt: skip
    pre = sim.panel.day_mask(sim.pre_period)
    assert post_rows(client, rows(sim.panel, "revenue", pre)) == {"stored": 7280, "replaced": 0}
    r = client.post("/v1/experiments", json=geo_pilot("social-geo", "revenue"))
    assert r.status_code == 201, r.text
    assert r.json()["planned_duration_days"] == 28
    r = client.post("/v1/experiments/social-geo/design",
                    json={"candidates": 3, "cost_per_incremental_unit": 0.2})  # fmt: skip
    assert r.status_code == 200, r.text
    design = r.json()
    assert client.post("/v1/experiments/social-geo/start").status_code == 200
    lifted = inject_lift(sim, design["treatment_geos"], lift=LIFT, spend_change=SPEND_CHANGE)
    assert post_rows(client, rows(lifted.panel, "revenue", ~pre)) == {
        "stored": 2240, "replaced": 0,
    }  # fmt: skip
    return Designed(design, lifted)


def test_design_splits_regions_by_the_salt_and_stores_the_choice(
    client: httpx.Client, designed: Designed
) -> None:
    d = designed.design
    assert len(d["treatment_geos"]) == len(d["control_geos"]) == 20
    assert not set(d["treatment_geos"]) & set(d["control_geos"])
    assert [c["salt"] for c in d["candidates"]] == ["social-geo", "social-geo#1", "social-geo#2"]
    chosen = d["candidates"][d["candidate"]]
    assert (chosen["salt"], chosen["treatment_geos"]) == (d["salt"], d["treatment_geos"])
    smallest = min(c["minimum_detectable_lift"] for c in d["candidates"])
    assert smallest <= d["minimum_detectable_lift"] <= 1.02 * smallest  # stats' tie rule
    assert 0.01 < d["minimum_detectable_lift"] < LIFT  # the injected lift is detectable
    assert d["pre_fit"]["r_squared"] > 0.5 and d["test_days"] == 28 and d["pre_days"] == 91
    assert d["required_spend"] == pytest.approx(
        d["minimum_detectable_lift"] * d["expected_counterfactual"] * 0.2
    )
    assert d["baseline_spend"] > 0
    stored = client.get("/v1/experiments/social-geo").json()["geo_design"]
    assert stored["treatment_geos"] == d["treatment_geos"]
    assert stored["designed"]["minimum_detectable_lift"] == d["minimum_detectable_lift"]
    # Frozen at start, like every pre-registered criterion.
    r = client.post("/v1/experiments/social-geo/design", json={})
    assert r.status_code == 409 and "only a draft is designed" in r.json()["detail"]
    r = client.patch("/v1/experiments/social-geo", json={"geo_design": None})
    assert r.status_code == 409 and "geo_design" in r.json()["detail"]


def test_the_interval_covers_the_injected_lift_and_the_pilot_scales(
    client: httpx.Client, designed: Designed
) -> None:
    res = client.get("/v1/experiments/social-geo/results").json()
    (c,) = res["comparisons"]
    truth = designed.lifted
    true_iroas = truth.true_incremental / (truth.true_incremental_spend or 1)
    print(
        f"\ninjected +{LIFT:.1%} (+{truth.true_incremental:,.0f}); estimated"
        f" {c['relative_lift']:+.2%} [{c['relative_ci'][0]:+.2%}, {c['relative_ci'][1]:+.2%}]"
        f" ({c['absolute_lift']:+,.0f} [{c['absolute_ci'][0]:+,.0f},"
        f" {c['absolute_ci'][1]:+,.0f}]); iROAS {res['geo']['iroas']:.2f}"
        f" [{res['geo']['iroas_ci'][0]:.2f}, {res['geo']['iroas_ci'][1]:.2f}] (true"
        f" {true_iroas:.2f}); decision {res['decision']['action']}"
    )
    assert (c["variant"], c["metric"], c["test"], c["status"]) == (
        "treatment", "revenue", "tbr", "ok",
    )  # fmt: skip
    assert c["relative_ci"][0] < LIFT < c["relative_ci"][1]
    assert c["absolute_ci"][0] < truth.true_incremental < c["absolute_ci"][1]
    assert c["absolute_lift"] == pytest.approx(c["treatment_mean"] - c["control_mean"])
    assert c["p_value"] < 0.05 and c["significant"]
    geo = res["geo"]
    assert geo["method"] == "tbr" and geo["status"] == "ok"
    assert geo["treatment_geos"] == designed.design["treatment_geos"]
    assert sorted(geo["control_geos"]) == sorted(designed.design["control_geos"])
    test_days = [d for d in geo["series"] if d["period"] == "test"]
    assert len(test_days) == 28 and len(geo["series"]) == 91 + 28
    assert all(d["lower"] < d["counterfactual"] < d["upper"] for d in test_days)
    assert test_days[-1]["cumulative_incremental"] == pytest.approx(c["absolute_lift"])
    assert geo["incremental_spend"] == pytest.approx(truth.true_incremental_spend, rel=0.1)
    assert geo["iroas_ci"][0] < true_iroas < geo["iroas_ci"][1]
    money = res["revenue"]
    assert money["incremental_roi"] == pytest.approx(0.5 * geo["iroas"] - 1)
    assert money["variants"][0]["roi_verdict"] == "meets"
    assert res["decision"]["action"] == "scale", res["decision"]
    assert res["decision"]["variant_actions"] == {"treatment": "scale"}
    assert [a["customers"] for a in res["arms"]] == [20, 20]  # regions per arm
    series = client.get("/v1/experiments/social-geo/timeseries").json()
    assert len(series["points"]) == 28 and series["method"] == "fixed"
    assert series["points"][-1]["absolute_lift"] == pytest.approx(c["absolute_lift"])
    assert series["points"][-1]["relative_lift"] == pytest.approx(c["relative_lift"])


def test_a_geo_pilot_assigns_regions_not_customers(
    client: httpx.Client, designed: Designed
) -> None:
    r = client.post("/v1/experiments/social-geo/assignments", json={"customer_ids": ["c1"]})
    assert r.status_code == 409 and "assigns regions, not customers" in r.json()["detail"]
    imported = {"customer_id": "c1", "group": "holdout", "assigned_at": "2026-10-01T00:00:00Z"}
    r = client.post(
        "/v1/experiments/social-geo/assignments/import", json={"assignments": [imported]}
    )
    assert r.status_code == 409 and "assigns regions, not customers" in r.json()["detail"]


def test_a_test_that_ran_elsewhere_with_missing_days_is_check_data(client: httpx.Client) -> None:
    sim = simulate_panel(11, n_geos=24, pre_days=91, test_days=28, start=START)
    geos = sim.panel.geos
    gaps = {(geos[3], date(2026, 10, d)) for d in (5, 6, 7)} | {(geos[17], date(2026, 10, 20))}
    everything = np.ones(len(sim.panel.dates), dtype=bool)
    post_rows(client, rows(sim.panel, "visits", everything, skip=gaps))
    body = geo_pilot("tv-geo-imported", "visits", treatment_geos=list(geos[:12]))
    assert client.post("/v1/experiments", json=body).status_code == 201
    assert client.post("/v1/experiments/tv-geo-imported/start").status_code == 200
    res = client.get("/v1/experiments/tv-geo-imported/results").json()
    assert res["decision"]["action"] == "check_data"
    reason = res["decision"]["reasons"][0]
    assert f"{geos[3]}: 2026-10-05–2026-10-07" in reason and f"{geos[17]}: 2026-10-20" in reason
    missing = {m["geo"]: m["days"] for m in res["geo"]["missing"]}
    assert missing == {geos[3]: ["2026-10-05", "2026-10-06", "2026-10-07"],
                       geos[17]: ["2026-10-20"]}  # fmt: skip
    assert res["comparisons"][0]["status"] == "insufficient_data"
    # Backfilled (a restatement of nothing: the rows are new), the pilot reads again.
    fill = [r for r in rows(sim.panel, "visits", everything) if (r["geo"],
            date.fromisoformat(r["date"])) in gaps and r["metric"] == "visits"]  # fmt: skip
    assert post_rows(client, fill) == {"stored": 4, "replaced": 0}
    res = client.get("/v1/experiments/tv-geo-imported/results").json()
    assert res["geo"]["status"] == "ok" and res["decision"]["action"] != "check_data"


def test_rows_are_validated_as_a_batch_and_restated_by_key(client: httpx.Client) -> None:
    good = {"geo": "r-1", "date": "2026-06-01", "metric": "leads", "value": 3.0}
    batch = [good, {**good, "date": "2026-13-01"}, {**good, "geo": "r-2"},
             {**good, "geo": "x" * 129}, {**good, "metric": "spend", "value": -1.0},
             {**good, "geo": "r-2"}, {**good, "date": "2030-01-01"}]  # fmt: skip
    r = client.post("/v1/geo-metrics", json={"rows": batch})
    assert r.status_code == 422, r.text
    body = r.json()
    assert "nothing from this batch was stored" in body["detail"]
    assert sorted({e["index"] for e in body["extra"]}) == [1, 3, 4, 5, 6]
    ndjson = "\n".join(f'{{"geo": "r-{i}", "date": "2026-06-01", "metric": "leads",'
                       f' "value": {i}}}' for i in range(3)) + "\n"  # fmt: skip
    r = client.post("/v1/geo-metrics", content=ndjson,
                    headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert r.json() == {"stored": 3, "replaced": 0}  # the rejected batch left nothing behind
    assert post_rows(client, [good, {**good, "geo": "r-9"}]) == {"stored": 1, "replaced": 1}
    r = client.post("/v1/geo-metrics", content="x", headers={"Content-Type": "text/csv"})
    assert r.status_code == 415
    audit = client.get("/v1/audit").json()["entries"]
    last = next(e for e in audit if e["action"] == "geo.metrics")
    assert last["change"]["replaced"] == 1 and last["change"]["metrics"] == ["leads"]


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"unit": "region"}, 422, "unit"),
        ({"traffic": 0.5}, 422, "a geo pilot has no customer traffic share"),
        ({"layer": "social"}, 422, "a geo pilot assigns regions"),
        ({"variants": [{"key": "a"}, {"key": "b"}]}, 422, "one treated arm"),
        ({"holdout_share": 0.3, "geo_design": {"treatment_share": 0.5}}, 422,
         "holdout_share must be 1 − treatment_share"),
        ({"geo_design": None}, 422, "a geo pilot needs one"),
        ({"geo_design": {"test_period": {"start": "2026-09-01", "end": "2026-09-20"}}}, 422,
         "the test must start after the pre-period ends"),
    ],
)  # fmt: skip
def test_bad_geo_pilots_are_refused_with_a_reason(
    client: httpx.Client, changes: dict[str, Any], status: int, words: str
) -> None:
    body = geo_pilot("bad-geo", "revenue")
    for name, value in changes.items():
        if name == "geo_design" and value is not None:
            body["geo_design"] = body["geo_design"] | value
        else:
            body[name] = value
    r = client.post("/v1/experiments", json=body)
    assert r.status_code == status, r.text
    assert words in r.text


def test_designs_that_cannot_work_say_what_is_missing(client: httpx.Client) -> None:
    sim = simulate_panel(3, n_geos=6, pre_days=91, test_days=28, start=START)
    post_rows(client, rows(sim.panel, "footfall", sim.panel.day_mask(sim.pre_period)))
    assert client.post("/v1/experiments", json=geo_pilot("few-geo", "footfall")).status_code == 201
    r = client.post("/v1/experiments/few-geo/design", json={})
    assert r.status_code == 422 and "at least 8 regions" in r.json()["detail"], r.text
    empty = geo_pilot("empty-geo", "footfall",
                      pre_period={"start": "2025-01-01", "end": "2025-03-31"})  # fmt: skip
    assert client.post("/v1/experiments", json=empty).status_code == 201
    r = client.post("/v1/experiments/empty-geo/design", json={})
    assert r.status_code == 422
    assert "has no 'footfall' rows" in r.json()["detail"], r.text
    r = client.post("/v1/experiments/empty-geo/start")
    assert r.status_code == 409 and "design it first" in r.json()["detail"]
    customer = {"key": "sms-x", "name": "SMS", "channel": "sms", "holdout_share": 0.1,
                "variants": [{"key": "a"}], "min_lift": 0.05}  # fmt: skip
    assert client.post("/v1/experiments", json=customer).status_code == 201
    r = client.post("/v1/experiments/sms-x/design", json={})
    assert r.status_code == 409 and "only a geo pilot" in r.json()["detail"]


@pytest.fixture(scope="module")
def review_week(designed: Designed) -> str:
    return iso_week_of(datetime.now(UTC))


def test_weekly_review_draws_observed_against_counterfactual(
    client: httpx.Client, designed: Designed, review_week: str, tmp_path: Path
) -> None:
    md = client.get(f"/v1/reports/weekly?week={review_week}",
                    headers={"Accept": "text/markdown"}).text  # fmt: skip
    assert "Geo pilot (TBR, heavy-up): 20 treated and 20 control regions" in md
    url = f"{client.base_url}/v1/reports/weekly?week={review_week}&format=html"
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        section = page.locator("#pilot-social-geo")
        assert section.locator(".action").first.inner_text() == "SCALE"
        chart = section.locator(".chart.geo-counterfactual svg")
        assert chart.count() == 1
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150, box
        assert "iROAS" in section.locator("p.geo").inner_text()
        section.scroll_into_view_if_needed()
        shot = tmp_path / "geo-review.png"
        section.screenshot(path=str(shot))
        browser.close()
    assert errors == []
    assert shot.stat().st_size > 10_000


def test_the_example_runs_from_design_to_decision(client: httpx.Client) -> None:
    from examples.geo_pilot import report, run

    outcome = run(client)
    res = outcome["results"]
    assert res["geo"]["status"] == "ok" and res["geo"]["iroas"] is not None
    assert res["decision"]["action"] in ("scale", "continue")
    text = report(outcome)
    assert "iROAS" in text and "decision: " in text


def test_a_go_dark_test_reads_the_channels_contribution(client: httpx.Client) -> None:
    """The treated regions lose the channel (spend cut to zero, KPI −10 %): the effect is
    measured negative, iROAS positive, and a significant fall scales the channel."""
    sim = simulate_panel(5, n_geos=40, pre_days=91, test_days=28, noise="ar1",
                         spend_per_unit=0.05, start=START)  # fmt: skip
    treated = list(sim.panel.geos[::2])
    dark = inject_lift(sim, treated, lift=-0.10, spend_change=-1.0)
    everything = np.ones(len(sim.panel.dates), dtype=bool)
    batch = rows(dark.panel, "sales_dark", everything)
    for r in batch:
        if r["metric"] == "spend":
            r["metric"] = "spend_dark"
    post_rows(client, batch)
    body = geo_pilot("social-dark", "sales_dark", treatment_geos=treated, direction="go_dark",
                     spend_metric="spend_dark")  # fmt: skip
    body["margin_rate"] = 0.8  # iROAS 2: each unit of spend earned 0.6 of profit
    assert client.post("/v1/experiments", json=body).status_code == 201
    assert client.post("/v1/experiments/social-dark/start").status_code == 200
    res = client.get("/v1/experiments/social-dark/results").json()
    (c,) = res["comparisons"]
    assert c["relative_ci"][0] < -0.10 < c["relative_ci"][1] and c["relative_ci"][1] < 0
    assert res["geo"]["incremental_spend"] < 0 < res["geo"]["iroas"]
    assert res["revenue"]["incremental_roi_ci"][0] > 0  # the cut lost more margin than it saved
    assert res["decision"]["action"] == "scale", res["decision"]
    assert any("Go-dark test" in r for r in res["decision"]["reasons"])
