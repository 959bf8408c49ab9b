"""How an interval is drawn: the settings :func:`stats.compare` and
:func:`stats.guardrail.guardrail_verdict` take alike, kept together so a guardrail's verdict
and the comparisons beside it are always drawn the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from stats import Method

__all__ = ["IntervalSettings"]


class IntervalSettings(TypedDict):
    """Keyword arguments of :func:`stats.compare` and :func:`stats.guardrail.guardrail_verdict`
    (passed on as ``**settings``): the inference method, the planned customers and earlier
    looks (information fractions) a group-sequential test spends its α over, and CUPED."""

    method: Method
    planned_customers: float | None
    cuped: bool
    looks: Sequence[float]
