"""A regional paid-social pilot, from design to decision: a geo pilot over the HTTP API.

Paid social without a clean room cannot hold out single customers, so the pilot randomizes
regions. The script plays the marketing team and its data pipeline against a pilotlift service:

1. posts 91 days of revenue and paid-social spend for 48 regions (simulated: regions of very
   different sizes, weekly seasonality, trend, autocorrelated noise) to ``/v1/geo-metrics``;
2. declares a geo pilot (``"unit": "geo"``) whose 28-day test ended two days ago;
3. designs it: ``POST /v1/experiments/{key}/design`` compares 10 randomizations seeded from the
   pilot's salt and keeps the one with the smallest minimum detectable lift;
4. starts it (the design freezes), "runs" the heavy-up — the treated regions spend 30 % more and
   sell 8 % more — and posts the test period's rows;
5. reads the results: incremental revenue with its interval, iROAS, ROI and the decision,
   beside the truth the data were simulated with.

The dates are relative to the service's clock (the test has just ended; ``make demo``'s clock is
simulated), and the key and the series names get a random suffix, so it can run again on the
same database. Against ``make demo``::

    python examples/geo_pilot.py --url http://127.0.0.1:8000

or without ``--url`` to start a service in-process on a temporary SQLite file.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from service.testing import run_example
from stats.geo import GeoPanel, inject_lift, simulate_panel

REGIONS, PRE_DAYS, TEST_DAYS = 48, 91, 28
LIFT, SPEND_CHANGE = 0.08, 0.3  # the heavy-up: +30 % spend, +8 % revenue in treated regions
SPEND_PER_REVENUE = 0.04  # business-as-usual paid social: 4 % of revenue, every region
MARGIN = 0.4
SALT = "social-geo-example"  # the randomization's seed: the same regions on every run


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def ndjson(panel: GeoPanel, days: np.ndarray, metric: str, spend: str) -> bytes:
    """One line per region, day and series (the KPI and the spend)."""
    lines = []
    for i, geo in enumerate(panel.geos):
        for j in np.flatnonzero(days):
            day = panel.dates[j].isoformat()
            lines.append({"geo": geo, "date": day, "metric": metric,
                          "value": round(float(panel.values[i, j]), 2)})  # fmt: skip
            if panel.spend is not None:
                lines.append({"geo": geo, "date": day, "metric": spend,
                              "value": round(float(panel.spend[i, j]), 2)})  # fmt: skip
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def post_rows(client: httpx.Client, body: bytes) -> dict[str, int]:
    headers = {"Content-Type": "application/x-ndjson"}
    return check(client.post("/v1/geo-metrics", content=body, headers=headers))  # type: ignore[no-any-return]


def server_now(client: httpx.Client) -> datetime:
    """The service's clock (``make demo``'s is simulated): the ``generated_at`` of the review
    of a week long past, which no pilot ran in and so is computed at once."""
    review = check(client.get("/v1/reports/weekly", params={"week": "2000-W01"}))
    return datetime.fromisoformat(review["generated_at"])


def run(client: httpx.Client, seed: int = 2026) -> dict[str, Any]:
    """Drive the pilot through the API; return the design, the results and the truth."""
    suffix = secrets.token_hex(3)
    # Series names are global: this run's KPI and spend get their own names.
    key, metric, spend = f"social-geo-{suffix}", f"revenue_{suffix}", f"spend_{suffix}"
    test_end = server_now(client).date() - timedelta(days=2)
    first = test_end - timedelta(days=PRE_DAYS + TEST_DAYS - 1)
    sim = simulate_panel(seed, n_geos=REGIONS, pre_days=PRE_DAYS, test_days=TEST_DAYS,
                         noise="ar1", spend_per_unit=SPEND_PER_REVENUE, start=first)  # fmt: skip
    pre = sim.panel.day_mask(sim.pre_period)
    print("pre-period rows:", post_rows(client, ndjson(sim.panel, pre, metric, spend)))

    (pre_start, pre_end), (test_start, _) = sim.pre_period, sim.test_period
    check(client.post("/v1/experiments", json={
        "key": key, "name": "Paid social heavy-up by region", "channel": "paid_social",
        "hypothesis": "30 % more paid-social spend raises regional revenue by 5-10 %",
        "unit": "geo", "salt": SALT, "holdout_share": 0.5, "variants": [{"key": "heavy_up"}],
        "metrics": [{"key": "revenue", "event": metric, "kind": "sum"}],
        "min_lift": 0.03, "margin_rate": MARGIN,
        "geo_design": {"metric": metric, "spend_metric": spend, "direction": "heavy_up",
                       "pre_period": {"start": str(pre_start), "end": str(pre_end)},
                       "test_period": {"start": str(test_start), "end": str(test_end)}},
    }))  # fmt: skip
    body = {"candidates": 10, "cost_per_incremental_unit": 0.25}
    design = check(client.post(f"/v1/experiments/{key}/design", json=body))
    check(client.post(f"/v1/experiments/{key}/start"))

    lifted = inject_lift(sim, design["treatment_geos"], lift=LIFT, spend_change=SPEND_CHANGE)
    print("test-period rows:", post_rows(client, ndjson(lifted.panel, ~pre, metric, spend)))
    results = check(client.get(f"/v1/experiments/{key}/results"))
    return {"key": key, "design": design, "results": results, "truth": lifted}


def _ci(ci: list[float] | None, fmt: str) -> str:
    return "" if ci is None else f" [{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


def report(outcome: dict[str, Any]) -> str:
    d, r, truth = outcome["design"], outcome["results"], outcome["truth"]
    c = next(c for c in r["comparisons"] if c["metric"] == r["primary_metric"])
    geo, money = r["geo"], r["revenue"]
    true_iroas = truth.true_incremental / truth.true_incremental_spend
    lines = [
        f"Pilot {outcome['key']}: {len(d['treatment_geos'])} treated and"
        f" {len(d['control_geos'])} control regions (candidate {d['candidate']} of"
        f" {len(d['candidates'])}, salt {d['salt']!r})",
        f"design: minimum detectable lift {d['minimum_detectable_lift']:.1%} at"
        f" {d['power']:.0%} power; pre-period fit R² {d['pre_fit']['r_squared']:.3f};"
        f" placebo tests {d['placebo']['significant']} of {d['placebo']['windows']} significant",
        *(f"        {note}" for note in d["notes"]),
        "",
        f"incremental revenue  {c['absolute_lift']:+,.0f}{_ci(c['absolute_ci'], '+,.0f')}"
        f"   (true {truth.true_incremental:+,.0f})",
        f"relative lift        {c['relative_lift']:+.1%}{_ci(c['relative_ci'], '+.1%')}"
        f"   (true {LIFT:+.1%}), p = {c['p_value']:.2g}",
        f"incremental spend    {geo['incremental_spend']:+,.0f}"
        f"   (true {truth.true_incremental_spend:+,.0f})",
        f"iROAS                {geo['iroas']:.2f}{_ci(geo['iroas_ci'], '.2f')}"
        f"   (true {true_iroas:.2f})",
        f"ROI at {MARGIN:.0%} margin    {money['incremental_roi']:+.2f}"
        f"{_ci(money['incremental_roi_ci'], '+.2f')}",
        "",
        f"decision: {r['decision']['action'].upper()}",
        *(f"  - {reason}" for reason in r["decision"]["reasons"]),
    ]
    return "\n".join(lines)


def main() -> None:
    run_example(__doc__.splitlines()[0], "geo.db", lambda client: report(run(client)))


if __name__ == "__main__":
    main()
