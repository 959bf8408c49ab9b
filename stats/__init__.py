"""Pure statistics for incremental lift on sufficient statistics. No I/O, no service imports.

SciPy and statsmodels are imported inside the functions that use them, not here: together with
pandas they add about 100 MB to every process that imports ``stats``, and a service worker that
only assigns customers and ingests events never needs them.
"""

from stats.comparison import Comparison, ComparisonStatus, MetricKind, compare
from stats.decision import (
    Action,
    Criteria,
    Decision,
    GuardrailEvidence,
    MetricEvidence,
    VariantDecision,
    VariantEvidence,
    decide,
)
from stats.inference import METHODS, Inference, Method, infer, sequential_rho2
from stats.money import Roi, incremental_roi, lift_among_exposed, scale_interval
from stats.multiple import holm
from stats.planning import Plan, plan_pilot
from stats.srm import SrmResult, srm_check
from stats.sufficient import CovariateSample, SampleMean

__all__ = [
    "METHODS",
    "Action",
    "Comparison",
    "ComparisonStatus",
    "CovariateSample",
    "Criteria",
    "Decision",
    "GuardrailEvidence",
    "Inference",
    "Method",
    "MetricEvidence",
    "MetricKind",
    "Plan",
    "Roi",
    "SampleMean",
    "SrmResult",
    "VariantDecision",
    "VariantEvidence",
    "compare",
    "decide",
    "holm",
    "incremental_roi",
    "infer",
    "lift_among_exposed",
    "plan_pilot",
    "scale_interval",
    "sequential_rho2",
    "srm_check",
]
