"""Incremental conversions, revenue and return on investment from an intention-to-treat lift.

The ITT lift per assigned customer, times the customers assigned to the variant, is the number
of conversions (or revenue) the channel caused. Cost is ``per_exposure × exposures + fixed``;
incremental ROI is ``(incremental revenue − cost) / cost``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Roi", "incremental_roi", "lift_among_exposed"]


@dataclass(frozen=True, slots=True)
class Roi:
    incremental_revenue: float
    cost: float
    incremental_roi: float | None


def incremental_roi(
    incremental_revenue: float, *, exposures: int, per_exposure: float, fixed: float
) -> Roi:
    """ROI is undefined (``None``) when the pilot cost nothing."""
    cost = per_exposure * exposures + fixed
    roi = (incremental_revenue - cost) / cost if cost > 0 else None
    return Roi(incremental_revenue, cost, roi)


def lift_among_exposed(absolute_lift: float, exposure_rate: float) -> float | None:
    """Effect on reached customers: the ITT effect divided by the share reached (Bloom's
    estimator; the holdout is never exposed, so the exposure-rate difference is the rate)."""
    if exposure_rate <= 0:
        return None
    return absolute_lift / exposure_rate
