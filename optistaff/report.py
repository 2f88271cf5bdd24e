"""One self-contained HTML page per plan: summary, per-queue table, where the plan falls
short, and every plot of :mod:`optistaff.plotting` embedded as a base64 PNG.

The page loads nothing from anywhere (no scripts, fonts, stylesheets or images by URL),
so it opens in any browser with no network, and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from rich.table import Table
from rich.text import Text

from optistaff import __version__, plotting
from optistaff.plan import Plan, write_file_atomically
from optistaff.scenario import Horizon
from optistaff.views import (
    QUEUE_TABLE_LEGEND,
    equity_lines,
    objective_lines,
    queue_table,
    service_level_spread,
)


@dataclass(frozen=True)
class PlotSpec:
    """One plot of the report: an id (the ``<figure>`` id), a caption, the drawing, and
    the figure's height in inches for a plan (every figure is :data:`FIGURE_WIDTH` wide,
    so that all plots share one scale on the page)."""

    id: str
    caption: str
    draw: Callable[[Plan, Axes | None], Axes]
    height: Callable[[Plan], float]


FIGURE_WIDTH = 13.0


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec(
        "staffing-heatmap",
        "Agents placed minus agents required by the per-interval minimums, per queue and "
        "interval. Red: short by that many agents; blue: to spare; grey: no per-interval "
        "minimum (or no calls).",
        lambda plan, ax: plotting.staffing_heatmap(plan, ax=ax),
        lambda plan: 0.45 * len(plan.scenario.queues) + 1.8,
    ),
    PlotSpec(
        "occupancy",
        "Occupancy per queue and interval: the share of staffed agent-time spent on calls "
        "(grey: no agent or no calls).",
        lambda plan, ax: plotting.occupancy_heatmap(plan, ax=ax),
        lambda plan: 0.45 * len(plan.scenario.queues) + 1.8,
    ),
    PlotSpec(
        "service-level",
        f"Service level per queue and interval against its minimum: up to "
        f"{plotting.SL_LINES_UP_TO} queues as lines (dashed: the per-interval minimum, "
        "dotted: the daily minimum); above, SL minus the per-interval minimum in points "
        "(red: below it; grey: no calls or no minimum).",
        lambda plan, ax: (
            plotting.service_level_plot(plan, ax=ax)
            if len(plan.scenario.queues) <= plotting.SL_LINES_UP_TO
            else plotting.service_level_heatmap(plan, ax=ax)
        ),
        lambda plan: (
            4.8
            if len(plan.scenario.queues) <= plotting.SL_LINES_UP_TO
            else 0.45 * len(plan.scenario.queues) + 1.8
        ),
    ),
    PlotSpec(
        "shortfall-by-queue",
        "Shortfall against the minimums over the day, per queue and kind of minimum, in calls.",
        lambda plan, ax: plotting.shortfall_by_queue(plan, ax=ax),
        lambda plan: 0.45 * len(plan.scenario.queues) + 1.6,
    ),
    PlotSpec(
        "agent-timeline",
        "Who works where, when: one row per agent, colored by queue (grey: available but "
        "unassigned; blank: off shift, on a break, or an optional agent not called in). "
        "Above 150 agents the rows are grouped by skill profile, each group labelled with "
        "its skills and head count.",
        lambda plan, ax: plotting.agent_timeline(plan, ax=ax),
        lambda plan: (
            max(2.5, 0.2 * len(plan.scenario.agents) + 1.5)
            if len(plan.scenario.agents) <= plotting.TIMELINE_BARS_UP_TO
            else max(4.0, 0.02 * len(plan.scenario.agents) + 2.0)
        ),
    ),
)


def figure_png(fig: Figure, dpi: int = 100) -> str:
    """The figure as a base64-encoded PNG (no metadata, so nothing names a URL)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def rich_table_html(table: Table, css_class: str = "data") -> str:
    """A rich Table (e.g. the CLI's per-queue table) as an HTML table: same headers,
    cells, alignment and row emphasis (a red row: the queue falls short)."""
    cols = table.columns
    parts = [f'<table class="{css_class}">']
    if table.title:
        title = table.title.plain if isinstance(table.title, Text) else str(table.title)
        parts.append(f"<caption>{html.escape(title)}</caption>")
    parts.append("<thead><tr>")
    for col in cols:
        header = col.header.plain if isinstance(col.header, Text) else str(col.header)
        parts.append(f'<th class="{col.justify}">{html.escape(header)}</th>')
    parts.append("</tr></thead><tbody>")
    cells = [list(col.cells) for col in cols]
    for i, row in enumerate(table.rows):
        style = str(row.style or "")
        klass = ' class="short"' if "red" in style else ""
        parts.append(f"<tr{klass}>")
        for col, col_cells in zip(cols, cells, strict=True):
            cell = col_cells[i]
            text = cell.plain if isinstance(cell, Text) else str(cell)
            parts.append(f'<td class="{col.justify}">{html.escape(text)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 2rem auto; max-width: 1280px; padding: 0 1.5rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; margin-top: 0; }
.status { display: inline-block; padding: 0.1rem 0.6rem; border-radius: 0.8rem;
          font-weight: 600; font-size: 0.9rem; }
.status.optimal { background: #e3f4e1; color: #1e6b1a; }
.status.feasible { background: #fff3d6; color: #8a5a00; }
.status.infeasible { background: #fde2e1; color: #a11d17; }
.kpis { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.kpi { border: 1px solid #ddd; border-radius: 0.4rem; padding: 0.5rem 0.9rem; min-width: 9rem; }
.kpi .label { color: #666; font-size: 0.85rem; }
.kpi .value { font-size: 1.3rem; font-weight: 600; }
table.data { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
table.data caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
table.data th, table.data td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e5e5e5; }
table.data th { background: #f5f5f5; } .right { text-align: right; } .left { text-align: left; }
.center { text-align: center; } tr.short td { color: #b3261e; }
.nowrap { white-space: nowrap; }
figure { margin: 1.2rem 0 2rem 0; } figure img { max-width: 100%; height: auto;
         border: 1px solid #eee; } figcaption { color: #555; font-size: 0.9rem; }
footer { margin-top: 3rem; color: #888; font-size: 0.85rem; }
.scroll { max-height: 80vh; overflow-y: auto; border: 1px solid #eee; }
table.schedule { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
table.schedule th, table.schedule td { padding: 0.2rem 0.5rem; border-bottom: 1px solid #e5e5e5;
       text-align: left; vertical-align: top; }
table.schedule td.agent { font-weight: 600; white-space: nowrap; }
.block { display: inline-block; margin: 0.05rem 0.3rem 0.05rem 0; padding: 0 0.35rem;
         border-radius: 0.25rem; white-space: nowrap; }
.block.idle { background: #f0f0f0; color: #555; } .block.away { color: #999; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  figure, .scroll, .kpis { break-inside: avoid; } .scroll { max-height: none; overflow: visible; }
  #schedule { break-before: page; } table.schedule tr { break-inside: avoid; }
  table.schedule thead { display: table-header-group; }
  .block { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

#: Figures taller than this (inches) are shown in a scrolling box, not at full height.
TALL_FIGURE_IN = 12.0


def _kpi(label: str, value: str) -> str:
    return (
        f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div></div>'
    )


def _shortfall_section(plan: Plan, top: int = 12) -> str:
    """The intervals where the plan falls shortest, with the minimums binding there."""
    from optistaff.explain import MINIMUM_LABELS, binding_minimums, interval_range_label
    from optistaff.explain import interval_shortfall as shortfall_of

    sc = plan.scenario
    short = shortfall_of(plan)
    short = short[short > 1e-9].sort_values(ascending=False, kind="stable").head(top)
    if short.empty:
        return "<p>No interval falls short of a per-interval minimum.</p>"
    binds = binding_minimums(plan)
    binds = binds[binds["binds"]]
    starts = {s: t for t, s in enumerate(sc.horizon.interval_starts())}
    rows = []
    for start, value in short.items():
        t = starts[pd.Timestamp(cast(datetime, start)).to_pydatetime()]
        staffing = plan.staffing[plan.staffing["interval_start"] == start]
        queues = [
            f"{r['queue']} ({r['agents']}/{r['required_agents']} agents, "
            f"{100 * float(r['service_level'] or 0):.0f}% SL)"
            for r in staffing.to_dict(orient="records")
            if float(
                r["shortfall_sl_calls"]
                + r["shortfall_abandon_calls"]
                + r["shortfall_occupancy_calls"]
            )
            > 1e-9
        ]
        here = binds[binds["interval_start"] == start]
        by_queue: dict[str, list[str]] = {}
        for r in here.to_dict(orient="records"):
            by_queue.setdefault(str(r["queue"]), []).append(MINIMUM_LABELS[str(r["minimum"])])
        binding = "; ".join(f"{q}: {', '.join(kinds)}" for q, kinds in by_queue.items())
        rows.append(
            "<tr>"
            f'<td class="left nowrap">{html.escape(interval_range_label(sc, t))}</td>'
            f'<td class="right">{float(value):,.2f}</td>'
            f'<td class="left">{html.escape(", ".join(queues))}</td>'
            f'<td class="left">{html.escape(binding or "-")}</td>'
            "</tr>"
        )
    return (
        f'<p class="meta">The {len(rows)} intervals with the largest weighted shortfall '
        "against the per-interval minimums, largest first.</p>"
        '<table class="data"><thead><tr><th class="left">interval</th>'
        '<th class="right">weighted shortfall</th><th class="left">queues short '
        "(placed/required agents, SL)</th>"
        '<th class="left">binding minimums (one agent fewer would add shortfall)</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        '<p class="meta">Ask what one more agent would be worth in one of these intervals '
        "with <code>optistaff explain PLAN --interval HH:MM</code>.</p>"
    )


def _schedule_section(plan: Plan) -> str:
    """The printable schedule: one row per working agent, their day as blocks
    ("08:00-10:30 platinum_sales"), each queue in the timeline's colour, lightened for
    the text; printed, it starts on a new page, repeats its header on every page and
    never splits an agent's row."""
    from optistaff.export import AWAY, IDLE, agent_blocks

    sc = plan.scenario
    h = sc.horizon
    dated = h.intervals * h.interval_minutes > 24 * 60
    fmt = "%a %H:%M" if dated else "%H:%M"
    colours = {q: _lighter(c) for q, c in plotting.queue_colors(plan).items()}
    rows = []
    for agent, skills, blocks in agent_blocks(plan):
        cells = []
        for start, end, what in blocks:
            when = f"{h.interval_start(start):{fmt}}-{h.interval_start(end - 1) + _step(h):%H:%M}"
            if what == IDLE:
                cells.append(f'<span class="block idle">{when} idle</span>')
            elif what == AWAY:
                cells.append(f'<span class="block away">{when} away</span>')
            else:
                cells.append(
                    f'<span class="block" style="background:{colours[what]}">{when} '
                    f"{html.escape(what)}</span>"
                )
        rows.append(
            f'<tr><td class="agent">{html.escape(agent)}</td><td>{html.escape(skills)}</td>'
            f"<td>{''.join(cells)}</td></tr>"
        )
    return (
        '<h2 id="schedule">Schedule per agent</h2>'
        f'<p class="meta">{len(rows)} agents working; each block is a run of intervals on '
        "one queue (idle: available, not assigned; away: a break or an absence). Printing "
        "this page puts the schedule on pages of its own.</p>"
        '<table class="schedule"><thead><tr><th>agent</th><th>skills</th><th>day</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _lighter(colour: str, white: float = 0.6) -> str:
    """``#rrggbb`` mixed with ``white`` of white (for a background under text)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * white):02x}" for c in rgb)


def _step(h: Horizon) -> timedelta:
    return timedelta(minutes=h.interval_minutes)


def render_report(plan: Plan, *, source: str | None = None, dpi: int = 100) -> str:
    """The report page of ``plan`` as one HTML string (see the module docstring)."""
    sc = plan.scenario
    h = sc.horizon
    obj = plan.objective
    title = f"optistaff plan: {sc.name}"
    end_format = "%H:%M" if h.end.date() == h.start.date() else "%a %Y-%m-%d %H:%M"
    status = str(plan.status)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(h.start.strftime("%a %Y-%m-%d %H:%M"))} to '
        f"{html.escape(h.end.strftime(end_format))}, {h.intervals} intervals of "
        f"{h.interval_minutes} min · {len(sc.queues)} queues · {len(sc.agents)} agents · "
        f'<span class="status {status}">{html.escape(status)}</span></p>',
    ]
    if sc.description:
        parts.append(f"<p>{html.escape(sc.description.strip())}</p>")
    parts.append('<h2>Summary</h2><div class="kpis">')
    spread = service_level_spread(plan) if sc.policy.objective == "equity" else None
    if spread is not None:  # an equity plan leads with its spread of service levels
        parts.append(_kpi(f"lowest SL ({', '.join(spread.bottom)})", f"{100 * spread.lowest:.1f}%"))
        parts.append(_kpi(f"highest SL ({spread.top})", f"{100 * spread.highest:.1f}%"))
        parts.append(_kpi("SL spread", f"{spread.points:.1f} pts"))
    hours = sum(q["agent_intervals"] for q in plan.summary["queues"].values()) * (
        h.interval_minutes / 60.0
    )
    for label, value in (
        ("total (value − cost − switching)", f"{obj['total']:,.2f}"),
        ("weighted shortfall", f"{obj['weighted_shortfall']:,.2f}"),
        ("value", f"{obj['value']:,.2f}"),
        ("cost", f"{obj['cost']:,.2f}"),
        ("switches", f"{obj['switches']:,}"),
        ("agent-hours on queues", f"{hours:,.2f}"),
    ):
        parts.append(_kpi(label, value))
    parts.append("</div>")
    lines = objective_lines(plan)  # [status, objective parts (shown above), called in]
    shown = equity_lines(plan)[1:] + ([lines[0]] if plan.status != "optimal" else []) + lines[2:]
    parts.append("".join(f'<p class="meta">{html.escape(line)}</p>' for line in shown))
    parts.append("<h2>Queues</h2>")
    parts.append(rich_table_html(queue_table(plan)))
    parts.append(f'<p class="meta">{html.escape(QUEUE_TABLE_LEGEND)}</p>')
    parts.append("<h2>Where the plan falls short</h2>")
    parts.append(_shortfall_section(plan))
    parts.append("<h2>Plots</h2>")
    for spec in PLOTS:
        fig = Figure(figsize=(FIGURE_WIDTH, spec.height(plan)), layout="constrained")
        spec.draw(plan, fig.add_subplot())
        png = figure_png(fig, dpi=dpi)
        img = f'<img alt="{html.escape(spec.id)}" src="data:image/png;base64,{png}">'
        if spec.height(plan) > TALL_FIGURE_IN:  # a large center's timeline: scroll it
            img = f'<div class="scroll">{img}</div>'
        parts.append(
            f'<figure id="{spec.id}">{img}<figcaption>{html.escape(spec.caption)}'
            "</figcaption></figure>"
        )
    parts.append(_schedule_section(plan))
    versions = plan.summary.get("versions", {})
    made = datetime.now().strftime("%Y-%m-%d %H:%M")
    parts.append(
        f"<footer>Made by optistaff {html.escape(__version__)} on {made}"
        + (f" from {html.escape(source)}" if source else "")
        + f" · plan solved with optistaff {html.escape(str(versions.get('optistaff', '?')))}, "
        f"OR-Tools {html.escape(str(versions.get('ortools', '?')))} · scenario "
        f"{html.escape(str(plan.summary.get('scenario', {}).get('content_hash', '')))}</footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    plan: Plan, path: str | os.PathLike[str], *, source: str | None = None, dpi: int = 100
) -> Path:
    """Write the report page to ``path`` (atomically: a complete page or none)."""
    text = render_report(plan, source=source, dpi=dpi)
    return write_file_atomically(path, text.encode("utf-8"))
