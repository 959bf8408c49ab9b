"""The relational schema, in SQLAlchemy Core so it runs unchanged on SQLite and PostgreSQL.

Times are stored as integer microseconds since the Unix epoch (UTC): window arithmetic
(``ts < assigned_at + window``) is then plain integer comparison on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

pilots = Table(
    "pilots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    # The declared design (name, variants, metrics, criteria, costs...) as JSON: it is read and
    # written whole, and its shape is owned by service.schema.
    Column("design", Text, nullable=False),
    Column("layer", String(64), nullable=True, index=True),
    Column("layer_buckets", Text, nullable=False, default="[]"),
    Column("has_imports", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("stopped_at", BigInteger, nullable=True),
    Column("concluded_at", BigInteger, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("decision_note", Text, nullable=True),
)

assignments = Table(
    "assignments",
    metadata,
    Column("pilot_id", Integer, ForeignKey("pilots.id"), primary_key=True),
    Column("customer_id", String(128), primary_key=True),
    Column("grp", String(64), nullable=False),
    Column("assigned_at", BigInteger, nullable=False),
    Column("source", String(8), nullable=False),  # "hash" or "import"
    Index(
        "ix_assignments_pilot_customer_group_time", "pilot_id", "customer_id", "grp", "assigned_at"
    ),
)

exposures = Table(
    "exposures",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("pilot_id", Integer, ForeignKey("pilots.id"), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Index("ix_exposures_pilot_customer_ts", "pilot_id", "customer_id", "ts"),
)

conversions = Table(
    "conversions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("event", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Index("ix_conversions_customer_event_ts_value", "customer_id", "event", "ts", "value"),
)

# Published weekly reviews: immutable, one per ISO week (the primary key is what makes the
# scheduled publication happen exactly once however many service processes race for it).
report_snapshots = Table(
    "report_snapshots",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("published_at", BigInteger, nullable=False),
    Column("published_by", String(32), nullable=False),
    Column("body", Text, nullable=False),
)

# The decision log: each published week's recommended call per pilot, and final conclusions.
decision_log = Table(
    "decision_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pilot_key", String(64), nullable=False, index=True),
    Column("week", String(8), nullable=True),
    Column("action", String(16), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("source", String(16), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)

# API keys: only a SHA-256 of the secret is stored (the secret is 256 random bits, so a fast
# hash cannot be brute-forced; a slow password hash would only slow every request down).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("scope", String(8), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

# Every admin change, written in the same transaction as the change itself.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(200), nullable=False),
    Column("change", Text, nullable=False),
)
