"""The weekly review as Markdown (for chat, wikis and e-mail bodies)."""

from __future__ import annotations

from service.reports.channels import CHANNEL_HEADERS, channel_cells
from service.schema import Comparison, GeoResults, PilotReview, WeeklyReport

__all__ = ["render_markdown"]


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def ci(interval: tuple[float, float] | None) -> str:
    return "n/a" if interval is None else f"[{interval[0]:+.1%}, {interval[1]:+.1%}]"


def money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def p_text(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def incremental(c: Comparison) -> str:
    """Incremental conversions (binary and count metrics) with their interval."""
    if c.incremental_conversions is None:
        return ""
    lo_hi = c.incremental_conversions_ci
    band = f" [{lo_hi[0]:+,.0f}, {lo_hi[1]:+,.0f}]" if lo_hi else ""
    return f"{c.incremental_conversions:+,.0f}{band}"


def guardrail_text(c: Comparison) -> str:
    """A guardrail's verdict with its bound against the threshold; a structural-zero guardrail
    shows its absolute rate against its cap (a relative lift over zero means nothing)."""
    g = c.guardrail
    if g is None:
        return ""
    verdict = g.verdict.replace("_", "-")
    if g.rule == "max_rate":
        rate = "n/a" if g.rate is None else f"{g.rate:.3%}"
        bound = "n/a" if g.bound is None else f"{g.bound:.3%}"
        return f"{verdict}: rate {rate}, upper bound {bound}, cap {g.threshold:.3%}"
    bound = "n/a" if g.bound is None else f"{g.bound:+.1%}"
    return f"{verdict}: harm at most {bound}, margin {g.threshold:.0%}"


def lift_text(c: Comparison) -> str:
    if c.guardrail is not None and c.guardrail.rule == "max_rate":
        return "n/a" if c.guardrail.rate is None else f"rate {c.guardrail.rate:.3%}"
    return pct(c.relative_lift)


def money_line(p: PilotReview) -> str:
    """Per variant: incremental profit with its interval, ROI, and the ROI verdict."""
    parts = []
    for m in p.revenue.variants:
        if m.incremental_profit is None:
            continue
        roi_part = f", ROI {roi(m.incremental_roi)} {ci(m.incremental_roi_ci)}"
        if m.incremental_roi is None:
            roi_part = ""
        parts.append(
            f"{m.variant}: profit {money(m.incremental_profit)}"
            f" {ci_money(m.incremental_profit_ci)}{roi_part}"
        )
    return "; ".join(parts)


def geo_line(geo: GeoResults) -> str:
    """A geo pilot in one sentence: regions, test days, incremental KPI and iROAS."""
    period = geo.test_period
    days = f"{period.start}–{period.end}" if period else "not started"
    text = (
        f"Geo pilot ({geo.method.upper()}, {geo.direction.replace('_', '-')}):"
        f" {len(geo.treatment_geos)} treated and {len(geo.control_geos)} control regions,"
        f" test days {days}"
    )
    if geo.incremental is not None:
        text += f"; incremental {geo.metric} {geo.incremental:+,.0f} {ci_money(geo.incremental_ci)}"
    if geo.iroas is not None and geo.iroas_ci is not None:
        text += f"; iROAS {geo.iroas:.2f} [{geo.iroas_ci[0]:.2f}, {geo.iroas_ci[1]:.2f}]"
    return text + "."


def _comparison_row(c: Comparison) -> str:
    return (
        f"| {c.variant} | {c.metric} | {lift_text(c)} | {ci(c.relative_ci)} |"
        f" {p_text(c.p_value)} | {p_text(c.p_value_adjusted)} | {incremental(c)} |"
        f" {guardrail_text(c)} |"
    )


def _pilot(p: PilotReview) -> list[str]:
    lines = [
        f"## {p.name} (`{p.key}`) — **{p.decision.action.upper()}**",
        "",
        f"Channel {p.channel}; owner {p.owner or 'n/a'}; status {p.status}; day"
        f" {p.days_running:.1f} of {p.planned_duration_days} planned; {p.method} inference.",
    ]
    if p.hypothesis:
        lines.append(f"Hypothesis: {p.hypothesis}")
    lines += [
        "",
        ("Regions: " if p.geo else "Customers: ")
        + ", ".join(f"{g} {n:,}" for g, n in p.customers.items()),
        "",
        "| variant | metric | relative lift | interval | p | adjusted p | incremental |"
        " guardrail |",
        "|---|---|---:|---|---:|---:|---:|---|",
        *(_comparison_row(c) for c in [*p.primary, *p.guardrails]),
        "",
        f"Incremental revenue {money(p.revenue.incremental_revenue)}"
        f" {ci_money(p.revenue.incremental_revenue_ci)}, cost {money(p.revenue.cost)},"
        f" incremental ROI {roi(p.revenue.incremental_roi)}.",
        *([f"Per variant: {money_line(p)}."] if money_line(p) else []),
        "",
        "Decision per variant: "
        + ", ".join(f"{d.variant} **{d.action}**" for d in p.decision.variants)
        + ".",
        "",
        "Reasons:",
        *(f"- {r}" for r in p.decision.reasons),
    ]
    if p.final_decision:
        lines += ["", f"**Concluded: {p.final_decision}.** {p.final_note or ''}".rstrip()]
    if p.decision.needed_customers:
        days = f" (about {p.decision.needed_days} days)" if p.decision.needed_days else ""
        lines += ["", f"Still needs {p.decision.needed_customers:,} customers{days}."]
    if p.geo is not None:
        lines += ["", geo_line(p.geo)]
    if p.warnings:
        lines += ["", "Data quality:", *(f"- ⚠ {w}" for w in p.warnings)]
    lines += ["", "Since last week:", *(f"- {c}" for c in p.changes), ""]
    return lines


def ci_money(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:,.0f}, {interval[1]:,.0f}]"


def roi(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.2f}"


def render_markdown(report: WeeklyReport) -> str:
    s = report.summary
    lines = [
        f"# Weekly scale/stop review — {report.week}",
        "",
        f"{report.starts:%Y-%m-%d} to {report.ends:%Y-%m-%d} (UTC); compared with"
        f" {report.compared_with}; generated {report.generated_at:%Y-%m-%d %H:%M} UTC.",
        "",
        f"**{s.pilots} pilot(s): {s.actions.get('scale', 0)} to scale,"
        f" {s.actions.get('stop', 0)} to stop, {s.actions.get('continue', 0)} to continue,"
        f" {s.actions.get('check_data', 0)} to check.** Total incremental revenue"
        f" {money(s.incremental_revenue)}, total cost {money(s.cost)}.",
        "",
    ]
    lines += _channels(report)
    for p in report.pilots:
        lines += _pilot(p)
    if not report.pilots:
        lines.append("No pilot ran during this week.")
    return "\n".join(lines).rstrip() + "\n"


def _channels(report: WeeklyReport) -> list[str]:
    """The channel table (incremental profit against the standing holdouts) and the budget."""
    if not report.channels:
        return []
    return [
        "## Channels: incremental profit and where the budget should go",
        "",
        "| " + " | ".join(CHANNEL_HEADERS) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *("| " + " | ".join(channel_cells(c)) + " |" for c in report.channels),
        "",
        f"**Budget:** {report.budget.summary}" if report.budget else "",
        "",
        *(f"- {c.key}: {c.reason}" for c in report.channels),
        "",
    ]
