"""The service's exception tree; each class carries its HTTP status, mapped in one place
(:func:`service.app.create_app`).

::

    PilotliftError
    ├── Unauthorized      401  missing, unknown or revoked API key
    ├── Forbidden         403  the key lacks the scope the endpoint needs
    ├── NotFound          404  no such pilot / assignment
    ├── Conflict          409  the request contradicts the pilot's state or a recorded fact
    ├── InvalidInput      422  well-formed JSON that breaks a rule; ``extra`` lists each problem
    ├── PayloadTooLarge   413
    └── UnsupportedMedia  415

Every error answer is a :class:`service.schema.ErrorResponse`: ``{"status_code", "detail",
"extra"}``, where ``extra`` is ``null`` or a list of problems. An exception's ``extra`` is
that list: mappings with the keys of :class:`service.schema.ErrorItem` (``index``, ``field``,
``message``), each answered with exactly the keys it has, or sentences, each answered as
``{"message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PilotliftError",
    "Problem",
    "Unauthorized",
    "UnsupportedMedia",
]


Problem = Mapping[str, Any] | str
"""One entry of ``extra``: an :class:`~service.schema.ErrorItem`'s keys, or a sentence."""


class PilotliftError(Exception):
    status_code = 500

    def __init__(self, detail: str, extra: Sequence[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthorized(PilotliftError):
    status_code = 401


class Forbidden(PilotliftError):
    status_code = 403


class NotFound(PilotliftError):
    status_code = 404


class Conflict(PilotliftError):
    status_code = 409


class InvalidInput(PilotliftError):
    status_code = 422


class PayloadTooLarge(PilotliftError):
    status_code = 413


class UnsupportedMedia(PilotliftError):
    status_code = 415
