"""Guardrail verdicts: is the variant no worse than the holdout on a metric it must not hurt?

A two-sided "significantly harmed?" test cannot say a guardrail is *safe*: "not significant" is
also what an underpowered pilot says about real harm. A non-inferiority question can (Schuirmann
1987; Wellek 2010, *Testing Statistical Hypotheses of Equivalence and Noninferiority*). Each
guardrail declares one of two rules:

* ``relative_margin`` (``margin=0.10``): the variant may be at most 10 % worse than the holdout
  in the metric's bad direction. Harm is the relative lift ``r = Δ/ȳc`` for a metric whose good
  direction is ``decrease`` (an increase hurts) and ``−r`` for ``increase``. Its confidence set
  is Fieller's (:mod:`stats.fieller`) at the one-sided level below, with the absolute test's
  critical value (so it reads off ``compare``'s own estimate, CUPED and method); the bound at
  ``r0`` is the test of ``Δ − r0·ȳc = 0``, so the error rates hold at the margin itself.
  A guardrail that declares nothing gets ``DEFAULT_MARGIN = 0.10``.
* ``max_rate`` (``max_rate=0.005``): for structural-zero guardrails (unsubscribes, complaints:
  the holdout is never messaged, so its rate is exactly 0 and no relative margin exists). The
  variant is judged on its own rate per customer with an exact one-sided bound
  (:mod:`stats.exact`: Clopper–Pearson for a binary metric, Garwood's Poisson bound for a
  count). Only for metrics whose good direction is ``decrease``.

Verdicts, from the two one-sided ``1 − α_g`` bounds of harm (the ends of the two-sided
``1 − 2α_g`` set): **non_inferior** when the upper bound of harm is below the margin or cap;
**harmed** when the lower bound is above it (the whole interval lies beyond); otherwise
**inconclusive** (also when the bound is undefined: holdout mean not clearly above zero, too few
customers). With the truth exactly at the margin each wrong verdict has probability α_g: at
most that for ``max_rate`` (exact), and to the normal approximation for the relative rule. That
approximation tilts the two one-sided errors apart when the holdout mean is skewed (few events,
heavy-tailed revenue): with 400 log-normal buyers in the holdout, false ``non_inferior`` 6.9 %
and false ``harmed`` 3.6 % at α_g = 5 %; the skew, and the tilt, shrink like 1/sqrt(n). A
correction would need the third moments ``Σy³``, which the sufficient statistics do not carry.

**Several guardrails** — Bonferroni on the one-sided level: ``α_g = α / guardrails``. It keeps
the chance that *any* guardrail of a harmless variant is called ``harmed`` below α (a union of
rejections). For the conclusion "*all* guardrails are non-inferior" it is conservative: that is
an intersection–union test, valid at α per guardrail without correction (Berger 1982; Schultzberg,
Ankargren & Frånberg 2024, "Risk-aware product decisions in A/B tests with multiple metrics",
who correct the power instead). One constant α_g for both verdicts keeps one interval per
guardrail.

With a sequential method (``sequential``: group-sequential boundaries; ``always_valid``: the
confidence sequence) the relative bounds are the two-sided boundaries at ``2α_g``, read one side
at a time: each side errs with probability ≤ α_g up to the (tiny) chance of crossing both. The
exact ``max_rate`` bounds are fixed-horizon: read at every weekly review their error grows like
any fixed test's; read them at the end, or give them a smaller α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, Unpack

from stats.comparison import CompareOptions, compare
from stats.exact import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    poisson_lower,
    poisson_upper,
)
from stats.fieller import LiftSpread, relative_lift_interval
from stats.sufficient import CovariateSample, SampleMean

__all__ = [
    "DEFAULT_MARGIN",
    "Direction",
    "GuardrailKind",
    "GuardrailPlan",
    "GuardrailRule",
    "GuardrailVerdict",
    "Verdict",
    "guardrail_alpha",
    "guardrail_sample_size",
    "guardrail_verdict",
    "max_rate_verdict",
    "relative_margin_verdict",
]

DEFAULT_MARGIN = 0.10
Direction = Literal["increase", "decrease"]
GuardrailKind = Literal["binary", "count", "mean"]
GuardrailRule = Literal["relative_margin", "max_rate"]
Verdict = Literal["non_inferior", "harmed", "inconclusive"]
Arm = SampleMean | CovariateSample


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    """One guardrail, one variant against the holdout.

    ``bound`` is the one-sided ``1 − alpha`` upper confidence bound of harm: the relative harm
    (``0.04`` = "at most 4 % worse", negative = better) for ``relative_margin``, the variant's
    rate for ``max_rate``; ``lower`` the matching lower bound. ``None`` when undefined.
    ``alpha`` is the one-sided level of each bound after the Bonferroni split.
    """

    rule: GuardrailRule
    threshold: float
    bound: float | None
    verdict: Verdict
    message: str
    lower: float | None = None
    alpha: float = 0.05


@dataclass(frozen=True, slots=True)
class GuardrailPlan:
    """Customers needed to show non-inferiority with probability ``power`` when nothing is
    harmed (one variant at the split's ratio to the holdout)."""

    rule: GuardrailRule
    holdout_customers: int
    customers_per_variant: int
    alpha_per_guardrail: float
    power: float


def guardrail_alpha(alpha: float, guardrails: int) -> float:
    """Bonferroni: the one-sided level of each of ``guardrails`` guardrails."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if guardrails < 1:
        raise ValueError("guardrails must be >= 1")
    return alpha / guardrails


def _pct(rate: float) -> str:
    """A small rate as a percentage with three significant digits (0.000915%)."""
    return f"{100 * rate:.3g}%"


def _verdict(lower: float, upper: float, threshold: float) -> Verdict:
    if upper < threshold:
        return "non_inferior"
    if lower > threshold:
        return "harmed"
    return "inconclusive"


def _check_direction(direction: str) -> None:
    if direction not in ("increase", "decrease"):
        raise ValueError(f"direction must be 'increase' or 'decrease', not {direction!r}")


def relative_margin_verdict(
    delta: float,
    baseline: float,
    *,
    direction: Direction,
    margin: float = DEFAULT_MARGIN,
    alpha_g: float = 0.05,
    **spread: Unpack[LiftSpread],
) -> GuardrailVerdict:
    """Verdict of a relative non-inferiority margin from the estimates of the absolute lift.

    ``q`` is the *one-sided* ``1 − alpha_g`` critical value of the absolute test (Student t with
    Welch df, or the sequential boundary at ``2·alpha_g``: ``half-width / se`` of ``compare`` at
    ``alpha = 2·alpha_g``); ``alpha_g`` is only reported.
    The other arguments as for :func:`stats.fieller.relative_lift_interval`
    (:class:`stats.fieller.LiftSpread`).
    """
    _check_direction(direction)
    if not margin > 0:
        raise ValueError("margin must be > 0")
    rel = relative_lift_interval(delta, baseline, **spread)
    if rel.ci is None:
        return GuardrailVerdict(
            "relative_margin", margin, None, "inconclusive", rel.message or "", None, alpha_g
        )
    return _relative_verdict(rel.ci, direction=direction, margin=margin, alpha_g=alpha_g)


def _relative_verdict(
    ci: tuple[float, float], *, direction: Direction, margin: float, alpha_g: float
) -> GuardrailVerdict:
    """The verdict from the two-sided ``1 − 2α_g`` interval of the relative lift."""
    sign = 1.0 if direction == "decrease" else -1.0
    lower, upper = sorted((sign * ci[0], sign * ci[1]))
    verdict = _verdict(lower, upper, margin)
    worse = "higher" if direction == "decrease" else "lower"
    level = f"one-sided {1 - alpha_g:.2%} confidence"
    if verdict == "non_inferior":
        how = f"at most {upper:.1%} worse" if upper >= 0 else f"at least {-upper:.1%} better"
        message = (
            f"Non-inferior: the variant is {how} than the holdout ({level}; worse = {worse}),"
            f" within the {margin:.1%} margin."
        )
    elif verdict == "harmed":
        message = (
            f"Harmed: the variant is at least {lower:.1%} worse than the holdout ({level};"
            f" worse = {worse}), beyond the {margin:.1%} margin."
        )
    else:
        message = (
            f"Inconclusive: the variant is between {lower:+.1%} and {upper:+.1%} worse than the"
            f" holdout ({level} each side; worse = {worse}), which straddles the {margin:.1%}"
            " margin; more customers are needed."
        )
    return GuardrailVerdict("relative_margin", margin, upper, verdict, message, lower, alpha_g)


def max_rate_verdict(
    events: float,
    n: float,
    *,
    max_rate: float,
    kind: Literal["binary", "count"],
    alpha_g: float = 0.05,
) -> GuardrailVerdict:
    """Verdict of an absolute cap on the variant's own rate per customer (exact bounds)."""
    if not 0 < alpha_g < 1:
        raise ValueError("alpha_g must be in (0, 1)")
    if not max_rate > 0 or (kind == "binary" and max_rate >= 1):
        raise ValueError("max_rate must be > 0 (and < 1 for a binary metric)")
    if kind == "binary":
        upper = clopper_pearson_upper(events, n, alpha=alpha_g)
        lower = clopper_pearson_lower(events, n, alpha=alpha_g)
        how = "Clopper–Pearson"
    elif kind == "count":
        upper = poisson_upper(events, n, alpha=alpha_g)
        lower = poisson_lower(events, n, alpha=alpha_g)
        how = "exact Poisson"
    else:
        raise ValueError(f"max_rate needs a binary or count metric, not {kind!r}")
    verdict = _verdict(lower, upper, max_rate)
    seen = f"{events:,.0f} in {n:,.0f} customers"
    level = f"one-sided {1 - alpha_g:.2%} {how} bound"
    cap = _pct(max_rate)
    if verdict == "non_inferior":
        message = f"Within the cap: {seen}, rate at most {_pct(upper)} ({level}) < {cap}."
    elif verdict == "harmed":
        message = f"Over the cap: {seen}, rate at least {_pct(lower)} ({level}) > {cap}."
    else:
        message = (
            f"Inconclusive: {seen}, rate between {_pct(lower)} and {_pct(upper)} ({level} each"
            f" side), which straddles the cap of {cap}; more customers are needed."
        )
    return GuardrailVerdict("max_rate", max_rate, upper, verdict, message, lower, alpha_g)


def _rule(margin: float | None, max_rate: float | None) -> tuple[GuardrailRule, float]:
    if margin is not None and max_rate is not None:
        raise ValueError("a guardrail declares either a relative margin or a max_rate, not both")
    if max_rate is not None:
        return "max_rate", max_rate
    return "relative_margin", DEFAULT_MARGIN if margin is None else margin


def _outcome(arm: Arm) -> SampleMean:
    return arm.outcome if isinstance(arm, CovariateSample) else arm


def guardrail_verdict(
    control: Arm,
    treatment: Arm,
    *,
    kind: GuardrailKind,
    direction: Direction,
    margin: float | None = None,
    max_rate: float | None = None,
    alpha: float = 0.05,
    guardrails: int = 1,
    **options: Unpack[CompareOptions],
) -> GuardrailVerdict:
    """The verdict of one guardrail for one variant (see the module docstring).

    ``guardrails`` is how many guardrails the pilot declares (Bonferroni: ``α/guardrails`` per
    one-sided bound). The relative rule reads the relative interval of :func:`stats.compare`
    run at ``2·α_g`` with ``options`` (``method``, ``planned_customers``, ``cuped``, ``looks``,
    with compare's defaults) — Fieller's set at that comparison's own critical value (the same
    estimate, CUPED adjustment, df or exact test, method, ``planned_customers`` and ``looks``).
    """
    _check_direction(direction)
    rule, threshold = _rule(margin, max_rate)
    alpha_g = guardrail_alpha(alpha, guardrails)
    if rule == "max_rate":
        if direction != "decrease":
            raise ValueError("max_rate caps a metric whose good direction is 'decrease'")
        if kind == "mean":
            raise ValueError("max_rate needs a binary or count metric")
        yt = _outcome(treatment)
        if yt.n == 0:
            return GuardrailVerdict(
                rule, threshold, None, "inconclusive", "No variant customers yet.", None, alpha_g
            )
        return max_rate_verdict(yt.sum, yt.n, max_rate=threshold, kind=kind, alpha_g=alpha_g)
    if not threshold > 0:
        raise ValueError("margin must be > 0")
    comparison = compare(control, treatment, kind=kind, alpha=2 * alpha_g, **options)
    if comparison.status == "zero_baseline":
        message = (
            "The holdout has no events, so a relative margin cannot be judged; a guardrail whose"
            " holdout rate is structurally zero needs an absolute cap (max_rate)."
        )
        return GuardrailVerdict(rule, threshold, None, "inconclusive", message, None, alpha_g)
    if comparison.relative_ci is None:  # too few customers, or Fieller's set is unbounded
        message = comparison.message or "The guardrail cannot be compared yet."
        return GuardrailVerdict(rule, threshold, None, "inconclusive", message, None, alpha_g)
    # compare's relative interval is Fieller's at its own critical value (here for 2·α_g), with
    # its CUPED covariance and, for rare events, the exact test's scale.
    return _relative_verdict(
        comparison.relative_ci, direction=direction, margin=threshold, alpha_g=alpha_g
    )


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


def _max_rate_customers(
    assumed_rate: float, max_rate: float, kind: str, alpha_g: float, power: float
) -> int:
    """The smallest n at which ``P(exact upper bound < cap) ≥ power`` at ``assumed_rate``.

    By the duality of the exact bounds, the upper bound after ``x`` events in ``n`` customers
    is below the cap exactly when ``P(X ≤ x; n, cap) < α_g``. Let ``n_x`` be the smallest such
    ``n`` (Poisson: ``⌊Gamma(x + 1).ppf(1 − α_g)/cap⌋ + 1``; binomial: bisection). For
    ``n_x ≤ n < n_{x+1}`` the verdict is non-inferior iff ``X ≤ x``, whose probability falls as
    ``n`` grows — the power is a saw-tooth in ``n`` whose teeth start at the ``n_x``. So the
    answer is the first ``n_x`` (x = 0, 1, …) with ``P(X ≤ x; n_x, assumed_rate) ≥ power``.
    """
    import numpy as np
    from scipy.stats import binom, gamma, poisson

    block = 2048
    for start in range(0, 10**7, block):
        x = np.arange(start, start + block, dtype=np.float64)
        n = np.floor(gamma.ppf(1 - alpha_g, x + 1) / max_rate) + 1  # Poisson n_x
        if kind == "binary":
            hi = np.maximum(n, x + 1)
            while (fail := binom.cdf(x, hi, max_rate) >= alpha_g).any():
                hi = np.where(fail, 2 * hi, hi)
            lo = x.copy()  # n = x customers, all with the event: the bound is 1, it fails
            while (hi - lo > 1).any():
                mid = np.floor((lo + hi) / 2)
                ok = binom.cdf(x, mid, max_rate) < alpha_g
                hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
            n = hi
            achieved = binom.cdf(x, n, assumed_rate)
        else:
            achieved = poisson.cdf(x, n * assumed_rate)
        hits = np.flatnonzero(achieved >= power)
        if hits.size:
            return int(n[hits[0]])
    raise ValueError("no pilot size shows this cap at this assumed rate")


def guardrail_sample_size(
    *,
    baseline: float,
    kind: GuardrailKind,
    direction: Direction,
    margin: float | None = None,
    max_rate: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    guardrails: int = 1,
    power: float = 0.8,
    holdout_share: float = 0.5,
    variants: int = 1,
) -> GuardrailPlan:
    """Customers per arm to show non-inferiority with probability ``power`` if nothing is harmed.

    ``relative_margin`` (normal approximation, both arms at mean ``baseline`` and per-customer
    sd ``σ``; ``σ² = p(1 − p)`` for binary, ``baseline`` for a count unless ``sd`` is given;
    ``sd`` is required for a mean): the test of ``Δ − r0·ȳc`` at ``r0 = ±margin`` (``+`` when
    an increase hurts) has variance ``σ²/nt + (1 + r0)²·σ²/nc``, so with ``nt = ratio·nc``

        nc = (z₁₋α_g + z_power)² · σ² · (1/ratio + (1 + r0)²) / (margin · baseline)².

    ``max_rate``: ``baseline`` is the rate assumed for the variant (0 for a structural zero);
    the variant needs the smallest n at which its exact one-sided upper bound falls below the
    cap with probability ≥ ``power`` (exact, over its Binomial/Poisson event count; the power
    is a saw-tooth in n, so a few larger n can fall short again); the holdout gets
    ``n / ratio``.
    """
    _check_direction(direction)
    rule, threshold = _rule(margin, max_rate)
    alpha_g = guardrail_alpha(alpha, guardrails)
    if not 0 < power < 1 or not 0 < holdout_share < 1 or variants < 1:
        raise ValueError("need 0 < power < 1, 0 < holdout_share < 1, variants >= 1")
    ratio = (1 - holdout_share) / variants / holdout_share
    if rule == "max_rate":
        if direction != "decrease" or kind == "mean":
            raise ValueError("max_rate caps a binary or count metric whose good direction is down")
        if not 0 <= baseline < threshold:
            raise ValueError("the assumed rate (baseline) must be in [0, max_rate)")
        n_t = _max_rate_customers(baseline, threshold, kind, alpha_g, power)
        return GuardrailPlan(rule, _ceil(n_t / ratio), n_t, alpha_g, power)
    if not threshold > 0 or not baseline > 0:
        raise ValueError("a relative margin needs margin > 0 and baseline > 0")
    if kind == "binary":
        if not baseline < 1:
            raise ValueError("a binary baseline must be in (0, 1)")
        variance = baseline * (1 - baseline)
    elif sd is not None:
        if not sd > 0:
            raise ValueError("sd must be > 0")
        variance = sd**2
    elif kind == "count":
        variance = baseline  # Poisson
    else:
        raise ValueError("a mean metric needs its per-customer sd")
    r0 = threshold if direction == "decrease" else -threshold
    z = NormalDist().inv_cdf(1 - alpha_g) + NormalDist().inv_cdf(power)
    n_c = z**2 * variance * (1 / ratio + (1 + r0) ** 2) / (threshold * baseline) ** 2
    holdout = _ceil(n_c)
    return GuardrailPlan(rule, holdout, _ceil(holdout * ratio), alpha_g, power)
