"""Profit-verified scaling: hand-derived profit, ROI, iROAS, cost per incremental conversion,
P(profit > 0) and the ROI verdict."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from stats import incremental_roi
from stats.group_sequential import group_sequential_inference
from stats.profit import profit_check, roi_verdict, total_cost

N = NormalDist()


def test_profit_roi_iroas_and_cost_per_conversion_by_hand() -> None:
    # Revenue 10,000 ± 2 × 2,000; 40 % margin; cost 2,000; conversions 200 ± 2 × 50.
    r = profit_check(
        10_000.0,
        revenue_se=2_000.0,
        margin_rate=0.4,
        cost=2_000.0,
        incremental_conversions=200.0,
        conversions_se=50.0,
        critical_value=2.0,
    )
    assert r.revenue_ci == pytest.approx((6_000.0, 14_000.0))
    assert r.incremental_profit == pytest.approx(0.4 * 10_000 - 2_000)  # 2,000
    assert r.profit_se == pytest.approx(800.0)
    assert r.profit_ci == pytest.approx((0.4 * 6_000 - 2_000, 0.4 * 14_000 - 2_000))  # 400, 3,600
    assert r.probability_profitable == pytest.approx(N.cdf(2_000 / 800))  # Φ(2.5) = 0.99379
    assert r.probability_profitable == pytest.approx(0.993790, abs=1e-6)
    assert r.roi_status == "ok"
    assert r.incremental_roi == pytest.approx(1.0)
    assert r.roi_ci == pytest.approx((0.2, 1.8))
    assert r.iroas == pytest.approx(5.0)
    assert r.iroas_ci == pytest.approx((3.0, 7.0))
    assert r.cost_per_conversion_status == "ok"
    assert r.cost_per_conversion == pytest.approx(10.0)
    assert r.cost_per_conversion_ci == pytest.approx((2_000 / 300, 2_000 / 100))  # 6.67, 20
    assert r.messages == ()
    assert r.roi_ci is not None and roi_verdict(r.roi_ci) == "meets"


def test_interval_and_critical_value_without_se() -> None:
    # Revenue 2,000 in [-1,000, 5,000] at critical value 2.5: se = 6,000 / 5 = 1,200.
    r = profit_check(2_000.0, revenue_ci=(-1_000.0, 5_000.0), critical_value=2.5, cost=3_000.0)
    assert r.profit_se == pytest.approx(1_200.0)
    assert r.incremental_profit == pytest.approx(-1_000.0)
    assert r.profit_ci == pytest.approx((-4_000.0, 2_000.0))
    assert r.probability_profitable == pytest.approx(N.cdf(-1_000 / 1_200))  # 0.2023
    assert r.probability_profitable == pytest.approx(0.202328, abs=1e-6)
    assert r.incremental_roi == pytest.approx(-1 / 3)
    assert r.roi_ci == pytest.approx((-4 / 3, 2 / 3))
    assert r.iroas_ci == pytest.approx((-1 / 3, 5 / 3))
    assert r.cost_per_conversion_status is None and r.cost_per_conversion is None
    roi_ci = r.roi_ci
    assert roi_ci is not None
    assert roi_verdict(roi_ci) == "inconclusive"
    assert roi_verdict(roi_ci, min_roi=0.7) == "below"  # upper 0.667 < 0.7
    assert roi_verdict(roi_ci, min_roi=-1.5) == "meets"
    assert roi_verdict((0.0, 0.3)) == "meets"  # the lower bound may equal min_roi
    assert roi_verdict((-0.5, -1e-12)) == "below"


def test_default_critical_value_and_an_se_with_its_interval() -> None:
    r = profit_check(500.0, revenue_se=100.0, cost=100.0)  # 95 %: z = 1.959964
    assert r.critical_value == pytest.approx(1.959964, abs=1e-6)
    assert r.revenue_ci == pytest.approx((500 - 195.9964, 500 + 195.9964), abs=1e-3)
    # A Welch-t interval passed with its se: the interval is used as given.
    t = profit_check(500.0, revenue_se=100.0, revenue_ci=(290.0, 710.0), cost=100.0)
    assert t.revenue_ci == (290.0, 710.0) and t.profit_se == 100.0
    assert t.profit_ci == pytest.approx((190.0, 610.0))


def test_margin_one_matches_money_roi() -> None:
    money = incremental_roi(
        9_870.0, exposures=43_960, per_exposure=0.02, fixed=500.0, revenue_ci=(4_000.0, 15_740.0)
    )
    cost = total_cost(per_exposure=0.02, exposures=43_960, fixed=500.0)
    r = profit_check(9_870.0, revenue_ci=(4_000.0, 15_740.0), cost=cost)
    assert r.cost == pytest.approx(1_379.2)
    assert r.incremental_roi == pytest.approx(money.incremental_roi)
    assert r.roi_ci == pytest.approx(money.roi_ci)


def test_total_cost_adds_posted_rows() -> None:
    cost = total_cost(per_exposure=0.02, exposures=43_960, fixed=500.0, posted=(120.5, 79.5))
    assert cost == pytest.approx(879.2 + 500 + 200)
    assert total_cost() == 0.0
    with pytest.raises(ValueError):
        total_cost(fixed=-1.0)


def test_cost_per_conversion_unbounded_or_lost() -> None:
    unbounded = profit_check(
        1_000.0, revenue_se=300.0, cost=500.0, incremental_conversions=40.0, conversions_se=25.0
    )
    assert unbounded.cost_per_conversion_status == "unbounded"  # 40 ± 49 contains 0
    assert unbounded.cost_per_conversion is None and unbounded.cost_per_conversion_ci is None
    assert any("contains 0" in m for m in unbounded.messages)
    lost = profit_check(
        -1_000.0,
        revenue_se=300.0,
        cost=500.0,
        incremental_conversions=-80.0,
        conversions_ci=(-120.0, -40.0),
    )
    assert lost.cost_per_conversion_status == "lost_conversions"
    assert lost.cost_per_conversion is None
    # Just excluding 0: the upper limit is large but finite.
    edge = profit_check(
        0.0, revenue_se=1.0, cost=500.0, incremental_conversions=10.0, conversions_ci=(0.5, 19.5)
    )
    assert edge.cost_per_conversion_ci == pytest.approx((500 / 19.5, 1_000.0))


def test_no_cost() -> None:
    r = profit_check(
        1_200.0,
        revenue_se=400.0,
        margin_rate=0.5,
        cost=0.0,
        incremental_conversions=30.0,
        conversions_se=10.0,
    )
    assert r.roi_status == "no_cost"
    assert r.incremental_roi is None and r.roi_ci is None
    assert r.iroas is None and r.iroas_ci is None
    assert r.incremental_profit == pytest.approx(600.0) and r.profit_se == pytest.approx(200.0)
    assert r.probability_profitable == pytest.approx(N.cdf(3.0))
    assert r.cost_per_conversion == 0.0 and r.cost_per_conversion_ci == (0.0, 0.0)
    assert any("cost nothing" in m for m in r.messages)


def test_group_sequential_critical_value() -> None:
    """At a weekly look the revenue interval uses the look's boundary c_k."""
    gs = group_sequential_inference(3_000.0, 1_000.0, looks=(0.25, 0.5), fraction_now=0.75)
    r = profit_check(3_000.0, revenue_se=1_000.0, cost=1_000.0, critical_value=gs.z_boundary)
    assert r.revenue_ci == pytest.approx(gs.ci)
    assert r.roi_ci == pytest.approx(((gs.ci[0] - 1_000) / 1_000, (gs.ci[1] - 1_000) / 1_000))
    assert r.profit_ci[0] == pytest.approx(2_000 - 2.3590 * 1_000, abs=0.1)


def test_misuse_raises() -> None:
    bad: list[dict[str, object]] = [
        {"revenue_se": 1.0, "cost": -1.0},
        {"revenue_se": 1.0, "cost": 1.0, "margin_rate": 0.0},
        {"revenue_se": 1.0, "cost": 1.0, "margin_rate": 1.5},
        {"cost": 1.0},  # neither se nor interval
        {"revenue_se": -1.0, "cost": 1.0},
        {"revenue_ci": (5.0, 1.0), "cost": 1.0},
        {"revenue_ci": (20.0, 30.0), "cost": 1.0},  # the estimate (10) outside its interval
        {"revenue_se": 1.0, "cost": 1.0, "critical_value": 0.0},
        {"revenue_se": math.inf, "cost": 1.0},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            profit_check(10.0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        roi_verdict((1.0, 0.0))
