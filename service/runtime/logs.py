"""Structured logs: one JSON object per line, and a request id on every response.

Each request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a new
one), returned in the ``X-Request-ID`` response header and written on the request's log line,
so a campaign tool's report of a failed call can be found in the service's logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "JsonFormatter",
    "configure_json_logging",
    "log_request",
    "request_id",
    "request_id_middleware",
]

access_log = logging.getLogger("pilotlift.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the ``pilotlift`` loggers (idempotent)."""
    logger = logging.getLogger("pilotlift")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def request_id(headers: Mapping[bytes, bytes]) -> str:
    """The caller's ``X-Request-ID`` (``headers`` by lower-case name) when it is a sane token,
    else a new id."""
    incoming = headers.get(b"x-request-id", b"").decode("latin-1")
    return incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex


def log_request(
    request_id: str, scope: Mapping[str, Any], status: int, started: float, actor: str | None
) -> None:
    """The request's line in the access log (``started`` from :func:`time.perf_counter`)."""
    access_log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "actor": actor,
        },
    )


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = request_id(dict(scope["headers"]))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            state = scope.get("state", {})
            principal = state.get("principal") if isinstance(state, dict) else None
            log_request(rid, scope, status, started, principal.name if principal else None)

    return middleware
