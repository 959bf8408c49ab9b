"""Pilot endpoints: ``/v1/experiments``."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.pilots import lifecycle as pilots
from service.runtime.dependencies import EngineDep, SettingsDep
from service.schema import Conclusion, Pilot, PilotCreate, PilotList, PilotPatch


class PilotController(Controller):
    path = "/v1/experiments"
    tags = ["pilots"]

    @post("", operation_id="createPilot", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, data: PilotCreate, engine: EngineDep, settings: SettingsDep, actor: str
    ) -> Pilot:
        """Create a pilot in ``draft``."""
        return pilots.create_pilot(engine, data, settings.clock(), actor=actor)

    @get("", operation_id="listPilots", sync_to_thread=True)
    def list(
        self,
        engine: EngineDep,
        status: Literal["draft", "running", "stopped", "concluded"] | None = None,
    ) -> PilotList:
        """Every pilot, oldest first; optionally only those in one status."""
        return PilotList(experiments=pilots.list_pilots(engine, status))

    @get("/{key:str}", operation_id="getPilot", sync_to_thread=True)
    def get(self, key: str, engine: EngineDep) -> Pilot:
        """One pilot with its design and lifecycle."""
        return pilots.get_pilot(engine, key).pilot

    @patch("/{key:str}", operation_id="patchPilot", sync_to_thread=True)
    def patch(
        self, key: str, data: PilotPatch, engine: EngineDep, settings: SettingsDep, actor: str
    ) -> Pilot:
        """Change a pilot; after start only descriptive fields, costs and a traffic increase."""
        return pilots.patch_pilot(engine, key, data, settings.clock(), actor=actor)

    @post(
        "/{key:str}/start", operation_id="startPilot", status_code=HTTP_200_OK, sync_to_thread=True
    )
    def start(self, key: str, engine: EngineDep, settings: SettingsDep, actor: str) -> Pilot:
        """``draft → running``: freezes the design and begins assigning."""
        return pilots.start_pilot(engine, key, settings.clock(), actor=actor)

    @post("/{key:str}/stop", operation_id="stopPilot", status_code=HTTP_200_OK, sync_to_thread=True)
    def stop(self, key: str, engine: EngineDep, settings: SettingsDep, actor: str) -> Pilot:
        """``running → stopped``: no more assignments; analysis turns fixed-horizon."""
        return pilots.stop_pilot(engine, key, settings.clock(), actor=actor)

    @post(
        "/{key:str}/conclude",
        operation_id="concludePilot",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
    )
    def conclude(
        self, key: str, data: Conclusion, engine: EngineDep, settings: SettingsDep, actor: str
    ) -> Pilot:
        """``running|stopped → concluded`` with the final decision and a note."""
        return pilots.conclude_pilot(engine, key, data, settings.clock(), actor=actor)
