"""Channels with a standing holdout: the declaration, eligibility, cost rows, the results of a
period and the weekly review's channel table."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Literal, get_args

from msgspec import UNSET, Meta, UnsetType

from service.schema.common import (
    BatchSize,
    CustomerId,
    Days,
    EventId,
    FiniteValue,
    Interval,
    Label,
    LookbackDays,
    MarginRate,
    Method,
    Name,
    PilotKey,
    Probability,
    Request,
    Response,
    Salt,
    Share,
    Text,
)
from service.schema.costs import CostKind
from service.schema.results import ArmMetric, Comparison

__all__ = [
    "COST_KINDS",
    "BudgetSummary",
    "Channel",
    "ChannelArm",
    "ChannelCostBatch",
    "ChannelCostResult",
    "ChannelCostRow",
    "ChannelCreate",
    "ChannelGroup",
    "ChannelList",
    "ChannelMoney",
    "ChannelPatch",
    "ChannelPeriod",
    "ChannelPeriodSummary",
    "ChannelPilots",
    "ChannelResults",
    "ChannelReview",
    "ChannelStatus",
    "CustomerEligibility",
    "EligibilityRequest",
    "EligibilityResponse",
    "PilotImpact",
]

COST_KINDS: tuple[CostKind, ...] = get_args(CostKind)
ChannelStatus = Literal["draft", "running", "stopped"]
ChannelGroup = Literal["eligible", "channel_holdout"]

BudgetStep = Annotated[
    float, Meta(ge=0, le=1, description="most of the spend the review may move per week")
]


class ChannelCreate(Request, kw_only=True):
    """A channel as declared. ``salt`` defaults to the key; what decides who is held out
    (``holdout_share``, ``salt``) and what is measured (``event``, the lookback, ``alpha``)
    freezes at start."""

    key: PilotKey
    name: Name
    holdout_share: Share
    period_days: Days = 90
    salt: Salt | None = None
    margin_rate: MarginRate = 1.0
    event: Label = "conversion"
    covariate_lookback_days: LookbackDays = 30
    alpha: Probability = 0.05
    budget_step: BudgetStep = 0.06


class ChannelPatch(Request):
    """Fields to change. In ``draft`` anything; once started only ``name``, ``period_days``
    (from the next period on), ``margin_rate`` and ``budget_step``."""

    name: Name | UnsetType = UNSET
    holdout_share: Share | UnsetType = UNSET
    period_days: Days | UnsetType = UNSET
    salt: Salt | UnsetType = UNSET
    margin_rate: MarginRate | UnsetType = UNSET
    event: Label | UnsetType = UNSET
    covariate_lookback_days: LookbackDays | UnsetType = UNSET
    alpha: Probability | UnsetType = UNSET
    budget_step: BudgetStep | UnsetType = UNSET


class ChannelPeriod(Response):
    """One holdout period: ``[starts_at, ends_at)``."""

    period: int
    starts_at: datetime
    ends_at: datetime


class Channel(Response, kw_only=True):
    """A stored channel; ``period`` is the current one (the last one once stopped)."""

    key: str
    name: str
    status: ChannelStatus
    holdout_share: float
    period_days: int
    salt: str
    margin_rate: float
    event: str
    covariate_lookback_days: int
    alpha: float
    budget_step: float
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    period: ChannelPeriod | None = None


class ChannelList(Response):
    channels: list[Channel]


class EligibilityRequest(Request):
    customer_ids: Annotated[list[CustomerId], BatchSize]


class CustomerEligibility(Response):
    customer_id: str
    group: ChannelGroup


class EligibilityResponse(Response):
    channel: str
    period: int
    customers: list[CustomerEligibility]


class ChannelCostRow(Request, kw_only=True):
    """One cost; ``id`` is the caller's key (re-posting it restates the row). ``amount`` must
    be ≥ 0 and ``kind`` one of media, per_message, tech, people: a row breaking either is named
    in the 422 and nothing of the batch is stored."""

    id: EventId
    date: dt.date
    amount: FiniteValue
    kind: Annotated[str, Meta(description="media | per_message | tech | people")]
    note: Text | None = None


class ChannelCostBatch(Request):
    rows: Annotated[list[ChannelCostRow], BatchSize]


class ChannelCostResult(Response):
    """New ids ``stored``; known ids with other values ``replaced``; identical ``unchanged``."""

    stored: int
    replaced: int
    unchanged: int


class ChannelArm(Response):
    group: ChannelGroup
    customers: int
    metrics: dict[str, ArmMetric]


class PilotImpact(Response):
    """One pilot of the channel: its measured incremental revenue (fixed-horizon) and, with
    three pilots or more, the empirical-Bayes estimate shrunk towards the channel's mean."""

    key: str
    status: str
    incremental_revenue: float
    se: float
    winner: bool
    shrunk: float | None = None


class ChannelPilots(Response):
    """The channel's pilots that ran in the period: the naive sum of their incremental revenue
    next to the shrunk sum (``status`` ``too_few_pilots`` below three: naive sums only)."""

    status: Literal["ok", "too_few_pilots", "no_pilots"]
    message: str | None
    pilots: list[PilotImpact]
    naive_sum: float
    naive_sum_ci: Interval | None
    naive_winners_sum: float
    shrunk_sum: float | None = None
    shrunk_sum_ci: Interval | None = None
    shrunk_winners_sum: float | None = None
    shrunk_winners_ci: Interval | None = None


class ChannelPeriodSummary(ChannelPeriod):
    """A period with its key figures, for the side-by-side list of periods."""

    customers: dict[str, int]
    incremental_revenue: float | None
    incremental_revenue_ci: Interval | None
    cost: float
    incremental_profit: float | None
    incremental_profit_ci: Interval | None
    roi: float | None
    roi_ci: Interval | None


class ChannelMoney(Response, kw_only=True):
    """A period's money figures, the first fields of each view of a period that shows them (its
    results, the weekly review); ``None`` while the revenue lift has no interval."""

    incremental_revenue: float | None
    incremental_revenue_ci: Interval | None
    incremental_profit: float | None
    incremental_profit_ci: Interval | None
    roi: float | None
    roi_ci: Interval | None


class ChannelResults(ChannelMoney, kw_only=True):
    """Everyone eligible against the channel holdout in one period, intention to treat; money
    figures with intervals; the channel's pilots; every period side by side."""

    channel: str
    status: ChannelStatus
    period: int
    starts_at: datetime
    ends_at: datetime
    as_of: datetime
    method: Method
    alpha: float
    cuped: bool
    margin_rate: float
    arms: list[ChannelArm]
    comparisons: list[Comparison]
    incremental_conversions: float | None
    incremental_conversions_ci: Interval | None
    cost: float
    costs_by_kind: dict[str, float]
    probability_profitable: float | None
    cost_per_incremental_conversion: float | None
    cost_per_incremental_conversion_ci: Interval | None
    pilots: ChannelPilots
    periods: list[ChannelPeriodSummary]
    warnings: list[str]


class ChannelReview(ChannelMoney, kw_only=True):
    """One channel in the weekly review's budget table, and the recommended budget change."""

    key: str
    name: str
    status: ChannelStatus
    period: int
    customers: dict[str, int]
    spend: float
    cost_per_incremental_conversion: float | None
    cost_per_incremental_conversion_ci: Interval | None
    budget_step: float
    change: float
    change_relative: float | None
    direction: Literal["increase", "decrease", "hold"]
    reason: str


class BudgetSummary(Response):
    """The review's budget recommendation across channels (``stats.budget``)."""

    status: Literal["shift", "no_change", "too_few_channels"]
    summary: str
    moved: float
