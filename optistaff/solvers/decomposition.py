"""The decomposition strategy: how a day is solved exactly (``models/07-decomposition.md``).

This module decides *what* is solved, in which order and with how much of the time
limit; it imports no solver library. The models are built and solved by the CP-SAT
backend (:mod:`optistaff.solvers.cpsat`) and the exact interval search
(:mod:`optistaff.solvers.interval_search`).

1. **Per interval** (:mod:`.per_interval`): every interval on its own, pooled agents,
   optional agents all in for free. When nothing couples the intervals (no daily
   minimum, switch penalty or optional agent) that is the answer.
2. **Priced daily minimums** (:mod:`.daily_lagrangian`, note 11): Lagrangian rounds give
   a better plan to start from and a floor for level 1.
3. **Cuts** from step 1 (:class:`~optistaff.solvers.results.Cuts`): per-interval
   bounds on shortfall and value for the horizon models.
4. **Optional agents** (:mod:`.optional_agents`, note 05) decided exactly by
   enumeration when level 1 splits per interval and few combinations remain; with a
   daily minimum, when level 1 is proven to sit at the intervals' own optima (then also
   a level-2 ceiling for the horizon models); otherwise, with a daily minimum, a
   level-2 ceiling by pricing level 1 (:mod:`.value_ceiling`, note 11).
5. **Horizon models**: the pooled horizon model (daily minimums, optional agents),
   then, with a switch penalty, the identity model over named groups, seeded by the
   best plan so far (named by :func:`regroup`) and bounded by the cuts.
6. **Re-solves** (:mod:`.reoptimise`, note 05): overtime released, switches swept.
7. **Windows** (:mod:`.windows`): a plan not proven is re-solved two intervals at a
   time, the rest of the day fixed; it only gets better.
8. **A ceiling with switching** (:mod:`.value_ceiling`, note 11): where level 1 sits at
   its floor and a switch penalty applies, level 2's ceiling with the switches priced.

The status is ``optimal`` only where each part is proven; otherwise the best plan with
bounds that hold for any plan.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ParamSpec

from optistaff.disaggregate import disaggregate, keep_agents_in_place
from optistaff.formulation import AllocationProblem
from optistaff.solvers import (
    Progress,
    ProgressCallback,
    SolverResult,
    SolveStatus,
    clock,
    daily_lagrangian,
    floor_mip,
    value_ceiling,
)
from optistaff.solvers.per_interval import LEVEL1_SHARE, solve_intervals
from optistaff.solvers.results import (
    BlockResult,
    Counts,
    Cuts,
    combine_statuses,
    solver_result,
)
from optistaff.solvers.scaling import Scales, choose_scales, interval_constants

if TYPE_CHECKING:  # (CP-SAT is imported by the steps that build a model: a day that
    # the interval search proves alone never loads it, models/03-solver.md)
    from optistaff.solvers.cpsat import CpsatModel, Runner
    from optistaff.solvers.optional_agents import AtFloor

P = ParamSpec("P")

# Fraction of the time limit the per-interval step may use when a horizon model follows
# (the best-value bounds of a daily minimum get as much again).
STEP1_SHARE = 0.3

# Fraction of the time limit the daily minimums' Lagrangian rounds may use (note 11).
LAGRANGIAN_SHARE = 0.15

# Fraction of the time limit the detection of required overtime may use with a daily
# minimum (note 11): one interval search per interval an optional group is available.
REQUIRED_SHARE = 0.1

# Fraction of the time limit the enumeration of undecided overtime may use when a daily
# minimum leaves level 1 at the intervals' own optima (note 05, "At the floor").
ENUMERATE_SHARE = 0.15

# Fraction of the time limit the level-2 ceiling by pricing level 1 may use (note 11).
CEILING_SHARE = 0.1
# ... and the ceiling with switching priced too, after the re-solves, and its rounds at
# most (note 11, "Switching priced")
SWITCH_CEILING_SHARE = 0.6
# Fraction of the time limit the identity model may use when the enumeration has solved
# the pooled problem (only switching left)
IDENTITY_AT_FLOOR_SHARE = 0.1
SWITCH_CEILING_ROUNDS = 400
# ... and only when at least this many rounds of the level-1 pricing's length fit in it.
CEILING_ROUNDS_AT_LEAST = 2

# Fraction of the time left before the horizon models kept for the re-solves after them
# (the release of overtime and the switching sweep; what they leave goes to the windows).
# At 30 s on the 2,000-agent surplus day 0.15 left the release unfinished (gap 3.2e-3);
# 0.25 gives 1.4e-3 there, the same at 60 s, and 1.29e-3 for 1.23e-3 on contact-center-sla.
REOPTIMISE_SHARE = 0.25

# Fraction of the time left after the horizon models that the release by re-solving
# (note 05) may use: on the 10,000-agent coupled center it used all 13.5 s left for 4 of
# 200 members, and the sweep after it, worth more there, had nothing.
RELEASE_SHARE = 0.5

# Passes of the switching sweep over the day (reoptimise.improve_switching, note 05),
# after the horizon models: on a 2,000-agent coupled day two passes took 3 s and brought
# 361 switches to 105.
SWITCH_PASSES = 2

# Fraction of the time left after the steps before the horizon models that the windows
# (re-solving a few intervals at a time, note 07 "Windows") may use after them.
WINDOW_SHARE = 0.5
# ... and where level 1 is not settled (the horizon model needs its time for level 1)
WINDOW_SHARE_UNSETTLED = 0.25

# When no horizon model fits the time: the fraction step 1 may use with a daily minimum
# (then the Lagrangian rounds their share, and each interval's best value the rest).
NO_HORIZON_STEP1_SHARE = 0.5
# ... and the best-value bounds end at this share of the limit, leaving the rest to the
# re-solves (the switching sweep, the release)
NO_HORIZON_BOUNDS_SHARE = 0.8
#: The share of the time left that the programme at the floor may use (note 17): on
#: contact-center-sla it closes in ~1 s; where it does not, the steps after it get the rest.
FLOOR_SHARE = 0.5
#: Off the floor (level 1 proven, a daily minimum binding): its share of the time left, and
#: the multiple of its build estimate it must have (note 17).
OFF_FLOOR_SHARE = 0.9
OFF_FLOOR_FACTOR = 3.0


@dataclass(frozen=True)
class _Solve:
    """One call of :func:`solve_allocation`: its problems, settings and clock."""

    problem: AllocationProblem
    identity: AllocationProblem | None
    scales: Scales
    start: float  # time.monotonic() when it began (progress, stats)
    begun: float  # the solvers' clock (optistaff.solvers.clock) when it began
    deadline: float
    time_limit_s: float
    mip_gap: float
    threads: int
    seed: int
    progress: ProgressCallback | None
    stop: threading.Event | None

    @functools.cached_property
    def runner(self) -> Runner:
        """The CP-SAT runner of the horizon and optional-agent models (made, and CP-SAT
        imported, when a step first needs it)."""
        from optistaff.solvers.cpsat import Runner

        return Runner(self.threads, self.seed, self.stop)

    @property
    def final(self) -> AllocationProblem:
        """The problem whose groups the answer counts (identity groups with switching)."""
        return self.identity if self.identity is not None else self.problem

    @property
    def priced(self) -> bool:
        return self.problem.scenario.policy.shortfall_price is not None

    @property
    def has_daily(self) -> bool:
        return bool(self.problem.daily)

    @property
    def has_optional(self) -> bool:
        return any(g.optional for g in self.problem.groups)


def _releasing_overtime(solve: Callable[P, SolverResult]) -> Callable[P, SolverResult]:
    """``solve``, whose plan then goes through ``optional_agents.release_unneeded``
    (overtime a plan stopped by the limit may not need; note 05, "Released")."""

    @functools.wraps(solve)
    def run(*args: P.args, **kwargs: P.kwargs) -> SolverResult:
        from optistaff.solvers.optional_agents import release_unneeded

        result = solve(*args, **kwargs)
        problem = args[0] if args else kwargs["problem"]
        identity = kwargs.get("identity")
        final = identity if isinstance(identity, AllocationProblem) else problem
        assert isinstance(final, AllocationProblem)
        return release_unneeded(final, result)

    return run


@_releasing_overtime
def solve_allocation(
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
    """Solve the allocation problem exactly (within ``mip_gap``), by the steps of the
    module docstring.

    ``problem`` is the pooled problem (``build_problem(..., pooled=True)``); with a switch
    penalty pass the ``identity`` problem too (groups that keep agents' identity over
    time). ``SolverResult.counts`` refer to the groups of ``identity`` when given, else
    of ``problem``. ``threads`` intervals are solved at once (one CP-SAT worker each), so
    an optimal plan does not depend on the thread count. A plan not proven optimal then
    gives back overtime it may not need (:func:`_releasing_overtime`).
    """
    start = time.monotonic()
    begun = clock.now()
    final = identity if identity is not None else problem
    if identity is not None and problem.couples_intervals:
        # the pooled plan is named into the identity groups (regroup) after the searches,
        # whatever the time: that work is reserved, so that the answer comes in time
        time_limit_s = max(time_limit_s - regroup_estimate_s(problem), 0.01)
    run = _Solve(
        problem,
        identity,
        choose_scales(final),
        start,
        begun,
        begun + time_limit_s,
        time_limit_s,
        mip_gap,
        threads,
        seed,
        progress,
        stop,
    )
    coupled = run.has_daily or run.has_optional or identity is not None

    def say(phase: str) -> None:
        """Tell the progress display which step runs (the steps below, in words)."""
        if progress is not None:
            elapsed = time.monotonic() - start
            progress(Progress("phase", math.nan, math.nan, elapsed, phase=phase))

    # 1. per-interval solves: independent, so `threads` of them run at once, each with
    # one CP-SAT worker (deterministic whatever the thread count)
    # when a horizon model follows, step 1 (and the best-value bounds) leave it most of
    # the time: one hard interval must not use it all
    step1 = begun + STEP1_SHARE * time_limit_s if coupled else run.deadline
    # no horizon model can be built and presolved in the time (a very large center):
    # its share goes to the intervals, the priced daily minimums and the value bounds
    # (with a daily minimum the best-value bounds take step 1's share again)
    left_for_horizon = 1 - (2 if run.has_daily else 1) * STEP1_SHARE
    horizon_fits = left_for_horizon * time_limit_s >= horizon_time_s(problem)
    if run.has_daily and identity is not None and horizon_fits:
        # with a switch penalty the pooled model comes after the rounds, the bounds and the
        # required overtime's proofs: it must be able to find a plan in what they leave
        after = (1 - 2 * STEP1_SHARE - REQUIRED_SHARE) * time_limit_s
        horizon_fits = _pooled_time_s(run, after) >= _POOLED_FIRST_PLAN * horizon_time_s(problem)
    if coupled and not horizon_fits:
        step1 = begun + (NO_HORIZON_STEP1_SHARE if run.has_daily else 0.85) * time_limit_s
    per = solve_intervals(problem, run.scales, threads, seed, stop, step1, mip_gap, progress, start)
    counts: Counts = {}
    called: dict[int, int] = {}
    for res in per:
        counts.update(res.counts)
        for g, k in res.called_in.items():
            called[g] = max(called.get(g, 0), k)
    status = combine_statuses([r.status for r in per])
    if not coupled or status == SolveStatus.INFEASIBLE:
        return solver_result(status, counts, called, per, "per-interval", start)

    # 2.-3. one model over the horizon, seeded and cut by the per-interval results
    cuts = Cuts()
    lag: daily_lagrangian.PricedRounds | None = None
    lag_round_s = math.inf  # (the seconds one level-1 pricing round took)
    if run.has_daily and not run.priced and run.scales.shortfall > 0 and per:
        say("pricing the daily minimums")
        priced_at = clock.now()
        counts, lag = _price_daily_minimums(run, per, counts, cuts)
        lag_round_s = (clock.now() - priced_at) / max(lag.rounds, 1)
    say("bounds from the intervals")
    bounds_until = None if horizon_fits else begun + NO_HORIZON_BOUNDS_SHARE * time_limit_s
    max_value = _cuts_from_intervals(run, per, cuts, step1, bounds_until) if not run.priced else []

    # 4. optional agents decided per interval where level 1 splits
    from optistaff.solvers.optional_agents import (
        enumerate_at_floor,
        enumerate_optional,
        required_optional,
    )

    if run.has_optional:
        say("deciding whom to call in")
    required = (
        required_optional(problem, per, run.scales, run.runner, run.deadline)
        if run.has_optional and not run.priced and not run.has_daily
        else None
    )
    # a round of the value ceiling costs about what a level-1 round did: it runs only when
    # several fit its share (on the 10,000-agent center one round took 10 s of a 180 s
    # limit's 18)
    ceiling_fits = CEILING_ROUNDS_AT_LEAST * lag_round_s <= CEILING_SHARE * run.time_limit_s
    # the pooled horizon model is worth its time only when it can find a plan in it (on
    # the 10,000-agent center it found none in 24-28 s of 180, four runs of four): without
    # it, and without the ceiling, nothing uses the required overtime either
    left = run.deadline - clock.now() - REQUIRED_SHARE * run.time_limit_s
    pooled_worth = horizon_fits and _pooled_time_s(run, left) >= _POOLED_FIRST_PLAN * (
        horizon_time_s(problem)
    )
    if run.has_optional and lag is not None and (pooled_worth or ceiling_fits):
        # with daily minimums: overtime level 1 cannot do without (note 11), called in
        # whole by the horizon models, its cost a floor under level 2's ceiling (where
        # neither runs, the 10,000-agent center, nothing uses it: 18 s there proved none)
        required = daily_lagrangian.required_groups(
            problem,
            run.scales.shortfall,
            run.scales.value,
            [interval_constants(problem, t, run.scales)[1] for t in range(problem.n_intervals)],
            lag,
            mip_gap=mip_gap,
            deadline=min(run.deadline, clock.now() + REQUIRED_SHARE * run.time_limit_s),
        )
    at_floor = None
    pooled_solved = False  # the pooled problem (no switching) solved by the enumeration
    if run.has_optional and lag is not None and required is not None:
        # level 1 at the intervals' own optima despite the daily minimums: the undecided
        # overtime by enumeration, a level-2 ceiling, and perhaps the optimum (note 05)
        at_floor = enumerate_at_floor(
            problem,
            per,
            required,
            lag.level1,
            run.scales,
            min(run.deadline, clock.now() + ENUMERATE_SHARE * run.time_limit_s),
            mip_gap,
        )
    if at_floor is not None:
        cuts.level2_ceiling = at_floor.ceiling
        # level 1's optimum holds every interval at its own least shortfall (note 05): as
        # without a daily minimum, each interval's shortfall is capped there
        for t, res in enumerate(per):
            cuts.short_cap[t] = res.short_obj
        if at_floor.level1_holds:
            counts = {k: v for r in at_floor.parts for k, v in r.counts.items()}
            called = dict(at_floor.called)
            gap_ok = at_floor.ceiling - at_floor.score <= max(
                1e-6 * run.scales.value, mip_gap * abs(at_floor.bound) * run.scales.value
            )
            if identity is None and gap_ok:
                parts, name = at_floor.parts, "per-interval+enumeration"
                done = solver_result(SolveStatus.OPTIMAL, counts, called, parts, name, start)
                return replace(done, bound=at_floor.bound)
            pooled_solved = gap_ok
    floor_plan = None
    floor_known = lag is not None and _at_the_floor(run, per, lag.level1)
    floor_time = FLOOR_SHARE * max(0.0, run.deadline - clock.now())
    built_s = floor_mip.build_estimate_s(run.final)
    # (building the model is not bounded by the deadline: it must fit half the share)
    floor_fits = built_s <= 0.5 * floor_time
    if not floor_known:
        # off the floor (level 1 proven by the rounds, a daily minimum binding) the
        # programme has no per-interval caps and is solved without HiGHS's presolve: on
        # the 2,000-agent surplus day 10.2 s with the build, 1.8x the build estimate. It
        # runs only where 3x that fits 90 % of the time left
        floor_time = OFF_FLOOR_SHARE * max(0.0, run.deadline - clock.now())
        floor_fits = OFF_FLOOR_FACTOR * built_s <= floor_time
    if (
        lag is not None
        and (floor_known or _level1_proven(run, lag))
        and not run.priced
        and not clock.counts_work()  # (HiGHS's time is not the solvers' work)
        and floor_fits
    ):
        # level 1 known (at its floor, or proven by the rounds): level 2 over the day as one
        # mixed-integer programme (note 17): contact-center-sla proven in ~1 s where CP-SAT
        # on one worker left 2.9e-4 in 10 s
        say("the day as one programme")
        floor_plan = floor_mip.solve(
            run.final,
            run.scales,
            {t: r.short_obj for t, r in enumerate(per)} if floor_known else {},
            lag.level1,
            deadline=clock.now() + floor_time,
            mip_gap=mip_gap,
            hint=(counts, called) if identity is None else None,
            stop=run.stop,
        )
        proven = _floor_proven(floor_plan, mip_gap)
        if proven is not None:
            done = solver_result(
                SolveStatus.OPTIMAL,
                proven.counts or {},
                proven.called or {},
                per,
                "per-interval+floor-mip",
                start,
            )
            stats = {**done.stats, "floor_mip_s": proven.seconds, "floor_mip_nodes": proven.nodes}
            return replace(done, bound=proven.bound, backend="cp-sat+highs", stats=stats)
    ceiling = None
    if run.has_daily and lag is not None and at_floor is None and not run.priced and ceiling_fits:
        say("a ceiling on value")
        ceiling = _value_ceiling(run, lag, required)
    if required is not None and identity is None and not run.priced and not run.has_daily:
        enumerated = enumerate_optional(
            problem, per, required, run.scales, run.runner, run.deadline, mip_gap, start
        )
        if enumerated is not None:
            return enumerated

    # 5. the horizon models, less the re-solves' share after them (the release of
    # overtime and the switching sweep, note 05): at 30 s on a 2,000-agent coupled day the
    # pooled model took all but 0.3 s of what was left
    final_run = run
    if (run.has_optional or identity is not None) and not run.priced:
        keep = REOPTIMISE_SHARE * max(0.0, run.deadline - clock.now())
        run = replace(run, deadline=run.deadline - keep)
    pooled = None
    if (
        identity is not None
        and (run.has_daily or run.has_optional)
        and not pooled_solved  # (its plan and bound are at hand: the identity model starts)
        # (where step 1 was given the horizon's share the model rarely gets past its
        # presolve: on the 10,000-agent center it found no plan in 28 s of 180)
        and pooled_worth
        and _pooled_time_s(final_run, final_run.deadline - clock.now())
        >= _POOLED_FIRST_PLAN * horizon_time_s(problem)
        and run.deadline - clock.now() >= horizon_time_s(problem)
    ):
        say("the whole horizon, agents pooled")
        # it may use half of the time left, or all of it when the identity model could not
        # be built in the other half anyway
        left = run.deadline - clock.now()
        share = 0.5 if 0.5 * left >= horizon_time_s(identity) else 1.0
        pooled = solve_pooled_horizon(
            problem,
            counts,
            called,
            cuts,
            required,
            run.scales,
            run.runner,
            run.deadline,
            mip_gap,
            start,
            share=share,
        )
        if pooled.status == SolveStatus.INFEASIBLE:
            return solver_result(SolveStatus.INFEASIBLE, {}, {}, [pooled], "monolithic", start)
        if pooled.searched:  # it found a plan: the identity model starts there
            counts, called = pooled.counts, pooled.called_in
        else:
            pooled = None
    say("the whole horizon")
    # the windows' share of what is left comes off the horizon model's time, where level
    # 1 is settled (it splits per interval, or sits at the proven floor); less where it
    # is not: windows rarely lower a day-wide shortfall, the horizon model may
    settled = not run.has_daily or (at_floor is not None and at_floor.level1_holds)
    share = WINDOW_SHARE if settled else WINDOW_SHARE_UNSETTLED
    reserve = share * max(0.0, run.deadline - clock.now())
    horizon_run = replace(run, deadline=run.deadline - reserve)
    if pooled_solved and identity is not None:
        # the enumeration solved the pooled problem (level 1 at its floor): only switching
        # is left. The identity model proves small days at once, but did not improve
        # contact-center-sla in 3 s of a 10 s limit or 22 s of 60 s: it gets a short
        # share, the re-solves, the windows and the ceiling with switching the rest
        most = clock.now() + IDENTITY_AT_FLOOR_SHARE * run.time_limit_s
        horizon_run = replace(run, deadline=min(horizon_run.deadline, most))
    result = _solve_horizon(
        horizon_run, per, status, counts, called, cuts, required, pooled, max_value
    )
    if at_floor is not None and result.status != SolveStatus.INFEASIBLE:
        # (the ceiling holds for level 1's optimum whatever plan the models ended with)
        bound = at_floor.bound if result.bound is None else min(result.bound, at_floor.bound)
        result = replace(result, bound=bound)
    if ceiling is not None and result.status != SolveStatus.INFEASIBLE:
        # (it bounds level 2 of every plan of level 1's optimum, whatever plan this is)
        bound = ceiling.ceiling if result.bound is None else min(result.bound, ceiling.ceiling)
        result = replace(result, bound=bound)
    run = final_run  # (the re-solves and the windows have the time up to the limit)
    releasing = (
        result.status == SolveStatus.FEASIBLE and any(result.called_in.values()) and not run.priced
    )
    if releasing and identity is not None and result.decomposition == "per-interval":
        # no horizon model improved the intervals' plan: one pass of the switching sweep
        # before the release (note 05, "Fewer switches"). On the 10,000-agent center, 70 s
        # after the horizon step, release first then the sweep gave a total of 1,432,830,
        # one sweep pass first 1,461,129 (a re-solved interval gains ~1,000 there, a
        # released member ~100). After a horizon model the release goes first: on the
        # 2,000-agent surplus day at 30 s the sweep first left 19 of 31 members called in
        # (cost 1,905.6) where the release first left 8 (864.0)
        say("fewer switches")
        result = _fewer_switches(run, result, passes=1, reroute=False)
    if releasing:
        say("releasing overtime")
        # first the quick release (each member's place taken out where it costs least,
        # note 05 "Released"), then the exact re-solves on what is left: on the 2,000-agent
        # surplus day at 30 s these had time for part of the members only (gap 1.19e-3 ->
        # 6.1e-4 with the quick release first)
        from optistaff.solvers.optional_agents import release_unneeded

        result = _release_by_resolving(run, release_unneeded(run.final, result))
    if result.status == SolveStatus.FEASIBLE and identity is not None and not run.priced:
        say("fewer switches")
        result = _fewer_switches(run, result)
    switching_ceiling = (
        result.status == SolveStatus.FEASIBLE
        and identity is not None
        and lag is not None
        and at_floor is not None
        and at_floor.level1_holds
        and bool(result.counts)
        and problem.scenario.policy.switch_penalty > 0
        and not run.priced
    )
    # (off the floor, on the 2,000-agent surplus day, 24-30 rounds of 0.4 s lowered the
    # ceiling with switching by at most 3 of a gap of 142: there it is not tried); it
    # comes after the windows, whose better plan it steps towards, in its share of the limit
    windows_run = run
    if switching_ceiling:
        reserve = SWITCH_CEILING_SHARE * run.time_limit_s
        windows_run = replace(run, deadline=max(clock.now(), run.deadline - reserve))
    if result.status == SolveStatus.FEASIBLE and result.counts and not run.priced:
        say("windows of the day")
        result = _improve_by_windows(windows_run, result, cuts)
    if switching_ceiling:
        assert lag is not None and at_floor is not None
        say("a ceiling with switching")
        result = _switching_ceiling(run, lag, result, at_floor, dict(cuts.short_cap))
    if floor_plan is not None and result.status == SolveStatus.FEASIBLE:
        result = _with_floor_plan(run, result, floor_plan)
    return result


def _at_the_floor(run: _Solve, per: Sequence[BlockResult], level1: int) -> bool:
    """Level 1's optimum is the intervals' own (note 05, "At the floor"): every interval
    proven by step 1 and a plan at hand (scaled level 1 ``level1``, daily deficits
    included) attains the sum of their least shortfalls, within the tolerance."""
    if not per or any(r.status != SolveStatus.OPTIMAL for r in per) or run.scales.shortfall <= 0:
        return False
    tol = math.ceil(0.5e-7 * run.scales.shortfall)
    return level1 <= sum(r.short_bound for r in per) + tol


def _level1_proven(run: _Solve, lag: daily_lagrangian.PricedRounds) -> bool:
    """The rounds' best plan attains their bound on level 1 (within the tolerance): level
    1's optimum is known, though not the intervals' own (a daily minimum binds)."""
    if lag.bound is None or run.scales.shortfall <= 0:
        return False
    return lag.level1 <= lag.bound + math.ceil(0.5e-7 * run.scales.shortfall)


def _floor_proven(
    found: floor_mip.FloorProgramme, mip_gap: float
) -> floor_mip.FloorProgramme | None:
    """``found`` when its plan is within ``mip_gap`` of its bound (the contract's gap,
    relative with an absolute floor of 1e-6), both by the exact tables."""
    if not found.closed or found.level2 is None or found.bound is None:
        return None
    if found.bound - found.level2 > max(1e-6, mip_gap * abs(found.bound)):
        return None
    return found


def _with_floor_plan(
    run: _Solve, result: SolverResult, found: floor_mip.FloorProgramme
) -> SolverResult:
    """The programme at the floor stopped by its share of the limit (note 17): its bound
    holds for every plan at the floor, so for the optimum; its plan replaces the one at
    hand when its level 2 is higher (both keep level 1 at the floor)."""
    from optistaff.solvers import reoptimise

    if found.bound is not None and (result.bound is None or found.bound < result.bound):
        result = replace(result, bound=found.bound, backend="cp-sat+highs")
    better = (
        found.counts is not None
        and found.called is not None
        and found.level2 is not None
        and found.level2 > reoptimise.level2(run.final, result.counts, result.called_in)
    )
    if better and found.counts is not None and found.called is not None:
        result = replace(
            result,
            counts=found.counts,
            called_in=found.called,
            backend="cp-sat+highs",
            decomposition=result.decomposition + "+floor-mip",
        )
    return result


def _switching_ceiling(
    run: _Solve,
    lag: daily_lagrangian.PricedRounds,
    result: SolverResult,
    at_floor: AtFloor,
    caps: dict[int, int],
) -> SolverResult:
    """Level 2's ceiling with the switches priced too (note 11, "Switching priced"), where
    level 1 sits at its floor (``at_floor``; ``caps`` each interval's level-1 cap): per
    combination of called-in overtime the enumeration admitted whose ceiling without
    switching reaches the plan's objective (the optimum calls in one of them), over the
    identity groups, each interval at its own cap, the multipliers starting at the plan
    at hand and stepping towards its objective; the rounds go to the combination with
    the highest ceiling (the bound is the largest), until the limit (the windows before
    it leave it ``SWITCH_CEILING_SHARE`` of the limit). The plan's bound where it is
    lower."""
    from optistaff.solvers import reoptimise
    from optistaff.solvers.optional_agents import fewer

    identity, scales = run.identity, run.scales
    assert identity is not None
    total = reoptimise.level2(identity, result.counts, result.called_in)
    deadline = run.deadline
    rounds = 0
    alive = sorted(((c, z) for c, z in at_floor.combos if c >= total), key=lambda x: -x[0])
    if not alive:
        return result
    constant = math.fsum(
        interval_constants(run.problem, t, scales)[1] for t in range(identity.n_intervals)
    )
    tol = math.ceil(0.5e-7 * scales.shortfall)
    optional = [g for g in identity.groups if g.optional]
    # each combination's ceiling: without switching until its rounds lower it; the
    # rounds go to the highest (the bound is the largest)
    tops: list[float] = []
    gens: list[Iterator[value_ceiling.ValueCeiling] | None] = []
    for _top, z in alive:
        # (the pooled problem's optional groups are its identity groups, by members)
        called = {a for g, n in z.items() for a in run.problem.groups[g].members[:n]}
        cut = {g.index: sum(1 for a in g.members if a in called) for g in optional}
        tops.append(_top)
        gens.append(
            value_ceiling.ceiling_rounds(
                fewer(identity, cut),
                scales.shortfall,
                scales.value,
                constant,
                lag.level1 + tol,
                math.fsum(g.cost_if_called * cut[g.index] for g in optional),
                threads=run.threads,
                deadline=deadline,
                stop=lambda: run.stop is not None and run.stop.is_set(),
                required={g.index for g in optional},
                switching=result.counts,
                rounds_at_most=SWITCH_CEILING_ROUNDS,
                caps=caps,
                target=total,
            )
        )
    while clock.now() < deadline:
        live = [k for k, gen in enumerate(gens) if gen is not None]
        if not live:
            break
        k = max(live, key=lambda i: tops[i])
        gen = gens[k]
        assert gen is not None
        got = next(gen, None)
        if got is None:
            gens[k] = None
            continue
        rounds += 1
        tops[k] = min(tops[k], got.ceiling)
    ceiling = max(tops)
    if result.bound is not None and ceiling >= result.bound:
        return result
    stats = {**result.stats, "switching_ceiling_rounds": rounds}
    return replace(result, bound=ceiling, stats=stats)


def _value_ceiling(
    run: _Solve, lag: daily_lagrangian.PricedRounds, required: set[int] | None
) -> value_ceiling.ValueCeiling | None:
    """Level 2's ceiling by pricing level 1 (note 11, "A level-2 ceiling"), within its
    share of the limit: level 1 of every lexicographic optimum is at most the rounds'
    best plan's (plus the tolerance), and the required overtime is paid by all of them."""
    p, scales = run.problem, run.scales
    tol = math.ceil(0.5e-7 * scales.shortfall)
    cost = math.fsum(
        p.groups[g].cost_if_called * p.groups[g].size
        for g in (required or ())
        if p.groups[g].optional
    )
    constant = math.fsum(interval_constants(p, t, scales)[1] for t in range(p.n_intervals))
    return value_ceiling.priced_ceiling(
        p,
        scales.shortfall,
        scales.value,
        constant,
        lag.level1 + tol,
        cost,
        threads=run.threads,
        deadline=min(run.deadline, clock.now() + CEILING_SHARE * run.time_limit_s),
        theta=(
            None
            if lag.multipliers is None
            else {q: m / daily_lagrangian.K for q, m in lag.multipliers.items()}
        ),
        stop=lambda: run.stop is not None and run.stop.is_set(),
        required=set(required or ()),
    )


def _release_by_resolving(run: _Solve, result: SolverResult) -> SolverResult:
    """Overtime the plan at hand keeps released where its intervals, solved again without
    the member, keep level 1 and raise the total (:mod:`.reoptimise`), in at most
    ``RELEASE_SHARE`` of the time left (the switching sweep and the windows follow); its
    status and bounds stand (they hold for any plan)."""
    from optistaff.solvers import reoptimise

    stop = run.stop
    now = clock.now()
    counts, called, released = reoptimise.release_by_resolving(
        run.final,
        result.counts,
        result.called_in,
        run.scales,
        now + RELEASE_SHARE * max(0.0, run.deadline - now),
        stop=None if stop is None else stop.is_set,
    )
    if not released:
        return result
    stats = {**result.stats, "overtime_released_by_resolving": released}
    return replace(result, counts=counts, called_in=called, stats=stats)


def _fewer_switches(
    run: _Solve, result: SolverResult, passes: int = SWITCH_PASSES, reroute: bool = True
) -> SolverResult:
    """The plan at hand with each interval solved again in turn, its neighbours held
    (:func:`.reoptimise.improve_switching`), in the time left before the windows; its
    status and bounds stand."""
    from optistaff.solvers import reoptimise

    if run.problem.scenario.policy.switch_penalty <= 0 or not result.counts:
        return result
    stop = run.stop
    counts, changed = reoptimise.improve_switching(
        run.final,
        result.counts,
        result.called_in,
        run.scales,
        run.deadline,
        stop=None if stop is None else stop.is_set,
        passes=passes,
    )
    rerouted = 0
    # then each agent who can switch put back on its best path over the day (note 05,
    # "Rerouted"): moves that no one-interval re-solve makes
    if reroute:
        counts, rerouted = reoptimise.reroute_agents(
            run.final,
            counts,
            result.called_in,
            run.deadline,
            stop=None if stop is None else stop.is_set,
        )
    if not changed and not rerouted:
        return result
    # (counted over both calls where a sweep pass ran before the release)
    before = result.stats
    earlier = before.get("intervals_resolved_for_switching", 0)
    rerouted_before = before.get("paths_rerouted", 0)
    stats = {
        **before,
        "intervals_resolved_for_switching": changed + int(earlier),
        "paths_rerouted": rerouted + int(rerouted_before),
    }
    return replace(result, counts=counts, stats=stats)


def _improve_by_windows(run: _Solve, result: SolverResult, cuts: Cuts) -> SolverResult:
    """The plan at hand improved a few intervals at a time (:mod:`.windows`) in the time
    left; its status and bounds stand (they hold for any plan)."""
    from optistaff.solvers import windows

    day_s = horizon_time_s(run.final)
    if not windows.time_for_one(run.final, run.deadline, day_s):
        return result  # (before run.runner: CP-SAT is not imported for nothing)
    stop = run.stop
    counts, taken = windows.improve(
        run.final,
        result.counts,
        result.called_in,
        run.scales,
        run.runner,
        run.deadline,
        run.mip_gap,
        cuts,
        stop=lambda: stop is not None and stop.is_set(),
        day_s=day_s,
    )
    if not taken:
        return result
    stats = {**result.stats, "windows_taken": taken}
    name = f"{result.decomposition}+windows"
    return replace(result, counts=counts, stats=stats, decomposition=name)


def _price_daily_minimums(
    run: _Solve, per: list[BlockResult], counts: Counts, cuts: Cuts
) -> tuple[Counts, daily_lagrangian.PricedRounds]:
    """Daily minimums by Lagrangian multipliers (``models/11-daily-lagrangian.md``): a
    better plan to start from (returned), and a floor for level 1 (into ``cuts``, and
    lifting the shortfall bound of ``per``'s plan)."""
    problem, scales, stop = run.problem, run.scales, run.stop
    lag_until = min(run.deadline, clock.now() + LAGRANGIAN_SHARE * run.time_limit_s)
    known = [r.short_bound for r in per] if all(r.searched for r in per) else None
    lag = daily_lagrangian.improve(
        problem,
        scales.shortfall,
        scales.value,
        [interval_constants(problem, t, scales)[1] for t in range(problem.n_intervals)],
        counts,
        known,
        mip_gap=run.mip_gap,
        deadline=lag_until,
        threads=run.threads,
        stop=lambda: stop is not None and stop.is_set(),
    )
    if lag.found_in > 0:  # a round's plan was better than step 1's
        counts = lag.counts
    if lag.bound is not None and (known is None or lag.bound > sum(known)):
        cuts.short_floor = lag.bound  # valid on its own (every interval's bound)
    if lag.bound is not None and known is not None and lag.bound > sum(known):
        # the plan at hand reports it as its shortfall bound (per-interval parts)
        lift = (lag.bound - sum(known)) / scales.shortfall
        if per[0].shortfall_bound is not None:
            per[0] = replace(per[0], shortfall_bound=per[0].shortfall_bound + lift)
    return counts, lag


def _cuts_from_intervals(
    run: _Solve,
    per: Sequence[BlockResult],
    cuts: Cuts,
    step1: float,
    until: float | None = None,
) -> list[BlockResult]:
    """Step 1's proven bounds as cuts; with a daily minimum also each interval's best
    value regardless of shortfall (returned: a bound on level 2 for any plan), searched
    until ``until`` (default: 2 × STEP1_SHARE of the limit, leaving the horizon models
    the rest)."""
    max_value: list[BlockResult] = []
    for t, res in enumerate(per):
        if not res.searched:  # out of time before any search: nothing proven
            continue
        cuts.short_lb[t] = res.short_bound
        if not run.has_daily:
            # level 1 splits per interval: S_t is held at its own optimum, and the
            # per-interval level-2 bound holds (before cost and switching)
            cuts.short_cap[t] = res.short_obj
            if res.value_bound is not None:
                cuts.value_ub[t] = res.value_bound
    if run.has_daily:
        # each interval's best value regardless of shortfall (a bound)
        value_only = Scales(0.0, run.scales.value)
        bounds_until = max(step1, run.begun + 2 * STEP1_SHARE * run.time_limit_s)
        if until is not None:
            bounds_until = until
        max_value = solve_intervals(
            run.problem,
            value_only,
            run.threads,
            run.seed,
            run.stop,
            bounds_until,
            run.mip_gap,
            None,
            run.start,
        )
        for t, res in enumerate(max_value):
            if res.value_bound is not None and res.status == SolveStatus.OPTIMAL:
                cuts.value_ub[t] = res.value_bound
        for t, res in enumerate(per):
            if res.value_bound is not None:
                cuts.value_ub_at_floor[t] = res.value_bound
    return max_value


def _solve_horizon(
    run: _Solve,
    per: Sequence[BlockResult],
    status: SolveStatus,
    counts: Counts,
    called: dict[int, int],
    cuts: Cuts,
    required: set[int] | None,
    pooled: BlockResult | None,
    max_value: Sequence[BlockResult],
) -> SolverResult:
    """The horizon model over ``run.final``'s groups (the identity model with switching),
    seeded with the best plan so far and bounded by the cuts; then the answer: its plan,
    or the best plan at hand with the bounds that hold for any plan."""
    problem, identity, final, scales = run.problem, run.identity, run.final, run.scales
    start, priced, has_daily = run.start, run.priced, run.has_daily
    hint_counts, hint_called = regroup(problem, final, counts, called)
    whole = BlockResult(SolveStatus.FEASIBLE, {}, {}, searched=False)
    hint_short: int | None = None
    if run.deadline - clock.now() >= horizon_time_s(final):  # else it would overrun
        from optistaff.solvers.cpsat import (
            add_cuts,
            build_model,
            call_in_all,
            hint_solution,
            solve_lexicographic,
        )

        b = build_model(final, range(problem.n_intervals), scales)
        add_cuts(b, cuts, scales)
        for g in required or ():
            call_in_all(b, problem, final, g)
        _lower_ceilings(b, _fixed_cost(problem, final, required, scales.value))
        _enumerated_ceiling(b, cuts)
        if pooled is not None and has_daily and not priced:  # level 1 proven there holds
            floor = pooled.short_bound
            b.short_floor = floor if b.short_floor is None else max(b.short_floor, floor)
        hint_solution(b, final, hint_counts, hint_called, scales)
        hint_short = b.hint_objectives[0] if b.hint_objectives is not None else None
        # CP-SAT takes a while to stop and hand back a large model's solution (measured
        # ~1.3 s past the limit on a 2,000-agent identity model): stop it earlier
        margin = 0.2 * horizon_time_s(final)
        whole = solve_lexicographic(
            b,
            final,
            scales,
            run.runner,
            run.deadline - margin,
            run.mip_gap,
            run.progress,
            start,
            level1_known=not priced and not has_daily,
        )
    if whole.status == SolveStatus.INFEASIBLE:
        return solver_result(SolveStatus.INFEASIBLE, {}, {}, [whole], "monolithic", start)
    if whole.bound is None and pooled is not None and pooled.bound is not None:
        if whole.searched and whole.short_obj < pooled.short_obj:
            # the identity model improved level 1 but had no time for level 2: its plan,
            # with the pooled bounds (they hold for any plan: see solve_pooled_horizon)
            part = replace(whole, bound=pooled.bound, shortfall_bound=pooled.shortfall_bound)
            name = "per-interval+horizon+identity"
            return solver_result(
                SolveStatus.FEASIBLE, whole.counts, whole.called_in, [part], name, start
            )
        # the identity model found nothing better in time: the pooled horizon plan, named
        # with fewest switches; its bound holds (switching only lowers the objective)
        return solver_result(
            SolveStatus.FEASIBLE, hint_counts, hint_called, [pooled], "per-interval+horizon", start
        )
    if whole.bound is None:  # nothing (better) found in time: the plan at hand
        # without a daily minimum the per-interval level-2 bounds bound the total too;
        # with one, each interval's best value regardless of shortfall does
        parts: Sequence[BlockResult] = per if not has_daily and not priced else []
        if len(max_value) == len(per) and all(r.bound is not None for r in max_value):
            parts = [replace(r, bound=m.bound) for r, m in zip(per, max_value, strict=True)]
        name = "per-interval" if pooled is None else "per-interval+horizon"
        plan_counts, plan_called = hint_counts, hint_called
        level1_ran = has_daily and not priced and whole.searched and hint_short is not None
        if level1_ran and whole.short_obj < (hint_short or 0):
            # the horizon model lowered the shortfall but had no time for level 2: its
            # plan (the bounds above hold for any plan with a daily minimum)
            plan_counts, plan_called = whole.counts, whole.called_in
            name += "+identity" if identity is not None else "+horizon"
        return solver_result(SolveStatus.FEASIBLE, plan_counts, plan_called, parts, name, start)
    level1_ok = priced or has_daily or status == SolveStatus.OPTIMAL
    final_status = whole.status if level1_ok else SolveStatus.FEASIBLE
    name = "per-interval+" + ("identity" if identity is not None else "horizon")
    if pooled is not None and pooled.bound is not None and whole.bound is not None:
        name = "per-interval+horizon+identity"
        whole = replace(whole, bound=min(whole.bound, pooled.bound))
        if pooled.shortfall_bound is not None and whole.shortfall_bound is not None:
            short = max(whole.shortfall_bound, pooled.shortfall_bound)
            whole = replace(whole, shortfall_bound=short)
    return solver_result(final_status, whole.counts, whole.called_in, [whole], name, start)


def solve_pooled_horizon(
    problem: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    cuts: Cuts,
    required: set[int] | None,
    scales: Scales,
    runner: Runner,
    deadline: float,
    mip_gap: float,
    start: float,
    share: float = 0.5,
) -> BlockResult:
    """With a switch penalty, before the identity model: the horizon model over the
    pooled groups (``models/07-decomposition.md``), exact for daily minimums and optional
    agents, blind to switching (pooled groups do not persist over time). It is far
    smaller than the identity model, its plan seeds that model, and its bounds hold for
    it: level 1 does not involve switching, and switching only lowers level 2. It may use
    ``share`` of the time left."""
    from optistaff.solvers.cpsat import (
        add_cuts,
        build_model,
        call_in_all,
        hint_solution,
        solve_lexicographic,
    )

    b = build_model(problem, range(problem.n_intervals), scales)
    add_cuts(b, cuts, scales)
    for g in required or ():
        call_in_all(b, problem, problem, g)
    _lower_ceilings(b, _fixed_cost(problem, problem, required, scales.value))
    _enumerated_ceiling(b, cuts)
    hint_solution(b, problem, counts, called, scales)
    # (CP-SAT stops a large model some time after its limit: as in _solve_horizon)
    half = min(
        clock.now() + share * max(0.0, deadline - clock.now()),
        deadline - 0.2 * horizon_time_s(problem),
    )
    policy = problem.scenario.policy
    level1_known = policy.shortfall_price is None and not problem.daily
    return solve_lexicographic(
        b,
        problem,
        scales,
        runner,
        half,
        mip_gap,
        None,
        start,
        level1_known=level1_known,
        level1_share=LEVEL1_SHARE,
    )


def _fixed_cost(
    pooled: AllocationProblem, final: AllocationProblem, required: set[int] | None, scale: float
) -> int:
    """The scaled cost (as in the level-2 objective) of the optional groups of ``final``
    that hold required pooled groups' members: called in whole, so paid by every plan of
    the model."""
    if not required:
        return 0
    members = {a for g in required for a in pooled.groups[g].members}
    return sum(
        round(scale * group.cost_if_called) * group.size
        for group in final.groups
        if group.optional and members & set(group.members)
    )


def _lower_ceilings(b: CpsatModel, cost: int) -> None:
    """Level 2's known ceilings bound value alone (each interval's best value); a cost
    every plan of the model pays comes off them (cost and switching are ≥ 0 otherwise)."""
    if cost <= 0:
        return
    if b.value_ceiling is not None:
        b.value_ceiling -= cost
    if b.value_ceiling_at_floor is not None:
        b.value_ceiling_at_floor -= cost


def _enumerated_ceiling(b: CpsatModel, cuts: Cuts) -> None:
    """Level 2's ceiling from the enumeration of overtime at the floor (note 05): it
    bounds value − cost (all of it, the fixed cost included) of every plan at level 1's
    floor, which that enumeration proved to be level 1's optimum."""
    if cuts.level2_ceiling is None:
        return
    known = b.value_ceiling_at_floor
    b.value_ceiling_at_floor = (
        cuts.level2_ceiling if known is None else min(known, cuts.level2_ceiling)
    )


# The pooled horizon model needs this many times its least time (horizon_time_s) to find
# a plan: on the 10,000-agent coupled center (least 22.7 s) it found none in 24-28 s
_POOLED_FIRST_PLAN = 2.0


def _pooled_time_s(run: _Solve, left: float) -> float:
    """The seconds the pooled horizon model would get with ``left`` seconds before the
    re-solves' share (``REOPTIMISE_SHARE``) is kept: half of the rest, or all of it when
    the identity model could not be built in the other half (as ``solve_allocation``)."""
    avail = (1 - REOPTIMISE_SHARE) * max(0.0, left)
    identity = run.identity
    if identity is not None and 0.5 * avail >= horizon_time_s(identity):
        return 0.5 * avail
    return avail


def horizon_time_s(p: AllocationProblem) -> float:
    """Least time worth giving a horizon model of ``p``: with less left, building and
    presolving it would overrun the limit, and the plan at hand stands. Measured: ~2e-5 s
    per allocation variable to build, a few times that to load and presolve; and per
    staffing-table entry (one one-hot literal each) ~1.3e-5 s to build and hint, as much
    again to load and presolve (the 10,000-agent coupled center: 686,029 entries, 9 s
    to build and hint its pooled model)."""
    variables = sum(sum(g.available) * len(g.skills) for g in p.groups)
    entries = sum(t.max_agents + 1 for t in p.tables.values())
    return max(1.0, 2e-4 * variables + 3e-5 * entries)


# Seconds per agent-interval to name a pooled plan into identity groups (regroup:
# disaggregate, keep_agents_in_place, counting), measured 3.8e-6 to 8e-6 on the
# 10,000-agent coupled center (1.3-2.75 s for 340,000 agent-intervals), with margin.
_REGROUP_S_PER_AGENT_INTERVAL = 1e-5


def regroup_estimate_s(problem: AllocationProblem) -> float:
    """Seconds :func:`regroup` is expected to take on ``problem``'s agents."""
    agent_intervals = sum(g.size * sum(g.available) for g in problem.groups)
    return 0.02 + _REGROUP_S_PER_AGENT_INTERVAL * agent_intervals


def regroup(
    source: AllocationProblem,
    target: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
) -> tuple[dict[tuple[int, int, int], int], dict[int, int]]:
    """A solution of ``source``'s groups as counts of ``target``'s groups: the agents
    are named (fewest switches first, :mod:`optistaff.disaggregate`, a step of this
    strategy) and counted by the groups of ``target`` they belong to."""
    assignment, called_ids = disaggregate(source, counts, called)
    assignment = keep_agents_in_place(source, assignment)
    group_at: dict[tuple[str, int], int] = {}  # (agent, t) -> target group
    for g in target.groups:
        for t, available in enumerate(g.available):
            if available:
                for a in g.members:
                    group_at[(a, t)] = g.index
    out: dict[tuple[int, int, int], int] = {}
    for (agent, t), q in assignment.items():
        if q is not None:
            key = (group_at[(agent, t)], q, t)
            out[key] = out.get(key, 0) + 1
    z: dict[int, int] = {}
    optional_group = {a: g.index for g in target.groups if g.optional for a in g.members}
    for agent in called_ids:
        z[optional_group[agent]] = z.get(optional_group[agent], 0) + 1
    return out, z
