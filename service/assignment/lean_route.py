"""``POST /v1/experiments/{key}/assignments`` answered without the framework when all goes well.

A campaign tool asks for one customer at a time, thousands of times a second. For that call
Litestar's layers (proxy headers, exception handling, routing, two middlewares, the guard, the
handler's signature model, the response object) cost more on the event loop than the
assignment itself: on one 2-core VM a single-customer request ran at 2,382 requests/s through
them and 4,334 without (PostgreSQL, one worker, 16 connections).

This route sees the request first and answers it only when every step succeeds: the body is at
most :data:`LEAN_BODY_BYTES`, the key has the ``assign`` scope
(:func:`~service.admin.keys.authenticate`, the guard's own rule), the body decodes to
:class:`~service.schema.AssignmentRequest`, and :meth:`.Assigner.respond` (the controller's own
code) answers. Anything else — no or a bad key, a malformed body, an unknown or stopped pilot, a
storage fault — goes on to the app with the body already read, so every error is answered by
the code that answers it everywhere else, word for word. What it answers, it answers as the app
would: the same JSON, the same ``X-Request-ID``, the same access-log line and the same request
metrics (:class:`~service.runtime.request_metrics.RouteMetrics`).

It keeps no state of its own and imports no Litestar: it is plain ASGI in front of the app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from service.admin.keys import KeyRing, authenticate
from service.assignment.assigner import Assigner
from service.runtime.logs import log_request, request_id
from service.runtime.request_metrics import RouteMetrics
from service.schema import AssignmentRequest
from service.settings import Settings

__all__ = ["LEAN_BODY_BYTES", "LeanAssignments"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

LEAN_BODY_BYTES = 65_536
"""Larger bodies (batches of about a thousand ids and more) go to the app: their own hashing
and writing dwarf what the framework costs."""

_PATH = re.compile(r"^/v1/experiments/([^/]+)/assignments$")
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(AssignmentRequest)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first returns the body messages already read."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


class LeanAssignments:
    """The served app: ``app`` with the lean assignment route in front (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        assigner: Assigner,
        settings: Settings,
        keyring: KeyRing,
        allow_open: bool,
    ) -> None:
        self._app = app
        self._assigner = assigner
        self._settings = settings
        self._keyring = keyring
        self._allow_open = allow_open
        self._max_body = min(LEAN_BODY_BYTES, settings.max_body_bytes)
        self._metrics = RouteMetrics("POST", "/v1/experiments/{key}/assignments")

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        match = (
            _PATH.match(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if match is None:
            await self._app(scope, receive, send)
            return
        started = self._metrics.started()
        headers = dict(scope["headers"])
        messages, body = await self._read(receive)
        answer = None if body is None else await self._answer(match[1], headers, body)
        if answer is None:
            self._metrics.handed_on()
            await self._app(scope, _replay(messages, receive), send)
            return
        content, actor = answer
        rid = request_id(headers)
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
        self._metrics.answered(started)
        log_request(rid, scope, 200, started, actor)

    async def _read(self, receive: Receive) -> tuple[list[Message], bytes | None]:
        """The messages read and the body, or ``None`` for the body when it is larger than
        this route takes (the rest stays unread for the app) or the client went away."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, None
            size += len(message.get("body", b""))
            if size > self._max_body:
                return messages, None
            if not message.get("more_body", False):
                return messages, b"".join(m.get("body", b"") for m in messages)

    async def _answer(
        self, key: str, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[bytes, str] | None:
        """The response body and the caller's name, or ``None`` to let the app answer."""
        try:
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            principal = authenticate(self._keyring, self._allow_open, authorization, "assign")
            data = _DECODER.decode(body)
            response = await self._assigner.respond(key, data.customer_ids, self._settings)
        except Exception:  # the app answers it, as it answers every error
            return None
        return _ENCODER.encode(response), principal.name
