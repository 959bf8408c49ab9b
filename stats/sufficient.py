"""Sufficient statistics of one arm and one metric.

Everything in :mod:`stats` works on these numbers per arm (``n``, ``Σy``, ``Σy²``, and for CUPED
``Σx``, ``Σx²``, ``Σxy`` of the pre-period covariate) so that the service can aggregate in SQL
and a warehouse can post the same sums to ``/v1/analyze``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CovariateSample", "SampleMean"]


@dataclass(frozen=True, slots=True)
class SampleMean:
    """Per-arm sufficient statistics of a metric: count, sum and sum of squares.

    ``variance`` is the unbiased sample variance (``ddof=1``), the one Welch's test uses. For a
    0/1 metric ``sum_squares == sum`` and ``population_variance`` is ``p(1-p)``.
    """

    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def population_variance(self) -> float:
        """Variance with ``ddof=0``; clipped at 0 against floating-point round-off."""
        if self.n == 0:
            return 0.0
        return max(self.sum_squares / self.n - self.mean**2, 0.0)

    @property
    def variance(self) -> float:
        """Unbiased sample variance (``ddof=1``); 0 when fewer than two observations."""
        if self.n < 2:
            return 0.0
        return max((self.sum_squares - self.n * self.mean**2) / (self.n - 1), 0.0)

    @property
    def sd(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: SampleMean) -> SampleMean:
        return SampleMean(
            self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares
        )


@dataclass(frozen=True, slots=True)
class CovariateSample:
    """An arm's outcome ``y`` with its pre-period covariate ``x`` over the same customers.

    ``cross_sum`` is ``Σxy``. Customers without pre-period activity have ``x = 0``.
    """

    outcome: SampleMean
    covariate: SampleMean
    cross_sum: float

    def __post_init__(self) -> None:
        if self.outcome.n != self.covariate.n:
            raise ValueError("outcome and covariate must cover the same customers")

    @property
    def n(self) -> int:
        return self.outcome.n

    @property
    def covariance(self) -> float:
        """Sample covariance of x and y (``ddof=1``)."""
        n = self.n
        if n < 2:
            return 0.0
        return (self.cross_sum - n * self.outcome.mean * self.covariate.mean) / (n - 1)

    def __add__(self, other: CovariateSample) -> CovariateSample:
        return CovariateSample(
            self.outcome + other.outcome,
            self.covariate + other.covariate,
            self.cross_sum + other.cross_sum,
        )
