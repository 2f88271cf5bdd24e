"""``optistaff compare A B [C…]``: scenarios (solved on the fly) or plan directories,
side by side, with deltas against the first."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from optistaff.cli.solve import ProgressPrinter, finite_seconds
from optistaff.compare import (
    ALL_QUEUES,
    Comparison,
    compare,
    delta_style,
    format_delta,
    format_value,
    metric_for,
)
from optistaff.errors import SolveError, UsageError
from optistaff.plan import Plan
from optistaff.solvers import SolveStatus


def comparison_table(comparison: Comparison, title: str | None = None) -> Table:
    """The side-by-side table: one column per plan, a Δ column after every plan but the
    first (green: better, red: worse)."""
    table = Table(
        title=title,
        title_justify="left",
        caption="total value = value − cost − switching; Δ against the first column "
        "(green: better, red: worse)",
        caption_justify="left",
    )
    table.add_column("", justify="left", no_wrap=True)
    for i, label in enumerate(comparison.labels):
        table.add_column(label, justify="right", no_wrap=True)
        if i > 0:
            table.add_column("Δ", justify="right", no_wrap=True)
    current = None
    for queue, key in comparison.rows():
        if queue != current:
            current = queue
            if queue != ALL_QUEUES:
                table.add_section()
                table.add_row(Text(queue, style="bold"))
        metric = metric_for(queue, key)
        cells: list[str | Text] = [("  " if queue else "") + metric.label]
        for i, label in enumerate(comparison.labels):
            cells.append(format_value(metric, comparison.value(queue, key, label)))
            if i > 0:
                delta = comparison.delta(queue, key, label)
                cells.append(Text(format_delta(metric, delta), style=delta_style(metric, delta)))
        table.add_row(*cells)
    return table


def wide_console(*tables: Table) -> Console:
    """A console for stdout; when it is not a terminal (a pipe, a file), as wide as the
    widest table needs, so that nothing is cropped."""
    out = Console()
    if not out.is_terminal:
        wide = out.options.update(width=10_000)
        needed = max((Measurement.get(out, wide, t).maximum for t in tables), default=80)
        out = Console(width=max(80, needed))
    return out


def _load(source: Path, index: int, count: int, time_limit_s: float | None) -> Plan:
    from optistaff.loading import load_scenario
    from optistaff.pipeline import solve
    from optistaff.plan import read_plan

    err = Console(stderr=True)
    if source.is_dir():
        return read_plan(source)
    if not source.is_file():
        raise UsageError(f"{source}: no such scenario file or plan directory")
    loaded = load_scenario(source)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning:[/] {warning}")
    err.print(f"solving {source} ({index}/{count})…", highlight=False)
    printer = ProgressPrinter(err) if sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        plan = solve(loaded, time_limit_s=time_limit_s, progress=printer)
    finally:
        if printer is not None:
            printer.close()
    if plan.status == SolveStatus.INFEASIBLE:
        raise SolveError(f"{source}: the pins cannot all hold together; nothing to compare")
    note = "" if plan.status == SolveStatus.OPTIMAL else " (time limit reached: best plan found)"
    err.print(
        f"  {plan.status}{note} in {time.monotonic() - started:.1f} s",
        highlight=False,
    )
    return plan


@click.command("compare")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--time-limit",
    "time_limit_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    callback=finite_seconds,
    help="Seconds the solver may use per scenario (overrides policy.time_limit_s).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the comparison as CSV (long form).")
def command(
    sources: tuple[Path, ...], time_limit_s: float | None, as_json: bool, as_csv: bool
) -> None:
    """Compare scenarios (solved on the fly, nothing written) or plan directories side by
    side: total, weighted shortfall, cost, switches, agent-hours, and per queue SL,
    abandon and shortfall, each with its delta against the first."""
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if len(sources) < 2:
        raise UsageError("compare needs at least two scenarios or plan directories (A B [C…])")
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise UsageError("no such scenario file or plan directory: " + ", ".join(missing))
    plans = [_load(s, i + 1, len(sources), time_limit_s) for i, s in enumerate(sources)]
    comparison = compare(plans, sources=[str(s) for s in sources])
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2, allow_nan=False))
        return
    if as_csv:
        click.echo(comparison.tidy().to_csv(index=False, lineterminator="\n"), nl=False)
        return
    table = comparison_table(comparison, title=f"compared against {comparison.labels[0]}")
    out = wide_console(table)
    out.print(table)
    for label, plan in zip(comparison.labels, comparison.plans, strict=True):
        if plan.status != SolveStatus.OPTIMAL:
            out.print(f"{label}: {plan.status} (time limit reached: not proven optimal)")
        if plan.called_in:
            out.print(f"{label}: called in {', '.join(plan.called_in)}", highlight=False)
