"""OR-Tools CP-SAT backend: the formulation of ``models/`` as an integer program.

One function per constraint family; each docstring carries its equation. The
objective is lexicographic (model.md): stage 1 minimises the weighted shortfall,
stage 2 maximises value − cost − switching with the shortfall held at stage 1's
optimum. With ``policy.shortfall_price`` the two stages become one objective.

CP-SAT works on integers: every objective coefficient is the exact float figure
times a power-of-ten scale, rounded (``models/06-objective.md`` bounds the error:
well inside model.md's tolerances). The plan's reported objective is always
recomputed from the assignment with the exact formulas, never read from here.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from optistaff.formulation import AllocationProblem, CellTable
from optistaff.solvers import Progress, ProgressCallback, SolverResult, SolveStatus

# An integer objective of at most this magnitude keeps CP-SAT's int64 arithmetic and
# its LP (doubles) comfortably exact.
_MAX_SCALED = 1e15
# Wanted absolute rounding error of a whole objective, in objective units.
_WANTED_ERROR = 1e-8


@dataclass
class _Table:
    """A one-hot encoded (queue, interval) cell: ``literals[k]`` is true iff n = k."""

    cell: CellTable
    literals: list[cp_model.IntVar]


@dataclass
class _Built:
    model: cp_model.CpModel
    y: dict[tuple[int, int, int], cp_model.IntVar | int] = field(default_factory=dict)
    z: dict[int, cp_model.IntVar | int] = field(default_factory=dict)
    cells: list[_Table] = field(default_factory=list)
    daily: dict[int, cp_model.IntVar] = field(default_factory=dict)
    switches: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)


def choose_scale(upper_bound: float, n_terms: int) -> float:
    """The power of ten that makes ``n_terms`` roundings cost at most ``_WANTED_ERROR`` in
    total, capped so that ``upper_bound`` × scale stays below ``_MAX_SCALED``."""
    wanted = max(1.0, 0.5 * max(n_terms, 1) / _WANTED_ERROR)
    cap = _MAX_SCALED / max(upper_bound, 1.0)
    exponent = min(math.ceil(math.log10(wanted)), math.floor(math.log10(cap)))
    return float(10.0 ** max(exponent, 0))


# -- constraint families ---------------------------------------------------------------


def add_allocation(b: _Built, p: AllocationProblem, ts: Sequence[int]) -> None:
    """Decision variables y[g,q,t] ∈ {0..|g|}: members of group g on queue q in t, for q
    among g's skills and t where g is available; pins fix them:
    y[g,q,t] = 1 for a pin (agent, q, t), y[g,q',t] = 0 for every other q'."""
    for t in ts:
        for q in range(p.n_queues):
            for g in p.eligible.get((q, t), ()):
                group = p.groups[g]
                pin = group.pinned.get(t, -1)
                if pin == q:
                    b.y[(g, q, t)] = 1
                else:
                    b.y[(g, q, t)] = b.model.new_int_var(0, group.size, f"y_{g}_{q}_{t}")


def add_optional_agents(b: _Built, p: AllocationProblem) -> None:
    """z[g] ∈ {0..|g|}: members of optional group g called in (all-or-nothing per agent:
    a called-in agent is paid for every available interval). A pin calls its agent in."""
    for group in p.groups:
        if not group.optional:
            continue
        if group.called_in_by_pin:
            b.z[group.index] = group.size
        else:
            b.z[group.index] = b.model.new_int_var(0, group.size, f"z_{group.index}")


def add_capacity(b: _Built, p: AllocationProblem, ts: Sequence[int]) -> None:
    """Σ_q y[g,q,t] ≤ |g| (≤ z[g] for an optional group): one queue per agent per interval."""
    for g, group in enumerate(p.groups):
        cap: cp_model.IntVar | int = b.z.get(g, group.size)
        for t in ts:
            if not group.available[t]:
                continue
            terms = [b.y[(g, q, t)] for q in group.skills if (g, q, t) in b.y]
            if terms:
                b.model.add(sum(terms) <= cap)
            elif group.optional and not isinstance(cap, int):
                continue


def add_staffing_curves(b: _Built, p: AllocationProblem, ts: Sequence[int]) -> None:
    """Exact curves at integer n: for each (q,t) with calls, literals u[q,t,k], k = 0..N,
    Σ_k u = 1 and Σ_k k·u = n[q,t] = Σ_g y[g,q,t]. Any table f(n) (S-shaped or not) is
    then exactly Σ_k f(k)·u[q,t,k]; no concavity is assumed."""
    for t in ts:
        for q in range(p.n_queues):
            cell = p.tables.get((q, t))
            if cell is None:
                continue
            staffed = [b.y[(g, q, t)] for g in p.eligible.get((q, t), ())]
            if cell.max_agents == 0:
                b.cells.append(_Table(cell, []))
                continue
            lits = [b.model.new_bool_var(f"u_{q}_{t}_{k}") for k in range(cell.max_agents + 1)]
            b.model.add_exactly_one(lits)
            b.model.add(sum(k * lit for k, lit in enumerate(lits)) == sum(staffed))
            b.cells.append(_Table(cell, lits))


def add_daily_minimums(b: _Built, p: AllocationProblem, ts: Sequence[int], scale: float) -> None:
    """Horizon-wide minimum of queue q (weight w, target d):
    D[q] ≥ w·(d·Σ_t λ − Σ_t Σ_k λ·SL(k)·u[q,t,k]), D[q] ≥ 0 (in units of 1/scale)."""
    for q, target in p.daily.items():
        weight = p.scenario.queues[q].weight
        if weight == 0:
            continue
        rhs = round(scale * weight * target)
        answered = []
        for tab in b.cells:
            if tab.cell.queue != q or tab.cell.interval not in ts:
                continue
            answered.extend(_scaled_terms(tab, tab.cell.answered * weight, scale, base=False))
        d = b.model.new_int_var(0, max(rhs, 0), f"daily_{q}")
        b.model.add(d + _sum(answered) >= rhs)
        b.daily[q] = d


def add_switches(b: _Built, p: AllocationProblem, ts: Sequence[int]) -> None:
    """Least switches of group g between t and t+1 (both available, model.md):
    s[g,t] ≥ Σ_q d[g,q,t] − idle[g,t+1], d[g,q,t] ≥ y[g,q,t] − y[g,q,t+1], d, s ≥ 0,
    idle[g,t+1] = cap[g] − Σ_q y[g,q,t+1]. Minimised, s equals the formula. A group with
    one skill never switches."""
    if p.scenario.policy.switch_penalty <= 0:
        return
    block = set(ts)
    for g, group in enumerate(p.groups):
        if len(group.skills) < 2:
            continue
        cap: cp_model.IntVar | int = b.z.get(g, group.size)
        for t in ts:
            if t + 1 not in block or not (group.available[t] and group.available[t + 1]):
                continue
            drops = []
            for q in group.skills:
                now, nxt = b.y.get((g, q, t), 0), b.y.get((g, q, t + 1), 0)
                if isinstance(now, int) and now == 0:
                    continue
                d = b.model.new_int_var(0, group.size, f"d_{g}_{q}_{t}")
                b.model.add(d >= now - nxt)
                drops.append(d)
            if not drops:
                continue
            placed_next = [b.y[(g, q, t + 1)] for q in group.skills if (g, q, t + 1) in b.y]
            s = b.model.new_int_var(0, group.size, f"s_{g}_{t}")
            b.model.add(s >= sum(drops) - (cap - sum(placed_next)))
            b.switches[(g, t)] = s


# -- objective pieces ------------------------------------------------------------------


def _scaled_terms(
    tab: _Table, values: np.ndarray, scale: float, *, base: bool = True
) -> list[cp_model.LinearExprT]:
    """Σ_k round(scale·values[k])·u[k] as a list of terms. With ``base``, the n = 0 value is
    subtracted (it is a constant of the objective) so coefficients stay small."""
    ints = np.rint(values * scale).astype(np.int64)
    if base:
        ints = ints - ints[0]
    return [int(c) * lit for c, lit in zip(ints, tab.literals, strict=True) if c != 0]


def _shortfall_expr(b: _Built, scale: float) -> tuple[Any, float]:
    """Scaled weighted shortfall (per-interval cells + daily), and its constant part
    (the n = 0 shortfall of every cell, in objective units)."""
    terms: list[cp_model.LinearExprT] = []
    constant = 0.0
    for tab in b.cells:
        if not tab.literals:
            constant += float(tab.cell.shortfall[0])
            continue
        constant += float(np.rint(tab.cell.shortfall[0] * scale)) / scale
        terms.extend(_scaled_terms(tab, tab.cell.shortfall, scale))
    terms.extend(b.daily.values())
    return _sum(terms), constant


def _value_expr(b: _Built, p: AllocationProblem, scale: float) -> tuple[Any, float]:
    """Scaled value − cost − switching, and its constant part (objective units)."""
    terms: list[cp_model.LinearExprT] = []
    constant = 0.0
    for tab in b.cells:
        if not tab.literals:
            constant += float(tab.cell.value[0])
            continue
        constant += float(np.rint(tab.cell.value[0] * scale)) / scale
        terms.extend(_scaled_terms(tab, tab.cell.value, scale))
    for g, zg in b.z.items():
        c = round(scale * p.groups[g].cost_if_called)
        if c:
            terms.append(-c * zg)
    penalty = round(scale * p.scenario.policy.switch_penalty)
    if penalty:
        terms.extend(-penalty * s for s in b.switches.values())
    return _sum(terms), constant


def _bounds(p: AllocationProblem, ts: Sequence[int]) -> tuple[float, float, int]:
    """Upper bounds of the shortfall and the value objectives over the block, and the
    number of rounded terms (for choosing scales)."""
    block = set(ts)
    cells = [c for (q, t), c in p.tables.items() if t in block]
    short = sum(float(np.max(c.shortfall)) for c in cells)
    short += sum(p.scenario.queues[q].weight * target for q, target in p.daily.items())
    value = sum(float(np.max(np.abs(c.value))) for c in cells)
    value += sum(g.cost_if_called * g.size for g in p.groups if g.optional)
    value += p.scenario.policy.switch_penalty * sum(g.size for g in p.groups) * len(ts)
    return short, value, len(cells) + len(p.daily) + len(p.groups)


# -- solving ---------------------------------------------------------------------------


class _Callback(cp_model.CpSolverSolutionCallback):
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


def _sum(terms: Sequence[Any]) -> Any:
    """Σ terms as one CP-SAT linear expression (0 when empty)."""
    return cp_model.LinearExpr.sum(list(terms)) if terms else 0


@dataclass
class _StageResult:
    status: Any  # cp_model.CpSolverStatus
    objective: float  # in scaled units (CP-SAT's objective)
    bound: float


class _Runner:
    """Runs CP-SAT in a worker thread so that Ctrl-C in the main thread stops the search
    cleanly (the caller then sees KeyboardInterrupt and writes nothing)."""

    def __init__(self, threads: int, seed: int, stop: threading.Event | None) -> None:
        self.threads, self.seed, self.stop = threads, seed, stop

    def run(
        self,
        model: cp_model.CpModel,
        time_limit_s: float,
        rel_gap: float,
        abs_gap: float,
        callback: _Callback,
    ) -> tuple[cp_model.CpSolver, _StageResult]:
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = self.threads
        params.random_seed = self.seed
        params.max_time_in_seconds = max(time_limit_s, 0.01)
        params.relative_gap_limit = rel_gap
        params.absolute_gap_limit = abs_gap
        params.catch_sigint_signal = False
        outcome: dict[str, Any] = {}

        def work() -> None:
            outcome["status"] = solver.solve(model, callback)

        worker = threading.Thread(target=work, name="optistaff-cpsat", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
                if self.stop is not None and self.stop.is_set():
                    solver.stop_search()
        except KeyboardInterrupt:
            solver.stop_search()
            worker.join()
            raise
        status = outcome.get("status", cp_model.UNKNOWN)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver, _StageResult(status, solver.objective_value, solver.best_objective_bound)
        return solver, _StageResult(status, math.nan, math.nan)


def _hint_from(b: _Built, solver: cp_model.CpSolver) -> None:
    b.model.clear_hints()
    for var in b.y.values():
        if not isinstance(var, int):
            b.model.add_hint(var, solver.value(var))
    for var in b.z.values():
        if not isinstance(var, int):
            b.model.add_hint(var, solver.value(var))
    for tab in b.cells:
        for lit in tab.literals:
            b.model.add_hint(lit, solver.value(lit))
    for var in list(b.daily.values()) + list(b.switches.values()):
        b.model.add_hint(var, solver.value(var))


def _extract(
    b: _Built, solver: cp_model.CpSolver | None
) -> tuple[dict[tuple[int, int, int], int], dict[int, int]]:
    counts: dict[tuple[int, int, int], int] = {}
    for key, var in b.y.items():
        value = var if isinstance(var, int) else (solver.value(var) if solver else 0)
        if value:
            counts[key] = int(value)
    called: dict[int, int] = {}
    for g, var in b.z.items():
        called[g] = var if isinstance(var, int) else (int(solver.value(var)) if solver else 0)
    return counts, called


@dataclass
class _BlockResult:
    status: SolveStatus
    counts: dict[tuple[int, int, int], int]
    called_in: dict[int, int]
    bound: float | None
    shortfall_bound: float | None


def _solve_block(
    p: AllocationProblem,
    ts: Sequence[int],
    runner: _Runner,
    deadline: float,
    mip_gap: float,
    progress: ProgressCallback | None,
    start: float,
) -> _BlockResult:
    policy = p.scenario.policy
    short_ub, value_ub, n_terms = _bounds(p, ts)
    priced = policy.shortfall_price is not None
    scale2 = choose_scale(value_ub + (policy.shortfall_price or 0.0) * short_ub, n_terms)
    scale1 = scale2 * (policy.shortfall_price or 0.0) if priced else choose_scale(short_ub, n_terms)

    b = _Built(cp_model.CpModel())
    add_allocation(b, p, ts)
    add_optional_agents(b, p)
    add_capacity(b, p, ts)
    add_staffing_curves(b, p, ts)
    if not priced or scale1 > 0:
        add_daily_minimums(b, p, ts, scale1)
    add_switches(b, p, ts)

    value, value_const = _value_expr(b, p, scale2)
    abs_gap2 = 1e-6 * scale2  # model.md: mip_gap relative, absolute floor 1e-6
    has_shortfall = short_ub > 0
    shortfall_bound: float | None = 0.0

    if priced:
        assert policy.shortfall_price is not None
        shortfall, short_const = (
            _shortfall_expr(b, scale1) if scale1 > 0 and has_shortfall else (0, 0.0)
        )
        price = policy.shortfall_price
        b.model.maximize(value - shortfall)
        offset = value_const - price * short_const
        cb = _Callback("value", scale2, 1.0, offset, start, progress)
        solver, res = runner.run(b.model, deadline - time.monotonic(), mip_gap, abs_gap2, cb)
        shortfall_bound = None
    else:
        if has_shortfall:
            shortfall, short_const = _shortfall_expr(b, scale1)
            b.model.minimize(shortfall)
            cb = _Callback("shortfall", scale1, 1.0, short_const, start, progress)
            # level-1 tolerance of model.md: S ≤ S* + max(1e-9·S*, 1e-7)
            solver, res1 = runner.run(
                b.model, deadline - time.monotonic(), 1e-9, 0.5e-7 * scale1, cb
            )
            if res1.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return _fallback(b, p, res1.status)
            shortfall_bound = res1.bound / scale1 + short_const
            level1_status = res1.status
            b.model.add(shortfall <= round(res1.objective))
            _hint_from(b, solver)
        else:
            level1_status = cp_model.OPTIMAL
        b.model.maximize(value)
        cb = _Callback("value", scale2, 1.0, value_const, start, progress)
        solver, res = runner.run(b.model, deadline - time.monotonic(), mip_gap, abs_gap2, cb)
        if res.status == cp_model.OPTIMAL and level1_status != cp_model.OPTIMAL:
            res = _StageResult(cp_model.FEASIBLE, res.objective, res.bound)
        offset = value_const

    if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _fallback(b, p, res.status)
    counts, called = _extract(b, solver)
    status = SolveStatus.OPTIMAL if res.status == cp_model.OPTIMAL else SolveStatus.FEASIBLE
    return _BlockResult(status, counts, called, res.bound / scale2 + offset, shortfall_bound)


def _fallback(b: _Built, p: AllocationProblem, native: int) -> _BlockResult:
    """No solution in time (or none at all): infeasible pins, or the trivial plan."""
    if native == cp_model.INFEASIBLE:
        return _BlockResult(SolveStatus.INFEASIBLE, {}, {}, None, None)
    if native == cp_model.MODEL_INVALID:
        from optistaff.errors import SolveError

        raise SolveError("CP-SAT rejected the model (a bug in optistaff: please report it)")
    # time ran out before any solution: pinned decisions only, everyone else unassigned
    counts, called = _extract(b, None)
    return _BlockResult(SolveStatus.FEASIBLE, counts, called, None, None)


def solve(
    problem: AllocationProblem,
    *,
    time_limit_s: float,
    mip_gap: float,
    threads: int,
    seed: int,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> SolverResult:
    """Solve the allocation problem exactly (within ``mip_gap``) with CP-SAT.

    When nothing couples intervals (no daily minimum, no switch penalty, no optional
    agent) each interval is an independent problem and is solved on its own
    (``models/07-decomposition.md``); otherwise one model covers the horizon.
    """
    start = time.monotonic()
    deadline = start + time_limit_s
    runner = _Runner(threads, seed, stop)
    T = problem.n_intervals
    blocks: list[list[int]] = (
        [list(range(T))] if problem.couples_intervals else [[t] for t in range(T)]
    )
    counts: dict[tuple[int, int, int], int] = {}
    called: dict[int, int] = {}
    statuses: list[SolveStatus] = []
    bound: float | None = 0.0
    short_bound: float | None = 0.0
    for i, ts in enumerate(blocks):
        if len(blocks) > 1 and progress is not None:
            progress(Progress("intervals", math.nan, math.nan, time.monotonic() - start, i, T))
        res = _solve_block(problem, ts, runner, deadline, mip_gap, progress, start)
        statuses.append(res.status)
        counts.update(res.counts)
        for g, k in res.called_in.items():
            called[g] = max(called.get(g, 0), k)
        bound = None if bound is None or res.bound is None else bound + res.bound
        short_bound = (
            None
            if short_bound is None or res.shortfall_bound is None
            else short_bound + res.shortfall_bound
        )
    if SolveStatus.INFEASIBLE in statuses:
        status = SolveStatus.INFEASIBLE
    elif all(s == SolveStatus.OPTIMAL for s in statuses):
        status = SolveStatus.OPTIMAL
    else:
        status = SolveStatus.FEASIBLE
    return SolverResult(
        status=status,
        counts=counts,
        called_in=called,
        bound=bound,
        gap=None,
        shortfall_bound=short_bound,
        backend="cp-sat",
        decomposition="monolithic" if len(blocks) == 1 else "per-interval",
        stats={"wall_s": time.monotonic() - start, "blocks": len(blocks)},
    )
