"""The HTTP request metrics: Litestar's Prometheus middleware, configured here once, and the
same metrics for a route answered outside Litestar (:mod:`service.assignment.lean_route`)."""

from __future__ import annotations

import time
from typing import Any

from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware

__all__ = ["PROMETHEUS", "RouteMetrics"]

PROMETHEUS = PrometheusConfig(app_name="pilotlift", prefix="pilotlift", group_path=True)
"""``pilotlift_requests_total``, ``pilotlift_request_duration_seconds`` and
``pilotlift_requests_in_progress`` by method, route template and status."""


async def _unused(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    raise RuntimeError("only the middleware's metrics are used")


class RouteMetrics:
    """The request metrics of one route's ``200`` answers, under the labels Litestar's
    middleware gives them (``path`` is the route's template), so a dashboard sees one series
    whichever code answered."""

    def __init__(self, method: str, path_template: str) -> None:
        middleware = PrometheusMiddleware(_unused, PROMETHEUS)
        labels: dict[str, str | int | float] = {
            "method": method,
            "path": path_template,
            "status_code": 200,
            "app_name": PROMETHEUS.app_name,
        }
        values = [str(v) for v in labels.values()]
        self._in_progress = middleware.requests_in_progress(labels).labels(*values)
        self._count = middleware.request_count(labels).labels(*values)
        self._time = middleware.request_time(labels).labels(*values)

    def started(self) -> float:
        self._in_progress.inc()
        return time.perf_counter()

    def answered(self, started: float) -> None:
        self._in_progress.dec()
        self._count.inc()
        self._time.observe(time.perf_counter() - started)

    def handed_on(self) -> None:
        """The request went on to the app, whose middleware counts it."""
        self._in_progress.dec()
