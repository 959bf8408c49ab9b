"""API keys: created with a scope, shown once, stored as a SHA-256 hash, revocable.

Scopes: ``admin`` (everything), ``read`` (GET anything, plan, analyze), ``assign``
(assignments and events). A secret is ``plk_`` + 43 URL-safe characters (256 random bits).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from service.admin import audit
from service.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from service.schema import ApiKeyInfo, Scope
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import api_keys
from service.timeutil import from_us, to_us

__all__ = [
    "OPEN",
    "KeyRing",
    "Principal",
    "authenticate",
    "create_key",
    "hash_key",
    "list_keys",
    "revoke_key",
]

SCOPES: tuple[Scope, ...] = ("admin", "read", "assign")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    engine: Engine, *, scope: str, name: str | None, now: datetime, actor: str = "cli"
) -> tuple[str, ApiKeyInfo]:
    """A new key; the secret is returned here and never again."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}.")
    secret = "plk_" + secrets.token_urlsafe(32)
    name = name or f"{scope}-{secrets.token_hex(3)}"
    if not _NAME.match(name):
        raise InvalidInput(f"key name {name!r}: use letters, digits and _.@- (at most 64).")
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                api_keys.insert().values(
                    name=name, scope=scope, key_hash=hash_key(secret), prefix=secret[:10],
                    created_at=to_us(now),
                )
            )  # fmt: skip
            audit.record(conn, actor=actor, action="key.create", target=name,
                         change={"scope": scope}, now=now)  # fmt: skip
    except IntegrityError as exc:
        raise Conflict(f"A key named {name!r} already exists; choose another name.") from exc
    info = ApiKeyInfo(name=name, scope=scope, prefix=secret[:10], created_at=now)
    return secret, info


def revoke_key(engine: Engine, name: str, *, now: datetime, actor: str = "cli") -> ApiKeyInfo:
    with write_transaction(engine) as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"No API key named {name!r}.")
        if row.revoked_at is None:
            conn.execute(
                update(api_keys).where(api_keys.c.name == name).values(revoked_at=to_us(now))
            )
            audit.record(conn, actor=actor, action="key.revoke", target=name, change={}, now=now)
    return next(k for k in list_keys(engine) if k.name == name)


def list_keys(engine: Engine) -> list[ApiKeyInfo]:
    with read_transaction(engine) as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
    return [
        ApiKeyInfo(
            name=r.name,
            scope=r.scope,
            prefix=r.prefix,
            created_at=from_us(r.created_at),
            revoked_at=from_us(r.revoked_at) if r.revoked_at is not None else None,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key's name and scope, or ``open`` (no keys exist, loopback only)."""

    name: str
    scope: str

    def allows(self, needed: Scope) -> bool:
        return self.scope in ("admin", "open") or self.scope == needed


class KeyRing:
    """Looks keys up by hash, with a short cache so a revoked key stops working within
    ``ttl`` seconds in every process without a database read per request."""

    def __init__(self, engine: Engine, ttl: float = 2.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._loaded = 0.0
        self._by_hash: dict[str, tuple[str, str, bool]] = {}

    def _refresh(self) -> None:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(api_keys.c.key_hash, api_keys.c.name, api_keys.c.scope,
                       api_keys.c.revoked_at)
            ).all()  # fmt: skip
        self._by_hash = {r.key_hash: (r.name, r.scope, r.revoked_at is not None) for r in rows}
        self._loaded = time.monotonic()

    def snapshot(self) -> dict[str, tuple[str, str, bool]]:
        with self._lock:
            if time.monotonic() - self._loaded > self.ttl:
                self._refresh()
            return self._by_hash

    def any_keys(self) -> bool:
        return bool(self.snapshot())

    def lookup(self, secret: str) -> tuple[str, str, bool] | None:
        """(name, scope, revoked) of a presented secret, or ``None`` if unknown."""
        return self.snapshot().get(hash_key(secret))


OPEN = Principal("open", "open")
"""The caller of a service with no keys, which answers only on a loopback address."""


def authenticate(ring: KeyRing, allow_open: bool, authorization: str, needed: Scope) -> Principal:
    """The caller presenting the ``Authorization`` header ``authorization`` to a call that
    needs scope ``needed``. Missing, unknown or revoked key → :class:`Unauthorized`; a key
    without the scope → :class:`Forbidden`; no key in the database → :data:`OPEN` where
    ``allow_open`` (a loopback address), else :class:`Unauthorized`. The one home of the rule:
    the app's guard and the lean assignment route both ask here."""
    if not ring.any_keys():
        if allow_open:
            return OPEN
        raise Unauthorized(
            "No API keys exist and this server is not on a loopback address; create one with"
            " `pilotlift keys create --scope admin` and send it as 'Authorization: Bearer <key>'."
        )
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
    found = ring.lookup(secret.strip())
    if found is None:
        raise Unauthorized("Unknown API key.")
    name, scope, revoked = found
    if revoked:
        raise Unauthorized(f"The API key {name!r} was revoked.")
    principal = Principal(name, scope)
    if not principal.allows(needed):
        raise Forbidden(f"The API key {name!r} has scope {scope!r}; this call needs {needed!r}.")
    return principal
