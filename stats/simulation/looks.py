"""Seeded checks of the comparison's promises: weekly peeking, coverage, power at the plan,
CUPED's variance reduction (``benchmarks/simulate_stats.py`` runs them at full size)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stats import CovariateSample, Method, SampleMean, compare, plan_pilot

__all__ = [
    "Coverage",
    "CupedCheck",
    "PeekingRates",
    "Power",
    "aa_weekly_peeking",
    "coverage_binary",
    "coverage_revenue",
    "cuped_reduction",
    "power_at_plan",
]


def _binary(n: int, conversions: int) -> SampleMean:
    return SampleMean(n, float(conversions), float(conversions))


def _sample(v: np.ndarray) -> SampleMean:
    return SampleMean(len(v), float(v.sum()), float((v**2).sum()))


def _binary_pilots(
    sims: int, n: int, p_c: float, p_t: float, seed: int
) -> list[tuple[SampleMean, SampleMean]]:
    """``sims`` pilots of ``n`` customers an arm converting at ``p_c`` (holdout) and ``p_t``."""
    rng = np.random.default_rng(seed)
    cc, ct = rng.binomial(n, p_c, size=sims), rng.binomial(n, p_t, size=sims)
    return [(_binary(n, int(a)), _binary(n, int(b))) for a, b in zip(cc, ct)]


@dataclass(frozen=True)
class PeekingRates:
    sims: int
    sequential: float  # group-sequential, the weekly looks as its looks
    always_valid: float
    fixed: float


def aa_weekly_peeking(sims: int, *, weekly_per_arm: int = 2500, weeks: int = 4,
                      rate: float = 0.05, seed: int = 1) -> PeekingRates:  # fmt: skip
    """A/A pilots looked at weekly: share ever declared significant at α = 5 %."""
    rng = np.random.default_rng(seed)
    conv = rng.binomial(weekly_per_arm, rate, size=(sims, weeks, 2)).cumsum(axis=1)
    planned = 2 * weekly_per_arm * weeks
    methods: tuple[Method, ...] = ("sequential", "always_valid", "fixed")
    hits = dict.fromkeys(methods, 0)
    fractions = [2 * weekly_per_arm * (w + 1) / planned for w in range(weeks)]
    for s in range(sims):
        for method in methods:
            for w in range(weeks):
                n = weekly_per_arm * (w + 1)
                c = compare(_binary(n, int(conv[s, w, 0])), _binary(n, int(conv[s, w, 1])),
                            kind="binary", method=method, planned_customers=planned,
                            looks=fractions[:w])  # fmt: skip
                if c.p_value is not None and c.p_value < 0.05:
                    hits[method] += 1
                    break
    return PeekingRates(
        sims, hits["sequential"] / sims, hits["always_valid"] / sims, hits["fixed"] / sims
    )


@dataclass(frozen=True)
class Coverage:
    sims: int
    absolute: float
    relative: float


def coverage_binary(sims: int, *, n: int = 5000, p_c: float = 0.05, p_t: float = 0.056,
                    seed: int = 2) -> Coverage:  # fmt: skip
    pilots = _binary_pilots(sims, n, p_c, p_t, seed)
    return _coverage(pilots, p_t - p_c, p_t / p_c - 1, "binary")


def coverage_revenue(sims: int, *, n: int = 2000, seed: int = 3) -> Coverage:
    """Skewed revenue: 10 % buy, spend log-normal; the treatment raises the buying rate."""
    rng = np.random.default_rng(seed)
    mean_spend = float(np.exp(3 + 0.5**2 / 2))
    pairs = []
    for _ in range(sims):
        c = (rng.random(n) < 0.10) * rng.lognormal(3, 0.5, n)
        t = (rng.random(n) < 0.12) * rng.lognormal(3, 0.5, n)
        pairs.append((_sample(c), _sample(t)))
    mu_c, mu_t = 0.10 * mean_spend, 0.12 * mean_spend
    return _coverage(pairs, mu_t - mu_c, mu_t / mu_c - 1, "mean")


def _coverage(pairs: list[tuple[SampleMean, SampleMean]], true_abs: float, true_rel: float,
              kind: str) -> Coverage:  # fmt: skip
    hit_abs = hit_rel = 0
    for c, t in pairs:
        r = compare(c, t, kind=kind)  # type: ignore[arg-type]
        assert r.absolute_ci is not None and r.relative_ci is not None
        hit_abs += r.absolute_ci[0] <= true_abs <= r.absolute_ci[1]
        hit_rel += r.relative_ci[0] <= true_rel <= r.relative_ci[1]
    return Coverage(len(pairs), hit_abs / len(pairs), hit_rel / len(pairs))


@dataclass(frozen=True)
class Power:
    sims: int
    planned_power: float
    observed: float
    per_arm: int


def power_at_plan(sims: int, *, baseline: float = 0.05, min_lift: float = 0.2,
                  seed: int = 4) -> Power:  # fmt: skip
    plan = plan_pilot(baseline=baseline, min_lift=min_lift, power=0.8, holdout_share=0.5)
    n = plan.holdout_customers
    hits = 0
    for c, t in _binary_pilots(sims, n, baseline, baseline * (1 + min_lift), seed):
        r = compare(c, t, kind="binary")
        hits += r.p_value is not None and r.p_value < 0.05 and r.absolute_lift > 0
    return Power(sims, 0.8, hits / sims, n)


@dataclass(frozen=True)
class CupedCheck:
    sims: int
    rho: float
    mean_reduction: float
    bias: float
    bias_se: float
    plain_sd: float
    cuped_sd: float


def cuped_reduction(sims: int, *, n: int = 2000, rho: float = 0.5, effect: float = 0.1,
                    seed: int = 5) -> CupedCheck:  # fmt: skip
    rng = np.random.default_rng(seed)
    cov = [[1.0, rho], [rho, 1.0]]
    reductions, estimates, plain = [], [], []
    for _ in range(sims):
        arms = []
        for shift in (0.0, effect):
            xy = rng.multivariate_normal([0, 0], cov, size=n)
            x, y = xy[:, 0], xy[:, 1] + shift
            arms.append(CovariateSample(_sample(y), _sample(x), float((x * y).sum())))
        r = compare(arms[0], arms[1], kind="mean", cuped=True)
        reductions.append(r.variance_reduction or 0.0)
        estimates.append(r.absolute_lift)
        plain.append(arms[1].outcome.mean - arms[0].outcome.mean)
    est = np.asarray(estimates)
    return CupedCheck(
        sims, rho, float(np.mean(reductions)), float(est.mean() - effect),
        float(est.std(ddof=1) / np.sqrt(sims)), float(np.std(plain, ddof=1)),
        float(est.std(ddof=1)),
    )  # fmt: skip
