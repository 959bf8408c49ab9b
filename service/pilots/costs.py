"""Cost rows of a pilot: posted late, restated by re-posting the same id, audited.

Campaign tools and finance know a pilot's real costs (media invoices, per-message fees, tech,
people) only after the fact. Each row is keyed by the caller's id, so a restated invoice
replaces the row it restates; the answer counts both, and the audit trail keeps every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, delete, select

from service.admin import audit
from service.errors import InvalidInput
from service.pilots.lifecycle import load_pilot
from service.schema import CostList, CostResult, CostRow, PostedCost
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import pilot_costs
from service.timeutil import to_us

__all__ = ["PilotCosts", "list_costs", "posted_costs", "record_costs"]


@dataclass(frozen=True, slots=True)
class PilotCosts:
    """Posted costs of a pilot as results need them."""

    by_variant: dict[str, float]  # attributed to one variant
    shared: float  # shared by the variants in proportion to their exposures
    by_kind: dict[str, float]


def record_costs(
    engine: Engine, key: str, rows: Sequence[CostRow], *, actor: str, now: datetime
) -> CostResult:
    """Store the rows (all or none); an id already stored is replaced and counted so."""
    ids = [r.id for r in rows]
    first: dict[str, int] = {}
    for i, row_id in enumerate(ids):
        first.setdefault(row_id, i)
    dupes = [i for i, row_id in enumerate(ids) if first[row_id] != i]
    if dupes:
        raise InvalidInput(
            f"{len(dupes)} row(s) repeat an id of the same batch; nothing was stored.",
            extra=[{"index": i, "field": "id", "message": "repeated in this batch"} for i in dupes],
        )
    with write_transaction(engine) as conn:
        record = load_pilot(conn, key, for_update=True)
        variants = {v.key for v in record.pilot.variants}
        bad = [
            {"index": i, "field": "variant", "message": f"{r.variant!r} is not a variant"}
            for i, r in enumerate(rows)
            if r.variant is not None and r.variant not in variants
        ]
        if bad:
            raise InvalidInput(
                f"{len(bad)} row(s) name an unknown variant ({', '.join(sorted(variants))});"
                " nothing was stored.",
                extra=bad,
            )
        stored = _existing(conn, record.id, ids)
        conn.execute(
            delete(pilot_costs).where(
                pilot_costs.c.pilot_id == record.id, pilot_costs.c.id.in_(stored)
            )
        )
        conn.execute(
            pilot_costs.insert(),
            [
                {
                    "pilot_id": record.id, "id": r.id, "date": r.date.isoformat(),
                    "amount": r.amount, "kind": r.kind, "variant": r.variant, "note": r.note,
                    "recorded_at": to_us(now),
                }
                for r in rows
            ],
        )  # fmt: skip
        result = CostResult(stored=len(rows) - len(stored), replaced=len(stored))
        audit.record(conn, actor=actor, action="pilot.costs", target=key,
                     change={"stored": result.stored, "replaced": result.replaced,
                             "total": sum(r.amount for r in rows)}, now=now)  # fmt: skip
    return result


def _existing(conn: Connection, pilot_id: int, ids: Sequence[str]) -> list[str]:
    rows = conn.execute(
        select(pilot_costs.c.id).where(
            pilot_costs.c.pilot_id == pilot_id, pilot_costs.c.id.in_(ids)
        )
    )
    return [r for (r,) in rows]


def posted_costs(conn: Connection, pilot_id: int, as_of: date | None = None) -> PilotCosts:
    """The pilot's posted costs dated up to ``as_of`` (all when ``None``)."""
    query = select(pilot_costs.c.amount, pilot_costs.c.kind, pilot_costs.c.variant).where(
        pilot_costs.c.pilot_id == pilot_id
    )
    if as_of is not None:
        query = query.where(pilot_costs.c.date <= as_of.isoformat())
    by_variant: dict[str, float] = {}
    by_kind: dict[str, float] = {}
    shared = 0.0
    for amount, kind, variant in conn.execute(query):
        by_kind[kind] = by_kind.get(kind, 0.0) + amount
        if variant is None:
            shared += amount
        else:
            by_variant[variant] = by_variant.get(variant, 0.0) + amount
    return PilotCosts(by_variant, shared, by_kind)


def list_costs(engine: Engine, key: str) -> CostList:
    with read_transaction(engine) as conn:
        record = load_pilot(conn, key)
        rows = conn.execute(
            select(pilot_costs)
            .where(pilot_costs.c.pilot_id == record.id)
            .order_by(pilot_costs.c.date, pilot_costs.c.id)
        ).all()
    posted = [
        PostedCost(id=r.id, date=date.fromisoformat(r.date), amount=r.amount, kind=r.kind,
                   variant=r.variant, note=r.note)
        for r in rows
    ]  # fmt: skip
    return CostList(experiment=key, total=sum(p.amount for p in posted), rows=posted)
