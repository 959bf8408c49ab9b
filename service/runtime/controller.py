"""Operations: liveness, readiness."""

from __future__ import annotations

from litestar import get
from litestar.response import Response
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import SQLAlchemyError

from service.runtime.dependencies import EngineDep
from service.storage.engine import ping


@get("/health", operation_id="health", tags=["operations"], sync_to_thread=False,
     opt={"public": True})  # fmt: skip
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/ready", operation_id="ready", tags=["operations"], sync_to_thread=True,
     opt={"public": True})  # fmt: skip
def ready(engine: EngineDep) -> Response[dict[str, str]]:
    """Storage is reachable."""
    try:
        ping(engine)
    except SQLAlchemyError as exc:
        return Response(
            {"status": "unavailable", "detail": f"storage unreachable: {type(exc).__name__}"},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ready"})
