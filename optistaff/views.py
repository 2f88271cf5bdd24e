"""Views of a plan that the command line and the HTML report share: the per-queue table
(a rich :class:`~rich.table.Table`) and the status and objective lines.

No click and no printing here: the command line prints these, :mod:`optistaff.report`
turns them into HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from optistaff.plan import Plan
from optistaff.plan_schema import queue_model_of
from optistaff.solvers import SolveStatus

#: How each queue model is named to a planner (tables, reports, comparisons).
QUEUE_MODEL_LABELS = {
    "stationary": "stationary model (each interval in steady state)",
    "time_varying": "time-varying model (the day as it runs: queues carried over)",
}


def model_line(plan: Plan) -> str:
    """Which queue model the plan's figures are from, in words."""
    model = queue_model_of(plan.summary)
    return f"figures: {QUEUE_MODEL_LABELS.get(model, model)}"


def queue_table(plan: Plan, title: str | None = None) -> Table:
    """The per-queue table: calls, SL vs its minimum, abandon, agent-hours, shortfall
    (calls and weighted) and value. Columns for standards no queue has are left out."""
    scenario = plan.scenario
    hours_per_interval = scenario.horizon.interval_minutes / 60.0
    daily = any(q.daily_service_level is not None for q in scenario.queues)
    abandon = any(q.patience_s is not None for q in scenario.queues)
    headers = ["queue", "calls", "SL", "min SL"]
    headers += ["day min"] if daily else []
    headers += ["abandon"] if abandon else []
    headers += ["hours", "short", "w.short", "value"]
    table = compact_table(title, fit=True)
    for header in headers:
        if header == "queue":  # a long name folds onto a second line; numbers never do
            table.add_column(header, justify="left", overflow="fold", min_width=8)
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for queue in scenario.queues:
        totals = plan.summary["queues"][queue.id]
        short = totals["shortfall_calls"]
        row = [
            queue.id,
            f"{totals['calls']:,.0f}",
            _pct(totals["service_level"]),
            _pct(queue.min_service_level),
        ]
        if daily:
            row.append(_pct(queue.daily_service_level))
        if abandon:
            row.append(_pct(totals["abandon_rate"]) if queue.patience_s is not None else "-")
        row += [
            f"{totals['agent_intervals'] * hours_per_interval:,.1f}",
            f"{short:,.1f}",
            f"{totals['weighted_shortfall']:,.1f}",
            f"{totals['value']:,.1f}",
        ]
        table.add_row(*row, style="red" if short > 1e-9 else "")
    return table


#: What the per-queue table's short headers mean (printed under it).
QUEUE_TABLE_LEGEND = (
    "hours: agent-hours on the queue · short: calls short of its minimums, summed over "
    "the intervals (and the day) · w.short: short × the queue's shortfall weight · "
    "value: its value answered · red: short somewhere, even when the day's SL is above "
    "the minimum · abandon -: Erlang C (no patience)"
)


class _FittingTable(Table):
    """A compact table that, where its figures would not fit whole with two spaces
    between columns (a long left column folded to its least width), is drawn with one
    (many queues with daily minimums and abandonment, and five-digit values: rich
    would otherwise cut the last column, its header and all)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        need = 2 * max(len(self.columns) - 1, 0)
        for column in self.columns:
            if column.overflow == "fold":
                need += column.min_width or 1
            else:
                cells = [str(c) for c in column._cells]
                need += max([len(str(column.header))] + [len(c) for c in cells])
        if need <= options.max_width:
            yield from super().__rich_console__(console, options)
            return
        saved = self.padding
        self.padding = (0, 0, 0, 0)
        try:  # (every part produced now, before the padding is put back)
            parts = list(super().__rich_console__(console, options))
        finally:
            self.padding = saved
        yield from parts


def compact_table(title: str | None = None, *, fit: bool = False) -> Table:
    """A table for an 80-column terminal: a rule under the header, no vertical lines,
    two spaces between columns (a 16-character queue name and eight figures fit); with
    ``fit``, one space where the figures would not fit whole otherwise."""
    return (_FittingTable if fit else Table)(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def not_proven_reason(plan: Plan) -> str:
    """Why a ``feasible`` plan is not proven optimal, in words ("" for other statuses):
    another model's optimiser chose it, the time-varying search chose it (nothing is
    proven for that model, ``models/13-carry-over.md``), or the time (or work) limit
    stopped the search (with its bound and gap when there are)."""
    if plan.status != SolveStatus.FEASIBLE:
        return ""
    optimised_for = plan.summary["solver"].get("optimised_for")
    model = queue_model_of(plan.summary)
    if optimised_for is not None:
        return (
            f"chosen by the {optimised_for} optimiser: nothing is proven for the "
            f"{model.replace('_', '-')} figures; no bound"
        )
    if model == "time_varying":
        return "the time-varying search's best plan: nothing is proven for that model; no bound"
    limit = "work limit" if "work_limit" in plan.summary["solver"] else "time limit"
    proof = plan.summary["solver"].get("equity")
    if proof is not None:
        m = sum(1 for q in plan.summary["queues"].values() if q["service_level"] is not None)
        best = proof.get("lowest_bound")
        said = "" if best is None else f"; no plan has a lowest SL above {100 * best:.2f}%"
        return (
            f"{limit} reached: {proof['levels']} of the {m} leximin levels solved, not all "
            f"proven{said}"
        )
    bound, gap = plan.summary["bound"], plan.summary["gap"]
    if bound is not None and gap is not None:
        return f"{limit} reached: bound {bound:,.4f}, gap {gap:.2e}"
    return f"{limit} reached: the best plan found; no bound proven, gap unknown"


#: Queues within this of the lowest service level are "at the bottom" (one tenth of a
#: point: what the tables show).
BOTTOM_WITHIN = 1e-3


@dataclass(frozen=True)
class Spread:
    """The spread of a plan's horizon service levels over the queues with calls."""

    lowest: float
    highest: float
    bottom: tuple[str, ...]  # the queues within BOTTOM_WITHIN of the lowest
    top: str

    @property
    def points(self) -> float:
        return 100 * (self.highest - self.lowest)


def service_level_spread(plan: Plan) -> Spread | None:
    """Lowest and highest horizon SL of ``plan``'s queues with calls (None: none)."""
    levels = {
        q: float(t["service_level"])
        for q, t in plan.summary["queues"].items()
        if t["service_level"] is not None
    }
    if not levels:
        return None
    lowest = min(levels.values())
    bottom = tuple(q for q, v in levels.items() if v <= lowest + BOTTOM_WITHIN)
    top = max(levels, key=lambda q: levels[q])
    return Spread(lowest, levels[top], bottom, top)


def equity_lines(plan: Plan) -> list[str]:
    """For an ``objective: equity`` plan, what it leads with: the spread of service
    levels, the queues at the bottom, and that value played no part."""
    if plan.scenario.policy.objective != "equity":
        return []
    spread = service_level_spread(plan)
    if spread is None:
        return ["equity: no queue has calls"]
    proof = plan.summary["solver"].get("equity")
    best = None if proof is None else proof.get("lowest_bound")
    bound = ""
    if best is not None and plan.status != SolveStatus.OPTIMAL:
        bound = f", no plan above {100 * best:.2f}%"
    return [
        f"equity: lowest SL {100 * spread.lowest:.2f}% ({', '.join(spread.bottom)}{bound}), "
        f"highest {100 * spread.highest:.1f}% ({spread.top}), spread "
        f"{spread.points:.1f} pts",
        "equity objective: minimum standards first, then the lowest service levels "
        "raised in turn, then least cost; the queues' value plays no part",
    ]


def objective_lines(plan: Plan) -> list[str]:
    """The status (with bound and gap when the time limit stopped the search), the
    objective parts, and the agents called in (when any)."""
    obj = plan.summary["objective"]
    reason = not_proven_reason(plan)
    limit = f" ({reason})" if reason else ""
    lines = [
        f"status: {plan.status}{limit}",
        f"weighted shortfall {obj['weighted_shortfall']:,.3f} · value {obj['value']:,.3f} · "
        f"cost {obj['cost']:,.2f} · switches {obj['switches']} ({obj['switching']:,.2f}) · "
        f"total {obj['total']:,.3f}",
    ]
    if plan.called_in:
        lines.append(f"called in: {', '.join(plan.called_in)}")
    if queue_model_of(plan.summary) != "stationary":
        lines.append(model_line(plan))
    return lines
