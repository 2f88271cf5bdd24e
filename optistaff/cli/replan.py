"""``optistaff replan PLAN --at HH:MM -o DIR``: the rest of the day re-planned from
where everyone is now, and the actions that take the old plan there."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from optistaff.cli.common import (
    ProgressPrinter,
    on_terminal,
    output_option,
    time_limit_option,
)
from optistaff.errors import UsageError
from optistaff.loading import MAX_THREADS

#: Actions shown in the table (the file has them all).
SHOWN_ACTIONS = 12


def _ids(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    out = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    return out


@click.command("replan")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option(
    "--at",
    "at",
    required=True,
    help="Now: 'HH:MM' or 'YYYY-MM-DD HH:MM'. The rest of the day is re-planned from the "
    "first interval boundary at or after it (the interval under way runs as planned).",
)
@output_option("Plan directory to write (required; not PLAN itself).")
@click.option("--absent", default=None, help="Agent ids absent from the effective time: ID[,ID…].")
@click.option(
    "--available", default=None, help="Agent ids available again from the effective time."
)
@click.option(
    "--actuals",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of the calls so far: interval_start, queue, calls[, aht_s] (intervals before "
    "the effective time).",
)
@click.option(
    "--reforecast",
    type=click.Choice(["run-rate", "none"]),
    default="run-rate",
    show_default=True,
    help="Scale each queue's remaining forecast by actual/forecast calls so far, or keep it.",
)
@click.option("--waiting", default=None, help="Calls waiting now per queue: QUEUE=N[,…].")
@click.option("--in-service", "in_service", default=None, help="Calls in service now: QUEUE=N[,…].")
@click.option(
    "--freeze",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Intervals after the effective time also kept as planned.",
)
@click.option(
    "--apply",
    "apply_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Apply these actions (rows of an actions.csv) to the old plan instead of re-optimising.",
)
@time_limit_option("Seconds for the re-optimisation (overrides the plan's policy.time_limit_s).")
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    default=None,
    help="Solver threads (overrides policy.threads).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new summary.json to stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
def command(
    plan: Path,
    at: str,
    output: Path | None,
    absent: str | None,
    available: str | None,
    actuals: Path | None,
    reforecast: str,
    waiting: str | None,
    in_service: str | None,
    freeze: int,
    apply_path: Path | None,
    time_limit_s: float | None,
    threads: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Re-plan the rest of PLAN's day from --at: absent agents off, the forecast scaled
    by the calls so far, the past kept as planned. Writes the new plan and actions.csv
    (each move or call-in, with what it buys alone and cumulatively)."""
    from optistaff._clock import command_started
    from optistaff.plan import read_plan
    from optistaff.replan import ReplanRequest, parse_counts, replan, replan_summary, write

    started = command_started()
    if output is None:
        raise UsageError("-o/--output DIR is required (the new plan's directory)")
    if output.absolute().resolve() == plan.absolute().resolve():
        raise UsageError(
            f"-o {output}: that is PLAN itself; write the re-plan to another directory "
            "(the old plan is its baseline)"
        )
    old = read_plan(plan)
    request = ReplanRequest(
        at=at,
        absent=_ids(absent),
        available=_ids(available),
        actuals=actuals,
        reforecast="none" if reforecast == "none" else "run-rate",
        waiting=parse_counts(waiting or "", "--waiting"),
        in_service=parse_counts(in_service or "", "--in-service"),
        freeze=freeze,
    )
    err = Console(stderr=True)
    printer = None if quiet or apply_path is not None else on_terminal(ProgressPrinter, err)
    if printer is not None:
        printer.limit_s = time_limit_s or old.scenario.policy.time_limit_s
    try:
        result = replan(
            old,
            request,
            apply=apply_path,
            time_limit_s=time_limit_s,
            threads=threads,
            progress=printer,
            started=started,
        )
    finally:
        if printer is not None:
            printer.close()
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}")
    block = replan_summary(result, request, old)
    written = write(result, output, block)
    if as_json:
        click.echo((written / "summary.json").read_text(), nl=False)
        return
    from optistaff.cli.solve import output_console

    out = output_console()
    for line in _story(result, written, applied=apply_path is not None):
        out.print(line)
    if result.actions:
        out.print(_actions_table(result, out.width))
        out.print(ACTIONS_LEGEND, style="dim")
    hidden = len(result.actions) - SHOWN_ACTIONS
    if hidden > 0:
        out.print(f"… and {hidden} more in {written / 'actions.csv'}", style="dim")


def _story(result: object, written: Path, applied: bool = False) -> list[str]:
    from optistaff.replan import Replanned

    assert isinstance(result, Replanned)
    plan, base = result.plan, result.baseline
    h = plan.scenario.horizon
    lines = [
        f"re-planned from {h.label(result.effective)} (before it: as planned); "
        f"written to {written}",
    ]
    scaled = [
        r
        for r in result.reforecast
        if f"{r.calls_factor:.2f}" != "1.00" or f"{r.aht_factor:.2f}" != "1.00"
    ]
    if scaled:
        lines.append(
            "run-rate: "
            + ", ".join(
                f"{r.queue} ×{r.calls_factor:.2f}"
                + (f" (AHT ×{r.aht_factor:.2f})" if f"{r.aht_factor:.2f}" != "1.00" else "")
                for r in scaled
            )
        )
    b, n = base.objective, plan.objective
    lines.append(
        f"weighted shortfall {b['weighted_shortfall']:,.1f} keeping the old plan → "
        f"{n['weighted_shortfall']:,.1f} {'with the actions' if applied else 're-planned'}; "
        f"total {b['total']:,.1f} → {n['total']:,.1f}"
    )
    gap = plan.summary.get("gap")
    lines.append(
        f"status: {plan.status}"
        + (f" (gap {100 * gap:.2g} %)" if isinstance(gap, float) else "")
        + (
            f"; {len(result.actions)} action(s) applied, in the file's order"
            if applied
            else f"; {len(result.actions)} action(s), largest effect first"
        )
    )
    return lines


#: Under the actions table (its headers are short to fit 80 columns).
ACTIONS_LEGEND = (
    "short.: the change in weighted shortfall (− is better) with the action alone · "
    "cum.: with it and every action above it · total: the change in value − cost − "
    "switching, cumulative"
)


def _actions_table(result: object, width: int = 80) -> Table:
    """The actions, largest effect first (:data:`SHOWN_ACTIONS` of them), in ``width``
    columns: the two queues side by side when they fit, else one above the other
    (no name is cut)."""
    from rich.console import Console
    from rich.measure import Measurement

    table = _actions_rows(result, stacked=False)
    console = Console(width=10_000)
    if Measurement.get(console, console.options, table).maximum <= width:
        return table
    return _actions_rows(result, stacked=True)


def _actions_rows(result: object, stacked: bool) -> Table:
    from optistaff.replan import Replanned

    assert isinstance(result, Replanned)
    h = result.plan.scenario.horizon
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold")
    names = ("#", "agent", "when", "from → to" if stacked else "from", "to")
    for name in (*names[: 4 if stacked else 5], "short.", "cum.", "total"):
        right = name in ("#", "short.", "cum.", "total")
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    step = h.interval_start(1) - h.interval_start(0)
    for i, (a, alone, cum) in enumerate(
        zip(result.actions, result.alone, result.cumulative, strict=True), start=1
    ):
        if i > SHOWN_ACTIONS:
            break
        start = h.interval_start(a.start)
        end = h.interval_start(a.end - 1) + step
        source = "call in" if a.kind == "call_in" else (a.from_queue or "idle")
        target = "release" if a.kind == "release" else (a.to_queue or "idle")
        table.add_row(
            str(i),
            a.agent,
            f"{start:%H:%M}-{end:%H:%M}",
            *((f"{source}\n→ {target}",) if stacked else (source, target)),
            f"{alone.shortfall:+,.1f}",
            f"{cum.shortfall:+,.1f}",
            f"{cum.total:+,.1f}",
        )
    return table
