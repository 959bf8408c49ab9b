"""Comparison of one variant against the holdout on one metric.

The absolute lift ``Δ = μt − μc`` gets the unpooled (Welch) standard error
``sqrt(st²/nt + sc²/nc)`` with sample variances (``ddof=1``); the fixed-horizon test is Welch's t
with Welch–Satterthwaite degrees of freedom, for every metric kind. A 0/1 metric is a mean like
any other; at pilot sizes Welch's t and the two-proportion Wald z agree to many digits, and one
method keeps binary, count and sum metrics consistent (and equal to statsmodels'
``CompareMeans.ttest_ind(usevar="unequal")`` on the raw data).

The relative lift ``Δ/μc`` gets **Fieller's interval** at the absolute test's own critical value
(:mod:`stats.fieller`), so it excludes 0 exactly when the absolute interval does and ``p < α``;
when the holdout mean is not clearly above zero the set is unbounded and ``relative_ci`` is
``None`` (``relative_status`` says why), and a holdout mean ≤ 0 has no relative lift at all
(never a sign-flipped number). ``relative_se`` is the delta-method standard error
``st²/(μc²·nt) + sc²·μt²/(μc⁴·nc)``, reported for reference only.

**CUPED** (Deng, Xu, Kohavi & Walker 2013), when both arms carry the pre-period covariate ``x``
and it varies: ``θ = cov(x, y) / var(x)`` pooled over the two arms, ``Δ = (ȳt − ȳc) − θ(x̄t − x̄c)``
with per-arm variance ``var(y) − 2θ·cov(x, y) + θ²·var(x)``. The relative lift is ``Δ / ȳc`` over
the *unadjusted* control mean, with ``Cov(Δ, ȳc) = −(sc² − θ·cov_c)/nc`` in Fieller's set.
``variance_reduction`` is ``1 − se²(CUPED) / se²(plain)``.

Intervals and p-values come from :func:`stats.inference.infer`: fixed-horizon, group-sequential
or always-valid. **Rare events** (a binary or count metric with fewer than 10 events in an arm,
fixed-horizon): the exact test of :mod:`stats.exact` (Fisher's, or the conditional Poisson test)
gives the p-value, and the interval is Miettinen's test-based one, ``Δ ± z·|Δ|/z_p``, so it
still excludes 0 exactly when ``p < α``.
Undefined cases are not exceptions: they come back with a ``status`` and a sentence.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from stats.exact import is_rare, rare_event_test
from stats.fieller import RelativeStatus, relative_lift_interval
from stats.inference import Inference, Method, infer
from stats.sufficient import CovariateSample, SampleMean

__all__ = [
    "CompareOptions",
    "Comparison",
    "ComparisonStatus",
    "MetricKind",
    "TestName",
    "compare",
]

MetricKind = Literal["binary", "count", "mean"]
ComparisonStatus = Literal["ok", "insufficient_data", "zero_variance", "zero_baseline"]
TestName = Literal[
    "welch_t", "group_sequential", "confidence_sequence", "fisher_exact", "poisson_conditional"
]
Arm = SampleMean | CovariateSample


class CompareOptions(TypedDict, total=False):
    """How :func:`compare` draws its interval, for a function that passes them on to it
    unchanged (``**options``); an option left out takes :func:`compare`'s default."""

    method: Method
    planned_customers: float | None
    cuped: bool
    looks: Sequence[float]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment vs control on one metric. ``None`` marks a number that is undefined."""

    status: ComparisonStatus
    message: str | None
    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_se: float | None
    absolute_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_se: float | None
    relative_ci: tuple[float, float] | None
    p_value: float | None
    test: TestName
    alpha: float
    method: Method = "fixed"
    cuped: bool = False
    variance_reduction: float | None = None
    theta: float | None = None
    relative_status: RelativeStatus = "ok"


@dataclass(frozen=True, slots=True)
class _Estimate:
    diff: float
    var_t: float  # per-customer variance of the (adjusted) outcome, treatment
    var_c: float
    rel_cov_term: float  # Cov(Δ, ȳc) · nc, for the relative delta method
    theta: float | None
    variance_reduction: float | None


def _welch_df(var_t: float, n_t: int, var_c: float, n_c: int) -> float:
    a, b = var_t / n_t, var_c / n_c
    if a == 0 or b == 0:  # one arm constant: all uncertainty is the other arm's
        return float(n_c - 1 if a == 0 else n_t - 1)
    return (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))


def _outcome(arm: Arm) -> SampleMean:
    return arm.outcome if isinstance(arm, CovariateSample) else arm


def _plain(control: SampleMean, treatment: SampleMean) -> _Estimate:
    return _Estimate(
        treatment.mean - control.mean,
        treatment.variance,
        control.variance,
        -control.variance,
        None,
        None,
    )


def _cuped(control: CovariateSample, treatment: CovariateSample) -> _Estimate | None:
    pooled = control + treatment
    var_x = pooled.covariate.variance
    if var_x <= 0:
        return None
    theta = pooled.covariance / var_x

    def adjusted_variance(arm: CovariateSample) -> float:
        v = arm.outcome.variance - 2 * theta * arm.covariance + theta**2 * arm.covariate.variance
        return max(v, 0.0)

    plain = _plain(control.outcome, treatment.outcome)
    var_t, var_c = adjusted_variance(treatment), adjusted_variance(control)
    nt, nc = treatment.n, control.n
    se2_plain = plain.var_t / nt + plain.var_c / nc
    se2 = var_t / nt + var_c / nc
    return _Estimate(
        plain.diff - theta * (treatment.covariate.mean - control.covariate.mean),
        var_t,
        var_c,
        -(control.outcome.variance - theta * control.covariance),
        theta,
        1 - se2 / se2_plain if se2_plain > 0 else None,
    )


def _undefined(
    status: ComparisonStatus, message: str, yc: SampleMean, yt: SampleMean, alpha: float,
    method: Method,
) -> Comparison:  # fmt: skip
    return Comparison(
        status=status, message=message, control_mean=yc.mean, treatment_mean=yt.mean,
        absolute_lift=yt.mean - yc.mean, absolute_se=None, absolute_ci=None, relative_lift=None,
        relative_se=None, relative_ci=None, p_value=None, test=_TESTS[method], alpha=alpha,
        method=method,
    )  # fmt: skip


_TESTS: dict[Method, TestName] = {
    "fixed": "welch_t",
    "sequential": "group_sequential",
    "always_valid": "confidence_sequence",
}


def compare(
    control: Arm,
    treatment: Arm,
    *,
    kind: MetricKind,
    alpha: float = 0.05,
    method: Method = "fixed",
    planned_customers: float | None = None,
    cuped: bool = True,
    looks: Sequence[float] = (),
) -> Comparison:
    """Compare ``treatment`` with ``control`` at level ``alpha`` (two-sided).

    CUPED is applied when ``cuped`` is true, both arms are :class:`CovariateSample` and the
    covariate varies; otherwise the plain estimate is used (and ``message`` says why, when
    CUPED was asked for and possible in principle). ``kind`` documents the metric; binary and
    mean metrics share one estimator. ``planned_customers`` and ``looks`` (information
    fractions of earlier looks) serve the sequential methods.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if kind not in ("binary", "count", "mean"):
        raise ValueError(f"unknown metric kind {kind!r}")
    yc, yt = _outcome(control), _outcome(treatment)
    if yc.n < 2 or yt.n < 2:
        return _undefined(
            "insufficient_data",
            f"Not enough customers to compare yet (holdout {yc.n}, variant {yt.n};"
            " at least 2 in each are needed).",
            yc, yt, alpha, method,
        )  # fmt: skip
    estimate: _Estimate | None = None
    note = None
    if cuped and isinstance(control, CovariateSample) and isinstance(treatment, CovariateSample):
        estimate = _cuped(control, treatment)
        if estimate is None:
            note = (
                "CUPED was not applied: the pre-period covariate has no variance (for example,"
                " no customer converted before assignment)."
            )
    if estimate is None:
        estimate = _plain(yc, yt)
    nt, nc = yt.n, yc.n
    se = math.sqrt(estimate.var_t / nt + estimate.var_c / nc)
    if se == 0.0:
        return _undefined(
            "zero_variance",
            "Every customer has the same value in both groups, so there is no uncertainty to"
            " test against; wait for more conversions.",
            yc, yt, alpha, method,
        )  # fmt: skip
    df = _welch_df(estimate.var_t, nt, estimate.var_c, nc) if method == "fixed" else None
    absolute = infer(
        estimate.diff, se, alpha=alpha, method=method, n=nt + nc,
        planned_customers=planned_customers, df=df, looks=looks,
    )  # fmt: skip
    test = _TESTS[method]
    scale = 1.0  # of the (co)variances in Fieller's set: the test-based se's for rare events
    if method == "fixed" and kind != "mean" and is_rare(yc.sum, yt.sum):
        welch_se = se
        absolute, se, test = _exact(yc, yt, kind, estimate.diff, absolute, alpha)
        scale = (se / welch_se) ** 2
    # The relative interval inverts the same test (Fieller), so it excludes 0 exactly when the
    # absolute interval does and p < α.
    relative = relative_lift_interval(
        estimate.diff, yc.mean, var_delta=se**2, var_baseline=scale * yc.variance / nc,
        covariance=scale * estimate.rel_cov_term / nc, q=absolute.half_width / se,
    )  # fmt: skip
    status: ComparisonStatus = "ok"
    message = note
    if yc.mean == 0.0:
        status = "zero_baseline"
        message = (
            "The holdout has no conversions yet, so a relative lift is undefined; the absolute"
            " lift is reported."
        )
    elif relative.status != "ok":
        message = relative.message
    return Comparison(
        status=status,
        message=message,
        control_mean=yc.mean,
        treatment_mean=yt.mean,
        absolute_lift=estimate.diff,
        absolute_se=se,
        absolute_ci=absolute.ci,
        relative_lift=relative.estimate if relative.status != "nonpositive_baseline" else None,
        relative_se=_delta_method_se(estimate, se, yc) if yc.mean > 0 else None,
        relative_ci=relative.ci,
        p_value=absolute.p_value,
        test=test,
        alpha=alpha,
        method=method,
        cuped=estimate.theta is not None,
        variance_reduction=estimate.variance_reduction,
        theta=estimate.theta,
        relative_status=relative.status,
    )


def _exact(
    yc: SampleMean, yt: SampleMean, kind: MetricKind, diff: float, welch: Inference, alpha: float
) -> tuple[Inference, float, TestName]:
    """Rare events (fewer than 10 in an arm): the exact test's p-value (Fisher's for a binary
    metric, the conditional Poisson test for a count), with Miettinen's (1976) test-based
    interval ``Δ ± z_{α/2}·|Δ|/z_p``, so the interval excludes 0 exactly when ``p < α``.
    Returns the inference, the standard error it implies, and the test's name."""
    from scipy.stats import norm  # on first use: see stats/__init__.py

    kind_exact: Literal["binary", "count"] = "binary" if kind == "binary" else "count"
    exact = rare_event_test(yc.sum, yc.n, yt.sum, yt.n, kind=kind_exact)
    p = min(max(exact.p_value, 0.0), 1.0)
    z_alpha = float(norm.isf(alpha / 2))
    # isf keeps its precision for tiny p (1 − p/2 rounds to 1 below 1e-16); p = 0 would be
    # an infinite z, so it is floored at the smallest normal double.
    z_p = float(norm.isf(max(p, sys.float_info.min) / 2)) if p < 1 else 0.0
    if z_p > 0 and diff != 0:
        se = abs(diff) / z_p
        half = z_alpha * se
    else:  # p = 1: no evidence; an interval that contains 0, at least Welch's width
        half = max(welch.half_width, abs(diff))
        se = half / z_alpha
    return Inference((diff - half, diff + half), p, half), se, exact.test


def _delta_method_se(estimate: _Estimate, se: float, yc: SampleMean) -> float:
    """The relative lift's first-order standard error (reported; the interval is Fieller's)."""
    mu_c, d, nc = yc.mean, estimate.diff, yc.n
    var = (
        se**2 / mu_c**2
        + d**2 * yc.variance / (nc * mu_c**4)
        - 2 * d * estimate.rel_cov_term / (nc * mu_c**3)
    )
    return math.sqrt(max(var, 0.0))
