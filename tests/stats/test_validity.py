"""Sufficient statistics that cannot be real are named rule by rule; real ones pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stats.validity import MAX_CUSTOMERS, check_sufficient


def _sums(y: np.ndarray) -> tuple[int, float, float]:
    return len(y), float(y.sum()), float((y**2).sum())


def _covariate(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {
        "covariate_sum": float(x.sum()),
        "covariate_sum_squares": float((x**2).sum()),
        "cross_sum": float((x * y).sum()),
    }


def _one(problems: list[str], *words: str) -> None:
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0], (word, problems[0])


def test_negative_variance() -> None:
    # 10 customers summing to 30 have Σy² ≥ 30²/10 = 90.
    _one(check_sufficient(10, 30.0, 50.0, binary=False), "variance would be negative", "90")
    assert check_sufficient(10, 30.0, 90.0, binary=False) == []  # all equal to 3: fine


def test_rounding_is_not_a_violation_but_more_is() -> None:
    n, s = 1_000_000, 100_000.0  # every customer 0.1: Σy² = s²/n = 10,000 exactly in reals
    assert check_sufficient(n, s, 10_000.0 * (1 - 1e-12), binary=False) == []
    _one(check_sufficient(n, s, 10_000.0 * (1 - 1e-7), binary=False), "variance")


def test_negative_sum_of_squares() -> None:
    _one(check_sufficient(10, -3.0, -5.0, binary=False), "is negative")


def test_binary_sum_squares_must_equal_sum() -> None:
    _one(check_sufficient(1000, 50.0, 60.0, binary=True), "y² = y", "60", "50")
    # Σy² < Σy with a positive variance is still not binary data.
    _one(check_sufficient(1000, 50.0, 45.0, binary=True), "sum_squares must equal sum")


@pytest.mark.parametrize("total", [-1.0, 1001.0])
def test_binary_sum_outside_0_n(total: float) -> None:
    problems = check_sufficient(1000, total, abs(total), binary=True)
    assert any("lies in [0, n]" in p for p in problems), problems


def test_binary_sum_must_be_a_count() -> None:
    # A conversion rate posted where the number of conversions belongs.
    _one(check_sufficient(1000, 0.05, 0.05, binary=True), "whole number", "rate posted")


def test_cauchy_schwarz_of_the_covariate() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=500), rng.normal(size=500)
    n, s, ss = _sums(y)
    good = _covariate(x, y)
    assert check_sufficient(n, s, ss, binary=False, **good) == []
    bad = {**good, "cross_sum": good["cross_sum"] + 2 * math.sqrt(500 * 500)}
    _one(check_sufficient(n, s, ss, binary=False, **bad), "Cauchy–Schwarz", "cross_sum")


def test_covariate_variance_rules_apply_too() -> None:
    problems = check_sufficient(
        10,
        30.0,
        100.0,
        binary=False,
        covariate_sum=30.0,
        covariate_sum_squares=50.0,
        cross_sum=90.0,
    )
    assert any("covariate_sum_squares" in p and "negative" in p for p in problems), problems


def test_covariate_sums_come_together() -> None:
    _one(check_sufficient(10, 3.0, 3.0, binary=True, covariate_sum=2.0), "come together")


def test_n_above_max_customers() -> None:
    _one(check_sufficient(MAX_CUSTOMERS + 1, 1.0, 1.0, binary=True), "above", "1,000,000,000,000")
    assert MAX_CUSTOMERS == 10**12
    assert check_sufficient(MAX_CUSTOMERS, 1.0, 1.0, binary=True) == []


@pytest.mark.parametrize("n", [-1, 2.5, math.nan])
def test_n_must_be_a_whole_number(n: float) -> None:
    _one(check_sufficient(n, 0.0, 0.0, binary=False), "whole number >= 0")


def test_non_finite_sums() -> None:
    _one(check_sufficient(10, math.inf, 5.0, binary=False), "finite", "sum")


def test_no_customers_no_sums() -> None:
    assert check_sufficient(0, 0.0, 0.0, binary=True) == []
    _one(check_sufficient(0, 1.0, 1.0, binary=True), "No customers", "sum, sum_squares")


def test_every_broken_rule_is_named() -> None:
    problems = check_sufficient(100, 120.0, 30.0, binary=True)
    text = " ".join(problems)
    assert "variance would be negative" in text
    assert "lies in [0, n]" in text
    assert "sum_squares must equal sum" in text


def test_real_data_passes() -> None:
    rng = np.random.default_rng(2026)
    for _ in range(200):
        n = int(rng.integers(1, 5000))
        kind = rng.integers(0, 4)
        if kind == 0:  # binary
            y = (rng.random(n) < rng.uniform(0, 0.3)).astype(float)
        elif kind == 1:  # zero-inflated revenue
            y = (rng.random(n) < 0.1) * rng.lognormal(3, 1.5, n)
        elif kind == 2:  # refunds: negative values
            y = rng.normal(-5, 50, n)
        else:  # huge values with a tiny spread: the hardest case for Σy² − (Σy)²/n
            y = 1e6 + rng.normal(0, 1e-3, n)
        x = 0.7 * y + rng.normal(0, 1, n) * y.std()
        n_, s, ss = _sums(y)
        assert check_sufficient(n_, s, ss, binary=kind == 0, **_covariate(x, y)) == [], kind
        # perfectly (anti-)correlated covariates sit exactly on the Cauchy–Schwarz bound
        for z in (y, -2 * y):
            assert check_sufficient(n_, s, ss, binary=kind == 0, **_covariate(z, y)) == []


def test_sequential_float_sums_pass() -> None:
    """A warehouse adds doubles one at a time, not pairwise as numpy does."""
    rng = np.random.default_rng(5)
    y = 0.1 * np.ones(200_000)  # zero variance: rounding is all there is
    x = rng.lognormal(0, 1, 200_000)
    s = ss = sx = sxx = sxy = 0.0
    for a, b in zip(y.tolist(), x.tolist()):
        s += a
        ss += a * a
        sx += b
        sxx += b * b
        sxy += a * b
    problems = check_sufficient(
        len(y), s, ss, binary=False, covariate_sum=sx, covariate_sum_squares=sxx, cross_sum=sxy
    )
    assert problems == []
