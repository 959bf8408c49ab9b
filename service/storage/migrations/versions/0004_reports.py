"""Weekly review snapshots and the decision log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import KEY_WIDTH, autoincrement_id, recorded_at_column

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("week", sa.String(8), primary_key=True),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("published_by", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "decision_log",
        autoincrement_id(),
        sa.Column("pilot_key", sa.String(KEY_WIDTH), nullable=False),
        sa.Column("week", sa.String(8), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        recorded_at_column(),
    )
    op.create_index("ix_decision_log_pilot_key", "decision_log", ["pilot_key"])


def downgrade() -> None:
    op.drop_index("ix_decision_log_pilot_key", table_name="decision_log")
    op.drop_table("decision_log")
    op.drop_table("report_snapshots")
