"""Full-size seeded simulations of the statistics (the tests run reduced sizes).

Prints the A/A false-positive rate under weekly peeking (sequential vs fixed), coverage of the
fixed-horizon 95 % intervals, power at the planned lift, and CUPED's variance reduction and bias.
"""

from __future__ import annotations

from stats.simulation import (
    aa_weekly_peeking,
    coverage_binary,
    coverage_revenue,
    cuped_reduction,
    power_at_plan,
)


def main() -> None:
    r = aa_weekly_peeking(10_000)
    print(f"A/A, 4 weekly looks, {r.sims:,} pilots: ever significant"
          f" group-sequential {r.sequential:.2%}, always-valid {r.always_valid:.2%},"
          f" fixed {r.fixed:.2%}")  # fmt: skip
    for name, cov in (("binary", coverage_binary(20_000)), ("revenue", coverage_revenue(5_000))):
        print(f"coverage of 95% fixed intervals, {name}, {cov.sims:,} sims:"
              f" absolute {cov.absolute:.2%}, relative {cov.relative:.2%}")  # fmt: skip
    p = power_at_plan(10_000)
    print(f"power at the planned lift ({p.per_arm:,} per arm), {p.sims:,} sims:"
          f" {p.observed:.2%} (planned {p.planned_power:.0%})")  # fmt: skip
    c = cuped_reduction(2_000)
    print(f"CUPED, rho={c.rho}, {c.sims:,} sims: variance reduction {c.mean_reduction:.3f}"
          f" (rho^2 = {c.rho**2:.3f}), bias {c.bias:+.5f} (MC se {c.bias_se:.5f}),"
          f" sd of estimate {c.cuped_sd:.4f} vs plain {c.plain_sd:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
