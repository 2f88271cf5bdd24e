"""Windows: a plan improved a few intervals at a time (``models/07-decomposition.md``,
"Windows").

A horizon model over a whole day is large: CP-SAT on one worker (no LNS) often finds
nothing better than its hint in the time it has, and beyond the size where the identity
model fits, switching is only named, never optimised. This step takes the plan at hand
and re-solves W consecutive intervals at a time with the rest of the day fixed
(:func:`optistaff.solvers.cpsat.build_window`: the switches across the window's edges
against the fixed neighbours, the daily minimums with what the other intervals answer,
the called-in agents fixed), lexicographically, from the plan itself as the hint. A
window's plan replaces the day's there when it is better by the contract's order: less
weighted shortfall, or the same (not a unit more) and more of value − cost − switching.
Every accepted window keeps the day's level 1 from rising and its level 2 from
falling, so the plan only improves; nothing is proven (the status and bounds of the plan
at hand stand). Windows overlap by half; passes repeat until one changes nothing or the
deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock
from optistaff.solvers.results import Counts, Cuts
from optistaff.solvers.scaling import Scales

if TYPE_CHECKING:
    from optistaff.solvers.cpsat import Runner

#: Intervals per window (they overlap by half).
WINDOW = 2
#: Least seconds worth giving one window (its model is built and solved in it).
WINDOW_MIN_S = 0.05


def _least_s(p: AllocationProblem, day_s: float) -> float:
    """The least time a window gets (its share of a whole-day model's, ``day_s``)."""
    return max(WINDOW_MIN_S, day_s * min(WINDOW, p.n_intervals) / max(p.n_intervals, 1))


def time_for_one(p: AllocationProblem, deadline: float, day_s: float = 0.0) -> bool:
    """Is there time for one window before ``deadline``? (When not, nothing of CP-SAT
    is touched: its import is ~0.5 s in a fresh process, which a tiny limit would pay.)"""
    return clock.now() + _least_s(p, day_s) < deadline


def improve(
    p: AllocationProblem,
    counts: Counts,
    called: dict[int, int],
    scales: Scales,
    runner: Runner,
    deadline: float,
    mip_gap: float,
    cuts: Cuts | None = None,
    stop: Callable[[], bool] | None = None,
    day_s: float = 0.0,
) -> tuple[Counts, int]:
    """The plan (``counts`` of ``p``'s groups, ``called``) improved window by window
    until ``deadline`` (the solvers' clock); returns the counts and the windows taken.
    ``cuts``: the per-interval step's, restricted to each window (its level-1 floor is
    then Σ of its intervals' bounds: the daily deficits are ≥ 0). ``day_s``: the least
    time worth giving a model of the whole day (``decomposition.horizon_time_s``); a
    window needs its share of it (building it must not overrun the deadline)."""
    if not time_for_one(p, deadline, day_s) or (stop is not None and stop()):
        return dict(counts), 0
    from optistaff.solvers.cpsat import (
        add_cuts,
        build_window,
        hint_solution,
        solve_lexicographic,
    )

    T = p.n_intervals
    width = min(WINDOW, T)
    least_s = _least_s(p, day_s)
    step = max(1, width // 2)
    starts = list(range(0, max(T - width, 0) + 1, step))
    if starts[-1] != T - width:
        starts.append(T - width)
    plan = dict(counts)
    taken = 0
    changed = True
    while changed:
        changed = False
        for i, t0 in enumerate(starts):
            now = clock.now()
            if now + least_s >= deadline or (stop is not None and stop()):
                return plan, taken
            window = range(t0, t0 + width)
            b = build_window(p, window, scales, plan, called)
            if cuts is not None:
                add_cuts(b, _restricted(cuts, window), scales)
            hint_solution(b, p, plan, called, scales)
            before = b.hint_objectives
            if before is None:
                continue
            # an equal share of the time left for each window still to come this pass
            share = (deadline - now) / max(1, len(starts) - i)
            res = solve_lexicographic(
                b,
                p,
                scales,
                runner,
                min(deadline, now + max(share, least_s)),
                mip_gap,
                None,
                now,
                level1_share=0.5,
            )
            if not res.searched or res.value_obj is None:
                continue
            lower = res.short_obj < before[0]
            richer = res.short_obj <= before[0] and res.value_obj > before[1]
            if not (lower or richer):
                continue
            inside = set(window)
            plan = {k: v for k, v in plan.items() if k[2] not in inside}
            plan.update({k: v for k, v in res.counts.items() if v and k[2] in inside})
            taken += 1
            changed = True
    return plan, taken


def _restricted(cuts: Cuts, window: range) -> Cuts:
    """The per-interval cuts of the intervals of ``window`` (the day-wide ceilings and
    floor do not hold for a part of the day)."""
    inside = set(window)

    def part(d: dict[int, int]) -> dict[int, int]:
        return {t: v for t, v in d.items() if t in inside}

    return Cuts(
        short_lb=part(cuts.short_lb),
        short_cap=part(cuts.short_cap),
        value_ub=part(cuts.value_ub),
        value_ub_at_floor=part(cuts.value_ub_at_floor),
    )
