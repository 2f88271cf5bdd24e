"""Optional (overtime) agents when level 1 splits per interval
(``models/05-optional-and-switches.md``).

The per-interval step calls every optional agent in at no cost. Without a daily
minimum, level 1 is the sum of the intervals' own optima, so
:func:`required_optional` proves which optional groups the lexicographic optimum must
call in entirely (one member fewer raises some interval's least shortfall), and
:func:`enumerate_optional` decides the rest exactly by enumerating their called-in
counts when there are few combinations. Otherwise the horizon model decides.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

from optistaff.formulation import AllocationProblem
from optistaff.solvers import SolverResult, SolveStatus, clock
from optistaff.solvers.cpsat import (
    Runner,
    build_model,
    cap_members,
    least_shortfall,
    solve_lexicographic,
)
from optistaff.solvers.results import BlockResult, combine_statuses, solver_result
from optistaff.solvers.scaling import Scales


def required_optional(
    p: AllocationProblem,
    per: Sequence[BlockResult],
    scales: Scales,
    runner: Runner,
    deadline: float,
) -> set[int]:
    """Optional groups every member of which is needed for level 1: with one member fewer,
    some interval's least weighted shortfall rises above what the full group attains.
    When level 1 splits per interval (no daily minimum), the lexicographic optimum must
    call them all in (``models/05-optional-and-switches.md``)."""
    required: set[int] = set()
    for group in p.groups:
        if clock.now() >= deadline:
            break  # only what is proven counts
        if not group.optional or group.called_in_by_pin:
            continue
        for t, available in enumerate(group.available):
            if not available or per[t].status != SolveStatus.OPTIMAL:
                continue
            b = build_model(p, [t], scales, all_in=True)
            if not cap_members(b, group.index, t, group.size - 1):
                continue
            least = least_shortfall(b, scales, runner, deadline - clock.now())
            if least is not None and least > per[t].short_obj + 0.5:
                required.add(group.index)
                break
    return required


class OutOfTime(Exception):
    """The deadline passed inside an enumeration: its result would not be proven."""


def enumerate_optional(
    p: AllocationProblem,
    per: Sequence[BlockResult],
    required: set[int],
    scales: Scales,
    runner: Runner,
    deadline: float,
    mip_gap: float,
    start: float,
) -> SolverResult | None:
    """Exact choice of optional agents by enumeration, when level 1 splits per interval and
    few optional groups are undecided (``models/05-optional-and-switches.md``).

    For each combination of called-in counts of the undecided groups, an interval is
    re-solved only for the undecided groups available in it (cached by their counts).
    A combination is admissible when every interval still attains its least weighted
    shortfall; the best admissible one maximises Σ value − cost. None when there are
    more than 64 combinations (the horizon model decides then)."""
    undecided = [
        g.index
        for g in p.groups
        if g.optional and not g.called_in_by_pin and g.index not in required
    ]
    choices = [range(p.groups[g].size, -1, -1) for g in undecided]
    if math.prod(len(c) for c in choices) > 64:
        return None
    tol = math.ceil(0.5e-7 * scales.shortfall) if scales.shortfall > 0 else 0
    cache: dict[tuple[int, tuple[int, ...]], BlockResult] = {}

    def interval(t: int, combo: dict[int, int]) -> BlockResult:
        local = tuple(combo[g] for g in undecided if p.groups[g].available[t])
        if all(combo[g] == p.groups[g].size for g in undecided if p.groups[g].available[t]):
            return per[t]
        key = (t, local)
        if key not in cache:
            if clock.now() >= deadline:
                raise OutOfTime
            b = build_model(p, [t], scales, all_in=True)
            for g in undecided:
                if combo[g] < p.groups[g].size:
                    cap_members(b, g, t, combo[g])
            cache[key] = solve_lexicographic(b, p, scales, runner, deadline, mip_gap, None, start)
        return cache[key]

    best: tuple[int, dict[int, int], list[BlockResult]] | None = None
    for values in itertools.product(*choices):
        combo = dict(zip(undecided, values, strict=True))
        try:
            parts = [interval(t, combo) for t in range(p.n_intervals)]
        except OutOfTime:
            return None
        # a part not proven optimal cannot decide admissibility or rank: undecided
        if any(r.value_obj is None or r.status != SolveStatus.OPTIMAL for r in parts):
            return None
        if any(r.short_obj > per[t].short_obj + tol for t, r in enumerate(parts)):
            continue
        score = sum(r.value_obj or 0 for r in parts)
        for g in p.groups:
            if g.optional:
                k = combo.get(g.index, g.size)
                score -= round(scales.value * g.cost_if_called) * k
        if best is None or score > best[0]:
            best = (score, combo, parts)
    if best is None:
        return None
    _, combo, parts = best
    counts: dict[tuple[int, int, int], int] = {}
    for r in parts:
        counts.update(r.counts)
    called = {g.index: combo.get(g.index, g.size) for g in p.groups if g.optional}
    status = combine_statuses([r.status for r in parts])
    result = solver_result(status, counts, called, parts, "per-interval+enumeration", start)
    cost = sum(g.cost_if_called * called[g.index] for g in p.groups if g.optional)
    bound = None if result.bound is None else result.bound - cost
    return replace(result, bound=bound)
