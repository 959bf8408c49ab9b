"""The decision rules per variant (stats.decision), case by case, with the reasons' sentences."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stats import (
    Criteria,
    GuardrailEvidence,
    MetricEvidence,
    SampleMean,
    VariantEvidence,
    compare,
    decide,
)
from stats.guardrail import GuardrailVerdict

CRITERIA = Criteria(alpha=0.05, min_lift=0.06, min_roi=0.0, min_duration_days=7,
                    min_conversions=100, max_holdout_exposed_share=0.01)  # fmt: skip


def _primary(lift: float, p: float, ci: tuple[float, float]) -> MetricEvidence:
    c = compare(SampleMean(10_000, 500, 500), SampleMean(10_000, 500, 500), kind="binary")
    c = replace(c, absolute_lift=lift * 0.05, relative_lift=lift, relative_ci=ci, p_value=p)
    return MetricEvidence("orders", c, p)


WIN = _primary(0.12, 0.001, (0.06, 0.18))
LOSS = _primary(-0.10, 0.001, (-0.15, -0.05))
FUTILE = _primary(0.01, 0.6, (-0.02, 0.04))
UNCLEAR = _primary(0.05, 0.2, (-0.03, 0.13))


def _guard(verdict: str) -> GuardrailEvidence:
    v = GuardrailVerdict("max_rate", 0.005, 0.004, verdict, f"the bound is {verdict}.")  # type: ignore[arg-type]
    return GuardrailEvidence("unsubscribes", v)


def _variant(primary: MetricEvidence, *, guard: str = "non_inferior", roi: str | None = "meets",
             roi_ci: tuple[float, float] | None = (0.5, 2.0), conversions: float = 500,
             name: str = "sms") -> VariantEvidence:  # fmt: skip
    return VariantEvidence(name, primary, [_guard(guard)], roi, roi_ci, conversions)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variant", "days", "expected", "phrase"),
    [
        (_variant(WIN), 14, "scale", "significantly better than the holdout"),
        (_variant(WIN), 3, "continue", "Too early to call"),
        (_variant(LOSS), 3, "continue", "Too early to call"),  # no stop before the minimum
        (_variant(WIN, conversions=40), 14, "continue", "fewer than the 100 required"),
        (_variant(WIN, guard="harmed"), 14, "stop", "guardrail unsubscribes is harmed"),
        (_variant(WIN, guard="inconclusive"), 14, "continue", "not yet shown non-inferior"),
        (_variant(WIN, roi="below", roi_ci=(-0.95, -0.4)), 14, "stop", "below the required"),
        (
            _variant(WIN, roi="inconclusive", roi_ci=(-0.95, 0.02)),
            14,
            "continue",
            "not yet clearly above",
        ),
        (_variant(WIN, roi=None, roi_ci=None), 14, "scale", "significantly better"),  # no cost
        (_variant(LOSS), 14, "stop", "significantly worse"),
        (_variant(FUTILE), 14, "stop", "futility"),
        (_variant(UNCLEAR), 14, "continue", "not yet conclusive"),
    ],
)
def test_variant_rules(variant: VariantEvidence, days: float, expected: str, phrase: str) -> None:
    d = decide([variant], CRITERIA, days_running=days, holdout_customers=10_000,
               holdout_conversions=500)  # fmt: skip
    assert d.action == expected
    assert d.variants[0].action == expected and phrase in " ".join(d.variants[0].reasons)
    assert d.reasons[0] == f"{expected} sms."
    assert all(r.endswith(".") for r in d.reasons)


def test_each_variant_gets_its_own_call_and_the_headline_names_both() -> None:
    a = _variant(WIN, name="sms_a")
    b = _variant(WIN, guard="harmed", name="sms_b")
    d = decide([a, b], CRITERIA, days_running=14, holdout_customers=10_000,
               holdout_conversions=500)  # fmt: skip
    assert d.action == "scale"
    assert d.reasons[0] == "scale sms_a; stop sms_b."
    assert [(v.variant, v.action) for v in d.variants] == [("sms_a", "scale"), ("sms_b", "stop")]
    assert d.variant_actions == {"sms_a": "scale", "sms_b": "stop"}


@pytest.mark.parametrize(("exposed", "expected"), [(20, "scale"), (500, "check_data")])
def test_holdout_contamination_is_tolerated_up_to_its_share(exposed: int, expected: str) -> None:
    d = decide([_variant(WIN)], CRITERIA, days_running=14, holdout_customers=10_000,
               holdout_exposed=exposed, holdout_conversions=500)  # fmt: skip
    assert d.action == expected
    if expected == "check_data":
        assert "5.0% of the holdout (500 customers)" in d.reasons[0]


def test_sample_ratio_mismatch_means_check_data() -> None:
    d = decide([_variant(WIN)], CRITERIA, srm_ok=False, srm_message="Sample ratio mismatch.",
               days_running=14, holdout_customers=10_000)  # fmt: skip
    assert d.action == "check_data" and d.reasons[0] == "Sample ratio mismatch."


def test_continue_says_how_many_more_customers_and_days() -> None:
    d = decide([_variant(UNCLEAR)], CRITERIA, days_running=14, holdout_customers=10_000,
               holdout_conversions=500, customers=20_000, planned_customers=50_000,
               daily_customers=2_000)  # fmt: skip
    assert d.action == "continue" and d.needed_customers == 30_000 and d.needed_days == 15
    assert "30,000 more customers" in d.reasons[-1]
