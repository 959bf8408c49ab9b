"""Simulated geo panels shaped like real ones (pure numpy; used by the tests, the benchmark
``benchmarks/simulate_geo.py`` and the service's demo).

Region ``i`` on day ``t`` reports

    y[i, t] = size[i] · weekly(t) · trend(t) · shock(t) · (1 + cv[i] · u[i, t])

* ``size`` lognormal (``size_sigma = 1`` makes the largest of 48 regions some 30–100 times the
  smallest, as with metropolitan areas);
* ``weekly`` a fixed weekday profile of amplitude ``weekly_amplitude``, ``trend`` a linear drift
  of ``trend_per_year`` (5 %/year by default; TBR's attenuation bias grows with it, see
  :mod:`stats.geo.tbr`), ``shock`` a common day effect (weather, promotions, news) — shared by
  every region, which is what the treated-on-control regression absorbs;
* ``u`` regional noise, independent over days or AR(1) with ``rho`` (stationary start); smaller
  regions are noisier, ``cv = noise_cv · (median size / size)^¼``.

:func:`inject_lift` multiplies the treated regions' KPI by ``1 + lift`` during the test period
(the truth the estimator is measured against is the realised difference, ``lift`` times the
treated regions' own untreated KPI) and changes their spend by ``spend_change`` (``-1`` is a
go-dark test: spend cut to zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from stats.geo.panel import GeoPanel, Period

__all__ = ["LiftedPanel", "SimulatedPanel", "inject_lift", "random_shape", "simulate_panel"]

Noise = Literal["iid", "ar1"]
_WEEKDAY = np.array([0.0, 0.1, 0.2, 0.3, 0.6, 1.0, -0.4])  # Monday … Sunday, scaled below


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedPanel:
    """A panel without any intervention, its periods and the regions' expected daily KPI."""

    panel: GeoPanel
    pre_period: Period
    test_period: Period
    sizes: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class LiftedPanel:
    """The panel with the lift injected, and the truth: the realised incremental KPI over the
    test period, the treated regions' untreated KPI over it, and the incremental spend."""

    panel: GeoPanel
    treatment: tuple[str, ...]
    control: tuple[str, ...]
    lift: float
    true_incremental: float
    true_counterfactual: float
    true_incremental_spend: float | None


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def random_shape(
    seed: int | np.random.Generator, *, min_pre_multiple: float = 3.0
) -> tuple[int, int, int]:
    """A random ``(regions, pre days, test days)`` in the ranges of real geo pilots: 40–60
    regions, 60–120 pre-period days, 14–42 test days with the pre-period at least
    ``min_pre_multiple`` times the test."""
    rng = _rng(seed)
    n_geos = int(rng.integers(40, 61))
    pre = int(rng.integers(60, 121))
    longest = max(14, min(42, int(pre // min_pre_multiple))) if min_pre_multiple > 0 else 42
    test = int(rng.integers(14, longest + 1))
    return n_geos, pre, test


def simulate_panel(
    seed: int | np.random.Generator,
    *,
    n_geos: int = 48,
    pre_days: int = 91,
    test_days: int = 28,
    noise: Noise = "iid",
    rho: float = 0.5,
    noise_cv: float = 0.1,
    size_sigma: float = 1.0,
    median_size: float = 1000.0,
    weekly_amplitude: float = 0.15,
    trend_per_year: float = 0.05,
    common_shock_sd: float = 0.03,
    spend_per_unit: float | None = None,
    start: date = date(2026, 1, 5),
) -> SimulatedPanel:
    """One panel of ``n_geos`` regions over ``pre_days + test_days`` days (see the module).

    ``spend_per_unit`` adds a spend matrix: each region spends that much per expected KPI unit
    every day, with 5 % day-to-day noise.
    """
    if n_geos < 2 or pre_days < 2 or test_days < 1:
        raise ValueError("need n_geos >= 2, pre_days >= 2, test_days >= 1")
    if noise not in ("iid", "ar1") or not -1 < rho < 1:
        raise ValueError("noise is 'iid' or 'ar1' and |rho| < 1")
    rng = _rng(seed)
    days = pre_days + test_days
    sizes = median_size * np.exp(size_sigma * rng.standard_normal(n_geos))
    cv = np.minimum(noise_cv * (np.median(sizes) / sizes) ** 0.25, 0.5)
    weekday = np.array([(start + timedelta(days=t)).weekday() for t in range(days)])
    profile = _WEEKDAY - _WEEKDAY.mean()
    weekly = 1 + weekly_amplitude * profile[weekday] / np.abs(profile).max()
    trend = 1 + trend_per_year * np.arange(days) / 365.0
    shock = np.exp(common_shock_sd * rng.standard_normal(days))
    u = rng.standard_normal((n_geos, days))
    if noise == "ar1":
        scale = np.sqrt(1 - rho**2)
        for t in range(1, days):
            u[:, t] = rho * u[:, t - 1] + scale * u[:, t]
    base = sizes[:, None] * (weekly * trend * shock)[None, :]
    values = np.maximum(base * (1 + cv[:, None] * u), 0.0)
    spend = None
    if spend_per_unit is not None:
        spend = spend_per_unit * sizes[:, None] * (1 + 0.05 * rng.standard_normal((n_geos, days)))
        spend = np.maximum(spend, 0.0)
    width = len(str(n_geos))
    geos = tuple(f"geo-{i:0{width}d}" for i in range(n_geos))
    dates = tuple(start + timedelta(days=t) for t in range(days))
    pre = (dates[0], dates[pre_days - 1])
    test = (dates[pre_days], dates[-1])
    return SimulatedPanel(GeoPanel(geos, dates, values, spend), pre, test, sizes)


def inject_lift(
    sim: SimulatedPanel,
    treatment: Sequence[str],
    *,
    lift: float,
    spend_change: float = 0.0,
) -> LiftedPanel:
    """Multiply the treated regions' KPI in the test period by ``1 + lift`` and their spend by
    ``1 + spend_change`` (``lift < 0`` with ``spend_change = -1`` is a go-dark test)."""
    if lift <= -1 or spend_change < -1:
        raise ValueError("need lift > -1 and spend_change >= -1")
    panel = sim.panel
    rows = panel.index(treatment)
    control = tuple(g for g in panel.geos if g not in set(treatment))
    test = panel.day_mask(sim.test_period)
    values = panel.values.copy()
    block = values[np.ix_(rows, np.flatnonzero(test))]
    untreated = float(block.sum())
    values[np.ix_(rows, np.flatnonzero(test))] = block * (1 + lift)
    spend = None
    true_spend = None
    if panel.spend is not None:
        spend = panel.spend.copy()
        sblock = spend[np.ix_(rows, np.flatnonzero(test))]
        true_spend = float(sblock.sum() * spend_change)
        spend[np.ix_(rows, np.flatnonzero(test))] = sblock * (1 + spend_change)
    lifted = GeoPanel(panel.geos, panel.dates, values, spend)
    return LiftedPanel(
        lifted, tuple(treatment), control, lift, lift * untreated, untreated, true_spend
    )
