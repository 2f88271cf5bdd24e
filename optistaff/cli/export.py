"""``optistaff export PLAN -o plan.xlsx``: the plan as a workbook (schedule, staffing,
queues, summary), or ``--format csv``: the agent × interval schedule as CSV."""

from __future__ import annotations

from pathlib import Path

import click

from optistaff.cli.common import load_plan, refuse_infeasible
from optistaff.errors import PlanWriteError, UsageError

SUFFIXES = {"xlsx": ".xlsx", "csv": ".csv"}


@click.command("export")
@click.argument("plan_dir", metavar="PLAN", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: <scenario name>.xlsx, or .csv with --format csv).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="xlsx: schedule, staffing, queues and summary sheets; csv: the wide schedule.",
)
def command(plan_dir: Path, output: Path | None, fmt: str) -> None:
    """Export PLAN (a plan directory, or a scenario file, which is solved first) where
    planners work: a workbook with the agent × interval schedule (a queue per cell,
    coloured per queue; 'idle': available, unassigned; grey: not available), staffing
    against required per queue and interval, the per-queue totals and the plan's
    summary."""
    from optistaff.export import write_export

    target = output if output is not None else None
    if target is not None and target.is_dir():
        raise UsageError(f"-o {target}: is a directory; give a file name (plan{SUFFIXES[fmt]})")
    if target is not None and target.suffix.lower() != SUFFIXES[fmt]:
        raise UsageError(
            f"-o {target}: --format {fmt} writes a {SUFFIXES[fmt]} file "
            f"(or choose --format {'csv' if fmt == 'xlsx' else 'xlsx'})"
        )
    plan = load_plan(plan_dir, time_limit_s=None, warnings=None)
    refuse_infeasible(plan, plan_dir, "export")
    if target is None:
        target = Path(f"{plan.scenario.name}{SUFFIXES[fmt]}")
    try:
        written = write_export(plan, target, fmt=fmt)
    except OSError as exc:
        raise PlanWriteError(f"cannot write {target}: {exc.strerror}") from exc
    click.echo(f"{fmt} export written to {written}")
