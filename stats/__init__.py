"""Pure statistics for incremental lift on sufficient statistics. No I/O, no service imports."""

from stats.comparison import Comparison, ComparisonStatus, MetricKind, compare
from stats.money import Roi, incremental_roi, lift_among_exposed
from stats.srm import SrmResult, srm_check
from stats.sufficient import SampleMean

__all__ = [
    "Comparison",
    "ComparisonStatus",
    "MetricKind",
    "Roi",
    "SampleMean",
    "SrmResult",
    "compare",
    "incremental_roi",
    "lift_among_exposed",
    "srm_check",
]
