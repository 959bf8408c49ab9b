"""API keys, the audit trail and erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from service.schema.common import Response

__all__ = ["ApiKeyInfo", "AuditEntry", "AuditLog", "Erasure", "Scope"]

Scope = Literal["admin", "read", "assign"]


class ApiKeyInfo(Response):
    """An API key as listed: never the secret, only its first characters."""

    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class AuditEntry(Response):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    change: Any


class AuditLog(Response):
    entries: list[AuditEntry]


class Erasure(Response):
    """What ``DELETE /v1/customers/{customer_id}`` removed, per table."""

    customer_id: str
    assignments: int
    exposures: int
    conversions: int
