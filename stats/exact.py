"""Exact methods for rare events: one-sided bounds for one arm, two-sample tests for two.

Welch's t (``stats.compare``) leans on the central limit theorem for the *counts*: with a handful
of events its standard error is itself a noisy count and its p-values are too small (0 of 1,000
vs 8 of 1,000: Welch p = 0.0046, Fisher p = 0.0077). :func:`is_rare` states when to switch:
**fewer than 10 events in an arm** (the usual "expected count ≥ 5–10" rule for normal
approximations to binomial and Poisson counts, on the observed count since the expected one is
unknown).

One arm (guardrails capped at an absolute rate, where the holdout rate is a structural zero):

* binomial rate — Clopper & Pearson (1934): the one-sided ``1 − α`` upper bound is the
  ``1 − α`` quantile of ``Beta(x + 1, n − x)`` (1 when ``x = n``), the lower bound the ``α``
  quantile of ``Beta(x, n − x + 1)`` (0 when ``x = 0``). Guaranteed coverage ≥ 1 − α.
* Poisson rate per customer — Garwood (1936): upper ``Gamma(x + 1).ppf(1 − α) / n``, lower
  ``Gamma(x).ppf(α) / n`` (0 when ``x = 0``); for ``x = 0`` the upper bound is ``−ln α / n``,
  the "rule of three" (≈ 3/n at α = 5 %).

Two arms:

* binary — **Fisher's exact test** (``scipy.stats.fisher_exact``; two-sided p sums the tables
  no more likely than the observed one). Boschloo's unconditional test
  (``scipy.stats.boschloo_exact``) is uniformly more powerful, but it maximises over a nuisance
  parameter across all ``(nt + 1)·(nc + 1)`` tables: on this machine 0.19 s at 200 customers
  per arm, 15 s at 1,000 and several minutes at 3,000 — pilots have 10⁴–10⁶. Fisher's is
  conditional (on the total number of events), conservative, and milliseconds at a million.
* counts — the **conditional binomial test** of two Poisson rates (Przyborowski & Wileński
  1940): given ``K = xc + xt`` events, ``xt ~ Binomial(K, nt/(nt + nc))`` under equal rates
  per customer; ``scipy.stats.binomtest`` (two-sided "minlike"). This is statsmodels'
  ``test_poisson_2indep(..., method="exact-cond")`` (tested equal), called directly because that
  function divides by a zero rate with a warning and fails when ``K = 0``. It assumes Poisson
  counts per customer; over-dispersed counts (a few customers with many events) make it
  anti-conservative, like every Poisson model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Literal

__all__ = [
    "RARE_EVENTS",
    "Alternative",
    "ExactTest",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "fisher_test",
    "is_rare",
    "poisson_lower",
    "poisson_rate_test",
    "poisson_upper",
    "rare_event_test",
]

RARE_EVENTS = 10
Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True, slots=True)
class ExactTest:
    """An exact two-sample test: variant (``t``) against holdout (``c``).

    ``statistic`` is the sample odds ratio (Fisher) or rate ratio ``(xt/nt)/(xc/nc)``
    (conditional Poisson), ``inf`` when the holdout has no events, ``None`` when neither arm has.
    ``alternative`` ``greater`` means "the variant's rate is higher".
    """

    status: Literal["ok", "no_events"]
    message: str | None
    test: Literal["fisher_exact", "poisson_conditional"]
    p_value: float
    statistic: float | None
    alternative: Alternative


def is_rare(count_c: float, count_t: float, threshold: int = RARE_EVENTS) -> bool:
    """True when an arm has fewer than ``threshold`` (10) events: use the exact methods."""
    if threshold < 1:
        raise ValueError("threshold must be >= 1")
    return min(count_c, count_t) < threshold


def _whole(x: float, name: str) -> int:
    """An event count: a whole number >= 0, allowing floating-point dust from SQL sums."""
    if not math.isfinite(x) or x < -1e-9 or abs(x - round(x)) > 1e-9 * max(1.0, abs(x)):
        raise ValueError(f"{name} must be a whole number >= 0, got {x!r}")
    return round(x)


def _arm(events: float, n: float, *, binary: bool) -> tuple[int, int]:
    x, m = _whole(events, "events"), _whole(n, "n")
    if m < 1:
        raise ValueError("n must be >= 1")
    if binary and x > m:
        raise ValueError("a binary metric cannot have more events than customers")
    return x, m


def _level(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")


def clopper_pearson_upper(events: float, n: float, *, alpha: float = 0.05) -> float:
    """One-sided ``1 − alpha`` exact upper bound of a binomial rate (Clopper–Pearson)."""
    _level(alpha)
    x, m = _arm(events, n, binary=True)
    if x == m:
        return 1.0
    from scipy.stats import beta  # on first use: see stats/__init__.py

    return float(beta.ppf(1 - alpha, x + 1, m - x))


def clopper_pearson_lower(events: float, n: float, *, alpha: float = 0.05) -> float:
    """One-sided ``1 − alpha`` exact lower bound of a binomial rate (Clopper–Pearson)."""
    _level(alpha)
    x, m = _arm(events, n, binary=True)
    if x == 0:
        return 0.0
    from scipy.stats import beta

    return float(beta.ppf(alpha, x, m - x + 1))


def poisson_upper(events: float, exposure: float, *, alpha: float = 0.05) -> float:
    """One-sided ``1 − alpha`` exact upper bound of a Poisson rate per unit of ``exposure``
    (customers), Garwood's ``Gamma(x + 1).ppf(1 − alpha) / exposure``."""
    _level(alpha)
    x, m = _arm(events, exposure, binary=False)
    from scipy.stats import gamma

    return float(gamma.ppf(1 - alpha, x + 1)) / m


def poisson_lower(events: float, exposure: float, *, alpha: float = 0.05) -> float:
    """One-sided ``1 − alpha`` exact lower bound of a Poisson rate per unit of ``exposure``."""
    _level(alpha)
    x, m = _arm(events, exposure, binary=False)
    if x == 0:
        return 0.0
    from scipy.stats import gamma

    return float(gamma.ppf(alpha, x)) / m


def _fisher(xc: int, nc: int, xt: int, nt: int, alternative: Alternative) -> tuple[float, float]:
    """Fisher's exact test of two binomial rates: ``(p-value, sample odds ratio)``."""
    from scipy.stats import fisher_exact

    result = fisher_exact([[xt, nt - xt], [xc, nc - xc]], alternative=alternative)
    return float(result.pvalue), float(result.statistic)


def _poisson_conditional(
    xc: int, nc: int, xt: int, nt: int, alternative: Alternative
) -> tuple[float, float]:
    """Conditional (exact) binomial test of two Poisson rates per customer: ``(p-value, rate
    ratio)``."""
    from scipy.stats import binomtest

    p_value = binomtest(xt, xc + xt, nt / (nt + nc), alternative=alternative).pvalue
    ratio = math.inf if xc == 0 else (xt / nt) / (xc / nc)
    return float(p_value), ratio


def rare_event_test(
    events_c: float,
    n_c: float,
    events_t: float,
    n_t: float,
    *,
    kind: Literal["binary", "count"],
    alternative: Alternative = "two-sided",
) -> ExactTest:
    """Fisher's test for a binary metric, the conditional Poisson test for a count metric
    (variant ``t`` against holdout ``c``). Both read whole event counts and answer
    ``no_events`` rather than a p-value when neither arm has an event."""
    if kind not in ("binary", "count"):
        raise ValueError(f"exact tests need a binary or count metric, not {kind!r}")
    if alternative not in ("two-sided", "greater", "less"):  # before any count is read
        raise ValueError(f"unknown alternative {alternative!r}")
    binary = kind == "binary"
    xc, nc = _arm(events_c, n_c, binary=binary)
    xt, nt = _arm(events_t, n_t, binary=binary)
    test: Literal["fisher_exact", "poisson_conditional"] = (
        "fisher_exact" if binary else "poisson_conditional"
    )
    if xc == 0 and xt == 0:
        message = "Neither group has an event yet; there is nothing to test."
        return ExactTest("no_events", message, test, 1.0, None, alternative)
    p_value, statistic = (_fisher if binary else _poisson_conditional)(xc, nc, xt, nt, alternative)
    return ExactTest("ok", None, test, p_value, statistic, alternative)


# The two tests by name: ``rare_event_test`` with the metric's kind fixed.
fisher_test = partial(rare_event_test, kind="binary")
"""Fisher's exact test of two binomial rates (variant ``t`` against holdout ``c``)."""
poisson_rate_test = partial(rare_event_test, kind="count")
"""Conditional (exact) binomial test of two Poisson rates per customer."""
