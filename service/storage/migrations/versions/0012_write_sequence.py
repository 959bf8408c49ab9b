"""Per-customer totals are folded in by an aggregator, off the write path (issue 17).

Every assignment and event row carries ``seq``, the number of the transaction that wrote it:
on PostgreSQL its transaction id (``pg_current_xact_id()``, the column default), on SQLite a
counter the single writer advances (``aggregation.last_seq``). ``aggregation.folded_below``
is the watermark: the totals hold exactly the rows with ``seq`` below it. Rows already stored
keep ``seq = 0``: the totals hold them (the previous code kept them current on every write).

The index on ``seq`` finds the rows beyond the watermark. All rows of a transaction share one
value, so it grows at its right edge only (and PostgreSQL deduplicates the equal keys). A BRIN
index would cost less to keep, but its ranges stay unsummarized until a vacuum, and an
unsummarized range is read whole: a look right after a burst would scan the burst's pages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

TABLES = ("assignments", "exposures", "conversions")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.add_column(table, sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"))
        if postgres:
            # Only rows written from now on take their transaction's id (a constant default
            # above keeps the stored rows' rewrite out of the migration).
            op.alter_column(
                table, "seq", server_default=sa.text("(pg_current_xact_id()::text::bigint)")
            )
        op.create_index(f"ix_{table}_seq", table, ["seq"])
    op.create_table(
        "aggregation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("folded_below", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO aggregation (id, folded_below, last_seq) VALUES (1, 1, 1)")


def downgrade() -> None:
    op.drop_table("aggregation")
    for table in TABLES:
        op.drop_index(f"ix_{table}_seq", table_name=table)
        op.drop_column(table, "seq")
