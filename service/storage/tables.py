"""The relational schema, in SQLAlchemy Core so it runs unchanged on SQLite and PostgreSQL.

Times are stored as integer microseconds since the Unix epoch (UTC): window arithmetic
(``ts < assigned_at + window``) is then plain integer comparison on every backend.
"""

from __future__ import annotations

from typing import Any

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

ID_WIDTH = 128
"""Width of customer and event id columns: the longest id the API accepts (``MAX_ID_LENGTH``)."""

KEY_WIDTH = 64
"""Width of key and label columns: the longest pilot, channel, variant (group), layer or metric
key (``KEY_PATTERN``) and event name (``Label``) the API accepts."""


def _declared() -> list[Column[Any]]:
    """What pilots and channels share: an id, the caller's key, a status, and the declared
    design as JSON (read and written whole; its shape is owned by service.schema)."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("key", String(KEY_WIDTH), nullable=False, unique=True),
        Column("status", String(16), nullable=False),
        Column("design", Text, nullable=False),
    ]


def _lifecycle() -> list[Column[Any]]:
    """When a pilot or channel was declared, started and stopped (µs; None: not yet)."""
    return [
        Column("created_at", BigInteger, nullable=False),
        Column("started_at", BigInteger, nullable=True),
        Column("stopped_at", BigInteger, nullable=True),
    ]


def _recorded_at() -> Column[Any]:
    """When the service stored a posted row (µs): of cost rows, decision-log entries and geo
    metrics."""
    return Column("recorded_at", BigInteger, nullable=False)


def _costs(name: str, owner: str, *extra: Column[Any]) -> Table:
    """Cost rows posted for a pilot or a channel: the caller's id is the key, so re-posting
    it restates the row."""
    return Table(
        name,
        metadata,
        Column(owner, Integer, primary_key=True),
        Column("id", String(ID_WIDTH), primary_key=True),
        Column("date", String(10), nullable=False),
        Column("amount", Float, nullable=False),
        Column("kind", String(16), nullable=False),
        *extra,
        Column("note", Text, nullable=True),
        _recorded_at(),
    )


pilots = Table(
    "pilots",
    metadata,
    # The design: name, variants, metrics, criteria, costs...
    *_declared(),
    Column("layer", String(KEY_WIDTH), nullable=True, index=True),
    Column("layer_buckets", Text, nullable=False, default="[]"),
    Column("has_imports", Boolean, nullable=False, default=False),
    *_lifecycle(),
    Column("concluded_at", BigInteger, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("decision_note", Text, nullable=True),
    # Copies of the design's attribution window and covariate lookback (microseconds), so that
    # event ingestion can place a conversion in each pilot's window in SQL.
    Column("window_us", BigInteger, nullable=False, server_default="0"),
    Column("lookback_us", BigInteger, nullable=False, server_default="0"),
)

# The foreign keys of assignments and exposures exist on SQLite only: migration 0007 drops them
# on PostgreSQL, where each is a per-row trigger on the bulk-written tables (see there).
assignments = Table(
    "assignments",
    metadata,
    Column("pilot_id", Integer, ForeignKey("pilots.id"), primary_key=True),
    Column("customer_id", String(ID_WIDTH), primary_key=True),
    Column("group", String(KEY_WIDTH), nullable=False),
    Column("assigned_at", BigInteger, nullable=False),
    Column("source", String(8), nullable=False),  # "hash" or "import"
    Column("seq", BigInteger, nullable=False, server_default="0"),  # see aggregation below
    # Customers per group as of a time: an index range count.
    Index("ix_assignments_pilot_group_time", "pilot_id", "group", "assigned_at"),
    # Ingestion finds every pilot a converting customer is in.
    Index("ix_assignments_customer", "customer_id", "pilot_id", "group", "assigned_at"),
)

exposures = Table(
    "exposures",
    metadata,
    Column("id", String(ID_WIDTH), primary_key=True),
    Column("pilot_id", Integer, ForeignKey("pilots.id"), nullable=False),
    Column("customer_id", String(ID_WIDTH), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Index("ix_exposures_pilot_customer_ts", "pilot_id", "customer_id", "ts"),
)

conversions = Table(
    "conversions",
    metadata,
    Column("id", String(ID_WIDTH), primary_key=True),
    Column("customer_id", String(ID_WIDTH), nullable=False),
    Column("event", String(KEY_WIDTH), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Index("ix_conversions_customer_event_ts_value", "customer_id", "event", "ts", "value"),
)

# Per pilot, conversion event, group and customer: the totals the results need, holding every
# fact below the aggregator's watermark (see service.storage.totals and .aggregator). The
# primary key puts one group's customers of one event next to each other, so the results read
# a contiguous range instead of joining every event. ``event = ''`` holds the exposures (a
# conversion event name is never empty).
customer_totals = Table(
    "customer_totals",
    metadata,
    Column("pilot_id", Integer, primary_key=True),
    Column("event", String(KEY_WIDTH), primary_key=True),
    Column("group", String(KEY_WIDTH), primary_key=True),
    Column("customer_id", String(ID_WIDTH), primary_key=True),
    Column("assigned_at", BigInteger, nullable=False),
    Column("n_window", BigInteger, nullable=False),  # events in [assigned_at, + window)
    Column("value_window", Float, nullable=False),
    Column("n_pre", BigInteger, nullable=False),  # events in [assigned_at - lookback, assigned_at)
    Column("value_pre", Float, nullable=False),
    Column("last_ts", BigInteger, nullable=False),  # latest counted event (0: none in window)
    sqlite_with_rowid=False,
)

# Never holds a row: PostgreSQL writers of facts lock it in ROW EXCLUSIVE mode (parallel with
# each other), a customer's erasure in EXCLUSIVE mode; see service.storage.totals.
totals_gate = Table("totals_gate", metadata, Column("id", Integer, primary_key=True))

# One row. Every assignment and event row carries ``seq``, the number of the transaction that
# wrote it (PostgreSQL: its transaction id; SQLite: ``last_seq``, advanced by the one writer).
# ``customer_totals`` holds exactly the rows with ``seq < folded_below`` (the watermark); the
# aggregator folds the rest in, and results read them from the raw rows until it has
# (service.storage.aggregator). Migration 0012 creates the ``seq`` indexes.
aggregation = Table(
    "aggregation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("folded_below", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
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
    Column("pilot_key", String(KEY_WIDTH), nullable=False, index=True),
    Column("week", String(8), nullable=True),
    Column("action", String(16), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("source", String(16), nullable=False),
    _recorded_at(),
    # The share of the planned customers reached at a published review: a look of the
    # group-sequential test (None for conclusions and for reviews published before 0008).
    Column("information_fraction", Float, nullable=True),
)

# Costs posted for a pilot beyond its per-exposure and fixed costs. ``variant`` None: shared by
# the variants by exposures.
pilot_costs = _costs("pilot_costs", "pilot_id", Column("variant", String(KEY_WIDTH), nullable=True))

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

# Channels with a standing holdout (issue 16). ``design`` is the declared channel as JSON (its
# shape is owned by service.schema); ``schedule`` lists the period segments
# ``[first period, its start in µs, days per period]``: one at start, one more whenever
# ``period_days`` changes while running (from the next period on, so no period moves).
channels = Table(
    "channels",
    metadata,
    *_declared(),
    Column("schedule", Text, nullable=False, default="[]"),
    *_lifecycle(),
)

# A customer's first membership of a channel per period (``eligible`` or ``channel_holdout``),
# recorded by eligibility calls and by the assignments of the channel's pilots. The key puts one
# period's members next to each other: the results read one range.
channel_members = Table(
    "channel_members",
    metadata,
    Column("channel_id", Integer, primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("customer_id", String(ID_WIDTH), primary_key=True),
    Column("group", String(16), nullable=False),
    Column("first_at", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Costs posted for a channel (media, per message, tech, people).
channel_costs = _costs("channel_costs", "channel_id")

# A KPI (or the channel's spend) per region and day for geo pilots (issue 15). One row per
# (metric, geo, date): re-posting the key restates the value. Without a row id on SQLite, so one
# metric's rows are one key range.
geo_metrics = Table(
    "geo_metrics",
    metadata,
    Column("metric", String(KEY_WIDTH), primary_key=True),
    Column("geo", String(ID_WIDTH), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("value", Float, nullable=False),
    _recorded_at(),
    sqlite_with_rowid=False,
)
