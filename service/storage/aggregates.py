"""Per-arm sufficient statistics of a pilot, computed by the database.

For every metric the database returns, per group, ``Σy``, ``Σy²`` over the attribution window
and the pre-period covariate sums ``Σx``, ``Σx²``, ``Σxy`` (for CUPED), plus customers, exposed
customers and exposures. Nothing per customer or per event is loaded into Python.

Why the query has this shape (measured on SQLite, 1,000,000 customers, 2.1M conversions,
900k exposures; see ``benchmarks/bench_core.py``):

* **One statement per group**, filtered by ``grp``, instead of ``GROUP BY grp``: a ``GROUP BY``
  over a million per-customer rows makes SQLite sort them in a temporary B-tree; with a handful
  of groups, re-reading the small covering index once per group is far cheaper.
* **One pass per customer** computes exposures (a correlated count on the covering index
  ``(pilot_id, customer_id, ts)``) and the conversion sums together, where separate queries each
  walked every customer again.
* **Per distinct event, not per metric**: the join yields, per customer and event, the count
  and value in the window (``ny``, ``vy``) and in the pre-period (``nx``, ``vx``); binary, count
  and sum metrics on the same event are all derived from these four numbers.

Every expression is plain SQL (``CASE``, no boolean arithmetic) so PostgreSQL runs it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from service.schema import Metric

__all__ = ["ArmAggregate", "MetricSums", "PilotAggregate", "aggregate_pilot"]


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


def _per_customer_value(metric: Metric, event_index: int, period: str) -> str:
    """Per-customer value of ``metric`` from the inner columns (``period`` is y or x)."""
    count, value = f"n{period}{event_index}", f"v{period}{event_index}"
    if metric.kind == "sum":
        return value
    if metric.kind == "count":
        return count
    return f"(CASE WHEN {count} > 0 THEN 1 ELSE 0 END)"


def _group_query(metrics: Sequence[Metric], events: Sequence[str], dialect: str = "sqlite") -> str:
    needs_value = {m.event for m in metrics if m.kind == "sum"}
    inner = [
        "(SELECT COUNT(*) FROM exposures e WHERE e.pilot_id = a.pilot_id"
        " AND e.customer_id = a.customer_id AND e.ts < :as_of) AS ex"
    ]
    for i, name in enumerate(events):
        match = f"c.event = :ev{i}"
        for period, cond in (("y", "c.ts >= a.assigned_at"), ("x", "c.ts < a.assigned_at")):
            inner.append(
                f"COALESCE(SUM(CASE WHEN {match} AND {cond} THEN 1 ELSE 0 END), 0) AS n{period}{i}"
            )
            if name in needs_value:
                inner.append(
                    f"COALESCE(SUM(CASE WHEN {match} AND {cond} THEN c.value ELSE 0 END), 0)"
                    f" AS v{period}{i}"
                )
    outer = ["COUNT(*)", "SUM(CASE WHEN ex > 0 THEN 1 ELSE 0 END)", "SUM(ex)"]
    for m in metrics:
        i = events.index(m.event)
        y = _per_customer_value(m, i, "y")
        x = _per_customer_value(m, i, "x")
        outer += [f"SUM({y})", f"SUM({y} * {y})", f"SUM({x})", f"SUM({x} * {x})", f"SUM({x} * {y})"]
    event_list = ", ".join(f":ev{i}" for i in range(len(events)))
    # SQLite walks the covering index in customer order when grouping by customer_id alone;
    # PostgreSQL needs the whole primary key to accept assigned_at outside an aggregate.
    group_by = "a.customer_id" if dialect == "sqlite" else "a.pilot_id, a.customer_id"
    join = (
        "LEFT JOIN conversions c"
        " ON c.customer_id = a.customer_id"
        f" AND c.event IN ({event_list})"
        " AND c.ts >= a.assigned_at - :lookback"
        " AND c.ts < a.assigned_at + :window"
        " AND c.ts < :as_of"
        if events
        else ""
    )
    return f"""
        SELECT {", ".join(outer)}
        FROM (
            SELECT {", ".join(inner)}
            FROM assignments a {join}
            WHERE a.pilot_id = :pilot_id AND a.grp = :grp AND a.assigned_at <= :as_of
            GROUP BY {group_by}
        ) per_customer
    """


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
            "SELECT DISTINCT grp FROM assignments"
            " WHERE pilot_id = :pilot_id AND assigned_at <= :as_of"
        ),
        params,
    )
    return sorted({g for (g,) in rows} - set(known))


def _fill(arm: ArmAggregate, row: Sequence[object], metrics: Sequence[Metric]) -> None:
    arm.customers = int(row[0] or 0)  # type: ignore[call-overload]
    arm.exposed = int(row[1] or 0)  # type: ignore[call-overload]
    arm.exposures = int(row[2] or 0)  # type: ignore[call-overload]
    for i, m in enumerate(metrics):
        base = 3 + 5 * i
        arm.metrics[m.key] = MetricSums(*(float(v or 0) for v in row[base : base + 5]))  # type: ignore[arg-type]


def aggregate_pilot(
    conn: Connection,
    pilot_id: int,
    groups: Sequence[str],
    metrics: Sequence[Metric],
    *,
    window_us: int,
    lookback_us: int,
    as_of_us: int,
) -> PilotAggregate:
    events = sorted({m.event for m in metrics})
    query = text(_group_query(metrics, events, conn.dialect.name))
    params: dict[str, object] = {
        "pilot_id": pilot_id,
        "as_of": as_of_us,
        "window": window_us,
        "lookback": lookback_us,
    }
    params.update({f"ev{i}": name for i, name in enumerate(events)})

    arms: dict[str, ArmAggregate] = {}

    def run(group: str) -> None:
        arm = arms[group] = ArmAggregate(group)
        _fill(arm, conn.execute(query, dict(params, grp=group)).one(), metrics)

    for group in groups:
        run(group)
    known_customers = sum(a.customers for a in arms.values())
    for group in _other_groups(conn, params, groups, known_customers):
        run(group)

    total_exposures = int(
        conn.execute(
            text("SELECT COUNT(*) FROM exposures WHERE pilot_id = :pilot_id AND ts < :as_of"),
            params,
        ).scalar_one()
    )
    assigned_exposures = sum(a.exposures for a in arms.values())
    return PilotAggregate(arms, total_exposures, total_exposures - assigned_exposures)
