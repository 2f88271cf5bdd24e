"""What several commands share: the ``--time-limit`` option, the progress display on
stderr, the PLAN|SCENARIO argument (a plan directory read, or a scenario solved), and a
stdout console wide enough for a table.

Commands import from here, never from each other. Light to import (no pandas, no
solver): the heavy modules are imported inside the functions.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from optistaff.errors import SolveError, UsageError
from optistaff.solvers import Progress, SolveStatus

if TYPE_CHECKING:  # pandas: imported when a command runs (see optistaff/__init__.py)
    from optistaff.plan import Plan
    from optistaff.scenario import Scenario

_F = TypeVar("_F", bound=Callable[..., Any])


# -- options ---------------------------------------------------------------------------


def _plain(x: float) -> str:
    """1000000.0 as "1,000,000", 0.5 as "0.5"."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


class Number(click.ParamType):
    """A finite number within [lo, hi] (an end left None is open; ``lo_open`` /
    ``hi_open`` exclude the end itself). click's FloatRange lets nan and inf through:
    every numeric option of the CLI uses this instead, so that nan, inf and values
    beyond optistaff's limits get one message (exit 2)."""

    name = "number"

    def __init__(
        self,
        lo: float | None = None,
        hi: float | None = None,
        *,
        lo_open: bool = False,
        hi_open: bool = False,
        unit: str = "",
    ) -> None:
        self.lo, self.hi, self.lo_open, self.hi_open, self.unit = lo, hi, lo_open, hi_open, unit

    def allowed(self) -> str:
        """The allowed range in words, e.g. "a number in [1, 86,400] s"."""
        if self.lo is None and self.hi is None:
            return "a finite number"
        left = "(" if self.lo_open or self.lo is None else "["
        right = ")" if self.hi_open or self.hi is None else "]"
        lo = "-∞" if self.lo is None else _plain(self.lo)
        hi = "∞" if self.hi is None else _plain(self.hi)
        unit = f" {self.unit}" if self.unit else ""
        return f"a number in {left}{lo}, {hi}{right}{unit}"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; allowed: {self.allowed()}", param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value} is not allowed; allowed: {self.allowed()}", param, ctx)
        below = self.lo is not None and (x < self.lo or (self.lo_open and x == self.lo))
        above = self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi))
        if below or above:
            self.fail(f"{x:g} is outside the limits; allowed: {self.allowed()}", param, ctx)
        return x

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "NUMBER"


def time_limit_option(help: str) -> Callable[[_F], _F]:
    """``--time-limit SECONDS`` (a finite number > 0, or the policy's), as
    ``time_limit_s``; ``help`` says what the seconds cover in this command."""
    return click.option(
        "--time-limit",
        "time_limit_s",
        type=Number(0, None, lo_open=True, unit="s"),
        default=None,
        help=help,
    )


def work_limit_option(help: str) -> Callable[[_F], _F]:
    """``--work-limit W`` (a finite number > 0), as ``work_limit``: a limit on the
    search's work instead of seconds (:mod:`optistaff.solvers.clock`)."""
    return click.option(
        "--work-limit",
        "work_limit",
        type=Number(0, None, lo_open=True),
        default=None,
        help=help,
    )


def queue_model_option(help: str) -> Callable[[_F], _F]:
    """``--queue-model stationary|time_varying`` (default: the scenario's
    ``policy.queue_model``), as ``queue_model``."""
    return click.option(
        "--queue-model",
        "queue_model",
        type=click.Choice(["stationary", "time_varying"]),
        default=None,
        help=help,
    )


def with_queue_model(scenario: Scenario, queue_model: str | None) -> Scenario:
    """``scenario`` with ``policy.queue_model`` set to ``queue_model`` when given."""
    if queue_model is None:
        return scenario
    from dataclasses import replace

    assert queue_model in ("stationary", "time_varying")
    model: Any = queue_model
    return replace(scenario, policy=replace(scenario.policy, queue_model=model))


def output_option(help: str) -> Callable[[_F], _F]:
    """``-o / --output DIR`` (a plan directory to write), as ``output``."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Path(path_type=Path),
        default=None,
        help=help,
    )


# -- progress on stderr ----------------------------------------------------------------


class Spinner:
    """One line of status on stderr (a rich spinner) while something long runs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Any = None

    def show(self, text: str) -> None:
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()


#: The stages of :class:`~optistaff.solvers.Progress` in words (when no phase is named).
STAGE_WORDS = {
    "intervals": "each interval on its own",
    "shortfall": "the whole horizon, minimums first",
    "value": "the whole horizon, value",
    "time_varying": "time-varying search",
    "phase": "solving",
}


def progress_text(event: Progress, elapsed_s: float, limit_s: float | None) -> str:
    """One line: the phase in words, the best plan so far and its gap as a percentage
    (when the solver has a bound), elapsed and the time limit."""
    parts = [event.phase or STAGE_WORDS.get(event.stage, event.stage)]
    if event.intervals_total:
        total = event.intervals_total
        parts.append(f"interval {min(event.intervals_done + 1, total)}/{total}")
    what = "shortfall" if event.stage in ("shortfall", "time_varying") else "value"
    if math.isfinite(event.objective):
        best = f"best {what} {event.objective:,.2f}"
        if math.isfinite(event.bound):
            gap = abs(event.bound - event.objective) / max(abs(event.bound), 1e-9)
            best += f", gap {100 * gap:.2f} %"
        parts.append(best)
    clock = f"{elapsed_s:.0f} s"
    if limit_s is not None:
        clock += f" of {limit_s:.0f} s"
    parts.append(clock)
    return " · ".join(parts)


class ProgressPrinter(Spinner):
    """Shows what a long solve is doing (a :data:`~optistaff.solvers.ProgressCallback`):
    from one second on, the phase in words, the best plan and its gap, the seconds
    elapsed and the time limit, ticking every half second even between events."""

    TICK_S = 0.5

    def __init__(self, console: Console, limit_s: float | None = None) -> None:
        super().__init__(console)
        self.limit_s = limit_s
        self.began = time.monotonic()
        self.last: Progress = Progress("preparing", math.nan, math.nan, 0.0, phase="preparing")
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def __call__(self, event: Progress) -> None:
        with self._lock:
            self.last = event
        self._refresh()

    def _refresh(self) -> None:
        elapsed = time.monotonic() - self.began
        if elapsed < 1.0:
            return
        with self._lock:
            text = progress_text(self.last, elapsed, self.limit_s)
            if not self._done.is_set():
                self.show(text)

    def _tick(self) -> None:
        while not self._done.wait(self.TICK_S):
            self._refresh()

    def close(self) -> None:
        with self._lock:
            self._done.set()
            super().close()


class StepPrinter(Spinner):
    """Shows which of several steps (re-solves) is running: ``what (3/7)``."""

    def __call__(self, done: int, total: int, what: str) -> None:
        self.show(f"{what} ({done + 1}/{total})")


_S = TypeVar("_S", bound=Spinner)


def on_terminal(kind: type[_S], err: Console) -> _S | None:
    """A ``kind`` spinner on ``err`` when stderr is a terminal; else None (nothing shown)."""
    return kind(err) if sys.stderr.isatty() else None


# -- scenarios and plans ---------------------------------------------------------------


def print_warnings(scenario: Scenario, err: Console) -> None:
    """The scenario's warnings, one per line on ``err``."""
    for warning in scenario.warnings:
        err.print(f"[yellow]warning:[/] {warning}")


def solve_with_progress(
    scenario: Scenario,
    err: Console,
    *,
    time_limit_s: float | None,
    threads: int | None = None,
    started: float | None = None,
    quiet: bool = False,
    work_limit: float | None = None,
) -> Plan:
    """:func:`optistaff.solve`, showing its progress on ``err`` when it is a terminal
    (not with ``quiet``)."""
    from optistaff.pipeline import solve

    printer = None if quiet else on_terminal(ProgressPrinter, err)
    if printer is not None:
        printer.limit_s = time_limit_s if time_limit_s is not None else scenario.policy.time_limit_s
        if work_limit is not None:
            printer.limit_s = None  # (the limit is work, not seconds)
    try:
        return solve(
            scenario,
            time_limit_s=time_limit_s,
            threads=threads,
            progress=printer,
            started=started,
            work_limit=work_limit,
        )
    finally:
        if printer is not None:
            printer.close()


def load_plan(
    source: Path,
    *,
    time_limit_s: float | None,
    purpose: str | None = None,
    announce: str | None = None,
    warnings: Literal["rich", "plain"] | None = "rich",
    queue_model: str | None = None,
) -> Plan:
    """A PLAN|SCENARIO argument as a plan: a directory is read as a plan; a file is a
    scenario, solved (nothing written).

    ``purpose`` (``"compare"``): a solved scenario whose pins cannot all hold is refused
    (SolveError, "…; nothing to compare"); without it the infeasible plan is returned.
    ``announce`` (``"1/2"``): the solve is shown on stderr ("solving X (1/2)…", its
    progress on a terminal, then its status and seconds). ``warnings``: how the
    scenario's warnings are printed on stderr: ``"rich"`` (as ``solve`` does),
    ``"plain"`` (``warning: …`` lines, never wrapped) or not at all (None).
    ``queue_model``: a scenario is solved with it, and a plan whose figures are under
    another model is re-evaluated under it (its own assignment, not re-solved).
    """
    from optistaff.loading import load_scenario
    from optistaff.plan import read_plan

    if not source.exists():
        raise UsageError(f"{source}: no such plan directory or scenario file")
    if source.is_dir():
        plan = read_plan(source)
        if queue_model is not None:
            from optistaff.pipeline import evaluate_plan
            from optistaff.plan_schema import queue_model_of

            if queue_model_of(plan.summary) != queue_model:
                model: Any = queue_model
                plan = evaluate_plan(plan, model)
        return plan
    from optistaff.pipeline import solve  # (ortools and numba: only to solve a scenario)

    err = Console(stderr=True)
    loaded = with_queue_model(load_scenario(source), queue_model)
    if warnings == "rich":
        print_warnings(loaded, err)
    elif warnings == "plain":
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
    if announce is None:
        plan = solve(loaded, time_limit_s=time_limit_s)
    else:
        err.print(f"solving {source} ({announce})…", highlight=False)
        started = time.monotonic()
        plan = solve_with_progress(loaded, err, time_limit_s=time_limit_s)
    if purpose is not None and plan.status == SolveStatus.INFEASIBLE:
        raise SolveError(f"{source}: the pins cannot all hold together; nothing to {purpose}")
    if announce is not None:
        from optistaff.views import not_proven_reason

        reason = not_proven_reason(plan)
        note = f" ({reason})" if reason else ""
        err.print(
            f"  {plan.status}{note} in {time.monotonic() - started:.1f} s",
            highlight=False,
        )
    return plan


def refuse_infeasible(plan: Plan, source: Path, purpose: str) -> None:
    """An infeasible plan (its pins contradict) has nothing to ``purpose``: UsageError."""
    if plan.status == SolveStatus.INFEASIBLE:
        raise UsageError(f"{source}: the plan is infeasible; there is nothing to {purpose}")


# -- stdout ----------------------------------------------------------------------------


def wide_console(*tables: Table) -> Console:
    """A console for stdout; when it is not a terminal (a pipe, a file), as wide as the
    widest table needs, so that nothing is cropped."""
    out = Console()
    if not out.is_terminal:
        wide = out.options.update(width=10_000)
        needed = max((Measurement.get(out, wide, t).maximum for t in tables), default=80)
        out = Console(width=max(80, needed))
    return out
