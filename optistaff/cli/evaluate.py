"""``optistaff evaluate PLAN --queue-model …``: a plan's own assignment re-evaluated under
a queue model, without re-solving."""

from __future__ import annotations

import json
from pathlib import Path

import click

from optistaff.cli.common import output_option, refuse_infeasible
from optistaff.cli.solve import output_console
from optistaff.views import QUEUE_TABLE_LEGEND, objective_lines, queue_table


@click.command("evaluate")
@click.argument("plan_dir", metavar="PLAN", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--queue-model",
    "queue_model",
    type=click.Choice(["time_varying", "stationary"]),
    required=True,
    help="time_varying: each queue over the day as one chain, its state carried over; "
    "stationary: each interval in steady state.",
)
@output_option("Write the re-evaluated plan to this directory (a new plan; PLAN is not changed).")
@click.option("--json", "as_json", is_flag=True, help="Print the re-evaluated summary.json.")
def command(plan_dir: Path, queue_model: str, output: Path | None, as_json: bool) -> None:
    """Re-evaluate PLAN's assignment under --queue-model: every figure and the objective
    under that model, nothing re-solved."""
    from optistaff.errors import UsageError
    from optistaff.pipeline import evaluate_plan
    from optistaff.plan import read_plan

    plan = read_plan(plan_dir)
    refuse_infeasible(plan, plan_dir, "re-evaluate")
    if output is not None and output.resolve() == plan_dir.resolve():
        raise UsageError(f"-o {output}: the re-evaluated plan must not replace PLAN itself")
    assert queue_model in ("time_varying", "stationary")
    again = evaluate_plan(plan, "time_varying" if queue_model == "time_varying" else "stationary")
    written = again.write(output) if output is not None else None
    if as_json:
        from optistaff.plan import plan_files

        summary = json.loads(plan_files(again)["summary.json"])
        click.echo(json.dumps(summary, indent=2))
        return
    out = output_console()
    title = f"{again.scenario.name}: re-evaluated" + (f", written to {written}" if written else "")
    out.print(queue_table(again, title=title))
    out.print(QUEUE_TABLE_LEGEND, style="dim")
    for line in objective_lines(again):
        out.print(line)
