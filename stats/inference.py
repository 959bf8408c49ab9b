"""Turning an estimate and its standard error into an interval and a p-value.

Two methods:

* ``fixed`` — the classical fixed-horizon test: valid for *one* look at the data, at the end.
  Student's t with Welch–Satterthwaite degrees of freedom when ``df`` is given, else normal.
* ``sequential`` — an asymptotic confidence sequence (Waudby-Smith, Arbour, Sinha, Kennedy &
  Ramdas 2023, "Time-uniform central limit theory and asymptotic confidence sequences"; the
  normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon 2021). With ``N`` customers in
  the comparison and ``σ² = N·se²`` the per-customer variance of the estimator, the
  half-width is

      σ · sqrt( 2(Nρ² + 1) / (N²ρ²) · log( sqrt(Nρ² + 1) / α ) )

  and the interval covers the truth at *every* N simultaneously with probability ≥ 1 − α
  (asymptotically), so a pilot may be looked at every day. ``ρ`` is tuned so the boundary is
  tightest at the planned number of customers ``N*``:
  ``ρ² = (−2 log α + log(−2 log α + 1)) / N*``. The always-valid p-value is the smallest α whose
  sequence excludes zero: ``min(1, sqrt(Nρ² + 1) · exp(−N²ρ² Δ² / (2σ²(Nρ² + 1))))``, where ρ is
  fixed by the design's α, so ``p < α`` exactly when the interval excludes zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["Inference", "Method", "infer", "sequential_rho2"]

Method = Literal["fixed", "sequential"]


@dataclass(frozen=True, slots=True)
class Inference:
    ci: tuple[float, float]
    p_value: float
    half_width: float


def sequential_rho2(alpha: float, planned_customers: float) -> float:
    """Mixture tuning that makes the confidence sequence tightest at ``planned_customers``."""
    log_term = -2 * math.log(alpha)
    return (log_term + math.log(log_term + 1)) / max(planned_customers, 1.0)


def _sequential(
    estimate: float, se: float, n: int, alpha: float, planned_customers: float
) -> Inference:
    rho2 = sequential_rho2(alpha, planned_customers)
    sigma2 = n * se**2
    nr = n * rho2 + 1
    half = math.sqrt(sigma2) * math.sqrt(2 * nr / (n**2 * rho2) * math.log(math.sqrt(nr) / alpha))
    exponent = -(n**2) * rho2 * estimate**2 / (2 * sigma2 * nr)
    p_value = min(1.0, math.sqrt(nr) * math.exp(exponent))
    return Inference((estimate - half, estimate + half), p_value, half)


def _fixed(estimate: float, se: float, alpha: float, df: float | None) -> Inference:
    from scipy import stats as scipy_stats  # on first use: see stats/__init__.py

    dist = scipy_stats.t(df) if df is not None else scipy_stats.norm
    half = float(dist.ppf(1 - alpha / 2)) * se
    p_value = float(2 * dist.sf(abs(estimate) / se))
    return Inference((estimate - half, estimate + half), p_value, half)


def infer(
    estimate: float,
    se: float,
    *,
    alpha: float,
    method: Method = "fixed",
    n: int | None = None,
    planned_customers: float | None = None,
    df: float | None = None,
) -> Inference:
    """Interval and two-sided p-value for ``estimate`` with standard error ``se > 0``.

    ``n`` (customers in the comparison) and ``planned_customers`` are needed by the sequential
    method; ``df`` selects Student's t for the fixed method.
    """
    if se <= 0 or not math.isfinite(se):
        raise ValueError("se must be positive and finite")
    if method == "fixed":
        return _fixed(estimate, se, alpha, df)
    if n is None or n < 1:
        raise ValueError("the sequential method needs the number of customers n")
    return _sequential(estimate, se, n, alpha, planned_customers or n)
