"""A standing SMS channel holdout: is business-as-usual SMS worth what it costs?

The script plays a campaign tool against the HTTP API. It declares the ``sms`` channel with a
5 % holdout, asks eligibility for 40,000 customers before a business-as-usual send, runs a pilot
inside the channel (its answers include ``channel_holdout``), posts the channel's costs and
the purchases, and prints the channel's results: incremental revenue and profit with intervals,
ROI, cost per incremental conversion, next to the true effect it was simulated with (SMS raises
a customer's purchase probability by 30 %; 40 % of revenue is profit).

A running service accepts events at most 24 hours ahead of its clock, so the holdout period is
one day here (a real channel uses 90) and every event falls inside it; the results are read
after the period, fixed-horizon. Run against ``make demo`` (keys are suffixed, so it can run
again on the same database)::

    python examples/channel_holdout.py --url http://127.0.0.1:8000

or without ``--url`` to start a service in-process on a temporary SQLite file.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from service.testing import run_example

N = 40_000
HOLDOUT_SHARE = 0.05
MARGIN = 0.4
BASE_RATE, EFFECT = 0.10, 1.3  # purchase probability in the day; ×1.3 when messaged
MU, SIGMA = 3.6, 0.5  # order value, log-normal
MEAN_VALUE = math.exp(MU + SIGMA**2 / 2)


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def run(client: httpx.Client, seed: int = 5) -> tuple[dict[str, Any], float, dict[str, int]]:
    """Drive one period through the API; return the results, the true incremental revenue and
    the pilot's answers counted by group."""
    rng = np.random.default_rng(seed)
    suffix = secrets.token_hex(3)
    key, pilot = f"sms-{suffix}", f"sms-winback-{suffix}"
    ids = [f"{suffix}-customer-{i:05d}" for i in range(N)]
    channel = {"key": key, "name": "SMS business as usual", "holdout_share": HOLDOUT_SHARE,
               "period_days": 1, "margin_rate": MARGIN}  # fmt: skip
    check(client.post("/v1/channels", json=channel))
    started = datetime.fromisoformat(check(client.post(f"/v1/channels/{key}/start"))["started_at"])
    groups: dict[str, str] = {}
    for start in range(0, N, 100_000):
        batch = {"customer_ids": ids[start : start + 100_000]}
        answer = check(client.post(f"/v1/channels/{key}/eligibility", json=batch))
        groups |= {c["customer_id"]: c["group"] for c in answer["customers"]}
    # A pilot of the channel: the channel's held-out customers are never in it.
    check(client.post("/v1/experiments", json={
        "key": pilot, "name": "SMS win-back", "channel": key, "holdout_share": 0.2,
        "variants": [{"key": "sms"}], "min_lift": 0.05}))  # fmt: skip
    check(client.post(f"/v1/experiments/{pilot}/start"))
    answer = check(client.post(f"/v1/experiments/{pilot}/assignments",
                               json={"customer_ids": ids[:5000]}))  # fmt: skip
    pilot_groups: dict[str, int] = {}
    for a in answer["assignments"]:
        pilot_groups[a["group"]] = pilot_groups.get(a["group"], 0) + 1

    eligible = np.array([groups[c] == "eligible" for c in ids])
    p = np.where(eligible, BASE_RATE * EFFECT, BASE_RATE)
    truth = float(eligible.sum() * BASE_RATE * (EFFECT - 1) * MEAN_VALUE)
    buyers = np.flatnonzero(rng.random(N) < p)
    hours = rng.uniform(0.1, 20, len(buyers))
    values = np.round(rng.lognormal(MU, SIGMA, len(buyers)), 2)
    events = [{"id": f"{suffix}-order-{i}", "type": "conversion", "customer_id": ids[i],
               "ts": (started + timedelta(hours=float(h))).isoformat(), "value": float(v)}
              for i, h, v in zip(buyers.tolist(), hours, values)]  # fmt: skip
    for start in range(0, len(events), 100_000):
        check(client.post("/v1/events", json={"events": events[start : start + 100_000]}))
    messages = int(eligible.sum())
    day = started.date().isoformat()
    costs = [{"id": "media", "date": day, "amount": 2_500.0, "kind": "media"},
             {"id": "messages", "date": day, "amount": round(0.04 * messages, 2),
              "kind": "per_message", "note": f"{messages:,} SMS at 0.04"},
             {"id": "team", "date": day, "amount": 1_200.0, "kind": "people"}]  # fmt: skip
    print("costs:", check(client.post(f"/v1/channels/{key}/costs", json={"rows": costs})))
    as_of = (started + timedelta(days=1, hours=1)).isoformat()  # the period is over: fixed
    results = check(client.get(f"/v1/channels/{key}/results",
                               params={"period": 1, "as_of": as_of}))  # fmt: skip
    return results, truth, pilot_groups


def _money(x: float | None, ci: list[float] | None = None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" + (f" [{ci[0]:,.0f}, {ci[1]:,.0f}]" if ci else "")


def _ratio(x: float | None, ci: list[float] | None, fmt: str) -> str:
    if x is None:
        return "n/a"
    return format(x, fmt) + (f" [{format(ci[0], fmt)}, {format(ci[1], fmt)}]" if ci else "")


def report(results: dict[str, Any], truth: float, pilot_groups: dict[str, int]) -> str:
    r = results
    lines = [
        f"Channel {r['channel']}, period {r['period']}, {r['method']} inference,"
        f" margin rate {r['margin_rate']:.0%}"
    ]
    for a in r["arms"]:
        revenue = a["metrics"]["revenue"]["mean"]
        lines.append(
            f"  {a['group']:<16}{a['customers']:>8,} customers, revenue {revenue:.2f} each"
        )
    profit_truth = truth * MARGIN - r["cost"]
    conversions = _money(r["incremental_conversions"], r["incremental_conversions_ci"])
    revenue = _money(r["incremental_revenue"], r["incremental_revenue_ci"])
    profit = _money(r["incremental_profit"], r["incremental_profit_ci"])
    cpc = r["cost_per_incremental_conversion"]
    lines += [
        f"A pilot inside the channel answered: {pilot_groups}",
        "",
        f"incremental conversions  {conversions}",
        f"incremental revenue      {revenue}   (true {truth:,.0f})",
        f"cost                     {_money(r['cost'])}  {r['costs_by_kind']}",
        f"incremental profit       {profit}   (true {profit_truth:,.0f})",
        f"ROI                      {_ratio(r['roi'], r['roi_ci'], '+.2f')}",
        f"cost per incr. conv.     {_ratio(cpc, r['cost_per_incremental_conversion_ci'], ',.2f')}",
        *(f"note: {w}" for w in r["warnings"]),
    ]
    return "\n".join(lines)


def main() -> None:
    run_example(__doc__.splitlines()[0], "channel.db", lambda client: report(*run(client)))


if __name__ == "__main__":
    main()
