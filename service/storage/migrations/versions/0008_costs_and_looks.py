"""Pilot cost rows, and the information fraction of each published look.

``pilot_costs`` holds the costs a campaign tool or finance posts for a pilot (media, per
message, tech, people) that the pilot's own per-exposure and fixed costs do not cover; a row
is keyed by the caller's id, so re-posting the id restates it. ``decision_log`` records, for
each weekly review, the share of the planned customers the pilot had reached: those are the
looks of the group-sequential test (issue 14).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import KEY_WIDTH, cost_table_columns

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "pilot_costs",
        *cost_table_columns("pilot_id", sa.Column("variant", sa.String(KEY_WIDTH), nullable=True)),
    )
    with op.batch_alter_table("decision_log") as batch:
        batch.add_column(sa.Column("information_fraction", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision_log") as batch:
        batch.drop_column("information_fraction")
    op.drop_table("pilot_costs")
