"""``GET /v1/experiments/{key}/results``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from litestar import get
from litestar.params import Parameter

from service.analysis import compute_results
from service.controllers import EngineDep, SettingsDep
from service.errors import InvalidInput
from service.schema import Results


@get(
    "/v1/experiments/{key:str}/results",
    operation_id="getResults",
    tags=["results"],
    sync_to_thread=True,
)
def results(
    key: str,
    engine: EngineDep,
    settings: SettingsDep,
    as_of: datetime | None = Parameter(default=None, description="RFC 3339; default now"),
    method: Literal["fixed", "sequential"] | None = None,
    cuped: bool = True,
) -> Results:
    """Intention-to-treat lift of every variant against the holdout, per metric."""
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput("as_of must carry a zone, e.g. 2026-11-20T10:00:00Z.")
    if method == "sequential":
        raise InvalidInput(
            "method=sequential (always-valid inference) is not available in this version;"
            " use method=fixed."
        )
    return compute_results(engine, key, as_of or settings.clock())
