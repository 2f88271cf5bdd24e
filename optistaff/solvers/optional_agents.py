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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from optistaff.formulation import AllocationProblem
from optistaff.solvers import SolverResult, SolveStatus, clock
from optistaff.solvers.results import BlockResult, combine_statuses, solver_result
from optistaff.solvers.scaling import Scales

if TYPE_CHECKING:  # (CP-SAT is imported where a model is built: release_unneeded runs
    # after every solve, also those the interval search proves alone)
    from optistaff.solvers.cpsat import Runner


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
    from optistaff.solvers.per_interval import search_interval

    required: set[int] = set()
    for group in p.groups:
        if clock.now() >= deadline:
            break  # only what is proven counts
        if not group.optional or group.called_in_by_pin:
            continue
        for t, available in enumerate(group.available):
            if not available or per[t].status != SolveStatus.OPTIMAL:
                continue
            cut = {group.index: group.size - 1}
            # the exact interval search first (its proven level-1 bound; a gap of 1 ends
            # level 2, not needed here, at its start), CP-SAT where it gives up
            searched = search_interval(fewer(p, cut), t, scales, 1.0, deadline)
            if searched is not None and searched.status == SolveStatus.OPTIMAL:
                least: float | None = searched.short_bound
            else:
                least = _least_by_cp_sat(p, t, cut, scales, runner, deadline)
            if least is not None and least > per[t].short_obj + 0.5:
                required.add(group.index)
                break
    return required


def fewer(p: AllocationProblem, cut: dict[int, int]) -> AllocationProblem:
    """``p`` with group g cut down to its first ``cut[g]`` members: for one interval, the
    same as at most that many of them working there."""
    groups = tuple(
        replace(h, members=h.members[: cut[h.index]]) if h.index in cut else h for h in p.groups
    )
    return replace(p, groups=groups)


def _least_by_cp_sat(
    p: AllocationProblem,
    t: int,
    cut: dict[int, int],
    scales: Scales,
    runner: Runner,
    deadline: float,
) -> float | None:
    from optistaff.solvers.cpsat import build_model, cap_members, least_shortfall

    b = build_model(p, [t], scales, all_in=True)
    if not all(cap_members(b, g, t, k) for g, k in cut.items()):
        return None
    return least_shortfall(b, scales, runner, deadline - clock.now())


def _undecided(p: AllocationProblem, required: set[int]) -> tuple[list[int], list[range]]:
    """The optional groups neither pinned in nor required, and each one's called-in
    counts to enumerate (all of it first)."""
    undecided = [
        g.index
        for g in p.groups
        if g.optional and not g.called_in_by_pin and g.index not in required
    ]
    return undecided, [range(p.groups[g].size, -1, -1) for g in undecided]


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
    from optistaff.solvers.cpsat import build_model, cap_members, solve_lexicographic
    from optistaff.solvers.per_interval import search_interval

    undecided, choices = _undecided(p, required)
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
            cut = {g: combo[g] for g in undecided if combo[g] < p.groups[g].size}
            # the exact interval search first, CP-SAT's model where it gives up
            got = search_interval(fewer(p, cut), t, scales, mip_gap, deadline)
            if got is None:
                b = build_model(p, [t], scales, all_in=True)
                for g, k in cut.items():
                    cap_members(b, g, t, k)
                got = solve_lexicographic(b, p, scales, runner, deadline, mip_gap, None, start)
            cache[key] = got
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


@dataclass(frozen=True)
class AtFloor:
    """:func:`enumerate_at_floor`'s answer: the best admissible combination of called-in
    counts (every optional group, required ones whole), its intervals' plans, its score
    and the level-2 ceiling over every admissible combination (scaled: Σ value − cost;
    ``bound`` the same in objective units), and whether its plan keeps the daily
    minimums (then it is level 1's optimum, and with all parts optimal, level 2's too)."""

    called: dict[int, int]
    parts: list[BlockResult]
    score: int
    ceiling: int
    bound: float
    level1_holds: bool
    #: every admissible combination: its level-2 ceiling without switching (objective
    #: units, as ``bound``) and its called-in counts (every optional group)
    combos: tuple[tuple[float, dict[int, int]], ...] = ()


def enumerate_at_floor(
    p: AllocationProblem,
    per: Sequence[BlockResult],
    required: set[int],
    plan_level1: int,
    scales: Scales,
    deadline: float,
    mip_gap: float,
) -> AtFloor | None:
    """Overtime decided exactly when a daily minimum does not move level 1 off the
    intervals' own optima (``models/05-optional-and-switches.md``, "At the floor").

    ``plan_level1`` is the scaled level 1 (cells and daily deficits) of a plan at hand.
    When it attains Σ_t S_t* (step 1's proven per-interval bounds, ``per`` all optimal),
    that is level 1's optimum, and every plan attaining it holds each interval at its
    own least shortfall and keeps every daily minimum. Level 2 over those plans is then
    at most max_z Σ_t V_t*(z) − cost(z) over the called-in counts z of the undecided
    optional groups, V_t*(z) interval t's level-2 optimum with z (re-solved only where a
    group cut down is available; a z is admissible when every such interval still
    attains its S_t*). That is a ceiling for level 2 (switching only lowers it), and the
    best z's intervals a plan: the optimum when it keeps the daily minimums too.
    None when the premise fails, a re-solved interval is not proven optimal, more than
    64 combinations remain, or time runs out."""
    from optistaff.solvers import daily_lagrangian
    from optistaff.solvers.per_interval import search_interval

    if not per or any(r.status != SolveStatus.OPTIMAL or r.value_bound is None for r in per):
        return None
    tol = math.ceil(0.5e-7 * scales.shortfall) if scales.shortfall > 0 else 0
    if plan_level1 > sum(r.short_bound for r in per) + tol:
        return None  # level 1 is not (known to be) the intervals' own optima
    undecided, choices = _undecided(p, required)
    if math.prod(len(c) for c in choices) > 64:
        return None
    cache: dict[tuple[int, tuple[tuple[int, int], ...]], BlockResult | None] = {}

    def interval(t: int, combo: dict[int, int]) -> BlockResult | None:
        cut = {g: k for g, k in combo.items() if p.groups[g].available[t]}
        if all(k == p.groups[g].size for g, k in cut.items()):
            return per[t]
        key = (t, tuple(sorted(cut.items())))
        if key not in cache:
            if clock.now() >= deadline:
                raise OutOfTime
            cache[key] = search_interval(fewer(p, cut), t, scales, mip_gap, deadline)
        return cache[key]

    def cost(combo: dict[int, int]) -> tuple[int, float]:
        scaled, units = 0, 0.0
        for g in p.groups:
            if g.optional:
                k = combo.get(g.index, g.size)
                scaled += round(scales.value * g.cost_if_called) * k
                units += g.cost_if_called * k
        return scaled, units

    best: tuple[int, dict[int, int], list[BlockResult]] | None = None
    ceiling: int | None = None
    bound = -math.inf
    combos: list[tuple[float, dict[int, int]]] = []
    for values in itertools.product(*choices):
        combo = dict(zip(undecided, values, strict=True))
        try:
            got = [interval(t, combo) for t in range(p.n_intervals)]
        except OutOfTime:
            return None
        if any(r is None for r in got):
            return None  # the search gave up on an interval: nothing proven
        parts = [r for r in got if r is not None]
        if any(r.status != SolveStatus.OPTIMAL or r.value_bound is None for r in parts):
            return None
        if any(r.short_bound > per[t].short_obj + tol for t, r in enumerate(parts)):
            continue  # some interval's least shortfall rises: not level-1 optimal
        paid, paid_units = cost(combo)
        score = sum(r.value_obj or 0 for r in parts) - paid
        top = sum(r.value_bound or 0 for r in parts) - paid
        ceiling = top if ceiling is None else max(ceiling, top)
        top_units = math.fsum(r.bound or 0.0 for r in parts) - paid_units
        bound = max(bound, top_units)
        whole = {g.index: combo.get(g.index, g.size) for g in p.groups if g.optional}
        combos.append((top_units, whole))
        if best is None or score > best[0]:
            best = (score, combo, parts)
    if best is None or ceiling is None:
        return None
    score, combo, parts = best
    counts: dict[tuple[int, int, int], int] = {}
    for r in parts:
        counts.update(r.counts)
    tables = daily_lagrangian.daily_tables(p, scales.shortfall, scales.value)
    holds = daily_lagrangian.level1(tables, daily_lagrangian.staffing(counts)) <= plan_level1
    called = {g.index: combo.get(g.index, g.size) for g in p.groups if g.optional}
    return AtFloor(called, parts, score, ceiling, bound, holds, tuple(combos))


def release_unneeded(p: AllocationProblem, result: SolverResult) -> SolverResult:
    """A plan not proven optimal, with overtime it may not need given back
    (``models/05-optional-and-switches.md``, "Released"): one called-in member of an
    optional group at a time, its place in every interval taken out where that costs the
    least value, is released when the plan's weighted shortfall (cells and daily
    minimums, the exact tables) does not rise and the value lost is below the member's
    cost. Only where releasing cannot add a switch: ``p`` has no switch penalty or the
    group is one agent. Pinned members, priced objectives and proven plans are left."""
    policy = p.scenario.policy
    if (
        result.status != SolveStatus.FEASIBLE
        or policy.shortfall_price is not None
        or not any(result.called_in.values())
    ):
        return result
    counts = dict(result.counts)
    called = dict(result.called_in)
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    weight = {q: p.scenario.queues[q].weight for q in p.daily}
    answered = dict.fromkeys(p.daily, 0.0)
    for (q, t), table in p.tables.items():
        if q in answered:
            answered[q] += float(table.answered[n.get((q, t), 0)])

    def daily_short(got: dict[int, float]) -> float:
        return math.fsum(weight[q] * max(0.0, p.daily[q] - got[q]) for q in p.daily)

    # each optional group's queues per interval (counts is large: index it once)
    places: dict[int, dict[int, list[int]]] = {}
    for (gg, q, t), k in counts.items():
        if k and p.groups[gg].optional:
            places.setdefault(gg, {}).setdefault(t, []).append(q)
    released = 0
    for g in p.groups:
        if not g.optional or g.called_in_by_pin or called.get(g.index, 0) <= 0:
            continue
        if policy.switch_penalty > 0 and g.size > 1:
            continue  # (one member fewer could need more switches of the others)
        while called.get(g.index, 0) > 0:
            # the member's place in each interval: the queue whose cell loses least
            # shortfall-wise, then value-wise, by one agent fewer
            moves: list[tuple[int, int]] = []
            d_short = d_value = 0.0
            got = dict(answered)
            for t, queues in places.get(g.index, {}).items():
                placed = [q for q in queues if counts.get((g.index, q, t), 0) > 0]
                if not placed or sum(counts[(g.index, q, t)] for q in placed) < called[g.index]:
                    continue  # a member idle in t: nothing to take out
                best: tuple[float, float, int] | None = None
                for q in placed:
                    cell = p.tables.get((q, t))
                    k = n.get((q, t), 0)
                    if cell is None:
                        cand = (0.0, 0.0, q)
                    else:
                        cand = (
                            float(cell.shortfall[k - 1] - cell.shortfall[k]),
                            float(cell.value[k] - cell.value[k - 1]),
                            q,
                        )
                    if best is None or cand[:2] < best[:2]:
                        best = cand
                assert best is not None
                d_short += best[0]
                d_value += best[1]
                cell = p.tables.get((best[2], t))
                if cell is not None and best[2] in got:
                    k = n.get((best[2], t), 0)
                    got[best[2]] += float(cell.answered[k - 1] - cell.answered[k])
                moves.append((best[2], t))
            d_short += daily_short(got) - daily_short(answered)
            if d_short > 0 or d_value >= g.cost_if_called - 1e-9:
                break
            for q, t in moves:
                counts[(g.index, q, t)] -= 1
                n[(q, t)] -= 1
            answered = got
            called[g.index] -= 1
            released += 1
    if not released:
        return result
    counts = {k: v for k, v in counts.items() if v}
    called = {g: k for g, k in called.items() if k}
    stats = {**result.stats, "overtime_released": released}
    return replace(result, counts=counts, called_in=called, stats=stats)
