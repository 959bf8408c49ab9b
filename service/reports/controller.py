"""Weekly review endpoints: ``/v1/reports`` and the per-pilot decision log."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from service import reports
from service.errors import InvalidInput
from service.reports.html import render_html
from service.reports.markdown import render_markdown
from service.reports.store import find_snapshot
from service.runtime.dependencies import EngineDep, SettingsDep
from service.schema import (
    DecisionLog,
    PublishRequest,
    ReportList,
    ReportSnapshot,
    WeeklyReport,
)
from service.settings import Settings
from service.timeutil import last_complete_week, parse_iso_week, shift_week

FORMATS = {"json": "application/json", "md": "text/markdown", "html": "text/html"}


def _format(request: Request, requested: str | None) -> str:
    if requested is not None:
        if requested not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {requested!r}.")
        return requested
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return "html"
    if "text/markdown" in accept:
        return "md"
    return "json"


def _render(report: WeeklyReport, fmt: str, snapshot: ReportSnapshot | None = None) -> Response:
    if fmt == "html":
        return Response(render_html(report), media_type="text/html; charset=utf-8")
    if fmt == "md":
        return Response(render_markdown(report), media_type="text/markdown; charset=utf-8")
    return Response(snapshot or report, media_type="application/json")


def _week(week: str | None, settings: Settings) -> str:
    week = week or last_complete_week(settings.clock())
    try:
        parse_iso_week(week)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return week


def build_for(engine: EngineDep, settings: Settings, week: str) -> WeeklyReport:
    """The review of ``week``, compared with last week's published snapshot if any."""
    previous = find_snapshot(engine, shift_week(week, -1))
    return reports.build_weekly_report(
        engine, week, settings.clock(), previous=previous.report if previous else None
    )


class ReportController(Controller):
    path = "/v1/reports"
    tags = ["weekly review"]

    @get("/weekly", operation_id="getWeeklyReport", sync_to_thread=True,
         media_type="application/json")  # fmt: skip
    def weekly(
        self,
        request: Request,
        engine: EngineDep,
        settings: SettingsDep,
        week: str | None = Parameter(default=None, description="ISO week; default last complete"),
        format: str | None = Parameter(default=None, description="json | md | html; else Accept"),
    ) -> Response:
        """Every pilot that ran during the week, as of its end, with decisions and changes.
        JSON, Markdown (``text/markdown``) or a self-contained HTML page (``text/html``)."""
        fmt = _format(request, format)
        return _render(build_for(engine, settings, _week(week, settings)), fmt)

    @post("", operation_id="publishWeeklyReport", status_code=HTTP_201_CREATED,
          sync_to_thread=True)  # fmt: skip
    def publish(
        self, data: PublishRequest, engine: EngineDep, settings: SettingsDep, actor: str
    ) -> ReportSnapshot:
        """Publish a week's review: an immutable snapshot that enters the decision log."""
        week = _week(data.week, settings)
        report = build_for(engine, settings, week)
        return reports.publish_report(engine, report, by="api", now=settings.clock(), actor=actor)

    @get("", operation_id="listReports", sync_to_thread=True)
    def list(self, engine: EngineDep) -> ReportList:
        """Published reviews, oldest first."""
        return reports.list_reports(engine)

    @get("/{week:str}", operation_id="getPublishedReport", sync_to_thread=True,
         media_type="application/json")  # fmt: skip
    def published(
        self,
        request: Request,
        week: str,
        engine: EngineDep,
        format: str | None = Parameter(default=None, description="json | md | html; else Accept"),
    ) -> Response:
        """A published review exactly as it was published (JSON, Markdown or HTML)."""
        snapshot = reports.get_snapshot(engine, week)
        return _render(snapshot.report, _format(request, format), snapshot)


@get("/v1/experiments/{key:str}/decisions", operation_id="getDecisionLog",
     tags=["weekly review"], sync_to_thread=True)  # fmt: skip
def decisions(key: str, engine: EngineDep) -> DecisionLog:
    """The pilot's decision log: each published week's call and the final conclusion."""
    return reports.decision_history(engine, key)
