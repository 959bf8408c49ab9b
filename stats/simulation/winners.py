"""Seeded simulation of the winner's curse: summing the significant pilots of a channel
against the empirical-Bayes shrunk sum (:mod:`stats.shrinkage`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stats.shrinkage import shrink_pilots


@dataclass(frozen=True)
class WinnersCurse:
    """Errors of the channel's claimed totals over ``sims`` simulated channels.

    *Winners*: the truth is the winners' true total ``Σ_W θ_i`` (what was scaled, and what the
    channel holdout then measures); compared are the naive ``Σ_W y_i`` and the shrunk
    ``Σ_W θ̂_i``. *Channel*: the truth is every pilot's ``Σθ_i``; compared are the naive winners'
    sum, the shrunk ``Σθ̂_i`` and the naive ``Σy_i``.
    """

    sims: int
    pilots: int
    sims_with_winners: int
    mean_winners: float
    naive_winners_mae: float
    shrunk_winners_mae: float
    shrunk_closer: float  # share of the sims with a winner where the shrunk sum is closer
    naive_winners_bias: float
    shrunk_winners_bias: float
    bias_mc_se: float  # Monte-Carlo se of the shrunk bias
    winners_coverage: float  # of the shrunk winners' interval (1 − α)
    channel_naive_winners_mae: float
    channel_shrunk_mae: float
    channel_naive_mae: float
    channel_shrunk_closer: float  # share where Σθ̂ is closer to Σθ than the winners' sum
    channel_coverage: float


def winners_curse(
    sims: int,
    *,
    pilots: int = 12,
    mu: float = 0.3,
    tau: float = 1.0,
    null_share: float = 0.0,
    null_sd: float = 0.1,
    se_range: tuple[float, float] = (0.5, 2.0),
    tau2_uncertainty: bool = True,
    seed: int = 16,
) -> WinnersCurse:
    """Channels of ``pilots`` pilots. True effects: with probability ``null_share`` near zero
    (``N(0, null_sd²)``), else ``N(mu, tau²)``; standard errors uniform on ``se_range``; the
    estimate is ``N(θ, s²)``. Units: thousands of euros of incremental revenue per pilot."""
    rng = np.random.default_rng(seed)
    null = rng.random((sims, pilots)) < null_share
    theta = np.where(
        null,
        rng.normal(0.0, null_sd, (sims, pilots)),
        rng.normal(mu, tau, (sims, pilots)),
    )
    se = rng.uniform(*se_range, (sims, pilots))
    y = rng.normal(theta, se)
    rows = []
    for t, s, est in zip(theta, se, y):
        r = shrink_pilots(est, s, tau2_uncertainty=tau2_uncertainty)
        assert r.shrunk_winners_sum is not None and r.shrunk_sum is not None
        assert r.shrunk_winners_ci is not None and r.shrunk_sum_ci is not None
        win = np.array(r.winners)
        true_w, true_all = float(t[win].sum()), float(t.sum())
        rows.append(
            (
                bool(win.any()),
                int(win.sum()),
                r.naive_winners_sum - true_w,
                r.shrunk_winners_sum - true_w,
                r.shrunk_winners_ci[0] <= true_w <= r.shrunk_winners_ci[1],
                r.naive_winners_sum - true_all,
                r.shrunk_sum - true_all,
                r.naive_sum - true_all,
                r.shrunk_sum_ci[0] <= true_all <= r.shrunk_sum_ci[1],
            )
        )
    a = np.array(rows, dtype=float)
    has = a[:, 0] == 1
    return WinnersCurse(
        sims=sims,
        pilots=pilots,
        sims_with_winners=int(has.sum()),
        mean_winners=float(a[:, 1].mean()),
        naive_winners_mae=float(np.abs(a[:, 2]).mean()),
        shrunk_winners_mae=float(np.abs(a[:, 3]).mean()),
        shrunk_closer=float((np.abs(a[has, 3]) < np.abs(a[has, 2])).mean()),
        naive_winners_bias=float(a[:, 2].mean()),
        shrunk_winners_bias=float(a[:, 3].mean()),
        bias_mc_se=float(a[:, 3].std(ddof=1) / math.sqrt(sims)),
        winners_coverage=float(a[:, 4].mean()),
        channel_naive_winners_mae=float(np.abs(a[:, 5]).mean()),
        channel_shrunk_mae=float(np.abs(a[:, 6]).mean()),
        channel_naive_mae=float(np.abs(a[:, 7]).mean()),
        channel_shrunk_closer=float((np.abs(a[:, 6]) < np.abs(a[:, 5])).mean()),
        channel_coverage=float(a[:, 8].mean()),
    )
