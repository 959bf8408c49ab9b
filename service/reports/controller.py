"""Weekly review endpoints: ``/v1/reports`` and the per-pilot decision log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from service import reports
from service.reports.build import review_of_week
from service.reports.render import MEDIA_TYPES, choose_format, render
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.schema import DecisionLog, PublishRequest, ReportList, ReportSnapshot, WeeklyReport
from service.schema.reports import ReportFormat
from service.timeutil import checked_week

__all__ = ["ReportController", "decisions"]

Week = Annotated[str | None, QueryParameter(description="ISO week; default last complete")]
Format = Annotated[str | None, QueryParameter(description="json | md | html; else Accept")]


def _answer(
    report: WeeklyReport, fmt: ReportFormat, snapshot: ReportSnapshot | None = None
) -> Response[object]:
    if fmt == "json":  # the snapshot, when there is one, with its publication facts
        return Response(snapshot or report, media_type=MEDIA_TYPES["json"])
    # Litestar adds "; charset=utf-8" to text types itself.
    return Response(render(report, fmt), media_type=MEDIA_TYPES[fmt])


class ReportController(Controller):
    path = "/v1/reports"
    tags = ["weekly review"]

    @get("/weekly", operation_id="getWeeklyReport", sync_to_thread=True,
         media_type="application/json")  # fmt: skip
    def weekly(
        self, request: Request, engine: EngineDep, settings: SettingsDep, week: Week = None,
        format: Format = None,
    ) -> Response[object]:  # fmt: skip
        """Every pilot that ran during the week, as of its end, with decisions and changes.
        JSON, Markdown (``text/markdown``) or a self-contained HTML page (``text/html``)."""
        fmt = choose_format(format, request.headers.get("accept", ""))
        now = settings.clock()
        return _answer(review_of_week(engine, checked_week(week, now), now), fmt)

    @post("", operation_id="publishWeeklyReport", status_code=HTTP_201_CREATED,
          sync_to_thread=True)  # fmt: skip
    def publish(
        self, data: JSONBody[PublishRequest], engine: EngineDep, settings: SettingsDep,
        actor: ActorDep,
    ) -> ReportSnapshot:  # fmt: skip
        """Publish a week's review: an immutable snapshot that enters the decision log."""
        now = settings.clock()
        report = review_of_week(engine, checked_week(data.week, now), now)
        return reports.publish_report(engine, report, by="api", now=now, actor=actor)

    @get("", operation_id="listReports", sync_to_thread=True)
    def list(self, engine: EngineDep) -> ReportList:
        """Published reviews, oldest first."""
        return reports.list_reports(engine)

    @get("/{week:str}", operation_id="getPublishedReport", sync_to_thread=True,
         media_type="application/json")  # fmt: skip
    def published(
        self, request: Request, week: FromPath[str], engine: EngineDep, format: Format = None
    ) -> Response[object]:
        """A published review exactly as it was published (JSON, Markdown or HTML)."""
        snapshot = reports.get_snapshot(engine, week)
        fmt = choose_format(format, request.headers.get("accept", ""))
        return _answer(snapshot.report, fmt, snapshot)


@get("/v1/experiments/{key:str}/decisions", operation_id="getDecisionLog",
     tags=["weekly review"], sync_to_thread=True)  # fmt: skip
def decisions(key: FromPath[str], engine: EngineDep) -> DecisionLog:
    """The pilot's decision log: each published week's call and the final conclusion."""
    return reports.decision_history(engine, key)
