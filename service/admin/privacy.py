"""Erasure of one customer: every assignment, exposure, conversion and channel membership.

pilotlift only needs pseudonymous customer ids; erasing one removes every row that carries
it, in one transaction with its audit record, so results computed afterwards no longer count
the customer anywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, select

from service.admin import audit
from service.channels.lifecycle import channel_periods
from service.schema import Erasure
from service.storage import totals
from service.storage.sql import write_transaction
from service.storage.tables import (
    assignments,
    channel_members,
    conversions,
    customer_totals,
    exposures,
    pilots,
)
from service.storage.totals import EXPOSURE_EVENT

__all__ = ["erase_customer"]


def erase_customer(engine: Engine, customer_id: str, *, actor: str, now: datetime) -> Erasure:
    with write_transaction(engine) as conn:
        totals.lock_gate(conn, "exclusive")
        totals.lock_totals(conn)
        _erase_totals(conn, customer_id)  # first: it finds the rows through the facts below
        pilot_ids = [i for (i,) in conn.execute(select(pilots.c.id))]
        # Per pilot, so each delete is an index seek on (pilot_id, customer_id).
        erased_assignments = erased_exposures = 0
        for pilot_id in pilot_ids:
            erased_assignments += conn.execute(
                delete(assignments).where(
                    assignments.c.pilot_id == pilot_id, assignments.c.customer_id == customer_id
                )
            ).rowcount
            erased_exposures += conn.execute(
                delete(exposures).where(
                    exposures.c.pilot_id == pilot_id, exposures.c.customer_id == customer_id
                )
            ).rowcount
        erased_conversions = conn.execute(
            delete(conversions).where(conversions.c.customer_id == customer_id)
        ).rowcount
        erased_members = 0  # channel holdout memberships, a key seek per channel and period
        for channel_id, period in channel_periods(conn, now):
            erased_members += conn.execute(
                delete(channel_members).where(
                    channel_members.c.channel_id == channel_id,
                    channel_members.c.period == period,
                    channel_members.c.customer_id == customer_id,
                )
            ).rowcount
        result = Erasure(
            customer_id=customer_id,
            assignments=erased_assignments,
            exposures=erased_exposures,
            conversions=erased_conversions,
        )
        # The audit record names the erasure, not the person: the id is stored as a hash.
        audit.record(
            conn,
            actor=actor,
            action="customer.erase",
            target=f"customer sha256:{_digest(customer_id)}",
            change={"assignments": erased_assignments, "exposures": erased_exposures,
                    "conversions": erased_conversions}
            | ({"channel_members": erased_members} if erased_members else {}),
            now=now,
        )  # fmt: skip
    return result


def _erase_totals(conn: Connection, customer_id: str) -> None:
    """Delete the customer's totals rows by their full keys (pilot, event, group, customer):
    the pilots and groups from the customer's assignments, the events from their conversions."""
    placements = conn.execute(
        select(assignments.c.pilot_id, assignments.c.group).where(
            assignments.c.customer_id == customer_id
        )
    ).all()
    events = {EXPOSURE_EVENT} | set(
        conn.execute(
            select(conversions.c.event).where(conversions.c.customer_id == customer_id).distinct()
        ).scalars()
    )
    for pilot_id, group in placements:
        conn.execute(
            delete(customer_totals).where(
                customer_totals.c.pilot_id == pilot_id,
                customer_totals.c.event.in_(sorted(events)),
                customer_totals.c.group == group,
                customer_totals.c.customer_id == customer_id,
            )
        )


def _digest(customer_id: str) -> str:
    import hashlib

    return hashlib.sha256(customer_id.encode()).hexdigest()[:16]
