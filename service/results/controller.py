"""``GET /v1/experiments/{key}/results`` and ``/timeseries``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from litestar import get
from litestar.params import Parameter

from service.errors import InvalidInput
from service.results.analyse import Options, compute_results
from service.results.timeseries import compute_timeseries
from service.runtime.dependencies import EngineDep, SettingsDep
from service.schema import Results, Timeseries


def _as_of(as_of: datetime | None, settings: SettingsDep) -> datetime:
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput("as_of must carry a zone, e.g. 2026-11-20T10:00:00Z.")
    return as_of or settings.clock()


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
    method: Literal["fixed", "sequential"] | None = Parameter(
        default=None, description="default: sequential while running, fixed once stopped"
    ),
    cuped: bool = Parameter(default=True, description="adjust for the pre-period covariate"),
) -> Results:
    """Intention-to-treat lift of every variant against the holdout, per metric, with the
    recommended decision."""
    return compute_results(engine, key, _as_of(as_of, settings), Options(method, cuped))


@get(
    "/v1/experiments/{key:str}/timeseries",
    operation_id="getTimeseries",
    tags=["results"],
    sync_to_thread=True,
)
def timeseries(
    key: str,
    engine: EngineDep,
    settings: SettingsDep,
    as_of: datetime | None = Parameter(default=None, description="RFC 3339; default now"),
    method: Literal["fixed", "sequential"] | None = None,
    cuped: bool = True,
) -> Timeseries:
    """Daily cumulative lift of the primary metric per variant, with its interval."""
    return compute_timeseries(engine, key, _as_of(as_of, settings), Options(method, cuped))
