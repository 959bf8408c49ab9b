"""A channel holdout simulated over HTTP against a real uvicorn server, on SQLite and on
PostgreSQL, with the service's clock simulated (as ``pilotlift demo`` does).

40,000 customers; the SMS channel holds out 5 % for a 90-day period. On day 0 the campaign
tool asks eligibility for everyone and sends business as usual to the eligible customers;
three pilots of the channel start on days 5, 30 and 60, each asked about 8,000 customers. The
true effects are known: business as usual multiplies a customer's purchase rate by 1.3 and a
pilot's variant by another 1.2, so the channel's true incremental revenue is the sum over its
eligible customers of the purchase-probability gain times the mean order value. Costs are
known to the cent. After the period, the holdout is redrawn for period 2 and period 1's
results must not move.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from jupyter_ext import Client
from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.runtime.server import ThreadedServer, free_port
from service.settings import Settings

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
N = 40_000
SHARE = 0.05
MARGIN = 0.4
BAU, VARIANT = 1.3, 1.2  # multipliers of the purchase rate
VALUE_MU, VALUE_SIGMA = 3.6, 0.5
MEAN_VALUE = math.exp(VALUE_MU + VALUE_SIGMA**2 / 2)
PILOT_DAYS = {"sms-p1": 5, "sms-p2": 30, "sms-p3": 60}
COHORT = 8_000
COSTS = [
    {"id": "media-q1", "date": "2026-01-05", "amount": 12_000.00, "kind": "media"},
    {"id": "msg-jan", "date": "2026-01-31", "amount": 1_140.00, "kind": "per_message"},
    {"id": "msg-feb", "date": "2026-02-28", "amount": 1_140.00, "kind": "per_message"},
    {"id": "msg-mar", "date": "2026-03-31", "amount": 1_139.55, "kind": "per_message"},
    {"id": "tech-q1", "date": "2026-01-05", "amount": 4_500.00, "kind": "tech"},
    {"id": "people-q1", "date": "2026-04-01", "amount": 2_250.50, "kind": "people"},
]
COST = 22_170.05
SEED = 16


@dataclass
class Run:
    """What the campaign tool knows at the end, and the service's answers."""

    url: str
    clock: SimulatedClock
    period1: dict[str, str] = field(default_factory=dict)  # eligibility in period 1
    period2: dict[str, str] = field(default_factory=dict)
    pilots: dict[str, dict[str, str]] = field(default_factory=dict)  # key → customer → group
    truth: float = 0.0
    results: dict[str, Any] = field(default_factory=dict)  # period 1, after the period
    results_after_period2: dict[str, Any] = field(default_factory=dict)
    pilot_results: dict[str, dict[str, Any]] = field(default_factory=dict)


def _post(client: httpx.Client, path: str, body: Any) -> Any:
    r = client.post(path, json=body)
    assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"
    return r.json()


def _conversions(ids: list[str], rows: list[int], days: np.ndarray, first: float, rng:
                 np.random.Generator, prefix: str) -> list[bytes]:  # fmt: skip
    """NDJSON lines of one order per customer in ``rows`` on the given day offsets."""
    values = np.round(rng.lognormal(VALUE_MU, VALUE_SIGMA, len(rows)), 2)
    return [
        json.dumps({"id": f"{prefix}-{i}", "type": "conversion", "customer_id": ids[i],
                    "ts": (T0 + timedelta(days=first + float(d))).isoformat(),
                    "value": float(v)}).encode()
        for i, d, v in zip(rows, days, values)
    ]  # fmt: skip


def _send(client: httpx.Client, lines: list[bytes]) -> None:
    r = client.post("/v1/events", content=b"\n".join(lines),
                    headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200, r.text


def simulate(url: str, clock: SimulatedClock) -> Run:
    run = Run(url, clock)
    rng = np.random.default_rng(SEED)
    ids = [f"cust-{i:06d}" for i in range(N)]
    rate = rng.gamma(0.8, 0.15 / 0.8, N)  # purchases per 90 days without the channel
    with httpx.Client(base_url=url, timeout=120) as client:
        clock.set(T0 - timedelta(days=1))
        _post(client, "/v1/channels", {"key": "sms", "name": "SMS", "holdout_share": SHARE,
                                       "period_days": 90, "margin_rate": MARGIN})  # fmt: skip
        for key in PILOT_DAYS:
            _post(client, "/v1/experiments", {
                "key": key, "name": key, "channel": "sms", "holdout_share": 0.2,
                "variants": [{"key": "sms"}], "min_lift": 0.05,
                "attribution_window_days": 30})  # fmt: skip
        # Last month's purchases: the pre-period covariate (CUPED).
        history = np.flatnonzero(rng.random(N) < 1 - np.exp(-rate / 3))
        _send(client, _conversions(ids, history.tolist(), rng.uniform(0, 29, len(history)), -30,
                                   rng, "hist"))  # fmt: skip
        clock.set(T0)
        _post(client, "/v1/channels/sms/start", {})
        answer = _post(client, "/v1/channels/sms/eligibility", {"customer_ids": ids})
        assert answer["period"] == 1
        run.period1 = {c["customer_id"]: c["group"] for c in answer["customers"]}
        multiplier = np.array([BAU if run.period1[c] == "eligible" else 1.0 for c in ids])
        for key, day in PILOT_DAYS.items():
            clock.set(T0 + timedelta(days=day))
            _post(client, f"/v1/experiments/{key}/start", {})
            cohort = sorted(rng.choice(N, COHORT, replace=False).tolist())
            answer = _post(client, f"/v1/experiments/{key}/assignments",
                           {"customer_ids": [ids[i] for i in cohort]})  # fmt: skip
            run.pilots[key] = {a["customer_id"]: a["group"] for a in answer["assignments"]}
            for i in cohort:
                if run.pilots[key][ids[i]] == "sms":
                    multiplier[i] *= VARIANT
        p0, p1 = 1 - np.exp(-rate), 1 - np.exp(-rate * multiplier)
        eligible = np.array([run.period1[c] == "eligible" for c in ids])
        run.truth = float(((p1 - p0) * eligible).sum() * MEAN_VALUE)
        buyers = np.flatnonzero(rng.random(N) < p1)
        clock.set(T0 + timedelta(days=91))
        _send(client, _conversions(ids, buyers.tolist(), rng.uniform(0, 89.9, len(buyers)), 0,
                                   rng, "order"))  # fmt: skip
        assert _post(client, "/v1/channels/sms/costs", {"rows": COSTS})["stored"] == len(COSTS)
        run.results = client.get("/v1/channels/sms/results", params={"period": 1}).json()
        end = (T0 + timedelta(days=90)).isoformat()
        for key in PILOT_DAYS:
            look = {"as_of": end, "method": "fixed"}
            run.pilot_results[key] = client.get(
                f"/v1/experiments/{key}/results", params=look
            ).json()
        # Period 2: a fresh holdout, new purchases and costs, which period 1 must not see.
        clock.set(T0 + timedelta(days=100))
        answer = _post(client, "/v1/channels/sms/eligibility", {"customer_ids": ids})
        assert answer["period"] == 2
        run.period2 = {c["customer_id"]: c["group"] for c in answer["customers"]}
        later = np.flatnonzero(rng.random(N) < 0.05)
        clock.set(T0 + timedelta(days=110))
        _send(client, _conversions(ids, later.tolist(), rng.uniform(0, 9, len(later)), 100, rng,
                                   "p2"))  # fmt: skip
        _post(client, "/v1/channels/sms/costs",
              {"rows": [{"id": "media-q2", "date": "2026-04-10", "amount": 9_000.0,
                         "kind": "media"}]})  # fmt: skip
        run.results_after_period2 = client.get("/v1/channels/sms/results",
                                               params={"period": 1}).json()  # fmt: skip
    return run


@pytest.fixture(scope="module")
def run(module_database: Path | str) -> Iterator[Run]:
    clock = SimulatedClock(T0 - timedelta(days=2))
    server = ThreadedServer(
        create_app(Settings(database_url=str(module_database), clock=clock)),
        "127.0.0.1", free_port(),
    )  # fmt: skip
    server.start()
    try:
        yield simulate(server.url, clock)
    finally:
        server.stop()


def test_incremental_revenue_interval_covers_the_truth(run: Run) -> None:
    r = run.results
    assert r["method"] == "fixed" and r["period"] == 1
    lo, hi = r["incremental_revenue_ci"]
    assert lo < run.truth < hi, (lo, run.truth, hi)
    assert lo > 0  # the channel pays off in revenue, clearly
    arms = {a["group"]: a["customers"] for a in r["arms"]}
    held = sum(g == "channel_holdout" for g in run.period1.values())
    assert arms == {"channel_holdout": held, "eligible": N - held}
    revenue = next(c for c in r["comparisons"] if c["metric"] == "revenue")
    assert revenue["cuped"]  # the pre-period purchases are the covariate


def test_profit_is_revenue_times_margin_minus_cost_to_the_cent(run: Run) -> None:
    r = run.results
    assert r["cost"] == pytest.approx(COST, abs=0.005)
    assert r["costs_by_kind"] == pytest.approx(
        {"media": 12_000.0, "per_message": 3_419.55, "tech": 4_500.0, "people": 2_250.5}
    )
    assert round(r["incremental_profit"], 2) == round(r["incremental_revenue"] * MARGIN - COST, 2)
    lo, hi = r["incremental_revenue_ci"]
    assert r["incremental_profit_ci"] == pytest.approx([lo * MARGIN - COST, hi * MARGIN - COST])
    assert r["roi"] == pytest.approx(r["incremental_profit"] / COST)
    assert r["roi_ci"] == pytest.approx([x / COST for x in r["incremental_profit_ci"]])
    conv_lo, conv_hi = r["incremental_conversions_ci"]
    assert conv_lo > 0
    assert r["cost_per_incremental_conversion"] == pytest.approx(
        COST / r["incremental_conversions"]
    )
    assert r["cost_per_incremental_conversion_ci"] == pytest.approx([COST / conv_hi,
                                                                     COST / conv_lo])  # fmt: skip


def test_no_channel_holdout_customer_is_in_a_pilot(run: Run) -> None:
    held = {c for c, g in run.period1.items() if g == "channel_holdout"}
    for key, groups in run.pilots.items():
        answered_held = {c for c, g in groups.items() if g == "channel_holdout"}
        assert answered_held == held & set(groups)
        members = {c for c, g in groups.items() if g in ("holdout", "sms")}
        assert not members & held
        results = run.pilot_results[key]
        arms = {a["group"]: a["customers"] for a in results["arms"]}
        assert sum(arms.values()) == len(members)  # only eligible customers were recorded
        # The pilot's own split is unchanged in meaning: 20 % holdout among the eligible.
        assert results["srm"]["ok"] and abs(arms["holdout"] / len(members) - 0.2) < 0.02


def test_the_channel_pilots_naive_and_shrunk_sums(run: Run) -> None:
    pilots = run.results["pilots"]
    assert pilots["status"] == "ok" and [p["key"] for p in pilots["pilots"]] == list(PILOT_DAYS)
    measured = {k: r["revenue"]["incremental_revenue"] for k, r in run.pilot_results.items()}
    assert {p["key"]: p["incremental_revenue"] for p in pilots["pilots"]} == pytest.approx(measured)
    assert pilots["naive_sum"] == pytest.approx(sum(measured.values()))
    assert pilots["shrunk_sum"] is not None and pilots["shrunk_sum_ci"] is not None
    assert all(p["shrunk"] is not None for p in pilots["pilots"])


def _rounded(tree: Any) -> Any:
    """``tree`` with every float rounded to 12 significant digits."""
    if isinstance(tree, dict):
        return {k: _rounded(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_rounded(v) for v in tree]
    return float(f"{tree:.12g}") if isinstance(tree, float) else tree


def test_rotation_draws_a_fresh_holdout_and_leaves_period_one_alone(run: Run) -> None:
    h1 = {c for c, g in run.period1.items() if g == "channel_holdout"}
    h2 = {c for c, g in run.period2.items() if g == "channel_holdout"}
    assert abs(len(h2) - SHARE * N) < 4 * math.sqrt(N * SHARE * (1 - SHARE))
    # Independent draws: about 5 % of period 1's holdout is held out again, 95 % changes.
    kept = len(h1 & h2) / len(h1)
    assert abs(kept - SHARE) < 4 * math.sqrt(SHARE * (1 - SHARE) / len(h1))
    before, after = dict(run.results), dict(run.results_after_period2)
    periods_before, periods_after = before.pop("periods"), after.pop("periods")
    assert periods_after[0] == periods_before[0]
    assert periods_after[1]["customers"]["channel_holdout"] == len(h2)
    assert periods_after[1]["cost"] == 9_000.0
    before.pop("as_of"), after.pop("as_of")
    # Equal to the last bits of a float: a sum read from the totals and the same sum read from
    # the raw rows (while the aggregator has not folded them yet) add in different orders.
    assert _rounded(after) == _rounded(before)


def test_the_notebook_client_returns_the_periods_as_a_frame(run: Run) -> None:
    with Client(run.url) as client:
        frame = client.channel_results("sms", period=1)
    assert list(frame.index) == [1, 2]
    row = frame.loc[1]
    r = run.results_after_period2
    assert row["incremental_profit"] == pytest.approx(r["incremental_profit"])
    assert row["incremental_revenue_ci_low"] == pytest.approx(r["incremental_revenue_ci"][0])
    assert row["channel_holdout"] == sum(g == "channel_holdout" for g in run.period1.values())
    assert frame.attrs["results"].pilots.status == "ok"
