"""Route decorators that the rooms' controllers share."""

from __future__ import annotations

from functools import partial

from litestar import post
from litestar.status_codes import HTTP_200_OK

__all__ = ["action"]

action = partial(post, status_code=HTTP_200_OK, sync_to_thread=True)
"""A POST that acts on an existing pilot or channel (start, stop, costs, ...): answered 200 (a
POST defaults to 201 Created) and run in a worker thread, because the storage calls block."""
