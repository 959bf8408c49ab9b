"""Per-customer window totals, kept current at every write, so results read a compact range.

* ``customer_totals``: per pilot, event, group and customer, the window and pre-period counts
  and value sums (event ``''``: exposures), built here from the stored facts;
* ``pilots.window_us`` / ``lookback_us``: the design's windows, for ingestion's SQL;
* ``totals_gate``: the empty table PostgreSQL writers lock to keep ingestion and first
  assignments apart;
* assignments: ``(pilot_id, grp, assigned_at)`` replaces the covering index of the old results
  join, and ``(customer_id, ...)`` lets ingestion find every pilot of a converting customer.

The backfill SQL is written out here rather than imported from the service: a migration must
keep doing what it did when it was written, whatever the service code becomes.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import ID_WIDTH, KEY_WIDTH

revision = "0006"
down_revision = "0005"

US_PER_DAY = 86_400_000_000

BACKFILL = """
    INSERT INTO customer_totals (pilot_id, event, grp, customer_id, assigned_at,
        n_window, value_window, n_pre, value_pre, last_ts)
    SELECT a.pilot_id, c.event, a.grp, a.customer_id, a.assigned_at,
        SUM(CASE WHEN c.ts >= a.assigned_at THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.ts >= a.assigned_at THEN c.value ELSE 0 END),
        SUM(CASE WHEN c.ts < a.assigned_at THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.ts < a.assigned_at THEN c.value ELSE 0 END),
        MAX(CASE WHEN c.ts >= a.assigned_at THEN c.ts ELSE 0 END)
    FROM assignments a JOIN conversions c ON c.customer_id = a.customer_id
        AND c.ts >= a.assigned_at - :lookback AND c.ts < a.assigned_at + :window
    WHERE a.pilot_id = :pilot_id
    GROUP BY a.pilot_id, c.event, a.grp, a.customer_id, a.assigned_at
    UNION ALL
    SELECT a.pilot_id, CAST('' AS VARCHAR(64)), a.grp, a.customer_id, a.assigned_at,
        COUNT(*), 0, 0, 0, MAX(e.ts)
    FROM assignments a JOIN exposures e
        ON e.pilot_id = a.pilot_id AND e.customer_id = a.customer_id
    WHERE a.pilot_id = :pilot_id
    GROUP BY a.pilot_id, a.grp, a.customer_id, a.assigned_at
"""


def upgrade() -> None:
    op.add_column("pilots", sa.Column("window_us", sa.BigInteger, nullable=False,
                                      server_default="0"))  # fmt: skip
    op.add_column("pilots", sa.Column("lookback_us", sa.BigInteger, nullable=False,
                                      server_default="0"))  # fmt: skip
    op.create_table(
        "customer_totals",
        sa.Column("pilot_id", sa.Integer, primary_key=True),
        sa.Column("event", sa.String(KEY_WIDTH), primary_key=True),
        sa.Column("grp", sa.String(KEY_WIDTH), primary_key=True),
        sa.Column("customer_id", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("assigned_at", sa.BigInteger, nullable=False),
        sa.Column("n_window", sa.BigInteger, nullable=False),
        sa.Column("value_window", sa.Float, nullable=False),
        sa.Column("n_pre", sa.BigInteger, nullable=False),
        sa.Column("value_pre", sa.Float, nullable=False),
        sa.Column("last_ts", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table("totals_gate", sa.Column("id", sa.Integer, primary_key=True))
    op.create_index(
        "ix_assignments_pilot_group_time", "assignments", ["pilot_id", "grp", "assigned_at"]
    )
    op.create_index(
        "ix_assignments_customer", "assignments", ["customer_id", "pilot_id", "grp", "assigned_at"]
    )
    op.drop_index("ix_assignments_pilot_customer_group_time", table_name="assignments")

    bind = op.get_bind()
    for pilot_id, design in bind.execute(sa.text("SELECT id, design FROM pilots")).all():
        fields = json.loads(design)
        window = int(fields.get("attribution_window_days", 30)) * US_PER_DAY
        lookback = int(fields.get("covariate_lookback_days", 30)) * US_PER_DAY
        bind.execute(
            sa.text("UPDATE pilots SET window_us = :w, lookback_us = :l WHERE id = :id"),
            {"w": window, "l": lookback, "id": pilot_id},
        )
        bind.execute(
            sa.text(BACKFILL), {"pilot_id": pilot_id, "window": window, "lookback": lookback}
        )


def downgrade() -> None:
    op.create_index(
        "ix_assignments_pilot_customer_group_time",
        "assignments",
        ["pilot_id", "customer_id", "grp", "assigned_at"],
    )
    op.drop_index("ix_assignments_customer", table_name="assignments")
    op.drop_index("ix_assignments_pilot_group_time", table_name="assignments")
    op.drop_table("totals_gate")
    op.drop_table("customer_totals")
    # Plain ALTER TABLE DROP COLUMN (SQLite ≥ 3.35): a batch rebuild of ``pilots`` would trip
    # the foreign keys that point at it.
    op.drop_column("pilots", "lookback_us")
    op.drop_column("pilots", "window_us")
