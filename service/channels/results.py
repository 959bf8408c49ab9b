"""Results of a channel period: everyone eligible against the channel holdout, intention to
treat, with the pilot's statistics and the money figures that decide the budget.

One read transaction loads the channel, each period's per-group sums (members recorded in the
period, their conversions from first membership to the period's end, the pre-period as CUPED
covariate) and costs; the rest is pure computation:

* ``conversions`` (any conversion, 0/1) and ``revenue`` (summed value) compared by
  :func:`stats.compare` — sequential while the period is running, fixed-horizon once it is over
  or the channel stopped;
* incremental conversions and revenue = lift per customer × eligible customers (with the lift's
  interval scaled alike);
* cost = the posted rows dated in the period; incremental profit = revenue × ``margin_rate`` −
  cost, ROI and cost per incremental conversion with intervals (:func:`stats.profit.profit_check`);
* the channel's pilots: naive and shrunk sums (:mod:`.impact`).

Each period is analysed on its own and all periods are listed side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import msgspec
from sqlalchemy import Connection, Engine

from service.channels.costs import period_costs
from service.channels.impact import pilots_impact
from service.channels.lifecycle import ChannelRecord, load_channel
from service.errors import Conflict, InvalidInput
from service.results import present
from service.schema import ArmMetric, ChannelArm, ChannelMoney, ChannelPeriodSummary, ChannelResults
from service.schema import Comparison as ComparisonOut
from service.schema.common import CHANNEL_HOLDOUT, ELIGIBLE, Interval, Method
from service.storage.aggregates import MetricSums
from service.storage.channels import CHANNEL_METRICS, GroupSums, aggregate_period
from service.storage.sql import read_transaction
from service.timeutil import US_PER_DAY, from_us, to_us
from stats import Comparison, CovariateSample, SampleMean, compare, scale_interval, srm_check
from stats.profit import ProfitCheck, profit_check, total_cost

__all__ = ["PeriodData", "PeriodFigures", "analyse_period", "channel_results", "read_periods"]


@dataclass(frozen=True, slots=True)
class PeriodData:
    """What one read gives for a period: bounds (µs), per-group sums, cost per kind."""

    period: int
    begins: int
    ends: int
    groups: dict[str, GroupSums]
    costs: dict[str, float]


class CostPerConversion(TypedDict):
    cost_per_incremental_conversion: float | None
    cost_per_incremental_conversion_ci: Interval | None


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """A period analysed; ``profit`` is ``None`` while the revenue lift has no interval."""

    data: PeriodData
    method: Method
    comparisons: dict[str, Comparison]
    eligible: int
    incremental_conversions: float | None
    incremental_conversions_ci: Interval | None
    incremental_revenue: float | None
    incremental_revenue_ci: Interval | None
    cost: float
    profit: ProfitCheck | None
    warnings: list[str]

    @property
    def incremental_profit(self) -> float | None:
        if self.profit is not None:
            return self.profit.incremental_profit
        return None

    def money(self) -> dict[str, Any]:
        """The figures every view of a period shows (results, period list, weekly review): the
        fields of :class:`~service.schema.ChannelMoney`, to spread into a response."""
        p = self.profit
        figures = ChannelMoney(
            incremental_revenue=self.incremental_revenue,
            incremental_revenue_ci=self.incremental_revenue_ci,
            incremental_profit=self.incremental_profit,
            incremental_profit_ci=p.profit_ci if p else None,
            roi=p.incremental_roi if p else None,
            roi_ci=p.roi_ci if p else None,
        )
        return msgspec.structs.asdict(figures)

    def cost_per_conversion(self) -> CostPerConversion:
        """The cost per incremental conversion with its interval (not in the period list)."""
        p = self.profit
        return CostPerConversion(
            cost_per_incremental_conversion=p.cost_per_conversion if p else None,
            cost_per_incremental_conversion_ci=p.cost_per_conversion_ci if p else None,
        )

    @property
    def customers(self) -> dict[str, int]:
        return {g: _group(self.data, g).customers for g in (ELIGIBLE, CHANNEL_HOLDOUT)}


def _period_data(
    conn: Connection, record: ChannelRecord, period: int, as_of: datetime
) -> PeriodData:
    begins, ends = record.bounds(period)
    design = record.design
    groups = aggregate_period(
        conn, record.id, period, event=design.event,
        lookback_us=design.covariate_lookback_days * US_PER_DAY, end_us=ends,
        as_of_us=to_us(as_of),
    )  # fmt: skip
    return PeriodData(period, begins, ends, groups, period_costs(conn, record, period, as_of))


def read_periods(
    engine: Engine, key: str, as_of: datetime
) -> tuple[ChannelRecord, list[PeriodData]]:
    """The channel and every period begun by ``as_of``, in one read transaction."""
    with read_transaction(engine) as conn:
        record = load_channel(conn, key)
        if record.started_at is None:
            raise Conflict(f"Channel {key!r} has not started; it has no results yet.")
        last = record.last_period(to_us(as_of))
        return record, [_period_data(conn, record, p, as_of) for p in range(1, last + 1)]


def _group(data: PeriodData, group: str) -> GroupSums:
    return data.groups.get(group) or GroupSums(group, 0, {m: MetricSums() for m in CHANNEL_METRICS})


def _sample(sums: GroupSums, metric: str) -> CovariateSample:
    s = sums.metrics[metric]
    return CovariateSample(
        SampleMean(sums.customers, s.sum, s.sum_squares),
        SampleMean(sums.customers, s.covariate_sum, s.covariate_sum_squares),
        s.cross_sum,
    )


def _method(record: ChannelRecord, data: PeriodData, as_of: datetime) -> Method:
    """Sequential while the period runs (weekly looks stay valid), fixed once it is over."""
    running = record.status == "running" and to_us(as_of) < data.ends
    return "sequential" if running else "fixed"


def _looks(data: PeriodData, as_of: datetime, customers: int) -> tuple[float | None, list[float]]:
    """The group-sequential schedule of a period: ``planned`` customers such that
    ``customers / planned`` is the share of the period elapsed (information on the calendar
    scale, Lan & DeMets 1983), and the earlier looks, the weekly reviews (Mondays 00:00 UTC)
    since the period began."""
    length = data.ends - data.begins
    now = min(to_us(as_of), data.ends)
    if now <= data.begins or customers == 0:
        return None, []
    first = from_us(data.begins).date() + timedelta(days=7 - from_us(data.begins).weekday())
    monday = to_us(datetime(first.year, first.month, first.day, tzinfo=UTC))
    looks = []
    while monday < now:
        looks.append((monday - data.begins) / length)
        monday += 7 * US_PER_DAY
    return customers * length / (now - data.begins), looks


def _interval(c: Comparison, factor: float) -> tuple[float | None, Interval | None]:
    return c.absolute_lift * factor, scale_interval(c.absolute_ci, factor)


def analyse_period(
    record: ChannelRecord,
    data: PeriodData,
    as_of: datetime,
    *,
    method: Method | None = None,
    cuped: bool = True,
) -> PeriodFigures:
    """The period's comparisons and money figures: pure computation on :class:`PeriodData`."""
    design = record.design
    holdout, eligible = _group(data, CHANNEL_HOLDOUT), _group(data, ELIGIBLE)
    chosen = method or _method(record, data, as_of)
    planned, looks = _looks(data, as_of, holdout.customers + eligible.customers)
    comparisons = {
        m: compare(
            _sample(holdout, m),
            _sample(eligible, m),
            kind="binary" if m == "conversions" else "mean",
            alpha=design.alpha,
            method=chosen,
            planned_customers=planned,
            cuped=cuped,
            looks=looks,
        )
        for m in CHANNEL_METRICS
    }
    n = eligible.customers
    conversions, conversions_ci = _interval(comparisons["conversions"], n)
    revenue, revenue_ci = _interval(comparisons["revenue"], n)
    cost = total_cost(posted=data.costs.values())
    profit = None
    warnings = []
    rev_se, conv_se = comparisons["revenue"].absolute_se, comparisons["conversions"].absolute_se
    if revenue is not None and revenue_ci is not None and rev_se and n:
        with_conversions = conversions_ci is not None and conv_se is not None
        # The revenue test's own critical value, so the money intervals agree with it.
        critical = (revenue_ci[1] - revenue_ci[0]) / (2 * rev_se * n)
        profit = profit_check(
            revenue, cost=cost, revenue_se=rev_se * n, revenue_ci=revenue_ci,
            margin_rate=design.margin_rate,
            incremental_conversions=conversions if with_conversions else None,
            conversions_se=conv_se * n if with_conversions and conv_se is not None else None,
            conversions_ci=conversions_ci if with_conversions else None, alpha=design.alpha,
            critical_value=critical,
        )  # fmt: skip
        warnings += list(profit.messages)
    else:
        warnings.append(
            comparisons["revenue"].message
            or "The revenue lift has no interval yet, so profit and ROI are not reported."
        )
    srm = srm_check(
        [holdout.customers, eligible.customers],
        [design.holdout_share, 1 - design.holdout_share],
    )
    if srm.message and not srm.ok:
        warnings.append(srm.message)
    return PeriodFigures(data, chosen, comparisons, n, conversions, conversions_ci, revenue,
                         revenue_ci, cost, profit, warnings)  # fmt: skip


def _arm(sums: GroupSums) -> ChannelArm:
    metrics = {}
    for m in CHANNEL_METRICS:
        s = _sample(sums, m).outcome
        metrics[m] = ArmMetric(mean=s.mean, sd=s.sd, total=s.sum)
    return ChannelArm(group=sums.group, customers=sums.customers, metrics=metrics)  # type: ignore[arg-type]


def _comparisons(figures: PeriodFigures) -> list[ComparisonOut]:
    return [
        present.comparison(
            c,
            c.p_value,
            variant=ELIGIBLE,
            metric=m,
            kind="binary" if m == "conversions" else "sum",
            treated_customers=figures.eligible if m == "conversions" else None,
        )
        for m, c in figures.comparisons.items()
    ]


def summary(figures: PeriodFigures) -> ChannelPeriodSummary:
    return ChannelPeriodSummary(
        period=figures.data.period,
        starts_at=from_us(figures.data.begins),
        ends_at=from_us(figures.data.ends),
        customers=figures.customers,
        cost=figures.cost,
        **figures.money(),
    )


def channel_results(
    engine: Engine,
    key: str,
    as_of: datetime,
    *,
    period: int | None = None,
    method: Method | None = None,
    cuped: bool = True,
) -> ChannelResults:
    """``GET /v1/channels/{key}/results``: one period in detail (default the current one, or
    the last once stopped) and every period begun by ``as_of`` side by side."""
    record, periods = read_periods(engine, key, as_of)
    chosen = period if period is not None else len(periods)
    if not 1 <= chosen <= len(periods):
        raise InvalidInput(
            f"period must be between 1 and {len(periods)} (the channel's period as of"
            f" {as_of.isoformat()}); got {chosen}."
        )
    every = [analyse_period(record, d, as_of, method=method if d.period == chosen else None,
                            cuped=cuped) for d in periods]  # fmt: skip
    figures = every[chosen - 1]
    data, p = figures.data, figures.profit
    begins, ends = from_us(data.begins), from_us(data.ends)
    return ChannelResults(
        channel=record.key,
        status=record.status,  # type: ignore[arg-type]
        period=chosen,
        starts_at=begins,
        ends_at=ends,
        as_of=as_of,
        method=figures.method,
        alpha=record.design.alpha,
        cuped=cuped,
        margin_rate=record.design.margin_rate,
        arms=[_arm(_group(data, g)) for g in (CHANNEL_HOLDOUT, ELIGIBLE)],
        comparisons=_comparisons(figures),
        incremental_conversions=figures.incremental_conversions,
        incremental_conversions_ci=figures.incremental_conversions_ci,
        cost=figures.cost,
        costs_by_kind=data.costs,
        probability_profitable=p.probability_profitable if p else None,
        **figures.money(),
        **figures.cost_per_conversion(),
        pilots=pilots_impact(engine, record, begins, ends, as_of),
        periods=[summary(f) for f in every],
        warnings=figures.warnings,
    )
