"""The application factory: one :func:`create_app` from explicit :class:`Settings`."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.constants import RESERVED_KWARGS
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIResponse, Operation, Parameter, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins.prometheus import PrometheusController
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from sqlalchemy import Engine
from swagger_ui_bundle import swagger_ui_path

from service.admin.controller import audit_trail, erase_customer
from service.admin.keys import KeyRing
from service.assignment.assigner import Assigner
from service.assignment.controller import AssignmentController
from service.assignment.lean_route import LeanAssignments
from service.channels.controller import ChannelController
from service.errors import PilotliftError
from service.events.controller import ingest
from service.geo.controller import design_geo_pilot, post_geo_metrics
from service.pilots.controller import PilotController
from service.reports.controller import ReportController, decisions
from service.reports.schedule import parse_schedule, run_schedule
from service.results.controller import analyze, plan, results, timeseries
from service.runtime.aggregation import run_aggregation
from service.runtime.auth import actor_of, require_scope
from service.runtime.background import BackgroundLoop
from service.runtime.controller import health, ready
from service.runtime.logs import request_id_middleware
from service.runtime.request_metrics import PROMETHEUS
from service.schema import ErrorItem, ErrorResponse
from service.settings import Settings
from service.storage.engine import create_storage_engine, migrate
from service.storage.faults import DATABASE_ERRORS, storage_error, summary

__all__ = ["create_app", "with_lean_route"]

log = logging.getLogger("pilotlift")


def _problem(item: Any) -> ErrorItem:
    if isinstance(item, ErrorItem):
        return item
    if isinstance(item, Mapping) and item.keys() & set(ErrorItem.__struct_fields__):
        plain = {k: v.value if isinstance(v, Enum) else v for k, v in item.items()}
        with contextlib.suppress(msgspec.ValidationError):
            return msgspec.convert(plain, ErrorItem)
    return ErrorItem(message=str(item))


def _problems(extra: Any) -> list[ErrorItem] | None:
    """An exception's ``extra`` as the documented list of problems: dicts keep exactly their
    keys (index, field, message; key, source from Litestar's decoding), a string becomes
    ``{"message": ...}``; nothing or an empty collection is ``null``."""
    if not extra:
        return None
    return [_problem(item) for item in (extra if isinstance(extra, list | tuple) else [extra])]


def _error(
    status: int, detail: str, extra: Any = None, headers: Mapping[str, str] | None = None
) -> Response[ErrorResponse]:
    body = ErrorResponse(status_code=status, detail=detail, extra=_problems(extra))
    return Response(body, status_code=status, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: PilotliftError) -> Response[ErrorResponse]:
    return _error(exc.status_code, exc.detail, exc.extra, exc.headers)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorResponse]:
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


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    """Litestar's own client errors (malformed JSON 400, unknown path 404, 405 with its
    ``Allow`` header) in the same shape as ours."""
    return _error(exc.status_code, exc.detail, exc.extra, exc.headers)


def _too_large(request: Request[Any, Any, Any], _exc: Exception) -> Response[ErrorResponse]:
    limit = request.app.state.max_body_bytes
    return _error(
        413,
        f"The request body is larger than this server accepts ({limit:,} bytes,"
        " PILOTLIFT_MAX_BODY_BYTES); split the batch.",
    )


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(500, "Internal error; it has been logged. Retrying the request is safe.")


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    """A storage fault answers what it is (503 unreachable, 507 full or read-only; see
    service.storage.faults); any other database error is a 500."""
    fault = storage_error(exc, write=request.method not in ("GET", "HEAD"))
    if fault is None:
        return _unexpected_error(request, exc)
    log.warning(
        "%s on %s %s: %s", fault.status_code, request.method, request.url.path, summary(exc)
    )
    return _domain_error(request, fault)


# --- the OpenAPI document: every client error is an ErrorResponse --------------------------

_MEANING = {
    400: "The body is not valid JSON.",
    401: "No API key, or an unknown or revoked one (only once keys exist).",
    403: "The API key's scope does not allow this call.",
    404: "Nothing of that name (pilot, assignment, published review, ...).",
    409: "The request contradicts the pilot's state or a recorded fact.",
    413: "The body is larger than this server accepts (PILOTLIFT_MAX_BODY_BYTES).",
    415: "The Content-Type is neither JSON nor NDJSON.",
    422: "A parameter or the body breaks a rule; 'extra' lists each problem.",
}

# What the route and the signature do not show: which operations can answer 409 or 415, and
# the endpoint that reads its body itself. The rest follows from them (see _error_statuses).
_DOMAIN_ERRORS: dict[str, tuple[int, ...]] = {
    "createPilot": (409,),
    "patchPilot": (409,),
    "startPilot": (409,),
    "stopPilot": (409,),
    "concludePilot": (409,),
    "assignCustomers": (409,),
    "importAssignments": (409,),
    "ingestEvents": (413, 415, 422),
    "publishWeeklyReport": (409,),
    "postGeoMetrics": (413, 415, 422),
    "designGeoPilot": (409,),
}


def _error_statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> set[int]:
    """401/403 for every guarded call; 404 when the path names something; 422 for any path or
    query parameter or body; 400 and 413 for a JSON body Litestar decodes; the domain's own
    answers from the table above."""
    if handler.opt.get("public"):
        return set()
    dependencies = handler.resolve_dependencies()
    inputs = set(handler.parsed_fn_signature.parameters)
    for provider in dependencies.values():
        inputs |= set(provider.parsed_fn_signature.parameters)
    body = "data" in inputs
    inputs -= set(dependencies) | (RESERVED_KWARGS - {"data"})
    statuses = {401, 403}
    if route.path_parameters:
        statuses.add(404)
    if inputs:
        statuses.add(422)
    if body:
        statuses |= {400, 413}
    if isinstance(handler.operation_id, str):
        statuses.update(_DOMAIN_ERRORS.get(handler.operation_id, ()))
    return statuses


def _without_null(schema: Schema | Reference) -> Schema | Reference:
    """``X | None`` as plain ``X``: a query string cannot carry ``null``, and generators turn
    the union into nested types (openapi-python-client: ``GetResultsMethodType1 | ...``)."""
    if not isinstance(schema, Schema):
        return schema
    if schema.one_of:
        kept = [
            s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)
        ]
        if len(kept) == 1 and isinstance(kept[0], Schema):
            outer = {f.name: getattr(schema, f.name) for f in dataclasses.fields(schema)}
            merged = {k: v for k, v in outer.items() if v is not None and k != "one_of"}
            return dataclasses.replace(kept[0], **merged)
        return dataclasses.replace(schema, one_of=kept)
    if isinstance(schema.type, list) and OpenAPIType.NULL in schema.type:
        types = [t for t in schema.type if t != OpenAPIType.NULL]
        enum = [v for v in schema.enum if v is not None] if schema.enum else schema.enum
        return dataclasses.replace(schema, type=types[0] if len(types) == 1 else types, enum=enum)
    return schema


@dataclasses.dataclass
class _Operation(Operation):
    """An operation as documented here: optional query parameters without ``null``, and no
    inline ``ValidationException`` 400, which Litestar adds to every operation with inputs
    (this service answers validation failures with 422; a 400 it does send, for a body that
    is not JSON, is an :class:`ErrorResponse` like every other client error)."""

    def __post_init__(self) -> None:
        self.parameters = [
            dataclasses.replace(p, schema=_without_null(p.schema))
            if isinstance(p, Parameter) and p.param_in == "query" and not p.required and p.schema
            else p
            for p in self.parameters or ()
        ] or None
        responses = self.responses or {}
        bad_request = responses.get("400")
        if isinstance(bad_request, OpenAPIResponse) and not all(
            isinstance(media.schema, Reference) for media in (bad_request.content or {}).values()
        ):
            del responses["400"]


def _document_errors(app: Litestar) -> None:
    """Give every operation its ErrorResponse answers (Litestar 2 takes ``responses`` per
    handler only, so they are set on the app's registered copies of the handlers)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, _ in route.route_handler_map.values():
            specs = {
                status: ResponseSpec(
                    ErrorResponse, description=_MEANING[status], generate_examples=False
                )
                for status in sorted(_error_statuses(route, handler))
            }
            handler.responses = {**specs, **(handler.responses or {})}
            handler.operation_class = _Operation


def _actor(request: Request[Any, Any, Any]) -> str:
    return actor_of(request)


class PrometheusEndpoint(PrometheusController):
    path = "/metrics"


# --- the API docs page, without internet ---------------------------------------------------

SWAGGER_ASSETS = "/schema/assets"
"""Swagger UI's files (the ``swagger-ui-dist`` build that ``swagger-ui-bundle-v2`` ships)."""


def _swagger_assets() -> Router:
    """Public like ``/health``: static files of a published package, no data. The docs page
    and the document themselves keep needing the ``read`` scope."""
    return create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[Path(str(swagger_ui_path))],
        name="swagger-ui-assets",
        opt={"public": True},
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86_400),
    )


def _swagger_ui() -> SwaggerRenderPlugin:
    """``/schema`` and ``/schema/swagger``: Swagger UI from this server, no CDN. (Redoc is gone:
    no maintained Python package ships its bundle without pulling in Django.)"""
    return SwaggerRenderPlugin(
        path="/swagger",
        js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
    )


def create_app(settings: Settings, *, engine: Engine | None = None) -> Litestar:
    """Build the service. ``engine`` may be shared by the caller (tests, benchmarks)."""
    if settings.report_schedule:
        parse_schedule(settings.report_schedule)  # fail at start, not at the first tick
    engine = engine or create_storage_engine(settings.database_url)
    if settings.migrate_on_start:
        migrate(engine)
    schedule = BackgroundLoop(
        partial(run_schedule, engine, settings) if settings.report_schedule else None
    )
    every = settings.aggregate_every_seconds
    aggregation = BackgroundLoop(partial(run_aggregation, engine, every) if every > 0 else None)
    app = Litestar(
        route_handlers=[
            PilotController,
            AssignmentController,
            ChannelController,
            ingest,
            post_geo_metrics,
            design_geo_pilot,
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
            _swagger_assets(),
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
            **dict.fromkeys(DATABASE_ERRORS, _database_error),
            ValidationException: _validation_error,
            HTTPException: _http_error,
            413: _too_large,
            500: _unexpected_error,
        },
        middleware=[request_id_middleware, PROMETHEUS.middleware],
        openapi_config=OpenAPIConfig(
            title="pilotlift",
            version="1",
            description="Randomized holdouts, exposures, conversions and incremental lift for"
            " marketing pilots.",
            path="/schema",
            render_plugins=[_swagger_ui()],
        ),
        request_max_body_size=settings.max_body_bytes,
        on_startup=[schedule.start, aggregation.start],
        on_shutdown=[schedule.stop, aggregation.stop, engine.dispose],
        # Log our own errors without taking over the root logger of the host process. 4xx are
        # the client's to fix and are not logged as errors; 500s are logged by the handler.
        logging_config=LoggingConfig(configure_root_logger=False, log_exceptions="never"),
        debug=False,
    )
    _document_errors(app)
    return app


def with_lean_route(app: Litestar) -> LeanAssignments:
    """The app as served: the lean route of single-customer assignment in front of it
    (:mod:`service.assignment.lean_route`)."""
    return LeanAssignments(
        app,  # type: ignore[arg-type]  # Litestar's scope is a TypedDict; the route's a mapping
        assigner=app.state.assigner,
        settings=app.state.settings,
        keyring=app.state.keyring,
        allow_open=app.state.allow_open,
    )
