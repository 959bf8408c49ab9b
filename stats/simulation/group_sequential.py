"""Seeded simulations of the group-sequential test (:mod:`stats.group_sequential`).

Binary pilots (5 % baseline, 10 % relative lift) planned with ``plan_pilot`` at α = 5 % and 80 %
power, their customers multiplied by the inflation factor for four equally spaced looks, and
looked at four times: the share of A/A pilots ever significant, the power at the planned lift,
and the customers used when the lift is real. ``benchmarks/simulate_group_sequential.py`` runs
them at full size, the tests at reduced size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stats.group_sequential import boundaries, equally_spaced, inflation_factor
from stats.inference import infer
from stats.planning import plan_pilot

BASELINE = 0.05
MIN_LIFT = 0.10
ALPHA = 0.05
POWER = 0.8
PLANNED_LOOKS = 4


@dataclass(frozen=True)
class Design:
    holdout: int  # planned customers, holdout (fixed-horizon plan × inflation factor)
    variant: int
    factor: float
    fixed_holdout: int
    fixed_variant: int


@dataclass(frozen=True)
class Outcome:
    sims: int
    significant: float  # share ever significant (and, with a real lift, in its direction)
    fixed_peeking: float  # the fixed-horizon test read at every look, for contrast
    mean_fraction: float  # customers used on average (stopping at the first crossing) / planned
    looks: tuple[float, ...]  # information fractions actually reached
    z: tuple[float, ...]  # boundaries used
    sequential: float | None = None  # today's confidence sequence on the first pilots, for contrast
    sequential_sims: int = 0

    @property
    def mc_se(self) -> float:
        return math.sqrt(self.significant * (1 - self.significant) / self.sims)


def design(holdout_share: float, *, looks: int = PLANNED_LOOKS) -> Design:
    """The planned pilot: the fixed-horizon plan times the inflation factor for ``looks``."""
    plan = plan_pilot(
        baseline=BASELINE, min_lift=MIN_LIFT, alpha=ALPHA, power=POWER, holdout_share=holdout_share
    )
    factor = inflation_factor(looks, ALPHA, POWER)
    return Design(
        math.ceil(plan.holdout_customers * factor),
        math.ceil(plan.customers_per_variant * factor),
        factor,
        plan.holdout_customers,
        plan.customers_per_variant,
    )


def welch_z(conv_c: np.ndarray, n_c: np.ndarray, conv_t: np.ndarray, n_t: np.ndarray) -> np.ndarray:
    """``Δ / se`` of ``stats.comparison.compare`` for 0/1 data, vectorized: sample variances
    with ddof = 1, unpooled (Welch) standard error."""
    p_c, p_t = conv_c / n_c, conv_t / n_t
    var_c = p_c * (1 - p_c) * n_c / (n_c - 1)
    var_t = p_t * (1 - p_t) * n_t / (n_t - 1)
    se = np.sqrt(var_t / n_t + var_c / n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, (p_t - p_c) / np.where(se > 0, se, 1.0), 0.0)


def simulate(
    sims: int,
    d: Design,
    *,
    lift: float,
    looks: tuple[float, ...] = equally_spaced(PLANNED_LOOKS),
    seed: int = 0,
    sequential_sims: int = 0,
) -> Outcome:
    """Pilots with a true relative ``lift`` read at ``looks`` (fractions of the planned size).

    ``sequential_sims``: also read the first that many pilots with the always-valid confidence
    sequence of ``stats.inference`` (tuned to the planned size), one call per look.
    """
    rng = np.random.default_rng(seed)
    fractions = np.asarray(looks)
    n_c = np.round(fractions * d.holdout).astype(np.int64)
    n_t = np.round(fractions * d.variant).astype(np.int64)
    new_c, new_t = np.diff(n_c, prepend=0), np.diff(n_t, prepend=0)
    conv_c = rng.binomial(new_c, BASELINE, size=(sims, len(looks))).cumsum(axis=1)
    conv_t = rng.binomial(new_t, BASELINE * (1 + lift), size=(sims, len(looks))).cumsum(axis=1)
    z = welch_z(conv_c, n_c, conv_t, n_t)
    reached = tuple(float(t) for t in (n_c + n_t) / (d.holdout + d.variant))
    bounds = boundaries(reached, ALPHA)
    crossed = np.abs(z) > np.asarray(bounds.z)  # the interval Δ ± c_k·se excludes 0
    ever = crossed.any(axis=1)
    first = np.argmax(crossed, axis=1)
    z_first = z[np.arange(sims), first]
    hit = ever if lift == 0 else ever & (np.sign(z_first) == np.sign(lift))
    stopped_at = np.where(ever, np.asarray(reached)[first], reached[-1])
    fixed_peeking = (np.abs(z) > 1.959963984540054).any(axis=1)
    sequential = None
    if sequential_sims:
        est = conv_t / n_t - conv_c / n_c
        se = np.where(z != 0, est / np.where(z != 0, z, 1.0), 0.0)
        hits = 0
        for s in range(min(sequential_sims, sims)):
            for k in range(len(looks)):
                if se[s, k] <= 0:
                    continue
                r = infer(
                    float(est[s, k]),
                    float(se[s, k]),
                    alpha=ALPHA,
                    method="sequential",
                    n=int(n_c[k] + n_t[k]),
                    planned_customers=d.holdout + d.variant,
                )
                if r.p_value < ALPHA:
                    hits += int(lift == 0 or np.sign(est[s, k]) == np.sign(lift))
                    break
        sequential = hits / min(sequential_sims, sims)
    return Outcome(
        sims,
        float(hit.mean()),
        float(fixed_peeking.mean()),
        float(stopped_at.mean()),
        reached,
        bounds.z,
        sequential,
        min(sequential_sims, sims),
    )


SCENARIOS: tuple[tuple[str, float, tuple[float, ...]], ...] = (
    ("50/50, weekly looks equally spaced", 0.5, equally_spaced(PLANNED_LOOKS)),
    ("10 % holdout, weekly looks equally spaced", 0.1, equally_spaced(PLANNED_LOOKS)),
    ("50/50, traffic ramping up (looks at 15/40/70/100 %)", 0.5, (0.15, 0.4, 0.7, 1.0)),
)
