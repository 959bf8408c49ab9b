"""The service's exception tree; each class carries its HTTP status, mapped in one place
(:func:`service.app.create_app`).

::

    PilotliftError
    ├── Unauthorized        401  missing, unknown or revoked API key
    ├── Forbidden           403  the key lacks the scope the endpoint needs
    ├── NotFound            404  no such pilot / assignment
    ├── Conflict            409  the request contradicts the pilot's state or a recorded fact
    ├── InvalidInput        422  well-formed JSON that breaks a rule; ``extra`` lists each problem
    ├── PayloadTooLarge     413
    ├── UnsupportedMedia    415
    ├── StorageUnavailable  503  the database cannot be reached (refused, lost, restarting,
    │                            out of connections); answered with ``Retry-After``
    └── StorageFull         507  the database cannot be written: disk full or read-only storage

The two storage classes are raised by one translation of database errors
(:func:`service.storage.faults.storage_error`), never by domain code.

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
    "StorageFull",
    "StorageUnavailable",
    "Unauthorized",
    "UnsupportedMedia",
]


Problem = Mapping[str, Any] | str
"""One entry of ``extra``: an :class:`~service.schema.ErrorItem`'s keys, or a sentence."""


class PilotliftError(Exception):
    """Base of the service's errors: an HTTP status, a sentence and optional problems.

    A subclass names its status where it is declared, ``class NotFound(PilotliftError,
    status_code=404)``, so the status cannot be forgotten and each class reads as one line of
    the tree above.
    """

    status_code = 500
    headers: Mapping[str, str] | None = None
    """Extra response headers (``Retry-After``)."""

    def __init_subclass__(cls, *, status_code: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = status_code

    def __init__(self, detail: str, extra: Sequence[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthorized(PilotliftError, status_code=401):
    """Missing, unknown or revoked API key."""


class Forbidden(PilotliftError, status_code=403):
    """The key lacks the scope the endpoint needs."""


class NotFound(PilotliftError, status_code=404):
    """No such pilot, channel, assignment or other named resource."""


class Conflict(PilotliftError, status_code=409):
    """The request contradicts the resource's state or a recorded fact."""


class InvalidInput(PilotliftError, status_code=422):
    """Well-formed JSON that breaks a rule; ``extra`` lists each problem."""


class PayloadTooLarge(PilotliftError, status_code=413):
    """The body is larger than the server accepts."""


class UnsupportedMedia(PilotliftError, status_code=415):
    """A body in a media type the endpoint does not read."""


class StorageUnavailable(PilotliftError, status_code=503):
    """The database cannot be reached; answered with ``Retry-After``."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class StorageFull(PilotliftError, status_code=507):
    """Disk full or read-only storage (HTTP 507 Insufficient Storage)."""
