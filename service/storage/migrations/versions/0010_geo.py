"""Geo pilots: a KPI (or the channel's spend) per region and day.

``geo_metrics`` holds one value per ``(metric, geo, date)``; re-posting the key restates it
(issue 15). The key puts one metric's rows next to each other, by region then day, which is how
a geo pilot's panel is read. Without a row id on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.storage.migrations.columns import ID_WIDTH, KEY_WIDTH, recorded_at_column

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "geo_metrics",
        sa.Column("metric", sa.String(KEY_WIDTH), primary_key=True),
        sa.Column("geo", sa.String(ID_WIDTH), primary_key=True),
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        recorded_at_column(),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("geo_metrics")
