from __future__ import annotations

import pytest
from scipy.stats import chi2

from stats import incremental_roi, lift_among_exposed, srm_check


def test_srm_chi_square_by_hand() -> None:
    observed, shares = [1050, 4420, 4530], [0.1, 0.45, 0.45]
    expected = [1000.0, 4500.0, 4500.0]
    stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    result = srm_check(observed, shares)
    assert result.chi2 == pytest.approx(stat)
    assert result.p_value == pytest.approx(chi2.sf(stat, df=2))
    assert result.ok


def test_srm_flags_a_broken_split() -> None:
    result = srm_check([1300, 4350, 4350], [0.1, 0.45, 0.45])
    assert not result.ok and result.p_value is not None and result.p_value < 0.001
    assert result.message and "mismatch" in result.message


def test_roi_and_lift_among_exposed() -> None:
    roi = incremental_roi(9870.0, exposures=43_960, per_exposure=0.02, fixed=500.0)
    assert roi.cost == pytest.approx(1379.2)
    assert roi.incremental_roi == pytest.approx((9870.0 - 1379.2) / 1379.2)
    assert incremental_roi(10.0, exposures=0, per_exposure=0, fixed=0).incremental_roi is None
    assert lift_among_exposed(0.0049, 0.975) == pytest.approx(0.0049 / 0.975)
    assert lift_among_exposed(0.01, 0.0) is None
