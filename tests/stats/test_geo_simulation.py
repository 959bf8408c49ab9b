"""The geo estimator keeps its promises, by seeded simulation on panels of random shape (40–60
regions, 60–120 pre-period days, 14–40 test days; the full sizes run in
``benchmarks/simulate_geo.py``).

Tolerance bands are the criteria of issue 15 widened by two binomial standard errors of the
Monte-Carlo estimate, ``2·sqrt(p(1 − p)/sims)`` at the target ``p``:

* A/A false positives at α = 0.05: ≤ 6 % (+ 2.2 points at 400 panels: ≤ 8.2 %);
* coverage of the 95 % interval: 92–97 % (± 2.2 points at 400 panels: 89.8–99.2 %);
* power at the design's minimum detectable lift: 80 % ± 5 points (± 5.7 more at 200 panels).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stats.geo import inject_lift, random_shape, simulate_panel
from stats.geo.montecarlo import Panels, false_positives_and_coverage, go_dark, power_at_design


def _two_se(p: float, sims: int) -> float:
    return 2 * math.sqrt(p * (1 - p) / sims)


def test_simulated_panels_look_like_real_ones() -> None:
    sim = simulate_panel(1, n_geos=50, pre_days=90, test_days=21, noise="ar1", spend_per_unit=1)
    p = sim.panel
    assert p.values.shape == (50, 111) and p.spend is not None
    assert sim.sizes.max() / sim.sizes.min() > 20  # very different sizes
    assert (sim.pre_period[0], sim.test_period[1]) == (p.dates[0], p.dates[-1])
    assert (sim.test_period[0] - sim.pre_period[1]).days == 1
    # Weekly seasonality: the weekday profile of the total is far from flat.
    total = p.values.sum(axis=0)
    by_weekday = [total[[d.weekday() == w for d in p.dates]].mean() for w in range(7)]
    assert max(by_weekday) / min(by_weekday) > 1.15
    # AR(1) regional noise with ρ = 0.5 around the expected KPI.
    rel = p.values / (sim.sizes[:, None] * (total / sim.sizes.sum())[None, :]) - 1
    rel -= rel.mean(axis=1, keepdims=True)
    lag1 = (rel[:, 1:] * rel[:, :-1]).sum() / (rel**2).sum()
    assert lag1 == pytest.approx(0.5, abs=0.08)
    again = simulate_panel(1, n_geos=50, pre_days=90, test_days=21, noise="ar1", spend_per_unit=1)
    np.testing.assert_array_equal(again.panel.values, p.values)
    for k in range(50):
        n_geos, pre, test = random_shape(k)
        assert 40 <= n_geos <= 60 and 60 <= pre <= 120 and 14 <= test <= 42 and pre >= 3 * test


def test_inject_lift_changes_only_treated_test_days() -> None:
    sim = simulate_panel(2, spend_per_unit=0.5)
    treated = sim.panel.geos[:24]
    lifted = inject_lift(sim, treated, lift=0.1, spend_change=-1.0)
    diff = lifted.panel.values - sim.panel.values
    test = sim.panel.day_mask(sim.test_period)
    assert np.all(diff[24:] == 0) and np.all(diff[:, ~test] == 0)
    assert lifted.true_incremental == pytest.approx(diff.sum())
    assert lifted.true_incremental == pytest.approx(0.1 * lifted.true_counterfactual)
    assert lifted.panel.spend is not None and np.all(lifted.panel.spend[:24][:, test] == 0)
    assert lifted.true_incremental_spend is not None and lifted.true_incremental_spend < 0


@pytest.mark.slow
@pytest.mark.parametrize(("noise", "seed"), [("iid", 21), ("ar1", 22)])
def test_false_positives_and_coverage(noise: str, seed: int) -> None:
    sims = 400
    r = false_positives_and_coverage(sims, Panels(noise, seed, shape=None))  # type: ignore[arg-type]
    assert r.false_positive_rate <= 0.06 + _two_se(0.05, sims), r
    assert 0.92 - _two_se(0.95, sims) <= r.coverage <= 0.97 + _two_se(0.95, sims), r


@pytest.mark.slow
@pytest.mark.parametrize(("noise", "seed"), [("iid", 31), ("ar1", 32)])
def test_power_at_the_designed_minimum_detectable_lift(noise: str, seed: int) -> None:
    sims = 200
    p = power_at_design(sims, Panels(noise, seed, shape=None))  # type: ignore[arg-type]
    assert abs(p.power - 0.8) <= 0.05 + _two_se(0.8, sims), p
    assert 0.005 < p.mean_mde < 0.1, p


def test_go_dark_is_estimated_with_the_right_sign() -> None:
    g = go_dark(60, Panels("ar1", 41, shape=None))
    # A −10 % effect is 3–10 standard errors from zero at these sizes: every sign is right.
    assert g.right_sign == 1.0, g
    assert g.significant_negative >= 0.95, g
    assert g.iroas_coverage >= 0.95 - 0.1, g
