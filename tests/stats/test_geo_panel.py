"""The geo panel and what makes it unusable: every problem comes back as a status and a
sentence naming the regions and days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from stats.geo import GeoPanel, check_panel, format_days

START = date(2026, 1, 5)


def _panel(n_geos: int = 10, days: int = 70, seed: int = 0) -> GeoPanel:
    rng = np.random.default_rng(seed)
    values = rng.gamma(20.0, 10.0, size=(n_geos, days))
    dates = tuple(START + timedelta(days=k) for k in range(days))
    return GeoPanel(tuple(f"g{i}" for i in range(n_geos)), dates, values)


def _day(k: int) -> date:
    return START + timedelta(days=k)


PRE = (_day(0), _day(62))
TEST = (_day(63), _day(69))


def test_panel_is_validated_copied_and_read_only() -> None:
    values = np.ones((2, 3))
    dates = (_day(0), _day(1), _day(2))
    panel = GeoPanel(("a", "b"), dates, values)
    values[0, 0] = 99.0
    assert panel.values[0, 0] == 1.0
    with pytest.raises(ValueError):
        panel.values[0, 0] = 5.0
    with pytest.raises(ValueError, match="unique"):
        GeoPanel(("a", "a"), dates, values)
    with pytest.raises(ValueError, match="increasing"):
        GeoPanel(("a", "b"), (_day(1), _day(0), _day(2)), values)
    with pytest.raises(ValueError, match="shape"):
        GeoPanel(("a", "b"), dates[:2], values)
    with pytest.raises(ValueError, match="spend"):
        GeoPanel(("a", "b"), dates, values, spend=np.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown regions"):
        panel.index(["c"])


def test_from_records_fills_absent_days_with_nan() -> None:
    rows = [("b", _day(0), 1.0, 2.0), ("a", _day(0), 3.0, None), ("a", _day(2), 4.0, 1.0)]
    panel = GeoPanel.from_records(rows, with_spend=True)
    assert panel.geos == ("a", "b")
    assert panel.dates == (_day(0), _day(1), _day(2))
    assert panel.values[0].tolist()[0] == 3.0 and np.isnan(panel.values[0, 1])
    assert panel.spend is not None and np.isnan(panel.spend[0, 0]) and panel.spend[1, 0] == 2.0
    with pytest.raises(ValueError, match="repeated"):
        GeoPanel.from_records([("a", _day(0), 1.0), ("a", _day(0), 2.0)])


def test_a_complete_panel_is_ok() -> None:
    check = check_panel(
        _panel(), pre_period=PRE, test_period=TEST, treatment=["g0", "g2", "g4", "g6"]
    )
    assert check.ok and check.message is None
    assert (check.pre_days, check.test_days) == (63, 7)


def test_missing_days_name_regions_and_days() -> None:
    panel = _panel()
    values = panel.values.copy()
    values[3, 10:13] = np.nan  # pre-period
    values[7, 65] = np.nan  # test period
    values[8, 0] = np.nan  # region not in the pilot: ignored
    broken = GeoPanel(panel.geos, panel.dates, values)
    check = check_panel(
        broken, pre_period=PRE, test_period=TEST, treatment=["g0", "g1", "g2", "g3"],
        control=["g4", "g5", "g6", "g7"],
    )  # fmt: skip
    assert check.status == "missing_days"
    assert {m.geo for m in check.missing} == {"g3", "g7"}
    assert "g3: 2026-01-15–2026-01-17" in (check.message or "")
    assert "g7: 2026-03-11" in (check.message or "")


def test_a_calendar_gap_is_missing_for_all_regions() -> None:
    panel = _panel()
    keep = [j for j in range(70) if j != 20]
    gappy = GeoPanel(panel.geos, tuple(panel.dates[j] for j in keep), panel.values[:, keep])
    check = check_panel(gappy, pre_period=PRE, test_period=TEST)
    assert check.status == "missing_days"
    assert check.missing[0].geo == "all regions" and check.missing[0].days == (_day(20),)


def test_missing_spend_is_reported() -> None:
    panel = _panel()
    spend = np.ones_like(panel.values)
    spend[2, 5] = np.nan
    check = check_panel(
        GeoPanel(panel.geos, panel.dates, panel.values, spend), pre_period=PRE, test_period=TEST
    )
    assert check.status == "missing_days" and check.missing[0].series == "spend"
    assert "g2 (spend)" in (check.message or "")


def test_too_few_regions_per_arm() -> None:
    check = check_panel(_panel(), pre_period=PRE, test_period=TEST, treatment=["g0", "g1", "g2"])
    assert check.status == "too_few_regions"
    assert "treatment 3, control 7" in (check.message or "")
    design = check_panel(_panel(n_geos=7), pre_period=PRE, test_days=7)
    assert design.status == "too_few_regions" and "at least 8 regions" in (design.message or "")


def test_short_pre_period() -> None:
    check = check_panel(_panel(), pre_period=(_day(0), _day(19)), test_days=5)
    assert check.status == "short_pre_period" and "20 days" in (check.message or "")
    # 3 × the test length: 28 days of test need 84 days of pre-period.
    check = check_panel(_panel(days=120), pre_period=(_day(0), _day(80)), test_days=28)
    assert check.status == "short_pre_period" and "at least 84" in (check.message or "")


def test_zero_series_and_several_problems_at_once() -> None:
    panel = _panel()
    values = panel.values.copy()
    values[5] = 0.0
    values[1, 3] = np.nan
    check = check_panel(
        GeoPanel(panel.geos, panel.dates, values), pre_period=(_day(0), _day(9)), test_days=7
    )
    assert check.status == "missing_days"  # the first problem
    assert check.zero_series == ("g5",)
    message = check.message or ""
    assert "Days without data" in message and "zero on every day for g5" in message
    assert "The pre-period has 10 days" in message


def test_misuse_raises() -> None:
    panel = _panel()
    with pytest.raises(ValueError, match="exactly one"):
        check_panel(panel, pre_period=PRE)
    with pytest.raises(ValueError, match="after the pre-period"):
        check_panel(panel, pre_period=PRE, test_period=(_day(60), _day(69)))
    with pytest.raises(ValueError, match="both"):
        check_panel(panel, pre_period=PRE, test_period=TEST, treatment=["g0"], control=["g0"])


def test_format_days_compresses_runs() -> None:
    days = [_day(0), _day(1), _day(2), _day(5), _day(7), _day(8)]
    assert format_days(days) == "2026-01-05–2026-01-07, 2026-01-10, 2026-01-12–2026-01-13"
