"""Per-arm sufficient statistics of a pilot, computed by the database.

For every metric the query returns, per group, ``Σy``, ``Σy²`` over the attribution window and
the pre-period covariate sums ``Σx``, ``Σx²``, ``Σxy`` (for CUPED). Customers without any
conversion contribute zeros, so the join only touches customers who converted; the customer
counts come from the assignments alone. Nothing per customer is loaded into Python.
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


def _value_expr(kind: str, event_param: str, in_window: str) -> str:
    """Per-customer value of one metric over conversions matching ``in_window``."""
    match = f"c.event = :{event_param} AND {in_window}"
    if kind == "sum":
        return f"SUM(CASE WHEN {match} THEN c.value ELSE 0 END)"
    count = f"SUM(CASE WHEN {match} THEN 1 ELSE 0 END)"
    if kind == "count":
        return count
    return f"CASE WHEN {count} > 0 THEN 1 ELSE 0 END"


def _metric_query(metrics: Sequence[Metric], n_events: int) -> str:
    in_window = "c.ts >= a.assigned_at"
    before = "c.ts < a.assigned_at"
    inner = []
    outer = []
    for i, m in enumerate(metrics):
        inner.append(f"{_value_expr(m.kind, f'e{i}', in_window)} AS y{i}")
        inner.append(f"{_value_expr(m.kind, f'e{i}', before)} AS x{i}")
        outer.append(f"SUM(y{i}), SUM(y{i} * y{i}), SUM(x{i}), SUM(x{i} * x{i}), SUM(x{i} * y{i})")
    # Distinct event names only: each one in the IN list is one more index seek per customer.
    events = ", ".join(f":ev{i}" for i in range(n_events))
    return f"""
        SELECT grp, {", ".join(outer)}
        FROM (
            SELECT a.grp AS grp, {", ".join(inner)}
            FROM assignments a
            JOIN conversions c
              ON c.customer_id = a.customer_id
             AND c.event IN ({events})
             AND c.ts >= a.assigned_at - :lookback
             AND c.ts < a.assigned_at + :window
             AND c.ts < :as_of
            WHERE a.pilot_id = :pilot_id AND a.assigned_at <= :as_of
            GROUP BY a.customer_id, a.grp
        ) per_customer
        GROUP BY grp
    """


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
    arms = {g: ArmAggregate(g, metrics={m.key: MetricSums() for m in metrics}) for g in groups}
    params = {"pilot_id": pilot_id, "as_of": as_of_us}

    def arm(group: str) -> ArmAggregate:
        # A group outside the design (an imported label, say) is still reported.
        if group not in arms:
            arms[group] = ArmAggregate(group, metrics={m.key: MetricSums() for m in metrics})
        return arms[group]

    for grp, n in conn.execute(
        text(
            "SELECT grp, COUNT(*) FROM assignments"
            " WHERE pilot_id = :pilot_id AND assigned_at <= :as_of GROUP BY grp"
        ),
        params,
    ):
        arm(grp).customers = int(n)

    total_exposures = 0
    assigned_exposures = 0
    for grp, exposed, exposures in conn.execute(
        text(
            "SELECT a.grp, COUNT(*), SUM(e.n) FROM assignments a"
            " JOIN (SELECT customer_id, COUNT(*) AS n FROM exposures"
            "       WHERE pilot_id = :pilot_id AND ts < :as_of GROUP BY customer_id) e"
            "   ON e.customer_id = a.customer_id"
            " WHERE a.pilot_id = :pilot_id AND a.assigned_at <= :as_of GROUP BY a.grp"
        ),
        params,
    ):
        arm(grp).exposed = int(exposed)
        arm(grp).exposures = int(exposures)
        assigned_exposures += int(exposures)
    total_exposures = int(
        conn.execute(
            text("SELECT COUNT(*) FROM exposures WHERE pilot_id = :pilot_id AND ts < :as_of"),
            params,
        ).scalar_one()
    )

    if metrics:
        metric_params: dict[str, object] = dict(params, window=window_us, lookback=lookback_us)
        metric_params.update({f"e{i}": m.event for i, m in enumerate(metrics)})
        distinct = sorted({m.event for m in metrics})
        metric_params.update({f"ev{i}": name for i, name in enumerate(distinct)})
        query = _metric_query(metrics, len(distinct))
        for row in conn.execute(text(query), metric_params):
            target = arm(row[0])
            for i, m in enumerate(metrics):
                base = 1 + 5 * i
                target.metrics[m.key] = MetricSums(*(float(v or 0) for v in row[base : base + 5]))
    return PilotAggregate(arms, total_exposures, total_exposures - assigned_exposures)
