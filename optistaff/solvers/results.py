"""What one solve of a block proves, and how parts combine (solver-neutral).

A *block* is one lexicographic solve over some intervals (one interval, or the whole
horizon): :class:`BlockResult` holds its group counts and the integer objectives and
bounds in the scales of :mod:`optistaff.solvers.scaling`. :class:`Cuts` are the valid
inequalities the per-interval step hands to a horizon model
(``models/07-decomposition.md``). Both backends (CP-SAT, the interval search) report
in these terms.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from optistaff.solvers import SolverResult, SolveStatus


@dataclass
class BlockResult:
    """One lexicographic solve. Scaled figures are CP-SAT's integer objectives (without the
    n = 0 constants): ``short_*`` of level 1, ``value_*`` of level 2 (or the priced one)."""

    status: SolveStatus
    counts: dict[tuple[int, int, int], int]
    called_in: dict[int, int]
    bound: float | None = None  # level-2 bound in objective units
    shortfall_bound: float | None = None  # level-1 bound in objective units
    short_obj: int = 0
    short_bound: int = 0
    value_bound: int | None = None
    value_obj: int | None = None
    searched: bool = True  # False: no search ran (out of time), pins only


@dataclass
class Cuts:
    """Valid inequalities from the per-interval solves (``models/07-decomposition.md``):
    S_t ≥ short_lb[t]; S_t ≤ short_cap[t] (only where level 1 is known to split per
    interval); V_t ≤ value_ub[t] (cell value of interval t)."""

    short_lb: dict[int, int] = field(default_factory=dict)
    short_cap: dict[int, int] = field(default_factory=dict)
    value_ub: dict[int, int] = field(default_factory=dict)
    value_ub_at_floor: dict[int, int] = field(default_factory=dict)
    # a bound on the whole level 1, daily minimums included (note 11)
    short_floor: int | None = None
    # a bound on level 2 (value − cost, scaled) of the plans at that floor, proven to be
    # level 1's optimum (optional_agents.enumerate_at_floor, note 05)
    level2_ceiling: int | None = None


Counts = dict[tuple[int, int, int], int]  # (group, queue, interval) -> members


def status_of(optimal: bool) -> SolveStatus:
    """``optimal`` when proven, else ``feasible``."""
    return SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE


def solver_result(
    status: SolveStatus,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    parts: Sequence[BlockResult],
    decomposition: str,
    start: float,
) -> SolverResult:
    """The strategy's result from its parts: the bounds sum over the parts (None when a
    part has none); ``start`` is when the solve began (``stats["wall_s"]``)."""
    bound: float | None = None
    short: float | None = None
    if parts and all(r.bound is not None for r in parts):
        bound = sum(r.bound for r in parts if r.bound is not None)
    if parts and all(r.shortfall_bound is not None for r in parts):
        short = sum(r.shortfall_bound for r in parts if r.shortfall_bound is not None)
    return SolverResult(
        status=status,
        counts=counts,
        called_in=called,
        bound=bound,
        gap=None,
        shortfall_bound=short,
        backend="cp-sat",
        decomposition=decomposition,
        stats={"wall_s": time.monotonic() - start},
    )


def combine_statuses(statuses: Sequence[SolveStatus]) -> SolveStatus:
    """The status of parts solved separately: infeasible if one is, optimal if all are."""
    if SolveStatus.INFEASIBLE in statuses:
        return SolveStatus.INFEASIBLE
    if all(s == SolveStatus.OPTIMAL for s in statuses):
        return SolveStatus.OPTIMAL
    return SolveStatus.FEASIBLE
