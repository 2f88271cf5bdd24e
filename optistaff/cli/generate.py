"""``optistaff generate``: write a realistic synthetic center of a given size.

Seeded (the same options give byte-identical files): skill profiles, shifts starting
on the half hour with staggered breaks, tiered queue values, intraday forecast
curves, and a chosen staffing tightness (agents on duty / requirement of the minimum
standards at the peak). See :mod:`optistaff.generate` for what is generated.
"""

from __future__ import annotations

from pathlib import Path

import click

from optistaff.cli.common import Number
from optistaff.errors import UsageError
from optistaff.generate import CenterSpec, write_center
from optistaff.loading import check_scenario
from optistaff.scenario import ALLOWED_INTERVAL_MINUTES

_COUNT = click.IntRange(min=1)


@click.command(name="generate")
@click.option("--agents", type=_COUNT, required=True, help="Agents in the roster (all of them).")
@click.option("--queues", type=_COUNT, required=True, help="Queues.")
@click.option("--intervals", type=_COUNT, required=True, help="Intervals in the horizon.")
@click.option(
    "--interval-minutes",
    type=click.Choice([str(m) for m in ALLOWED_INTERVAL_MINUTES]),
    default="15",
    show_default=True,
    help="Interval length, minutes (horizon at most 24 h).",
)
@click.option(
    "--profiles", type=_COUNT, default=None, help="Skill profiles [default: min(40, 1.5 Q)]."
)
@click.option(
    "--tightness",
    type=Number(0.0, 10.0, lo_open=True),
    default=0.95,
    show_default=True,
    help="Agents on duty / requirement at the peak (0.85: short, 1.10: surplus).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--coupling/--no-coupling",
    default=False,
    show_default=True,
    help="Daily minimums on some queues, a switch penalty and optional overtime agents.",
)
@click.option("--name", default=None, help="Scenario name [default: from the options].")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="A directory (scenario.yaml, roster.csv, forecast.csv) or a .yaml file "
    "(side files <stem>-roster.csv, <stem>-forecast.csv next to it).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def command(
    agents: int,
    queues: int,
    intervals: int,
    interval_minutes: str,
    profiles: int | None,
    tightness: float,
    seed: int,
    coupling: bool,
    name: str | None,
    output: Path,
    force: bool,
) -> None:
    """Write a synthetic contact center (scenario + roster + forecast) of a given size."""
    spec = CenterSpec(
        agents=agents,
        queues=queues,
        intervals=intervals,
        interval_minutes=int(interval_minutes),
        profiles=profiles,
        tightness=tightness,
        seed=seed,
        coupling=coupling,
        name=name,
    )
    problems = spec.problems()
    if problems:
        raise UsageError("; ".join(problems))
    try:
        path = write_center(spec, output, overwrite=force)
    except FileExistsError as exc:
        raise UsageError(f"{exc.args[0].removesuffix(' (use overwrite)')} (use --force)") from None
    click.echo(f"wrote {path} (and its roster and forecast files)")
    scenario, found = check_scenario(path)
    if scenario is None:
        click.echo("warning: optistaff will refuse this scenario as it stands:", err=True)
        for problem in found:
            click.echo(f"  {problem}", err=True)
        return
    from optistaff.generate import peak_ratio

    peak = peak_ratio(scenario)
    start = scenario.horizon.label(peak.interval)
    click.echo(
        f"{len(scenario.agents)} agents, {len(scenario.queues)} queues, "
        f"{scenario.horizon.intervals} intervals; peak {start}: {peak.on_duty} on duty / "
        f"{peak.required} required = {peak.ratio:.3f}"
    )
