"""``optistaff solve SCENARIO``: solve one shift and write its plan directory."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from optistaff.errors import SolveError
from optistaff.loading import MAX_THREADS
from optistaff.plan import Plan
from optistaff.solvers import Progress, SolveStatus


def queue_table(plan: Plan, title: str | None = None) -> Table:
    """The per-queue table: calls, SL vs its minimum, abandon, agent-hours, shortfall
    (calls and weighted) and value. Columns for standards no queue has are left out."""
    scenario = plan.scenario
    hours_per_interval = scenario.horizon.interval_minutes / 60.0
    daily = any(q.daily_service_level is not None for q in scenario.queues)
    abandon = any(q.patience_s is not None for q in scenario.queues)
    headers = ["queue", "calls", "SL", "min SL"]
    headers += ["daily min"] if daily else []
    headers += ["abandon"] if abandon else []
    headers += ["agent-h", "short", "weighted", "value"]
    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header, justify="left" if header == "queue" else "right")
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


def output_console() -> Console:
    """stdout console; when stdout is not a terminal, wide enough never to cut a table."""
    import sys

    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def objective_lines(plan: Plan) -> list[str]:
    obj = plan.summary["objective"]
    limit = ""
    if plan.status == SolveStatus.FEASIBLE:
        bound, gap = plan.summary["bound"], plan.summary["gap"]
        limit = (
            f" (time limit reached: bound {bound:,.4f}, gap {gap:.2e})"
            if bound is not None and gap is not None
            else " (time limit reached: the best plan found; no bound proven, gap unknown)"
        )
    lines = [
        f"status: {plan.status}{limit}",
        f"weighted shortfall {obj['weighted_shortfall']:,.3f} · value {obj['value']:,.3f} · "
        f"cost {obj['cost']:,.2f} · switches {obj['switches']} ({obj['switching']:,.2f}) · "
        f"total {obj['total']:,.3f}",
    ]
    if plan.called_in:
        lines.append(f"called in: {', '.join(plan.called_in)}")
    return lines


def short_search_warning(plan: Plan) -> str | None:
    """A plan stopped by the time limit whose search had under a quarter of it: the
    fixed steps (reading, tables, naming, writing) took the rest, so more time would
    buy a much better plan."""
    if plan.status != SolveStatus.FEASIBLE:
        return None
    limit = float(plan.summary["solver"]["time_limit_s"])
    search = float(plan.summary["timing"]["solve_s"])
    if search >= 0.25 * limit:
        return None
    return (
        f"the search had only {search:.1f} s of the {limit:g} s time limit: reading the "
        "scenario, building the tables and writing the plan take the rest on a center "
        "this size; a longer --time-limit gives a better plan and a smaller gap"
    )


class ProgressPrinter:
    """Shows the best objective and bound on stderr while a long solve runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Any = None

    def __call__(self, event: Progress) -> None:
        if event.elapsed_s < 1.0:
            return
        if event.stage == "intervals":
            text = f"solving interval {event.intervals_done + 1}/{event.intervals_total}"
        else:
            what = "weighted shortfall" if event.stage == "shortfall" else "value"
            text = (
                f"{what}: best {event.objective:,.4f}, bound {event.bound:,.4f} "
                f"({event.elapsed_s:.0f} s)"
            )
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()


def finite_seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """FloatRange lets nan and inf through; a time limit must be a finite number."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number of seconds, got {value}")
    return value


@click.command("solve")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    default=None,
    help="Plan directory to write (default: plans/<scenario name>).",
)
@click.option(
    "--time-limit",
    "time_limit_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    callback=finite_seconds,
    help="Seconds for the whole solve, from reading the scenario to the plan written: "
    "the solver gets what the other steps leave (overrides policy.time_limit_s).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    default=None,
    help="Solver threads (overrides policy.threads).",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
def command(
    scenario: Path,
    output: Path | None,
    time_limit_s: float | None,
    threads: int | None,
    as_json: bool,
) -> None:
    """Solve SCENARIO and write its plan (scenario.yaml, summary.json, staffing.csv,
    assignments.csv)."""
    from optistaff._clock import command_started
    from optistaff.loading import load_scenario
    from optistaff.pipeline import solve

    started = command_started()  # the time limit covers start-up, loading and writing too
    loaded = load_scenario(scenario)
    err = Console(stderr=True)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning:[/] {warning}")
    printer = ProgressPrinter(err) if sys.stderr.isatty() else None
    try:
        plan = solve(
            loaded, time_limit_s=time_limit_s, threads=threads, progress=printer, started=started
        )
    finally:
        if printer is not None:
            printer.close()
    if plan.status == SolveStatus.INFEASIBLE:
        pins = ", ".join(
            f"{p.agent}→{p.queue or 'unassigned'} {p.from_}-{p.to}" for p in loaded.pins
        )
        raise SolveError(f"the pins cannot all hold together; no plan written. Pins: {pins}")
    hurried = short_search_warning(plan)
    if hurried is not None:
        err.print(f"[yellow]warning:[/] {hurried}")
    directory = output if output is not None else Path("plans") / loaded.name
    written = plan.write(directory)
    if as_json:
        summary = json.loads((written / "summary.json").read_text())
        click.echo(json.dumps(summary, indent=2))
        return
    out = output_console()
    out.print(queue_table(plan, title=f"{loaded.name}: plan written to {written}"))
    for line in objective_lines(plan):
        out.print(line)
    if not math.isfinite(plan.summary["objective"]["total"]):  # pragma: no cover
        raise SolveError("the objective is not finite (a bug in optistaff: please report it)")
