"""``optistaff compare A B [C…]``: scenarios (solved on the fly) or plan directories,
side by side, with deltas against the first."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from optistaff.cli.common import load_plan, queue_model_option, time_limit_option, wide_console
from optistaff.compare import (
    ALL_QUEUES,
    Comparison,
    compare,
    delta_style,
    format_delta,
    format_value,
    metric_for,
    mixed_models_warning,
    trade_off_lines,
)
from optistaff.errors import UsageError
from optistaff.plan_schema import queue_model_of
from optistaff.solvers import SolveStatus
from optistaff.views import compact_table, model_line, not_proven_reason


def comparison_table(
    comparison: Comparison, title: str | None = None, width: int | None = None
) -> Table:
    """The side-by-side table: one column per plan, a Δ column after every plan but the
    first (green: better, red: worse). When it would be wider than ``width`` (a
    terminal's), the plans' labels fold onto more header lines, as narrow as their
    columns' figures: an 80-column terminal holds three plans and their deltas."""
    table = compact_table(title)
    table.caption = (
        "total value = value − cost − switching; Δ against the first column (green: "
        "better, red: worse); abandon '-': an Erlang C queue (no patience: nobody abandons)"
    )
    if comparison.since is not None:
        table.caption += (
            f"; from E: the rest of the day, from {comparison.since} (a re-plan's "
            "effective time), interval standards only"
        )
    table.caption_justify = "left"
    table.add_column("", justify="left", no_wrap=True)  # (numbers never wrap)
    for i, label in enumerate(comparison.labels):
        table.add_column(label, justify="right", no_wrap=True)
        if i > 0:
            table.add_column("Δ", justify="right", no_wrap=True)
    erlang_c = [
        {q.id for q in plan.scenario.queues if q.patience_s is None} for plan in comparison.plans
    ]
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
            if key == "abandon_rate" and queue in erlang_c[i]:
                cells.append("-")
            else:
                cells.append(format_value(metric, comparison.value(queue, key, label)))
            if i > 0:
                delta = comparison.delta(queue, key, label)
                cells.append(Text(format_delta(metric, delta), style=delta_style(metric, delta)))
        table.add_row(*cells)
    if width is not None and _natural_width(table) > width:
        for column in table.columns[1:]:
            widest = max((len(str(cell)) for cell in column._cells), default=1)
            column.header = fold_label(str(column.header), max(widest, 9))
    return table


def _natural_width(table: Table) -> int:
    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def fold_label(label: str, width: int) -> str:
    """``label`` on lines of at most ``width`` characters, broken after a '-', '_' or
    space where one falls in the line (else mid-word): no character is dropped."""
    lines: list[str] = []
    rest = label
    while len(rest) > width:
        cut = max(rest.rfind(c, 0, width) for c in "-_ ")
        cut = cut + 1 if cut > 0 else width
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    lines.append(rest)
    return "\n".join(lines)


@click.command("compare")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@time_limit_option("Seconds the solver may use per scenario (overrides policy.time_limit_s).")
@queue_model_option(
    "Compare under one model: scenarios are solved with it, plans under another model "
    "are re-evaluated under it (their own assignment, not re-solved)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the comparison as CSV (long form).")
def command(
    sources: tuple[Path, ...],
    time_limit_s: float | None,
    queue_model: str | None,
    as_json: bool,
    as_csv: bool,
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
    plans = [
        load_plan(
            s,
            time_limit_s=time_limit_s,
            purpose="compare",
            announce=f"{i + 1}/{len(sources)}",
            queue_model=queue_model,
        )
        for i, s in enumerate(sources)
    ]
    names = [p.scenario.name for p in plans]
    folders = [s.resolve().name for s in sources]
    # the same scenario twice (a plan and its re-plan): their directories tell them apart
    labels = folders if len(set(names)) < len(names) and len(set(folders)) == len(folders) else None
    comparison = compare(plans, labels=labels, sources=[str(s) for s in sources])
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2, allow_nan=False))
        return
    if as_csv:
        click.echo(comparison.tidy().to_csv(index=False, lineterminator="\n"), nl=False)
        return
    terminal = Console()
    table = comparison_table(
        comparison,
        title=f"compared against {comparison.labels[0]}",
        width=terminal.width if terminal.is_terminal else None,
    )
    out = wide_console(table)
    out.print(table)
    for line in trade_off_lines(comparison):
        out.print(line, highlight=False)
    mixed = mixed_models_warning(comparison)
    if mixed is not None:
        Console(stderr=True).print(f"[yellow]warning:[/] {mixed}", highlight=False)
    for label, plan in zip(comparison.labels, comparison.plans, strict=True):
        if queue_model_of(plan.summary) != "stationary":
            out.print(f"{label}: {model_line(plan)}", highlight=False)
        if plan.status == SolveStatus.FEASIBLE:
            out.print(f"{label}: {plan.status} ({not_proven_reason(plan)})", highlight=False)
        if plan.called_in:
            out.print(f"{label}: called in {', '.join(plan.called_in)}", highlight=False)
