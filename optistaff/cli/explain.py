"""``optistaff explain PLAN [--interval HH:MM] [--agent ID]``: which minimums bind, what
one more agent of each skill profile is worth, and what moving an agent would cost —
every gain and loss an exact re-solve of the plan's own scenario.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optistaff.cli.common import (
    StepPrinter,
    on_terminal,
    refuse_infeasible,
    time_limit_option,
    wide_console,
)
from optistaff.errors import UsageError
from optistaff.explain import (
    MINIMUM_LABELS,
    AgentExplanation,
    EquityExplanation,
    IntervalExplanation,
    ResolveOutcome,
    agent_story,
    binding_minimums,
    clock,
    equity_story,
    explain_agent,
    explain_equity,
    explain_interval,
    interval_range_label,
    interval_shortfall,
    interval_story,
    worst_interval,
)
from optistaff.plan import Plan
from optistaff.solvers import SolveStatus
from optistaff.views import equity_lines, objective_lines


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _pct(x: Any) -> str:
    return "-" if x is None or pd.isna(x) else f"{100 * float(x):.1f}%"


def _num(x: Any, fmt: str = ",.2f") -> str:
    return "-" if x is None or pd.isna(x) else format(float(x), fmt)


def _target(kind: str, value: float) -> str:
    return f"{100 * value:.0f}%" if value < 1 or kind != "max_occupancy" else f"{value:.2f}"


def _fit(table: Table) -> Table:
    """The compact look of the other tables (``views.compact_table``): no vertical
    rules, two spaces between columns, numbers never wrapped (text columns wrap at
    words), so that explain reads in an 80-column terminal."""
    table.box = box.SIMPLE_HEAD
    table.padding = (0, 1)
    table.collapse_padding = True
    table.pad_edge = False
    table.show_edge = False
    for column in table.columns:
        if column.justify == "right":
            column.no_wrap = True
        else:  # a long name folds onto a second line rather than being cut
            column.overflow = "fold"
    return table


def interval_table(explanation: IntervalExplanation) -> Table:
    """The queues in one interval: calls, agents against required, SL, abandon, shortfall."""
    plan = explanation.plan
    table = Table(title=f"queues in {explanation.label}", title_justify="left")
    for header in ("queue", "calls", "agents", "required", "SL", "min SL", "abandon", "shortfall"):
        table.add_column(header, justify="left" if header == "queue" else "right")
    for row in _rows(explanation.staffing):
        queue = plan.scenario.queue(str(row["queue"]))
        short = float(
            row["shortfall_sl_calls"]
            + row["shortfall_abandon_calls"]
            + row["shortfall_occupancy_calls"]
        )
        required = row["required_agents"]
        table.add_row(
            queue.id,
            _num(row["calls"], ",.1f"),
            str(row["agents"]),
            "-" if required is None or pd.isna(required) else str(required),
            _pct(row["service_level"]),
            _pct(queue.min_service_level),
            _pct(row["abandon_rate"]) if queue.patience_s is not None else "-",
            _num(short),
            style="red" if short > 1e-9 else "",
        )
    return _fit(table)


def minimums_table(explanation: IntervalExplanation) -> Table:
    table = Table(
        title=f"minimums in {explanation.label} (binds: one agent fewer would raise the shortfall)",
        title_justify="left",
    )
    for header in ("queue", "minimum", "agents", "shortfall", "one fewer", "+ weighted", "binds"):
        table.add_column(header, justify="left" if header in ("queue", "minimum") else "right")
    for row in _rows(explanation.minimums):
        kind = str(row["minimum"])
        table.add_row(
            str(row["queue"]),
            f"{MINIMUM_LABELS[kind]} {_target(kind, float(row['target']))}",
            str(row["agents"]),
            _num(row["shortfall_calls"]),
            _num(row["shortfall_calls_one_fewer"]),
            _num(row["added_weighted_shortfall"]),
            Text("yes", style="bold") if row["binds"] else "no",
        )
    return _fit(table)


def extra_agent_table(explanation: IntervalExplanation) -> Table:
    assert explanation.one_more_agent is not None and explanation.base is not None
    base = explanation.base
    table = Table(
        title=(
            f"one more agent, available {explanation.label} only "
            f"(re-solved; without: weighted shortfall {base.weighted_shortfall:,.3f}, "
            f"total {base.total:,.3f})"
        ),
        title_justify="left",
    )
    for header in ("skills", "working now", "shortfall −", "total +", "placed on", "status"):
        table.add_column(header, justify="left" if header in ("skills", "placed on") else "right")
    for row in _rows(explanation.one_more_agent):
        placed = row["placed_on"]
        table.add_row(
            str(row["skills"]),
            str(row["agents_now"]),
            _num(row["weighted_shortfall_reduction"], ",.3f"),
            _num(row["total_gain"], "+,.3f"),
            "unassigned" if placed is None or pd.isna(placed) else str(placed),
            str(row["status"]),
        )
    return _fit(table)


def timeline_table(explanation: AgentExplanation) -> Table:
    table = Table(title=f"where {explanation.agent} works", title_justify="left")
    for header in ("from", "to", "queue"):
        table.add_column(header)
    for row in _rows(explanation.timeline):
        queue = row["queue"]
        table.add_row(
            str(row["from"]),
            str(row["to"]),
            "unassigned" if queue is None or pd.isna(queue) else str(queue),
        )
    return _fit(table)


def moves_table(explanation: AgentExplanation) -> Table:
    base = explanation.base
    where = (
        f"in {interval_range_label(explanation.plan.scenario, explanation.interval)} "
        f"(now on {explanation.current or 'unassigned'})"
        if explanation.interval is not None
        else "for all of their working intervals"
    )
    table = Table(
        title=(
            f"{explanation.agent} moved {where} (re-solved; as planned: weighted shortfall "
            f"{base.weighted_shortfall:,.3f}, total {base.total:,.3f})"
        ),
        title_justify="left",
    )
    for header in ("moved to", "intervals", "shortfall +", "total −", "status"):
        table.add_column(header, justify="left" if header in ("moved to", "intervals") else "right")
    for row in _rows(explanation.moves):
        queue = row["queue"]
        table.add_row(
            "unassigned" if queue is None or pd.isna(queue) else str(queue),
            str(row["intervals"]),
            _num(row["weighted_shortfall_increase"], ",.3f"),
            _num(row["total_loss"], ",.3f"),
            str(row["status"]),
        )
    return _fit(table)


def day_table(plan: Plan) -> Table:
    """Per interval: weighted shortfall and the minimums that bind."""
    binds = binding_minimums(plan)
    short = interval_shortfall(plan)
    table = Table(title="the day: where the plan falls short, and what binds", title_justify="left")
    table.add_column("interval")
    table.add_column("weighted shortfall", justify="right")
    table.add_column("binding minimums (added weighted shortfall with one agent fewer)")
    sc = plan.scenario
    for t, start in enumerate(sc.horizon.interval_starts()):
        rows = _rows(binds[(binds["interval_start"] == start) & binds["binds"]])
        text = ", ".join(
            f"{r['queue']} {MINIMUM_LABELS[str(r['minimum'])]} "
            f"(+{float(r['added_weighted_shortfall']):,.1f})"
            for r in rows
        )
        value = float(short.get(start, 0.0))
        table.add_row(
            interval_range_label(sc, t),
            _num(value),
            text or "-",
            style="red" if value > 1e-9 else "",
        )
    return _fit(table)


def _outcome(o: ResolveOutcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"status": str(o.status), "weighted_shortfall": o.weighted_shortfall, "total": o.total}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as text, missing values as None, numpy scalars as Python."""
    out = []
    for row in _rows(frame):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                v = v.strftime("%Y-%m-%d %H:%M")
            elif v is None or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[str(k)] = v
        out.append(clean)
    return out


def _print_equity(ex: EquityExplanation, as_json: bool) -> None:
    """The bottleneck of an equity plan and the lift of one more agent per profile."""
    if as_json:
        click.echo(
            json.dumps(
                {
                    "bottleneck": list(ex.bottleneck),
                    "lowest_service_level": ex.lowest,
                    "one_more_agent": ex.one_more_agent.to_dict(orient="records"),
                },
                indent=2,
                allow_nan=False,
            )
        )
        return
    table = Table(title="one more agent over the whole day, by skill profile", box=box.SIMPLE_HEAD)
    for name, justify in (
        ("skills", "left"),
        ("now", "right"),
        ("lowest SL", "right"),
        ("lift", "right"),
        ("bottleneck SL", "right"),
        ("status", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in ex.one_more_agent.to_dict(orient="records"):
        table.add_row(
            str(row["skills"]),
            str(row["agents_now"]),
            f"{100 * float(row['lowest']):.1f}%",
            f"{100 * float(row['lift']):+.1f} pt",
            f"{100 * float(row['bottleneck_sl']):.1f}%",
            str(row["status"]),
        )
    out = wide_console(table)
    for line in [*equity_lines(ex.plan)[:1], *objective_lines(ex.plan)]:
        out.print(line, highlight=False)
    out.print()
    out.print(" ".join(equity_story(ex)), highlight=False)
    out.print(table)


@click.command("explain")
@click.argument("plan_dir", metavar="PLAN", type=click.Path(path_type=Path))
@click.option(
    "--interval",
    "interval",
    default=None,
    metavar="HH:MM",
    help="The interval to explain (default: where the plan falls shortest).",
)
@click.option(
    "--agent",
    "agent",
    default=None,
    metavar="ID",
    help="Explain one agent: where they work, and what moving them would cost.",
)
@click.option(
    "--no-resolve",
    is_flag=True,
    help="Only the binding minimums (no re-solves for one more agent).",
)
@time_limit_option("Seconds each re-solve may use (overrides policy.time_limit_s).")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def command(
    plan_dir: Path,
    interval: str | None,
    agent: str | None,
    no_resolve: bool,
    time_limit_s: float | None,
    as_json: bool,
) -> None:
    """Explain PLAN (a plan directory): which minimums bind in an interval and the exact
    gain of one more agent of each skill profile there; or, with --agent, where that agent
    works and what the plan would lose if they worked elsewhere."""
    from optistaff.plan import read_plan

    if not plan_dir.is_dir():
        raise UsageError(
            f"{plan_dir}: not a plan directory (solve a scenario first: optistaff solve "
            "SCENARIO -o DIR)"
        )
    plan = read_plan(plan_dir)
    refuse_infeasible(plan, plan_dir, "explain")
    steps = on_terminal(StepPrinter, Console(stderr=True))
    try:
        if agent is not None:
            if no_resolve:
                raise UsageError("--no-resolve: an agent's moves need re-solves")
            explanation = explain_agent(
                plan, agent, interval, time_limit_s=time_limit_s, progress=steps
            )
            if steps is not None:
                steps.close()
            if as_json:
                click.echo(json.dumps(_agent_json(explanation), indent=2, allow_nan=False))
                return
            tables = [timeline_table(explanation), moves_table(explanation)]
            out = wide_console(*tables)
            for line in objective_lines(plan):
                out.print(line, highlight=False)
            out.print()
            out.print(" ".join(agent_story(explanation)), highlight=False)
            out.print()
            for table in tables:
                out.print(table)
            _warn_not_optimal(out, explanation.moves["status"], explanation.base)
            return
        if plan.scenario.policy.objective == "equity" and interval is None and not no_resolve:
            equity = explain_equity(plan, time_limit_s=time_limit_s, progress=steps)
            if steps is not None:
                steps.close()
            _print_equity(equity, as_json)
            return
        chosen = interval if interval is not None else worst_interval(plan)
        ex = explain_interval(
            plan,
            chosen,
            one_more_agent=not no_resolve,
            time_limit_s=time_limit_s,
            progress=steps,
        )
    finally:
        if steps is not None:
            steps.close()
    if as_json:
        click.echo(json.dumps(_interval_json(ex), indent=2, allow_nan=False))
        return
    day = day_table(plan) if interval is None else None
    tables = [interval_table(ex), minimums_table(ex)]
    if ex.one_more_agent is not None:
        tables.append(extra_agent_table(ex))
    out = wide_console(*tables) if day is None else wide_console(day, *tables)
    for line in objective_lines(plan):
        out.print(line, highlight=False)
    if day is not None:
        out.print(day)
        out.print(
            f"explaining {ex.label}, where the plan falls shortest "
            f"(choose another with --interval HH:MM):",
            highlight=False,
        )
    out.print()
    out.print(" ".join(interval_story(ex)), highlight=False)
    out.print()
    for table in tables:
        out.print(table)
    if ex.one_more_agent is not None:
        _warn_not_optimal(out, ex.one_more_agent["status"], ex.base)


def _warn_not_optimal(out: Console, statuses: pd.Series, base: ResolveOutcome | None) -> None:
    if base is not None and base.optimised_for is not None:
        out.print(
            f"[yellow]note:[/] the re-solves choose plans by the {base.optimised_for} model "
            "and report their time-varying figures: the gains compare those figures, "
            "not proven optima"
        )
        return
    if any(s != "optimal" for s in statuses) or (
        base is not None and base.status != SolveStatus.OPTIMAL
    ):
        out.print(
            "[yellow]note:[/] some re-solves hit the time limit (status feasible): their "
            "gains are bounds of the best plans found, not exact; raise --time-limit"
        )


def _interval_json(ex: IntervalExplanation) -> dict[str, Any]:
    sc = ex.plan.scenario
    return {
        "plan": {"scenario": sc.name, "status": str(ex.plan.status), **ex.plan.objective},
        "summary": interval_story(ex),
        "interval": {
            "index": ex.interval,
            "start": sc.horizon.label(ex.interval),
            "from": clock(sc, ex.interval),
            "to": clock(sc, ex.interval + 1),
        },
        "staffing": _records(ex.staffing),
        "minimums": _records(ex.minimums),
        "base": _outcome(ex.base),
        "one_more_agent": None if ex.one_more_agent is None else _records(ex.one_more_agent),
    }


def _agent_json(ex: AgentExplanation) -> dict[str, Any]:
    sc = ex.plan.scenario
    return {
        "plan": {"scenario": sc.name, "status": str(ex.plan.status), **ex.plan.objective},
        "agent": ex.agent,
        "summary": agent_story(ex),
        "interval": None if ex.interval is None else sc.horizon.label(ex.interval),
        "current": ex.current,
        "timeline": _records(ex.timeline),
        "base": _outcome(ex.base),
        "moves": _records(ex.moves),
    }
