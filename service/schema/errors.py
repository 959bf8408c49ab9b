"""The body of every error answer (4xx and 5xx): one shape, one name in the OpenAPI document.

``extra`` is ``null`` or a list of problems. A problem carries only the keys that apply: an
event or assignment batch names the ``index`` of each bad item, its ``field`` and a
``message``; a request that fails decoding names the parameter or body ``key`` and its
``source`` (``body``, ``query``, ``path``, ``header``, ``cookie``); a conflict lists one
``message`` per clash. A key that does not apply is absent (``UNSET``), not ``null``; only
``field`` may be ``null`` (a batch item whose problem is not one field's).
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from service.schema.common import Response

__all__ = ["ErrorItem", "ErrorResponse"]


class ErrorItem(Response):
    """One problem of a rejected request; only the keys that apply are present."""

    index: int | UnsetType = UNSET
    """Position of the bad item in the batch (events, assignments, customer ids)."""
    field: str | UnsetType | None = UNSET
    """The item's field at fault; ``null`` when the item as a whole is malformed."""
    message: str | UnsetType = UNSET
    key: str | UnsetType = UNSET
    """The request parameter or body path that failed decoding."""
    source: str | UnsetType = UNSET
    """Where ``key`` was read: ``body``, ``query``, ``path``, ``header`` or ``cookie``."""


class ErrorResponse(Response):
    """Every error answer: the HTTP status again, a sentence saying what to fix, and the list of
    problems when there are several (``null`` otherwise)."""

    status_code: int
    detail: str
    extra: list[ErrorItem] | None = None
