"""Seeded Monte-Carlo checks of what the geo estimator promises (run at reduced sizes by
``tests/stats/test_geo_simulation.py`` and at full size by ``benchmarks/simulate_geo.py``).

* :func:`false_positives_and_coverage` — A/A pilots (no effect): share significant at ``alpha``;
  as many other panels with a multiplicative ``lift`` in the treated regions: share of intervals
  that contain the realised incremental KPI (the relative interval covers the true lift on
  exactly the same panels, being the image of the absolute one with the observed total fixed).
* :func:`power_at_design` — each panel is designed on its pre-period, the lift at the design's
  minimum detectable lift is injected (negative for ``direction="go_dark"``), and the share of
  significant results is the realised power.
* :func:`go_dark` — a spend cut to zero with a negative effect: share of estimates with the
  right sign, share significantly negative, iROAS coverage.

Every check runs on a seeded stream of simulated :class:`Panels`: each panel's shape is the
panels' ``shape`` = ``(regions, pre days, test days)``, or drawn by
:func:`stats.geo.simulate.random_shape` when ``shape`` is ``None``; assignments are the
design's size-stratified randomization.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from stats.geo.design import assign_geos, design_geo_pilot
from stats.geo.panel import GeoPanel
from stats.geo.simulate import Noise, SimulatedPanel, inject_lift, random_shape, simulate_panel
from stats.geo.tbr import Calibration, Direction, TbrResult, analyze_geo_pilot

__all__ = [
    "REFERENCE_SHAPE",
    "GoDarkCheck",
    "Panels",
    "PowerCheck",
    "SizeCheck",
    "false_positives_and_coverage",
    "go_dark",
    "power_at_design",
]

Shape = tuple[int, int, int]
Arms = tuple[tuple[str, ...], tuple[str, ...]]

REFERENCE_SHAPE: Shape = (48, 91, 28)
"""The issue's reference pilot: 48 regions, 91 pre-period days, 28 test days."""


@dataclass(frozen=True, slots=True)
class Panels:
    """The simulated panels a check runs on: ``noise`` of :func:`simulate_panel`, the ``seed``
    of the whole stream (the checks also salt their assignments with it), every panel's
    ``shape`` (``None``: a fresh :func:`random_shape` for each) and any other keyword of
    ``simulate_panel`` in ``options`` (``trend_per_year``, ``spend_per_unit``, …)."""

    noise: Noise
    seed: int
    shape: Shape | None = REFERENCE_SHAPE
    options: Mapping[str, Any] = field(default_factory=dict)

    def draws(self) -> Iterator[SimulatedPanel]:
        """Panel after panel, all from the one generator seeded with ``seed``."""
        rng = np.random.default_rng(self.seed)
        while True:
            n_geos, pre, test = self.shape if self.shape is not None else random_shape(rng)
            yield simulate_panel(
                rng, n_geos=n_geos, pre_days=pre, test_days=test, noise=self.noise, **self.options
            )


@dataclass(frozen=True, slots=True)
class SizeCheck:
    sims: int
    false_positive_rate: float
    coverage: float
    mean_z: float
    """Mean of (estimate − truth)/se: the bias in standard errors."""


@dataclass(frozen=True, slots=True)
class PowerCheck:
    sims: int
    power: float
    mean_mde: float
    coverage: float


@dataclass(frozen=True, slots=True)
class GoDarkCheck:
    sims: int
    right_sign: float
    significant_negative: float
    coverage: float
    iroas_coverage: float


def _assign(sim: Any, salt: str) -> Arms:
    sizes = sim.panel.values[:, sim.panel.day_mask(sim.pre_period)].mean(axis=1)
    return assign_geos(sim.panel.geos, sizes, salt=salt)


def _analyze(sim: Any, panel: GeoPanel, arms: Arms, **options: Any) -> TbrResult:
    """TBR of ``panel`` (``sim``'s own or a lifted copy of it) with the ``(treatment, control)``
    ``arms`` over the simulation's pre and test periods: every check analyses its panels the
    same way and differs only in ``options`` (alpha, calibration, direction)."""
    treatment, control = arms
    periods = {"pre_period": sim.pre_period, "test_period": sim.test_period}
    return analyze_geo_pilot(panel, treatment=treatment, control=control, **periods, **options)


def false_positives_and_coverage(
    sims: int,
    panels: Panels,
    *,
    lift: float = 0.1,
    alpha: float = 0.05,
    calibration: Calibration = "ar1",
) -> SizeCheck:
    """A/A false-positive rate and coverage of the ``1 − alpha`` interval at ``lift``."""
    draws = panels.draws()
    significant = covered = 0
    z_sum = 0.0
    for s in range(sims):
        sim = next(draws)
        treatment, control = _assign(sim, f"mc-{panels.seed}-{s}")
        aa = _analyze(sim, sim.panel, (treatment, control), alpha=alpha, calibration=calibration)
        assert aa.p_value is not None
        significant += aa.p_value < alpha
        # Coverage on fresh panels: on the same ones it would be the A/A event again.
        sim = next(draws)
        treatment, control = _assign(sim, f"mc-{panels.seed}-{s}-lift")
        lifted = inject_lift(sim, treatment, lift=lift)
        r = _analyze(sim, lifted.panel, (treatment, control), alpha=alpha, calibration=calibration)
        assert r.incremental_ci is not None and r.incremental is not None and r.incremental_se
        covered += r.incremental_ci[0] <= lifted.true_incremental <= r.incremental_ci[1]
        z_sum += (r.incremental - lifted.true_incremental) / r.incremental_se
    return SizeCheck(sims, significant / sims, covered / sims, z_sum / sims)


def power_at_design(
    sims: int,
    panels: Panels,
    *,
    candidates: int = 1,
    direction: Direction = "heavy_up",
    alpha: float = 0.05,
    power: float = 0.8,
) -> PowerCheck:
    """Realised power when the true lift is the design's minimum detectable lift."""
    draws = panels.draws()
    hits = covered = 0
    mdes = []
    sign = -1.0 if direction == "go_dark" else 1.0
    for s in range(sims):
        sim = next(draws)
        design = design_geo_pilot(
            sim.panel,
            salt=f"power-{panels.seed}-{s}",
            test_days=int(sim.panel.day_mask(sim.test_period).sum()),
            pre_period=sim.pre_period,
            candidates=candidates,
            alpha=alpha,
            power=power,
        )
        best = design.best
        assert best is not None and best.mde is not None, design.message
        lifted = inject_lift(sim, best.treatment, lift=sign * best.mde)
        arms = (best.treatment, best.control)
        r = _analyze(sim, lifted.panel, arms, alpha=alpha, direction=direction)
        assert r.p_value is not None and r.incremental_ci is not None
        hits += r.p_value < alpha
        covered += r.incremental_ci[0] <= lifted.true_incremental <= r.incremental_ci[1]
        mdes.append(best.mde)
    return PowerCheck(sims, hits / sims, float(np.mean(mdes)), covered / sims)


def go_dark(sims: int, panels: Panels, *, lift: float = -0.1, alpha: float = 0.05) -> GoDarkCheck:
    """A spend cut to zero in the treated regions with a true relative effect ``lift < 0``
    (the panels spend 0.5 per expected KPI unit unless their options say otherwise)."""
    if lift >= 0:
        raise ValueError("a go-dark check needs a negative lift")
    draws = replace(panels, options={"spend_per_unit": 0.5, **panels.options}).draws()
    right = negative = covered = iroas_covered = 0
    for s in range(sims):
        sim = next(draws)
        treatment, control = _assign(sim, f"dark-{panels.seed}-{s}")
        lifted = inject_lift(sim, treatment, lift=lift, spend_change=-1.0)
        r = _analyze(sim, lifted.panel, (treatment, control), alpha=alpha, direction="go_dark")
        assert r.incremental is not None and r.incremental_ci is not None
        assert r.p_value is not None and r.iroas_ci is not None
        assert lifted.true_incremental_spend is not None
        right += r.incremental < 0
        negative += r.incremental_ci[1] < 0
        covered += r.incremental_ci[0] <= lifted.true_incremental <= r.incremental_ci[1]
        true_iroas = lifted.true_incremental / lifted.true_incremental_spend
        iroas_covered += r.iroas_ci[0] <= true_iroas <= r.iroas_ci[1]
    return GoDarkCheck(sims, right / sims, negative / sims, covered / sims, iroas_covered / sims)
