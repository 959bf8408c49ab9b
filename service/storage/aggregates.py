"""Per-arm sufficient statistics of a pilot, computed by the database from the window totals.

For every metric the database returns, per group, ``Σy``, ``Σy²`` over the attribution window
and the pre-period covariate sums ``Σx``, ``Σx²``, ``Σxy`` (for CUPED), plus customers, exposed
customers and exposures. Nothing per customer or per event is loaded into Python.

The per-customer numbers come from ``customer_totals`` (:mod:`service.storage.totals`), one row
per pilot, event, group and customer, kept current by every write. The usual look (``as_of`` =
now) sums the stored values in one range scan per group and event, and counts the rows with
an event at or after ``as_of`` on the way. Only if there are such late rows (a look into the
past, or events dated ahead) are their contributions replaced by values recomputed from the
raw events, so every ``as_of`` is exact. (One pass with a per-row ``CASE`` did the same but
cost 1 µs per row: SQLite copies it into every one of the sums.) Binary, count and sum
metrics on the same event all derive from a row's four numbers (``n_window``,
``value_window``, ``n_pre``, ``value_pre``).

SQLite reads each (event, group) range of the primary key on its own (with a handful of groups
that beats sorting a million rows for ``GROUP BY``); PostgreSQL aggregates all groups of an
event in one hash-aggregated pass. Every expression is plain SQL (``CASE``, no boolean
arithmetic) so both backends run it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection, text

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


_LATE = " AND t.last_ts >= :as_of"
_IN_WINDOW = (
    "c.customer_id = t.customer_id AND c.event = t.event AND c.ts >= t.assigned_at"
    " AND c.ts < t.assigned_at + :window AND c.ts < :as_of"
)


def _by_group(dialect: str) -> tuple[str, str]:
    """(filter, grouping) of the per-group statements: one group at a time on SQLite."""
    if dialect == "sqlite":
        return ' AND t."group" = :group', ""
    return "", ' GROUP BY "group"'


def _event_query(
    metrics: Sequence[MetricColumns], dialect: str, *, late: bool = False, recompute: bool = False
) -> str:
    """Per-group sums of every metric on one event (``:event``), then the count of late rows.

    By default every row of the range counts with its stored values. ``late`` keeps only the
    rows with an event at or after ``as_of``; ``recompute`` takes their values as of ``as_of``
    from the raw conversions (the subqueries run for those rows only).
    """
    stored = {"ny": "t.n_window", "vy": "t.value_window"}
    if recompute:
        stored["ny"] = f"(SELECT COUNT(*) FROM conversions c WHERE {_IN_WINDOW})"
        if any(m.kind == "sum" for m in metrics):
            stored["vy"] = (
                f"(SELECT COALESCE(SUM(c.value), 0) FROM conversions c WHERE {_IN_WINDOW})"
            )
    sums, _ = _metric_sums(metrics)
    where, group_by = _by_group(dialect)
    return f"""
        SELECT "group", {", ".join(sums)}, SUM(CASE WHEN last_ts >= :as_of THEN 1 ELSE 0 END)
        FROM (
            SELECT t."group" AS "group", {stored["ny"]} AS ny, {stored["vy"]} AS vy,
                t.n_pre AS nx, t.value_pre AS vx, t.last_ts AS last_ts
            FROM customer_totals t
            WHERE t.pilot_id = :pilot_id AND t.event = :event{where}
                AND t.assigned_at <= :as_of{_LATE if late else ""}
        ) per_customer{group_by}
    """


def _exposure_query(dialect: str, *, late: bool = False, recompute: bool = False) -> str:
    """Per-group exposed customers, exposures and late rows (as :func:`_event_query`)."""
    where, group_by = _by_group(dialect)
    ex = "t.n_window"
    if recompute:
        ex = (
            "(SELECT COUNT(*) FROM exposures e WHERE e.pilot_id = t.pilot_id"
            " AND e.customer_id = t.customer_id AND e.ts < :as_of)"
        )
    return f"""
        SELECT "group", SUM(CASE WHEN ex > 0 THEN 1 ELSE 0 END), SUM(ex),
            SUM(CASE WHEN last_ts >= :as_of THEN 1 ELSE 0 END)
        FROM (
            SELECT t."group" AS "group", {ex} AS ex, t.last_ts AS last_ts
            FROM customer_totals t
            WHERE t.pilot_id = :pilot_id AND t.event = ''{where}
                AND t.assigned_at <= :as_of{_LATE if late else ""}
        ) per_customer{group_by}
    """


def _as_of_sums(
    conn: Connection,
    query: Callable[..., str],
    params: dict[str, object],
    groups: Sequence[str],
) -> dict[str, list[float]]:
    """Per-group sums as of ``as_of``: the stored values, with late rows replaced by their
    values recomputed from the raw events (only when there are late rows)."""
    dialect = conn.dialect.name
    out = {
        g: [float(v or 0) for v in row]
        for g, row in _per_group(conn, query(dialect), params, groups).items()
    }
    late_groups = [g for g, row in out.items() if row[-1] > 0]
    if late_groups:
        stored = _per_group(conn, query(dialect, late=True), params, late_groups)
        fresh = _per_group(conn, query(dialect, late=True, recompute=True), params, late_groups)
        for g in late_groups:
            old, new = stored.get(g, ()), fresh.get(g, ())
            out[g] = [v - float(a or 0) + float(b or 0) for v, a, b in zip(out[g], old, new)]
    return out


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
    window_us: int,
    as_of_us: int,
) -> PilotAggregate:
    """Per-arm sums as of ``as_of_us``; ``window_us`` bounds the recomputation of late rows
    (the lookback is already inside the totals)."""
    dialect = conn.dialect.name
    params: dict[str, object] = {"pilot_id": pilot_id, "as_of": as_of_us, "window": window_us}

    customers = _per_group(conn, _customers_query(dialect), params, groups)
    if dialect == "sqlite":
        known = sum(int(row[0]) for row in customers.values())
        others = _other_groups(conn, params, groups, known)
        customers |= _per_group(conn, _customers_query(dialect), params, others)
    all_groups = [*groups, *sorted(set(customers) - set(groups))]
    arms = {g: ArmAggregate(g) for g in all_groups}
    for g, row in customers.items():
        arms[g].customers = int(row[0])

    for g, row in _as_of_sums(conn, _exposure_query, params, all_groups).items():
        arms[g].exposed, arms[g].exposures = int(row[0]), int(row[1])

    for event in sorted({m.event for m in metrics}):
        on_event = [m for m in metrics if m.event == event]
        _, layout = _metric_sums(on_event)
        query = partial(_event_query, on_event)
        rows = _as_of_sums(conn, query, dict(params, event=event), all_groups)
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
