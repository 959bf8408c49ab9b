"""Results and timeseries as the service's own types, with ``.to_frame()`` for pandas.

They subclass :mod:`service.schema` Structs (the same types the service encodes), so a field
added to the service appears here without a copy to keep in sync.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from service.schema import ChannelResults, Results, Timeseries

__all__ = ["PilotResults", "PilotTimeseries", "channel_frame"]


def _split(ci: tuple[float, float] | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else (ci[0], ci[1])


class PilotResults(Results):
    """``GET /v1/experiments/{key}/results``; ``to_frame()`` gives one row per comparison."""

    def to_frame(self) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        customers = {a.group: a.customers for a in self.arms}
        for c in self.comparisons:
            abs_lo, abs_hi = _split(c.absolute_ci)
            rel_lo, rel_hi = _split(c.relative_ci)
            rows.append(
                {
                    "variant": c.variant, "metric": c.metric, "kind": c.kind,
                    "guardrail": c.guardrail, "status": c.status,
                    "customers": customers.get(c.variant, 0),
                    "holdout_customers": customers.get("holdout", 0),
                    "exposure_rate": c.exposure_rate,
                    "control_mean": c.control_mean, "treatment_mean": c.treatment_mean,
                    "absolute_lift": c.absolute_lift, "absolute_ci_low": abs_lo,
                    "absolute_ci_high": abs_hi, "relative_lift": c.relative_lift,
                    "relative_ci_low": rel_lo, "relative_ci_high": rel_hi,
                    "p_value": c.p_value, "p_value_adjusted": c.p_value_adjusted,
                    "significant": c.significant, "cuped": c.cuped,
                    "variance_reduction": c.variance_reduction, "method": c.method,
                    "incremental_conversions": c.incremental_conversions,
                }
            )  # fmt: skip
        return pd.DataFrame(rows)

    def arms_frame(self) -> pd.DataFrame:
        """One row per arm and metric: customers, exposed, mean, sd."""
        return pd.DataFrame(
            [
                {"group": a.group, "customers": a.customers, "exposed": a.exposed,
                 "metric": name, "mean": m.mean, "sd": m.sd}
                for a in self.arms
                for name, m in a.metrics.items()
            ]
        )  # fmt: skip


class PilotTimeseries(Timeseries):
    """``GET /v1/experiments/{key}/timeseries``; ``to_frame()`` gives one row per day and
    variant."""

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for p in self.points:
            rel_lo, rel_hi = _split(p.relative_ci)
            rows.append(
                {
                    "date": pd.Timestamp(p.date), "variant": p.variant, "customers": p.customers,
                    "relative_lift": p.relative_lift, "relative_ci_low": rel_lo,
                    "relative_ci_high": rel_hi, "absolute_lift": p.absolute_lift,
                    "p_value": p.p_value,
                }
            )  # fmt: skip
        return pd.DataFrame(rows)


def channel_frame(results: ChannelResults) -> pd.DataFrame:
    """A channel's periods side by side, one row each (``GET /v1/channels/{key}/results``);
    ``frame.attrs["results"]`` keeps the requested period in full, as the service's type."""
    rows = []
    for p in results.periods:
        rev_lo, rev_hi = _split(p.incremental_revenue_ci)
        profit_lo, profit_hi = _split(p.incremental_profit_ci)
        roi_lo, roi_hi = _split(p.roi_ci)
        rows.append(
            {
                "period": p.period, "starts_at": pd.Timestamp(p.starts_at),
                "ends_at": pd.Timestamp(p.ends_at),
                "eligible": p.customers.get("eligible", 0),
                "channel_holdout": p.customers.get("channel_holdout", 0),
                "incremental_revenue": p.incremental_revenue,
                "incremental_revenue_ci_low": rev_lo, "incremental_revenue_ci_high": rev_hi,
                "cost": p.cost, "incremental_profit": p.incremental_profit,
                "incremental_profit_ci_low": profit_lo, "incremental_profit_ci_high": profit_hi,
                "roi": p.roi, "roi_ci_low": roi_lo, "roi_ci_high": roi_hi,
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows).set_index("period") if rows else pd.DataFrame()
    frame.attrs["results"] = results
    return frame
