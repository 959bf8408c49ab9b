"""What the lifecycles of pilots and channels share: the row by its key, the rows in one
status (oldest first), what a PATCH may change and a patched design. Both tables have ``id``,
``key``, ``status`` and ``created_at``; each lifecycle module turns the rows into its own
record."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, Row, Table, select

from service.errors import Conflict, InvalidInput, NotFound
from service.storage.sql import read_transaction

__all__ = ["changed_fields", "find_row", "list_rows", "load_row", "patched", "permitted_changes"]

Design = TypeVar("Design", bound=msgspec.Struct)


def find_row(conn: Connection, table: Table, key: str, *, for_update: bool) -> Row[Any] | None:
    """The row with ``key``, locked for the transaction with ``for_update`` on PostgreSQL."""
    query = select(table).where(table.c.key == key)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).one_or_none()


def load_row(conn: Connection, table: Table, key: str, what: str, *, for_update: bool) -> Row[Any]:
    """:func:`find_row`, or 404 ``No {what} with key …``."""
    row = find_row(conn, table, key, for_update=for_update)
    if row is None:
        raise NotFound(f"No {what} with key {key!r}.")
    return row


def list_rows(engine: Engine, table: Table, status: str | None) -> list[Row[Any]]:
    """Every row (only those in ``status`` unless it is ``None``), oldest first."""
    query = select(table).order_by(table.c.created_at, table.c.id)
    if status is not None:
        query = query.where(table.c.status == status)
    with read_transaction(engine) as conn:
        return list(conn.execute(query))


def changed_fields(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body sets (those it leaves out are ``UNSET``)."""
    return {
        name: value
        for name, value in msgspec.structs.asdict(patch).items()
        if value is not msgspec.UNSET
    }


def permitted_changes(
    patch: msgspec.Struct,
    status: str,
    mutable: frozenset[str],
    what: str,
    *,
    decides: str,
    allowed: str,
) -> dict[str, Any]:
    """The fields a PATCH body sets (:func:`changed_fields`). Once the {what} has left
    ``draft``, a field outside ``mutable`` decides ``decides`` and cannot change: 409, naming
    ``allowed`` as what still can."""
    changes = changed_fields(patch)
    frozen = sorted(set(changes) - mutable)
    if status != "draft" and frozen:
        raise Conflict(
            f"The {what} is {status}; {', '.join(frozen)} cannot change after start because it"
            f" decides {decides}. Only {allowed} may change."
        )
    return changes


def patched(design: Design, changes: dict[str, Any], what: str) -> Design:
    """``design`` with ``changes``, validated again as a whole (422 ``The patched {what} is
    invalid``), so a patch cannot break a rule across fields."""
    merged = msgspec.to_builtins(design) | msgspec.to_builtins(changes)
    try:
        return msgspec.convert(merged, type(design))
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"The patched {what} is invalid: {exc}") from exc
