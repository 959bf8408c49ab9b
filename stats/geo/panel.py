"""Daily KPI per region: the input of a geo pilot, and what makes it unusable.

A geo pilot (paid social, TV, outdoor: channels that cannot hold out single customers) is
randomized by region and analysed on one number per region and day. :class:`GeoPanel` holds it
as a ``regions × days`` matrix over consecutive calendar days, with ``NaN`` where a region did
not report, and optionally the channel's spend in the same shape.

:func:`check_panel` says, before any estimation, why a panel cannot carry a pilot: missing days
(named by region and date), too few regions per arm, a pre-period too short for the test, or a
region whose KPI is zero throughout (usually a broken feed, not a real zero). It never raises on
data problems: the answer is a ``status`` and sentences naming the regions and days, which the
service turns into a 422. Misuse (unknown regions, overlapping periods) raises ``ValueError``.

The length rules are heuristics of the time-based-regression literature (Kerman, Wang & Vaver
2017): the pre-period fits the treated-on-control relation and must cover several weekly cycles
(at least 21 days) and be clearly longer than the test it extrapolates into (3× by default; the
interval accounts for the extrapolation, the rule guards against drift of the relation).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

__all__ = [
    "DEFAULT_MIN_PER_ARM",
    "DEFAULT_MIN_PRE_DAYS",
    "DEFAULT_MIN_PRE_MULTIPLE",
    "GeoPanel",
    "MissingDays",
    "PanelCheck",
    "PanelStatus",
    "Period",
    "check_panel",
    "format_days",
]

DEFAULT_MIN_PER_ARM = 4
DEFAULT_MIN_PRE_DAYS = 21
DEFAULT_MIN_PRE_MULTIPLE = 3.0

Period = tuple[date, date]
"""First and last day, both included."""

PanelStatus = Literal["ok", "missing_days", "too_few_regions", "short_pre_period", "zero_series"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class GeoPanel:
    """A daily KPI per region: ``values[i, j]`` is region ``geos[i]`` on ``dates[j]``.

    ``dates`` are strictly increasing calendar days (a day absent from every region is a gap and
    is reported by :func:`check_panel`); ``NaN`` marks a region-day without data. ``spend``,
    when given, has the same shape (the channel's spend per region and day). The arrays are
    copied and made read-only.
    """

    geos: tuple[str, ...]
    dates: tuple[date, ...]
    values: np.ndarray
    spend: np.ndarray | None = None

    def __post_init__(self) -> None:
        geos = tuple(str(g) for g in self.geos)
        dates = tuple(self.dates)
        if len(set(geos)) != len(geos):
            raise ValueError("geo ids must be unique")
        if any(b <= a for a, b in itertools.pairwise(dates)):
            raise ValueError("dates must be strictly increasing")
        values = _readonly(self.values)
        if values.shape != (len(geos), len(dates)):
            raise ValueError(f"values must have shape (geos, dates) = ({len(geos)}, {len(dates)})")
        if np.isinf(values).any():
            raise ValueError("values must be finite or NaN")
        spend = None
        if self.spend is not None:
            spend = _readonly(self.spend)
            if spend.shape != values.shape:
                raise ValueError("spend must have the shape of values")
            if np.isinf(spend).any():
                raise ValueError("spend must be finite or NaN")
        object.__setattr__(self, "geos", geos)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "spend", spend)

    @classmethod
    def from_records(
        cls,
        records: Iterable[tuple[str, date, float] | tuple[str, date, float, float | None]],
        *,
        with_spend: bool = False,
    ) -> GeoPanel:
        """Long format ``(geo, day, value[, spend])`` → panel over every day from the first to
        the last; absent region-days become ``NaN``. A repeated ``(geo, day)`` raises."""
        rows = list(records)
        if not rows:
            raise ValueError("no records")
        geos = sorted({str(r[0]) for r in rows})
        first, last = min(r[1] for r in rows), max(r[1] for r in rows)
        dates = tuple(first + timedelta(days=k) for k in range((last - first).days + 1))
        gi = {g: i for i, g in enumerate(geos)}
        values = np.full((len(geos), len(dates)), np.nan)
        spend = np.full_like(values, np.nan) if with_spend else None
        seen: set[tuple[str, date]] = set()
        for r in rows:
            key = (str(r[0]), r[1])
            if key in seen:
                raise ValueError(f"repeated record for region {key[0]} on {key[1].isoformat()}")
            seen.add(key)
            i, j = gi[key[0]], (r[1] - first).days
            values[i, j] = r[2]
            if spend is not None and len(r) > 3 and r[3] is not None:
                spend[i, j] = r[3]
        return cls(tuple(geos), dates, values, spend)

    @property
    def n_geos(self) -> int:
        return len(self.geos)

    def index(self, geos: Iterable[str]) -> np.ndarray:
        """Row indices of ``geos``; an unknown id raises ``ValueError``."""
        pos = {g: i for i, g in enumerate(self.geos)}
        unknown = [g for g in geos if g not in pos]
        if unknown:
            raise ValueError(f"unknown regions: {', '.join(map(str, unknown[:10]))}")
        return np.array([pos[g] for g in geos], dtype=int)

    def select(self, geos: Sequence[str]) -> GeoPanel:
        """The panel restricted to ``geos`` (in that order)."""
        rows = self.index(geos)
        spend = None if self.spend is None else self.spend[rows]
        return GeoPanel(tuple(self.geos[i] for i in rows), self.dates, self.values[rows], spend)

    def day_mask(self, period: Period) -> np.ndarray:
        """Boolean mask of the panel's dates inside ``period`` (both ends included)."""
        start, end = period
        if end < start:
            raise ValueError("a period ends before it starts")
        return np.array([start <= d <= end for d in self.dates], dtype=bool)


@dataclass(frozen=True, slots=True)
class MissingDays:
    """A region (or ``"all regions"`` for a calendar gap) and the days it has no data."""

    geo: str
    days: tuple[date, ...]
    series: Literal["kpi", "spend"] = "kpi"


@dataclass(frozen=True, slots=True)
class PanelCheck:
    """What stops the panel from carrying a pilot; ``status == "ok"`` when nothing does.

    ``status`` is the first problem found (in the order of :data:`PanelStatus` after ``ok``),
    ``message`` one sentence per problem.
    """

    status: PanelStatus
    message: str | None
    missing: tuple[MissingDays, ...] = ()
    zero_series: tuple[str, ...] = ()
    pre_days: int = 0
    test_days: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def format_days(days: Sequence[date]) -> str:
    """``2026-03-01–2026-03-03, 2026-03-09`` (consecutive days as ranges)."""
    out: list[str] = []
    k = 0
    while k < len(days):
        j = k
        while j + 1 < len(days) and (days[j + 1] - days[j]).days == 1:
            j += 1
        out.append(
            days[k].isoformat() if j == k else f"{days[k].isoformat()}–{days[j].isoformat()}"
        )
        k = j + 1
    return ", ".join(out)


def _list(items: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _expected_days(period: Period) -> list[date]:
    start, end = period
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


def check_panel(
    panel: GeoPanel,
    *,
    pre_period: Period,
    test_period: Period | None = None,
    test_days: int | None = None,
    treatment: Sequence[str] | None = None,
    control: Sequence[str] | None = None,
    min_per_arm: int = DEFAULT_MIN_PER_ARM,
    min_pre_days: int = DEFAULT_MIN_PRE_DAYS,
    min_pre_multiple: float = DEFAULT_MIN_PRE_MULTIPLE,
) -> PanelCheck:
    """Check ``panel`` for a pilot over ``pre_period`` and ``test_period`` (an analysis) or
    ``test_days`` (a design, before assignment).

    With ``treatment`` (and ``control``, default: every other region) each arm needs
    ``min_per_arm`` regions; without, the panel needs ``2 × min_per_arm``. Only those regions
    are checked for missing days and zero series. The pre-period needs ``min_pre_days`` days
    and ``min_pre_multiple`` times the test length.
    """
    if (test_period is None) == (test_days is None):
        raise ValueError("give exactly one of test_period and test_days")
    if min_per_arm < 1 or min_pre_days < 2 or min_pre_multiple < 0:
        raise ValueError("need min_per_arm >= 1, min_pre_days >= 2, min_pre_multiple >= 0")
    pre_expected = _expected_days(pre_period)
    if test_period is not None:
        if test_period[0] <= pre_period[1]:
            raise ValueError("the test period must start after the pre-period ends")
        test_expected = _expected_days(test_period)
        h = len(test_expected)
    else:
        assert test_days is not None
        if test_days < 1:
            raise ValueError("test_days must be >= 1")
        test_expected, h = [], test_days

    if treatment is not None:
        t_idx = panel.index(treatment)
        c_idx = (
            panel.index(control)
            if control is not None
            else np.array([i for i in range(panel.n_geos) if i not in set(t_idx.tolist())])
        )
        if set(t_idx.tolist()) & set(c_idx.tolist()):
            raise ValueError("a region is in both treatment and control")
        rows = np.r_[t_idx, c_idx].astype(int)
    else:
        t_idx = c_idx = np.array([], dtype=int)
        rows = np.arange(panel.n_geos)

    problems: list[tuple[PanelStatus, str]] = []

    # Missing days: calendar gaps (no region reported) and region-days without a value.
    pos = {d: j for j, d in enumerate(panel.dates)}
    missing: list[MissingDays] = []
    wanted = pre_expected + test_expected
    gaps = tuple(d for d in wanted if d not in pos)
    if gaps:
        missing.append(MissingDays("all regions", gaps))
    cols = np.array([pos[d] for d in wanted if d in pos], dtype=int)
    col_days = [panel.dates[j] for j in cols]
    series: list[tuple[Literal["kpi", "spend"], np.ndarray]] = [("kpi", panel.values)]
    if panel.spend is not None:
        series.append(("spend", panel.spend))
    for name, matrix in series:
        for i in rows:
            bad = np.isnan(matrix[i, cols]) if cols.size else np.array([], dtype=bool)
            if bad.any():
                days = tuple(d for d, b in zip(col_days, bad) if b)
                missing.append(MissingDays(panel.geos[i], days, name))
    if missing:
        parts = []
        for m in missing[:6]:
            what = "" if m.series == "kpi" else " (spend)"
            parts.append(f"{m.geo}{what}: {format_days(m.days)}")
        more = f"; and {len(missing) - 6} more regions" if len(missing) > 6 else ""
        problems.append(
            (
                "missing_days",
                "Days without data in the pre or test period — "
                + "; ".join(parts)
                + more
                + ". Backfill them or exclude those regions.",
            )
        )

    # Too few regions.
    if treatment is not None:
        if len(t_idx) < min_per_arm or len(c_idx) < min_per_arm:
            problems.append(
                (
                    "too_few_regions",
                    f"Each arm needs at least {min_per_arm} regions (treatment {len(t_idx)},"
                    f" control {len(c_idx)}).",
                )
            )
    elif panel.n_geos < 2 * min_per_arm:
        problems.append(
            (
                "too_few_regions",
                f"A geo pilot needs at least {2 * min_per_arm} regions ({min_per_arm} per arm);"
                f" the panel has {panel.n_geos}.",
            )
        )

    # Pre-period length.
    n_pre = len(pre_expected)
    need = max(min_pre_days, math.ceil(min_pre_multiple * h))
    if n_pre < need:
        problems.append(
            (
                "short_pre_period",
                f"The pre-period has {n_pre} days; a {h}-day test needs at least {need}"
                f" ({min_pre_days} days and {min_pre_multiple:g}× the test length).",
            )
        )

    # Zero series (over the available days of the pre and test periods).
    zero: list[str] = []
    if cols.size:
        block = panel.values[np.ix_(rows, cols)]
        for i, r in zip(rows, block):
            present = r[~np.isnan(r)]
            if present.size and not np.any(present != 0):
                zero.append(panel.geos[i])
    if zero:
        problems.append(
            (
                "zero_series",
                f"The KPI is zero on every day for {_list(zero)}; a zero series is usually a"
                " broken feed — fix it or exclude the regions.",
            )
        )

    if not problems:
        return PanelCheck("ok", None, (), (), n_pre, h)
    order: tuple[PanelStatus, ...] = (
        "missing_days",
        "too_few_regions",
        "short_pre_period",
        "zero_series",
    )
    problems.sort(key=lambda p: order.index(p[0]))
    return PanelCheck(
        problems[0][0],
        " ".join(p[1] for p in problems),
        tuple(missing),
        tuple(zero),
        n_pre,
        h,
    )
