"""Fieller's interval for a ratio of two jointly normal estimates, and for the relative lift.

Why not the delta method: ``Δ/m ± q·se(Δ/m)`` is symmetric while the sampling distribution of a
ratio is skewed, and — the reason it matters for a decision — it can disagree with the test of
the absolute lift it belongs to: with ``Cov(Δ, m) = −Var(m)`` its interval excludes zero when
``Δ² > q²·(v_Δ + Var(m)·r(r + 2))``, stricter than the absolute test for a positive lift and
looser for a negative one. A weekly review that says "significant" under one number and "not
significant" under the other is a review nobody can act on.

**Fieller** (1954, "Some problems in interval estimation", *JRSS B* 16) inverts the test of
``H0: Δ − r·m = 0``, which is exactly normal for every ``r`` (a linear combination of jointly
normal estimates): the confidence set is

    { r : (Δ − r·m)² ≤ q²·(v_Δ − 2r·c + r²·v_m) },   c = Cov(Δ, m),

i.e. ``A·r² − 2h·r + C ≤ 0`` with ``A = m² − q²·v_m``, ``h = Δ·m − q²·c``, ``C = Δ² − q²·v_Δ``.

* ``A > 0`` (``m`` significantly non-zero at the same ``q``): a finite interval containing
  ``Δ/m``, with end points ``(h ± sqrt(h² − A·C)) / A``.
* ``A ≤ 0``: the set is not a finite interval — two rays, a half-line, or the whole line
  (von Luxburg & Franz 2009, "A geometric approach to confidence sets for ratios: Fieller's
  theorem, generalizations, and bootstrap", *Statistica Sinica* 19). It is returned as such
  (:class:`FiellerSet`), never truncated into a fake interval.

**The invariant.** At ``r = 0`` the inequality reads ``Δ² ≤ q²·v_Δ``, so ``0`` lies outside
Fieller's set *exactly* when ``|Δ|/sqrt(v_Δ) > q``: when the absolute interval excludes 0, i.e.
when ``p < α`` — for any ``c`` and ``v_m``, bounded or not, provided ``q`` is the critical value
of the absolute test (Student t with Welch df for the fixed test, the group-sequential
boundary or the confidence-sequence multiplier for the sequential methods: the absolute
interval's half-width over its se; :func:`critical_value` gives it). The end points are
computed in the cancellation-free form (larger root ``s/A``, smaller ``C/s`` with
``s = h + sign(h)·sqrt(h² − A·C)``), so the sign of each end point follows the sign of ``C``
exactly and the invariant survives floating point.

For the relative lift ``r = Δ/m`` with ``m = ȳc``: plain Welch ``c = −Var(ȳc)``; CUPED
(``Δ = ȳt − ȳc − θ(x̄t − x̄c)``, θ treated as fixed) ``c = −(s²_yc − θ·cov_c(x, y))/nc``. A
non-positive holdout mean has no relative lift (``None``; never a sign-flipped number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

from stats.inference import InferenceOptions, infer

__all__ = [
    "FiellerSet",
    "LiftSpread",
    "RelativeInterval",
    "RelativeStatus",
    "critical_value",
    "delta_method_relative_interval",
    "fieller_set",
    "relative_lift_interval",
]

RelativeStatus = Literal["ok", "unbounded", "nonpositive_baseline"]
_INF = math.inf


@dataclass(frozen=True, slots=True)
class FiellerSet:
    """The confidence set of a ratio, as a union of closed intervals (ends may be ±inf).

    ``kind`` is ``interval`` (one finite interval), ``two_rays`` (``(−inf, a] ∪ [b, inf)``),
    ``half_line``, ``everything`` or ``empty`` (the last only in a measure-zero degenerate case).
    """

    kind: Literal["interval", "two_rays", "half_line", "everything", "empty"]
    pieces: tuple[tuple[float, float], ...]

    @property
    def bounded(self) -> bool:
        return self.kind == "interval"

    def contains(self, value: float) -> bool:
        return any(lo <= value <= hi for lo, hi in self.pieces)


class LiftSpread(TypedDict):
    """The keyword arguments of every relative-lift interval besides ``delta`` and ``baseline``.

    ``var_delta`` is the variance of the (possibly CUPED-adjusted) absolute lift (the absolute
    test's ``se²``), ``var_baseline`` that of the holdout mean, ``covariance`` their covariance
    and ``q`` the absolute test's critical value (see :func:`critical_value`).
    """

    var_delta: float
    var_baseline: float
    covariance: float
    q: float


@dataclass(frozen=True, slots=True)
class RelativeInterval:
    """Relative lift ``Δ/m`` with its interval.

    ``ci`` is set only for ``status == "ok"``. ``excludes_zero`` — whether 0 lies outside the
    confidence set — is defined whenever the baseline is positive, bounded or not; for Fieller
    it equals the absolute test's verdict. ``fieller`` is the full set (``None`` for the delta
    method or a non-positive baseline).
    """

    status: RelativeStatus
    message: str | None
    estimate: float | None
    ci: tuple[float, float] | None
    excludes_zero: bool | None
    q: float
    method: Literal["fieller", "delta"] = "fieller"
    fieller: FiellerSet | None = None


def critical_value(alpha: float, **options: Unpack[InferenceOptions]) -> float:
    """The multiplier ``q`` of the absolute test: its half-width is ``q·se``.

    Taken from :func:`stats.inference.infer` at ``se = 1`` so that it is *the same* number the
    absolute interval uses (Student t with ``df``, normal without, or the sequential boundary
    at ``n`` customers, ``planned_customers`` and earlier ``looks``; ``options`` as for
    :func:`~stats.inference.infer`, with its defaults) — the condition for the invariant.
    Inside ``compare`` the same number is ``absolute.half_width / se``.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return infer(0.0, 1.0, alpha=alpha, **options).half_width


def _check_spread(delta: float, baseline: float, spread: LiftSpread) -> None:
    """What a signature spelling out the four keywords would check (all four given, no other
    keyword), then :func:`_check`."""
    if spread.keys() != LiftSpread.__required_keys__:
        expected = ", ".join(sorted(LiftSpread.__required_keys__))
        raise TypeError(f"need exactly the keyword arguments {expected}, got {sorted(spread)}")
    variances = (spread["var_delta"], spread["var_baseline"])
    _check(spread["q"], variances, spread["covariance"], delta, baseline)


def _check(q: float, variances: tuple[float, ...], covariance: float, *values: float) -> None:
    if not (math.isfinite(q) and q > 0):
        raise ValueError("q must be positive and finite")
    if not all(math.isfinite(v) for v in (*variances, covariance, *values)):
        raise ValueError("estimates, variances and covariance must be finite")
    if any(v < 0 for v in variances):
        raise ValueError("variances must be >= 0")
    v_num, v_den = variances
    # A covariance matrix is positive semi-definite; allow for round-off (a CUPED variance
    # clipped at 0), reject what cannot be one (a standard error passed for a variance, say).
    if abs(covariance) > math.sqrt(v_num * v_den) * (1 + 1e-6) + 1e-9 * (v_num + v_den):
        raise ValueError("|covariance| exceeds sqrt(var_numerator * var_denominator)")


def fieller_set(
    numerator: float,
    denominator: float,
    *,
    var_numerator: float,
    var_denominator: float,
    covariance: float,
    q: float,
) -> FiellerSet:
    """Fieller's confidence set for ``numerator / denominator`` at critical value ``q``.

    General form (any sign of the denominator): see the module docstring for the quadratic.
    """
    _check(q, (var_numerator, var_denominator), covariance, numerator, denominator)
    q2 = q * q
    a = denominator**2 - q2 * var_denominator
    h = numerator * denominator - q2 * covariance
    c = numerator**2 - q2 * var_numerator
    # h² − a·c, expanded so that the Δ²m² terms cancel symbolically, not numerically:
    # q²·[m²·v_Δ − 2Δm·c + Δ²·v_m − q²·(v_Δ·v_m − c²)].
    disc = q2 * (
        denominator**2 * var_numerator
        - 2 * numerator * denominator * covariance
        + numerator**2 * var_denominator
        - q2 * (var_numerator * var_denominator - covariance**2)
    )
    if a == 0.0:  # linear: −2h·r + c ≤ 0
        if h > 0:
            return FiellerSet("half_line", ((c / (2 * h), _INF),))
        if h < 0:
            return FiellerSet("half_line", ((-_INF, c / (2 * h)),))
        return FiellerSet("everything", ((-_INF, _INF),)) if c <= 0 else FiellerSet("empty", ())
    if a > 0:
        disc = max(disc, 0.0)  # ≥ 0 in exact arithmetic: Δ/m itself is in the set
    elif disc < 0:  # a < 0 and no real roots: the quadratic is negative everywhere
        return FiellerSet("everything", ((-_INF, _INF),))
    s = h + math.copysign(math.sqrt(disc), h)
    if s == 0.0:  # h = 0 and disc = 0, so c = 0: a double root at 0
        r1 = r2 = 0.0
    else:
        r1, r2 = s / a, c / s
    lo, hi = min(r1, r2), max(r1, r2)
    if a > 0:
        return FiellerSet("interval", ((lo, hi),))
    return FiellerSet("two_rays", ((-_INF, lo), (hi, _INF)))


def _nonpositive(
    baseline: float, q: float, method: Literal["fieller", "delta"]
) -> RelativeInterval:
    return RelativeInterval(
        "nonpositive_baseline",
        f"The holdout mean is {baseline:.4g}, not positive, so a relative lift is undefined (a"
        " ratio over it would flip or lose its sign); the absolute lift is reported.",
        None,
        None,
        None,
        q,
        method,
    )


def relative_lift_interval(
    delta: float, baseline: float, **spread: Unpack[LiftSpread]
) -> RelativeInterval:
    """Fieller interval for the relative lift ``delta / baseline``.

    ``delta`` is the (possibly CUPED-adjusted) absolute lift with variance ``var_delta`` (the
    absolute test's ``se²``), ``baseline`` the holdout mean with variance ``var_baseline``,
    ``covariance = Cov(delta, baseline)`` and ``q`` the absolute test's critical value (see
    :func:`critical_value`), all four keyword-only (:class:`LiftSpread`). Status ``unbounded``
    when the holdout mean is not significantly different from zero at ``q``: the set is then
    not a finite interval and ``ci`` is ``None``.
    """
    _check_spread(delta, baseline, spread)
    q = spread["q"]
    if baseline <= 0:
        return _nonpositive(baseline, q, "fieller")
    region = fieller_set(
        delta,
        baseline,
        var_numerator=spread["var_delta"],
        var_denominator=spread["var_baseline"],
        covariance=spread["covariance"],
        q=q,
    )
    excludes_zero = not region.contains(0.0)
    estimate = delta / baseline
    if region.bounded:
        return RelativeInterval(
            "ok", None, estimate, region.pieces[0], excludes_zero, q, "fieller", region
        )
    z_baseline = baseline / math.sqrt(spread["var_baseline"])
    return RelativeInterval(
        "unbounded",
        f"The holdout mean is not clearly above zero at this confidence level ({baseline:.4g},"
        f" {z_baseline:.2f} standard errors, needs more than {q:.2f}), so the relative lift has"
        " no finite confidence interval (Fieller); read the absolute lift.",
        estimate,
        None,
        excludes_zero,
        q,
        "fieller",
        region,
    )


def delta_method_relative_interval(
    delta: float, baseline: float, **spread: Unpack[LiftSpread]
) -> RelativeInterval:
    """Fallback only: the first-order (delta-method) interval ``Δ/m ± q·se``.

    ``se² = v_Δ/m² + Δ²·v_m/m⁴ − 2Δ·c/m³`` — the formula ``stats.compare`` used before
    Fieller. Kept for callers that need a finite, symmetric number when Fieller's set is
    unbounded, or to show what changed; it does **not** keep the invariant with the absolute
    test (see the module docstring) and should not drive a decision.
    """
    _check_spread(delta, baseline, spread)
    q = spread["q"]
    if baseline <= 0:
        return _nonpositive(baseline, q, "delta")
    r = delta / baseline
    var = (
        spread["var_delta"] / baseline**2
        + delta**2 * spread["var_baseline"] / baseline**4
        - 2 * delta * spread["covariance"] / baseline**3
    )
    half = q * math.sqrt(max(var, 0.0))
    ci = (r - half, r + half)
    return RelativeInterval("ok", None, r, ci, not ci[0] <= 0.0 <= ci[1], q, "delta")
