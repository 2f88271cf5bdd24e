"""``optistaff solve SCENARIO``: solve one shift and write its plan directory."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click
from rich.console import Console

from optistaff.cli.common import (
    output_option,
    print_warnings,
    queue_model_option,
    solve_with_progress,
    time_limit_option,
    with_queue_model,
    work_limit_option,
)
from optistaff.errors import SolveError
from optistaff.loading import MAX_THREADS
from optistaff.plan import Plan
from optistaff.solvers import SolveStatus
from optistaff.views import QUEUE_TABLE_LEGEND, equity_lines, objective_lines, queue_table


def output_console() -> Console:
    """stdout console; when stdout is not a terminal, wide enough never to cut a table."""
    import sys

    return Console() if sys.stdout.isatty() else Console(width=200, soft_wrap=True)


def short_search_warning(plan: Plan, elapsed_s: float) -> str | None:
    """A plan stopped by the time limit whose search had under a quarter of it: the fixed
    work (everything but the search: start-up, reading, tables, naming, evaluation,
    writing; ``elapsed_s`` is the whole command so far) took the rest. Says how long that
    work took, so that the planner knows the least limit that buys a search; when the
    limit is below it, the command ended as soon as that work was done."""
    if plan.status != SolveStatus.FEASIBLE or plan.summary["solver"].get("optimised_for"):
        return None
    if "work_limit" in plan.summary["solver"]:
        return None  # (a limit on the search's work: the fixed work is not part of it)
    varying = plan.summary.get("queue_model") == "time_varying"
    limit = float(plan.summary["solver"]["time_limit_s"])
    timing = plan.summary["timing"]
    # (what the strategy spent beyond its budget did not stop at the limit: fixed work)
    search = min(float(timing["solve_s"]), float(timing.get("search_budget_s", math.inf)))
    if search >= 0.25 * limit:
        return None
    fixed = max(elapsed_s - search, 0.0)
    if varying and fixed <= limit:
        return None  # (feasible by its method, not by the time limit: models/13-carry-over.md)
    if fixed > limit:
        compile_s = float(timing.get("compile_s", 0.0))
        compiled = (
            f" ({compile_s:.0f} s of it compiling the time-varying model: once per machine,"
            " the next solves load it in under a second)"
            if compile_s > 2.0
            else ""
        )
        needed = fixed - compile_s if compiled else fixed
        return (
            f"the time limit ({limit:g} s) is below this scenario's fixed work: start-up, "
            f"reading, tables, naming, evaluation and writing took {fixed:.1f} s here{compiled}, "
            f"and the search had {search:.1f} s; the plan was written as soon as that work "
            f"was done. A --time-limit above {needed:.0f} s gives the search time"
        )
    return (
        f"the search had only {search:.1f} s of the {limit:g} s time limit: the fixed work "
        f"(start-up, reading, tables, naming, evaluation, writing) took {fixed:.1f} s on a "
        "center this size; a longer --time-limit gives a better plan and a smaller gap"
    )


@click.command("solve")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@output_option("Plan directory to write (default: plans/<scenario name>).")
@time_limit_option(
    "Seconds for the whole solve, from reading the scenario to the plan written: "
    "the solver gets what the other steps leave (overrides policy.time_limit_s)."
)
@work_limit_option(
    "A deterministic limit on the search's work instead of seconds (units ≈ seconds on "
    "the reference machine): the same plan on any machine and at any load, optimal or "
    "not. Runs on one thread; --time-limit does not apply."
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    default=None,
    help="Solver threads (overrides policy.threads).",
)
@queue_model_option(
    "The model the plan is optimised and its figures computed by (overrides "
    "policy.queue_model): every interval a steady state, or the day as it will run."
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress line on stderr (it shows only in a terminal)."
)
def command(
    scenario: Path,
    output: Path | None,
    time_limit_s: float | None,
    work_limit: float | None,
    threads: int | None,
    queue_model: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Solve SCENARIO and write its plan (scenario.yaml, summary.json, staffing.csv,
    assignments.csv)."""
    from optistaff._clock import command_started
    from optistaff.loading import load_scenario

    started = command_started()  # the time limit covers start-up, loading and writing too
    loaded = with_queue_model(load_scenario(scenario), queue_model)
    err = Console(stderr=True)
    print_warnings(loaded, err)
    plan = solve_with_progress(
        loaded,
        err,
        time_limit_s=time_limit_s,
        threads=threads,
        started=started,
        quiet=quiet,
        work_limit=work_limit,
    )
    if plan.status == SolveStatus.INFEASIBLE:
        pins = ", ".join(
            f"{p.agent}→{p.queue or 'unassigned'} {p.from_}-{p.to}" for p in loaded.pins
        )
        raise SolveError(f"the pins cannot all hold together; no plan written. Pins: {pins}")
    directory = output if output is not None else Path("plans") / loaded.name
    written = plan.write(directory)
    hurried = short_search_warning(plan, time.monotonic() - started)
    if hurried is not None:
        err.print(f"[yellow]warning:[/] {hurried}")
    if as_json:
        summary = json.loads((written / "summary.json").read_text())
        click.echo(json.dumps(summary, indent=2))
        return
    out = output_console()
    for line in equity_lines(plan):
        out.print(line)
    out.print(queue_table(plan, title=f"{loaded.name}: plan written to {written}"))
    out.print(QUEUE_TABLE_LEGEND, style="dim")
    for line in objective_lines(plan):
        out.print(line)
    if not math.isfinite(plan.summary["objective"]["total"]):  # pragma: no cover
        raise SolveError("the objective is not finite (a bug in optistaff: please report it)")
