"""One consistent answer: for every method, on thousands of random comparisons, the relative
interval excludes 0 ⇔ the absolute interval excludes 0 ⇔ p < α (issue 14's invariant)."""

from __future__ import annotations

import numpy as np
import pytest

from stats import METHODS, CovariateSample, Method, SampleMean, compare

CASES = 5000


def _excludes_zero(ci: tuple[float, float]) -> bool:
    return ci[0] > 0 or ci[1] < 0


def _moments(n: int, mean: float, sd: float) -> SampleMean:
    """Sufficient statistics of ``n`` values with this mean and sd (ddof = 1)."""
    return SampleMean(n, n * mean, (n - 1) * sd**2 + n * mean**2)


def _random_arms(
    rng: np.random.Generator,
) -> tuple[SampleMean | CovariateSample, SampleMean | CovariateSample, str]:
    """Binary (rare to common), skewed revenue-like means, and CUPED arms; 10 % or 50 %
    holdouts; holdout means near zero too (unbounded Fieller sets)."""
    shape = rng.integers(3)
    n_c = int(rng.choice([200, 2_000, 20_000, 200_000]))
    n_t = int(n_c * rng.choice([1, 9]))
    if shape == 0:
        p_c = rng.choice([0.0005, 0.005, 0.05, 0.3])
        p_t = min(p_c * rng.uniform(0.5, 1.6), 0.99)
        xc, xt = rng.binomial(n_c, p_c), rng.binomial(n_t, p_t)
        return SampleMean(n_c, xc, xc), SampleMean(n_t, xt, xt), "binary"
    mean_c = rng.choice([0.01, 0.5, 3.0]) * rng.uniform(0.2, 2)
    sd = mean_c * rng.uniform(1, 15)  # skewed: sd far above the mean
    control = _moments(n_c, mean_c, sd)
    treatment = _moments(n_t, mean_c * rng.uniform(0.8, 1.3), sd * rng.uniform(0.8, 1.2))
    if shape == 1:
        return control, treatment, "mean"
    arms = []
    for y in (control, treatment):
        x = _moments(y.n, 5.0, 2.0)
        rho = rng.uniform(-0.9, 0.9)
        cross = (y.n - 1) * rho * 2.0 * y.sd + x.sum * y.sum / y.n
        arms.append(CovariateSample(y, x, cross))
    return arms[0], arms[1], "mean"


@pytest.mark.parametrize("method", METHODS)
def test_relative_and_absolute_intervals_agree_with_the_p_value(method: Method) -> None:
    rng = np.random.default_rng(hash(method) % 2**32)
    fractions = (0.25, 0.5, 0.75, 1.0)
    checked = 0
    tests: dict[str, int] = {"fisher_exact": 0}
    for _ in range(CASES):
        control, treatment, kind = _random_arms(rng)
        look = int(rng.integers(4))
        planned = (control.n + treatment.n) / fractions[look]
        c = compare(control, treatment, kind=kind, method=method, planned_customers=planned,  # type: ignore[arg-type]
                    looks=fractions[:look])  # fmt: skip
        if c.p_value is None or c.absolute_ci is None:
            continue
        tests[c.test] = tests.get(c.test, 0) + 1
        significant = c.p_value < c.alpha
        assert _excludes_zero(c.absolute_ci) == significant, (c, method)
        if c.relative_ci is not None:
            assert _excludes_zero(c.relative_ci) == significant, (c, method)
        checked += 1
    assert checked > 0.9 * CASES
    if method == "fixed":  # the exact path for rare events was exercised too
        assert tests["fisher_exact"] > 100, tests
