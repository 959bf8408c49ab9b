"""Covering indexes for the results query.

The per-arm aggregation seeks, for every assigned customer, their conversions by
(customer_id, event, ts) and needs ``value``; and it reads ``grp`` and ``assigned_at`` of every
assignment. With both covered by an index the query never touches the tables: 10.7 s → 3.6 s
for 1,000,000 customers and 2,100,000 conversions on SQLite.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.drop_index("ix_conversions_customer_event_ts", table_name="conversions")
    op.create_index(
        "ix_conversions_customer_event_ts_value",
        "conversions",
        ["customer_id", "event", "ts", "value"],
    )
    op.create_index(
        "ix_assignments_pilot_customer_group_time",
        "assignments",
        ["pilot_id", "customer_id", "grp", "assigned_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_pilot_customer_group_time", table_name="assignments")
    op.drop_index("ix_conversions_customer_event_ts_value", table_name="conversions")
    op.create_index(
        "ix_conversions_customer_event_ts", "conversions", ["customer_id", "event", "ts"]
    )
