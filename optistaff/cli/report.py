"""``optistaff report PLAN -o report.html``: one self-contained HTML page of a plan."""

from __future__ import annotations

from pathlib import Path

import click
import matplotlib

from optistaff.cli.common import load_plan, refuse_infeasible
from optistaff.errors import PlanWriteError, UsageError

matplotlib.use("Agg")  # no display needed; the figures are rendered to PNG


@click.command("report")
@click.argument("plan_dir", metavar="PLAN", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write (default: <scenario name>-report.html).",
)
@click.option(
    "--dpi", type=click.IntRange(min=30, max=300), default=100, help="Resolution of the plots."
)
def command(plan_dir: Path, output: Path | None, dpi: int) -> None:
    """Write a self-contained HTML report of PLAN (a plan directory, or a scenario file,
    which is solved first): summary, per-queue table, shortfalls and every plot, with no
    external resources."""
    from optistaff.report import write_report

    plan = load_plan(plan_dir, time_limit_s=None, warnings=None)
    refuse_infeasible(plan, plan_dir, "report")
    target = output if output is not None else Path(f"{plan.scenario.name}-report.html")
    if target.is_dir():
        raise UsageError(f"-o {target}: is a directory; give a file name (report.html)")
    try:
        written = write_report(plan, target, source=str(plan_dir), dpi=dpi)
    except OSError as exc:
        raise PlanWriteError(f"cannot write the report to {target}: {exc.strerror}") from exc
    click.echo(f"report written to {written}")
