"""API keys for the tests of authentication: one per scope, a revoked one and an unknown one."""

from __future__ import annotations

from datetime import datetime

from service.admin.keys import SCOPES, create_key, revoke_key
from service.storage.engine import create_storage_engine, migrate

__all__ = ["credentials"]


def credentials(database_url: str, now: datetime, revoked_scope: str = "admin") -> dict[str, str]:
    """Secrets by credential name (``admin``, ``read``, ``assign``, ``revoked``, ``bad``) on a
    migrated database; ``revoked`` had ``revoked_scope`` before it was revoked."""
    engine = create_storage_engine(database_url)
    migrate(engine)
    secrets = {s: create_key(engine, scope=s, name=f"{s}-key", now=now)[0] for s in SCOPES}
    secrets["revoked"] = create_key(engine, scope=revoked_scope, name="old", now=now)[0]
    revoke_key(engine, "old", now=now)
    secrets["bad"] = "plk_" + "x" * 43
    engine.dispose()
    return secrets
