"""The CP-SAT runner and the lexicographic block (``models/06-objective.md``).

:class:`Runner` runs one CP-SAT search in a worker thread (so that Ctrl-C and a stop
event end it at once) with the thread count, seed and tuning given.
:func:`solve_lexicographic` solves one built model (:mod:`.families`) in the
contract's order: level 1 minimises the weighted shortfall, level 2 maximises value −
cost − switching with the shortfall held at level 1's optimum (or one priced
objective with ``policy.shortfall_price``), with the tolerances of
``models/00-contract.md``. Known floors and ceilings, a hinted plan and the interval
search's box plan count as proofs where they hold.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ortools.sat.python import cp_model

from optistaff.formulation import AllocationProblem
from optistaff.solvers import Progress, ProgressCallback, SolveStatus, clock, interval_search
from optistaff.solvers.cpsat.families import (
    CpsatModel,
    extract_plan,
    hint_solution,
    shortfall_expr,
    value_expr,
)
from optistaff.solvers.results import BlockResult, Counts, status_of
from optistaff.solvers.scaling import Scales

# CP-SAT parameters for the one-interval models (one worker each): the full LP
# relaxation (linearization level 2) bounds the one-hot staffing curves well, probing
# costs more than it saves there, and the LB-tree search finds and proves the hard
# peak intervals of large centers (10,000 agents, 100 queues: an interval the default
# search left at a 15 % gap after 25 s, with a plan 10 % worse, is optimal in 12 s).
# Measured on generated M, L shortage and L surplus centers: 1.9-2.2x less search time
# than the defaults. Only speed depends on this: optimality is proven either way.
INTERVAL_TUNING = {
    "linearization_level": 2,
    "cp_model_probing_level": 0,
    "optimize_with_lb_tree_search": True,
}

# CP-SAT parameters for the equity horizon model (``models/16-equity.md``): no probing
# during inprocessing. With service levels scaled by 1e10, the sums θ_k held at a level
# (k·t − Σ d_q ≥ L, d_q ≥ t − sl_q) let OR-Tools 9.15's linear propagator push t and
# the d_q up by a few units per round while probing a literal that makes them
# infeasible: some 1e9 rounds, neither the time limit nor ``stop_search`` reaches it (a
# three-agent, three-interval day ran for hours; ``test_equity.py``'s hypothesis test
# under seed 13). Without that probing the same model is optimal in 6 ms.
LEXIMIN_TUNING = {"inprocessing_probing_dtime": 0.0}


class ProgressRelay(cp_model.CpSolverSolutionCallback):
    """Relays CP-SAT's improving solutions to a :data:`ProgressCallback` in objective
    units (at most every 0.25 s)."""

    def __init__(
        self,
        stage: str,
        scale: float,
        sign: float,
        offset: float,
        start: float,
        progress: ProgressCallback | None,
    ) -> None:
        super().__init__()
        self._stage, self._scale, self._sign, self._offset = stage, scale, sign, offset
        self._start, self._progress = start, progress
        self._last = 0.0

    def on_solution_callback(self) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        self._progress(
            Progress(
                stage=self._stage,
                objective=self._sign * self.objective_value / self._scale + self._offset,
                bound=self._sign * self.best_objective_bound / self._scale + self._offset,
                elapsed_s=now - self._start,
            )
        )


@dataclass
class StageResult:
    """One CP-SAT run: its native status, objective and bound (scaled units)."""

    status: Any  # cp_model.CpSolverStatus
    objective: float  # in scaled units (CP-SAT's objective)
    bound: float


class Runner:
    """Runs CP-SAT in a worker thread so that Ctrl-C in the main thread stops the search
    cleanly (the caller then sees KeyboardInterrupt and writes nothing)."""

    def __init__(
        self,
        threads: int,
        seed: int,
        *stops: threading.Event | None,
        tuning: Mapping[str, float] | None = None,
    ) -> None:
        self.threads, self.seed = threads, seed
        self.stops = tuple(e for e in stops if e is not None)
        self.tuning = dict(tuning or {})

    def run(
        self,
        model: cp_model.CpModel,
        time_limit_s: float,
        rel_gap: float,
        abs_gap: float,
        callback: ProgressRelay | None,
    ) -> tuple[cp_model.CpSolver, StageResult]:
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = self.threads
        params.random_seed = self.seed
        if clock.counts_work():  # a work limit (optistaff.solvers.clock)
            params.max_deterministic_time = clock.cpsat_deterministic_limit(time_limit_s)
        else:
            params.max_time_in_seconds = max(time_limit_s, 0.01)
        params.relative_gap_limit = rel_gap
        params.absolute_gap_limit = abs_gap
        params.catch_sigint_signal = False
        for name, value in self.tuning.items():
            setattr(params, name, value)
        outcome: dict[str, Any] = {}

        def work() -> None:
            outcome["status"] = solver.solve(model, callback)

        worker = threading.Thread(target=work, name="optistaff-cpsat", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
                if any(e.is_set() for e in self.stops):
                    solver.stop_search()
        except KeyboardInterrupt:
            solver.stop_search()
            worker.join()
            raise
        clock.charge_cpsat(solver.deterministic_time)
        status = outcome.get("status", cp_model.UNKNOWN)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver, StageResult(status, solver.objective_value, solver.best_objective_bound)
        return solver, StageResult(status, math.nan, math.nan)


def solve_lexicographic(
    b: CpsatModel,
    p: AllocationProblem,
    scales: Scales,
    runner: Runner,
    deadline: float,
    mip_gap: float,
    progress: ProgressCallback | None,
    start: float,
    *,
    level1_known: bool = False,
    level1_share: float = 1.0,
    level2_start: Callable[[Counts], interval_search.KeptShortfall | None] | None = None,
) -> BlockResult:
    """Lexicographic solve of one built model: level 1 (minimise the weighted shortfall),
    then level 2 (maximise value − cost − switching with the shortfall held). With
    ``level1_known`` the model already holds the shortfall at its optimum (per-interval
    caps) and only level 2 runs. With a shortfall price: one priced objective.

    Known bounds (``b.short_floor``, ``b.value_ceiling``, from the per-interval solves)
    count as proofs: a hinted plan that attains one needs no search, and a search that
    stops at its time limit is still optimal when its plan is within tolerance of one.

    ``level1_share`` is the fraction of the time left that level 1 may use, so that a
    level 1 stopped by the time limit still leaves level 2 time to find its plan's value
    and a bound. ``level2_start`` (one-interval blocks) maps level 1's plan to the best
    plan that keeps every cell's shortfall (``interval_search.keep_shortfall``): level 2's
    optimum when one feasibility model shows that no plan outside that box has as
    little shortfall (:func:`nothing_outside`), else CP-SAT's level-2 starting point."""
    job = _Job(b, p, scales, runner, deadline, mip_gap, progress, start)
    if p.scenario.policy.shortfall_price is not None:
        return _solve_priced(job)
    level1 = _solve_level1(job, level1_known, level1_share, level2_start)
    if isinstance(level1, BlockResult):
        return level1  # no plan in time (or none at all)
    return _solve_level2(job, level1)


@dataclass(frozen=True)
class _Job:
    """One call of :func:`solve_lexicographic`: the model, its problem and settings."""

    b: CpsatModel
    p: AllocationProblem
    scales: Scales
    runner: Runner
    deadline: float
    mip_gap: float
    progress: ProgressCallback | None
    start: float


def _solve_priced(job: _Job) -> BlockResult:
    """One priced objective: value − cost − switching − price × weighted shortfall."""
    b, p, scales, runner = job.b, job.p, job.scales, job.runner
    deadline, mip_gap, progress, start = job.deadline, job.mip_gap, job.progress, job.start
    value, value_const = value_expr(b, p, scales.value)
    abs_gap2 = 1e-6 * scales.value  # the contract: mip_gap relative, absolute floor 1e-6
    shortfall, short_const = shortfall_expr(b, scales.shortfall)
    has_shortfall = scales.shortfall > 0 and bool(b.cells or b.daily)
    result = BlockResult(SolveStatus.OPTIMAL, {}, {}, shortfall_bound=0.0)
    price = p.scenario.policy.shortfall_price
    assert price is not None
    b.model.maximize(value - shortfall if has_shortfall else value)
    offset = value_const - (price * short_const if has_shortfall else 0.0)
    cb = ProgressRelay("value", scales.value, 1.0, offset, start, progress)
    solver, res = runner.run(b.model, deadline - clock.now(), mip_gap, abs_gap2, cb)
    if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return fallback_result(b, res.status)
    counts, called = extract_plan(b, solver)
    result.status = status_of(res.status == cp_model.OPTIMAL)
    result.counts, result.called_in = counts, called
    result.shortfall_bound = None
    result.bound = res.bound / scales.value + offset
    result.value_bound = math.floor(res.bound + 1e-6)
    result.value_obj = round(res.objective)
    return result


@dataclass
class _Level1:
    """What level 1 hands to level 2: the result so far (level-1 figures filled in),
    whether level 1 is proven, level 1's own plan (the answer if level 2 finds nothing)
    and the box plan of ``level2_start``."""

    result: BlockResult
    optimal: bool
    tol: int
    known: bool
    has_shortfall: bool
    first: BlockResult | None = None
    kept: interval_search.KeptShortfall | None = None


def _solve_level1(
    job: _Job,
    level1_known: bool,
    level1_share: float,
    level2_start: Callable[[Counts], interval_search.KeptShortfall | None] | None,
) -> _Level1 | BlockResult:
    """Level 1, then the shortfall held at its optimum in ``b`` (``S ≤ S₁``); a
    BlockResult when no plan was found in time."""
    b, p, scales, runner = job.b, job.p, job.scales, job.runner
    deadline, progress, start = job.deadline, job.progress, job.start
    shortfall, short_const = shortfall_expr(b, scales.shortfall)
    has_shortfall = scales.shortfall > 0 and bool(b.cells or b.daily)
    result = BlockResult(SolveStatus.OPTIMAL, {}, {}, shortfall_bound=0.0)
    # level-1 tolerance of models/00-contract.md: S ≤ S* + max(1e-9·S*, 1e-7)
    tol1 = math.ceil(0.5e-7 * scales.shortfall) if scales.shortfall > 0 else 0
    out = _Level1(result, True, tol1, level1_known, has_shortfall)
    if level1_known:
        result.shortfall_bound = None
        return out
    if not has_shortfall:
        return out
    hinted = b.hint_objectives
    if hinted is not None and b.short_floor is not None and hinted[0] <= b.short_floor + tol1:
        # the hinted plan attains the proven floor: level 1 is solved, no search
        assert b.hint_plan is not None
        result.short_obj, result.short_bound = hinted[0], b.short_floor
        counts, called = b.hint_plan
    else:
        b.model.minimize(shortfall)
        cb = ProgressRelay("shortfall", scales.shortfall, 1.0, short_const, start, progress)
        level1_s = level1_share * (deadline - clock.now())
        solver, res1 = runner.run(b.model, level1_s, 1e-9, 0.5e-7 * scales.shortfall, cb)
        if res1.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return fallback_result(b, res1.status)
        bound1 = res1.bound if b.short_floor is None else max(res1.bound, b.short_floor)
        result.short_obj = round(res1.objective)
        result.short_bound = math.ceil(bound1 - 1e-6)
        counts, called = extract_plan(b, solver)
        if hinted is not None and hinted[0] < result.short_obj:
            # stopped before it had even loaded the hint (a large horizon model
            # near its limit): the hinted plan is the better level-1 plan
            assert b.hint_plan is not None
            result.short_obj = hinted[0]
            counts, called = b.hint_plan
        out.optimal = res1.status == cp_model.OPTIMAL or (result.short_obj - bound1 <= tol1)
        kept = level2_start(counts) if level2_start is not None else None
        if kept is not None:
            # level 2 starts from a plan that keeps level 1's shortfall in every cell
            # and is more valuable: CP-SAT then at most has the bound left to prove
            hint_solution(b, p, kept.counts, called, scales)
            got = b.hint_objectives
            if got is None or got[0] > result.short_obj or got[1] != kept.value:
                kept = None  # (cannot happen: a safeguard)
                hint_solution(b, p, counts, called, scales)
        if kept is None and (hinted is None or hinted[0] > result.short_obj):
            # the given hint does not fit level 1's optimum: start from level 1's plan
            hint_solution(b, p, counts, called, scales)
        out.kept = kept
    result.shortfall_bound = result.short_bound / scales.shortfall + short_const
    b.model.add(shortfall <= result.short_obj)
    out.first = replace(
        result, status=SolveStatus.FEASIBLE, counts=dict(counts), called_in=dict(called)
    )
    return out


def _solve_level2(job: _Job, level1: _Level1) -> BlockResult:
    """Level 2 with the shortfall held: a known ceiling or the box plan proves it
    without a search where they can, else CP-SAT maximises the value."""
    b, p, scales, runner = job.b, job.p, job.scales, job.runner
    deadline, mip_gap, progress, start = job.deadline, job.mip_gap, job.progress, job.start
    value, value_const = value_expr(b, p, scales.value)
    abs_gap2 = 1e-6 * scales.value  # the contract: mip_gap relative, absolute floor 1e-6
    result, first, kept = level1.result, level1.first, level1.kept
    ceiling = b.value_ceiling
    at_floor = level1.known or (
        b.short_floor is not None and result.short_obj <= b.short_floor + level1.tol
    )
    if b.value_ceiling_at_floor is not None and at_floor:
        ceiling = (
            b.value_ceiling_at_floor if ceiling is None else min(ceiling, b.value_ceiling_at_floor)
        )
    hinted = b.hint_objectives
    fits = hinted is not None and (
        not level1.has_shortfall or level1.known or hinted[0] <= result.short_obj
    )
    if ceiling is not None and fits and hinted is not None and hinted[1] >= ceiling - abs_gap2:
        # the hinted plan attains the proven ceiling: level 2 is solved, no search
        assert b.hint_plan is not None
        result.counts, result.called_in = b.hint_plan
        result.status = status_of(level1.optimal)
        result.value_obj = hinted[1]
        result.value_bound = ceiling
        result.bound = ceiling / scales.value + value_const
        return result
    if kept is not None and kept.proven:
        # the best plan keeping every cell's shortfall is level 2's optimum when no plan
        # outside its box has shortfall ≤ level 1's (models/10-interval-search.md)
        probe_s = 0.5 * (deadline - clock.now())
        if nothing_outside(b, kept.floors, runner, probe_s):
            bound = kept.bound if ceiling is None else min(kept.bound, ceiling)
            assert first is not None
            result.counts, result.called_in = kept.counts, dict(first.called_in)
            result.status = status_of(level1.optimal)
            result.value_obj = kept.value
            result.value_bound = max(bound, kept.value)
            result.bound = result.value_bound / scales.value + value_const
            return result
    b.model.maximize(value)
    cb = ProgressRelay("value", scales.value, 1.0, value_const, start, progress)
    solver, res = runner.run(b.model, deadline - clock.now(), mip_gap, abs_gap2, cb)
    if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if first is not None:
            return first  # level 2 found nothing in time: level 1's plan stands
        return fallback_result(b, res.status)
    bound2 = res.bound if ceiling is None else min(res.bound, ceiling)
    gap_ok = bound2 - res.objective <= max(
        abs_gap2, mip_gap * abs(bound2 + value_const * scales.value)
    )
    counts, called = extract_plan(b, solver)
    result.status = status_of(level1.optimal and (res.status == cp_model.OPTIMAL or gap_ok))
    result.counts, result.called_in = counts, called
    result.bound = bound2 / scales.value + value_const
    result.value_bound = math.floor(bound2 + 1e-6)
    result.value_obj = round(res.objective)
    return result


def nothing_outside(
    b: CpsatModel, floors: dict[tuple[int, int], int], runner: Runner, time_limit_s: float
) -> bool:
    """Proven: no plan of ``b`` (its constraints include level 1's cap on the shortfall)
    staffs a cell (q, t) below ``floors[(q, t)]``. One feasibility model: the cap, and at
    least one literal u[q,t,k] with k below its floor. False when it finds such a plan or
    runs out of time."""
    outside = [
        lit
        for tab in b.cells
        for lit in tab.literals[: floors.get((tab.cell.queue, tab.cell.interval), 0)]
    ]
    if not outside:
        return True
    model = b.model.clone()
    model.clear_objective()
    # the hint (the box's best plan) is inside the box: following it misleads the search
    # (measured: 29 s without an answer, against 1.5 s without it)
    model.clear_hints()
    model.add(sum(outside) >= 1)
    _, res = runner.run(model, time_limit_s, 0.0, 0.0, None)
    return res.status == cp_model.INFEASIBLE


def fallback_result(b: CpsatModel, native: Any) -> BlockResult:
    """No solution in time (or none at all): infeasible pins, or the trivial plan."""
    if native == cp_model.INFEASIBLE:
        return BlockResult(SolveStatus.INFEASIBLE, {}, {})
    if native == cp_model.MODEL_INVALID:
        from optistaff.errors import SolveError

        raise SolveError("CP-SAT rejected the model (a bug in optistaff: please report it)")
    # time ran out before any solution: pinned decisions only, everyone else unassigned
    counts, called = extract_plan(b, None)
    return BlockResult(SolveStatus.FEASIBLE, counts, called, searched=False)


def least_shortfall(
    b: CpsatModel, scales: Scales, runner: Runner, time_limit_s: float
) -> float | None:
    """The proven least scaled weighted shortfall of ``b`` (CP-SAT's bound at
    optimality, n = 0 constants off); None when the shortfall is constant or the
    optimum is not proven in time."""
    shortfall, _ = shortfall_expr(b, scales.shortfall)
    if isinstance(shortfall, int):
        return None
    b.model.minimize(shortfall)
    cb = ProgressRelay("shortfall", scales.shortfall, 1.0, 0.0, 0.0, None)
    _, res = runner.run(b.model, time_limit_s, 0.0, 0.0, cb)
    if res.status != cp_model.OPTIMAL:
        return None
    return float(res.bound)
