"""Multiple-comparison adjustment across variants (Holm 1979).

With several variants each compared to the same holdout, the chance that *some* variant looks
significant by luck grows with their number. Holm's step-down method controls the family-wise
error rate at α without assuming independence and is uniformly more powerful than Bonferroni:
sort the m p-values ascending, multiply the i-th (from 0) by ``m − i``, take the running
maximum, cap at 1.

Written out here rather than calling ``statsmodels.stats.multitest.multipletests`` (which the
tests use as the reference): that function runs ``gc.collect()`` on every call, about 60 ms in
a service process, and the weekly review calls it hundreds of times.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["holm"]


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values; ``None`` entries (undefined tests) stay ``None`` and don't count."""
    defined = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    m = len(defined)
    running = 0.0
    for rank, (p, i) in enumerate(defined):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
