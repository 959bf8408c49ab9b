"""The one exception the notebook client raises.

::

    PilotliftClientError      every failure, with the service's own message
        .status_code          None when the service could not be reached;
                              401/403 (key), 404 (no such pilot), 409 (state), 422 (input)
        .detail               the sentence to show the analyst
        .extra                the service's list of problems (index, field, message), if any
"""

from __future__ import annotations

from typing import Any

__all__ = ["PilotliftClientError"]


class PilotliftClientError(Exception):
    def __init__(self, detail: str, *, status_code: int | None = None, extra: Any = None) -> None:
        super().__init__(detail if status_code is None else f"{status_code}: {detail}")
        self.detail = detail
        self.status_code = status_code
        self.extra = extra
