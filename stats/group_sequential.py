"""Two-sided group-sequential test with Lan–DeMets O'Brien–Fleming-type alpha spending.

Why: a pilot is read every week, and a fixed-horizon test read four times rejects a true null
about 12 % of the time at α = 5 %. The always-valid confidence sequence (``inference.py``) keeps
the error below α at *any* number of looks, but pays for it: it spends far less than α over four
weekly looks and has about half the power at the planned size. A group-sequential design spends
exactly α over the looks actually made, almost all of it at the end, so it needs only ~2 % more
customers than the fixed-horizon test for the same power.

**Spending** (Lan & DeMets 1983; the two-sided symmetric convention of gsDesign's ``sfLDOF`` with
``test.type = 2`` and of ldbounds): each side spends ``α_s(t) = 2 − 2Φ(z_{α/4}/√t)`` of its
``α/2``, so the two-sided total by information fraction ``t`` is

    α(t) = 4 − 4Φ(z_{α/4} / √t),        α(1) = α.

This is the Lan–DeMets formula ``2 − 2Φ(z_{a/2}/√t)`` applied to each side with ``a = α/2``; it
gives the published boundaries 4.3326, 2.9631, 2.3590, 2.0141 for four equally spaced looks at
two-sided α = 0.05. (Applying the formula once to the two-sided total, ``2 − 2Φ(z_{α/2}/√t)``,
spends more early: 3.92, 2.77, 2.30, 2.04 — not the tabulated design.) The information fraction
is ``t = customers / planned customers``, capped at 1; a look at ``t = 1`` is final and spends
what is left of α, whatever was spent before.

**Boundaries** ``c_k`` solve ``P₀(|Z_j| < c_j for j < k, |Z_k| ≥ c_k) = α(t_k) − α(t_{k−1})``
by the recursive numerical integration of Armitage, McPherson & Rowe (1969) in the form of
Jennison & Turnbull (2000, ch. 19): ``Z_k√t_k`` is a Brownian motion in ``t``, the sub-density of
``Z_k`` on the continuation region is carried from look to look on their grid (``6r − 1`` points
per look, ``r = 18``, finer when two looks are close, with Simpson's rule), and each ``c_k`` is a
root of the crossing probability. Looks may be unequally spaced and need not be planned: the
spending function sets each boundary from the looks made so far (that is what Lan & DeMets'
spending is for).

**Interval and p-value** at look ``k``: the repeated confidence interval ``estimate ± c_k·se``
(Jennison & Turnbull ch. 9; it covers at every look simultaneously with probability ≥ 1 − α)
and the *repeated p-value* (ibid. ch. 9): the smallest ``α'`` at which the same design — the same
looks, the same spending family at level ``α'`` — would put ``|estimate/se|`` on or beyond its
boundary at this look. Boundaries fall as ``α'`` grows, so ``p < α`` exactly when the interval
excludes zero (ties at the last bit are broken by the interval, so the invariant is exact); it
is at least the nominal p and, unlike a rescaled nominal p, it is a p-value at every level, so
Holm's adjustment applies to it as is.

**Inflation factor**: the drift ``δ = E[Z at t = 1]`` that gives the target power (crossing
either boundary) under the design, over the fixed-horizon ``δ`` at the same α and power,
squared — the maximum sample size relative to the fixed design (the ratio ``R`` of Jennison &
Turnbull ch. 2). For four equally spaced looks at α = 0.05 and 80 % power it is about 1.02.

SciPy is imported inside the functions that need it (see ``stats/__init__.py``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from stats.inference import Inference

__all__ = [
    "GroupSequentialBounds",
    "GroupSequentialInference",
    "boundaries",
    "crossing_probabilities",
    "equally_spaced",
    "group_sequential_inference",
    "inflation_factor",
    "information_fraction",
    "obf_spending",
]

_R = 18  # Jennison & Turnbull's grid parameter (gsDesign's default)
_R_MAX = 200
_MAX_Z = 40.0  # P(|Z| > 40) < 1e-300: a boundary that no path reaches
_MIN_NEW_INFORMATION = 1e-3  # (t_k − t_{k−1}) / t_k below this: the same look twice
_P_FLOOR = 1e-300


@dataclass(frozen=True, slots=True)
class GroupSequentialBounds:
    """Two-sided boundaries of the design: reject at look ``k`` when ``|Z_k| ≥ z[k]``.

    ``nominal_alpha[k] = 2Φ(−z[k])`` is the fixed-sample p-value threshold at look ``k``;
    ``spent[k]`` is the cumulative two-sided α spent through look ``k`` (``α`` at a final look).
    """

    information_fractions: tuple[float, ...]
    alpha: float
    z: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    spent: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class GroupSequentialInference:
    """The current look of a group-sequential test (field names as :class:`Inference`)."""

    ci: tuple[float, float]
    p_value: float
    half_width: float
    z_boundary: float  # c_k: the interval is estimate ± c_k·se
    z: float  # estimate / se
    look: int  # 1-based number of this look
    information_fraction: float
    final: bool  # t = 1: the last of α is spent here
    nominal_alpha: float  # 2Φ(−c_k)
    alpha_spent: float  # cumulative two-sided α spent through this look
    alpha: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    def inference(self) -> Inference:
        """The plain :class:`Inference` the comparisons carry."""
        return Inference(self.ci, self.p_value, self.half_width)


def obf_spending(t: float, alpha: float) -> float:
    """Cumulative two-sided α spent by information fraction ``t``: ``4 − 4Φ(z_{α/4}/√t)``."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return _spend(t, alpha)


def _spend(t: float, alpha: float) -> float:
    """:func:`obf_spending` for any ``0 < α ≤ 1`` (the repeated p-value searches up to 1)."""
    from scipy.special import ndtr, ndtri

    if t <= 0:
        return 0.0
    if t >= 1:
        return alpha
    return float(4 * ndtr(ndtri(alpha / 4) / math.sqrt(t)))


def equally_spaced(looks: int) -> tuple[float, ...]:
    """Information fractions of ``looks`` equally spaced looks, the last at 1."""
    if looks < 1:
        raise ValueError("need at least one look")
    return tuple((i + 1) / looks for i in range(looks))


def information_fraction(customers: float, planned_customers: float) -> float:
    """``customers / planned_customers`` capped at 1 (a look at 1 is final)."""
    if planned_customers <= 0 or customers < 0:
        raise ValueError("need planned_customers > 0 and customers >= 0")
    return min(1.0, customers / planned_customers)


def _check_looks(information_fractions: Sequence[float]) -> tuple[float, ...]:
    ts = tuple(float(t) for t in information_fractions)
    if not ts:
        raise ValueError("need at least one look")
    if not all(math.isfinite(t) and 0 < t <= 1 for t in ts):
        raise ValueError("information fractions must lie in (0, 1]")
    for prev, t in itertools.pairwise(ts):
        if t <= prev:
            raise ValueError("information fractions must increase strictly")
        if (t - prev) / t < _MIN_NEW_INFORMATION:
            raise ValueError(
                f"looks at {prev:.6g} and {t:.6g} are less than {_MIN_NEW_INFORMATION:.1%} of"
                " the information apart: count them as one look"
            )
    return ts


def _grid_r(ts: tuple[float, ...]) -> int:
    """Grid fineness: the J&T default unless two looks are so close that the transition
    density (sd ``sqrt(Δt/t)`` on the Z scale) is narrow next to the grid spacing ``3/(2r)``."""
    if len(ts) < 2:
        return _R
    narrowest = min(math.sqrt((t - p) / t) for p, t in itertools.pairwise(ts))
    return int(min(_R_MAX, max(_R, math.ceil(6 / narrowest))))


# --- the recursion (Jennison & Turnbull 2000, §19.2–19.3) -------------------------------------


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _grid(mu: float, c: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """J&T's grid for a Z with mean ``mu``, cut to ``(−c, c)``, with Simpson weights."""
    i = np.arange(1, 6 * r, dtype=float)
    x = np.where(
        i < r,
        mu - 3 - 4 * np.log(r / i),
        np.where(i <= 5 * r, mu - 3 + 3 * (i - r) / (2 * r), mu + 3 + 4 * np.log(r / (6 * r - i))),
    )
    inside = x[(x > -c) & (x < c)]
    parts = [inside]
    if x[0] < -c:
        parts.insert(0, np.array([-c]))
    if x[-1] > c:
        parts.append(np.array([c]))
    x = np.concatenate(parts)
    if x.size < 2:  # the whole region lies between two grid points
        x = np.array([-c, c])
    d = np.diff(x)
    z = np.empty(2 * x.size - 1)
    z[0::2], z[1::2] = x, x[:-1] + d / 2
    w = np.zeros_like(z)
    w[0:-1:2] += d
    w[2::2] += d
    w[1::2] = 4 * d
    return z, w / 6


# State after look k: the grid of Z_k on (−c_k, c_k) and Simpson weight × sub-density there.
_State = tuple[np.ndarray, np.ndarray]


def _crossing(state: _State | None, t_prev: float, t: float, c: float, drift: float) -> float:
    """P(no crossing before this look, |Z| ≥ c at it) for ``Z(t)√t`` with drift ``drift·t``."""
    from scipy.special import ndtr

    if state is None:
        mu = drift * math.sqrt(t)
        return float(ndtr(mu - c) + ndtr(-c - mu))
    z_prev, mass = state
    s = math.sqrt(t - t_prev)
    mean = z_prev * math.sqrt(t_prev) + drift * (t - t_prev)
    edge = c * math.sqrt(t)
    return float(mass @ (ndtr((mean - edge) / s) + ndtr((-edge - mean) / s)))


def _advance(
    state: _State | None, t_prev: float, t: float, c: float, drift: float, r: int
) -> _State:
    mu = drift * math.sqrt(t)
    z, w = _grid(mu, c, r)
    if state is None:
        return z, w * _phi(z - mu)
    z_prev, mass = state
    s = math.sqrt(t - t_prev)
    mean = z_prev * math.sqrt(t_prev) + drift * (t - t_prev)
    kernel = _phi((z[:, None] * math.sqrt(t) - mean[None, :]) / s) * (math.sqrt(t) / s)
    return z, w * (kernel @ mass)


def _solve_boundary(cross: Callable[[float], float], increment: float, spent: float) -> float:
    """The ``c`` whose crossing probability is ``increment`` (``spent`` through this look).

    Bracket: ``2Φ(−c) ≤ P(cross) + spent_before`` and ``P(cross) ≤ 2Φ(−c)`` under the null give
    ``Φ⁻¹(1 − spent/2) ≤ c ≤ Φ⁻¹(1 − increment/2)``; solved on the log scale so that tiny early
    increments (1e-80 at t = 1 %) keep their relative accuracy.
    """
    from scipy.optimize import brentq
    from scipy.special import ndtri

    if increment <= 0:
        return _MAX_Z
    target = math.log(increment)

    def f(c: float) -> float:
        return math.log(max(cross(c), 1e-320)) - target

    lo = max(0.0, float(-ndtri(min(spent, 1.0) / 2)) - 0.1)
    hi = min(_MAX_Z, float(-ndtri(increment / 2)) + 0.1)
    if f(hi) >= 0:
        return hi
    if f(lo) <= 0:
        lo = 0.0
        if f(lo) <= 0:  # all that is left is spent here (a final look at α = 1)
            return 0.0
    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def _compute_bounds(ts: tuple[float, ...], alpha: float) -> GroupSequentialBounds:
    from scipy.special import ndtr

    r = _grid_r(ts)
    spent = [_spend(t, alpha) for t in ts]
    zs: list[float] = []
    state: _State | None = None
    t_prev, spent_prev = 0.0, 0.0
    for t, cum in zip(ts, spent):
        st, tp = state, t_prev

        def cross(c: float, st: _State | None = st, tp: float = tp, t: float = t) -> float:
            return _crossing(st, tp, t, c, 0.0)

        c = _solve_boundary(cross, cum - spent_prev, cum)
        zs.append(c)
        if t < ts[-1]:
            state = _advance(state, t_prev, t, c, 0.0, r)
        t_prev, spent_prev = t, cum
    nominal = tuple(float(2 * ndtr(-c)) for c in zs)
    return GroupSequentialBounds(ts, alpha, tuple(zs), nominal, tuple(spent))


@lru_cache(maxsize=512)
def _cached_bounds(ts: tuple[float, ...], alpha: float) -> GroupSequentialBounds:
    return _compute_bounds(ts, alpha)


def boundaries(
    information_fractions: Sequence[float], alpha: float = 0.05
) -> GroupSequentialBounds:
    """Boundaries for looks at the given information fractions (increasing, in (0, 1]).

    A look at 1 is final (it spends what is left of α); looks before it spend
    :func:`obf_spending`. Results are cached: the service asks for the same looks for every
    metric and variant of an analysis.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return _cached_bounds(_check_looks(information_fractions), float(alpha))


def crossing_probabilities(bounds: GroupSequentialBounds, drift: float = 0.0) -> tuple[float, ...]:
    """P(the test first crosses at look k) for each look, when ``E[Z at t = 1] = drift``.

    Under the null (``drift = 0``) their cumulative sums are ``bounds.spent``; with a drift
    their total is the power.
    """
    ts = bounds.information_fractions
    r = _grid_r(ts)
    out = []
    state: _State | None = None
    t_prev = 0.0
    for t, c in zip(ts, bounds.z):
        out.append(_crossing(state, t_prev, t, c, drift))
        if t < ts[-1]:
            state = _advance(state, t_prev, t, c, drift, r)
        t_prev = t
    return tuple(out)


def _drift_for_power(bounds: GroupSequentialBounds, power: float) -> float:
    from scipy.optimize import brentq

    return float(
        brentq(lambda d: sum(crossing_probabilities(bounds, d)) - power, 0.0, 20.0, xtol=1e-10)
    )


def inflation_factor(
    looks: int | Sequence[float], alpha: float = 0.05, power: float = 0.8
) -> float:
    """Maximum sample size of the design over the fixed-horizon sample size (same α, power).

    ``looks``: the number of equally spaced looks, or their information fractions ending at 1.
    Planning multiplies the fixed-horizon customers by this and states the looks it assumed.
    """
    if not 0 < power < 1:
        raise ValueError("power must be in (0, 1)")
    ts = equally_spaced(looks) if isinstance(looks, int) else _check_looks(looks)
    if ts[-1] != 1.0:
        raise ValueError("the planned looks must end at information fraction 1")
    return _inflation(ts, float(alpha), float(power))


@lru_cache(maxsize=64)
def _inflation(ts: tuple[float, ...], alpha: float, power: float) -> float:
    sequential = _drift_for_power(boundaries(ts, alpha), power)
    fixed = _drift_for_power(boundaries((1.0,), alpha), power)
    return (sequential / fixed) ** 2


# --- the current look ---------------------------------------------------------------------


def _repeated_p(abs_z: float, bounds: GroupSequentialBounds, significant: bool) -> float:
    """Smallest α' whose design (same looks) has ``c_k(α') ≤ |Z|`` at the current look.

    ``c_k(α')`` falls as ``α'`` grows and ``c_k(α') ≥ Φ⁻¹(1 − α'/2)`` (no look spends more than
    α'), so the root lies between the nominal p and α (significant) or α and 1 (not). It is
    searched for on the scale ``q = Φ⁻¹(1 − α'/2)``, on which ``c_k`` is nearly linear (a few
    evaluations of the design instead of a dozen on ``log α'``).
    """
    from scipy.optimize import brentq
    from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp

    ts, alpha = bounds.information_fractions, bounds.alpha
    if len(ts) == 1:  # c_1(α') = Φ⁻¹(1 − α_s(t)), α_s(t) = 2Φ(z_{α'/4}/√t): solved for α'
        z_quarter = ndtri_exp(float(log_ndtr(-abs_z)) - math.log(2))
        return min(1.0, max(_P_FLOOR, float(4 * ndtr(math.sqrt(ts[0]) * z_quarter))))
    q_alpha = float(-ndtri(alpha / 2))
    q_floor = float(-ndtri(_P_FLOOR / 2))
    known = {q_alpha: bounds.z[-1] - abs_z}

    def gap(q: float) -> float:  # increasing in q (α' = 2Φ(−q) falls, c_k rises)
        if q not in known:
            known[q] = _compute_bounds(ts, max(float(2 * ndtr(-q)), _P_FLOOR)).z[-1] - abs_z
        return known[q]

    if (gap(q_alpha) < 0) != significant or gap(q_alpha) == 0:
        return alpha  # |Z| at the boundary to the last bit: the caller's interval decides
    if significant:
        lo, hi = q_alpha, min(abs_z, q_floor)  # α' from α down to the nominal p
        if gap(hi) <= 0:  # c_k(p_nominal) = |Z| up to the integration's error: p is nominal
            return max(_P_FLOOR, float(2 * ndtr(-abs_z)))
    else:
        lo, hi = 0.0, q_alpha  # α' from 1 down to α
        if gap(lo) >= 0:
            return 1.0
    q = float(brentq(gap, lo, hi, xtol=1e-10))
    return min(1.0, max(_P_FLOOR, float(2 * ndtr(-q))))


def group_sequential_inference(
    estimate: float,
    se: float,
    *,
    alpha: float = 0.05,
    looks: Sequence[float] = (),
    fraction_now: float,
) -> GroupSequentialInference:
    """Repeated confidence interval and repeated p-value at the current look.

    ``looks``: information fractions of the earlier looks that counted (increasing, below
    ``fraction_now``, each below 1 — a look at 1 is final and nothing follows it);
    ``fraction_now``: this look's ``customers / planned customers`` (capped at 1).
    """
    if se <= 0 or not math.isfinite(se) or not math.isfinite(estimate):
        raise ValueError("need a finite estimate and a positive, finite se")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if not fraction_now > 0:
        raise ValueError("fraction_now must be positive: no customers, no look")
    t_now = min(1.0, float(fraction_now))
    earlier = tuple(float(t) for t in looks)
    if any(t >= t_now for t in earlier):
        raise ValueError(
            "earlier looks must come before this one (a look at information fraction 1 is"
            " final: there is no look after it)"
        )
    ts = (*earlier, t_now)
    bounds = boundaries(ts, alpha)
    c = bounds.z[-1]
    half = c * se
    ci = (estimate - half, estimate + half)
    excludes_zero = ci[0] > 0 or ci[1] < 0
    z = estimate / se
    p = _repeated_p(abs(z), bounds, excludes_zero)
    # The interval decides at the last bit, so `p < α` ⇔ the interval excludes 0 exactly.
    p = min(p, math.nextafter(alpha, 0.0)) if excludes_zero else max(p, alpha)
    return GroupSequentialInference(
        ci=ci,
        p_value=p,
        half_width=half,
        z_boundary=c,
        z=z,
        look=len(ts),
        information_fraction=t_now,
        final=t_now == 1.0,
        nominal_alpha=bounds.nominal_alpha[-1],
        alpha_spent=bounds.spent[-1],
        alpha=alpha,
    )
