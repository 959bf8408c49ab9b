"""``POST /v1/experiments/{key}/design``: randomize a draft geo pilot's regions from its
pre-period and store the chosen assignment in the pilot.

The regions are those with rows of the design's KPI in the pre-period, minus ``exclude_geos``.
:func:`stats.geo.design_geo_pilot` draws ``candidates`` size-stratified randomizations seeded
from the pilot's salt (candidate ``i`` from ``salt#i``), judges each on the pre-period alone
(fit, placebo tests, minimum detectable lift at the pilot's ``alpha`` and ``power`` for the test
period's length) and picks the one with the smallest detectable lift. The choice is written
into ``geo_design`` (``treatment_geos``, ``control_geos``, ``designed``) and, like every other
pre-registered criterion, freezes when the pilot starts. A panel that cannot carry the pilot
(too few regions, too short a pre-period, missing days, a zero series) is a 422 saying what is
missing.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import numpy as np
from sqlalchemy import Engine, update

import stats.geo as stats_geo
from service.admin import audit
from service.errors import Conflict, InvalidInput
from service.geo.panel import build_panel, regions_with_data
from service.geo.present import missing_problems, placebo_out
from service.geo.rules import geo_design_of
from service.pilots.lifecycle import load_pilot
from service.results.present import struct_from
from service.schema import (
    GeoCandidate,
    GeoChoice,
    GeoDesign,
    GeoDesignRequest,
    GeoDesignResult,
    Pilot,
)
from service.storage.geo import GeoRow, read_geo_rows
from service.storage.sql import read_transaction, write_transaction
from service.storage.tables import pilots

__all__ = ["design_pilot"]


def _require_draft(pilot: Pilot) -> None:
    if pilot.status != "draft":
        raise Conflict(
            f"Pilot {pilot.key!r} is {pilot.status}; only a draft is designed: the design froze"
            " when it started."
        )


def _candidate(c: stats_geo.DesignCandidate) -> GeoCandidate:
    return GeoCandidate(
        index=c.index,
        salt=c.salt,
        treatment_geos=list(c.treatment),
        control_geos=list(c.control),
        treated_kpi_share=c.treated_kpi_share if np.isfinite(c.treated_kpi_share) else None,
        minimum_detectable_lift=c.mde,
        r_squared=c.fit.r_squared if c.fit is not None else None,
        placebo=placebo_out(c),
        required_spend=c.required_spend,
        message=c.message,
    )


def _baseline_spend(
    rows: list[GeoRow], design: GeoDesign, treated: tuple[str, ...]
) -> float | None:
    """What the treated regions spent over a test-length window, at the pre-period's rate."""
    pre = design.pre_period
    panel = build_panel(rows, metric=design.metric, spend_metric=design.spend_metric,
                        geos=treated, start=pre.start, end=pre.end)  # fmt: skip
    if panel.spend is None:
        return None
    return float(panel.spend.sum(axis=0).mean()) * design.test_period.days


def _notes(design: GeoDesign, best: stats_geo.DesignCandidate, baseline: float | None,
           request: GeoDesignRequest) -> list[str]:  # fmt: skip
    notes = []
    if best.required_spend is not None and baseline:
        notes.append(
            f"Reaching the detectable lift needs about {best.required_spend:,.0f} of spend over"
            f" the {design.test_period.days}-day test, {best.required_spend / baseline:.1f}× what"
            f" the treated regions spent over {design.test_period.days} days in the pre-period."
        )
    elif request.cost_per_incremental_unit is None:
        notes.append(
            "Give cost_per_incremental_unit (the channel's expected spend per incremental KPI"
            " unit) to learn what spend the detectable lift needs."
        )
    if best.placebo_windows and best.placebo_rms_z is not None and best.placebo_rms_z > 1.5:
        notes.append(
            f"The placebo tests on the pre-period spread wider than noise (RMS z ="
            f" {best.placebo_rms_z:.2f}): the control regions' relation to the treated ones"
            " drifts; consider a shorter, more recent pre-period."
        )
    return notes


def design_pilot(
    engine: Engine, key: str, request: GeoDesignRequest, *, now: datetime, actor: str
) -> GeoDesignResult:
    with read_transaction(engine) as conn:
        pilot = load_pilot(conn, key).pilot
        design = geo_design_of(pilot)
        _require_draft(pilot)
        pre = design.pre_period
        rows = read_geo_rows(conn, [design.metric, design.spend_metric], pre.start, pre.end)
    excluded = set(design.exclude_geos)
    geos = [g for g in regions_with_data(rows, design.metric, pre.start, pre.end)
            if g not in excluded]  # fmt: skip
    if not geos:
        raise InvalidInput(
            f"The pre-period {pre.start}–{pre.end} has no {design.metric!r} rows"
            + (" outside exclude_geos" if excluded else "")
            + ": post one row per region and day with POST /v1/geo-metrics, or move"
            " geo_design.pre_period to the days that have data."
        )
    panel = build_panel(rows, metric=design.metric, spend_metric=None, geos=geos,
                        start=pre.start, end=pre.end)  # fmt: skip
    found = stats_geo.design_geo_pilot(
        panel,
        salt=pilot.salt,
        test_days=design.test_period.days,
        pre_period=(pre.start, pre.end),
        treatment_share=design.treatment_share or 1 - pilot.holdout_share,
        candidates=request.candidates,
        alpha=pilot.alpha,
        power=pilot.power,
        cost_per_incremental_unit=request.cost_per_incremental_unit,
    )
    best = found.best
    if found.status != "ok" or best is None or best.mde is None:
        raise InvalidInput(
            f"No feasible design for pilot {key!r}: {found.message}",
            extra=missing_problems(found.check, "geo_design.pre_period"),
        )
    choice = GeoChoice(salt=best.salt, candidate=best.index, candidates=request.candidates,
                       minimum_detectable_lift=best.mde, designed_at=now)  # fmt: skip
    chosen = msgspec.structs.replace(
        design, treatment_geos=list(best.treatment), control_geos=list(best.control),
        designed=choice,
    )  # fmt: skip
    with write_transaction(engine) as conn:
        record = load_pilot(conn, key, for_update=True)
        _require_draft(record.pilot)
        if record.pilot.geo_design != design:
            raise Conflict(f"Pilot {key!r}'s geo_design changed while it was designed; retry.")
        stored = msgspec.structs.replace(record.design, geo_design=chosen)
        conn.execute(
            update(pilots).where(pilots.c.id == record.id)
            .values(design=msgspec.json.encode(stored).decode())
        )  # fmt: skip
        audit.record(conn, actor=actor, action="pilot.design", target=key,
                     change={"salt": best.salt, "candidates": request.candidates,
                             "minimum_detectable_lift": best.mde,
                             "treatment_geos": len(best.treatment),
                             "control_geos": len(best.control)}, now=now)  # fmt: skip
    baseline = _baseline_spend(rows, design, best.treatment)
    # alpha, power, pre_days and test_days are the search's own, copied by name
    return struct_from(
        GeoDesignResult,
        found,
        experiment=key,
        metric=design.metric,
        salt=best.salt,  # the chosen candidate's (the search's is the pilot's)
        candidate=best.index,
        treatment_geos=list(best.treatment),
        control_geos=list(best.control),
        excluded_geos=sorted(excluded),
        minimum_detectable_lift=best.mde,
        minimum_detectable_incremental=best.mde_absolute,
        expected_counterfactual=best.expected_counterfactual,
        pre_fit=best.fit,
        placebo=placebo_out(best),
        required_spend=best.required_spend,
        baseline_spend=baseline,
        notes=_notes(design, best, baseline, request),
        candidates=[_candidate(c) for c in found.candidates],
    )
