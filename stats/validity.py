"""Sufficient statistics that cannot come from real data, named rule by rule.

``/v1/analyze`` accepts per-arm sums from a warehouse, and ``SampleMean.variance`` clips a
negative variance to 0 without a word: a wrong ``Σy²`` (a sum posted twice, a column swapped, a
rate posted instead of a count) would come back as a confident, wrong lift. Every rule below is
an identity of real numbers, so a violation beyond floating-point rounding is proof that the
numbers are not sums over ``n`` customers:

* ``n`` is a whole number in ``[0, MAX_CUSTOMERS]`` (10¹²: over a hundred times the world's
  population; a larger count is a unit or overflow error), and every sum is finite;
* ``Σy² ≥ 0``, and ``Σy² ≥ (Σy)²/n`` (Cauchy–Schwarz: the variance ``Σy²/n − ȳ²`` is ≥ 0);
* a binary metric: ``Σy`` counts customers, so it is a whole number in ``[0, n]``, and
  ``Σy² = Σy`` (``y² = y`` for 0/1);
* with a covariate: the three covariate sums come together, ``Σx²`` obeys the same two rules,
  and ``(Σxy − ΣxΣy/n)² ≤ Sxx·Syy`` (Cauchy–Schwarz: a correlation lies in [−1, 1]);
* no customers, no sums: ``n = 0`` with a non-zero sum.

"Beyond rounding" is a relative tolerance of ``REL_TOL = 1e-9`` of the sum of squares involved
(sums of a billion doubles are exact to far better than that) plus ``ABS_TOL = 1e-12`` for
sums near zero. The result is a list of sentences, empty when the sums are consistent; it
never raises on data.
"""

from __future__ import annotations

import math

__all__ = ["ABS_TOL", "MAX_CUSTOMERS", "REL_TOL", "check_sufficient"]

MAX_CUSTOMERS = 10**12
REL_TOL = 1e-9
ABS_TOL = 1e-12


def _tol(scale: float) -> float:
    return REL_TOL * abs(scale) + ABS_TOL


def _spread(n: int, total: float, squares: float, name: str, what: str) -> tuple[float, list[str]]:
    """``S = Σv² − (Σv)²/n`` and the sentences for a negative sum of squares or variance."""
    problems = []
    if squares < 0:
        problems.append(
            f"The sum of squares of the {what} ({name} = {squares:.6g}) is negative; a sum of"
            " squares cannot be."
        )
    spread = squares - total**2 / n if n > 0 else 0.0
    if squares >= 0 and spread < -_tol(squares):
        problems.append(
            f"The sum of squares of the {what} ({name} = {squares:.6g}) is smaller than"
            f" (sum)²/n = {total**2 / n:.6g}: the variance would be negative, so these cannot be"
            f" sums over {n:,} customers."
        )
    return spread, problems


def check_sufficient(
    n: float,
    sum: float,  # the field's name in the API; shadows the builtin in here only
    sum_squares: float,
    *,
    binary: bool,
    covariate_sum: float | None = None,
    covariate_sum_squares: float | None = None,
    cross_sum: float | None = None,
) -> list[str]:
    """Sentences naming each rule the per-arm sums break (empty when they are consistent)."""
    problems: list[str] = []
    values = {"sum": sum, "sum_squares": sum_squares}
    covariate = {
        "covariate_sum": covariate_sum,
        "covariate_sum_squares": covariate_sum_squares,
        "cross_sum": cross_sum,
    }
    given = {k: v for k, v in covariate.items() if v is not None}
    values.update(given)
    infinite = [k for k, v in values.items() if not math.isfinite(v)]
    if not math.isfinite(n) or n < 0 or n != math.floor(n):
        problems.append(f"The number of customers n = {n!r} is not a whole number >= 0.")
    elif n > MAX_CUSTOMERS:
        problems.append(
            f"The number of customers n = {n:,.0f} is above {MAX_CUSTOMERS:,}; it is a unit or"
            " overflow error, not a pilot."
        )
    if infinite:
        problems.append(f"Sums must be finite numbers; {', '.join(infinite)} is not.")
    if 0 < len(given) < 3:
        missing = ", ".join(k for k in covariate if covariate[k] is None)
        problems.append(
            f"The covariate sums come together (covariate_sum, covariate_sum_squares,"
            f" cross_sum); {missing} missing."
        )
    if problems:
        return problems  # the rules below need a sane n and finite sums
    customers = int(n)
    if customers == 0:
        nonzero = [k for k, v in values.items() if v != 0]
        if nonzero:
            problems.append(f"No customers, so every sum must be 0; {', '.join(nonzero)} is not.")
        return problems
    syy, outcome_problems = _spread(customers, sum, sum_squares, "sum_squares", "metric")
    problems += outcome_problems
    if binary:
        if sum < -_tol(customers) or sum > customers + _tol(customers):
            problems.append(
                f"A binary metric's sum counts customers, so it lies in [0, n]; it is {sum:.6g}"
                f" with n = {customers:,}."
            )
        elif abs(sum - round(sum)) > _tol(sum):
            problems.append(
                f"A binary metric's sum counts customers, so it is a whole number; it is"
                f" {sum:.6g} (a rate posted instead of a count?)."
            )
        if abs(sum_squares - sum) > _tol(max(abs(sum), abs(sum_squares))):
            problems.append(
                f"A binary metric has y² = y, so sum_squares must equal sum; they are"
                f" {sum_squares:.6g} and {sum:.6g}."
            )
    if len(given) == 3:
        assert covariate_sum is not None and covariate_sum_squares is not None
        assert cross_sum is not None
        sxx, covariate_problems = _spread(
            customers, covariate_sum, covariate_sum_squares, "covariate_sum_squares", "covariate"
        )
        problems += covariate_problems
        if sum_squares >= 0 and covariate_sum_squares >= 0:
            sxy = cross_sum - covariate_sum * sum / customers
            # Each S may be off by its rounding tolerance; allow for it before comparing.
            room = (max(sxx, 0.0) + _tol(covariate_sum_squares)) * (
                max(syy, 0.0) + _tol(sum_squares)
            )
            if sxy**2 > room:
                problems.append(
                    f"The covariate and the metric would have a correlation of magnitude above 1"
                    f" ((Σxy − ΣxΣy/n)² = {sxy**2:.6g} > Sxx·Syy = {max(sxx, 0) * max(syy, 0):.6g},"
                    " Cauchy–Schwarz), so cross_sum is inconsistent with the other sums."
                )
    return problems
