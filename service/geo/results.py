"""Results of a geo pilot: time-based regression of the treated regions on the control ones.

One read transaction loads the pilot and its regional rows; the rest is pure. Each metric is
analysed by :func:`stats.geo.analyze_geo_pilot` over the pre-period and the test days complete
so far: the days up to the last one before ``as_of`` (UTC) on which any region reported, so a
feed that has not delivered yesterday yet is not a gap, while a region missing a day others
reported is (``check_data`` naming the regions and days).

The decision is :func:`stats.decide`'s, with one treated arm (the pilot's variant):

* TBR's interval is fixed-horizon, so nothing is scaled or stopped before the test period's
  planned end (the minimum duration is at least the test's length);
* a go-dark test (spend cut in the treated regions) reads the channel's contribution: the
  KPI's good direction is flipped, so a significant *fall* in the treated regions is the
  evidence that scales the channel;
* with spend rows, ROI is ``margin_rate × iROAS − 1`` (the incremental spend is the cost:
  profit = ``margin_rate × incremental revenue − incremental spend``), judged against
  ``min_roi`` like a customer pilot's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Engine

import stats
import stats.geo as stats_geo
from service.geo import present
from service.geo.panel import build_panel, regions_with_data
from service.pilots.lifecycle import load_pilot
from service.results import present as results_present
from service.results.money import revenue_metric
from service.schema import (
    Arm,
    ArmMetric,
    Comparison,
    GeoDesign,
    GeoPeriod,
    GeoResults,
    Metric,
    Pilot,
    Results,
    Revenue,
    Srm,
    Timeseries,
    TimeseriesPoint,
    VariantMoney,
)
from service.schema.common import HOLDOUT, Direction
from service.storage.geo import GeoRow, last_day_with_data, read_geo_rows
from service.storage.sql import read_transaction
from stats.decision import RoiVerdict
from stats.profit import roi_verdict

__all__ = ["GeoLook", "analyse_geo", "compute_geo_results", "geo_timeseries", "read_geo"]


@dataclass(frozen=True, slots=True)
class GeoLook:
    """What one look at a geo pilot reads: its rows up to ``end``, the last test day analysed
    (``None`` before any), and why there is none."""

    pilot: Pilot
    rows: list[GeoRow]
    end: date | None
    waiting: str | None


def read_geo(engine: Engine, key: str, as_of: datetime) -> GeoLook:
    with read_transaction(engine) as conn:
        pilot = load_pilot(conn, key).pilot
        design = pilot.geo_design
        assert design is not None, "a geo pilot has a geo design"
        test = design.test_period
        complete = as_of.astimezone(UTC).date() - timedelta(days=1)
        end, waiting = None, None
        if complete < test.start:
            waiting = f"The test period starts on {test.start}; no day of it is complete yet."
        else:
            end = last_day_with_data(conn, design.metric, test.start, min(test.end, complete))
            if end is None:
                waiting = (
                    f"No {design.metric!r} rows since the test began on {test.start}: post the"
                    " test period's days with POST /v1/geo-metrics."
                )
        metrics = {m.event for m in pilot.metrics} | {design.metric, design.spend_metric}
        rows = read_geo_rows(conn, metrics, design.pre_period.start, end or design.pre_period.end)
    return GeoLook(pilot, rows, end, waiting)


def compute_geo_results(engine: Engine, key: str, as_of: datetime) -> Results:
    return analyse_geo(read_geo(engine, key, as_of), as_of)


def _arms(
    design: GeoDesign, arms: dict[str, list[str]], panels: dict[str, stats_geo.GeoPanel],
    metrics: list[Metric], end: date | None,
) -> list[Arm]:  # fmt: skip
    """Per arm its regions (in ``customers``) and each metric's per region-day mean, sd and
    total over the test days analysed."""
    out = []
    for group, geos in arms.items():
        values: dict[str, ArmMetric] = {}
        for m in metrics:
            panel = panels[m.key]
            block = np.empty((0, 0))
            if end is not None and geos:
                days = panel.day_mask((design.test_period.start, end))
                block = panel.values[np.ix_(panel.index(geos), np.flatnonzero(days))]
            present_values = block[~np.isnan(block)]
            values[m.key] = ArmMetric(
                mean=float(present_values.mean()) if present_values.size else 0.0,
                sd=float(present_values.std(ddof=1)) if present_values.size > 1 else 0.0,
                total=float(present_values.sum()),
            )
        out.append(Arm(group=group, customers=len(geos), exposed=0, exposures=0, metrics=values))
    return out


def _evidence_direction(metric: Metric, design: GeoDesign) -> Direction:
    if design.direction == "heavy_up":
        return metric.direction
    return "decrease" if metric.direction == "increase" else "increase"


@dataclass(frozen=True, slots=True)
class _Money:
    revenue: Revenue
    roi: RoiVerdict | None
    roi_ci: tuple[float, float] | None


def _money(pilot: Pilot, variant: str, results: dict[str, stats_geo.TbrResult]) -> _Money:
    """Incremental revenue, its spend and ROI: the spend series is the cost."""
    metric = revenue_metric(pilot)
    r = results.get(metric.key) if metric is not None else None
    if metric is None or r is None or r.status != "ok" or r.incremental is None:
        empty = Revenue(metric=None if metric is None else metric.key, incremental_revenue=None,
                        cost=0.0, incremental_roi=None, margin_rate=pilot.margin_rate)  # fmt: skip
        return _Money(empty, None, None)
    rate, delta, ci = pilot.margin_rate, r.incremental, r.incremental_ci
    spend = r.incremental_spend
    roi = roi_ci = profit = profit_ci = None
    verdict: RoiVerdict | None = None
    if spend is not None and r.iroas is not None and r.iroas_ci is not None:
        roi = rate * r.iroas - 1
        roi_ci = (rate * r.iroas_ci[0] - 1, rate * r.iroas_ci[1] - 1)
        verdict = roi_verdict(roi_ci, pilot.min_roi)
    if spend is not None and ci is not None:
        profit = rate * delta - spend
        profit_ci = (rate * ci[0] - spend, rate * ci[1] - spend)
    cost = spend or 0.0
    money = VariantMoney(
        variant=variant, cost=cost, incremental_revenue=delta, incremental_revenue_ci=ci,
        incremental_profit=profit, incremental_profit_ci=profit_ci, incremental_roi=roi,
        incremental_roi_ci=roi_ci, iroas=r.iroas, iroas_ci=r.iroas_ci, roi_verdict=verdict,
    )  # fmt: skip
    revenue = Revenue(
        metric=metric.key, incremental_revenue=delta, cost=cost, incremental_roi=roi,
        incremental_revenue_ci=ci, incremental_roi_ci=roi_ci, margin_rate=rate,
        incremental_profit=profit, incremental_profit_ci=profit_ci,
        costs_by_kind={"media": cost} if spend is not None else {}, variants=[money],
    )  # fmt: skip
    return _Money(revenue, verdict, roi_ci)


def _geo_block(
    design: GeoDesign, primary: Metric, treatment: list[str], control: list[str],
    end: date | None, r: stats_geo.TbrResult | None, revenue: stats_geo.TbrResult | None,
    revenue_key: str | None,
) -> GeoResults:  # fmt: skip
    test = design.test_period
    ok = r is not None and r.status == "ok"
    iroas_from = revenue if revenue is not None and revenue.status == "ok" else None
    return GeoResults(
        method=design.method,
        direction=design.direction,
        metric=primary.key,
        status=r.status if r is not None else "not_started",
        message=r.message if r is not None else None,
        treatment_geos=treatment,
        control_geos=control,
        pre_period=design.pre_period,
        test_period=GeoPeriod(start=test.start, end=end) if end is not None else None,
        planned_test_period=test,
        observed=r.observed if ok and r is not None else None,
        counterfactual=r.counterfactual if ok and r is not None else None,
        incremental=r.incremental if ok and r is not None else None,
        incremental_ci=r.incremental_ci if ok and r is not None else None,
        fit=r.fit if r is not None else None,
        minimum_detectable_lift=(
            design.designed.minimum_detectable_lift if design.designed is not None else None
        ),
        incremental_spend=r.incremental_spend if ok and r is not None else None,
        iroas=iroas_from.iroas if iroas_from is not None else None,
        iroas_ci=iroas_from.iroas_ci if iroas_from is not None else None,
        iroas_metric=revenue_key if iroas_from is not None and iroas_from.iroas is not None
        else None,
        missing=present.missing_out(r.check if r is not None else None),
        series=list(r.daily) if r is not None else [],
    )  # fmt: skip


def _control(look: GeoLook, design: GeoDesign, treatment: list[str]) -> list[str]:
    if design.control_geos is not None:
        return list(design.control_geos)
    pre = design.pre_period
    left_out = set(treatment) | set(design.exclude_geos)
    return [g for g in regions_with_data(look.rows, design.metric, pre.start, pre.end)
            if g not in left_out]  # fmt: skip


def analyse_geo(look: GeoLook, as_of: datetime) -> Results:
    """The results of a geo pilot from its rows: pure computation, no storage."""
    pilot = look.pilot
    design = pilot.geo_design
    assert design is not None
    variant = pilot.variants[0].key
    primary = next(m for m in pilot.metrics if m.key == pilot.primary_metric)
    treatment = list(design.treatment_geos or [])
    control = _control(look, design, treatment) if treatment else []
    waiting = look.waiting
    if not treatment:
        waiting = (
            f"No regions are assigned yet: design the pilot (POST /v1/experiments/{pilot.key}"
            "/design) or give geo_design.treatment_geos."
        )
    pre = design.pre_period
    end = look.end if waiting is None else None
    panels = {
        m.key: build_panel(look.rows, metric=m.event, spend_metric=design.spend_metric,
                           geos=[*treatment, *control], start=pre.start, end=end or pre.end)
        for m in pilot.metrics
    }  # fmt: skip
    tbr: dict[str, stats_geo.TbrResult] = {}
    if end is not None:
        for m in pilot.metrics:
            tbr[m.key] = stats_geo.analyze_geo_pilot(
                panels[m.key], treatment=treatment, control=control,
                pre_period=(pre.start, pre.end), test_period=(design.test_period.start, end),
                alpha=pilot.alpha, direction=design.direction,
            )  # fmt: skip
    comparisons: list[Comparison] = []
    evidence: dict[str, stats.MetricEvidence] = {}
    for m in pilot.metrics:
        if m.key not in tbr:
            continue
        c = present.evidence_comparison(tbr[m.key])
        comparisons.append(present.comparison(c, variant=variant, metric=m,
                                              direction=m.direction))  # fmt: skip
        evidence[m.key] = stats.MetricEvidence(m.key, c, c.p_value,
                                               _evidence_direction(m, design))  # fmt: skip
    money = _money(pilot, variant, tbr)
    result = tbr.get(primary.key)
    days = result.test_days if result is not None and result.status == "ok" else 0
    decision = _decide(pilot, design, variant, evidence.get(primary.key), result, money, days,
                       waiting)  # fmt: skip
    rev = revenue_metric(pilot)
    groups = {HOLDOUT: control, variant: treatment}
    return Results(
        experiment=pilot.key,
        status=pilot.status,
        as_of=as_of,
        method="fixed",
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        primary_metric=pilot.primary_metric,
        arms=_arms(design, groups, panels, pilot.metrics, end),
        comparisons=comparisons,
        revenue=money.revenue,
        srm=Srm(
            p_value=None,
            chi2=None,
            ok=True,
            message=None,
            expected_shares={},
            observed={g: len(geos) for g, geos in groups.items()},
        ),
        warnings=_warnings(tbr),
        decision=results_present.decision(decision),
        cuped=False,
        days_running=float(days),
        geo=_geo_block(
            design,
            primary,
            treatment,
            control,
            end,
            result,
            tbr.get(rev.key) if rev is not None else None,
            rev.key if rev is not None else None,
        ),
    )


def _warnings(tbr: dict[str, stats_geo.TbrResult]) -> list[str]:
    found: list[str] = []
    for key, r in tbr.items():
        if r.status == "ok" and r.message and r.message not in found:
            found.append(f"{key}: {r.message}")
    return found


def _decide(
    pilot: Pilot, design: GeoDesign, variant: str, evidence: stats.MetricEvidence | None,
    result: stats_geo.TbrResult | None, money: _Money, days: int, waiting: str | None,
) -> stats.Decision:  # fmt: skip
    if waiting is not None or evidence is None or result is None:
        reason = waiting or "Nothing to analyse yet."
        return stats.Decision("continue", [reason], {variant: "continue"})
    if result.status != "ok":
        return stats.Decision(
            "check_data",
            [result.message or result.status, "Fix the data before reading the lift."],
            {variant: "check_data"},
        )
    criteria = stats.Criteria(
        alpha=pilot.alpha,
        min_lift=pilot.min_lift,
        min_roi=pilot.min_roi,
        # TBR's interval is fixed-horizon: the call waits for the planned end of the test.
        min_duration_days=max(float(pilot.min_duration_days), float(design.test_period.days)),
        min_conversions=0.0,
        max_holdout_exposed_share=1.0,
    )
    decided = stats.decide(
        [stats.VariantEvidence(variant, evidence, (), money.roi, money.roi_ci, math.inf)],
        criteria,
        days_running=float(days),
    )
    if design.direction == "go_dark":
        note = (
            "Go-dark test: the channel was cut in the treated regions, so a significant fall of"
            f" {evidence.metric} there is the channel's contribution (the good direction is"
            " flipped)."
        )
        decided.reasons.insert(1, note)
    return decided


def geo_timeseries(results: Results) -> Timeseries:
    """The daily cumulative incremental KPI of the primary metric with its interval.

    TBR fits on the pre-period only, so day ``k``'s cumulative estimate is what the results
    said at the end of day ``k``: the series is read off the results' daily series. The relative
    lift is the incremental KPI over the cumulative counterfactual; its interval maps the
    absolute one as in :mod:`stats.geo.tbr`.
    """
    geo = results.geo
    variant = next((a.group for a in results.arms if a.group != HOLDOUT), "treatment")
    points: list[TimeseriesPoint] = []
    observed = 0.0
    regions = len(geo.treatment_geos) + len(geo.control_geos) if geo is not None else 0
    for d in geo.series if geo is not None else []:
        if d.period != "test" or d.cumulative_incremental is None:
            continue
        observed += d.observed
        inc, lo, hi = d.cumulative_incremental, d.cumulative_lower, d.cumulative_upper
        base = observed - inc
        rel = inc / base if base > 0 else None
        rel_ci = None
        if rel is not None and lo is not None and hi is not None and observed - hi > 0:
            rel_ci = (lo / (observed - lo), hi / (observed - hi))
        points.append(
            TimeseriesPoint(
                date=d.date.isoformat(),
                as_of=datetime.combine(d.date + timedelta(days=1), time(), UTC),
                variant=variant,
                customers=regions,
                absolute_lift=inc,
                absolute_ci=(lo, hi) if lo is not None and hi is not None else None,
                relative_lift=rel,
                relative_ci=rel_ci,
                p_value=None,
            )
        )
    return Timeseries(
        experiment=results.experiment, metric=results.primary_metric, method="fixed",
        points=points,
    )  # fmt: skip
