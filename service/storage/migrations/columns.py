"""Column groups and widths that several version scripts declare alike.

Frozen: a version script must keep creating what it created when it was written, whatever the
service's tables (``service.storage.tables``) become, so a function or width here never changes
once a script uses it. A new shape of column group is a new function, a wider column a new
migration; never an edit of one below.

Each call returns new ``Column`` objects (a column belongs to one table), in the order the
tables list them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = [
    "ID_WIDTH",
    "KEY_WIDTH",
    "autoincrement_id",
    "cost_columns",
    "cost_table_columns",
    "declared_columns",
    "lifecycle_columns",
    "recorded_at_column",
]

ID_WIDTH = 128
"""Width of the customer, event, cost-row and region id columns (0001, 0006, 0008 to 0010)."""

KEY_WIDTH = 64
"""Width of the key and label columns: pilot, variant (group), layer and metric keys and event
names (0001, 0004, 0006, 0008, 0010; and ``declared_columns``)."""


def autoincrement_id() -> sa.Column[Any]:
    """``id``: an auto-incremented integer primary key (0004, 0005; and ``declared_columns``)."""
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def declared_columns() -> list[sa.Column[Any]]:
    """``id``, then the unique ``key``, the ``status`` and the declared ``design`` (JSON) of a
    pilot (0001) or a channel (0009)."""
    return [
        autoincrement_id(),
        sa.Column("key", sa.String(KEY_WIDTH), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("design", sa.Text, nullable=False),
    ]


def lifecycle_columns() -> list[sa.Column[Any]]:
    """``created_at``, and the ``started_at`` and ``stopped_at`` not yet reached (null), in
    microseconds: of a pilot (0001) or a channel (0009)."""
    return [
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("stopped_at", sa.BigInteger, nullable=True),
    ]


def cost_columns() -> list[sa.Column[Any]]:
    """The ``date`` (ISO), ``amount`` and ``kind`` of a posted cost row: of a pilot (0008) or a
    channel (0009)."""
    return [
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    ]


def cost_table_columns(owner: str, *extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    """The columns of a cost table, keyed by the ``owner``'s id and the caller's ``id``: the
    cost (``cost_columns``), ``extra``, a ``note`` and ``recorded_at``; ``pilot_costs`` (0008,
    with the ``variant``) and ``channel_costs`` (0009)."""
    return [
        sa.Column(owner, sa.Integer, primary_key=True),
        sa.Column("id", sa.String(ID_WIDTH), primary_key=True),
        *cost_columns(),
        *extra,
        sa.Column("note", sa.Text, nullable=True),
        recorded_at_column(),
    ]


def recorded_at_column() -> sa.Column[Any]:
    """``recorded_at``: when the service stored the row, in microseconds (0004, 0008 to 0010)."""
    return sa.Column("recorded_at", sa.BigInteger, nullable=False)
