"""Keeping a worker's memory at the size of its largest batch (glibc malloc on Linux).

A 100k-event batch briefly holds ~100 MB of Python objects, and each batch runs on whichever
worker thread is free. glibc gives threads their own malloc arenas (up to eight per core) and
keeps freed memory inside them, so a worker's RSS drifts towards the sum of its threads' high-
water marks: 610 MB after 2.5M events, where one batch needs a third of that. Two arenas
(what ``MALLOC_ARENA_MAX=2`` sets) and a trim after each large batch give the memory back.
Elsewhere than glibc both are no-ops.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

__all__ = ["limit_malloc_arenas", "release_free_memory"]

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Call before the worker's threads start: later threads share ``arenas`` arenas."""
    if _LIBC is not None:
        with contextlib.suppress(AttributeError):
            _LIBC.mallopt(_M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Return the free pages of every arena to the system (a few milliseconds)."""
    if _LIBC is not None:
        with contextlib.suppress(AttributeError):
            _LIBC.malloc_trim(0)
