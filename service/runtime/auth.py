"""Authentication and scopes, enforced by one app-wide guard.

Every route needs a scope: ``opt={"scope": ...}`` on the handler, else ``read`` for GET and
``admin`` for anything else; ``opt={"public": True}`` (``/health``, ``/ready``) needs none.
Missing, unknown or revoked key → 401; a key without the scope → 403. With no key in the
database the service runs *open* — but only when it listens on a loopback address.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.admin.keys import KeyRing, Principal
from service.errors import Forbidden, Unauthorized

__all__ = ["actor_of", "require_scope"]

OPEN = Principal("open", "open")


def _needed(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> str:
    scope = handler.opt.get("scope")
    if scope is not None:
        return str(scope)
    return "read" if connection.scope.get("method", "GET") in ("GET", "HEAD") else "admin"


def require_scope(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if handler.opt.get("public"):
        return
    ring: KeyRing = connection.app.state.keyring
    allow_open: bool = connection.app.state.allow_open
    header = connection.headers.get("authorization", "")
    if not ring.any_keys():
        if allow_open:
            connection.state.principal = OPEN
            return
        raise Unauthorized(
            "No API keys exist and this server is not on a loopback address; create one with"
            " `pilotlift keys create --scope admin` and send it as 'Authorization: Bearer <key>'."
        )
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    found = ring.lookup(secret.strip())
    if found is None:
        raise Unauthorized("Unknown API key.")
    name, scope, revoked = found
    if revoked:
        raise Unauthorized(f"The API key {name!r} was revoked.")
    principal = Principal(name, scope)
    needed = _needed(connection, handler)
    if not principal.allows(needed):  # type: ignore[arg-type]
        raise Forbidden(f"The API key {name!r} has scope {scope!r}; this call needs {needed!r}.")
    connection.state.principal = principal


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's name for the audit trail."""
    principal = getattr(connection.state, "principal", None)
    return principal.name if principal is not None else "system"
