"""The widgets' small text pieces: a number or an interval in a given format (a dash when it is
undefined) and an inline warning. One place, so that every widget writes them alike."""

from __future__ import annotations

from html import escape

__all__ = ["interval", "number", "warning_html"]

MISSING = "–"


def number(x: float | None, fmt: str) -> str:
    """``x`` in the format spec ``fmt`` (``"+.1%"``, ``",.0f"``), a dash when undefined."""
    return MISSING if x is None else format(x, fmt)


def interval(ci: tuple[float, float] | None, fmt: str) -> str:
    """``[low, high]`` with both ends in ``fmt``, a dash when undefined."""
    return MISSING if ci is None else f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def warning_html(message: str) -> str:
    """A one-line warning inside a widget (the message is escaped)."""
    return f'<span style="color:#cf222e">⚠ {escape(message)}</span>'
