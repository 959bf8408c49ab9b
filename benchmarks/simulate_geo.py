"""Full-size seeded simulations of the geo-pilot statistics (the tests run reduced sizes).

Prints, for independent and AR(1) (ρ = 0.5) regional noise: the A/A false-positive rate and the
coverage of the incremental KPI's interval (the issue's reference shape — 48 regions, 91 + 28
days, half treated, +10 % lift — and random shapes of 40–60 regions, 60–120 + 14–42 days),
compared with the uncalibrated TBR ("iid", Kerman et al. as published) and Newey–West; the
power at the design's minimum detectable lift (heavy-up and go-dark, one and five candidate
designs); a go-dark test (spend cut to zero, −10 %); and the sensitivity to a steeper trend.

Usage: ``python benchmarks/simulate_geo.py [--scale 0.1]`` (``--scale`` shrinks every count).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats.geo.montecarlo import (
    REFERENCE_SHAPE,
    Panels,
    false_positives_and_coverage,
    go_dark,
    power_at_design,
)


def _se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()

    def n(count: int) -> int:
        return max(20, round(count * args.scale))

    start = time.perf_counter()
    print("## A/A false positives (alpha = 0.05) and coverage of the 95 % interval (+10 % lift)")
    for label, shape in (
        ("reference 48 regions, 91+28 days", REFERENCE_SHAPE),
        ("random shapes", None),
    ):
        for noise in ("iid", "ar1"):
            sims = n(4000)
            seed = 101 if noise == "iid" else 102
            r = false_positives_and_coverage(sims, Panels(noise, seed, shape))
            print(f"{label:34s} {noise:4s} {sims:5d} panels: A/A {r.false_positive_rate:6.2%}"
                  f" (± {_se(r.false_positive_rate, sims):.2%}), coverage {r.coverage:6.2%}"
                  f" (± {_se(r.coverage, sims):.2%}), mean z {r.mean_z:+.3f}")  # fmt: skip

    print("\n## Calibrations compared, reference shape (A/A at alpha, coverage of 1 - alpha)")
    for calibration in ("iid", "newey_west", "ar1"):
        for noise in ("iid", "ar1"):
            for alpha in (0.10, 0.05):
                sims = n(2000)
                panels = Panels(noise, 202 + (noise == "ar1"), REFERENCE_SHAPE)  # type: ignore[arg-type]
                r = false_positives_and_coverage(sims, panels, alpha=alpha, calibration=calibration)
                print(f"{calibration:10s} {noise:4s} alpha {alpha:.2f} {sims:5d} panels:"
                      f" A/A {r.false_positive_rate:6.2%}, coverage {r.coverage:6.2%}")  # fmt: skip

    print("\n## Power at the design's minimum detectable lift (80 % planned, alpha = 0.05)")
    for label, shape in (("reference", REFERENCE_SHAPE), ("random shapes", None)):
        for noise in ("iid", "ar1"):
            for direction in ("heavy_up", "go_dark"):
                for candidates in (1, 5) if shape is not None else (1,):
                    sims = n(2000) if candidates == 1 else n(1000)
                    panels = Panels(noise, 303 + (noise == "ar1"), shape)  # type: ignore[arg-type]
                    p = power_at_design(sims, panels, candidates=candidates, direction=direction)
                    print(f"{label:14s} {noise:4s} {direction:8s} candidates {candidates}"
                          f" {sims:5d} panels: power {p.power:6.2%} (± {_se(p.power, sims):.2%}),"
                          f" mean MDE {p.mean_mde:6.2%}, coverage {p.coverage:6.2%}")  # fmt: skip

    print("\n## Go-dark: spend cut to zero, true effect -10 %")
    for noise in ("iid", "ar1"):
        sims = n(2000)
        g = go_dark(sims, Panels(noise, 404 + (noise == "ar1")))  # type: ignore[arg-type]
        print(f"{noise:4s} {sims:5d} panels: right sign {g.right_sign:6.2%}, significantly"
              f" negative {g.significant_negative:6.2%}, coverage {g.coverage:6.2%},"
              f" iROAS coverage {g.iroas_coverage:6.2%}")  # fmt: skip

    print("\n## Sensitivity to the common trend (reference shape, AR(1) noise)")
    for trend in (0.0, 0.05, 0.10, 0.20):
        sims = n(2000)
        panels = Panels("ar1", 505, REFERENCE_SHAPE, {"trend_per_year": trend})
        r = false_positives_and_coverage(sims, panels)
        print(f"trend {trend:4.0%}/year {sims:5d} panels: A/A {r.false_positive_rate:6.2%},"
              f" coverage {r.coverage:6.2%}, mean z {r.mean_z:+.3f}")  # fmt: skip
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
