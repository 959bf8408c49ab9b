"""One review, three formats: the format asked for (or taken from ``Accept``) and its text."""

from __future__ import annotations

import msgspec

from service.errors import InvalidInput
from service.reports.html import render_html
from service.reports.markdown import render_markdown
from service.schema import WeeklyReport
from service.schema.reports import ReportFormat

__all__ = ["MEDIA_TYPES", "choose_format", "render"]

MEDIA_TYPES: dict[ReportFormat, str] = {
    "json": "application/json",
    "md": "text/markdown",
    "html": "text/html",
}


def choose_format(requested: str | None, accept: str = "") -> ReportFormat:
    """``format=`` when given (422 when unknown), else the first of HTML or Markdown that the
    ``Accept`` header names, else JSON."""
    if requested is not None:
        for fmt in MEDIA_TYPES:
            if fmt == requested:
                return fmt
        raise InvalidInput(f"format must be one of {', '.join(MEDIA_TYPES)}, got {requested!r}.")
    if "text/html" in accept:
        return "html"
    if "text/markdown" in accept:
        return "md"
    return "json"


def render(report: WeeklyReport, fmt: ReportFormat) -> str:
    """The review as a self-contained HTML page, Markdown, or indented JSON."""
    if fmt == "html":
        return render_html(report)
    if fmt == "md":
        return render_markdown(report)
    return msgspec.json.format(msgspec.json.encode(report).decode(), indent=2) + "\n"
