"""Assignment endpoints: batch assignment, single lookup, import of external assignments."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK

from service.assignment import recording
from service.assignment.assigner import Assigner
from service.runtime.dependencies import EngineDep, SettingsDep, check_batch
from service.runtime.metrics import ASSIGNMENTS_RECORDED, ASSIGNMENTS_SERVED
from service.schema import (
    AssignmentImport,
    AssignmentImportResult,
    AssignmentRequest,
    AssignmentResponse,
    CustomerAssignment,
    RecordedAssignment,
)
from service.settings import Settings


class AssignmentController(Controller):
    path = "/v1/experiments/{key:str}/assignments"
    tags = ["assignment"]

    @post("", operation_id="assignCustomers", status_code=HTTP_200_OK, opt={"scope": "assign"})
    async def assign(self, key: str, data: AssignmentRequest, state: State) -> AssignmentResponse:
        """Groups for 1..100,000 customers; first assignments are recorded before answering."""
        settings: Settings = state.settings
        assigner: Assigner = state.assigner
        check_batch(data.customer_ids, settings, "customer_ids")
        pilot_key, groups, new = await assigner.assign(key, data.customer_ids, settings.clock())
        ASSIGNMENTS_SERVED.inc(len(groups))
        ASSIGNMENTS_RECORDED.inc(new)
        return AssignmentResponse(
            experiment=pilot_key,
            assignments=[
                CustomerAssignment(customer_id=c, group=g)
                for c, g in zip(data.customer_ids, groups)
            ],
        )

    @get("/{customer_id:str}", operation_id="getAssignment", sync_to_thread=True)
    def lookup(self, key: str, customer_id: str, engine: EngineDep) -> RecordedAssignment:
        """The recorded group and first assignment time of one customer, or 404."""
        rec = recording.recorded_assignment(engine, key, customer_id)
        return RecordedAssignment(
            experiment=key,
            customer_id=rec.customer_id,
            group=rec.group,
            assigned_at=rec.assigned_at,
            source=rec.source,  # type: ignore[arg-type]
        )

    @post("/import", operation_id="importAssignments", status_code=HTTP_200_OK, sync_to_thread=True)
    def import_(
        self,
        key: str,
        data: AssignmentImport,
        engine: EngineDep,
        settings: SettingsDep,
        actor: str,
    ) -> AssignmentImportResult:
        """Record assignments made elsewhere; a clash with a recorded group rejects the batch."""
        check_batch([a.customer_id for a in data.assignments], settings, "assignments")
        imported, unchanged = recording.import_assignments(
            engine, key, data.assignments, actor=actor, now=settings.clock()
        )
        ASSIGNMENTS_RECORDED.inc(imported)
        return AssignmentImportResult(imported=imported, unchanged=unchanged)
