"""``Client``: the pilotlift HTTP API for notebooks, decoded into the service's own types.

Every failure is a :class:`~jupyter_ext._exceptions.PilotliftClientError` carrying the
service's message, so a notebook (or the dashboard widget) can show it as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
import msgspec
import pandas as pd

from jupyter_ext._exceptions import PilotliftClientError
from jupyter_ext.frames import PilotResults, PilotTimeseries, channel_frame
from service.schema import (
    Channel,
    ChannelList,
    ChannelResults,
    Pilot,
    PilotList,
    PlanRequest,
    PlanResponse,
    WeeklyReport,
)
from service.schema.common import Method

__all__ = ["Client"]

T = TypeVar("T")


def _query(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters as the service reads them: ``None`` left out (the service's default),
    booleans as ``true``/``false`` and datetimes in ISO 8601. One place, so that every call
    spells a flag or an ``as_of`` the same way."""
    encoded: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, datetime):
            value = value.isoformat()
        if value is not None:
            encoded[name] = value
    return encoded


class Client:
    """A connection to a pilotlift service.

    Parameters
    ----------
    url:
        Base URL, e.g. ``http://127.0.0.1:8000``.
    api_key:
        Sent as ``Authorization: Bearer <key>`` when given.
    timeout:
        Seconds per request (results of very large pilots take a few seconds).
    transport:
        An ``httpx`` transport; tests pass ``httpx.MockTransport``.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise PilotliftClientError(
                f"Cannot reach the pilotlift service at {self.url} ({type(exc).__name__}:"
                f" {exc}). Is it running? Start one with `pilotlift serve`."
            ) from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> PilotliftClientError:
        detail, extra = response.reason_phrase or "error", None
        try:
            body = response.json()
            detail = str(body.get("detail", detail))
            extra = body.get("extra")
        except ValueError:
            if response.text:
                detail = response.text[:500]
        hints = {
            401: " Connect with a valid API key: Client(url, api_key=...).",
            403: " This API key lacks the scope for this call.",
        }
        return PilotliftClientError(
            detail + hints.get(response.status_code, ""),
            status_code=response.status_code,
            extra=extra,
        )

    def _get(self, path: str, type: type[T], **params: Any) -> T:
        response = self._request("GET", path, params=_query(params))
        return msgspec.json.decode(response.content, type=type)

    # --- API ------------------------------------------------------------------------------

    def pilots(self, status: str | None = None) -> list[Pilot]:
        """Every pilot (optionally only those in ``status``), oldest first."""
        return self._get("/v1/experiments", PilotList, status=status).experiments

    def pilot(self, key: str) -> Pilot:
        return self._get(f"/v1/experiments/{key}", Pilot)

    def results(
        self,
        key: str,
        *,
        method: Method | None = None,
        cuped: bool = True,
        as_of: datetime | None = None,
    ) -> PilotResults:
        """Lift of every variant against the holdout (``.to_frame()`` for pandas)."""
        return self._get(
            f"/v1/experiments/{key}/results", PilotResults, method=method, cuped=cuped, as_of=as_of
        )

    def timeseries(
        self, key: str, *, method: Method | None = None, cuped: bool = True
    ) -> PilotTimeseries:
        """Daily cumulative lift of the primary metric (``.to_frame()`` for pandas)."""
        return self._get(
            f"/v1/experiments/{key}/timeseries", PilotTimeseries, method=method, cuped=cuped
        )

    def plan(self, **fields: Any) -> PlanResponse:
        """``POST /v1/plan``: baseline, min_lift, alpha, power, holdout_share, variants,
        daily_customers, sd (mean metrics). Invalid values raise with the service's message."""
        try:
            body = msgspec.json.encode(msgspec.convert(fields, PlanRequest))
        except msgspec.ValidationError as exc:  # same rules as the service, checked here first
            raise PilotliftClientError(str(exc), status_code=422) from exc
        response = self._request(
            "POST", "/v1/plan", content=body, headers={"Content-Type": "application/json"}
        )
        return msgspec.json.decode(response.content, type=PlanResponse)

    def weekly_report(self, week: str | None = None) -> WeeklyReport:
        """The weekly scale/stop review (default: the last complete ISO week)."""
        return self._get("/v1/reports/weekly", WeeklyReport, week=week)

    def channels(self) -> list[Channel]:
        """Every channel with a standing holdout, oldest first."""
        return self._get("/v1/channels", ChannelList).channels

    def channel_results(
        self,
        key: str,
        *,
        period: int | None = None,
        as_of: datetime | None = None,
        method: Method | None = None,
        cuped: bool = True,
    ) -> pd.DataFrame:
        """A channel against its standing holdout: one row per period (incremental revenue,
        cost, incremental profit and ROI with intervals); ``.attrs["results"]`` holds
        ``period`` (default the current one) in full, pilots' naive and shrunk sums included."""
        results = self._get(
            f"/v1/channels/{key}/results",
            ChannelResults,
            period=period,
            as_of=as_of,
            method=method,
            cuped=cuped,
        )
        return channel_frame(results)

    def weekly_report_text(
        self, week: str | None = None, *, format: Literal["md", "html"] = "md"
    ) -> str:
        """The review rendered by the service, as Markdown or a self-contained HTML page."""
        params = _query({"week": week, "format": format})
        return self._request("GET", "/v1/reports/weekly", params=params).text
