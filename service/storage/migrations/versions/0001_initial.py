"""Initial schema: pilots, assignments, exposures, conversions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import (
    ID_WIDTH,
    KEY_WIDTH,
    declared_columns,
    lifecycle_columns,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "pilots",
        *declared_columns(),
        sa.Column("layer", sa.String(KEY_WIDTH), nullable=True),
        sa.Column("layer_buckets", sa.Text, nullable=False),
        sa.Column("has_imports", sa.Boolean, nullable=False),
        *lifecycle_columns(),
        sa.Column("concluded_at", sa.BigInteger, nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decision_note", sa.Text, nullable=True),
    )
    op.create_index("ix_pilots_layer", "pilots", ["layer"])
    op.create_table(
        "assignments",
        sa.Column("pilot_id", sa.Integer, sa.ForeignKey("pilots.id"), primary_key=True),
        sa.Column("customer_id", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("grp", sa.String(KEY_WIDTH), nullable=False),
        sa.Column("assigned_at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
    )
    op.create_table(
        "exposures",
        sa.Column("id", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("pilot_id", sa.Integer, sa.ForeignKey("pilots.id"), nullable=False),
        sa.Column("customer_id", sa.String(ID_WIDTH), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_exposures_pilot_customer", "exposures", ["pilot_id", "customer_id"])
    op.create_table(
        "conversions",
        sa.Column("id", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("customer_id", sa.String(ID_WIDTH), nullable=False),
        sa.Column("event", sa.String(KEY_WIDTH), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_conversions_customer_event_ts", "conversions", ["customer_id", "event", "ts"]
    )


def downgrade() -> None:
    op.drop_table("conversions")
    op.drop_table("exposures")
    op.drop_table("assignments")
    op.drop_table("pilots")
