"""The weekly review as one self-contained HTML page: inline CSS and inline SVG charts, no
external assets, so it can be mailed, archived and printed as it is."""

from __future__ import annotations

from html import escape

from service.reports.channels import CHANNEL_HEADERS, channel_cells
from service.reports.charts import cumulative_lift_svg, forest_plot_svg, geo_counterfactual_svg
from service.reports.markdown import (
    ci,
    ci_money,
    geo_line,
    guardrail_text,
    incremental,
    lift_text,
    money,
    money_line,
    p_text,
    roi,
)
from service.schema import ACTION_COLOURS, PilotReview, WeeklyReport

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;color:#24292f;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.action{display:inline-block;padding:.1rem .6rem;border-radius:1rem;color:#fff;
font-weight:600;font-size:.85rem}
.summary{background:#f6f8fa;padding:.8rem 1rem;border-radius:6px}
.warn{color:#9a6700}.chart svg{max-width:100%;height:auto}
section.pilot{page-break-inside:avoid}
@media print{body{margin:0}.chart svg{max-width:100%}}
""" + "".join(f".{action}{{background:{colour}}}" for action, colour in ACTION_COLOURS.items())


def _badge(action: str) -> str:
    return f'<span class="action {escape(action)}">{escape(action.upper())}</span>'


def _pilot(p: PilotReview) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.variant)}</td><td>{escape(c.metric)}"
        f"{' (guardrail)' if c.guardrail else ''}</td><td class=num>{escape(lift_text(c))}</td>"
        f"<td>{ci(c.relative_ci)}</td><td class=num>{p_text(c.p_value)}</td>"
        f"<td class=num>{p_text(c.p_value_adjusted)}</td><td class=num>{incremental(c)}</td>"
        f"<td class=guardrail>{escape(guardrail_text(c))}</td></tr>"
        for c in [*p.primary, *p.guardrails]
    )
    reasons = "".join(f"<li>{escape(r)}</li>" for r in p.decision.reasons)
    warnings = "".join(f'<li class="warn">⚠ {escape(w)}</li>' for w in p.warnings)
    changes = "".join(f"<li>{escape(c)}</li>" for c in p.changes)
    series = cumulative_lift_svg(p)
    units = "Regions" if p.geo else "Customers"  # a geo pilot's arms count regions
    variants = ", ".join(f"{escape(d.variant)} {_badge(d.action)}" for d in p.decision.variants)
    final = (
        f"<p><strong>Concluded: {escape(p.final_decision)}.</strong>"
        f" {escape(p.final_note or '')}</p>"
        if p.final_decision
        else ""
    )
    needs = ""
    if p.decision.needed_customers:
        days = f" (about {p.decision.needed_days} days)" if p.decision.needed_days else ""
        needs = f"<p>Still needs {p.decision.needed_customers:,} customers{days}.</p>"
    return f"""
<section class="pilot" id="pilot-{escape(p.key)}">
<h2>{escape(p.name)} <code>{escape(p.key)}</code> {_badge(p.decision.action)}</h2>
<p>Channel {escape(p.channel)} · owner {escape(p.owner or "n/a")} · {escape(p.status)} · day
{p.days_running:.1f} of {p.planned_duration_days} planned · {escape(p.method)} inference</p>
{f"<p><em>{escape(p.hypothesis)}</em></p>" if p.hypothesis else ""}
<p>{units}: {", ".join(f"{escape(g)} {n:,}" for g, n in p.customers.items())}</p>
<table><tr><th>variant</th><th>metric</th><th class=num>relative lift</th><th>interval</th>
<th class=num>p</th><th class=num>adjusted p</th><th class=num>incremental</th>
<th>guardrail</th></tr>{rows}</table>
<p>Incremental revenue {money(p.revenue.incremental_revenue)}
{ci_money(p.revenue.incremental_revenue_ci)} · cost {money(p.revenue.cost)} · incremental ROI
{roi(p.revenue.incremental_roi)}</p>
{f"<p>Per variant: {escape(money_line(p))}.</p>" if money_line(p) else ""}
<p class="variant-decisions">Decision per variant: {variants}</p>
<ul class="reasons">{reasons}</ul>{final}{needs}
{f"<ul>{warnings}</ul>" if warnings else ""}
<p>Since last week:</p><ul>{changes}</ul>
{f'<div class="chart cumulative">{series}</div>' if series else ""}{_geo(p)}
</section>"""


def _geo(p: PilotReview) -> str:
    """A geo pilot's regions, incremental KPI and iROAS, and observed vs counterfactual."""
    if p.geo is None:
        return ""
    chart = geo_counterfactual_svg(p)
    figure = f'<div class="chart geo-counterfactual">{chart}</div>' if chart else ""
    return f'<p class="geo">{escape(geo_line(p.geo))}</p>{figure}'


def _channels(report: WeeklyReport) -> str:
    """The channel table (incremental profit against the standing holdouts) and the budget."""
    if not report.channels:
        return ""
    head = "".join(
        f"<th{' class=num' if 0 < i < len(CHANNEL_HEADERS) - 1 else ''}>{escape(h)}</th>"
        for i, h in enumerate(CHANNEL_HEADERS)
    )
    rows = "".join(
        f'<tr id="channel-{escape(c.key)}">'
        + "".join(
            f"<td{' class=num' if 0 < i < len(cells) - 1 else ''}>{escape(cell)}</td>"
            for i, cell in enumerate(cells)
        )
        + "</tr>"
        for c, cells in ((c, channel_cells(c)) for c in report.channels)
    )
    budget = f'<p class="budget">{escape(report.budget.summary)}</p>' if report.budget else ""
    reasons = "".join(f"<li>{escape(c.key)}: {escape(c.reason)}</li>" for c in report.channels)
    return f"""
<section class="channels" id="channels">
<h2>Channels: incremental profit and where the budget should go</h2>
<table><tr>{head}</tr>{rows}</table>{budget}<ul class="reasons">{reasons}</ul>
</section>"""


def render_html(report: WeeklyReport) -> str:
    s = report.summary
    forest = forest_plot_svg(report.pilots)
    pilots = "".join(_pilot(p) for p in report.pilots) or "<p>No pilot ran during this week.</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Weekly scale/stop review {escape(report.week)}</title><style>{_CSS}</style></head>
<body>
<h1>Weekly scale/stop review — {escape(report.week)}</h1>
<p>{report.starts:%Y-%m-%d} to {report.ends:%Y-%m-%d} (UTC) · compared with
{escape(report.compared_with or "nothing")} · generated {report.generated_at:%Y-%m-%d %H:%M} UTC</p>
<div class="summary"><strong>{s.pilots} pilot(s):</strong>
{_badge("scale")} {s.actions.get("scale", 0)} {_badge("stop")} {s.actions.get("stop", 0)}
{_badge("continue")} {s.actions.get("continue", 0)} {_badge("check_data")}
{s.actions.get("check_data", 0)}<br>Total incremental revenue {money(s.incremental_revenue)}
· total cost {money(s.cost)}</div>
{_channels(report)}
{f'<div class="chart forest">{forest}</div>' if forest else ""}
{pilots}
</body></html>
"""
