"""Step 1 of the decomposition: every interval solved on its own
(``models/07-decomposition.md``, ``models/10-interval-search.md``).

Pooled agents, optional agents all in at no cost (a relaxation: the horizon step
decides who is called in), no daily minimum. The exact interval search takes each
interval first; CP-SAT (one worker per interval, :data:`INTERVAL_TUNING`) takes the
intervals the search gives up on, with level 2 started from the search's best plan
that keeps every cell's level-1 shortfall. Each result carries the interval's proven
bounds; :func:`with_trivial_bounds` gives every interval one even when time ran out.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import Progress, ProgressCallback, SolveStatus, clock, interval_search
from optistaff.solvers.results import BlockResult, Counts, status_of
from optistaff.solvers.scaling import Scales, interval_constants

if TYPE_CHECKING:
    from optistaff.solvers.cpsat import Runner

# Fraction of an interval's time that level 1 may use: if the time limit stops level 1,
# level 2 still gets time to bound the value (CP-SAT's root LP at least), which keeps
# the reported gap meaningful.
LEVEL1_SHARE = 0.7


def solve_intervals(
    problem: AllocationProblem,
    scales: Scales,
    threads: int,
    seed: int,
    stop: threading.Event | None,
    deadline: float,
    mip_gap: float,
    progress: ProgressCallback | None,
    start: float,
) -> list[BlockResult]:
    """Every interval solved on its own, ``threads`` at a time.

    First the exact interval search (``interval_search``, bounded by its node limit)
    runs on every interval, each within its fair share of the time left (time left ×
    threads / intervals not yet searched: a limit too short for every search still
    searches every interval, instead of leaving the last ones with no plan); the
    intervals it gives up on get one CP-SAT worker each, and keep the search's own plan
    where CP-SAT's is worse. Time is shared among those the same way; intervals stopped
    there are solved again, from scratch, with all the time that remains, and keep the
    better of the two results. An interval solved to optimality in either pass gets the
    same result as one unhurried solve (the search's node limit is a count, and a fresh
    solve with one worker is deterministic), so optimal plans do not depend on timing."""
    T = problem.n_intervals
    halt = threading.Event()
    runners: list[Runner] = []  # (one, made when CP-SAT first takes an interval)
    lock = threading.Lock()
    not_started = [T]
    done = [0]

    def out_of_time() -> bool:
        return clock.now() >= deadline or halt.is_set() or (stop is not None and stop.is_set())

    fallback: dict[int, BlockResult] = {}  # the search's plan where it gave up
    unsearched = [T]

    def search(t: int) -> BlockResult | None:
        if out_of_time():
            return None
        with lock:  # its fair share of the time left (models/10-interval-search.md)
            now = clock.now()
            until = min(deadline, now + (deadline - now) * threads / max(unsearched[0], 1))
            unsearched[0] -= 1
        found, gave_up = _search(problem, t, scales, mip_gap, until)
        if gave_up is not None:
            fallback[t] = with_trivial_bounds(problem, t, gave_up)
        return None if found is None else with_trivial_bounds(problem, t, found)

    def one(t: int, share: bool) -> BlockResult:
        now = clock.now()
        if now + CPSAT_LEAST_S >= deadline or halt.is_set():  # out of time: pins only
            return with_trivial_bounds(problem, t, pins_only(problem, t))
        until = deadline
        if share:
            with lock:
                until = min(deadline, now + (deadline - now) * threads / max(not_started[0], 1))
                not_started[0] -= 1
        # CP-SAT is imported here, by the first interval the search gives up on
        from optistaff.solvers.cpsat import (
            INTERVAL_TUNING,
            Runner,
            build_model,
            solve_lexicographic,
        )

        with lock:
            if not runners:
                runners.append(Runner(1, seed, stop, halt, tuning=INTERVAL_TUNING))
        single = runners[0]
        b = build_model(problem, [t], scales, all_in=True)

        def level2_start(counts: Counts) -> interval_search.KeptShortfall | None:
            data = interval_search.interval_data(problem, t, scales.shortfall, scales.value)
            # level 2's tolerance (models/00-contract.md: mip_gap relative, 1e-6 absolute), relative
            # to level 1's plan, whose value is at most level 2's optimum
            v1 = interval_search.placed_value(data, counts)
            if v1 is None:
                return None
            _, value_const = interval_constants(problem, t, scales)
            tol = max(
                math.ceil(1e-6 * scales.value),
                math.floor(mip_gap * abs(v1 + value_const * scales.value)),
            )
            return interval_search.keep_shortfall(
                data, counts, tol=tol, node_limit=SEARCH_NODES, deadline=until
            )

        res = solve_lexicographic(
            b,
            problem,
            scales,
            single,
            until,
            mip_gap,
            None,
            start,
            level1_share=LEVEL1_SHARE,
            level2_start=level2_start,
        )
        return with_trivial_bounds(problem, t, res)

    def run_all(ts: Sequence[int], task: Callable[[int], Any], report: bool) -> list[Any]:
        out: list[Any] = []
        if threads <= 1:  # in this thread: on one worker a pool only costs (a new
            # thread's first allocations: 0.19 s instead of 0.14 s for the search of M)
            for t in ts:
                if progress is not None and report:
                    elapsed = time.monotonic() - start
                    progress(Progress("intervals", math.nan, math.nan, elapsed, done[0], T))
                got = task(t)
                if report and got is not None:
                    done[0] += 1
                out.append(got)
            return out
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="interval") as pool:
            futures = [pool.submit(clock.carried(task), t) for t in ts]
            try:
                for future in futures:
                    if progress is not None and report:
                        elapsed = time.monotonic() - start
                        progress(Progress("intervals", math.nan, math.nan, elapsed, done[0], T))
                    got = future.result()
                    if report and got is not None:
                        done[0] += 1
                    out.append(got)
            except BaseException:
                halt.set()
                for future in futures:
                    future.cancel()
                raise
        return out

    found: list[BlockResult | None] = run_all(range(T), search, True)
    todo = [t for t in range(T) if found[t] is None]
    not_started[0] = len(todo)
    for t, res in zip(todo, run_all(todo, lambda t: one(t, True), True), strict=True):
        kept = fallback.get(t)  # (CP-SAT's plan, unless the search's own was better)
        use = kept is None or res.status == SolveStatus.OPTIMAL or not better_plan(kept, res)
        found[t] = res if use else kept
    per = [res for res in found if res is not None]
    assert len(per) == T
    again = [t for t, r in enumerate(per) if r.status == SolveStatus.FEASIBLE]
    if again and clock.now() < deadline:
        for t, res in zip(again, run_all(again, lambda t: one(t, False), False), strict=True):
            if res.status == SolveStatus.OPTIMAL or better_plan(res, per[t]):
                per[t] = res
    return per


# Nodes the exact interval search (``interval_search``) may explore per level before
# CP-SAT takes the interval over. A node is one min-cost flow plus its duals.
SEARCH_NODES = 64
# The least time (solvers' clock) worth a CP-SAT interval model: with less, the interval
# keeps what it has (CP-SAT's first import alone is ~0.4 s in a fresh process, its model
# build more on a big center; a 0.01 s limit once paid both).
CPSAT_LEAST_S = 0.05


def search_interval(
    p: AllocationProblem, t: int, scales: Scales, mip_gap: float, until: float
) -> BlockResult | None:
    """Interval t by the exact branch and bound of ``interval_search`` (same scaled
    objectives and tolerances as a one-interval CP-SAT model); None when it gives up
    at its node limit (or cannot hold level 1 in level 2) and CP-SAT should solve it."""
    return _search(p, t, scales, mip_gap, until)[0]


def _search(
    p: AllocationProblem, t: int, scales: Scales, mip_gap: float, until: float
) -> tuple[BlockResult | None, BlockResult | None]:
    """:func:`search_interval`'s result, and the plan of a search that gave up at its
    node limit in level 1 (``feasible``, with the bounds that hold for any plan: a
    fallback should CP-SAT do worse in the time it gets)."""
    short_const, value_const = interval_constants(p, t, scales)
    price = p.scenario.policy.shortfall_price
    if price is not None:  # one objective: value − price·shortfall (as in solve_lexicographic)
        value_const -= price * short_const
    plan = interval_search.solve_interval(
        p,
        t,
        short_scale=scales.shortfall,
        value_scale=scales.value,
        value_const=value_const,
        mip_gap=mip_gap,
        deadline=until,
        node_limit=SEARCH_NODES,
        priced=price is not None,
    )
    if plan is None:
        return None, None
    shortfall_bound: float | None = 0.0
    if price is not None:
        shortfall_bound = None
    elif scales.shortfall > 0:
        shortfall_bound = plan.short_bound / scales.shortfall + short_const
    res = BlockResult(
        status_of(plan.optimal and not plan.gave_up),
        plan.counts,
        plan.called_in,
        bound=plan.value_bound / scales.value + value_const,
        shortfall_bound=shortfall_bound,
        short_obj=plan.short_obj,
        short_bound=plan.short_bound,
        value_bound=plan.value_bound,
        value_obj=plan.value_obj,
    )
    # gave up: CP-SAT from scratch (hinting the search's plan made its level 2 worse on
    # the peak intervals of a 10,000-agent center, 3 of 3, 8 s each), this plan kept
    return (None, res) if plan.gave_up else (res, None)


def pins_only(p: AllocationProblem, t: int) -> BlockResult:
    """Interval t's plan when no time is left to build its model (what ``fallback_result`` gives
    for an unsearched one-interval model): pinned agents on their queues, nobody else
    placed, optional agents all in (as in the per-interval relaxation)."""
    counts: dict[tuple[int, int, int], int] = {}
    for g in p.groups:
        q = g.pinned.get(t)
        if q is not None and g.available[t] and g.index in p.eligible.get((q, t), ()):
            counts[(g.index, q, t)] = 1
    called = {g.index: g.size for g in p.groups if g.optional}
    return BlockResult(SolveStatus.FEASIBLE, counts, called, searched=False)


def with_trivial_bounds(p: AllocationProblem, t: int, res: BlockResult) -> BlockResult:
    """The trivial bounds of interval t (the value is at most every cell's best value:
    cost and switching only subtract; the shortfall at least every cell's least), for an
    interval stopped before its bounds were proven (so a time-limited plan always reports
    a gap), and in place of a weaker one: a search stopped early reports the bound of its
    objective's variable domains, which counts every staffing literal of a cell at once."""
    if res.status == SolveStatus.INFEASIBLE:
        return res
    cells = [cell for q in range(p.n_queues) if (cell := p.tables.get((q, t))) is not None]
    best_value = sum(float(np.max(cell.value)) for cell in cells)
    least_short = sum(float(np.min(cell.shortfall)) for cell in cells)
    if p.scenario.policy.shortfall_price is not None:
        best_value -= p.scenario.policy.shortfall_price * least_short
    res = replace(res, bound=best_value if res.bound is None else min(res.bound, best_value))
    if p.scenario.policy.shortfall_price is None:
        short = least_short if res.shortfall_bound is None else res.shortfall_bound
        res = replace(res, shortfall_bound=max(short, least_short))
    return res


def better_plan(a: BlockResult, b: BlockResult) -> bool:
    """Is ``a`` a better plan for its interval than ``b`` (level 1, then level 2)?"""
    if not (a.searched and b.searched):
        return a.searched
    if a.short_obj != b.short_obj:
        return a.short_obj < b.short_obj
    if b.value_obj is None:
        return a.value_obj is not None
    return a.value_obj is not None and a.value_obj > b.value_obj
