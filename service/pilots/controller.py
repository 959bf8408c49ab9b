"""Pilot endpoints: ``/v1/experiments`` (the API's experiments are pilots)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from service.pilots import costs, lifecycle
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.runtime.routes import action
from service.schema import (
    Conclusion,
    CostBatch,
    CostList,
    CostResult,
    Pilot,
    PilotCreate,
    PilotList,
    PilotPatch,
)
from service.schema.common import PilotStatus

__all__ = ["PilotController"]


class PilotController(Controller):
    path = "/v1/experiments"
    tags = ["pilots"]

    @post("", operation_id="createPilot", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, data: JSONBody[PilotCreate], engine: EngineDep, settings: SettingsDep,
        actor: ActorDep,
    ) -> Pilot:  # fmt: skip
        """Create a pilot in ``draft``."""
        return lifecycle.create_pilot(engine, data, settings.clock(), actor=actor)

    @get("", operation_id="listPilots", sync_to_thread=True)
    def list_pilots(
        self,
        engine: EngineDep,
        status: Annotated[PilotStatus | None, QueryParameter(description="only these")] = None,
    ) -> PilotList:
        """Every pilot, oldest first; optionally only those in one status."""
        return PilotList(experiments=lifecycle.list_pilots(engine, status))

    @get("/{key:str}", operation_id="getPilot", sync_to_thread=True)
    def get_pilot(self, key: FromPath[str], engine: EngineDep) -> Pilot:
        """One pilot with its design and lifecycle."""
        return lifecycle.get_pilot(engine, key).pilot

    @patch("/{key:str}", operation_id="patchPilot", sync_to_thread=True)
    def patch(
        self, key: FromPath[str], data: JSONBody[PilotPatch], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> Pilot:  # fmt: skip
        """Change a pilot; after start only descriptive fields, costs and a traffic increase."""
        return lifecycle.patch_pilot(engine, key, data, settings.clock(), actor=actor)

    @action("/{key:str}/start", operation_id="startPilot")
    def start(
        self, key: FromPath[str], engine: EngineDep, settings: SettingsDep, actor: ActorDep
    ) -> Pilot:
        """``draft → running``: freezes the design and begins assigning."""
        return lifecycle.start_pilot(engine, key, settings.clock(), actor=actor)

    @action("/{key:str}/stop", operation_id="stopPilot")
    def stop(
        self, key: FromPath[str], engine: EngineDep, settings: SettingsDep, actor: ActorDep
    ) -> Pilot:
        """``running → stopped``: no more assignments; analysis turns fixed-horizon."""
        return lifecycle.stop_pilot(engine, key, settings.clock(), actor=actor)

    @action("/{key:str}/conclude", operation_id="concludePilot")
    def conclude(
        self, key: FromPath[str], data: JSONBody[Conclusion], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> Pilot:  # fmt: skip
        """``running|stopped → concluded`` with the final decision and a note."""
        return lifecycle.conclude_pilot(engine, key, data, settings.clock(), actor=actor)

    @action("/{key:str}/costs", operation_id="postPilotCosts")
    def post_costs(
        self, key: FromPath[str], data: JSONBody[CostBatch], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> CostResult:  # fmt: skip
        """Costs beyond per-exposure and fixed; re-posting an id restates that row."""
        return costs.record_costs(engine, key, data.rows, actor=actor, now=settings.clock())

    @get("/{key:str}/costs", operation_id="getPilotCosts", sync_to_thread=True)
    def get_costs(self, key: FromPath[str], engine: EngineDep) -> CostList:
        """The posted cost rows of a pilot, oldest first, with their total."""
        return costs.list_costs(engine, key)
