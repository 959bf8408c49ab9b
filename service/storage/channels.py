"""Channel holdouts in SQL: first membership per period, and a period's per-group sums.

Members are written by the one staging routine (:func:`service.storage.staging.insert_new`):
a customer's first membership of a channel in a period is stored once, later calls keep the
first ``first_at`` (it starts the customer's measurement, as ``assigned_at`` does for a pilot).

A period's results need, per member, the conversions of the channel's event from the first
membership to the end of the period (``[first_at, end)``) and in the lookback before it
(``[first_at − lookback, first_at)``, the CUPED covariate); the database sums them per group
into the sufficient statistics of a binary ``conversions`` and a summed ``revenue`` metric.
Nothing per customer is loaded into Python. The sums are computed from the raw conversions at
every look (channel periods are read weekly, not per request), so any ``as_of`` is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from service.storage.aggregates import MetricSums
from service.storage.staging import Staged, Target, insert_new
from service.storage.tables import ID_WIDTH

__all__ = ["CHANNEL_METRICS", "GroupSums", "aggregate_period", "record_members"]

CHANNEL_METRICS = ("conversions", "revenue")
"""What a channel period measures: any conversion (0/1) and the summed value."""

_STAGED_MEMBERS = Staged(
    "staged_channel_members",
    (("customer_id", f"VARCHAR({ID_WIDTH})"), ('"group"', "VARCHAR(16)"), ("first_at", "BIGINT")),
)
_MEMBER_TARGET = Target(
    table="channel_members",
    columns='channel_id, period, customer_id, "group", first_at',
    select=':channel_id, :period, customer_id, "group", first_at',
    same_key=(
        "t.channel_id = :channel_id AND t.period = :period AND t.customer_id = {s}.customer_id"
    ),
    postgres_order="ORDER BY customer_id",
    sqlite_order="ORDER BY customer_id",
)


def record_members(
    conn: Connection, channel_id: int, period: int, rows: Sequence[tuple[str, str, int]]
) -> int:
    """Record ``(customer, group, first_at)`` rows (unique customers) that are not members of
    the period yet, in customer order; returns how many were new."""
    if not rows:
        return 0
    return insert_new(
        conn,
        _STAGED_MEMBERS,
        sorted(rows),
        _MEMBER_TARGET,
        params={"channel_id": channel_id, "period": period},
    )


@dataclass(slots=True)
class GroupSums:
    group: str
    customers: int = 0
    metrics: dict[str, MetricSums] = field(default_factory=dict)


_PERIOD_SUMS = """
    SELECT "group", COUNT(*),
        SUM(yb), SUM(xb), SUM(xb * yb),
        SUM(vy), SUM(vy * vy), SUM(vx), SUM(vx * vx), SUM(vx * vy)
    FROM (
        SELECT "group", CASE WHEN ny > 0 THEN 1 ELSE 0 END AS yb,
            CASE WHEN nx > 0 THEN 1 ELSE 0 END AS xb, vy, vx
        FROM (
            SELECT m."group" AS "group", m.customer_id AS customer_id,
                SUM(CASE WHEN c.ts >= m.first_at THEN 1 ELSE 0 END) AS ny,
                SUM(CASE WHEN c.ts >= m.first_at THEN c.value ELSE 0 END) AS vy,
                SUM(CASE WHEN c.ts < m.first_at THEN 1 ELSE 0 END) AS nx,
                SUM(CASE WHEN c.ts < m.first_at THEN c.value ELSE 0 END) AS vx
            FROM channel_members m LEFT JOIN conversions c
                ON c.customer_id = m.customer_id AND c.event = :event
                AND c.ts >= m.first_at - :lookback AND c.ts < :end
            WHERE m.channel_id = :channel_id AND m.period = :period AND m.first_at <= :as_of
            GROUP BY m."group", m.customer_id
        ) per_customer
    ) per_customer_values
    GROUP BY "group"
"""


def aggregate_period(
    conn: Connection,
    channel_id: int,
    period: int,
    *,
    event: str,
    lookback_us: int,
    end_us: int,
    as_of_us: int,
) -> dict[str, GroupSums]:
    """Per group: members with ``first_at <= as_of`` and the sums of both metrics over their
    conversions before ``end_us`` (the period's end, or ``as_of`` if earlier)."""
    params = {
        "channel_id": channel_id,
        "period": period,
        "event": event,
        "lookback": lookback_us,
        "end": min(end_us, as_of_us),
        "as_of": as_of_us,
    }
    out: dict[str, GroupSums] = {}
    for row in conn.execute(text(_PERIOD_SUMS), params):
        group, n, yb, xb, xyb, vy, vyy, vx, vxx, vxy = row
        f = [float(v or 0) for v in (yb, xb, xyb, vy, vyy, vx, vxx, vxy)]
        out[group] = GroupSums(
            group,
            int(n),
            {
                # A 0/1 value squared is itself.
                "conversions": MetricSums(f[0], f[0], f[1], f[1], f[2]),
                "revenue": MetricSums(f[3], f[4], f[5], f[6], f[7]),
            },
        )
    return out
