"""The weekly scale/stop review, its published snapshots and the decision log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from service.schema.channels import BudgetSummary, ChannelReview
from service.schema.common import Action, Method, Request, Response
from service.schema.geo_results import GeoResults
from service.schema.pilots import FinalDecision, PilotHeading
from service.schema.results import Comparison, Decision, Revenue, Srm, TimeseriesPoint

__all__ = [
    "DecisionLog",
    "DecisionRecord",
    "PilotReview",
    "PublishRequest",
    "ReportFormat",
    "ReportInfo",
    "ReportList",
    "ReportSnapshot",
    "ReportSummary",
    "WeekLabel",
    "WeeklyReport",
]

ReportFormat = Literal["json", "md", "html"]

WeekLabel = Annotated[str, Meta(pattern=r"^\d{4}-W\d{2}$", description="ISO week, 2026-W47")]


class PilotReview(PilotHeading):
    """One pilot in a weekly review: the results as of the week's end, and what changed."""

    started_at: datetime | None
    stopped_at: datetime | None
    concluded_at: datetime | None
    days_running: float
    planned_duration_days: int
    customers: dict[str, int]
    primary_metric: str
    min_lift: float
    method: Method
    primary: list[Comparison]
    guardrails: list[Comparison]
    revenue: Revenue
    decision: Decision
    warnings: list[str]
    srm: Srm
    final_decision: FinalDecision | None = None
    final_note: str | None = None
    changes: list[str] = []
    previous_action: Action | None = None
    information_fraction: float | None = None
    """This look's share of the planned customers; publishing records it as a look of the
    group-sequential test."""
    timeseries: list[TimeseriesPoint] = []
    geo: GeoResults | None = None
    """A geo pilot's observed vs counterfactual series (the review draws it with its band)."""


class ReportSummary(Response):
    pilots: int
    actions: dict[str, int]
    incremental_revenue: float
    cost: float


class WeeklyReport(Response):
    week: str
    starts: datetime
    ends: datetime
    generated_at: datetime
    compared_with: str | None
    summary: ReportSummary
    pilots: list[PilotReview]
    # Added with channel holdouts (issue 16); defaults keep older snapshots decodable.
    channels: list[ChannelReview] = []
    budget: BudgetSummary | None = None


class PublishRequest(Request):
    week: WeekLabel | None = None


class ReportSnapshot(Response):
    week: str
    published_at: datetime
    published_by: str
    report: WeeklyReport


class ReportInfo(Response):
    week: str
    published_at: datetime
    published_by: str
    pilots: int
    actions: dict[str, int]


class ReportList(Response):
    reports: list[ReportInfo]


class DecisionRecord(Response):
    experiment: str
    week: str | None
    action: Action
    reasons: list[str]
    note: str | None
    source: Literal["weekly_review", "conclusion"]
    recorded_at: datetime


class DecisionLog(Response):
    experiment: str
    decisions: list[DecisionRecord]
