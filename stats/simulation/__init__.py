"""Seeded Monte-Carlo checks of the statistics' promises: the tests run them at a reduced
size, the scripts in ``benchmarks/`` at full size."""

from stats.simulation.looks import (
    Coverage,
    CupedCheck,
    PeekingRates,
    Power,
    aa_weekly_peeking,
    coverage_binary,
    coverage_revenue,
    cuped_reduction,
    power_at_plan,
)
from stats.simulation.winners import WinnersCurse, winners_curse

__all__ = [
    "Coverage",
    "CupedCheck",
    "PeekingRates",
    "Power",
    "WinnersCurse",
    "aa_weekly_peeking",
    "coverage_binary",
    "coverage_revenue",
    "cuped_reduction",
    "power_at_plan",
    "winners_curse",
]
