"""The equity strategy (``policy.objective: equity``, ``models/16-equity.md``):
leximin over the queues' horizon service levels, after level 1 and before cost.

1. **Level 1 and a first plan**: the value objective's solve
   (:func:`~optistaff.solvers.decomposition.solve_allocation`), whose level 1 is the
   same weighted shortfall. Its S is held from then on (S ≤ S* + tolerance when
   proven, else S ≤ S of its plan), and its plan is the first hint.
2. **The lowest level priced** (uncoupled days: no daily minimum, switch penalty or
   optional agent, where level 1 splits per interval). With weights w on the queues,
   max_n min_q SL_q ≤ L(w) = Σ_t max_{n_t} Σ_q (w_q / C_q)·a(q,t,n_qt), and each
   interval's max is the per-interval value solve (level 1 held) with the queues
   valued w_q / C_q per call answered within target. Multiplicative weights
   w_q ∝ w_q·exp(−η·SL_q(n(w))) lower L; every n(w) is a plan, and the best of them
   (by its lowest SL) starts step 3; min_w L(w) is a proven bound on the lowest level.
   Then (2b; also on coupled days without a daily minimum) a descent over
   single-agent moves lifts the sorted SLs further (:func:`lift_by_moves`).
3. **Leximin levels** on one horizon model (:mod:`optistaff.solvers.cpsat.leximin`):
   with θ_k the sum of the k lowest service levels, maximise θ_1, hold it, maximise
   θ_2, and so on to θ_m (sorted vectors compare as their θ do: exact on integer
   plans, where fixing "bottleneck" queues is not). Every solve starts from the best
   plan so far.
4. **Level 3**: least cost of the called-in agents plus switching, every level held.

The plan is ``optimal`` only when level 1, every θ level and
level 3 are proven within the tolerances; otherwise ``feasible``, with a bound on the
lowest service level when level 1 is proven. It is never worse, by the leximin order of
the model's service levels, than the value plan of step 1 (that plan is kept if so).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace

from optistaff.formulation import AgentGroup, AllocationProblem
from optistaff.solvers import Progress, ProgressCallback, SolverResult, SolveStatus, clock
from optistaff.solvers.cpsat import LEXIMIN_TUNING, Runner
from optistaff.solvers.cpsat.leximin import RESOLUTION, LeximinModel, Solved
from optistaff.solvers.decomposition import solve_allocation
from optistaff.solvers.per_interval import solve_intervals
from optistaff.solvers.results import Counts
from optistaff.solvers.scaling import choose_scales

#: Share of the time limit for step 1 (the value solve: level 1 and the first plan).
FIRST_SHARE = 0.3
#: Share of what is left kept for level 3 (least cost and switching).
COST_SHARE = 0.15
#: Rounds of the priced lowest level (step 2), its share of the time left, and its step.
PRICED_ROUNDS = 40
PRICED_SHARE = 0.4
PRICED_STEP = 4.0
#: Share of the time left for the descent of step 2b.
LIFT_SHARE = 0.2
#: A level is proven when within max(REL_TOL·level, ABS_TOL) of its bound (SL units).
REL_TOL = 1e-9
ABS_TOL = 1e-8


def level_tolerance(level: int, rounding: float) -> int:
    """The tolerance of one service level in model units (``RESOLUTION`` per unit SL):
    max(1e-9 relative, 1e-8 absolute, twice the rounding of the model's SLs)."""
    return math.ceil(max(REL_TOL * level, (ABS_TOL + 2 * rounding) * RESOLUTION))


def cumulative_tolerance(k: int, theta: int, rounding: float) -> int:
    """The tolerance of θ_k, the sum of the k lowest service levels (model units):
    k times that of one level, and 1e-9 of θ_k."""
    return math.ceil(max(REL_TOL * theta, k * (ABS_TOL + 2 * rounding) * RESOLUTION))


def solve_leximin(
    problem: AllocationProblem,
    *,
    identity: AllocationProblem | None = None,
    time_limit_s: float,
    mip_gap: float,
    threads: int,
    seed: int,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> SolverResult:
    """The leximin plan of the module docstring; counts refer to ``identity``'s groups
    when given, else ``problem``'s."""
    start = time.monotonic()
    deadline = clock.now() + time_limit_s
    final = identity if identity is not None else problem

    def say(phase: str) -> None:
        if progress is not None:
            elapsed = time.monotonic() - start
            progress(Progress("phase", math.nan, math.nan, elapsed, phase=phase))

    first = solve_allocation(
        problem,
        identity=identity,
        time_limit_s=FIRST_SHARE * time_limit_s,
        mip_gap=mip_gap,
        threads=threads,
        seed=seed,
        progress=progress,
        stop=stop,
    )
    if first.status == SolveStatus.INFEASIBLE:
        return first
    say("equity: the lowest service level")
    model = LeximinModel(
        final,
        choose_scales(final),
        first.counts,
        first.called_in,
        Runner(threads, seed, stop, tuning=LEXIMIN_TUNING),
    )
    level1_proven = _hold_level1(model, first)
    start_sl = model.sl_of(first.counts)
    worst_rounding = max((model.rounding(q) for q in model.queues), default=0.0)

    queues = list(model.queues)
    levels = 0
    proven = level1_proven
    lowest_bound: int | None = None
    solves = 0
    priced: Priced | None = None
    if identity is None and not problem.couples_intervals and len(queues) > 1:
        say("equity: the lowest service level, priced per interval")
        priced = price_lowest(problem, queues, deadline, threads, seed, mip_gap, stop)
        if priced is not None and not _worse(model.sl_of(priced.counts), start_sl, 0):
            model.start_from(priced.counts, priced.called)
            start_sl = model.sl_of(priced.counts)
            lowest_bound = priced.bound
        else:
            priced = None
    # 2b. single-agent moves that lift the sorted SLs (the later levels above all);
    # level 1 splits per interval for given calls-in unless a daily minimum couples it
    movable = not final.daily and len(queues) > 1
    if movable:
        until = clock.now() + LIFT_SHARE * max(0.0, deadline - clock.now())
        lifted, moves = lift_by_moves(final, model.best[0], queues, until, stop)
        if moves:
            model.start_from(lifted, model.best[1])
            start_sl = model.sl_of(lifted)
    # the best plan so far by the leximin order of the model's SLs: a solve that cannot
    # raise its level may return a plan worse above it; the next solve then starts from
    # the best plan again
    grain = level_tolerance(RESOLUTION, worst_rounding)
    incumbent = (model.best, model.sl_of(model.best[0]))

    def consider() -> None:
        nonlocal incumbent
        sl = model.sl_of(model.best[0])
        if _worse(incumbent[1], sl, grain):
            incumbent = (model.best, sl)
        elif model.best is not incumbent[0]:
            model.start_from(*incumbent[0])

    m = len(model.queues)
    for k in range(1, m + 1):
        left = deadline - clock.now()
        budget = left * (1 - COST_SHARE)
        if budget <= 0.01 or (stop is not None and stop.is_set()):
            proven = False
            break
        share = budget / (m - k + 2)
        closed = None
        if k == 1 and priced is not None:
            z0 = min(start_sl[q] for q in model.queues)
            if priced.bound <= z0 + cumulative_tolerance(1, z0, worst_rounding):
                closed = Solved(True, z0, priced.bound, dict(start_sl))  # (no solve needed)
        if closed is not None:
            got = closed
        else:
            got = model.max_cumulative(
                k, share, cumulative_tolerance(k, k * RESOLUTION, worst_rounding)
            )
            solves += 1
            consider()
        if got.value is None or got.bound is None:
            proven = False
            break
        theta = got.value
        tol = cumulative_tolerance(k, theta, worst_rounding)
        if k == 1:
            lowest_bound = got.bound if lowest_bound is None else min(lowest_bound, got.bound)
            if lowest_bound <= theta + tol:
                got = replace(got, proven=True)  # (the priced bound closes it)
        proven = proven and got.proven
        model.hold_cumulative(k, theta - tol)
        levels += 1
        say(f"equity: {levels} of {m} level(s) fixed")

    if movable:
        until = clock.now() + 0.5 * max(0.0, deadline - clock.now())
        lifted, moves = lift_by_moves(final, incumbent[0][0], model.queues, until, stop)
        if moves:  # (the horizon solves stopped short of a plan the moves improve; when
            # they proved every level, the moves are within the levels' tolerances)
            model.start_from(lifted, incumbent[0][1])
            incumbent = (model.best, model.sl_of(lifted))
    say("equity: least cost and switching")
    cost = model.min_cost(max(deadline - clock.now(), 0.01))
    if cost is not None:
        solves += 1
        proven = proven and cost.proven and cost.value is not None
        # (every queue is held within a level tolerance of its level: the plans may
        # differ by twice that)
        held = model.sl_of(model.best[0])
        if cost.value is not None and not _worse(held, incumbent[1], 3 * grain):
            incumbent = (model.best, held)
        else:
            proven = False  # (the plan kept is not level 3's)
    counts, called = incumbent[0]
    if _worse(model.sl_of(counts), start_sl, level_tolerance(RESOLUTION, worst_rounding)):
        counts, called = dict(first.counts), dict(first.called_in)  # (a safeguard)
        proven = False
    stats: dict[str, float | int | str] = {
        "wall_s": time.monotonic() - start,
        "leximin_levels": levels,
        "leximin_solves": solves,
        "level1_proven": int(level1_proven),
        "priced_rounds": 0 if priced is None else priced.rounds,
    }
    if lowest_bound is not None and level1_proven:
        # a bound on the lowest SL of every plan that holds level 1 (the rounding added)
        stats["lowest_bound"] = lowest_bound / RESOLUTION + worst_rounding
    return SolverResult(
        status=SolveStatus.OPTIMAL if proven and levels == m else SolveStatus.FEASIBLE,
        counts=counts,
        called_in=called,
        bound=None,
        gap=None,
        shortfall_bound=first.shortfall_bound,
        backend=first.backend,
        decomposition=f"{first.decomposition}; leximin ({levels} levels, {solves} solves)",
        stats=stats,
    )


@dataclass(frozen=True)
class Priced:
    """Step 2's outcome: the best plan's counts and calls, and the proven bound on the
    lowest SL (model units) with the rounds it took."""

    counts: Counts
    called: dict[int, int]
    bound: int
    rounds: int


def price_lowest(
    problem: AllocationProblem,
    queues: list[int],
    deadline: float,
    threads: int,
    seed: int,
    mip_gap: float,
    stop: threading.Event | None,
) -> Priced | None:
    """Step 2 of the module docstring on an uncoupled ``problem``; None when no round
    finished in its time."""
    sc = problem.scenario
    calls = {q: math.fsum(sc.queues[q].forecast) for q in queues}
    total = math.fsum(calls.values())
    until = clock.now() + PRICED_SHARE * max(0.0, deadline - clock.now())
    w = dict.fromkeys(queues, 1.0 / len(queues))
    best: tuple[float, Counts, dict[int, int]] | None = None
    bound = math.inf
    rounds = 0
    while rounds < PRICED_ROUNDS and clock.now() < until:
        if stop is not None and stop.is_set():
            break
        # the queues valued w_q / C_q per call answered within target (×total: values
        # of about one per call, as the scales expect)
        tables = {
            k: replace(cell, value=cell.answered * (total * w.get(k[0], 0.0) / calls[k[0]]))
            if k[0] in calls
            else replace(cell, value=cell.answered * 0.0)
            for k, cell in problem.tables.items()
        }
        priced = replace(problem, tables=tables)
        scales = choose_scales(priced)
        per = solve_intervals(
            priced, scales, threads, seed, stop, until, mip_gap, None, time.monotonic()
        )
        if any(r.status != SolveStatus.OPTIMAL or r.bound is None for r in per):
            break  # out of time: this round proves nothing
        rounds += 1
        bound = min(bound, math.fsum(r.bound for r in per if r.bound is not None) / total)
        counts: Counts = {}
        for r in per:
            counts.update(r.counts)
        sl = _levels_of(problem, counts, calls)
        lowest = min(sl.values())
        if best is None or lowest > best[0]:
            best = (lowest, counts, {})
        if bound - best[0] <= ABS_TOL:
            break
        w = {q: w[q] * math.exp(-PRICED_STEP * sl[q]) for q in queues}
        norm = math.fsum(w.values())
        w = {q: x / norm for q, x in w.items()}
    if best is None:
        return None
    return Priced(best[1], best[2], math.ceil(bound * RESOLUTION), rounds)


def lift_by_moves(
    problem: AllocationProblem,
    counts: Counts,
    queues: list[int],
    until: float,
    stop: threading.Event | None = None,
) -> tuple[Counts, int]:
    """Step 2b on a ``problem`` without daily minimums (where level 1 splits per interval
    for given calls-in): steepest descent, interval by interval, over single-agent moves
    (one member of a non-optional group from a queue or idle to another of its queues,
    or to idle; optional agents stay as placed): in each interval the move whose sorted
    SLs are best by the leximin order is taken while it improves on them beyond
    ``ABS_TOL`` and the interval's weighted shortfall does not grow (level 1 kept);
    passes repeat until one changes nothing. (First improvement spent idle agents on
    tiny gains of the lowest queue that the second lowest needed.) Deterministic;
    returns the counts and the moves taken."""
    sc = problem.scenario
    calls = {q: math.fsum(sc.queues[q].forecast) for q in queues}
    counts = dict(counts)
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    sl = _levels_of(problem, counts, calls)
    taken = 0

    def better(new: dict[int, float], old: dict[int, float]) -> bool:
        for x, y in zip(sorted(new.values()), sorted(old.values()), strict=True):
            if abs(x - y) > ABS_TOL:
                return x > y
        return False

    def moved(g: AgentGroup, t: int, a: int, b: int) -> dict[int, float] | None:
        """The SLs after moving one member of g from a to b in t (-1: idle); None when
        the interval's weighted shortfall would grow."""
        new, short = dict(sl), 0.0
        for q, step in ((a, -1), (b, +1)):
            cell = problem.tables.get((q, t)) if q >= 0 else None
            if cell is None:
                continue
            k = n.get((q, t), 0)
            short += float(cell.shortfall[k + step] - cell.shortfall[k])
            if q in new:
                new[q] += float(cell.answered[k + step] - cell.answered[k]) / calls[q]
        return None if short > 1e-12 else new

    def out_of_time() -> bool:
        return clock.now() >= until or (stop is not None and stop.is_set())

    changed = True
    while changed and not out_of_time():
        changed = False
        for t in range(problem.n_intervals):
            while not out_of_time():
                best: tuple[AgentGroup, int, int, dict[int, float]] | None = None
                for g in problem.groups:
                    if not g.available[t] or g.optional or t in g.pinned:
                        continue
                    placed = {q: counts.get((g.index, q, t), 0) for q in g.skills}
                    held = {**placed, -1: g.size - sum(placed.values())}
                    for a in [-1, *g.skills]:
                        if held[a] == 0:
                            continue
                        for b in [*g.skills, -1]:
                            if b == a or (b >= 0 and (b, t) not in problem.tables):
                                continue
                            clock.charge(clock.MOVE_WORK)
                            new = moved(g, t, a, b)
                            if new is not None and better(new, best[3] if best else sl):
                                best = (g, a, b, new)
                if best is None:
                    break
                g, a, b, new = best
                for q, step in ((a, -1), (b, +1)):
                    if q >= 0:
                        key = (g.index, q, t)
                        counts[key] = counts.get(key, 0) + step
                        if counts[key] == 0:
                            del counts[key]
                        n[(q, t)] = n.get((q, t), 0) + step
                sl, taken, changed = new, taken + 1, True
    return counts, taken


def _levels_of(
    problem: AllocationProblem, counts: Counts, calls: dict[int, float]
) -> dict[int, float]:
    """Horizon SL of each queue of ``calls`` under group ``counts`` (the tables')."""
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    answered = dict.fromkeys(calls, 0.0)
    for (q, t), cell in problem.tables.items():
        if q in answered:
            answered[q] += float(cell.answered[n.get((q, t), 0)])
    return {q: answered[q] / calls[q] for q in calls}


def _hold_level1(model: LeximinModel, first: SolverResult) -> bool:
    """Hold level 1 in ``model`` (S ≤ S* + tolerance when proven, else S ≤ S of the
    first plan); True when level 1 is proven."""
    scale = model.scales.shortfall
    proven = first.status == SolveStatus.OPTIMAL
    if scale <= 0:
        return proven
    const = model.shortfall_constant()
    short_int = model.start_shortfall
    s_first = short_int / scale + const
    lb = first.shortfall_bound
    tol = max(1e-9 * abs(lb if lb is not None else s_first), 1e-7)
    proven = proven or (lb is not None and s_first <= lb + tol)
    cap = short_int
    if proven:
        allowed = (lb if lb is not None else s_first) + tol
        cap = max(short_int, math.floor((allowed - const) * scale))
    model.hold_shortfall(cap)
    return proven


def _worse(a: dict[int, int], b: dict[int, int], tol: int) -> bool:
    """True when service levels ``a`` are worse than ``b`` by the leximin order (both
    sorted ascending, the first difference beyond ``tol`` decides)."""
    for x, y in zip(sorted(a.values()), sorted(b.values()), strict=True):
        if abs(x - y) > tol:
            return x < y
    return False
