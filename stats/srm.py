"""Sample-ratio-mismatch check: are the observed group sizes what randomization promised?

A chi-square goodness-of-fit test of the observed customers per group against the configured
shares. A tiny p-value (below ``threshold``, 0.001 by default as is customary, because the test
runs on every look) means the assignment or the logging is broken and the lift is not to be
trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SrmResult", "srm_check"]


@dataclass(frozen=True, slots=True)
class SrmResult:
    chi2: float | None
    p_value: float | None
    ok: bool
    message: str | None


def srm_check(
    observed: Sequence[int], expected_shares: Sequence[float], *, threshold: float = 0.001
) -> SrmResult:
    """Chi-square test of ``observed`` counts against ``expected_shares`` (normalised)."""
    if len(observed) != len(expected_shares) or len(observed) < 2:
        raise ValueError("observed and expected_shares must have the same length >= 2")
    if any(s <= 0 for s in expected_shares):
        raise ValueError("expected shares must be positive")
    total = sum(observed)
    if total == 0:
        return SrmResult(None, None, True, "No customers assigned yet.")
    share_total = sum(expected_shares)
    expected = [total * s / share_total for s in expected_shares]
    from scipy.stats import chisquare  # on first use: see stats/__init__.py

    chi2, p_value = chisquare(list(observed), expected)
    ok = bool(p_value >= threshold)
    message = (
        None
        if ok
        else (
            f"Sample ratio mismatch: the group sizes {list(observed)} are very unlikely under the"
            f" configured split (p = {p_value:.2g}); check assignment and logging before reading"
            " the lift."
        )
    )
    return SrmResult(float(chi2), float(p_value), ok, message)
