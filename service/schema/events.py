"""Exposures and conversions as campaign tools send them."""

from __future__ import annotations

from typing import Annotated

from service.schema.common import (
    AwareTime,
    BatchSize,
    CustomerId,
    EventId,
    FiniteValue,
    Label,
    PilotKey,
    Request,
    Response,
)

__all__ = ["Conversion", "Event", "EventBatch", "Exposure", "IngestResult"]


class Exposure(Request, tag_field="type", tag="exposure"):
    """The treatment of ``experiment`` was delivered to the customer."""

    id: EventId
    customer_id: CustomerId
    experiment: PilotKey
    ts: AwareTime


class Conversion(Request, tag_field="type", tag="conversion", kw_only=True):
    """A purchase (or other outcome); counts for every pilot the customer is assigned to."""

    id: EventId
    customer_id: CustomerId
    ts: AwareTime
    event: Label = "conversion"
    value: FiniteValue = 0.0
    experiment: PilotKey | None = None  # informational only: attribution is by assignment


Event = Exposure | Conversion


class EventBatch(Request):
    events: Annotated[list[Event], BatchSize]


class IngestResult(Response):
    accepted: int
    duplicates: int
