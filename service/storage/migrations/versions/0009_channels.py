"""Channels with a standing holdout: the channels, each period's members, the posted costs.

``channels`` holds the declared channel as JSON and its period schedule; ``channel_members``
records a customer's first membership of a channel per period (``eligible`` or
``channel_holdout``), without a row id on SQLite so one period's members are one key range;
``channel_costs`` holds cost rows keyed by the caller's id, so re-posting the id restates it
(issue 16).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("design", sa.Text, nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=True),
        sa.Column("stopped_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "channel_members",
        sa.Column("channel_id", sa.Integer, primary_key=True),
        sa.Column("period", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("grp", sa.String(16), nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "channel_costs",
        sa.Column("channel_id", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_costs")
    op.drop_table("channel_members")
    op.drop_table("channels")
