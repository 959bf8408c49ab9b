"""The weekly scale/stop review: build, render (JSON, Markdown, HTML), publish, schedule."""

from service.reports.build import build_weekly_report
from service.reports.store import decision_history, get_snapshot, list_reports, publish_report

__all__ = [
    "build_weekly_report",
    "decision_history",
    "get_snapshot",
    "list_reports",
    "publish_report",
]
