"""Exposures indexed by (pilot_id, customer_id, ts).

The results query counts, per assigned customer, the exposures before ``as_of``; with ``ts`` in
the index that count never touches the table, and the pilot's total exposure count is an index
range scan.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index(
        "ix_exposures_pilot_customer_ts", "exposures", ["pilot_id", "customer_id", "ts"]
    )
    op.drop_index("ix_exposures_pilot_customer", table_name="exposures")


def downgrade() -> None:
    op.create_index("ix_exposures_pilot_customer", "exposures", ["pilot_id", "customer_id"])
    op.drop_index("ix_exposures_pilot_customer_ts", table_name="exposures")
