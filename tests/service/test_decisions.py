"""Decisions a weekly review can act on, against a real server on SQLite and PostgreSQL
(issue 14): structural-zero guardrails judged against a cap, relative margins, costs that make
the ROI negative (and restated late), and holdout contamination tolerated up to its share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

CUSTOMERS = 6000


def _metrics(guardrail: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": "orders", "event": "order", "kind": "binary"},
        {"key": "revenue", "event": "order", "kind": "sum"},
        {"event": "unsubscribe", "kind": "binary", "guardrail": True, "direction": "decrease",
         **guardrail},
    ]  # fmt: skip


def _run(
    client: httpx.Client,
    key: str,
    *,
    guardrail: dict[str, Any],
    unsubscribe: tuple[float, float] = (0.0, 0.001),
    per_exposure: float = 0.01,
    holdout_exposed: float = 0.0,
    seed: int = 1,
) -> dict[str, Any]:
    """A pilot of 6,000 customers: orders +50 % in the variant; ``unsubscribe`` the rates in
    (holdout, variant); ``holdout_exposed`` the share of the holdout messaged by mistake."""
    body = {
        "key": key, "name": key, "channel": "sms", "holdout_share": 0.5,
        "variants": [{"key": "sms"}], "metrics": _metrics(guardrail),
        "primary_metric": "orders", "min_lift": 0.05, "min_duration_days": 0,
        "costs": {"per_exposure": per_exposure, "fixed": 0.0},
    }  # fmt: skip
    assert client.post("/v1/experiments", json=body).status_code == 201
    assert client.post(f"/v1/experiments/{key}/start").status_code == 200
    ids = [f"{key}-{i}" for i in range(CUSTOMERS)]
    groups = [a["group"] for a in client.post(
        f"/v1/experiments/{key}/assignments", json={"customer_ids": ids}
    ).json()["assignments"]]  # fmt: skip
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC).isoformat()
    events: list[dict[str, Any]] = []
    for cid, group in zip(ids, groups):
        treated = group == "sms"
        if treated or rng.random() < holdout_exposed:
            events.append({"id": f"x-{cid}", "type": "exposure", "customer_id": cid,
                           "experiment": key, "ts": now})  # fmt: skip
        if rng.random() < (0.15 if treated else 0.10):
            events.append({"id": f"o-{cid}", "type": "conversion", "customer_id": cid,
                           "event": "order", "value": 20.0, "ts": now})  # fmt: skip
        if rng.random() < unsubscribe[1 if treated else 0]:
            events.append({"id": f"u-{cid}", "type": "conversion", "customer_id": cid,
                           "event": "unsubscribe", "ts": now})  # fmt: skip
    assert client.post("/v1/events", json={"events": events}).status_code == 200
    return _results(client, key)


def _results(client: httpx.Client, key: str) -> dict[str, Any]:
    r = client.get(f"/v1/experiments/{key}/results", params={"method": "fixed"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _guardrail(results: dict[str, Any]) -> dict[str, Any]:
    c = next(c for c in results["comparisons"] if c["metric"] == "unsubscribe")
    return dict(c["guardrail"])


@pytest.mark.slow
def test_structural_zero_guardrail_is_judged_against_its_cap(client: httpx.Client) -> None:
    within = _run(client, "cap-ok", guardrail={"key": "unsubscribe", "max_rate": 0.005})
    g = _guardrail(within)
    assert g["rule"] == "max_rate" and g["threshold"] == 0.005
    assert g["verdict"] == "non_inferior" and g["bound"] < 0.005 and g["rate"] < 0.003
    assert within["decision"]["action"] == "scale", within["decision"]
    assert within["decision"]["variants"] == [
        {
            "variant": "sms",
            "action": "scale",
            "reasons": within["decision"]["variants"][0]["reasons"],
        }
    ]
    beyond = _run(client, "cap-bad", guardrail={"key": "unsubscribe", "max_rate": 0.005},
                  unsubscribe=(0.0, 0.02), seed=2)  # fmt: skip
    g = _guardrail(beyond)
    assert g["verdict"] == "harmed" and g["lower"] > 0.005
    assert beyond["decision"]["action"] == "stop"
    assert any("guardrail unsubscribe is harmed" in r for r in beyond["decision"]["reasons"])


@pytest.mark.slow
def test_relative_margin_respected_and_exceeded(client: httpx.Client) -> None:
    ok = _run(client, "margin-ok", guardrail={"key": "unsubscribe", "margin": 0.5},
              unsubscribe=(0.05, 0.05), seed=3)  # fmt: skip
    g = _guardrail(ok)
    assert g["rule"] == "relative_margin" and g["verdict"] == "non_inferior" and g["bound"] < 0.5
    assert ok["decision"]["action"] == "scale"
    bad = _run(client, "margin-bad", guardrail={"key": "unsubscribe", "margin": 0.5},
               unsubscribe=(0.05, 0.10), seed=4)  # fmt: skip
    g = _guardrail(bad)
    assert g["verdict"] == "harmed" and g["lower"] > 0.5
    assert bad["decision"]["action"] == "stop"


@pytest.mark.slow
def test_costs_that_make_roi_negative_stop_and_late_restatements_update(
    client: httpx.Client,
) -> None:
    guard = {"key": "unsubscribe", "max_rate": 0.01}
    expensive = _run(client, "roi-neg", guardrail=guard, per_exposure=50.0, seed=5)
    money = expensive["revenue"]["variants"][0]
    assert money["roi_verdict"] == "below" and money["incremental_roi_ci"][1] < 0
    # Profit = margin × incremental revenue − cost, to the cent, with its interval.
    assert money["incremental_profit"] == pytest.approx(
        money["incremental_revenue"] - money["cost"], abs=0.01
    )
    assert expensive["decision"]["action"] == "stop"

    late = _run(client, "roi-late", guardrail=guard, seed=6)
    assert late["decision"]["action"] == "scale"
    day = datetime.now(UTC).date().isoformat()
    invoice = {"id": "inv-1", "date": day, "amount": 1_000_000.0, "kind": "media"}
    r = client.post("/v1/experiments/roi-late/costs", json={"rows": [invoice]})
    assert r.status_code == 200 and r.json() == {"stored": 1, "replaced": 0}
    costly = _results(client, "roi-late")
    assert costly["revenue"]["costs_by_kind"] == {"media": 1_000_000.0}
    assert costly["decision"]["action"] == "stop"
    # The invoice is restated: re-posting its id replaces it, and the decision follows.
    r = client.post("/v1/experiments/roi-late/costs", json={"rows": [dict(invoice, amount=50.0)]})
    assert r.json() == {"stored": 0, "replaced": 1}
    assert _results(client, "roi-late")["decision"]["action"] == "scale"
    listed = client.get("/v1/experiments/roi-late/costs").json()
    assert listed["total"] == 50.0 and [row["id"] for row in listed["rows"]] == ["inv-1"]


@pytest.mark.slow
def test_holdout_contamination_is_tolerated_up_to_its_share(client: httpx.Client) -> None:
    guard = {"key": "unsubscribe", "max_rate": 0.01}
    small = _run(client, "leak-small", guardrail=guard, holdout_exposed=0.002, seed=7)
    holdout = next(a for a in small["arms"] if a["group"] == "holdout")
    assert 0 < holdout["exposed"] / holdout["customers"] < 0.01
    assert any("holdout customer(s)" in w for w in small["warnings"])
    assert small["decision"]["action"] == "scale"
    big = _run(client, "leak-big", guardrail=guard, holdout_exposed=0.05, seed=8)
    assert big["decision"]["action"] == "check_data"
    assert "of the holdout" in big["decision"]["reasons"][0]


def test_bad_decision_inputs_get_a_sentence(client: httpx.Client) -> None:
    base = {"key": "bad-guard", "name": "x", "channel": "sms", "holdout_share": 0.5,
            "variants": [{"key": "sms"}], "min_lift": 0.05}  # fmt: skip
    cases = [
        ({"key": "u", "event": "u", "kind": "binary", "guardrail": True, "max_rate": 0.01},
         "good direction is 'decrease'"),
        ({"key": "u", "event": "u", "kind": "sum", "guardrail": True, "direction": "decrease",
          "max_rate": 0.01}, "binary or count"),
        ({"key": "u", "event": "u", "kind": "binary", "guardrail": True, "direction": "decrease",
          "max_rate": 0.01, "margin": 0.1}, "not both"),
        ({"key": "u", "event": "u", "kind": "binary", "margin": 0.1}, "no guardrail"),
    ]  # fmt: skip
    for guard, phrase in cases:
        metrics = [{"key": "orders", "event": "order", "kind": "binary"}, guard]
        r = client.post("/v1/experiments", json=dict(base, metrics=metrics))
        assert r.status_code == 422 and phrase in r.json()["detail"], (guard, r.text)
    assert client.post("/v1/experiments", json=dict(base, metrics=[{"key": "orders",
        "event": "order", "kind": "binary"}])).status_code == 201  # fmt: skip
    bad_rows = [
        ({"id": "a", "date": "2026-11-01", "amount": -5.0, "kind": "media"}, "amount"),
        ({"id": "a", "date": "2026-11-01", "amount": 5.0, "kind": "gifts"}, "kind"),
        ({"id": "a", "date": "2026-11-01", "amount": 5.0, "kind": "media", "variant": "nope"},
         "unknown variant"),
    ]  # fmt: skip
    for row, phrase in bad_rows:
        r = client.post("/v1/experiments/bad-guard/costs", json={"rows": [row]})
        assert r.status_code == 422 and phrase in r.text, r.text
    assert client.get("/v1/experiments/bad-guard/costs").json()["rows"] == []
    assert client.post("/v1/experiments/nope/costs", json={"rows": [bad_rows[0][0]]}
                       ).status_code in (404, 422)  # fmt: skip
    # Sums no data could produce: 422 naming the arm and the rule, never a silent number.
    arms = [{"group": "holdout", "n": 100, "sum": 10, "sum_squares": 10},
            {"group": "sms", "n": 100, "sum": 50, "sum_squares": 1}]  # fmt: skip
    r = client.post("/v1/analyze", json={"metric_kind": "mean", "arms": arms})
    assert r.status_code == 422 and "'sms'" in r.json()["detail"]
    binary = [dict(arms[0], sum_squares=9), dict(arms[1], sum_squares=50)]
    r = client.post("/v1/analyze", json={"metric_kind": "binary", "arms": binary})
    assert r.status_code == 422 and "'holdout'" in r.json()["detail"]
    huge = [dict(a, n=10**30) for a in arms]
    assert client.post("/v1/analyze", json={"metric_kind": "mean", "arms": huge}).status_code == 422
    # Plans no data can serve: a sentence, never "cannot convert float NaN to integer".
    r = client.post("/v1/plan", json={"baseline": 1e-9, "min_lift": 1e-9, "sd": 1e12,
                                      "daily_customers": 1})  # fmt: skip
    assert r.status_code == 422 and "min_lift" in r.json()["detail"], r.text
    r = client.post("/v1/plan", json={"baseline": 0.05, "min_lift": 0.06,
                                      "daily_customers": 10**305})  # fmt: skip
    assert r.status_code == 422
