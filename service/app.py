"""The application factory: one :func:`create_app` from explicit :class:`Settings`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from sqlalchemy import Engine

from service.runtime.auth import actor_of, require_scope
from service.admin.controller import audit_trail, erase_customer
from service.admin.keys import KeyRing
from service.assignment.assigner import Assigner
from service.assignment.controller import AssignmentController
from service.errors import PilotliftError
from service.events.controller import ingest
from service.pilots.controller import PilotController
from service.reports.controller import ReportController, decisions
from service.reports.schedule import parse_schedule, run_schedule
from service.results.controller import analyze, plan, results, timeseries
from service.runtime.controller import health, ready
from service.runtime.logs import request_id_middleware
from service.settings import Settings
from service.storage.engine import create_storage_engine, migrate

__all__ = ["create_app"]

log = logging.getLogger("pilotlift")


def _error(status: int, detail: str, extra: Any = None) -> Response[dict[str, Any]]:
    return Response({"status_code": status, "detail": detail, "extra": extra}, status_code=status)


def _domain_error(_: Request[Any, Any, Any], exc: PilotliftError) -> Response[dict[str, Any]]:
    return _error(exc.status_code, exc.detail, exc.extra)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Litestar's decode failures become 422 with msgspec's message naming the field."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    messages = [
        f"{p.get('message')}"
        + (f" (field {p['key']!r} in {p.get('source', 'body')})" if p.get("key") else "")
        for p in problems
        if isinstance(p, dict)
    ]
    detail = "Invalid request: " + "; ".join(messages) if messages else exc.detail
    return _error(422, detail, problems or None)


def _too_large(request: Request[Any, Any, Any], _exc: Exception) -> Response[dict[str, Any]]:
    limit = request.app.state.max_body_bytes
    return _error(
        413,
        f"The request body is larger than this server accepts ({limit:,} bytes,"
        " PILOTLIFT_MAX_BODY_BYTES); split the batch.",
    )


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(500, "Internal error; it has been logged. Retrying the request is safe.")


def _actor(request: Request[Any, Any, Any]) -> str:
    return actor_of(request)


class _Schedule:
    """The optional background task that publishes the weekly review (see reports.schedule)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.settings.report_schedule:
            self.task = asyncio.create_task(run_schedule(self.engine, self.settings))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class PrometheusEndpoint(PrometheusController):
    path = "/metrics"


def create_app(settings: Settings, *, engine: Engine | None = None) -> Litestar:
    """Build the service. ``engine`` may be shared by the caller (tests, benchmarks)."""
    if settings.report_schedule:
        parse_schedule(settings.report_schedule)  # fail at start, not at the first tick
    engine = engine or create_storage_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    schedule = _Schedule(engine, settings)
    prometheus = PrometheusConfig(app_name="pilotlift", prefix="pilotlift", group_path=True)
    return Litestar(
        route_handlers=[
            PilotController,
            AssignmentController,
            ingest,
            results,
            timeseries,
            analyze,
            plan,
            ReportController,
            decisions,
            erase_customer,
            audit_trail,
            health,
            ready,
            PrometheusEndpoint,
        ],
        dependencies={
            "engine": Provide(lambda: engine, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "actor": Provide(_actor, sync_to_thread=False),
        },
        guards=[require_scope],
        state=State(
            {
                "keyring": KeyRing(engine),
                # Read directly by the assignment handler: its hot path resolves no dependency.
                "assigner": Assigner(engine),
                "settings": settings,
                "allow_open": settings.allow_open,
                "max_body_bytes": settings.max_body_bytes,
            }
        ),
        exception_handlers={
            PilotliftError: _domain_error,
            ValidationException: _validation_error,
            413: _too_large,
            500: _unexpected_error,
        },
        middleware=[request_id_middleware, prometheus.middleware],
        openapi_config=OpenAPIConfig(
            title="pilotlift",
            version="1",
            description="Randomized holdouts, exposures, conversions and incremental lift for"
            " marketing pilots.",
            path="/schema",
            render_plugins=[RedocRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        request_max_body_size=settings.max_body_bytes,
        on_startup=[schedule.start],
        on_shutdown=[schedule.stop, engine.dispose],
        # Log our own errors without taking over the root logger of the host process. 4xx are
        # the client's to fix and are not logged as errors; 500s are logged by the handler.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        debug=False,
    )
