"""The real Hillstrom e-mail experiment through the HTTP API, checked against a hand
computation of Welch's test on the raw CSV (4 significant digits)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from scipy import stats as sps

from examples.hillstrom_email_pilot import GROUPS, load_pilot, local_server, read_rows


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_rows()


@pytest.fixture(scope="module")
def hillstrom_results(rows: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    with local_server() as url, httpx.Client(base_url=url, timeout=300) as client:
        yield load_pilot(client, rows)


def welch_by_hand(treatment: np.ndarray, control: np.ndarray) -> tuple[float, float, float]:
    """Difference of means, its standard error and the two-sided p-value, from first principles."""
    vt, vc = treatment.var(ddof=1) / len(treatment), control.var(ddof=1) / len(control)
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / (len(treatment) - 1) + vc**2 / (len(control) - 1))
    diff = treatment.mean() - control.mean()
    return diff, se, 2 * sps.t.sf(abs(diff) / se, df)


def test_group_sizes_match_the_data(hillstrom_results: dict[str, Any]) -> None:
    sizes = {a["group"]: a["customers"] for a in hillstrom_results["arms"]}
    assert sizes == {"mens": 21_307, "womens": 21_387, "holdout": 21_306}
    assert hillstrom_results["srm"]["ok"]


@pytest.mark.parametrize("variant", ["mens", "womens"])
@pytest.mark.parametrize(
    ("metric", "column"), [("conversion", "conversion"), ("visit", "visit"), ("spend", "spend")]
)
def test_lift_matches_welch_by_hand(
    hillstrom_results: dict[str, Any],
    rows: list[dict[str, str]],
    variant: str,
    metric: str,
    column: str,
) -> None:
    values = {
        g: np.array([float(r[column]) for r in rows if GROUPS[r["segment"]] == g])
        for g in ("holdout", variant)
    }
    diff, se, p_value = welch_by_hand(values[variant], values["holdout"])
    got = next(
        c
        for c in hillstrom_results["comparisons"]
        if c["variant"] == variant and c["metric"] == metric
    )
    assert got["absolute_lift"] == pytest.approx(diff, rel=5e-4)
    assert got["absolute_se"] == pytest.approx(se, rel=5e-4)
    assert got["p_value"] == pytest.approx(p_value, rel=5e-4)
    assert got["significant"]  # both e-mails raised every outcome in this experiment
