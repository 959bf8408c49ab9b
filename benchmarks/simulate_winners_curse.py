"""Full-size seeded simulation of the winner's curse and its empirical-Bayes correction.

For simulated channels of pilots, compares what teams add up (the naive sum of the significant
winners) with the shrunk sum (``stats.shrinkage.shrink_pilots``) against the winners' true total,
and the channel-level sums against every pilot's true total; also the coverage of the shrunk
intervals with and without the Kass–Steffey term for the uncertainty in τ². The reduced version
runs in ``tests/stats/test_shrinkage.py``. Units: thousands of euros of incremental revenue per
pilot; standard errors uniform on 0.5–2.
"""

from __future__ import annotations

import time

from stats.simulation import winners_curse

SIMS = 20_000

SCENARIOS: list[tuple[str, dict[str, float]]] = [
    ("normal N(0.3, 1), 12 pilots", {"pilots": 12}),
    ("normal N(0.3, 1), 6 pilots", {"pilots": 6}),
    ("normal N(0.3, 1), 24 pilots", {"pilots": 24}),
    ("near zero N(0, 0.3²), 12 pilots", {"mu": 0.0, "tau": 0.3}),
    ("70 % ~0, 30 % N(2, 1), 12 pilots", {"mu": 2.0, "tau": 1.0, "null_share": 0.7}),
]


def main() -> None:
    for name, kwargs in SCENARIOS:
        start = time.perf_counter()
        r = winners_curse(SIMS, **kwargs)  # type: ignore[arg-type]
        plain = winners_curse(SIMS, tau2_uncertainty=False, **kwargs)  # type: ignore[arg-type]
        print(f"{name}: {r.sims:,} channels, {r.mean_winners:.2f} winners per channel"
              f" ({r.sims_with_winners / r.sims:.0%} with any)")  # fmt: skip
        print(f"  winners' true total: MAE naive {r.naive_winners_mae:.3f}, shrunk"
              f" {r.shrunk_winners_mae:.3f}; shrunk closer in {r.shrunk_closer:.1%} of channels"
              f" with a winner; bias naive {r.naive_winners_bias:+.3f}, shrunk"
              f" {r.shrunk_winners_bias:+.3f} (MC se {r.bias_mc_se:.3f})")  # fmt: skip
        print(f"  coverage of the 95% shrunk interval: winners {r.winners_coverage:.2%}"
              f" (without the tau2 term {plain.winners_coverage:.2%}), all pilots"
              f" {r.channel_coverage:.2%} ({plain.channel_coverage:.2%})")  # fmt: skip
        print(f"  every pilot's true total: MAE naive winners {r.channel_naive_winners_mae:.3f},"
              f" shrunk all {r.channel_shrunk_mae:.3f}, naive all {r.channel_naive_mae:.3f};"
              f" shrunk closer than the winners' sum in {r.channel_shrunk_closer:.1%}"
              f"  [{time.perf_counter() - start:.1f} s]")  # fmt: skip


if __name__ == "__main__":
    main()
