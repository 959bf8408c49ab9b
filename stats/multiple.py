"""Multiple-comparison adjustment across variants (Holm 1979, via statsmodels).

With several variants each compared to the same holdout, the chance that *some* variant looks
significant by luck grows with their number. Holm's step-down method controls the family-wise
error rate at α without assuming independence and is uniformly more powerful than Bonferroni.
"""

from __future__ import annotations

from collections.abc import Sequence

from statsmodels.stats.multitest import multipletests

__all__ = ["holm"]


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values; ``None`` entries (undefined tests) stay ``None`` and don't count."""
    defined = [(i, p) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if not defined:
        return adjusted
    _reject, corrected, _s, _b = multipletests([p for _, p in defined], method="holm")
    for (i, _), value in zip(defined, corrected):
        adjusted[i] = float(value)
    return adjusted
