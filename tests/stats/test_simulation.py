"""The statistics keep their promises, by seeded simulation (reduced sizes for CI; the full
sizes run in ``benchmarks/simulate_stats.py``)."""

from __future__ import annotations

import math

import pytest

from stats.simulation import (
    aa_weekly_peeking,
    coverage_binary,
    coverage_revenue,
    cuped_reduction,
    power_at_plan,
)


def _mc_se(p: float, sims: int) -> float:
    return math.sqrt(p * (1 - p) / sims)


def test_sequential_survives_weekly_peeking_and_fixed_does_not() -> None:
    r = aa_weekly_peeking(1500)
    # Group-sequential: close to the allowed 5 % (not far below: that would be lost power).
    assert abs(r.sequential - 0.05) <= 3 * _mc_se(0.05, r.sims)
    # The confidence sequence holds the level but spends little of it at four looks.
    assert r.always_valid <= 0.05 + 2 * _mc_se(0.05, r.sims)
    # Four looks at a fixed-horizon test: the well-known inflation (about 12-13 %).
    assert r.fixed > 0.05 + 4 * _mc_se(0.05, r.sims)
    assert r.fixed > 2 * r.sequential


def test_fixed_horizon_intervals_cover_95_percent() -> None:
    for cov in (coverage_binary(3000), coverage_revenue(1500)):
        assert 0.935 <= cov.absolute <= 0.965, cov
        assert 0.935 <= cov.relative <= 0.965, cov


def test_power_at_the_planned_lift_is_80_percent() -> None:
    p = power_at_plan(2500)
    assert abs(p.observed - 0.8) <= 0.03, p


def test_cuped_reduces_variance_by_rho_squared_without_bias() -> None:
    c = cuped_reduction(400)
    assert abs(c.mean_reduction - c.rho**2) < 0.02, c
    assert abs(c.bias) < 3 * c.bias_se, c
    # The realised spread of the estimate shrinks like sqrt(1 - ρ²).
    assert c.cuped_sd / c.plain_sd == pytest.approx(math.sqrt(1 - c.rho**2), rel=0.1)
