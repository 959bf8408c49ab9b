"""The column ``grp`` is called ``group``, as the API calls it (issue 13).

``group`` is a reserved word in SQL, so hand-written statements quote it (``"group"``); both
SQLite (3.25 and later) and PostgreSQL rename a column in place, keeping its indexes and keys.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"

TABLES = ("assignments", "customer_totals", "channel_members")


def upgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "grp", new_column_name="group")


def downgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "group", new_column_name="grp")
