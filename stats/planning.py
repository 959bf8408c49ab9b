"""Sample size and duration of a proposed pilot (statsmodels' normal power functions).

The holdout is arm 1 (``nobs1``) and each variant gets ``ratio = variant share / holdout
share`` times as many customers, so an unequal split (a 10 % holdout, say) is planned exactly.
Binary metrics use Cohen's effect size ``h = 2·asin(√p₁) − 2·asin(√p₀)``
(``proportion_effectsize``); mean metrics use ``d = baseline·min_lift / sd``. With several
variants α is split Bonferroni-style (``α / variants``), a slightly conservative stand-in for the
Holm adjustment the analysis applies. The plan is for the fixed-horizon test; the always-valid
sequential intervals are wider before the planned size and about as wide at it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["Plan", "PlannedKind", "plan_pilot"]

PlannedKind = Literal["binary", "mean"]
"""``binary``: a conversion rate (Cohen's h); ``mean``: a mean with a given sd (``d``)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The fixed-horizon sizes of a pilot. ``POST /v1/plan`` answers this with its sequential
    design added (``service.schema.PlanResponse`` extends it): a field added, renamed or
    retyped here changes the API."""

    metric_kind: PlannedKind
    effect_size: float
    holdout_customers: int
    customers_per_variant: int
    total_customers: int
    days: int | None
    alpha_per_comparison: float


def _ceil(x: float) -> int:
    """Ceiling that ignores floating-point dust (0.9 / 0.1 is 9.000000000000002)."""
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


def plan_pilot(
    *,
    baseline: float,
    min_lift: float,
    alpha: float = 0.05,
    power: float = 0.8,
    holdout_share: float = 0.5,
    variants: int = 1,
    daily_customers: float | None = None,
    sd: float | None = None,
) -> Plan:
    """Customers needed to detect a relative lift of ``min_lift`` over ``baseline``.

    ``sd`` given → a mean metric with that per-customer standard deviation; else ``baseline``
    is a conversion rate in (0, 1).
    """
    # On first use: see stats/__init__.py.
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if not 0 < holdout_share < 1 or variants < 1 or min_lift == 0 or baseline <= 0:
        raise ValueError("need 0 < holdout_share < 1, variants >= 1, min_lift != 0, baseline > 0")
    if sd is None:
        treated = baseline * (1 + min_lift)
        if not 0 < baseline < 1 or not 0 < treated < 1:
            raise ValueError("a conversion rate and its lifted value must lie in (0, 1)")
        effect = abs(float(proportion_effectsize(treated, baseline)))
    else:
        if sd <= 0:
            raise ValueError("sd must be positive")
        effect = abs(baseline * min_lift / sd)
    variant_share = (1 - holdout_share) / variants
    ratio = variant_share / holdout_share
    per_test_alpha = alpha / variants
    holdout = NormalIndPower().solve_power(
        effect_size=effect, alpha=per_test_alpha, power=power, ratio=ratio, nobs1=None
    )
    if not math.isfinite(float(holdout)) or float(holdout) > 1e15:
        raise ValueError(
            f"No finite plan exists: a lift of {min_lift:g} is too small to detect against this"
            " baseline and spread (effect size"
            f" {effect:.3g}); raise min_lift or check baseline and sd."
        )
    holdout_n = _ceil(float(holdout))
    per_variant = _ceil(holdout_n * ratio)
    total = max(_ceil(holdout_n / holdout_share), holdout_n + variants * per_variant)
    days = math.ceil(total / daily_customers) if daily_customers else None
    kind: PlannedKind = "binary" if sd is None else "mean"
    return Plan(kind, effect, holdout_n, per_variant, total, days, per_test_alpha)
