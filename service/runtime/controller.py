"""Operations: liveness, readiness."""

from __future__ import annotations

from litestar import get
from litestar.response import Response

from service.runtime.dependencies import EngineDep
from service.storage.faults import RETRY_AFTER_SECONDS, Fault, describe, probe

_STATUS = {Fault.UNAVAILABLE: 503, Fault.FULL: 507, Fault.READ_ONLY: 507}


@get("/health", operation_id="health", tags=["operations"], sync_to_thread=False,
     opt={"public": True})  # fmt: skip
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", operation_id="ready", tags=["operations"], sync_to_thread=True,
     opt={"public": True})  # fmt: skip
def ready(engine: EngineDep) -> Response[dict[str, str]]:
    """The database answers and can be written: 200 ``{"status": "ready"}``; else 503
    ``{"status": "unavailable", "detail": ...}`` (with ``Retry-After``) when it cannot be
    reached, or 507 ``{"status": "full" | "read_only", "detail": ...}`` when it cannot be
    written."""
    found = probe(engine)
    if found is None:
        return Response({"status": "ready"})
    unavailable = found.fault is Fault.UNAVAILABLE
    return Response(
        {"status": found.fault.value, "detail": describe(found)},
        status_code=_STATUS[found.fault],
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if unavailable else None,
    )
