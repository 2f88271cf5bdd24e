"""``optistaff sweep SCENARIO [SCENARIO…] -o DIR``: a grid of what-ifs times random
draws, every run solved, one tidy table (``optistaff.sweep``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from optistaff.cli.common import (
    queue_model_option,
    time_limit_option,
    with_queue_model,
    work_limit_option,
)
from optistaff.errors import UsageError

if TYPE_CHECKING:
    from optistaff.sweep import LocalWorkers, SweepSpec


@click.command("sweep")
@click.argument(
    "scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    required=True,
    help="Sweep directory to write (runs/, results.parquet, results.csv, summary.json).",
)
@click.option(
    "--vary",
    "varies",
    multiple=True,
    help="KEY=START:STOP:STEP (both ends included), repeatable: forecast, "
    "forecast.QUEUE, aht (factors), absence (a share of the agents), overtime=on,off.",
)
@click.option(
    "--draws",
    type=click.IntRange(1, 100_000),
    default=1,
    show_default=True,
    help="Random draws per grid point (absences, volume noise).",
)
@click.option(
    "--volume-noise",
    is_flag=True,
    help="Draw each interval's calls from a Poisson law around the forecast.",
)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option(
    "--simulate",
    "replications",
    type=click.IntRange(0, 10_000),
    default=0,
    help="Also simulate every run R times (0: no).",
)
@time_limit_option("Seconds per run (overrides each scenario's policy.time_limit_s).")
@work_limit_option(
    "Work per run instead of seconds (units ≈ seconds on the reference machine): every "
    "run, optimal or not, is then the same serial, local or distributed, at any load."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="Dask workers of a local cluster started here (default: the cores); "
    "1 runs in this process, without Dask.",
)
@click.option(
    "--scheduler",
    default=None,
    help="An existing Dask scheduler (tcp://HOST:PORT; default "
    "$DASK_SCHEDULER_ADDRESS): run there instead.",
)
@click.option("--resume", is_flag=True, help="Continue a sweep in DIR: only missing runs.")
@click.option(
    "--max-runs", type=click.IntRange(1), default=None, help="Allow more runs than the cap (2,000)."
)
@queue_model_option(
    "The queue model every run is optimised and evaluated by (overrides policy.queue_model)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(
    scenarios: tuple[Path, ...],
    output: Path,
    varies: tuple[str, ...],
    draws: int,
    volume_noise: bool,
    seed: int,
    replications: int,
    time_limit_s: float | None,
    work_limit: float | None,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    max_runs: int | None,
    queue_model: str | None,
    quiet: bool,
) -> None:
    """Solve every variation of SCENARIO(s) and write one table: a row per run and queue
    (the varied values, draw, status, objective parts, SL, shortfall, abandon,
    agent-hours, solve time)."""
    import os

    from optistaff.sweep import MAX_RUNS, LocalWorkers, SweepSpec, parse_vary

    # what needs no scenario is checked before a cluster starts (queue names: after)
    syntax = [parse_vary(v) for v in varies]
    keys = [v.key for v in syntax]
    if len(set(keys)) < len(keys):
        raise UsageError("a key is given twice in --vary")
    count = len(scenarios) * draws
    for v in syntax:
        count *= len(v.values)
    cap = max_runs or MAX_RUNS
    if count > cap:
        raise UsageError(
            f"the sweep has {count:,} runs, more than {cap:,}: pass --max-runs {count} to "
            "run it anyway (or fewer values or draws)"
        )
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if workers is not None and address:
        raise UsageError("--workers starts a local cluster; it cannot go with --scheduler")
    if workers != 1 or address:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                "sweeping on Dask workers needs the sweep extra: pip install "
                "'optistaff[sweep]' (or --workers 1 to run in this process)"
            ) from None
    # the local workers start now, while the scenarios are read
    local = LocalWorkers(workers) if workers != 1 and not address else None
    spec = SweepSpec(
        varies=tuple(syntax),
        draws=draws,
        volume_noise=volume_noise,
        seed=seed,
        time_limit_s=time_limit_s,
        work_limit=work_limit,
        simulate=replications,
        max_runs=cap,
    )
    try:
        _sweep(scenarios, output, spec, workers, address, resume, queue_model, quiet, local)
    finally:
        if local is not None:
            local.close()


def _sweep(
    scenarios: tuple[Path, ...],
    output: Path,
    spec: SweepSpec,
    workers: int | None,
    address: str | None,
    resume: bool,
    queue_model: str | None,
    quiet: bool,
    local: LocalWorkers | None,
) -> None:
    """Read the scenarios, check the queue names of ``spec``'s variations, run, print."""
    from dataclasses import replace

    from optistaff.loading import load_scenario
    from optistaff.sweep import parse_vary, plot, run_sweep

    loaded = [with_queue_model(load_scenario(p), queue_model) for p in scenarios]
    names = [s.name for s in loaded]
    if len(set(names)) < len(names):
        raise UsageError("two scenarios have the same name; the table tells runs apart by it")
    queue_ids = sorted({q for s in loaded for q in s.queue_ids})
    spec = replace(spec, varies=tuple(parse_vary(v.spec, queue_ids) for v in spec.varies))
    err = Console(stderr=True)
    bar = None
    if not quiet and err.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
        )
        bar.start()
        job = bar.add_task("runs", total=None)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(job, completed=done, total=total)

    try:
        result = run_sweep(
            loaded,
            spec,
            output,
            workers=workers,
            scheduler=address,
            resume=resume,
            progress=progress,
            local=local,
        )
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
            bar = None
        kept = len(list((output / "runs").glob("*.json"))) if (output / "runs").is_dir() else 0
        click.echo(
            f"interrupted: {kept} finished runs are kept in {output / 'runs'}; run the same "
            "command with --resume to compute only the rest",
            err=True,
        )
        click.get_current_context().exit(130)
    finally:
        if bar is not None:
            bar.stop()
    picture = plot(result.table, spec, output / "sweep.png")
    runs = result.computed + result.resumed
    files = [
        name
        for name in ("results.parquet", "results.csv", "summary.json", "sweep.png")
        if (output / name).is_file()
    ]
    click.echo(
        f"{runs} runs ({result.computed} computed, {result.resumed} from before, "
        f"{result.failed} failed) in {output}: {', '.join(files)}"
        + ("" if "results.parquet" in files else " (no Parquet: pip install pyarrow)")
    )
    del picture
    statuses = result.table.drop_duplicates("run")["status"].value_counts()
    click.echo("status: " + ", ".join(f"{k} {v}" for k, v in statuses.items()))
    if result.failed:
        click.get_current_context().exit(1)
