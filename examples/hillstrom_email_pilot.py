"""The MineThatData e-mail experiment (Hillstrom, 2008) as an externally randomized pilot.

64,000 customers were randomized into Mens E-Mail, Womens E-Mail and No E-Mail (the holdout)
before the data reached us, so the assignment is *imported*, not re-drawn. The campaign
happened on one day; outcomes were tracked for two weeks. This script sends through the HTTP
API: the import, one exposure per e-mailed customer, a ``visit`` event per visitor, an
``order`` conversion with the spend as value per buyer, and the pre-period ``history`` (dollars
spent in the past year) as an ``order`` the day before the campaign: inside the covariate
lookback, outside the attribution window, so it is the pre-period covariate of ``spend``.
Then it prints the results.

Run against a server (``pilotlift serve``) with::

    python examples/hillstrom_email_pilot.py --url http://127.0.0.1:8000

or without ``--url`` to start one in-process on a temporary SQLite file.
"""

from __future__ import annotations

import csv
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from service.testing import local_service, run_example

DATA = Path(__file__).parent / "data" / "hillstrom.csv"
KEY = "hillstrom-email"
CAMPAIGN = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the original date is not in the data
GROUPS = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "holdout"}

PILOT = {
    "key": KEY,
    "name": "Hillstrom e-mail challenge (2008)",
    "channel": "email",
    "hypothesis": "A merchandise e-mail raises site visits and purchases in the next two weeks.",
    "holdout_share": 1 / 3,
    "variants": [{"key": "mens"}, {"key": "womens"}],
    "metrics": [
        {"key": "conversion", "event": "order", "kind": "binary"},
        {"key": "visit", "event": "visit", "kind": "binary"},
        {"key": "spend", "event": "order", "kind": "sum"},
    ],
    "primary_metric": "conversion",
    "min_lift": 0.05,
    "attribution_window_days": 14,
    "covariate_lookback_days": 7,
    "planned_duration_days": 14,
}


def read_rows(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def customer_id(index: int) -> str:
    return f"hillstrom-{index:05d}"


def events_for(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Exposures, visits, orders and pre-period history for every customer."""
    events: list[dict[str, Any]] = []
    sent = (CAMPAIGN + timedelta(minutes=1)).isoformat()
    later = (CAMPAIGN + timedelta(days=3)).isoformat()
    before = (CAMPAIGN - timedelta(days=1)).isoformat()
    for i, row in enumerate(rows):
        cid = customer_id(i)
        if GROUPS[row["segment"]] != "holdout":
            events.append(
                {
                    "id": f"email-{i}",
                    "type": "exposure",
                    "customer_id": cid,
                    "experiment": KEY,
                    "ts": sent,
                }
            )
        if row["visit"] == "1":
            events.append(
                {
                    "id": f"visit-{i}",
                    "type": "conversion",
                    "customer_id": cid,
                    "event": "visit",
                    "ts": later,
                }
            )
        if row["conversion"] == "1":
            events.append(
                {
                    "id": f"order-{i}",
                    "type": "conversion",
                    "customer_id": cid,
                    "event": "order",
                    "ts": later,
                    "value": float(row["spend"]),
                }
            )
        # Last year's spend as one pre-assignment order: the covariate of ``spend``.
        events.append(
            {
                "id": f"history-{i}",
                "type": "conversion",
                "customer_id": cid,
                "event": "order",
                "ts": before,
                "value": float(row["history"]),
            }
        )
    return events


def check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def fetch_results(client: httpx.Client, *, cuped: bool) -> dict[str, Any]:
    """Fixed-horizon results (the pilot is over), with or without the CUPED adjustment."""
    as_of = (CAMPAIGN + timedelta(days=15)).isoformat()
    params = {"as_of": as_of, "method": "fixed", "cuped": str(cuped).lower()}
    return check(client.get(f"/v1/experiments/{KEY}/results", params=params))  # type: ignore[no-any-return]


def load_pilot(client: httpx.Client, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Create, import, send events; return the plain fixed-horizon results (no CUPED)."""
    check(client.post("/v1/experiments", json=PILOT))
    assignments = [
        {
            "customer_id": customer_id(i),
            "group": GROUPS[row["segment"]],
            "assigned_at": CAMPAIGN.isoformat(),
        }
        for i, row in enumerate(rows)
    ]
    check(
        client.post(f"/v1/experiments/{KEY}/assignments/import", json={"assignments": assignments})
    )
    check(client.post(f"/v1/experiments/{KEY}/start"))
    events = events_for(rows)
    for start in range(0, len(events), 100_000):
        check(client.post("/v1/events", json={"events": events[start : start + 100_000]}))
    check(client.post(f"/v1/experiments/{KEY}/stop"))
    return fetch_results(client, cuped=False)


def _campaign_clock() -> datetime:
    """The campaign is in the past: the service's clock sits just after it."""
    return CAMPAIGN + timedelta(days=15)


def local_server(database_url: str | None = None) -> AbstractContextManager[str]:
    """An in-process service on ``database_url`` (default: a temporary SQLite file)."""
    return local_service("hillstrom.db", database_url=database_url, clock=_campaign_clock)


def main() -> None:
    from service.demo.run import format_results

    rows = read_rows()
    run_example(
        __doc__.splitlines()[0],
        "hillstrom.db",
        lambda client: format_results(load_pilot(client, rows)),
        clock=_campaign_clock,
    )


if __name__ == "__main__":
    main()
