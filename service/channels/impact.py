"""The cumulative impact of a channel's pilots: the naive sum of their measured incremental
revenue next to the empirical-Bayes shrunk sum (:func:`stats.shrinkage.shrink_pilots`).

Adding up the pilots that came out significant winners over-states what they deliver (the
winner's curse); the shrunk sum pulls each pilot towards the channel's mean by its noise. The
channel holdout measures the truth the two sums try to add up to, so the review shows all
three. Each pilot is read fixed-horizon as of the period's end (or the look, if earlier), so a
period's figures do not move with later data.
"""

from __future__ import annotations

from datetime import datetime
from statistics import NormalDist

from sqlalchemy import Engine

from service.channels.lifecycle import ChannelRecord
from service.pilots.lifecycle import list_pilots
from service.results.analyze import Options
from service.results.present import struct_from
from service.results.read import compute_results
from service.schema import ChannelPilots, Pilot, PilotImpact
from stats.shrinkage import shrink_pilots

__all__ = ["pilots_impact"]


def _ran_during(pilot: Pilot, begins: datetime, ends: datetime) -> bool:
    if pilot.started_at is None or pilot.started_at >= ends:
        return False
    finished = pilot.concluded_at or pilot.stopped_at
    return finished is None or finished >= begins


def _measured(engine: Engine, pilot: Pilot, look: datetime) -> tuple[float, float] | None:
    """(incremental revenue, its standard error) of a pilot, or ``None`` while undefined."""
    revenue = compute_results(engine, pilot.key, look, Options(method="fixed")).revenue
    if revenue.incremental_revenue is None or revenue.incremental_revenue_ci is None:
        return None
    lo, hi = revenue.incremental_revenue_ci
    # The fixed-horizon revenue interval is normal: half-width = z · se.
    se = (hi - lo) / (2 * NormalDist().inv_cdf(1 - pilot.alpha / 2))
    return (revenue.incremental_revenue, se) if se > 0 else None


def pilots_impact(
    engine: Engine, record: ChannelRecord, begins: datetime, ends: datetime, as_of: datetime
) -> ChannelPilots:
    """Naive and shrunk sums over the channel's pilots that ran during ``[begins, ends)``."""
    look = min(as_of, ends)
    pilots = [
        p for p in list_pilots(engine) if p.channel == record.key and _ran_during(p, begins, look)
    ]
    measured = [(p, _measured(engine, p, look)) for p in pilots]
    usable = [(p, m) for p, m in measured if m is not None]
    if not usable:
        return ChannelPilots(
            status="no_pilots",
            message="No pilot of this channel has a revenue estimate in this period.",
            pilots=[],
            naive_sum=0.0,
            naive_sum_ci=None,
            naive_winners_sum=0.0,
        )
    alpha = record.design.alpha
    s = shrink_pilots([m[0] for _, m in usable], [m[1] for _, m in usable], alpha=alpha)
    posterior = s.posterior_means or (None,) * len(usable)
    # status, message and the sums are the shrinkage's own, copied by name
    return struct_from(
        ChannelPilots,
        s,
        pilots=[
            PilotImpact(
                key=p.key,
                status=p.status,
                incremental_revenue=m[0],
                se=m[1],
                winner=won,
                shrunk=shrunk,
            )
            for (p, m), won, shrunk in zip(usable, s.winners, posterior)
        ],
    )
