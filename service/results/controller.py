"""Results endpoints: a pilot's results and daily series, and the statistics on posted numbers
(``/v1/analyze``, ``/v1/plan``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.results.analyze import Options
from service.results.planning import plan as plan_pilot
from service.results.read import compute_results
from service.results.sums import analyze_sums
from service.results.timeseries import compute_timeseries
from service.runtime.dependencies import EngineDep, SettingsDep
from service.schema import (
    AnalyzeRequest,
    AnalyzeResponse,
    PlanRequest,
    PlanResponse,
    Results,
    Timeseries,
)
from service.schema.common import Method

__all__ = ["analyze", "plan", "results", "timeseries"]

AsOf = Annotated[datetime | None, QueryParameter(description="RFC 3339 with a zone; default now")]
MethodChoice = Annotated[
    Method | None,
    QueryParameter(description="default: sequential while running, fixed once stopped"),
]
Cuped = Annotated[bool, QueryParameter(description="adjust for the pre-period covariate")]


@dataclass(frozen=True, slots=True)
class Look:
    """A look at a pilot: the moment and how to analyse it (query parameters of both reads)."""

    as_of: datetime
    options: Options


def _look(settings: SettingsDep, as_of: AsOf = None, method: MethodChoice = None,
          cuped: Cuped = True) -> Look:  # fmt: skip
    return Look(settings.as_of(as_of), Options(method, cuped))


LookDep = NamedDependency[Look]
_LOOK = {"look": Provide(_look, sync_to_thread=False)}


@get("/v1/experiments/{key:str}/results", operation_id="getResults", tags=["results"],
     sync_to_thread=True, dependencies=_LOOK)  # fmt: skip
def results(key: FromPath[str], engine: EngineDep, look: LookDep) -> Results:
    """Intention-to-treat lift of every variant against the holdout, per metric, with the
    recommended decision."""
    return compute_results(engine, key, look.as_of, look.options)


@get("/v1/experiments/{key:str}/timeseries", operation_id="getTimeseries", tags=["results"],
     sync_to_thread=True, dependencies=_LOOK)  # fmt: skip
def timeseries(key: FromPath[str], engine: EngineDep, look: LookDep) -> Timeseries:
    """Daily cumulative lift of the primary metric per variant, with its interval."""
    return compute_timeseries(engine, key, look.as_of, look.options)


@post("/v1/analyze", operation_id="analyzeSums", tags=["analysis"], status_code=HTTP_200_OK,
      sync_to_thread=True, opt={"scope": "read"})  # fmt: skip
def analyze(data: JSONBody[AnalyzeRequest]) -> AnalyzeResponse:
    """Comparisons (and SRM) for per-arm sums computed elsewhere, e.g. in a warehouse."""
    return analyze_sums(data)


@post("/v1/plan", operation_id="planPilot", tags=["analysis"], status_code=HTTP_200_OK,
      sync_to_thread=False, opt={"scope": "read"})  # fmt: skip
def plan(data: JSONBody[PlanRequest]) -> PlanResponse:
    """Customers per arm, in total, and days needed to detect ``min_lift`` with ``power``."""
    return plan_pilot(data)
