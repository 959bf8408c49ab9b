"""Does the channel pay? Incremental profit, ROI, iROAS and cost per incremental conversion.

Why: a significant lift is not a reason to scale a channel that costs more than it brings. The
inputs are the variant's incremental revenue (``Σ Δ·n`` of ``money.py``) with its standard error
or its interval and critical value, the incremental conversions likewise, the share of revenue
that is profit (``margin_rate``, default 1: revenue is profit) and the cost, which is *known*
(per-exposure price × exposures + fixed + posted cost rows), not estimated. Then, with ``m`` the
margin rate, ``C`` the cost and ``[R⁻, R⁺]`` the revenue interval:

* incremental profit ``π = m·R − C``, ``se(π) = m·se(R)``, interval ``[m·R⁻ − C, m·R⁺ − C]``
  (an increasing affine map of the revenue: same coverage, for any interval method — Welch t,
  normal, sequential or group-sequential);
* incremental ROI ``π / C``, interval ``[π⁻/C, π⁺/C]`` (C > 0 is a known constant);
* iROAS ``R / C``, interval ``[R⁻/C, R⁺/C]``;
* cost per incremental conversion ``C / X`` for incremental conversions ``X`` with interval
  ``[X⁻, X⁺]``: a ratio with a random denominator. When ``0 < X⁻`` the event ``X ∈ [X⁻, X⁺]``
  is the event ``C/X ∈ [C/X⁺, C/X⁻]``, so inverting the bounds keeps the coverage exactly (the
  Fieller interval for a known numerator). When the conversions interval contains 0 the ratio's
  set is unbounded (it contains ±∞), so nothing is reported (status ``unbounded``); when it lies
  below 0 the channel lost conversions and a negative "cost per conversion" would read as a
  bargain, so nothing is reported either (status ``lost_conversions``);
* ``P(π > 0) = Φ(π / se(π))``: the normal approximation to the sampling distribution of the
  revenue estimate, read as the posterior probability under a flat prior (equivalently one minus
  the one-sided p-value of ``π ≤ 0``). It is a fixed-horizon quantity: under weekly looks the
  interval, not this probability, carries the error guarantee.

With no cost (``C = 0``) ROI and iROAS are undefined (``None``, status ``no_cost``) and the cost
per conversion is 0. :func:`roi_verdict` reads the ROI interval against a minimum ROI: the
channel **meets** it when the interval's lower bound is at least ``min_roi`` (scale), is
**below** it when the upper bound is under ``min_roi`` (stop), else **inconclusive**.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CostPerConversionStatus",
    "ProfitCheck",
    "RoiStatus",
    "RoiVerdict",
    "Uncertain",
    "profit_check",
    "roi_verdict",
    "total_cost",
]

RoiStatus = Literal["ok", "no_cost"]
CostPerConversionStatus = Literal["ok", "unbounded", "lost_conversions"]
RoiVerdict = Literal["meets", "below", "inconclusive"]


@dataclass(frozen=True, slots=True)
class Uncertain:
    """An estimate with its standard error and interval."""

    estimate: float
    se: float
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class ProfitCheck:
    """Money figures of one variant. ``None`` marks a number that is undefined (see status)."""

    margin_rate: float
    cost: float
    critical_value: float
    incremental_revenue: float
    revenue_ci: tuple[float, float]
    incremental_profit: float
    profit_se: float
    profit_ci: tuple[float, float]
    probability_profitable: float
    roi_status: RoiStatus
    incremental_roi: float | None
    roi_ci: tuple[float, float] | None
    iroas: float | None
    iroas_ci: tuple[float, float] | None
    cost_per_conversion_status: CostPerConversionStatus | None  # None: no conversions given
    cost_per_conversion: float | None
    cost_per_conversion_ci: tuple[float, float] | None
    messages: tuple[str, ...] = ()


def total_cost(
    *,
    per_exposure: float = 0.0,
    exposures: int = 0,
    fixed: float = 0.0,
    posted: Iterable[float] = (),
) -> float:
    """Known cost: ``per_exposure × exposures + fixed + Σ posted`` cost rows."""
    cost = per_exposure * exposures + fixed + math.fsum(posted)
    if per_exposure < 0 or exposures < 0 or fixed < 0 or cost < 0 or not math.isfinite(cost):
        raise ValueError("costs and exposures must be non-negative and finite")
    return cost


def _uncertain(
    name: str,
    estimate: float,
    se: float | None,
    ci: tuple[float, float] | None,
    critical_value: float,
) -> Uncertain:
    """Fill in the se from an interval (half-width / critical value) or the interval from an se."""
    if not math.isfinite(estimate):
        raise ValueError(f"{name} must be finite")
    if se is None and ci is None:
        raise ValueError(f"{name} needs a standard error or an interval")
    if ci is not None:
        lo, hi = float(ci[0]), float(ci[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"{name} interval must be finite with lower <= upper")
        if not lo <= estimate <= hi:
            raise ValueError(f"{name} must lie in its interval")
        if se is None:
            se = (hi - lo) / (2 * critical_value)
    if se is None or se < 0 or not math.isfinite(se):
        raise ValueError(f"{name} standard error must be non-negative and finite")
    if ci is None:
        ci = (estimate - critical_value * se, estimate + critical_value * se)
    return Uncertain(float(estimate), float(se), (float(ci[0]), float(ci[1])))


def profit_check(
    incremental_revenue: float,
    *,
    cost: float,
    revenue_se: float | None = None,
    revenue_ci: tuple[float, float] | None = None,
    margin_rate: float = 1.0,
    incremental_conversions: float | None = None,
    conversions_se: float | None = None,
    conversions_ci: tuple[float, float] | None = None,
    alpha: float = 0.05,
    critical_value: float | None = None,
) -> ProfitCheck:
    """Incremental profit, ROI, iROAS and cost per incremental conversion of one variant.

    Give each estimate's standard error, or its interval, or both (e.g. a Welch-t or sequential
    interval with the se it came from). ``critical_value`` (default the normal ``z_{1−α/2}``;
    pass the group-sequential boundary ``c_k`` at a look) turns an se into an interval and an
    interval without an se back into one.
    """
    from scipy.special import ndtr, ndtri  # on first use: see stats/__init__.py

    if not 0 < margin_rate <= 1:
        raise ValueError("margin_rate is the share of revenue that is profit: in (0, 1]")
    if cost < 0 or not math.isfinite(cost):
        raise ValueError("cost must be non-negative and finite")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    crit = float(-ndtri(alpha / 2)) if critical_value is None else float(critical_value)
    if not crit > 0 or not math.isfinite(crit):
        raise ValueError("critical_value must be positive and finite")
    revenue = _uncertain("incremental revenue", incremental_revenue, revenue_se, revenue_ci, crit)
    m = float(margin_rate)
    profit = m * revenue.estimate - cost
    profit_se = m * revenue.se
    profit_ci = (m * revenue.ci[0] - cost, m * revenue.ci[1] - cost)
    if profit_se > 0:
        probability = float(ndtr(profit / profit_se))
    else:  # a known profit
        probability = 1.0 if profit > 0 else 0.0 if profit < 0 else 0.5
    messages: list[str] = []

    roi_status: RoiStatus = "ok"
    roi = iroas = None
    roi_ci = iroas_ci = None
    if cost > 0:
        roi, roi_ci = profit / cost, (profit_ci[0] / cost, profit_ci[1] / cost)
        iroas, iroas_ci = revenue.estimate / cost, (revenue.ci[0] / cost, revenue.ci[1] / cost)
    else:
        roi_status = "no_cost"
        messages.append("The pilot cost nothing, so ROI and iROAS are undefined.")

    cpc_status: CostPerConversionStatus | None = None
    cpc = None
    cpc_ci = None
    if incremental_conversions is not None:
        conv = _uncertain(
            "incremental conversions", incremental_conversions, conversions_se, conversions_ci, crit
        )
        lo, hi = conv.ci
        if lo <= 0 <= hi:
            cpc_status = "unbounded"
            messages.append(
                "The incremental conversions' interval contains 0, so the cost per incremental"
                " conversion has no upper limit; it is not reported."
            )
        elif hi < 0:
            cpc_status = "lost_conversions"
            messages.append(
                "The variant lost conversions (the interval lies below 0): there is no cost per"
                " incremental conversion."
            )
        else:
            cpc_status = "ok"
            cpc = cost / conv.estimate
            cpc_ci = (cost / hi, cost / lo)
    return ProfitCheck(
        margin_rate=m,
        cost=float(cost),
        critical_value=crit,
        incremental_revenue=revenue.estimate,
        revenue_ci=revenue.ci,
        incremental_profit=profit,
        profit_se=profit_se,
        profit_ci=profit_ci,
        probability_profitable=probability,
        roi_status=roi_status,
        incremental_roi=roi,
        roi_ci=roi_ci,
        iroas=iroas,
        iroas_ci=iroas_ci,
        cost_per_conversion_status=cpc_status,
        cost_per_conversion=cpc,
        cost_per_conversion_ci=cpc_ci,
        messages=tuple(messages),
    )


def roi_verdict(roi_ci: tuple[float, float], min_roi: float = 0.0) -> RoiVerdict:
    """``meets`` when the ROI interval's lower bound is ≥ ``min_roi`` (scaling may proceed),
    ``below`` when its upper bound is < ``min_roi`` (stop), else ``inconclusive``.

    With no cost there is no ROI to check: gate on the lift (and profit) alone.
    """
    lo, hi = roi_ci
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi) or not math.isfinite(min_roi):
        raise ValueError("need a finite ROI interval with lower <= upper and a finite min_roi")
    if lo >= min_roi:
        return "meets"
    if hi < min_roi:
        return "below"
    return "inconclusive"
