"""Assignment requests and answers, recorded assignments and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from service.schema.common import (
    AwareTime,
    BatchSize,
    CustomerId,
    Label,
    Request,
    Response,
)

__all__ = [
    "AssignmentImport",
    "AssignmentImportResult",
    "AssignmentRequest",
    "AssignmentResponse",
    "CustomerAssignment",
    "ImportedAssignment",
    "RecordedAssignment",
]


class AssignmentRequest(Request):
    customer_ids: Annotated[list[CustomerId], BatchSize]


class CustomerAssignment(Response):
    customer_id: str
    group: str


class AssignmentResponse(Response):
    experiment: str
    assignments: list[CustomerAssignment]


class RecordedAssignment(Response):
    experiment: str
    customer_id: str
    group: str
    assigned_at: datetime
    source: Literal["hash", "import"]


class ImportedAssignment(Request):
    customer_id: CustomerId
    group: Label
    assigned_at: AwareTime


class AssignmentImport(Request):
    assignments: Annotated[list[ImportedAssignment], BatchSize]


class AssignmentImportResult(Response):
    imported: int
    unchanged: int
