"""Seeded simulations of the decision statistics: the Fieller/absolute/p invariant, coverage of
the relative lift, guardrail verdicts at the margin, and exact tests for rare events.
``benchmarks/simulate_decisions.py`` runs them at full size, the tests at reduced size."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from stats import CovariateSample, SampleMean, compare
from stats.exact import is_rare, rare_event_test
from stats.fieller import (
    LiftSpread,
    RelativeInterval,
    delta_method_relative_interval,
    relative_lift_interval,
)
from stats.guardrail import guardrail_sample_size, guardrail_verdict, max_rate_verdict
from stats.inference import InferenceOptions, Method, infer

ALPHA = 0.05
KINDS: tuple[Literal["binary", "count"], ...] = ("binary", "count")
METHOD_NAMES: tuple[Method, ...] = get_args(Method)  # fixed first, then the sequential ones


def mc_se(p: float, sims: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / sims)


def _excludes_zero(r: RelativeInterval) -> bool:
    """Zero outside the set, read off the interval's end points when it has them."""
    if r.ci is not None:
        return r.ci[0] > 0 or r.ci[1] < 0
    assert r.fieller is not None
    return not r.fieller.contains(0.0)


# --- the invariant --------------------------------------------------------------------------


@dataclass(frozen=True)
class Invariant:
    cases: int
    agree: int  # Fieller excludes 0 ⇔ |Δ|/se > q ⇔ absolute CI excludes 0 ⇔ p < α
    unbounded: int  # of which Fieller's set was not a finite interval
    rejected: int  # of which the absolute test rejected
    delta_disagree: int  # the delta-method interval's verdict differs from the absolute test


def _random_looks(rng: np.random.Generator, now: float) -> tuple[float, ...]:
    """One to three earlier looks before information fraction ``now``, evenly spread (weekly
    reviews of a steady pilot)."""
    k = int(rng.integers(1, 4))
    return tuple(now * (i + 1) / (k + 1) for i in range(k))


def fieller_invariant(cases: int, *, seed: int = 11, looks_share: float = 0.05) -> Invariant:
    """Random ratios with |Δ|/se and m/se(m) scattered around the critical value, any
    correlation, α in {1, 5, 10, 20} %, every inference method (fixed: t with random df;
    the sequential ones at random n and planned size, a share ``looks_share`` of the
    group-sequential cases with earlier looks)."""
    from scipy.stats import t

    rng = np.random.default_rng(seed)
    alpha = rng.choice([0.01, 0.05, 0.1, 0.2], cases)
    levels = [float(a) for a in alpha]
    df = rng.uniform(2, 5000, cases)
    which = rng.integers(0, len(METHOD_NAMES), cases)
    n = rng.integers(10, 100_000, cases)
    planned = n * rng.uniform(0.5, 4, cases)
    with_looks = rng.random(cases) < looks_share
    q = t.ppf(1 - alpha / 2, df)
    options: list[InferenceOptions] = [{} for _ in range(cases)]
    for j in np.flatnonzero(which > 0).tolist():
        method = METHOD_NAMES[which[j]]
        now = min(1.0, float(n[j] / planned[j]))
        looks = _random_looks(rng, now) if method == "sequential" and with_looks[j] else ()
        options[j] = {
            "method": method,
            "n": int(n[j]),
            "planned_customers": float(planned[j]),
            "looks": looks,
        }
        q[j] = infer(0.0, 1.0, alpha=levels[j], **options[j]).half_width
    se_d, se_m = np.exp(rng.normal(-3, 2, cases)), np.exp(rng.normal(-3, 2, cases))
    sign = rng.choice([-1.0, 1.0], cases)
    delta = sign * q * np.exp(rng.normal(0, 0.3, cases)) * se_d
    m = q * np.exp(rng.normal(0.4, 0.6, cases)) * se_m
    cov = rng.uniform(-1, 1, cases) * se_d * se_m
    p_fixed = 2 * t.sf(np.abs(delta) / se_d, df)
    agree = unbounded = rejected = delta_disagree = 0
    for i in range(cases):
        d, s, qi = float(delta[i]), float(se_d[i]), float(q[i])
        if options[i]:
            absolute = infer(d, s, alpha=levels[i], **options[i])
            p, ci = absolute.p_value, absolute.ci
        else:
            p, ci = float(p_fixed[i]), (d - qi * s, d + qi * s)
        args: LiftSpread = {
            "var_delta": s * s,
            "var_baseline": float(se_m[i]) ** 2,
            "covariance": float(cov[i]),
            "q": qi,
        }
        fieller = relative_lift_interval(d, float(m[i]), **args)
        delta_m = delta_method_relative_interval(d, float(m[i]), **args)
        test = abs(d) / s > qi
        ci_excludes = ci[0] > 0 or ci[1] < 0
        agree += _excludes_zero(fieller) == test == ci_excludes == bool(p < levels[i])
        unbounded += fieller.status == "unbounded"
        rejected += test
        delta_disagree += delta_m.excludes_zero != test
    return Invariant(cases, agree, unbounded, rejected, delta_disagree)


def covariate_sample(x: np.ndarray, y: np.ndarray) -> CovariateSample:
    return CovariateSample(
        SampleMean(len(y), float(y.sum()), float((y**2).sum())),
        SampleMean(len(x), float(x.sum()), float((x**2).sum())),
        float((x * y).sum()),
    )


def cuped_covariance(control: CovariateSample, theta: float | None) -> float:
    """``Cov(Δ, ȳc)`` of ``compare``'s estimate: ``−(s²_yc − θ·cov_c)/nc`` (θ = 0: plain)."""
    y = control.outcome
    return -(y.variance - (theta or 0.0) * control.covariance) / y.n


def compare_invariant(cases: int, *, seed: int = 12) -> Invariant:
    """Through ``stats.compare`` (CUPED on, every method): Fieller on its estimate with
    ``q = half-width / se`` excludes 0 exactly when ``compare``'s p-value is below α."""
    rng = np.random.default_rng(seed)
    agree = done = unbounded = rejected = delta_disagree = 0
    for _ in range(cases):
        n_c, n_t = (int(v) for v in rng.integers(20, 300, 2))
        rho, lift = rng.uniform(-0.9, 0.9), rng.normal(0, 0.3)
        arms = []
        for n, shift in ((n_c, 0.0), (n_t, lift)):
            x = rng.normal(0, 1, n)
            y = 1.0 + shift + rho * x + math.sqrt(1 - rho**2) * rng.normal(0, 1, n)
            arms.append(covariate_sample(x, y))
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        method = METHOD_NAMES[int(rng.integers(0, len(METHOD_NAMES)))]
        planned = float(rng.uniform(1, 3) * (n_c + n_t))
        now = (n_c + n_t) / planned
        looks = _random_looks(rng, now) if method == "sequential" and rng.random() < 0.1 else ()
        c = compare(
            arms[0],
            arms[1],
            kind="mean",
            alpha=alpha,
            method=method,
            planned_customers=planned,
            looks=looks,
        )
        if c.status != "ok" or c.control_mean <= 0:
            continue
        assert c.absolute_ci is not None and c.absolute_se is not None and c.p_value is not None
        se = c.absolute_se
        q = (c.absolute_ci[1] - c.absolute_ci[0]) / (2 * se)
        args: LiftSpread = {
            "var_delta": se**2,
            "var_baseline": arms[0].outcome.variance / n_c,
            "covariance": cuped_covariance(arms[0], c.theta),
            "q": q,
        }
        fieller = relative_lift_interval(c.absolute_lift, c.control_mean, **args)
        delta_m = delta_method_relative_interval(c.absolute_lift, c.control_mean, **args)
        test = c.p_value < alpha
        ci_excludes = c.absolute_ci[0] > 0 or c.absolute_ci[1] < 0
        done += 1
        agree += _excludes_zero(fieller) == test == ci_excludes
        unbounded += fieller.status == "unbounded"
        rejected += test
        delta_disagree += delta_m.excludes_zero != test
    return Invariant(done, agree, unbounded, rejected, delta_disagree)


# --- coverage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """Per-customer outcome: binary (``rate``), or revenue — a share ``rate`` of customers buy
    and spend LogNormal(``mu``, ``sigma``) — or correlated log-normal ``cuped`` data."""

    name: str
    kind: Literal["binary", "revenue", "cuped"]
    n_c: int
    n_t: int
    rate_c: float
    rate_t: float
    sigma: float = 1.0
    mu: float = 3.0

    @property
    def mean_c(self) -> float:
        return self._mean(self.rate_c)

    @property
    def mean_t(self) -> float:
        return self._mean(self.rate_t)

    def _mean(self, rate: float) -> float:
        if self.kind == "binary":
            return rate
        if self.kind == "revenue":
            return rate * math.exp(self.mu + self.sigma**2 / 2)
        return rate * math.exp(1.0 + 0.5)  # cuped: y = rate · exp(1 + 0.8w + 0.6e)

    @property
    def true_relative(self) -> float:
        return self.mean_t / self.mean_c - 1


def _arm_sums(
    sc: Scenario, n: int, rate: float, sims: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Σy and Σy² of ``sims`` arms of ``n`` customers (only buyers' spends are drawn)."""
    if sc.kind == "binary":
        s = rng.binomial(n, rate, sims).astype(float)
        return s, s
    buyers = rng.binomial(n, rate, sims)
    spend = rng.lognormal(sc.mu, sc.sigma, int(buyers.sum()))
    owner = np.repeat(np.arange(sims), buyers)
    return (np.bincount(owner, spend, minlength=sims), np.bincount(owner, spend**2, minlength=sims))


def _sum_chunks(
    sc: Scenario, sims: int, *, seed: int, chunk: int = 2000
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(Σy, Σy²) of the holdout and of the variant, ``chunk`` pilots at a time."""
    rng = np.random.default_rng(seed)
    if sc.kind != "binary":  # about 4M spends in memory at a time
        draws = sc.n_c * sc.rate_c + sc.n_t * sc.rate_t
        chunk = max(1, min(chunk, int(4_000_000 / max(draws, 1.0))))
    for start in range(0, sims, chunk):
        k = min(chunk, sims - start)
        sum_c, ss_c = _arm_sums(sc, sc.n_c, sc.rate_c, k, rng)
        sum_t, ss_t = _arm_sums(sc, sc.n_t, sc.rate_t, k, rng)
        yield sum_c, ss_c, sum_t, ss_t


def simulate_arms(sc: Scenario, sims: int, *, seed: int) -> Iterator[tuple[SampleMean, SampleMean]]:
    """``sims`` (holdout, variant) pairs of sufficient statistics (not for ``cuped``)."""
    for sum_c, ss_c, sum_t, ss_t in _sum_chunks(sc, sims, seed=seed):
        for i in range(len(sum_c)):
            yield (
                SampleMean(sc.n_c, float(sum_c[i]), float(ss_c[i])),
                SampleMean(sc.n_t, float(sum_t[i]), float(ss_t[i])),
            )


def simulate_cuped_arms(
    sc: Scenario, sims: int, *, seed: int
) -> Iterator[tuple[CovariateSample, CovariateSample]]:
    """Skewed pre-period spend ``x`` and outcome ``y`` sharing a customer propensity ``w``:
    ``x = exp(1 + 0.8w + 0.6e₁)``, ``y = rate · exp(1 + 0.8w + 0.6e₂)`` (log-normal)."""
    rng = np.random.default_rng(seed)
    for _ in range(sims):
        arms = []
        for n, rate in ((sc.n_c, sc.rate_c), (sc.n_t, sc.rate_t)):
            w, e = rng.normal(0, 1, n), rng.normal(0, 1, (2, n))
            x = np.exp(1 + 0.8 * w + 0.6 * e[0])
            y = rate * np.exp(1 + 0.8 * w + 0.6 * e[1])
            arms.append(covariate_sample(x, y))
        yield arms[0], arms[1]


@dataclass(frozen=True)
class Estimates:
    """Per pilot, the numbers ``compare`` computes and Fieller needs."""

    delta: np.ndarray
    se: np.ndarray
    q: np.ndarray
    baseline: np.ndarray
    var_baseline: np.ndarray
    covariance: np.ndarray
    variance_reduction: float | None = None


def welch_estimates(sc: Scenario, sims: int, *, seed: int) -> Estimates:
    """``compare``'s plain (Welch) numbers, vectorized, for the pilots of :func:`simulate_arms`
    with the same seed: ddof-1 variances, unpooled se, Welch–Satterthwaite df, t quantile."""
    from scipy.stats import t

    parts = [np.concatenate(a) for a in zip(*_sum_chunks(sc, sims, seed=seed))]
    sum_c, ss_c, sum_t, ss_t = parts
    n_c, n_t = sc.n_c, sc.n_t
    m_c, m_t = sum_c / n_c, sum_t / n_t
    v_c = np.maximum((ss_c - n_c * m_c**2) / (n_c - 1), 0.0)
    v_t = np.maximum((ss_t - n_t * m_t**2) / (n_t - 1), 0.0)
    a, b = v_t / n_t, v_c / n_c
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    df = np.where(a == 0, n_c - 1, np.where(b == 0, n_t - 1, df))
    return Estimates(m_t - m_c, np.sqrt(a + b), t.ppf(1 - ALPHA / 2, df), m_c, b, -b, None)


def cuped_estimates(sc: Scenario, sims: int, *, seed: int) -> Estimates:
    """Through ``stats.compare`` itself (CUPED): q is its half-width over its se."""
    rows, reductions = [], []
    for control, treatment in simulate_cuped_arms(sc, sims, seed=seed):
        c = compare(control, treatment, kind="mean", alpha=ALPHA)
        assert c.absolute_ci is not None and c.absolute_se is not None
        se, yc = c.absolute_se, control.outcome
        q = (c.absolute_ci[1] - c.absolute_ci[0]) / (2 * se)
        cov = cuped_covariance(control, c.theta)
        rows.append((c.absolute_lift, se, q, c.control_mean, yc.variance / yc.n, cov))
        if c.variance_reduction is not None:
            reductions.append(c.variance_reduction)
    c_d, c_se, c_q, c_m, c_vm, c_cov = (np.asarray(col) for col in zip(*rows))
    reduction = float(np.mean(reductions)) if reductions else None
    return Estimates(c_d, c_se, c_q, c_m, c_vm, c_cov, reduction)


@dataclass(frozen=True)
class Coverage:
    name: str
    sims: int
    true_relative: float
    absolute: float  # the absolute interval covers the true Δ (the normal approximation itself)
    fieller: float  # Fieller's set contains the true relative lift
    delta: float  # the delta-method interval does
    fieller_below: float  # misses with the truth below Fieller's interval (interval too high)
    fieller_above: float
    delta_below: float
    delta_above: float
    unbounded: float  # share with an unbounded Fieller set (covering when it contains the truth)
    undefined: float  # share with no holdout events: no relative lift (counted as misses)
    variance_reduction: float | None = None


def coverage(sc: Scenario, sims: int, *, seed: int) -> Coverage:
    """Coverage of the 95 % intervals of the relative lift (and of the absolute lift)."""
    e = (
        cuped_estimates(sc, sims, seed=seed)
        if sc.kind == "cuped"
        else welch_estimates(sc, sims, seed=seed)
    )
    truth, true_delta = sc.true_relative, sc.mean_t - sc.mean_c
    absolute = float(np.mean(np.abs(e.delta - true_delta) <= e.q * e.se))
    n = {"f": 0, "d": 0, "fb": 0, "fa": 0, "db": 0, "da": 0, "unb": 0, "undef": 0}
    for i in range(sims):
        args: LiftSpread = {
            "var_delta": float(e.se[i]) ** 2,
            "var_baseline": float(e.var_baseline[i]),
            "covariance": float(e.covariance[i]),
            "q": float(e.q[i]),
        }
        d, m = float(e.delta[i]), float(e.baseline[i])
        f = relative_lift_interval(d, m, **args)
        dm = delta_method_relative_interval(d, m, **args)
        if f.fieller is None or dm.ci is None:
            n["undef"] += 1
            continue
        n["unb"] += f.status == "unbounded"
        if f.fieller.contains(truth):
            n["f"] += 1
        elif f.ci is not None:
            n["fa" if truth > f.ci[1] else "fb"] += 1
        if dm.ci[0] <= truth <= dm.ci[1]:
            n["d"] += 1
        else:
            n["da" if truth > dm.ci[1] else "db"] += 1
    r = {k: v / sims for k, v in n.items()}
    return Coverage(
        sc.name,
        sims,
        truth,
        absolute,
        r["f"],
        r["d"],
        r["fb"],
        r["fa"],
        r["db"],
        r["da"],
        r["unb"],
        r["undef"],
        e.variance_reduction,
    )


# Within the normal approximation: the tests assert 93.5-96.5 % on these.
COVERAGE_SCENARIOS = (
    Scenario("binary 5.0% -> 5.6%, 50/50, 5,000 per arm", "binary", 5000, 5000, 0.05, 0.056),
    Scenario(
        "binary 5.0% -> 5.6%, 10% holdout, 2,000 + 18,000", "binary", 2000, 18000, 0.05, 0.056
    ),
    Scenario(
        "revenue 10% buy -> 12%, lognormal(3, 1), 50/50, 2,000 per arm",
        "revenue",
        2000,
        2000,
        0.10,
        0.12,
    ),
    Scenario(
        "revenue 10% buy -> 12%, lognormal(3, 1), 10% holdout, 3,000 + 27,000",
        "revenue",
        3000,
        27000,
        0.10,
        0.12,
    ),
    Scenario(
        "CUPED, lognormal y and x, +10%, 10% holdout, 1,000 + 9,000",
        "cuped",
        1000,
        9000,
        1.0,
        1.1,
    ),
)

# At and past the edge of the normal approximation: reported, not asserted.
STRESS_SCENARIOS = (
    Scenario(
        "revenue 10% buy -> 12%, lognormal(3, 1), 10% holdout, 2,000 + 18,000 (200 holdout buyers)",
        "revenue",
        2000,
        18000,
        0.10,
        0.12,
    ),
    Scenario(
        "binary 1.0% -> 1.5%, 10% holdout, 1,000 + 9,000 (10 holdout events)",
        "binary",
        1000,
        9000,
        0.01,
        0.015,
    ),
    Scenario(
        "revenue 10% buy -> 12%, lognormal(3, 1.5), 10% holdout, 2,000 + 18,000",
        "revenue",
        2000,
        18000,
        0.10,
        0.12,
        sigma=1.5,
    ),
    Scenario(
        "revenue 5% buy -> 7.5%, lognormal(3, 1.5), 10% holdout, 500 + 4,500 (25 holdout buyers)",
        "revenue",
        500,
        4500,
        0.05,
        0.075,
        sigma=1.5,
    ),
)


# --- guardrails ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardrailScenario:
    name: str
    arms: Scenario
    direction: Literal["increase", "decrease"]
    margin: float = 0.10


@dataclass(frozen=True)
class VerdictRates:
    name: str
    sims: int
    alpha_g: float
    harmed: float
    non_inferior: float
    inconclusive: float


def guardrail_rates(
    g: GuardrailScenario, sims: int, *, guardrails: int = 1, seed: int
) -> VerdictRates:
    """Shares of each verdict of ``guardrail_verdict`` over ``sims`` pilots."""
    counts = {"harmed": 0, "non_inferior": 0, "inconclusive": 0}
    kind: Literal["binary", "mean"] = "binary" if g.arms.kind == "binary" else "mean"
    alpha_g = ALPHA / guardrails
    for control, treatment in simulate_arms(g.arms, sims, seed=seed):
        v = guardrail_verdict(
            control,
            treatment,
            kind=kind,
            direction=g.direction,
            margin=g.margin,
            alpha=ALPHA,
            guardrails=guardrails,
        )
        counts[v.verdict] += 1
        alpha_g = v.alpha
    return VerdictRates(
        g.name,
        sims,
        alpha_g,
        counts["harmed"] / sims,
        counts["non_inferior"] / sims,
        counts["inconclusive"] / sims,
    )


AT_MARGIN = (
    GuardrailScenario(
        "bounce 20% -> 22% (+10%, bad = up), 50/50, 5,000 per arm",
        Scenario("", "binary", 5000, 5000, 0.20, 0.22),
        "decrease",
    ),
    GuardrailScenario(
        "conversion 5% -> 4.5% (-10%, bad = down), 10% holdout, 4,000 + 36,000",
        Scenario("", "binary", 4000, 36000, 0.05, 0.045),
        "increase",
    ),
    GuardrailScenario(
        "revenue 10% buy -> 9% (-10%), lognormal(3, 1), 10% holdout, 4,000 + 36,000",
        Scenario("", "revenue", 4000, 36000, 0.10, 0.09),
        "increase",
    ),
)

# The same revenue guardrail with ten times the customers: the skew of the holdout mean, and
# with it the lopsidedness of the two one-sided errors, shrinks like 1/sqrt(n) (reported only).
AT_MARGIN_LARGE = GuardrailScenario(
    "revenue 10% buy -> 9% (-10%), lognormal(3, 1), 10% holdout, 40,000 + 360,000",
    Scenario("", "revenue", 40000, 360000, 0.10, 0.09),
    "increase",
)


@dataclass(frozen=True)
class PowerCheck:
    rates: VerdictRates
    holdout: int
    variant: int


@dataclass(frozen=True)
class PlannedGuardrail:
    """A binary guardrail (bad = up) sized by ``guardrail_sample_size`` for 80 % power and then
    run with nothing harmed: both arms at ``baseline``."""

    baseline: float = 0.20
    margin: float = 0.10
    holdout_share: float = 0.5
    guardrails: int = 1

    @property
    def name(self) -> str:
        return (
            f"no harm, {self.baseline:.0%} baseline, margin {self.margin:.0%}, holdout share"
            f" {self.holdout_share:.0%}, {self.guardrails} guardrail(s)"
        )


def guardrail_power(
    sims: int, g: PlannedGuardrail = PlannedGuardrail(), *, seed: int = 31
) -> PowerCheck:
    """Share ``non_inferior`` at ``guardrail_sample_size`` when nothing is harmed."""
    plan = guardrail_sample_size(
        baseline=g.baseline,
        kind="binary",
        direction="decrease",
        margin=g.margin,
        holdout_share=g.holdout_share,
        guardrails=g.guardrails,
    )
    holdout, variant = plan.holdout_customers, plan.customers_per_variant
    arms = Scenario("", "binary", holdout, variant, g.baseline, g.baseline)
    scenario = GuardrailScenario(g.name, arms, "decrease", g.margin)
    rates = guardrail_rates(scenario, sims, guardrails=g.guardrails, seed=seed)
    return PowerCheck(rates, holdout, variant)


@dataclass(frozen=True)
class ExactRates:
    n: int
    rate: float
    cap: float
    harmed: float  # probability, enumerated exactly over the variant's event count
    non_inferior: float


def max_rate_exact(
    n: int, rate: float, cap: float, *, kind: Literal["binary", "count"], alpha_g: float = ALPHA
) -> ExactRates:
    """Exact probabilities of each ``max_rate`` verdict when the variant's true rate is
    ``rate`` (no simulation: a sum over the Binomial/Poisson event count)."""
    from scipy.stats import binom, poisson

    dist = binom(n, rate) if kind == "binary" else poisson(n * rate)
    lo, hi = int(dist.ppf(1e-12)), int(dist.ppf(1 - 1e-12))
    harmed = non_inferior = 0.0
    for x in range(lo, hi + 1):
        v = max_rate_verdict(x, n, max_rate=cap, kind=kind, alpha_g=alpha_g)
        p = float(dist.pmf(x))
        harmed += p * (v.verdict == "harmed")
        non_inferior += p * (v.verdict == "non_inferior")
    return ExactRates(n, rate, cap, harmed, non_inferior)


# --- rare events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RareType1:
    n_c: int
    n_t: int
    rate: float
    welch: float  # exact probability that Welch's t rejects at α when both arms share `rate`
    exact: float  # same for Fisher's test (binary) or the conditional Poisson test (count)
    switched: float  # the rule: the exact test when `is_rare`, Welch otherwise


def welch_p(x_c: int, n_c: int, x_t: int, n_t: int) -> float:
    """Welch's two-sided p-value on 0/1 data with ``x`` events among ``n`` customers, as the
    plain ``compare`` computes it (ddof-1 variances, Welch–Satterthwaite df, one arm's df when
    the other is constant); 1 when both arms are constant (nothing to test)."""
    from scipy.stats import t

    p_c, p_t = x_c / n_c, x_t / n_t
    b = p_c * (1 - p_c) / (n_c - 1)  # (n·p(1 − p)/(n − 1)) / n
    a = p_t * (1 - p_t) / (n_t - 1)
    if a + b == 0:
        return 1.0
    if a == 0 or b == 0:
        df = float(n_c - 1 if a == 0 else n_t - 1)
    else:
        df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    return float(2 * t.sf(abs(p_t - p_c) / math.sqrt(a + b), df))


def rare_type1(
    n_c: int,
    n_t: int,
    rate: float,
    *,
    kind: Literal["binary", "count"] = "binary",
    alpha: float = ALPHA,
) -> RareType1:
    """Type I error enumerated over both arms' event counts (an A/A pilot), not simulated.

    For counts Welch sees 0/1 customers (``Σy² = Σy``: at these rates nobody has two events)."""
    from scipy.stats import binom, poisson

    def pmf(n: int) -> np.ndarray:
        dist = binom(n, rate) if kind == "binary" else poisson(n * rate)
        return np.asarray(dist.pmf(np.arange(int(dist.ppf(1 - 1e-10)) + 1)))

    pmf_c, pmf_t = pmf(n_c), pmf(n_t)
    welch = exact = switched = 0.0
    for xc, p_c in enumerate(pmf_c):
        for xt, p_t in enumerate(pmf_t):
            p = float(p_c * p_t)
            if p < 1e-13:
                continue
            w = welch_p(xc, n_c, xt, n_t) < alpha
            e = rare_event_test(xc, n_c, xt, n_t, kind=kind).p_value < alpha
            welch += p * w
            exact += p * e
            switched += p * (e if is_rare(xc, xt) else w)
    return RareType1(n_c, n_t, rate, welch, exact, switched)


RARE_SCENARIOS = (
    (1000, 9000, 0.002),
    (1000, 9000, 0.005),
    (1000, 9000, 0.01),
    (4000, 4000, 0.0005),
    (1000, 1000, 0.01),
)


# --- report -----------------------------------------------------------------------------------
