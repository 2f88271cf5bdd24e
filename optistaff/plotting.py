"""Plots of a plan (matplotlib). Each function takes a :class:`~optistaff.plan.Plan` (or
several) and an optional axis, draws on it, and returns the axis.

Without an axis a new :class:`matplotlib.figure.Figure` is made directly (no pyplot,
no global state, any backend); in a notebook pass ``ax`` from ``plt.subplots()`` or
show ``ax.figure``. Queues keep one color across every plot (:func:`queue_colors`).

>>> import matplotlib.pyplot as plt                       # doctest: +SKIP
>>> fig, ax = plt.subplots(figsize=(12, 4))               # doctest: +SKIP
>>> staffing_heatmap(plan, ax=ax)                         # doctest: +SKIP
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any, Literal

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from optistaff.plan import Plan
from optistaff.plan_schema import is_queue_figure

_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
UNASSIGNED_COLOR = "#d9d9d9"


def queue_colors(plan: Plan) -> dict[str, str]:
    """One color per queue, in scenario order: matplotlib's ten up to ten queues; beyond,
    hues spaced by the golden angle in three lightness bands (:func:`distinct_colors`),
    so that 30 and more queues stay told apart."""
    ids = list(plan.scenario.queue_ids)
    if len(ids) <= len(_PALETTE):
        return {q: _PALETTE[i] for i, q in enumerate(ids)}
    return dict(zip(ids, distinct_colors(len(ids)), strict=True))


def distinct_colors(count: int) -> list[str]:
    """``count`` colors (``#rrggbb``): golden-angle hues, lightness cycling every ten."""
    out = []
    for i in range(count):
        hue = (i * 0.618033988749895) % 1.0
        light = (0.45, 0.62, 0.32)[(i // 10) % 3]
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.75)
        out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return out


#: Above this many agents the timeline is one image of agent rows grouped by skill
#: profile (an agent's row is a few pixels; the groups are labelled), not one labelled
#: bar per run: 2,000 agents took 28 s to draw as bars.
TIMELINE_BARS_UP_TO = 150


def _axis(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _clock_axis(ax: Axes, plan: Plan) -> None:
    h = plan.scenario.horizon
    ax.set_xlim(mdates.date2num(h.start), mdates.date2num(h.end))
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))


def _pivot(plan: Plan, column: str) -> pd.DataFrame:
    """queue × interval_start table of a staffing column (queues in scenario order)."""
    frame = plan.staffing.pivot(index="queue", columns="interval_start", values=column)
    return frame.reindex(list(plan.scenario.queue_ids))


def staffing_heatmap(plan: Plan, ax: Axes | None = None, *, annotate: bool | None = None) -> Axes:
    """Agents placed against agents required by the per-interval minimums, queue ×
    interval: blue cells have agents to spare, red cells fall short by that many agents
    (white: exactly as required; grey: the queue has no per-interval minimum or no calls).
    ``annotate`` writes "placed/required" in the cells (default: when the plan is small)."""
    queues = list(plan.scenario.queue_ids)
    h = plan.scenario.horizon
    ax = _axis(ax, (max(8.0, 0.22 * h.intervals + 3), 0.45 * len(queues) + 1.8))
    placed = _pivot(plan, "agents").to_numpy(dtype=float)
    required = (
        _pivot(plan, "required_agents").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    diff = placed - required
    limit = max(1.0, float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0)
    cmap = _cmap("RdBu").with_extremes(bad="#eeeeee")
    start, end = mdates.date2num(h.start), mdates.date2num(h.end)
    image = ax.imshow(
        np.ma.masked_invalid(diff),
        aspect="auto",
        cmap=cmap,
        norm=TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit),
        extent=(start, end, len(queues) - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(queues)), queues)
    _clock_axis(ax, plan)
    if annotate is None:
        annotate = h.intervals * len(queues) <= 200
    if annotate:
        width = (end - start) / h.intervals
        for qi in range(len(queues)):
            for t in range(h.intervals):
                req = required[qi, t]
                text = f"{placed[qi, t]:.0f}" + ("" if np.isnan(req) else f"/{req:.0f}")
                dark = not np.isnan(req) and abs(diff[qi, t]) > 0.6 * limit
                ax.text(
                    start + (t + 0.5) * width,
                    qi,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    colorbar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
    colorbar.set_label("agents placed − required")
    ax.set_title("Staffing vs. required agents (placed − required)")
    return ax


def occupancy_heatmap(plan: Plan, ax: Axes | None = None) -> Axes:
    """Occupancy per queue and interval (busy agent-time / staffed agent-time, under the
    plan's queue model), 0 to 100 %, with each queue's ``max_occupancy`` named on its
    row (grey: no agent or no calls, where occupancy is null)."""
    occ = _pivot(plan, "occupancy").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    labels = [
        q.id if q.max_occupancy is None else f"{q.id} (max {100 * q.max_occupancy:.0f} %)"
        for q in plan.scenario.queues
    ]
    return _queue_heatmap(
        plan,
        ax,
        100 * occ,
        labels,
        cmap="viridis",
        span=(0.0, 100.0),
        label="occupancy (%)",
        title="Occupancy per queue and interval",
    )


def _queue_heatmap(
    plan: Plan,
    ax: Axes | None,
    cells: np.ndarray,
    labels: Sequence[str],
    *,
    cmap: str,
    span: tuple[float, float],
    label: str,
    title: str,
) -> Axes:
    """``cells`` (queues × intervals; NaN grey) drawn over the plan's clock, one row per
    queue named by ``labels``, colours over ``span``, with a colour bar."""
    h = plan.scenario.horizon
    ax = _axis(ax, (max(8.0, 0.22 * h.intervals + 3), 0.45 * len(labels) + 1.8))
    start, end = mdates.date2num(h.start), mdates.date2num(h.end)
    image = ax.imshow(
        np.ma.masked_invalid(cells),
        aspect="auto",
        cmap=_cmap(cmap).with_extremes(bad="#eeeeee"),
        vmin=span[0],
        vmax=span[1],
        extent=(start, end, len(labels) - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(labels)), list(labels))
    _clock_axis(ax, plan)
    colorbar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
    colorbar.set_label(label)
    ax.set_title(title)
    return ax


def _cmap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


#: Up to this many queues the service level is drawn as lines; above, as a heatmap (30
#: lines over one day are unreadable).
SL_LINES_UP_TO = 10


def service_level_heatmap(plan: Plan, ax: Axes | None = None) -> Axes:
    """Service level minus the queue's per-interval minimum, in points, per queue and
    interval (red: below the minimum; blue: above; grey: no calls, or a queue with no
    per-interval minimum), clipped to ±30 points; each row names its minimum."""
    sl = _pivot(plan, "service_level").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    minimum = np.array(
        [
            np.nan if q.min_service_level is None else q.min_service_level
            for q in plan.scenario.queues
        ]
    )
    labels = [
        f"{q.id} (no min)"
        if q.min_service_level is None
        else f"{q.id} (min {100 * q.min_service_level:.0f} %)"
        for q in plan.scenario.queues
    ]
    return _queue_heatmap(
        plan,
        ax,
        100 * (sl - minimum[:, None]),
        labels,
        cmap="RdBu",
        span=(-30.0, 30.0),
        label="SL − minimum (points)",
        title="Service level against the per-interval minimum",
    )


def service_level_plot(
    plan: Plan, ax: Axes | None = None, *, queues: Sequence[str] | None = None
) -> Axes:
    """Service level per queue over the day (solid, steps per interval), with the
    queue's per-interval minimum (dashed) and daily minimum (dotted) in the same color."""
    ax = _axis(ax, (11.0, 4.5))
    colors = queue_colors(plan)
    h = plan.scenario.horizon
    edges = mdates.date2num([*h.interval_starts(), h.end])
    chosen = list(plan.scenario.queue_ids) if queues is None else list(queues)
    for qid in chosen:
        queue = plan.scenario.queue(qid)
        rows = plan.staffing[plan.staffing["queue"] == qid]
        sl = rows["service_level"].astype(float).to_numpy()
        color = colors[qid]
        ax.stairs(100 * sl, edges, color=color, linewidth=1.8, label=qid, baseline=None)
        if queue.min_service_level is not None:
            ax.hlines(
                100 * queue.min_service_level,
                edges[0],
                edges[-1],
                colors=color,
                linestyles="--",
                linewidth=1,
            )
        if queue.daily_service_level is not None:
            ax.hlines(
                100 * queue.daily_service_level,
                edges[0],
                edges[-1],
                colors=color,
                linestyles=":",
                linewidth=1,
            )
    ax.set_ylim(0, 101)
    ax.set_ylabel("service level (%)")
    _clock_axis(ax, plan)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncols=min(len(chosen), 3), framealpha=0.9)
    ax.set_title("Service level per interval vs. minimum (dashed: per interval, dotted: daily)")
    return ax


def agent_timeline(
    plan: Plan, ax: Axes | None = None, *, agents: Sequence[str] | None = None
) -> Axes:
    """Who works where, when: one row per agent, colored by queue (grey: available but
    unassigned; blank: off shift, on a break, or an optional agent not called in)."""
    sc = plan.scenario
    chosen = [a.id for a in sc.agents] if agents is None else list(agents)
    if len(chosen) > TIMELINE_BARS_UP_TO:
        return _timeline_image(plan, chosen, ax)
    ax = _axis(ax, (11.0, max(2.5, 0.22 * len(chosen) + 1.5)))
    colors = queue_colors(plan)
    h = sc.horizon
    width = mdates.date2num(h.interval_start(1)) - mdates.date2num(h.start)
    frame = plan.assignments
    by_agent = {str(a): g for a, g in frame.groupby("agent", sort=False)}
    for row, agent_id in enumerate(chosen):
        rows = by_agent.get(agent_id)
        if rows is None:
            continue
        starts = mdates.date2num(rows["interval_start"].to_numpy())
        queues = rows["queue"].tolist()
        runs: list[tuple[float, float, str]] = []
        for x, q in zip(starts, queues, strict=True):
            color = UNASSIGNED_COLOR if q is None or pd.isna(q) else colors[str(q)]
            if runs and abs(runs[-1][0] + runs[-1][1] - x) < 1e-9 and runs[-1][2] == color:
                runs[-1] = (runs[-1][0], runs[-1][1] + width, color)
            else:
                runs.append((float(x), width, color))
        for x, w, color in runs:
            ax.broken_barh([(x, w)], (row - 0.4, 0.8), facecolors=color, edgecolor="white", lw=0.3)
    ax.set_yticks(range(len(chosen)), chosen, fontsize=8 if len(chosen) <= 40 else 5)
    ax.set_ylim(len(chosen) - 0.5, -0.5)
    _clock_axis(ax, plan)
    ax.grid(axis="x", alpha=0.3)
    _timeline_legend(ax, colors, fontsize=8)
    ax.set_title("Agent timeline: who is where, when")
    return ax


def _timeline_legend(ax: Axes, colors: dict[str, str], fontsize: int) -> None:
    """The queues' colours and "unassigned", to the right of a timeline (two columns
    beyond 40 entries)."""
    handles = [Patch(color=c, label=q) for q, c in colors.items()]
    handles.append(Patch(color=UNASSIGNED_COLOR, label="unassigned"))
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize=fontsize,
        frameon=False,
        ncols=1 if len(handles) <= 40 else 2,
    )


def timeline_rows(plan: Plan, chosen: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The agents in timeline order (grouped by skill profile, profiles in order of first
    appearance, each group by its agents' first available interval) and their agent ×
    interval codes: 0 not available (or not called in), 1
    available and unassigned, 2 + k on queue k (scenario order)."""
    sc = plan.scenario
    qidx = {q: i for i, q in enumerate(sc.queue_ids)}
    starts = {pd.Timestamp(ts): t for t, ts in enumerate(sc.horizon.interval_starts())}
    skills = {a.id: a.skills for a in sc.agents}
    profiles: dict[tuple[str, ...], int] = {}
    for agent_id in chosen:
        profiles.setdefault(skills[agent_id], len(profiles))
    first = {a.id: next((t for t, ok in enumerate(a.available) if ok), 0) for a in sc.agents}
    # by profile, then by shift start: a group reads as its day
    order = sorted(chosen, key=lambda a: (profiles[skills[a]], first[a]))
    row_of = {a: i for i, a in enumerate(order)}
    codes = np.zeros((len(order), sc.horizon.intervals), dtype=np.int64)
    for agent, ts, queue in plan.assignments.itertuples(index=False):
        r = row_of.get(str(agent))
        if r is not None:
            codes[r, starts[pd.Timestamp(ts)]] = 1 if pd.isna(queue) else 2 + qidx[str(queue)]
    return order, codes


def _timeline_image(plan: Plan, chosen: Sequence[str], ax: Axes | None) -> Axes:
    """:func:`agent_timeline` for a large center: one image, rows grouped by skill profile
    (a line between groups, each labelled with its skills and head count)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    sc = plan.scenario
    order, codes = timeline_rows(plan, chosen)
    ax = _axis(ax, (11.0, max(4.0, 0.02 * len(order) + 2.0)))
    colors = queue_colors(plan)
    cmap = ListedColormap(["#ffffff", UNASSIGNED_COLOR, *colors.values()])
    norm = BoundaryNorm(np.arange(len(colors) + 3) - 0.5, len(colors) + 2)
    h = sc.horizon
    edges = [mdates.date2num(h.interval_start(t)) for t in range(h.intervals)]
    edges.append(mdates.date2num(h.end))
    # a mesh of cells, not an image: Agg resamples an image through float buffers the
    # size of the figure (~360 MB for 2,000 rows), while a mesh draws cell by cell
    ax.pcolormesh(
        np.asarray(edges),
        np.arange(len(order) + 1),
        codes,
        cmap=cmap,
        norm=norm,
        shading="flat",
        edgecolors="none",
        antialiased=False,
    )
    ax.set_ylim(len(order), 0)
    skills = {a.id: a.skills for a in sc.agents}
    groups: list[tuple[tuple[str, ...], int, int]] = []
    for i, agent_id in enumerate(order):
        if groups and groups[-1][0] == skills[agent_id]:
            groups[-1] = (groups[-1][0], groups[-1][1], i + 1)
        else:
            groups.append((skills[agent_id], i, i + 1))
    for _profile, lo, _hi in groups[1:]:
        ax.axhline(lo, color="black", lw=0.4)
    if len(groups) <= 60:
        ax.set_yticks(
            [(lo + hi) / 2 for _p, lo, hi in groups],
            [f"{'+'.join(p)} ({hi - lo})" for p, lo, hi in groups],
            fontsize=6,
        )
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(order)} agents in {len(groups)} skill profiles")
    _clock_axis(ax, plan)
    _timeline_legend(ax, colors, fontsize=7)
    ax.set_title(f"Agent timeline: {len(order)} agents, grouped by skill profile")
    return ax


SHORTFALL_PARTS = (
    ("shortfall_sl_calls", "min SL", "#d62728"),
    ("shortfall_abandon_calls", "max abandon", "#ff9896"),
    ("shortfall_occupancy_calls", "max occupancy", "#9467bd"),
)
DAILY_COLOR = "#8c564b"


def shortfall_by_queue(plan: Plan, ax: Axes | None = None, *, weighted: bool = False) -> Axes:
    """Shortfall per queue over the day, in calls, split by minimum (per-interval SL,
    abandon and occupancy floors, and the daily SL); ``weighted`` multiplies by each
    queue's shortfall weight (the objective's level 1)."""
    sc = plan.scenario
    queues = list(sc.queue_ids)
    ax = _axis(ax, (9.0, 0.45 * len(queues) + 1.6))
    staffing = plan.staffing
    weights = np.array([sc.queue(q).weight if weighted else 1.0 for q in queues])
    left = np.zeros(len(queues))
    ypos = np.arange(len(queues))
    for column, label, color in SHORTFALL_PARTS:
        sums = staffing.groupby("queue")[column].sum().reindex(queues).fillna(0.0).to_numpy()
        values = sums * weights
        ax.barh(ypos, values, left=left, color=color, label=label, height=0.6)
        left += values
    daily = np.array([float(plan.summary["queues"][q]["daily_shortfall"]) for q in queues])
    ax.barh(ypos, daily * weights, left=left, color=DAILY_COLOR, label="daily SL", height=0.6)
    left += daily * weights
    top = float(left.max()) if len(left) else 0.0
    for y, total in zip(ypos, left, strict=True):
        ax.text(
            float(total) + 0.01 * max(top, 1.0), float(y), f"{total:,.1f}", va="center", fontsize=8
        )
    ax.set_yticks(ypos, queues)
    ax.set_ylim(len(queues) - 0.5, -0.5)
    ax.set_xlim(0, max(top, 1.0) * 1.15)
    ax.set_xlabel("weighted shortfall" if weighted else "shortfall (calls)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    what = "Weighted shortfall" if weighted else "Shortfall"
    ax.set_title(f"{what} by queue and minimum (total {left.sum():,.1f})")
    return ax


COMPARE_METRICS = {
    "service_level": ("service level (%)", 100.0),
    "abandon_rate": ("abandon rate (%)", 100.0),
    "shortfall_calls": ("shortfall (calls)", 1.0),
    "weighted_shortfall": ("weighted shortfall", 1.0),
    "agent_intervals": ("agent-hours", None),
    "value": ("value", 1.0),
}


def compare_plans(
    plans: Sequence[Plan],
    ax: Axes | None = None,
    *,
    labels: Sequence[str] | None = None,
    metric: str = "service_level",
) -> Axes:
    """Several plans side by side: one group of bars per queue, one bar per plan, for
    ``metric`` (a per-queue figure of summary.json: service_level, abandon_rate,
    shortfall_calls, weighted_shortfall, agent_intervals (shown as agent-hours), value).
    For service level each queue's minimum is marked."""
    if metric not in COMPARE_METRICS or not is_queue_figure(metric):
        raise ValueError(f"metric must be one of {', '.join(COMPARE_METRICS)}, got {metric!r}")
    if not plans:
        raise ValueError("compare_plans needs at least one plan")
    from optistaff.compare import unique_labels

    names = unique_labels([p.scenario.name for p in plans] if labels is None else labels)
    queues: list[str] = []
    for plan in plans:
        queues += [q for q in plan.scenario.queue_ids if q not in queues]
    ax = _axis(ax, (max(8.0, 1.3 * len(queues) * max(1, len(plans)) / 2 + 3), 4.5))
    ylabel, factor = COMPARE_METRICS[metric]
    width = 0.8 / len(plans)
    x = np.arange(len(queues))
    shades = [_PALETTE[i % len(_PALETTE)] for i in range(len(plans))]
    for i, (plan, name) in enumerate(zip(plans, names, strict=True)):
        scale = factor if factor is not None else plan.scenario.horizon.interval_minutes / 60.0
        values = []
        for q in queues:
            totals = plan.summary["queues"].get(q)
            raw = None if totals is None else totals.get(metric)
            values.append(np.nan if raw is None else float(raw) * scale)
        ax.bar(x - 0.4 + (i + 0.5) * width, values, width, label=name, color=shades[i])
    if metric == "service_level":
        first = plans[0].scenario
        for qi, q in enumerate(queues):
            if q in first.queue_ids:
                target = first.queue(q).min_service_level
                if target is not None:
                    ax.hlines(
                        100 * target, qi - 0.45, qi + 0.45, colors="black", linestyles="--", lw=1
                    )
        ax.set_ylim(0, 105)
    ax.set_xticks(
        x,
        queues,
        rotation=20 if len(queues) > 4 else 0,
        ha="right" if len(queues) > 4 else "center",
    )
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    title = f"{ylabel[0].upper()}{ylabel[1:]} by queue"
    if metric == "service_level":
        title += " (dashed: minimum of the first plan)"
    ax.set_title(title)
    return ax


def compare_objectives(
    plans: Sequence[Plan], ax: Axes | None = None, *, labels: Sequence[str] | None = None
) -> Axes:
    """The objective parts of several plans: value, cost, weighted shortfall and total."""
    from optistaff.compare import unique_labels

    names = unique_labels([p.scenario.name for p in plans] if labels is None else labels)
    parts: tuple[Literal["value", "cost", "switching", "weighted_shortfall", "total"], ...] = (
        "value",
        "cost",
        "switching",
        "weighted_shortfall",
        "total",
    )
    ax = _axis(ax, (9.0, 4.0))
    width = 0.8 / len(plans)
    x = np.arange(len(parts))
    for i, (plan, name) in enumerate(zip(plans, names, strict=True)):
        values = [float(plan.objective[p]) for p in parts]
        bars = ax.bar(
            x - 0.4 + (i + 0.5) * width,
            values,
            width,
            label=name,
            color=_PALETTE[i % len(_PALETTE)],
        )
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, padding=2)
    ax.set_xticks(x, [p.replace("_", " ") for p in parts])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    ax.set_title("Objective parts (total = value − cost − switching)")
    return ax


__all__ = [
    "agent_timeline",
    "compare_objectives",
    "compare_plans",
    "queue_colors",
    "service_level_plot",
    "shortfall_by_queue",
    "staffing_heatmap",
]
