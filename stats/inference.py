"""Turning an estimate and its standard error into an interval and a p-value.

Three methods:

* ``fixed`` — the classical fixed-horizon test: valid for *one* look at the data, at the end.
  Student's t with Welch–Satterthwaite degrees of freedom when ``df`` is given, else normal.
* ``sequential`` — the group-sequential test whose looks are the weekly reviews (Lan–DeMets
  O'Brien–Fleming spending over the information fraction ``n / planned customers``;
  :mod:`stats.group_sequential`): the default while a pilot runs. ``looks`` are the information
  fractions of the earlier looks that counted (published reviews); the current one is
  ``n / planned_customers`` (a final look, spending what is left, once it reaches 1 or when
  nothing is planned). It keeps the power of the fixed test at the planned size (the plan
  inflates the size by ~2 % for four looks), where a confidence sequence loses about half.
* ``always_valid`` — an asymptotic confidence sequence (Waudby-Smith, Arbour, Sinha, Kennedy &
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
  fixed by the design's α, so ``p < α`` exactly when the interval excludes zero. For continuous
  monitoring (a dashboard looked at every day).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

__all__ = ["METHODS", "Inference", "InferenceOptions", "Method", "infer", "sequential_rho2"]

Method = Literal["fixed", "sequential", "always_valid"]
METHODS: tuple[Method, ...] = ("fixed", "sequential", "always_valid")
# Earlier looks closer than this to the current one are the same look (the same review).
_SAME_LOOK = 1e-3


@dataclass(frozen=True, slots=True)
class Inference:
    ci: tuple[float, float]
    p_value: float
    half_width: float


class InferenceOptions(TypedDict, total=False):
    """The keyword arguments of :func:`infer` besides ``alpha``, for a function that passes them
    on to it unchanged (``**options``); one left out takes :func:`infer`'s default."""

    method: Method
    n: int | None
    planned_customers: float | None
    df: float | None
    looks: Sequence[float]


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
    looks: Sequence[float] = (),
) -> Inference:
    """Interval and two-sided p-value for ``estimate`` with standard error ``se > 0``.

    ``n`` (customers in the comparison) and ``planned_customers`` are needed by the sequential
    methods, ``looks`` (information fractions of the earlier looks) by ``sequential``; ``df``
    selects Student's t for the fixed method.
    """
    if se <= 0 or not math.isfinite(se):
        raise ValueError("se must be positive and finite")
    if method == "fixed":
        return _fixed(estimate, se, alpha, df)
    if n is None or n < 1:
        raise ValueError(f"the {method} method needs the number of customers n")
    if method == "always_valid":
        return _sequential(estimate, se, n, alpha, planned_customers or n)
    if method != "sequential":
        raise ValueError(f"unknown method {method!r}")
    from stats.group_sequential import group_sequential_inference

    now = min(1.0, n / planned_customers) if planned_customers else 1.0
    earlier = [t for t in sorted(set(looks)) if 0 < t < min(now, 1.0) - _SAME_LOOK]
    return group_sequential_inference(
        estimate, se, alpha=alpha, looks=earlier, fraction_now=now
    ).inference()
