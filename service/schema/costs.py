"""Cost rows posted for a pilot: what its per-exposure and fixed costs do not cover."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta

from service.schema.common import EventId, Label, Request, Response, Text

__all__ = ["CostBatch", "CostKind", "CostList", "CostResult", "CostRow", "PostedCost"]

CostKind = Literal["media", "per_message", "tech", "people"]


class CostRow(Request):
    """One cost; ``id`` is the caller's key: posting the same id again restates the row.
    ``variant`` attributes it to one variant; without it the variants share it by exposures."""

    id: EventId
    date: date
    amount: Annotated[float, Meta(ge=0, le=1e12)]
    kind: CostKind
    variant: Label | None = None
    note: Text | None = None


class CostBatch(Request):
    rows: Annotated[list[CostRow], Meta(min_length=1, max_length=10_000)]


class CostResult(Response):
    stored: int
    replaced: int


class PostedCost(Response):
    id: str
    date: date
    amount: float
    kind: CostKind
    variant: str | None
    note: str | None


class CostList(Response):
    experiment: str
    total: float
    rows: list[PostedCost]
