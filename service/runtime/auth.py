"""Authentication and scopes, enforced by one app-wide guard.

Every route needs a scope: ``opt={"scope": ...}`` on the handler, else ``read`` for GET and
``admin`` for anything else; ``opt={"public": True}`` (``/health``, ``/ready``) needs none.
Missing, unknown or revoked key → 401; a key without the scope → 403. With no key in the
database the service runs *open* — but only when it listens on a loopback address.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.admin.keys import authenticate
from service.schema import Scope

__all__ = ["actor_of", "require_scope"]


def _needed(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> Scope:
    scope = handler.opt.get("scope")
    if scope is not None:
        return cast(Scope, scope)
    return "read" if connection.scope.get("method", "GET") in ("GET", "HEAD") else "admin"


def require_scope(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if handler.opt.get("public"):
        return
    connection.state.principal = authenticate(
        connection.app.state.keyring,
        connection.app.state.allow_open,
        connection.headers.get("authorization", ""),
        _needed(connection, handler),
    )


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's name for the audit trail."""
    principal = getattr(connection.state, "principal", None)
    return principal.name if principal is not None else "system"
