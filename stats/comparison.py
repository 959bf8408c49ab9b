"""Fixed-horizon comparison of one variant against the holdout.

The absolute lift ``Δ = μt − μc`` gets the unpooled (Welch) standard error
``sqrt(st²/nt + sc²/nc)`` with sample variances (``ddof=1``) and Welch's t-test with
Welch–Satterthwaite degrees of freedom, for every metric kind. A 0/1 metric is a mean like any
other; at pilot sizes Welch's t and the two-proportion Wald z agree to many digits, and one
method keeps binary, count and sum metrics consistent (and equal to statsmodels'
``CompareMeans.ttest_ind(usevar="unequal")`` on the raw data).

The relative lift ``μt/μc − 1`` gets the delta-method interval
``Var = st²/(μc²·nt) + sc²·μt²/(μc⁴·nc)`` with the normal quantile (as GrowthBook and Eppo do).

Undefined cases are not exceptions: they come back with a ``status`` and a sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats as scipy_stats

from stats.sufficient import SampleMean

__all__ = ["Comparison", "ComparisonStatus", "MetricKind", "compare"]

MetricKind = Literal["binary", "mean"]
ComparisonStatus = Literal["ok", "insufficient_data", "zero_variance", "zero_baseline"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment vs control on one metric. ``None`` marks a number that is undefined."""

    status: ComparisonStatus
    message: str | None
    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_se: float | None
    absolute_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_se: float | None
    relative_ci: tuple[float, float] | None
    p_value: float | None
    test: Literal["welch_t"]
    alpha: float


def _welch_df(var_t: float, n_t: int, var_c: float, n_c: int) -> float:
    a, b = var_t / n_t, var_c / n_c
    if a == 0 or b == 0:  # one arm constant: all uncertainty is the other arm's
        return float(n_c - 1 if a == 0 else n_t - 1)
    return (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))


def compare(
    control: SampleMean,
    treatment: SampleMean,
    *,
    kind: MetricKind,
    alpha: float = 0.05,
) -> Comparison:
    """Compare ``treatment`` with ``control`` at significance level ``alpha`` (two-sided)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    test: Literal["welch_t"] = "welch_t"
    mu_c, mu_t = control.mean, treatment.mean
    diff = mu_t - mu_c

    def result(status: ComparisonStatus, message: str | None, **numbers: object) -> Comparison:
        base: dict[str, object] = {
            "absolute_se": None,
            "absolute_ci": None,
            "relative_lift": None,
            "relative_se": None,
            "relative_ci": None,
            "p_value": None,
        }
        base.update(numbers)
        return Comparison(
            status=status,
            message=message,
            control_mean=mu_c,
            treatment_mean=mu_t,
            absolute_lift=diff,
            test=test,
            alpha=alpha,
            **base,  # type: ignore[arg-type]
        )

    if control.n < 2 or treatment.n < 2:
        return result(
            "insufficient_data",
            f"Not enough customers to compare yet (holdout {control.n}, variant {treatment.n};"
            " at least 2 in each are needed).",
        )
    var_c, var_t = control.variance, treatment.variance
    se = math.sqrt(var_t / treatment.n + var_c / control.n)
    if se == 0.0:
        return result(
            "zero_variance",
            "Every customer has the same value in both groups, so there is no uncertainty to"
            " test against; wait for more conversions.",
        )
    df = _welch_df(var_t, treatment.n, var_c, control.n)
    p_value = float(2 * scipy_stats.t.sf(abs(diff / se), df))
    q_abs = float(scipy_stats.t.ppf(1 - alpha / 2, df))
    numbers: dict[str, object] = {
        "absolute_se": se,
        "absolute_ci": (diff - q_abs * se, diff + q_abs * se),
        "p_value": p_value,
    }
    if mu_c == 0.0:
        return result(
            "zero_baseline",
            "The holdout has no conversions yet, so a relative lift is undefined; the absolute"
            " lift is reported.",
            **numbers,
        )
    rel = mu_t / mu_c - 1
    rel_var = var_t / (mu_c**2 * treatment.n) + var_c * mu_t**2 / (mu_c**4 * control.n)
    rel_se = math.sqrt(rel_var)
    q_rel = float(scipy_stats.norm.ppf(1 - alpha / 2))
    numbers.update(
        relative_lift=rel,
        relative_se=rel_se,
        relative_ci=(rel - q_rel * rel_se, rel + q_rel * rel_se),
    )
    return result("ok", None, **numbers)
