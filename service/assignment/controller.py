"""Assignment endpoints: batch assignment, single lookup, import of external assignments."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from service.assignment import recording
from service.assignment.assigner import Assigner
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.runtime.metrics import ASSIGNMENTS_RECORDED
from service.schema import (
    AssignmentImport,
    AssignmentImportResult,
    AssignmentRequest,
    AssignmentResponse,
    RecordedAssignment,
)

__all__ = ["AssignmentController"]


class AssignmentController(Controller):
    path = "/v1/experiments/{key:str}/assignments"
    tags = ["assignment"]

    @post("", operation_id="assignCustomers", status_code=HTTP_200_OK, opt={"scope": "assign"})
    async def assign(
        self, key: FromPath[str], data: JSONBody[AssignmentRequest], state: State
    ) -> AssignmentResponse:
        """Groups for 1..100,000 customers; first assignments are recorded before answering."""
        # The hot path reads the app state directly: no dependency is resolved per request.
        # (A request that all goes well for is usually answered before Litestar sees it, by
        # service.assignment.lean_route, with the same Assigner.respond.)
        assigner: Assigner = state.assigner
        return await assigner.respond(key, data.customer_ids, state.settings)

    @get("/{customer_id:str}", operation_id="getAssignment", sync_to_thread=True)
    def lookup(
        self, key: FromPath[str], customer_id: FromPath[str], engine: EngineDep
    ) -> RecordedAssignment:
        """The recorded group and first assignment time of one customer, or 404."""
        return recording.recorded_assignment(engine, key, customer_id)

    @post("/import", operation_id="importAssignments", status_code=HTTP_200_OK,
          sync_to_thread=True)  # fmt: skip
    def import_(
        self, key: FromPath[str], data: JSONBody[AssignmentImport], engine: EngineDep,
        settings: SettingsDep, actor: ActorDep,
    ) -> AssignmentImportResult:  # fmt: skip
        """Record assignments made elsewhere; a clash with a recorded group rejects the batch."""
        settings.check_ids([a.customer_id for a in data.assignments], "assignments")
        imported, unchanged = recording.import_assignments(
            engine, key, data.assignments, actor=actor, now=settings.clock()
        )
        ASSIGNMENTS_RECORDED.inc(imported)
        return AssignmentImportResult(imported=imported, unchanged=unchanged)
