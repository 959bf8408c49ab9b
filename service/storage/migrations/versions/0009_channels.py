"""Channels with a standing holdout: the channels, each period's members, the posted costs.

``channels`` holds the declared channel as JSON and its period schedule; ``channel_members``
records a customer's first membership of a channel per period (``eligible`` or
``channel_holdout``), without a row id on SQLite so one period's members are one key range;
``channel_costs`` holds cost rows keyed by the caller's id, so re-posting the id restates it
(issue 16).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import (
    ID_WIDTH,
    cost_table_columns,
    declared_columns,
    lifecycle_columns,
)

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "channels",
        *declared_columns(),
        sa.Column("schedule", sa.Text, nullable=False),
        *lifecycle_columns(),
    )
    op.create_table(
        "channel_members",
        sa.Column("channel_id", sa.Integer, primary_key=True),
        sa.Column("period", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("grp", sa.String(16), nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table("channel_costs", *cost_table_columns("channel_id"))


def downgrade() -> None:
    op.drop_table("channel_costs")
    op.drop_table("channel_members")
    op.drop_table("channels")
