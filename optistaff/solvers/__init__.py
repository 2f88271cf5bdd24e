"""Solver backends: the only place that imports OR-Tools.

A backend takes an :class:`~optistaff.formulation.AllocationProblem` and returns a
frozen :class:`SolverResult` with group-level counts; it never mutates its input.
Every native status is mapped to one :class:`SolveStatus`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from optistaff.formulation import AllocationProblem


class SolveStatus(StrEnum):
    """``optimal``: proven within the tolerances; ``feasible``: a limit was reached,
    best plan with bound and gap; ``infeasible``: pins contradict each other."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Progress:
    """A progress event: the stage (``"shortfall"`` or ``"value"``), the best objective
    found so far and the bound (objective units), and seconds since the solve began."""

    stage: str
    objective: float
    bound: float
    elapsed_s: float
    intervals_done: int = 0
    intervals_total: int = 0
    #: the phase in words, when a strategy names it (e.g. "time-varying search, round 3
    #: of at most 8"); the display otherwise names the stage
    phase: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class SolverResult:
    """Group-level decisions and what the solver proved about them.

    ``counts[(g, q, t)]``: members of group g on queue q in interval t (absent = 0);
    ``called_in[g]``: members of optional group g called in. ``bound`` is a bound on
    the level-2 objective (value − cost − switching, or the priced single objective)
    given the level-1 result; ``shortfall_bound`` a lower bound on the weighted
    shortfall. ``gap`` is relative, as in models/00-contract.md.
    """

    status: SolveStatus
    counts: dict[tuple[int, int, int], int]
    called_in: dict[int, int]
    bound: float | None
    gap: float | None
    shortfall_bound: float | None
    backend: str
    decomposition: str
    stats: dict[str, float | int | str] = field(default_factory=dict)


class Strategy(Protocol):
    """A decomposition strategy: what ``pipeline.solve`` calls (``solve_allocation``,
    ``solve_carry_over``, ``solve_leximin``). ``problem`` is the pooled problem,
    ``identity`` the identity one when switches count; counts refer to ``identity``'s
    groups when given, else ``problem``'s."""

    def __call__(
        self,
        problem: AllocationProblem,
        *,
        identity: AllocationProblem | None = None,
        time_limit_s: float,
        mip_gap: float,
        threads: int,
        seed: int,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> SolverResult: ...
