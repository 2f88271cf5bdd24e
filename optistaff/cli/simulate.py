"""``optistaff simulate PLAN|SCENARIO``: check a plan's predictions by discrete-event
simulation (see :mod:`optistaff.simulate` for the simulated system and the definitions).

A directory is read as a plan; a file is a scenario, solved first. Prints, per queue over
the day, the predicted and simulated service level, ASA, abandon rate and occupancy with
95 % confidence intervals, then the queue-intervals where the prediction falls furthest
outside the interval (``--all-intervals``: every queue-interval). ``--json`` prints
everything as one object; ``--plot FILE.png`` draws predicted vs. simulated service level.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optistaff.cli.common import Number, load_plan, time_limit_option, wide_console
from optistaff.errors import OptistaffError, UsageError
from optistaff.simulate import METRICS, SimulationReport, iter_flagged, outside_counts

_LABELS = {
    "service_level": "service level",
    "asa_s": "ASA",
    "abandon_rate": "abandon rate",
    "occupancy": "occupancy",
}
_TOP = 12


def _fmt(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if metric == "asa_s":
        return f"{value:.1f} s"
    return f"{100 * value:.1f}%"


def _ci(metric: str, low: Any, high: Any) -> str:
    if isinstance(low, float) and math.isnan(low):
        return "-"
    if metric == "asa_s":
        return f"{low:.1f} – {high:.1f}"
    return f"{100 * low:.1f} – {100 * high:.1f}"


def _gap(metric: str, predicted: float, simulated: float) -> str:
    if math.isnan(predicted) or math.isnan(simulated):
        return "-"
    diff = simulated - predicted
    return f"{diff:+.1f} s" if metric == "asa_s" else f"{100 * diff:+.1f} pt"


def day_table(report: SimulationReport) -> Table:
    """Per queue over the day: each metric predicted vs. simulated, with its 95 % CI."""
    table = Table(
        title=f"{report.plan_name}: plan vs. simulation over the day",
        title_justify="left",
        caption="* the plan's prediction lies outside the simulated 95 % confidence interval",
        caption_justify="left",
    )
    for header in ("queue", "calls", "", "predicted", "simulated", "95% CI", "sim - pred"):
        table.add_column(header, justify="left" if header in ("queue", "") else "right")
    for queue, row in report.queues.iterrows():
        table.add_section()
        for i, m in enumerate(METRICS):
            outside = bool(row[f"{m}_outside"])
            table.add_row(
                str(queue) if i == 0 else "",
                f"{row['calls']:,.0f}" if i == 0 else "",
                _LABELS[m],
                _fmt(m, row[f"{m}_predicted"]),
                Text(
                    _fmt(m, row[f"{m}_simulated"]) + (" *" if outside else "  "),
                    style="red" if outside else "",
                ),
                _ci(m, row[f"{m}_low"], row[f"{m}_high"]),
                _gap(m, row[f"{m}_predicted"], row[f"{m}_simulated"]),
            )
    return table


def flagged_table(report: SimulationReport, metric: str, limit: int | None) -> Table | None:
    """Queue-intervals where ``metric``'s prediction is outside the CI, largest gap first."""
    rows = list(iter_flagged(report, metric))
    if not rows:
        return None
    shown = rows if limit is None else rows[:limit]
    more = len(rows) - len(shown)
    table = Table(
        title=f"{_LABELS[metric]}: largest gaps outside the 95% CI"
        + (f" ({more} more: --all-intervals or --json)" if more else ""),
        title_justify="left",
    )
    for header in ("interval", "queue", "agents", "calls", "predicted", "simulated", "95% CI"):
        table.add_column(header, justify="left" if header in ("interval", "queue") else "right")
    for row in shown:
        table.add_row(
            row["interval_start"].strftime("%H:%M"),
            row["queue"],
            str(row["agents"]),
            f"{row['calls']:.1f}",
            _fmt(metric, row[f"{metric}_predicted"]),
            _fmt(metric, row[f"{metric}_simulated"]),
            _ci(metric, row[f"{metric}_low"], row[f"{metric}_high"]),
        )
    return table


def interval_table(report: SimulationReport) -> Table:
    """Every queue-interval: each metric as predicted / simulated (* outside the CI)."""
    table = Table(title="per queue and interval: predicted / simulated", title_justify="left")
    for header in ("interval", "queue", "agents", "calls", *(_LABELS[m] for m in METRICS)):
        table.add_column(header, justify="left" if header in ("interval", "queue") else "right")
    for row in report.intervals.to_dict(orient="records"):
        cells = []
        for m in METRICS:
            mark = " *" if row[f"{m}_outside"] else ""
            cells.append(
                Text(
                    f"{_fmt(m, row[f'{m}_predicted'])} / {_fmt(m, row[f'{m}_simulated'])}{mark}",
                    style="red" if mark else "",
                )
            )
        table.add_row(
            row["interval_start"].strftime("%H:%M"),
            row["queue"],
            str(row["agents"]),
            f"{row['calls']:.1f}",
            *cells,
        )
    return table


def _print(table: Table) -> None:
    """Print a table on stdout; when it is not a terminal (a pipe, a file), as wide as it
    needs."""
    wide_console(table).print(table)


@click.command("simulate")
@click.argument("source", metavar="PLAN|SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "-r",
    "--replications",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Independent simulated days.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Root seed.")
@click.option(
    "--handle-cv",
    type=Number(0.0, 100.0),
    default=None,
    help="Lognormal handle times with this coefficient of variation (0…100; 0: constant); "
    "default exponential.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of CPUs, fewer for small runs); "
    "results do not depend on it.",
)
@time_limit_option("Solver seconds when SCENARIO is a scenario file.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write predicted vs. simulated service level, one panel per queue (e.g. sl.png).",
)
@click.option("--all-intervals", is_flag=True, help="Print every queue-interval.")
@click.option("--json", "as_json", is_flag=True, help="Print the full comparison as JSON.")
def command(
    source: Path,
    replications: int,
    seed: int,
    handle_cv: float | None,
    workers: int | None,
    time_limit_s: float | None,
    plot_path: Path | None,
    all_intervals: bool,
    as_json: bool,
) -> None:
    """Simulate PLAN (a plan directory) or SCENARIO (solved first) and compare the
    simulated service with the plan's predictions."""
    from optistaff.simulate import plot_service_levels, simulate_plan

    if plot_path is not None:
        parent = plot_path.absolute().parent
        if not parent.is_dir():
            raise UsageError(f"--plot {plot_path}: directory {parent} does not exist")
        if plot_path.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise UsageError(f"--plot {plot_path}: give a .png, .pdf or .svg file")
    plan = load_plan(source, time_limit_s=time_limit_s, purpose="simulate", warnings="plain")
    started = time.monotonic()
    report = simulate_plan(
        plan,
        replications=replications,
        seed=seed,
        handle_cv=handle_cv,
        workers=workers,
    )
    elapsed = time.monotonic() - started
    if plot_path is not None:
        try:
            plot_service_levels(report, plot_path)
        except OSError as exc:
            raise OptistaffError(f"--plot {plot_path}: cannot write ({exc.strerror})") from exc
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, allow_nan=False))
        return
    out = Console()
    handle = "exponential" if handle_cv is None else f"lognormal, cv {handle_cv:g}"
    out.print(
        f"{replications} simulated day{'s' if replications != 1 else ''} (seed {seed}, "
        f"handle times {handle}) in {elapsed:.1f} s"
    )
    _print(day_table(report))
    counts = outside_counts(report)
    total = len(report.intervals)
    out.print(
        "queue-intervals with the prediction outside the 95% CI: "
        + ", ".join(f"{_LABELS[m]} {counts[m]}/{total}" for m in METRICS)
    )
    if all_intervals:
        _print(interval_table(report))
    else:
        table = flagged_table(report, "service_level", _TOP)
        if table is not None:
            _print(table)
    if plot_path is not None:
        out.print(f"plot written to {plot_path}")
