"""The notebook client against a real server, and its error paths with httpx.MockTransport."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from jupyter_ext import Client, PilotliftClientError, PilotResults
from service.schema import Pilot, PlanResponse, Results, WeeklyReport
from tests.service.report_data import ReportData


def test_client_returns_the_service_types_and_frames(
    service_url: str, pilot_data: ReportData
) -> None:
    with Client(service_url) as client:
        pilots = client.pilots()
        assert [p.key for p in pilots] == ["winner", "loser", "unclear", "skewed", "finished"]
        assert all(isinstance(p, Pilot) for p in pilots)
        assert client.pilot("loser").min_lift == 0.05
        results = client.results("winner", method="fixed")
        assert isinstance(results, Results) and isinstance(results, PilotResults)
        frame = results.to_frame()
        assert list(frame["metric"]) == ["orders", "revenue", "unsubscribes"]
        orders = next(c for c in results.comparisons if c.metric == "orders")
        row = frame.set_index("metric").loc["orders"]
        assert row["relative_lift"] == pytest.approx(orders.relative_lift)
        assert row["relative_ci_low"] == pytest.approx(orders.relative_ci[0])
        assert row["customers"] == next(a.customers for a in results.arms if a.group == "sms")
        arms = results.arms_frame()
        assert set(arms["group"]) == {"holdout", "sms"} and len(arms) == 6
        series = client.timeseries("winner", method="fixed").to_frame()
        assert isinstance(series, pd.DataFrame) and series["date"].is_monotonic_increasing
        assert series["customers"].iloc[-1] == sum(a.customers for a in results.arms)
        plan = client.plan(baseline=0.05, min_lift=0.06, holdout_share=0.1, daily_customers=20000)
        # Sized for the default group-sequential design of four looks (24 days fixed-horizon).
        assert isinstance(plan, PlanResponse) and plan.days == 25 and plan.looks == 4
        report = client.weekly_report(pilot_data.week2)
        assert isinstance(report, WeeklyReport) and report.summary.pilots == 5
        assert "# Weekly scale/stop review" in client.weekly_report_text(pilot_data.week2)


def test_service_errors_carry_the_service_message(service_url: str) -> None:
    with Client(service_url) as client:
        with pytest.raises(PilotliftClientError) as missing:
            client.results("nope")
        assert missing.value.status_code == 404 and "nope" in missing.value.detail
        with pytest.raises(PilotliftClientError) as invalid:
            client.plan(baseline=0.99, min_lift=0.5)
        assert invalid.value.status_code == 422 and "baseline" in invalid.value.detail


def _mock(status: int, body: dict[str, object]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer k-123"
        return httpx.Response(status, json=body)

    return Client("http://pilotlift.test", api_key="k-123", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "detail", "hint"),
    [
        (401, "Missing or unknown API key.", "valid API key"),
        (403, "This key lacks the 'read' scope.", "lacks the scope"),
        (404, "No pilot 'x'.", ""),
        (409, "Pilot 'x' is draft; only a running pilot assigns customers.", ""),
        (422, "Invalid request: week must look like 2026-W47", ""),
    ],
)
def test_error_statuses_become_one_exception(status: int, detail: str, hint: str) -> None:
    client = _mock(status, {"status_code": status, "detail": detail, "extra": [{"field": "w"}]})
    with pytest.raises(PilotliftClientError) as caught:
        client.results("x")
    err = caught.value
    assert err.status_code == status and err.detail.startswith(detail) and hint in err.detail
    assert err.extra == [{"field": "w"}]


def test_unreachable_service_is_a_readable_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = Client("http://127.0.0.1:9", transport=httpx.MockTransport(refuse))
    with pytest.raises(PilotliftClientError) as caught:
        client.pilots()
    assert caught.value.status_code is None
    assert "Cannot reach the pilotlift service at http://127.0.0.1:9" in caught.value.detail
