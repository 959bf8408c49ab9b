"""The design: randomization reproducible from the salt and balanced in size, candidates judged
on the pre-period, infeasible panels answered with a status."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np
import pytest

from stats.geo import (
    GeoPanel,
    assign_geos,
    candidate_salt,
    design_geo_pilot,
    seed_from_salt,
    simulate_panel,
)


def _sizes(n: int = 48, seed: int = 0) -> tuple[tuple[str, ...], np.ndarray]:
    rng = np.random.default_rng(seed)
    return tuple(f"g{i:02d}" for i in range(n)), 1000 * np.exp(rng.standard_normal(n))


def test_seed_is_sha256_of_the_salt() -> None:
    digest = hashlib.sha256(b"pilot-42").digest()
    assert seed_from_salt("pilot-42") == int.from_bytes(digest[:8], "big")
    assert candidate_salt("s", 0) == "s" and candidate_salt("s", 3) == "s#3"


def test_randomization_is_reproducible_from_the_salt() -> None:
    geos, sizes = _sizes()
    first = assign_geos(geos, sizes, salt="spring-social")
    assert assign_geos(geos, sizes, salt="spring-social") == first
    # The order the regions are listed in does not matter.
    perm = np.random.default_rng(1).permutation(len(geos))
    shuffled = assign_geos([geos[i] for i in perm], sizes[perm], salt="spring-social")
    assert shuffled == first
    assert assign_geos(geos, sizes, salt="spring-social-2") != first
    # Golden: the first pair's treated region is fixed by the salt forever.
    rng = np.random.default_rng(seed_from_salt("spring-social"))
    order = sorted(range(len(geos)), key=lambda i: (-sizes[i], geos[i]))
    assert first[0][0] == geos[order[int(rng.permutation(2)[0])]]


def test_matched_pairs_are_balanced_in_size() -> None:
    geos, sizes = _sizes()
    order = sorted(range(len(geos)), key=lambda i: -sizes[i])
    shares = []
    for k in range(200):
        treatment, control = assign_geos(geos, sizes, salt=f"balance-{k}")
        assert len(treatment) == len(control) == 24
        chosen = set(treatment)
        # Exactly one region of every size-ordered pair is treated.
        for a in range(0, 48, 2):
            assert (geos[order[a]] in chosen) != (geos[order[a + 1]] in chosen)
        shares.append(sum(sizes[geos.index(g)] for g in treatment) / sizes.sum())
    shares_arr = np.array(shares)
    # Complete randomization would give an sd of the treated share of about 0.07 here.
    assert abs(shares_arr.mean() - 0.5) < 0.01
    assert shares_arr.std() < 0.03
    assert np.abs(shares_arr - 0.5).max() < 0.1


def test_a_given_treatment_share() -> None:
    geos, sizes = _sizes(50)
    treatment, control = assign_geos(geos, sizes, salt="third", treatment_share=0.3)
    assert (len(treatment), len(control)) == (15, 35)
    order = sorted(range(50), key=lambda i: -sizes[i])
    # Strata of 3: no stratum of three treats more than one region.
    chosen = set(treatment)
    for a in range(0, 48, 3):
        assert sum(geos[order[j]] in chosen for j in range(a, a + 3)) <= 1
    with pytest.raises(ValueError):
        assign_geos(geos, sizes, salt="x", treatment_share=1.0)


def test_design_picks_the_smallest_mde_and_is_reproducible() -> None:
    sim = simulate_panel(4, noise="ar1", pre_days=91, test_days=1)
    kw = {
        "salt": "q3-tv",
        "test_days": 28,
        "pre_period": sim.pre_period,
        "candidates": 4,
        "cost_per_incremental_unit": 25.0,
    }
    design = design_geo_pilot(sim.panel, **kw)  # type: ignore[arg-type]
    assert design.status == "ok" and design.best is not None
    assert len(design.candidates) == 4
    assert [c.salt for c in design.candidates] == ["q3-tv", "q3-tv#1", "q3-tv#2", "q3-tv#3"]
    mdes = [c.mde for c in design.candidates]
    smallest = min(m for m in mdes if m is not None)
    # The smallest MDE, where MDEs within 1 % of it are ties won by the earliest candidate.
    assert design.best.mde <= 1.01 * smallest  # type: ignore[operator]
    earlier = design.candidates[: design.best.index]
    assert all(c.mde is None or c.mde > 1.01 * smallest for c in earlier)
    # One error process for all candidates: matched-pair splits of the same regions differ only
    # through the regression design, not through their noise estimates.
    assert np.std(mdes) / np.mean(mdes) < 0.01  # type: ignore[arg-type]
    assert len({c.fit.rho for c in design.candidates if c.fit}) == 4  # own fits still reported
    best = design.best
    assert best.mde is not None and 0 < best.mde < 0.2
    assert best.expected_counterfactual is not None and best.mde_absolute is not None
    assert best.mde_absolute == pytest.approx(best.mde * best.expected_counterfactual)
    assert best.required_spend == pytest.approx(best.mde_absolute * 25.0)
    assert best.fit is not None and best.fit.r_squared > 0.5 and best.fit.days == 91
    assert best.windows == 10 and best.placebo_windows == 7  # (91 − 28)/7 + 1; starts >= 21
    assert best.placebo_rms_z is not None and 0.2 < best.placebo_rms_z < 3
    # Candidate i is assign_geos with the candidate's salt on the pre-period means.
    sizes = sim.panel.values[:, sim.panel.day_mask(sim.pre_period)].mean(axis=1)
    third = design.candidates[2]
    assert (third.treatment, third.control) == assign_geos(sim.panel.geos, sizes, salt="q3-tv#2")
    again = design_geo_pilot(sim.panel, **kw)  # type: ignore[arg-type]
    assert again.best == design.best


def test_exclude_geos() -> None:
    sim = simulate_panel(5, pre_days=70, test_days=1)
    excluded = sim.panel.geos[:3]
    design = design_geo_pilot(
        sim.panel, salt="x", test_days=14, pre_period=sim.pre_period, exclude_geos=excluded
    )
    assert design.status == "ok" and design.best is not None
    assert design.excluded == excluded
    used = set(design.best.treatment) | set(design.best.control)
    assert not used & set(excluded) and len(used) == 45
    with pytest.raises(ValueError, match="unknown regions"):
        design_geo_pilot(sim.panel, salt="x", test_days=14, exclude_geos=["atlantis"])


def test_infeasible_designs_say_why() -> None:
    sim = simulate_panel(6, n_geos=12, pre_days=60, test_days=1)
    pre = sim.pre_period
    short = design_geo_pilot(sim.panel, salt="x", test_days=28, pre_period=pre)
    assert short.status == "short_pre_period" and short.best is None
    assert "needs at least 84" in (short.message or "")
    few = design_geo_pilot(
        sim.panel, salt="x", test_days=14, pre_period=pre, exclude_geos=sim.panel.geos[:5]
    )
    assert few.status == "too_few_regions" and "at least 8 regions" in (few.message or "")
    lopsided = design_geo_pilot(
        sim.panel, salt="x", test_days=14, pre_period=pre, treatment_share=0.2
    )
    assert lopsided.status == "too_few_regions" and "2 treated" in (lopsided.message or "")
    values = sim.panel.values.copy()
    values[2, 10] = np.nan
    holes = GeoPanel(sim.panel.geos, sim.panel.dates, values)
    missing = design_geo_pilot(holes, salt="x", test_days=14, pre_period=pre)
    assert missing.status == "missing_days"
    assert f"{sim.panel.geos[2]}: {(pre[0] + timedelta(days=10)).isoformat()}" in (
        missing.message or ""
    )
    # Excluding the broken region makes it feasible.
    fixed = design_geo_pilot(
        holes, salt="x", test_days=14, pre_period=pre, exclude_geos=[sim.panel.geos[2]]
    )
    assert fixed.status == "ok"


def test_design_misuse_raises() -> None:
    sim = simulate_panel(7, pre_days=70, test_days=1)
    with pytest.raises(ValueError):
        design_geo_pilot(sim.panel, salt="x", test_days=0)
    with pytest.raises(ValueError):
        design_geo_pilot(sim.panel, salt="x", test_days=14, candidates=0)
    with pytest.raises(ValueError):
        design_geo_pilot(sim.panel, salt="x", test_days=14, cost_per_incremental_unit=0.0)
