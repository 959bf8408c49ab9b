"""``pilotlift demo``: a realistic SMS win-back pilot, simulated through the real HTTP API.

A campaign tool assigns a daily cohort of customers for three simulated weeks, sends SMS to the
variant customers (about 92 % are delivered and logged as exposures) and reports purchases.
Customers differ in how often they buy; their purchases in the 30 days before assignment are
posted too, and become the pre-period covariate. The true effect is known: SMS A raises a
delivered customer's purchase rate by 12 %, SMS B by 4 %. The service's clock is simulated so
that three weeks pass in seconds; every call goes over HTTP to a real uvicorn server.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from service.app import create_app
from service.runtime.clock import SimulatedClock
from service.runtime.server import ThreadedServer, free_port
from service.settings import Settings

__all__ = ["PilotSimulation", "format_results", "run_demo"]

PILOT_KEY = "sms-winback-demo"
DAYS = 21
CONVERSION_DAYS = 14
DELIVERY_RATE = 0.92
LIFT_ON_DELIVERED = {"sms_a": 0.12, "sms_b": 0.04}


def pilot_definition() -> dict[str, Any]:
    return {
        "key": PILOT_KEY,
        "name": "SMS win-back, week 48",
        "channel": "sms",
        "hypothesis": "A personalised SMS brings lapsed customers back: +6-12% orders.",
        "owner": "crm-team",
        "holdout_share": 0.2,
        "variants": [{"key": "sms_a", "weight": 1}, {"key": "sms_b", "weight": 1}],
        "metrics": [
            {"key": "orders", "event": "order", "kind": "binary"},
            {"key": "order_count", "event": "order", "kind": "count"},
            {"key": "revenue", "event": "order", "kind": "sum"},
            {
                # Only messaged customers can unsubscribe: the holdout's rate is structurally
                # zero, so the guardrail is an absolute cap, not a margin over the holdout.
                "key": "unsubscribes",
                "event": "unsubscribe",
                "kind": "binary",
                "guardrail": True,
                "direction": "decrease",
                "max_rate": 0.01,
            },
        ],
        "primary_metric": "orders",
        "min_lift": 0.06,
        "attribution_window_days": 14,
        "covariate_lookback_days": 30,
        "planned_duration_days": 21,
        "costs": {"per_exposure": 0.02, "fixed": 500.0},
    }


@dataclass
class PilotSimulation:
    """The simulated customer base and everything that happens to it."""

    customers: int
    start: datetime
    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = self.customers
        self.ids = [f"cust-{i:07d}" for i in range(n)]
        # Monthly purchase rate: most customers rarely buy, a few buy often.
        self.rate = rng.gamma(shape=0.6, scale=0.12 / 0.6, size=n)
        self.assign_day = np.sort(rng.integers(0, DAYS, size=n))
        self.rng = rng
        self.delivered = np.zeros(n, dtype=bool)
        self.p_convert = np.zeros(n)

    def history_events(self) -> list[dict[str, Any]]:
        """Orders in the 30 days before each customer's assignment (pre-period covariate)."""
        rng = self.rng
        counts = rng.poisson(self.rate)
        events = []
        for i in np.flatnonzero(counts):
            assigned = self.start + timedelta(days=int(self.assign_day[i]))
            for j in range(counts[i]):
                ts = assigned - timedelta(days=float(rng.uniform(0.01, 30)))
                events.append(self._order(int(i), ts, f"hist-{i}-{j}"))
        return events

    def _order(self, i: int, ts: datetime, event_id: str) -> dict[str, Any]:
        value = round(float(self.rng.lognormal(mean=3.6, sigma=0.5)), 2)
        return {
            "type": "conversion",
            "id": event_id,
            "customer_id": self.ids[i],
            "event": "order",
            "ts": ts.isoformat(),
            "value": value,
        }

    def outcome_events(self, cohort: np.ndarray, groups: dict[str, str]) -> list[dict[str, Any]]:
        """Exposures and purchases after assignment of ``cohort``, given the service's groups."""
        rng = self.rng
        events: list[dict[str, Any]] = []
        for i in cohort.tolist():
            cid = self.ids[i]
            group = groups[cid]
            assigned = self.start + timedelta(days=int(self.assign_day[i]), hours=9)
            multiplier = 1.0
            if group in LIFT_ON_DELIVERED and rng.random() < DELIVERY_RATE:
                self.delivered[i] = True
                multiplier += LIFT_ON_DELIVERED[group]
                events.append(
                    {
                        "type": "exposure",
                        "id": f"sms-{i}",
                        "customer_id": cid,
                        "experiment": PILOT_KEY,
                        "ts": (assigned + timedelta(minutes=5)).isoformat(),
                    }
                )
            p = 1 - math.exp(-self.rate[i] * multiplier * CONVERSION_DAYS / 30)
            self.p_convert[i] = p
            if rng.random() < p:
                ts = assigned + timedelta(days=float(rng.uniform(0, CONVERSION_DAYS)))
                events.append(self._order(i, ts, f"ord-{i}"))
            if self.delivered[i] and rng.random() < 0.004:
                ts = assigned + timedelta(hours=float(rng.uniform(0.1, 48)))
                events.append(
                    {
                        "type": "conversion",
                        "id": f"unsub-{i}",
                        "customer_id": cid,
                        "event": "unsubscribe",
                        "ts": ts.isoformat(),
                    }
                )
        return events

    def true_relative_lift(self, groups: dict[str, str], variant: str) -> float:
        """The expected ITT lift of purchase probability, from the simulation's own
        probabilities (what an infinitely large pilot would measure)."""
        g = np.array([groups[c] for c in self.ids])
        mask = g == variant
        baseline = 1 - np.exp(-self.rate[mask] * CONVERSION_DAYS / 30)
        return float(self.p_convert[mask].mean() / baseline.mean() - 1)


def _fmt_ci(ci: list[float] | None, pct: bool = True) -> str:
    if ci is None:
        return "n/a"
    return f"[{ci[0]:+.1%}, {ci[1]:+.1%}]" if pct else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"


def format_results(results: dict[str, Any], true_lift: dict[str, float] | None = None) -> str:
    """A plain-text view of a results document with the inputs of the scale/stop decision."""
    lines = [
        f"Pilot {results['experiment']} ({results['status']}), as of {results['as_of']},"
        f" {results['method']} inference, alpha {results['alpha']}, minimum worthwhile lift"
        f" {results['min_lift']:.0%}",
        "",
        f"{'group':<10}{'customers':>11}{'exposed':>10}  metrics (mean)",
    ]
    for arm in results["arms"]:
        means = ", ".join(f"{k} {v['mean']:.4f}" for k, v in arm["metrics"].items())
        lines.append(f"{arm['group']:<10}{arm['customers']:>11,}{arm['exposed']:>10,}  {means}")
    lines += [
        "",
        f"{'variant':<9}{'metric':<14}{'rel. lift':>10}  {'95% CI':<20}{'p':>9}"
        f"{'incremental':>13}  {'true lift' if true_lift else ''}",
    ]
    for c in results["comparisons"]:
        rel = "n/a" if c["relative_lift"] is None else f"{c['relative_lift']:+.1%}"
        p = "n/a" if c["p_value"] is None else f"{c['p_value']:.4f}"
        inc = c["incremental_conversions"]
        inc_s = "" if inc is None else f"{inc:+,.0f}"
        truth = ""
        if true_lift and c["metric"] == results["primary_metric"]:
            truth = f"{true_lift.get(c['variant'], float('nan')):+.1%}"
        flag = " (guardrail)" if c["guardrail"] else ""
        g = c["guardrail"]
        if g and g["rule"] == "max_rate":  # a structural zero: the rate against its cap
            rel = "n/a" if g["rate"] is None else f"{g['rate']:.3%}"
        lines.append(
            f"{c['variant']:<9}{c['metric'] + flag:<14}{rel:>10}  {_fmt_ci(c['relative_ci']):<20}"
            f"{p:>9}{inc_s:>13}  {truth}"
        )
        if g:
            bound = "n/a" if g["bound"] is None else f"{g['bound']:.3%}"
            lines.append(f"{'':<9}  guardrail {g['verdict']}: upper bound {bound} against"
                         f" {g['rule'].replace('_', ' ')} {g['threshold']:.3%}")  # fmt: skip
    rev = results["revenue"]
    if rev["incremental_revenue"] is not None:
        roi = rev["incremental_roi"]
        lines += [
            "",
            f"Incremental revenue {rev['incremental_revenue']:,.0f}, cost"
            f" {rev['cost']:,.0f}, incremental ROI"
            f" {'n/a' if roi is None else f'{roi:+.2f}'}",
        ]
    for m in rev.get("variants", []):
        if m.get("incremental_profit") is None:
            continue
        roi_ci = m["incremental_roi_ci"]
        roi_text = "n/a" if roi_ci is None else f"[{roi_ci[0]:+.2f}, {roi_ci[1]:+.2f}]"
        lines.append(
            f"  {m['variant']}: incremental profit {m['incremental_profit']:,.0f}, cost"
            f" {m['cost']:,.0f}, ROI {roi_text} ({m['roi_verdict']})"
        )
    srm = results["srm"]
    lines.append(
        f"Sample-ratio check: p = {srm['p_value']:.3f} ({'ok' if srm['ok'] else 'FAILED'})"
    )
    exposure = {c["variant"]: c["exposure_rate"] for c in results["comparisons"]}
    lines.append("Exposure rate: " + ", ".join(f"{k} {v:.1%}" for k, v in exposure.items()))
    for warning in results["warnings"]:
        lines.append(f"WARNING: {warning}")
    decision = results.get("decision")
    if decision:
        lines += ["", f"Recommended decision: {decision['action'].upper()}"]
        lines.append(
            "Decision per variant: "
            + ", ".join(f"{v['variant']} {v['action'].upper()}" for v in decision["variants"])
        )
        lines += [f"  - {reason}" for reason in decision["reasons"]]
    return "\n".join(lines)


def _post(client: httpx.Client, path: str, **kwargs: Any) -> Any:
    response = client.post(path, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    return response.json()


def _send_due(
    client: httpx.Client, pending: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Post (as NDJSON, in batches of 100k) the events whose time has come; keep the rest."""
    cutoff = now.isoformat()
    due = [e for e in pending if e["ts"] < cutoff]
    for start in range(0, len(due), 100_000):
        body = b"\n".join(json.dumps(e).encode() for e in due[start : start + 100_000])
        _post(client, "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})
    return [e for e in pending if e["ts"] >= cutoff]


def drive(client: httpx.Client, clock: SimulatedClock, sim: PilotSimulation) -> dict[str, Any]:
    """Run the pilot through the API: create, start, assign daily, log events as they happen,
    read the results at the end of the third week."""
    clock.set(sim.start - timedelta(days=1))
    _post(client, "/v1/experiments", json=pilot_definition())
    pending = sim.history_events()  # all ISO strings share one zone, so they sort as times
    pending = _send_due(client, pending, clock())
    clock.set(sim.start)
    _post(client, f"/v1/experiments/{PILOT_KEY}/start")

    groups: dict[str, str] = {}
    for day in range(DAYS):
        clock.set(sim.start + timedelta(days=day, hours=9))
        if day and day % 7 == 0:  # Monday morning: the weekly review publishes last week
            _post(client, "/v1/reports", json={})
        pending = _send_due(client, pending, clock())
        cohort = np.flatnonzero(sim.assign_day == day)
        ids = [sim.ids[i] for i in cohort.tolist()]
        for start in range(0, len(ids), 100_000):
            answer = _post(
                client,
                f"/v1/experiments/{PILOT_KEY}/assignments",
                json={"customer_ids": ids[start : start + 100_000]},
            )
            groups.update({a["customer_id"]: a["group"] for a in answer["assignments"]})
        pending += sim.outcome_events(cohort, groups)
        clock.set(sim.start + timedelta(days=day + 1))
        pending = _send_due(client, pending, clock())
    results = client.get(f"/v1/experiments/{PILOT_KEY}/results")  # sequential while running
    results.raise_for_status()
    truth = {v: sim.true_relative_lift(groups, v) for v in LIFT_ON_DELIVERED}
    review = client.get("/v1/reports/weekly", headers={"Accept": "text/markdown"})
    review.raise_for_status()
    return {"results": results.json(), "true_lift": truth, "review": review.text}


def run_demo(
    *, database: str, host: str, port: int, customers: int, keep_serving: bool, seed: int
) -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)
    start = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: ISO weeks 45-47
    clock = SimulatedClock(start)
    app = create_app(Settings(database_url=database, clock=clock))
    server = ThreadedServer(app, host, port or free_port(host))
    server.start()
    print(
        f"pilotlift demo: serving on {server.url} (SQLite file {database});"
        f" simulating {customers:,} customers over {DAYS} days...",
        flush=True,
    )
    began = time.perf_counter()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with httpx.Client(base_url=server.url, timeout=300) as client:
        outcome = drive(client, clock, PilotSimulation(customers, start, seed))
    print(f"simulation done in {time.perf_counter() - began:.1f} s\n")
    print(format_results(outcome["results"], outcome["true_lift"]))
    print("\n" + "=" * 100 + "\n")
    print(outcome["review"])
    if not keep_serving:
        server.stop()
        return 0
    print(
        f"\nStill serving: API docs at {server.url}/schema (Swagger UI at"
        f" {server.url}/schema/swagger), results at"
        f" {server.url}/v1/experiments/{PILOT_KEY}/results, the weekly review as a page at"
        f" {server.url}/v1/reports/weekly?format=html. Ctrl-C to stop.",
        flush=True,
    )
    try:
        while server.thread.is_alive():
            server.thread.join(timeout=1)
    except KeyboardInterrupt:
        server.stop()
    return 0
