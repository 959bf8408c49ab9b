"""Per-arm sufficient statistics of a pilot, computed by the database from the window totals.

For every metric the database returns, per group, ``Σy``, ``Σy²`` over the attribution window
and the pre-period covariate sums ``Σx``, ``Σx²``, ``Σxy`` (for CUPED), plus customers, exposed
customers and exposures. Nothing per customer or per event is loaded into Python.

The per-customer numbers come from ``customer_totals`` (:mod:`service.storage.totals`), one row
per pilot, event, group and customer, holding every fact below the aggregator's watermark. The
usual look (``as_of`` = now, aggregator caught up) sums the stored values in one range scan
per group and event, counts the rows with an event at or after ``as_of`` on the way, and
probes the ``seq`` indexes for facts beyond the watermark. Only the customers such rows or
facts concern (a look into the past, events dated ahead, an aggregator that lags) have their
stored contribution replaced by values computed from the raw rows, so every ``as_of`` is
exact whatever the aggregator has folded. (One pass with a per-row ``CASE`` did the same but
cost 1 µs per row: SQLite copies it into every one of the sums.) Binary, count and sum
metrics on the same event all derive from a row's four numbers (``n_window``,
``value_window``, ``n_pre``, ``value_pre``).

SQLite reads each (event, group) range of the primary key on its own (with a handful of groups
that beats sorting a million rows for ``GROUP BY``); PostgreSQL aggregates all groups of an
event in one hash-aggregated pass. Every expression is plain SQL (``CASE``, no boolean
arithmetic) so both backends run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, text

from service.storage.totals import EXPOSURE_EVENT, any_unfolded, folded_below

__all__ = ["ArmAggregate", "MetricColumns", "MetricSums", "PilotAggregate", "aggregate_pilot"]


class MetricColumns(Protocol):
    """What storage needs of a metric (the schema's ``Metric`` has these fields; storage does
    not import the schema)."""

    @property
    def key(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def kind(self) -> str: ...


@dataclass(slots=True)
class MetricSums:
    sum: float = 0.0
    sum_squares: float = 0.0
    covariate_sum: float = 0.0
    covariate_sum_squares: float = 0.0
    cross_sum: float = 0.0


@dataclass(slots=True)
class ArmAggregate:
    group: str
    customers: int = 0
    exposed: int = 0
    exposures: int = 0
    metrics: dict[str, MetricSums] = field(default_factory=dict)


@dataclass(slots=True)
class PilotAggregate:
    arms: dict[str, ArmAggregate]
    total_exposures: int
    unassigned_exposures: int


def _per_customer_value(metric: MetricColumns, period: str) -> str:
    """Per-customer value of ``metric`` from the inner columns (``period`` is y or x)."""
    if metric.kind == "sum":
        return f"v{period}"
    if metric.kind == "count":
        return f"n{period}"
    return f"(CASE WHEN n{period} > 0 THEN 1 ELSE 0 END)"


def _product(metric: MetricColumns, a: str, b: str) -> str:
    # A 0/1 value squared is itself; writing it so lets equal sums share one column.
    if metric.kind == "binary" and a == b:
        return a
    return f"{a} * {b}"


def _metric_sums(metrics: Sequence[MetricColumns]) -> tuple[list[str], list[list[int]]]:
    """Distinct ``SUM`` expressions, and per metric the columns of its five sums.

    Binary, count and sum metrics on one event share terms (Σy² of a binary metric is Σy);
    every term costs per row, so each distinct one is computed once.
    """
    columns: dict[str, int] = {}
    layout = []
    for m in metrics:
        y, x = _per_customer_value(m, "y"), _per_customer_value(m, "x")
        terms = [y, _product(m, y, y), x, _product(m, x, x), _product(m, x, y)]
        layout.append([columns.setdefault(f"SUM({term})", len(columns)) for term in terms])
    return list(columns), layout


def _by_group(dialect: str) -> tuple[str, str]:
    """(filter, grouping) of the per-group statements: one group at a time on SQLite."""
    if dialect == "sqlite":
        return ' AND t."group" = :group', ""
    return "", ' GROUP BY "group"'


@dataclass(frozen=True, slots=True)
class _Reading:
    """The statements of one block of per-group sums (one conversion event, or exposures).

    ``stored`` sums the totals rows and, last, counts those with an event at or after
    ``as_of``. ``stale`` lists the customers whose stored row is not their value as of
    ``as_of``: such late rows, and every customer with a fact beyond the watermark (an
    assignment, or an event of this block). ``stored_stale`` sums their stored rows,
    ``fresh_stale`` their values computed from the raw rows. (In the facts beyond the
    watermark, ``+pilot_id`` keeps SQLite on the ``seq`` index: those rows are the few new
    ones, where the pilot's index would walk all of the pilot's rows.)
    """

    stored: str
    stored_stale: str
    fresh_stale: str


_STORED_ROWS = """
    FROM customer_totals t
    WHERE t.pilot_id = :pilot_id AND t.event = :event AND t.assigned_at <= :as_of"""
_FRESH_ROWS = """
    FROM assignments a CROSS JOIN pilots p
    WHERE a.pilot_id = :pilot_id AND p.id = a.pilot_id AND a.assigned_at <= :as_of"""
_IN_WINDOW = (
    "c.customer_id = a.customer_id AND c.event = :event AND c.ts >= a.assigned_at"
    " AND c.ts < a.assigned_at + p.window_us AND c.ts < :as_of"
)
_IN_PRE_PERIOD = (
    "c.customer_id = a.customer_id AND c.event = :event"
    " AND c.ts >= a.assigned_at - p.lookback_us AND c.ts < a.assigned_at"
)
_LATE_COUNT = "SUM(CASE WHEN last_ts >= :as_of THEN 1 ELSE 0 END)"


def _reading(outer: str, stored: str, fresh: str, pending_facts: str, dialect: str) -> _Reading:
    """The statements of a block whose per-group sums are ``outer`` over per-customer values
    given by ``stored`` (from a totals row ``t``) and ``fresh`` (from the raw rows of an
    assignment ``a`` of pilot ``p``); ``pending_facts`` selects the block's events beyond
    the watermark (their ``customer_id``)."""
    where, group_by = _by_group(dialect)
    stale = f"""
        SELECT customer_id FROM customer_totals
            WHERE pilot_id = :pilot_id AND event = :event AND last_ts >= :as_of
        UNION SELECT customer_id FROM assignments WHERE +pilot_id = :pilot_id AND seq >= :lo
        UNION {pending_facts}"""
    return _Reading(
        stored=f"""
            SELECT "group", {outer}, {_LATE_COUNT}
            FROM (SELECT t."group" AS "group", {stored}, t.last_ts AS last_ts
                  {_STORED_ROWS}{where}) per_customer{group_by}""",
        stored_stale=f"""
            SELECT "group", {outer}, 0
            FROM (SELECT t."group" AS "group", {stored}
                  {_STORED_ROWS} AND t.customer_id IN ({stale})) per_customer
            GROUP BY "group"
        """,
        fresh_stale=f"""
            SELECT "group", {outer}, 0
            FROM (SELECT a."group" AS "group", {fresh}
                  {_FRESH_ROWS} AND a.customer_id IN ({stale})) per_customer
            GROUP BY "group"
        """,
    )


def _event_reading(metrics: Sequence[MetricColumns], dialect: str) -> _Reading:
    """Per-group sums of every metric on one conversion event (``:event``)."""
    sums, _ = _metric_sums(metrics)
    count = "(SELECT COUNT(*) FROM conversions c WHERE {})"
    value = "(SELECT COALESCE(SUM(c.value), 0) FROM conversions c WHERE {})"
    return _reading(
        ", ".join(sums),
        stored="t.n_window AS ny, t.value_window AS vy, t.n_pre AS nx, t.value_pre AS vx",
        fresh=(
            f"{count.format(_IN_WINDOW)} AS ny, {value.format(_IN_WINDOW)} AS vy,"
            f" {count.format(_IN_PRE_PERIOD)} AS nx, {value.format(_IN_PRE_PERIOD)} AS vx"
        ),
        pending_facts="SELECT customer_id FROM conversions WHERE event = :event AND seq >= :lo",
        dialect=dialect,
    )


def _exposure_reading(dialect: str) -> _Reading:
    """Per-group exposed customers and exposures (the totals rows of event ``''``)."""
    return _reading(
        "SUM(CASE WHEN ex > 0 THEN 1 ELSE 0 END), SUM(ex)",
        stored="t.n_window AS ex",
        fresh=(
            "(SELECT COUNT(*) FROM exposures e WHERE e.pilot_id = a.pilot_id"
            " AND e.customer_id = a.customer_id AND e.ts < :as_of) AS ex"
        ),
        pending_facts=(
            "SELECT customer_id FROM exposures WHERE +pilot_id = :pilot_id AND seq >= :lo"
        ),
        dialect=dialect,
    )


def _as_of_sums(
    conn: Connection,
    reading: _Reading,
    params: dict[str, object],
    groups: Sequence[str],
    unfolded: bool,
) -> dict[str, list[float]]:
    """Per-group sums as of ``as_of``: the stored values, with the rows of stale customers
    (late rows, facts beyond the watermark) replaced by their values from the raw rows. The
    usual look, with the aggregator caught up (``unfolded`` false) and no late row, runs the
    first statement only."""
    out = {
        g: [float(v or 0) for v in row]
        for g, row in _per_group(conn, reading.stored, params, groups).items()
    }
    late = any(row[-1] > 0 for row in out.values())
    if late or unfolded:
        stored = _all_groups(conn, reading.stored_stale, params)
        fresh = _all_groups(conn, reading.fresh_stale, params)
        for g in {*stored, *fresh}:
            width = len(stored.get(g) or fresh[g])
            old, new = stored.get(g, [0] * width), fresh.get(g, [0] * width)
            base = out.get(g, [0.0] * width)
            out[g] = [v - float(x or 0) + float(y or 0) for v, x, y in zip(base, old, new)]
    return out


def _all_groups(
    conn: Connection, query: str, params: dict[str, object]
) -> dict[str, Sequence[Any]]:
    """Rows of a statement grouped by ``"group"`` keyed by group (both dialects)."""
    return {row[0]: row[1:] for row in conn.execute(text(query), params)}


def _customers_query(dialect: str) -> str:
    where, group_by = _by_group(dialect)
    return (
        'SELECT "group", COUNT(*) FROM assignments t'
        f" WHERE t.pilot_id = :pilot_id{where} AND t.assigned_at <= :as_of{group_by}"
    )


def _other_groups(
    conn: Connection, params: dict[str, object], known: Sequence[str], known_customers: int
) -> list[str]:
    """Groups recorded outside the design (e.g. imported before the variants were renamed).

    A cheap total count decides whether the (sorting) ``DISTINCT`` is needed at all.
    """
    total = conn.execute(
        text(
            "SELECT COUNT(*) FROM assignments WHERE pilot_id = :pilot_id AND assigned_at <= :as_of"
        ),
        params,
    ).scalar_one()
    if total == known_customers:
        return []
    rows = conn.execute(
        text(
            'SELECT DISTINCT "group" FROM assignments'
            " WHERE pilot_id = :pilot_id AND assigned_at <= :as_of"
        ),
        params,
    )
    return sorted({g for (g,) in rows} - set(known))


def _per_group(
    conn: Connection, query: str, params: dict[str, object], groups: Sequence[str]
) -> dict[str, Sequence[Any]]:
    """Rows of a per-group statement keyed by group (one run per group on SQLite)."""
    if conn.dialect.name == "sqlite":
        rows = [conn.execute(text(query), dict(params, group=g)).one() for g in groups]
        return {g: row[1:] for g, row in zip(groups, rows) if row[0] is not None}
    return {row[0]: row[1:] for row in conn.execute(text(query), params)}


def aggregate_pilot(
    conn: Connection,
    pilot_id: int,
    groups: Sequence[str],
    metrics: Sequence[MetricColumns],
    *,
    as_of_us: int,
) -> PilotAggregate:
    """Per-arm sums as of ``as_of_us``, exact whatever the aggregator has folded: call it
    inside a snapshot (:func:`service.storage.sql.read_transaction` with ``snapshot=True``)
    so that the totals and the watermark read agree."""
    dialect = conn.dialect.name
    watermark = folded_below(conn)
    params: dict[str, object] = {
        "pilot_id": pilot_id,
        "as_of": as_of_us,
        "lo": watermark,
        "event": EXPOSURE_EVENT,
    }
    unfolded = any_unfolded(conn, watermark)

    customers = _per_group(conn, _customers_query(dialect), params, groups)
    if dialect == "sqlite":
        known = sum(int(row[0]) for row in customers.values())
        others = _other_groups(conn, params, groups, known)
        customers |= _per_group(conn, _customers_query(dialect), params, others)
    all_groups = [*groups, *sorted(set(customers) - set(groups))]
    arms = {g: ArmAggregate(g) for g in all_groups}
    for g, row in customers.items():
        arms[g].customers = int(row[0])

    exposures = _as_of_sums(conn, _exposure_reading(dialect), params, all_groups, unfolded)
    for g, row in exposures.items():
        arms[g].exposed, arms[g].exposures = int(row[0]), int(row[1])

    for event in sorted({m.event for m in metrics}):
        on_event = [m for m in metrics if m.event == event]
        _, layout = _metric_sums(on_event)
        reading = _event_reading(on_event, dialect)
        rows = _as_of_sums(conn, reading, dict(params, event=event), all_groups, unfolded)
        for g in all_groups:
            values = rows.get(g)
            for m, columns in zip(on_event, layout):
                sums = (values[c] for c in columns) if values else ()
                arms[g].metrics[m.key] = MetricSums(*sums)

    total_exposures = int(
        conn.execute(
            text("SELECT COUNT(*) FROM exposures WHERE pilot_id = :pilot_id AND ts < :as_of"),
            params,
        ).scalar_one()
    )
    assigned_exposures = sum(a.exposures for a in arms.values())
    return PilotAggregate(arms, total_exposures, total_exposures - assigned_exposures)
