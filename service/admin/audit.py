"""The audit trail: who changed what, when — written in the same transaction as the change,
so a change is never stored without its record (or the other way round)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from service.schema import AuditEntry, AuditLog
from service.storage.sql import read_transaction
from service.storage.tables import audit_log
from service.timeutil import from_us, to_us

__all__ = ["list_audit", "record"]


def record(
    conn: Connection, *, actor: str, action: str, target: str, change: Any, now: datetime
) -> None:
    conn.execute(
        audit_log.insert().values(
            at=to_us(now),
            actor=actor,
            action=action,
            target=target[:200],
            change=json.dumps(change, default=str, sort_keys=True),
        )
    )


def list_audit(engine: Engine, *, limit: int = 100, before_id: int | None = None) -> AuditLog:
    """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    with read_transaction(engine) as conn:
        rows = conn.execute(query).all()
    return AuditLog(
        entries=[
            AuditEntry(
                id=r.id,
                at=from_us(r.at),
                actor=r.actor,
                action=r.action,
                target=r.target,
                change=json.loads(r.change),
            )
            for r in rows
        ]
    )
