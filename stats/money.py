"""Incremental conversions, revenue and return on investment from an intention-to-treat lift.

The ITT lift per assigned customer, times the customers assigned to the variant, is the number
of conversions (or revenue) the channel caused; its interval is the lift's interval scaled the
same way. Cost is ``per_exposure × exposures + fixed`` and is known, not estimated, so the ROI
``(incremental revenue − cost) / cost`` gets its interval from the revenue interval alone.
The lift among reached customers is the ITT effect divided by the exposure rate (Bloom 1984;
the holdout is never exposed); the rate is measured on every assigned customer, so its sampling
error is ignored next to the lift's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Roi", "incremental_roi", "lift_among_exposed", "scale_interval"]


@dataclass(frozen=True, slots=True)
class Roi:
    incremental_revenue: float
    cost: float
    incremental_roi: float | None
    roi_ci: tuple[float, float] | None = None


def scale_interval(ci: tuple[float, float] | None, factor: float) -> tuple[float, float] | None:
    """An interval multiplied by a positive constant (customers, 1/rate)."""
    if ci is None:
        return None
    return (ci[0] * factor, ci[1] * factor)


def incremental_roi(
    incremental_revenue: float,
    *,
    exposures: int,
    per_exposure: float,
    fixed: float,
    revenue_ci: tuple[float, float] | None = None,
) -> Roi:
    """ROI is undefined (``None``) when the pilot cost nothing."""
    cost = per_exposure * exposures + fixed
    if cost <= 0:
        return Roi(incremental_revenue, cost, None, None)
    roi_ci = None
    if revenue_ci is not None:
        roi_ci = ((revenue_ci[0] - cost) / cost, (revenue_ci[1] - cost) / cost)
    return Roi(incremental_revenue, cost, (incremental_revenue - cost) / cost, roi_ci)


def lift_among_exposed(absolute_lift: float, exposure_rate: float) -> float | None:
    """Effect on reached customers: the ITT effect divided by the share reached."""
    if exposure_rate <= 0:
        return None
    return absolute_lift / exposure_rate
