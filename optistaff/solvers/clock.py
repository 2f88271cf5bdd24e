"""The solvers' clock: wall-clock seconds, or deterministic work (``work_limit``).

Every deadline in ``optistaff/solvers`` is read from :func:`now`. By default that is
``time.monotonic()``: a time limit is a wall-clock limit, and a plan stopped by it
depends on the machine's load. Inside :func:`counting` the clock is a :class:`WorkClock`
instead: it stands still except where the solvers :func:`charge` it for work they have
done, in amounts that depend only on the work, so a solve stopped by its work limit
stops at the same point of the same search on any machine, serial or on a cluster
(models/15-sweeps.md, "A deterministic work limit"). What is charged:

- CP-SAT: ``CPSAT_RUN_WORK`` per solve plus ``CPSAT_WORK`` per unit of its own
  deterministic time (``CpSolver.deterministic_time``; its limit is then
  ``max_deterministic_time`` instead of ``max_time_in_seconds``);
- the exact interval search: ``ARC_WORK`` per arc of each min-cost flow it solves;
- the time-varying search: ``STATE_WORK`` per state × interval of a queue-day it
  evaluates;
- the equity strategy's descent: ``MOVE_WORK`` per move it evaluates.

The units are calibrated so that one unit of work is about one second on the 2-core
machine the project is measured on (``tests/benchmarks/bench_work_limit.py`` prints the
ratio). Work is deterministic only when the solve is single-threaded (CP-SAT's
deterministic time with several workers, and the order in which parallel intervals
spend a shared budget, are not): ``pipeline.solve`` runs a work-limited solve on one
thread.

The clock is a context variable, so that concurrent solves in one process (threads of
a Dask worker) each count their own work; the solvers' thread pools run their tasks
under the caller's clock through :func:`carried`.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

# Work units (≈ seconds on the reference machine) per arc of a min-cost flow of the
# exact interval search, and per state × interval of a time-varying queue-day.
ARC_WORK = 1.5e-5
STATE_WORK = 4.0e-6
# one move evaluated by the equity strategy's descent (solvers/leximin.lift_by_moves)
MOVE_WORK = 3.0e-6
# CP-SAT's deterministic time undercounts the small models of this project: on the
# 128 and 644 solves of contact-center-overtime (stationary, time-varying), a least-squares
# fit of their wall time gave 0.005-0.010 s per solve + 3.5 s per unit of deterministic time.
CPSAT_RUN_WORK = 0.008
CPSAT_WORK = 3.5


class WorkClock:
    """Work charged so far (units ≈ seconds on the reference machine)."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._lock = threading.Lock()

    def charge(self, units: float) -> None:
        with self._lock:
            self.spent += units


_CLOCK: contextvars.ContextVar[WorkClock | None] = contextvars.ContextVar(
    "optistaff_work_clock", default=None
)


def now() -> float:
    """The reading deadlines are compared with: ``time.monotonic()``, or the work
    charged so far inside :func:`counting`."""
    clock = _CLOCK.get()
    return time.monotonic() if clock is None else clock.spent


def charge(units: float) -> None:
    """Charge ``units`` of work to the running solve's work clock (none: nothing)."""
    clock = _CLOCK.get()
    if clock is not None:
        clock.charge(units)


def charge_cpsat(deterministic_time: float) -> None:
    """Charge one CP-SAT solve that took ``deterministic_time`` of CP-SAT's units."""
    charge(CPSAT_RUN_WORK + CPSAT_WORK * deterministic_time)


def cpsat_deterministic_limit(work: float) -> float:
    """CP-SAT's ``max_deterministic_time`` for a solve that may charge ``work``."""
    return max((work - CPSAT_RUN_WORK) / CPSAT_WORK, 1e-4)


def counts_work() -> bool:
    """True inside :func:`counting`: limits are work, not seconds."""
    return _CLOCK.get() is not None


@contextlib.contextmanager
def counting() -> Iterator[WorkClock]:
    """Within this block the solvers' clock counts work from 0 (module docstring)."""
    clock = WorkClock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


P = ParamSpec("P")
R = TypeVar("R")


def carried(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, to be run by another thread under the caller's clock."""
    clock = _CLOCK.get()
    if clock is None:
        return fn

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _CLOCK.set(clock)
        try:
            return fn(*args, **kwargs)
        finally:
            _CLOCK.reset(token)

    return run
