"""Full-size seeded simulations of the group-sequential test (``stats/group_sequential.py``).

Binary pilots (5 % baseline, 10 % relative lift) planned with ``plan_pilot`` at α = 5 % and 80 %
power, their customers multiplied by the inflation factor for four equally spaced looks, and
looked at four times. Prints, per split and spacing of the looks: the boundaries used, the share
of A/A pilots ever significant (the fixed-horizon test peeked at the same looks for contrast),
the power at the planned lift, and the customers used on average when the lift is real; and, on
a subsample, the same for today's always-valid confidence sequence.

    python benchmarks/simulate_group_sequential.py [SIMS [CONFIDENCE_SEQUENCE_SIMS]]

The tests (``tests/stats/test_group_sequential.py``) run the same functions at reduced size.
"""

from __future__ import annotations

import sys

from stats.group_sequential import boundaries, equally_spaced, inflation_factor
from stats.simulation.group_sequential import (
    ALPHA,
    BASELINE,
    MIN_LIFT,
    PLANNED_LOOKS,
    SCENARIOS,
    design,
    simulate,
)


def main(sims: int = 1_000_000, cs_sims: int = 100_000) -> None:
    eq = boundaries(equally_spaced(PLANNED_LOOKS), ALPHA)
    print(f"O'Brien-Fleming-type spending, {PLANNED_LOOKS} equally spaced looks, alpha = {ALPHA}:")
    print("  z boundaries      " + ", ".join(f"{z:.4f}" for z in eq.z))
    print("  nominal alpha     " + ", ".join(f"{a:.6f}" for a in eq.nominal_alpha))
    print("  cumulative spent  " + ", ".join(f"{a:.6f}" for a in eq.spent))
    for power in (0.8, 0.9):
        print(
            f"  inflation factor at {power:.0%} power: "
            + ", ".join(f"{k} looks {inflation_factor(k, ALPHA, power):.4f}" for k in (2, 3, 4, 5))
        )
    print(f"\nBinary pilots: baseline {BASELINE:.0%}, relative lift {MIN_LIFT:.0%}, {sims:,} each")
    for i, (name, share, looks) in enumerate(SCENARIOS):
        d = design(share)
        aa = simulate(sims, d, lift=0.0, looks=looks, seed=100 + i, sequential_sims=cs_sims)
        h1 = simulate(sims, d, lift=MIN_LIFT, looks=looks, seed=200 + i, sequential_sims=cs_sims)
        fixed = f"{d.fixed_holdout:,} + {d.fixed_variant:,}"
        print(f"- {name}: planned {d.holdout:,} holdout + {d.variant:,} variant"
              f" (fixed-horizon {fixed}, x {d.factor:.4f})")  # fmt: skip
        print("    looks at " + ", ".join(f"{t:.3f}" for t in aa.looks)
              + "; boundaries " + ", ".join(f"{z:.4f}" for z in aa.z))  # fmt: skip
        print(f"    A/A ever significant {aa.significant:.2%} (MC se {aa.mc_se:.2%});"
              f" fixed-horizon test peeked at the same looks {aa.fixed_peeking:.2%}")  # fmt: skip
        print(f"    power at the planned lift {h1.significant:.2%} (MC se {h1.mc_se:.2%});"
              f" customers used on average {h1.mean_fraction:.1%} of planned")  # fmt: skip
        print(f"    today's confidence sequence on the first {aa.sequential_sims:,} of each:"
              f" A/A {aa.sequential:.2%}, power {h1.sequential:.2%}")  # fmt: skip


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
