"""Administration: erase a customer (privacy), read the audit trail."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.admin.audit import list_audit
from service.admin.privacy import erase_customer as erase
from service.runtime.dependencies import ActorDep, EngineDep, SettingsDep
from service.schema import AuditLog, Erasure


@delete(
    "/v1/customers/{customer_id:str}",
    operation_id="eraseCustomer",
    tags=["privacy"],
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    opt={"scope": "admin"},
)
def erase_customer(
    customer_id: FromPath[str], engine: EngineDep, settings: SettingsDep, actor: ActorDep
) -> Erasure:
    """Erase the customer's assignments, exposures and conversions in every pilot."""
    return erase(engine, customer_id, actor=actor, now=settings.clock())


@get("/v1/audit", operation_id="getAuditTrail", tags=["privacy"], sync_to_thread=True,
     opt={"scope": "admin"})  # fmt: skip
def audit_trail(
    engine: EngineDep,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    before_id: Annotated[
        int | None, QueryParameter(ge=1, description="page: older than this")
    ] = None,
) -> AuditLog:
    """Every admin change, newest first: who (key name), when, what."""
    return list_audit(engine, limit=limit, before_id=before_id)
