"""Pilot lifecycle: create, read, patch, start, stop, conclude.

What decides the statistics (split, variants, metrics, windows, criteria, salt, layer) is frozen
when the pilot starts; afterwards only the descriptive fields, ``costs`` and a *raise* of
``traffic`` may change, because anything else would change who is in which group or what the
pre-registered test is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from service.admin import audit
from service.assignment.rule import AssignmentRule, claim_buckets
from service.channels.eligibility import check_pilot_fits
from service.errors import Conflict
from service.pilots.records import list_rows, load_row, patched, permitted_changes
from service.schema import Conclusion, Pilot, PilotCreate, PilotPatch
from service.storage import totals
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import decision_log, pilots
from service.timeutil import US_PER_DAY, from_us, to_us

__all__ = [
    "PilotRecord",
    "conclude_pilot",
    "create_pilot",
    "get_pilot",
    "list_pilots",
    "load_pilot",
    "patch_pilot",
    "start_pilot",
    "stop_pilot",
]

MUTABLE_WHILE_RUNNING = frozenset(
    {"name", "hypothesis", "owner", "planned_duration_days", "costs", "margin_rate", "traffic"}
)


@dataclass(frozen=True, slots=True)
class PilotRecord:
    """A stored pilot with the storage-only facts the service needs."""

    id: int
    pilot: Pilot
    design: PilotCreate
    has_imports: bool

    def rule(self) -> AssignmentRule:
        p = self.pilot
        return AssignmentRule(
            salt=p.salt,
            holdout_share=p.holdout_share,
            variant_keys=tuple(v.key for v in p.variants),
            variant_weights=tuple(v.weight for v in p.variants),
            traffic=p.traffic,
            layer=p.layer,
            owned_buckets=tuple((int(lo), int(hi)) for lo, hi in p.layer_buckets),
        )


def _record(row: Any) -> PilotRecord:
    design = msgspec.json.decode(row.design, type=PilotCreate)
    fields = msgspec.structs.asdict(design)
    fields["salt"] = design.salt or design.key
    pilot = Pilot(
        **fields,
        status=row.status,
        created_at=from_us(row.created_at),
        started_at=from_us(row.started_at) if row.started_at is not None else None,
        stopped_at=from_us(row.stopped_at) if row.stopped_at is not None else None,
        concluded_at=from_us(row.concluded_at) if row.concluded_at is not None else None,
        decision=row.decision,
        decision_note=row.decision_note,
        layer_buckets=[tuple(r) for r in json.loads(row.layer_buckets)],
    )
    return PilotRecord(row.id, pilot, design, bool(row.has_imports))


def load_pilot(conn: Connection, key: str, *, for_update: bool = False) -> PilotRecord:
    return _record(load_row(conn, pilots, key, "pilot", for_update=for_update))


def get_pilot(engine: Engine, key: str) -> PilotRecord:
    with read_transaction(engine) as conn:
        return load_pilot(conn, key)


def list_pilots(engine: Engine, status: str | None = None) -> list[Pilot]:
    return [_record(row).pilot for row in list_rows(engine, pilots, status)]


def create_pilot(
    engine: Engine, body: PilotCreate, now: datetime, *, actor: str = "system"
) -> Pilot:
    try:
        with write_transaction(engine) as conn:
            check_pilot_fits(conn, body.channel, body.holdout_share, body.key)
            conn.execute(
                pilots.insert().values(
                    key=body.key,
                    status="draft",
                    design=msgspec.json.encode(body).decode(),
                    layer=body.layer,
                    layer_buckets="[]",
                    has_imports=False,
                    created_at=to_us(now),
                    **_windows(body),
                )
            )
            audit.record(conn, actor=actor, action="pilot.create", target=body.key,
                         change=msgspec.to_builtins(body), now=now)  # fmt: skip
            return load_pilot(conn, body.key).pilot
    except IntegrityError as exc:
        raise Conflict(f"A pilot with key {body.key!r} already exists.") from exc


def _windows(design: PilotCreate) -> dict[str, int]:
    """The design's windows as the pilots table keeps them for ingestion's SQL."""
    return {
        "window_us": design.attribution_window_days * US_PER_DAY,
        "lookback_us": design.covariate_lookback_days * US_PER_DAY,
    }


def _layer_claims(conn: Connection, record: PilotRecord) -> list[tuple[int, int]]:
    """Bucket ranges held by the *other* running pilots of the record's layer."""
    rows = conn.execute(
        select(pilots.c.layer_buckets).where(
            pilots.c.layer == record.pilot.layer,
            pilots.c.status == "running",
            pilots.c.id != record.id,
        )
    )
    return [tuple(r) for row in rows for r in json.loads(row.layer_buckets)]


def _claim(conn: Connection, record: PilotRecord, traffic: float) -> str:
    claimed = claim_buckets(record.pilot.layer_buckets, _layer_claims(conn, record), traffic)
    if claimed is None:
        raise Conflict(
            f"Layer {record.pilot.layer!r} has too little free traffic for {traffic:.0%}:"
            " other running pilots hold the rest. Stop one of them or lower the traffic."
        )
    return json.dumps([list(r) for r in claimed])


def patch_pilot(
    engine: Engine, key: str, patch: PilotPatch, now: datetime, *, actor: str = "system"
) -> Pilot:
    with write_transaction(engine) as conn:
        record = load_pilot(conn, key, for_update=True)
        status = record.pilot.status
        changes = permitted_changes(
            patch,
            status,
            MUTABLE_WHILE_RUNNING,
            "pilot",
            decides="who is in which group or what is tested",
            allowed="name, hypothesis, owner, planned_duration_days, costs, margin_rate and a"
            " traffic increase",
        )
        values: dict[str, Any] = {}
        if status != "draft" and "traffic" in changes:
            if status != "running":
                raise Conflict(f"The pilot is {status}; its traffic can no longer change.")
            if changes["traffic"] < record.pilot.traffic:
                raise Conflict(
                    f"Traffic can only increase while running ({record.pilot.traffic} →"
                    f" {changes['traffic']} would remove customers already in the pilot)."
                )
            if record.pilot.layer is not None:
                values["layer_buckets"] = _claim(conn, record, changes["traffic"])
        design = patched(record.design, changes, "pilot")
        if status == "draft":
            check_pilot_fits(conn, design.channel, design.holdout_share, key)
        values["design"] = msgspec.json.encode(design).decode()
        values["layer"] = design.layer
        values |= _windows(design)
        conn.execute(update(pilots).where(pilots.c.id == record.id).values(**values))
        if _windows(design) != _windows(record.design) and record.has_imports:
            # A draft's imported customers were totalled with the old windows.
            totals.rebuild_pilot(conn, record.id)
        audit.record(conn, actor=actor, action="pilot.patch", target=key,
                     change=msgspec.to_builtins(changes), now=now)  # fmt: skip
        return load_pilot(conn, key).pilot


def _transition(
    engine: Engine,
    key: str,
    allowed_from: tuple[str, ...],
    to: str,
    *,
    actor: str,
    now: datetime,
    **values: Any,
) -> Pilot:
    with write_transaction(engine) as conn:
        record = load_pilot(conn, key, for_update=True)
        if record.pilot.status not in allowed_from:
            raise Conflict(
                f"Cannot move pilot {key!r} from {record.pilot.status} to {to}; allowed from:"
                f" {', '.join(allowed_from)}."
            )
        if to == "running" and record.pilot.layer is not None:
            values["layer_buckets"] = _claim(conn, record, record.pilot.traffic)
        geo = record.pilot.geo_design
        if to == "running" and geo is not None and not geo.treatment_geos:
            raise Conflict(
                f"Geo pilot {key!r} has no treated regions yet: design it first (POST"
                f" /v1/experiments/{key}/design) or give geo_design.treatment_geos."
            )
        conn.execute(update(pilots).where(pilots.c.id == record.id).values(status=to, **values))
        change: dict[str, Any] = {"from": record.pilot.status, "to": to}
        if to == "concluded":
            change |= {"decision": values["decision"], "note": values.get("decision_note")}
        action = {"running": "pilot.start", "stopped": "pilot.stop"}.get(to, "pilot.conclude")
        audit.record(conn, actor=actor, action=action, target=key, change=change, now=now)
        if to == "concluded":
            # The final call enters the decision log in the same transaction.
            conn.execute(
                decision_log.insert().values(
                    pilot_key=key,
                    week=None,
                    action=values["decision"],
                    reasons="[]",
                    note=values.get("decision_note"),
                    source="conclusion",
                    recorded_at=values["concluded_at"],
                )
            )
        return load_pilot(conn, key).pilot


def start_pilot(engine: Engine, key: str, now: datetime, *, actor: str = "system") -> Pilot:
    return _transition(
        engine, key, ("draft",), "running", actor=actor, now=now, started_at=to_us(now)
    )


def stop_pilot(engine: Engine, key: str, now: datetime, *, actor: str = "system") -> Pilot:
    return _transition(
        engine, key, ("running",), "stopped", actor=actor, now=now, stopped_at=to_us(now)
    )


def conclude_pilot(
    engine: Engine, key: str, body: Conclusion, now: datetime, *, actor: str = "system"
) -> Pilot:
    extra: dict[str, Any] = {}
    with read_transaction(engine) as conn:
        if load_pilot(conn, key).pilot.status == "running":
            extra["stopped_at"] = to_us(now)
    return _transition(
        engine,
        key,
        ("running", "stopped"),
        "concluded",
        actor=actor,
        now=now,
        concluded_at=to_us(now),
        decision=body.decision,
        decision_note=body.note,
        **extra,
    )
