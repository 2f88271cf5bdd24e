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

import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from optistaff.formulation import AllocationProblem, CellTable
from optistaff.solvers import (
    Progress,
    ProgressCallback,
    SolverResult,
    SolveStatus,
    daily_lagrangian,
    interval_search,
)

# An integer objective of at most this magnitude keeps CP-SAT's int64 arithmetic and
# its LP (doubles) comfortably exact.
_MAX_SCALED = 1e15
# Largest integer coefficient given to CP-SAT. CP-SAT 9.15's presolve returned wrong
# optima on models whose linear constraints had coefficients near 1e10 (reproduced in
# tests/test_solver_numerics.py); 2**30 keeps well clear of that.
_MAX_COEFFICIENT = float(2**30)
# Wanted absolute rounding error of a whole objective, in objective units.
_WANTED_ERROR = 1e-8
# CP-SAT parameters for the one-interval models (one worker each): the full LP
# relaxation (linearization level 2) bounds the one-hot staffing curves well, probing
# costs more than it saves there, and the LB-tree search finds and proves the hard
# peak intervals of large centers (10,000 agents, 100 queues: an interval the default
# search left at a 15 % gap after 25 s, with a plan 10 % worse, is optimal in 12 s).
# Measured on generated M, L shortage and L surplus centers: 1.9-2.2x less search time
# than the defaults. Only speed depends on this: optimality is proven either way.
_INTERVAL_TUNING = {
    "linearization_level": 2,
    "cp_model_probing_level": 0,
    "optimize_with_lb_tree_search": True,
}


@dataclass
class _Table:
    """A one-hot encoded (queue, interval) cell: ``literals[k]`` is true iff n = k."""

    cell: CellTable
    literals: list[cp_model.IntVar]


_DailyTerm = tuple[np.ndarray, list[cp_model.IntVar], tuple[int, int]]


@dataclass
class _Built:
    model: cp_model.CpModel
    y: dict[tuple[int, int, int], cp_model.IntVar | int] = field(default_factory=dict)
    z: dict[int, cp_model.IntVar | int] = field(default_factory=dict)
    cells: list[_Table] = field(default_factory=list)
    daily: dict[int, cp_model.IntVar] = field(default_factory=dict)
    switches: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    drops: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    # queue -> (scaled target, [(scaled answered(n) of a cell, its literals, (q, t))])
    daily_terms: dict[int, tuple[int, list[_DailyTerm]]] = field(default_factory=dict)
    all_in: bool = False
    problem: Any = None
    short_floor: int | None = None
    # a tighter value ceiling, valid once level 1 attains short_floor (every S_t at its
    # own minimum, so the per-interval level-2 bounds hold)
    value_ceiling_at_floor: int | None = None
    hint_objectives: tuple[int, int] | None = None
    hint_plan: tuple[dict[tuple[int, int, int], int], dict[int, int]] | None = None
    value_ceiling: int | None = None


def choose_scale(upper_bound: float, n_terms: int, max_coefficient: float) -> float:
    """The scale that makes ``n_terms`` roundings cost at most ``_WANTED_ERROR`` in total
    (a power of ten), capped so that ``upper_bound`` × scale stays below ``_MAX_SCALED``
    and no coefficient exceeds ``_MAX_COEFFICIENT`` (``models/06-objective.md``)."""
    wanted = 10.0 ** math.ceil(math.log10(max(1.0, 0.5 * max(n_terms, 1) / _WANTED_ERROR)))
    cap = min(_MAX_SCALED / max(upper_bound, 1.0), _MAX_COEFFICIENT / max(max_coefficient, 1e-12))
    return max(min(wanted, cap), 1.0)


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


def add_optional_agents(b: _Built, p: AllocationProblem, *, all_in: bool = False) -> None:
    """z[g] ∈ {0..|g|}: members of optional group g called in (all-or-nothing per agent:
    a called-in agent is paid for every available interval). A pin calls its agent in.
    With ``all_in`` every optional agent is in at no cost (a relaxation used for bounds)."""
    b.all_in = all_in
    for group in p.groups:
        if not group.optional:
            continue
        if group.called_in_by_pin or all_in:
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
        answered: list[_DailyTerm] = []
        for tab in b.cells:
            if tab.cell.queue != q or tab.cell.interval not in ts:
                continue
            ints = np.rint(tab.cell.answered * weight * scale).astype(np.int64)
            if not tab.literals:  # nobody can work there: n = 0
                rhs -= int(ints[0])
                continue
            answered.append((ints, tab.literals, (q, tab.cell.interval)))
        terms = [
            int(c) * lit
            for ints, lits, _ in answered
            for c, lit in zip(ints, lits, strict=True)
            if c
        ]
        d = b.model.new_int_var(0, max(rhs, 0), f"daily_{q}")
        b.model.add(d + _sum(terms) >= rhs)
        b.daily[q] = d
        b.daily_terms[q] = (rhs, answered)


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
                b.drops[(g, q, t)] = d
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
    if scale <= 0:
        return 0, 0.0
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
        if c and not b.all_in:
            terms.append(-c * zg)
    penalty = round(scale * p.scenario.policy.switch_penalty)
    if penalty:
        terms.extend(-penalty * s for s in b.switches.values())
    return _sum(terms), constant


def _interval_terms(b: _Built, t: int, which: str, scale: float) -> Any:
    """The scaled cell terms of interval t (``which``: "shortfall" or "value"), exactly as
    they appear in the objectives (n = 0 value subtracted)."""
    terms: list[cp_model.LinearExprT] = []
    for tab in b.cells:
        if tab.cell.interval == t and tab.literals:
            table = tab.cell.shortfall if which == "shortfall" else tab.cell.value
            terms.extend(_scaled_terms(tab, table, scale))
    return _sum(terms)


@dataclass(frozen=True)
class _Magnitudes:
    """Upper bounds of the two objectives, their largest coefficients, and the number of
    rounded terms: what the scales are chosen from."""

    shortfall: float
    value: float
    shortfall_coefficient: float
    value_coefficient: float
    terms: int


def _bounds(p: AllocationProblem, ts: Sequence[int]) -> _Magnitudes:
    block = set(ts)
    cells = [c for (q, t), c in p.tables.items() if t in block]
    short = sum(float(np.max(c.shortfall)) for c in cells)
    short += sum(p.scenario.queues[q].weight * target for q, target in p.daily.items())
    value = sum(float(np.max(np.abs(c.value))) for c in cells)
    value += sum(g.cost_if_called * g.size for g in p.groups if g.optional)
    value += p.scenario.policy.switch_penalty * sum(g.size for g in p.groups) * len(ts)
    short_coef = max(
        [float(np.max(np.abs(c.shortfall - c.shortfall[0]))) for c in cells]
        + [
            p.scenario.queues[c.queue].weight * float(np.max(c.answered))
            for c in cells
            if c.queue in p.daily
        ]
        + [1.0]
    )
    value_coef = max(
        [float(np.max(np.abs(c.value - c.value[0]))) for c in cells]
        + [g.cost_if_called for g in p.groups if g.optional]
        + [p.scenario.policy.switch_penalty, 1e-12]
    )
    return _Magnitudes(short, value, short_coef, value_coef, len(cells) + len(p.daily) + 1)


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

    def __init__(
        self,
        threads: int,
        seed: int,
        *stops: threading.Event | None,
        tuning: dict[str, int | bool] | None = None,
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
        callback: _Callback | None,
    ) -> tuple[cp_model.CpSolver, _StageResult]:
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = self.threads
        params.random_seed = self.seed
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
        status = outcome.get("status", cp_model.UNKNOWN)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver, _StageResult(status, solver.objective_value, solver.best_objective_bound)
        return solver, _StageResult(status, math.nan, math.nan)


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


def _hint(
    b: _Built,
    p: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    scales: _Scales,
) -> None:
    """Hint a complete solution (every variable) from group counts, so CP-SAT starts from
    it: y and z as given, then u, d, s and the daily D as the constraints define them.
    Records the hint's scaled objectives in ``b.hint_objectives``."""
    b.model.clear_hints()
    short_int = 0
    value_int = 0
    for key, var in b.y.items():
        if not isinstance(var, int):
            b.model.add_hint(var, counts.get(key, 0))
    for g, var in b.z.items():
        if not isinstance(var, int):
            b.model.add_hint(var, called.get(g, 0))
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    for tab in b.cells:
        staffed = n.get((tab.cell.queue, tab.cell.interval), 0)
        for k, lit in enumerate(tab.literals):
            b.model.add_hint(lit, int(k == staffed))
        if tab.literals:
            if scales.shortfall > 0:
                ints = np.rint(tab.cell.shortfall * scales.shortfall).astype(np.int64)
                short_int += int(ints[staffed] - ints[0])
            vints = np.rint(tab.cell.value * scales.value).astype(np.int64)
            value_int += int(vints[staffed] - vints[0])
    for q, (rhs, answered) in b.daily_terms.items():
        got = 0
        for ints, _lits, cell in answered:
            got += int(ints[n.get(cell, 0)])
        b.model.add_hint(b.daily[q], max(0, rhs - got))
        short_int += max(0, rhs - got)
    if not b.all_in:
        for g in b.z:
            value_int -= round(scales.value * p.groups[g].cost_if_called) * called.get(g, 0)
    penalty = round(scales.value * p.scenario.policy.switch_penalty)
    for (g, q, t), var in b.drops.items():
        b.model.add_hint(var, max(0, counts.get((g, q, t), 0) - counts.get((g, q, t + 1), 0)))
    for (g, t), var in b.switches.items():
        group = p.groups[g]
        cap = called.get(g, 0) if group.optional else group.size
        drops = sum(
            max(0, counts.get((g, q, t), 0) - counts.get((g, q, t + 1), 0)) for q in group.skills
        )
        idle = cap - sum(counts.get((g, q, t + 1), 0) for q in group.skills)
        b.model.add_hint(var, max(0, drops - idle))
        value_int -= penalty * max(0, drops - idle)
    b.hint_objectives = (short_int, value_int)
    b.hint_plan = (dict(counts), dict(called))


@dataclass(frozen=True)
class _Scales:
    """Integer scales of the two objectives (``models/06-objective.md``)."""

    shortfall: float
    value: float


def _choose_scales(p: AllocationProblem) -> _Scales:
    m = _bounds(p, range(p.n_intervals))
    price = p.scenario.policy.shortfall_price
    if price is not None:
        value = choose_scale(
            m.value + price * m.shortfall,
            m.terms,
            max(m.value_coefficient, price * m.shortfall_coefficient),
        )
        return _Scales(shortfall=value * price, value=value)
    return _Scales(
        choose_scale(m.shortfall, m.terms, m.shortfall_coefficient),
        choose_scale(m.value, m.terms, m.value_coefficient),
    )


@dataclass
class _BlockResult:
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
class _Cuts:
    """Valid inequalities from the per-interval solves (``models/07-decomposition.md``):
    S_t ≥ short_lb[t]; S_t ≤ short_cap[t] (only where level 1 is known to split per
    interval); V_t ≤ value_ub[t] (cell value of interval t)."""

    short_lb: dict[int, int] = field(default_factory=dict)
    short_cap: dict[int, int] = field(default_factory=dict)
    value_ub: dict[int, int] = field(default_factory=dict)
    value_ub_at_floor: dict[int, int] = field(default_factory=dict)
    # a bound on the whole level 1, daily minimums included (note 11)
    short_floor: int | None = None

    def add_to(self, b: _Built, scales: _Scales) -> None:
        # the sums bound the objectives themselves (D ≥ 0; cost, switching ≥ 0); they
        # serve as proofs in _solve_block (CP-SAT does not derive them from these cuts)
        intervals = {tab.cell.interval for tab in b.cells}
        # each S_t ≤ 0 (n = 0 values off): the sum bounds the total only over every
        # interval (an interval step 1 never reached has no bound)
        if self.short_lb and intervals <= set(self.short_lb):
            b.short_floor = sum(self.short_lb.values())
        if self.short_floor is not None and scales.shortfall > 0:
            b.short_floor = max(b.short_floor or self.short_floor, self.short_floor)
        if self.value_ub and len(self.value_ub) == len(intervals):
            b.value_ceiling = sum(self.value_ub.values())
        if self.value_ub_at_floor and len(self.value_ub_at_floor) == len(intervals):
            b.value_ceiling_at_floor = sum(self.value_ub_at_floor.values())
        for t, lb in self.short_lb.items():
            b.model.add(_interval_terms(b, t, "shortfall", scales.shortfall) >= lb)
        for t, cap in self.short_cap.items():
            b.model.add(_interval_terms(b, t, "shortfall", scales.shortfall) <= cap)
        for t, ub in self.value_ub.items():
            b.model.add(_interval_terms(b, t, "value", scales.value) <= ub)


def _build(
    p: AllocationProblem, ts: Sequence[int], scales: _Scales, *, all_in: bool = False
) -> _Built:
    b = _Built(cp_model.CpModel(), problem=p)
    add_allocation(b, p, ts)
    add_optional_agents(b, p, all_in=all_in)
    add_capacity(b, p, ts)
    add_staffing_curves(b, p, ts)
    if scales.shortfall > 0 and not all_in:  # per-interval relaxations omit daily minimums
        add_daily_minimums(b, p, ts, scales.shortfall)
    add_switches(b, p, ts)
    return b


_Counts = dict[tuple[int, int, int], int]  # (group, queue, interval) -> members


def _solve_block(
    b: _Built,
    p: AllocationProblem,
    scales: _Scales,
    runner: _Runner,
    deadline: float,
    mip_gap: float,
    progress: ProgressCallback | None,
    start: float,
    *,
    level1_known: bool = False,
    level1_share: float = 1.0,
    level2_start: Callable[[_Counts], interval_search.KeptShortfall | None] | None = None,
) -> _BlockResult:
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
    little shortfall (:func:`_nothing_outside`), else CP-SAT's level-2 starting point."""
    policy = p.scenario.policy
    value, value_const = _value_expr(b, p, scales.value)
    abs_gap2 = 1e-6 * scales.value  # model.md: mip_gap relative, absolute floor 1e-6
    shortfall, short_const = _shortfall_expr(b, scales.shortfall)
    has_shortfall = scales.shortfall > 0 and bool(b.cells or b.daily)
    result = _BlockResult(SolveStatus.OPTIMAL, {}, {}, shortfall_bound=0.0)
    kept: interval_search.KeptShortfall | None = None

    if policy.shortfall_price is not None:
        price = policy.shortfall_price
        b.model.maximize(value - shortfall if has_shortfall else value)
        offset = value_const - (price * short_const if has_shortfall else 0.0)
        cb = _Callback("value", scales.value, 1.0, offset, start, progress)
        solver, res = runner.run(b.model, deadline - time.monotonic(), mip_gap, abs_gap2, cb)
        if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _fallback(b, res.status)
        counts, called = _extract(b, solver)
        result.status = _status(res.status == cp_model.OPTIMAL)
        result.counts, result.called_in = counts, called
        result.shortfall_bound = None
        result.bound = res.bound / scales.value + offset
        result.value_bound = math.floor(res.bound + 1e-6)
        result.value_obj = round(res.objective)
        return result

    # level 1
    tol1 = math.ceil(0.5e-7 * scales.shortfall) if scales.shortfall > 0 else 0
    level1_optimal = True
    first: _BlockResult | None = None
    if has_shortfall and not level1_known:
        hinted = b.hint_objectives
        if hinted is not None and b.short_floor is not None and hinted[0] <= b.short_floor + tol1:
            # the hinted plan attains the proven floor: level 1 is solved, no search
            assert b.hint_plan is not None
            result.short_obj, result.short_bound = hinted[0], b.short_floor
            counts, called = b.hint_plan
        else:
            b.model.minimize(shortfall)
            cb = _Callback("shortfall", scales.shortfall, 1.0, short_const, start, progress)
            # level-1 tolerance of model.md: S ≤ S* + max(1e-9·S*, 1e-7)
            level1_s = level1_share * (deadline - time.monotonic())
            solver, res1 = runner.run(b.model, level1_s, 1e-9, 0.5e-7 * scales.shortfall, cb)
            if res1.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return _fallback(b, res1.status)
            bound1 = res1.bound if b.short_floor is None else max(res1.bound, b.short_floor)
            result.short_obj = round(res1.objective)
            result.short_bound = math.ceil(bound1 - 1e-6)
            counts, called = _extract(b, solver)
            if hinted is not None and hinted[0] < result.short_obj:
                # stopped before it had even loaded the hint (a large horizon model
                # near its limit): the hinted plan is the better level-1 plan
                assert b.hint_plan is not None
                result.short_obj = hinted[0]
                counts, called = b.hint_plan
            level1_optimal = res1.status == cp_model.OPTIMAL or (result.short_obj - bound1 <= tol1)
            kept = level2_start(counts) if level2_start is not None else None
            if kept is not None:
                # level 2 starts from a plan that keeps level 1's shortfall in every cell
                # and is more valuable: CP-SAT then at most has the bound left to prove
                _hint(b, p, kept.counts, called, scales)
                got = b.hint_objectives
                if got is None or got[0] > result.short_obj or got[1] != kept.value:
                    kept = None  # (cannot happen: a safeguard)
                    _hint(b, p, counts, called, scales)
            if kept is None and (hinted is None or hinted[0] > result.short_obj):
                # the given hint does not fit level 1's optimum: start from level 1's plan
                _hint(b, p, counts, called, scales)
        result.shortfall_bound = result.short_bound / scales.shortfall + short_const
        b.model.add(shortfall <= result.short_obj)
        first = replace(
            result, status=SolveStatus.FEASIBLE, counts=dict(counts), called_in=dict(called)
        )
    elif level1_known:
        result.shortfall_bound = None

    # level 2
    ceiling = b.value_ceiling
    at_floor = level1_known or (
        b.short_floor is not None and result.short_obj <= b.short_floor + tol1
    )
    if b.value_ceiling_at_floor is not None and at_floor:
        ceiling = (
            b.value_ceiling_at_floor if ceiling is None else min(ceiling, b.value_ceiling_at_floor)
        )
    hinted = b.hint_objectives
    fits = hinted is not None and (
        not has_shortfall or level1_known or hinted[0] <= result.short_obj
    )
    if ceiling is not None and fits and hinted is not None and hinted[1] >= ceiling - abs_gap2:
        # the hinted plan attains the proven ceiling: level 2 is solved, no search
        assert b.hint_plan is not None
        result.counts, result.called_in = b.hint_plan
        result.status = _status(level1_optimal)
        result.value_obj = hinted[1]
        result.value_bound = ceiling
        result.bound = ceiling / scales.value + value_const
        return result
    if kept is not None and kept.proven:
        # the best plan keeping every cell's shortfall is level 2's optimum when no plan
        # outside its box has shortfall ≤ level 1's (models/10-interval-search.md)
        probe_s = 0.5 * (deadline - time.monotonic())
        if _nothing_outside(b, kept.floors, runner, probe_s):
            bound = kept.bound if ceiling is None else min(kept.bound, ceiling)
            assert first is not None
            result.counts, result.called_in = kept.counts, dict(first.called_in)
            result.status = _status(level1_optimal)
            result.value_obj = kept.value
            result.value_bound = max(bound, kept.value)
            result.bound = result.value_bound / scales.value + value_const
            return result
    b.model.maximize(value)
    cb = _Callback("value", scales.value, 1.0, value_const, start, progress)
    solver, res = runner.run(b.model, deadline - time.monotonic(), mip_gap, abs_gap2, cb)
    if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if first is not None:
            return first  # level 2 found nothing in time: level 1's plan stands
        return _fallback(b, res.status)
    bound2 = res.bound if ceiling is None else min(res.bound, ceiling)
    gap_ok = bound2 - res.objective <= max(
        abs_gap2, mip_gap * abs(bound2 + value_const * scales.value)
    )
    counts, called = _extract(b, solver)
    result.status = _status(level1_optimal and (res.status == cp_model.OPTIMAL or gap_ok))
    result.counts, result.called_in = counts, called
    result.bound = bound2 / scales.value + value_const
    result.value_bound = math.floor(bound2 + 1e-6)
    result.value_obj = round(res.objective)
    return result


def _nothing_outside(
    b: _Built, floors: dict[tuple[int, int], int], runner: _Runner, time_limit_s: float
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


def _status(optimal: bool) -> SolveStatus:
    return SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE


def _fallback(b: _Built, native: Any) -> _BlockResult:
    """No solution in time (or none at all): infeasible pins, or the trivial plan."""
    if native == cp_model.INFEASIBLE:
        return _BlockResult(SolveStatus.INFEASIBLE, {}, {})
    if native == cp_model.MODEL_INVALID:
        from optistaff.errors import SolveError

        raise SolveError("CP-SAT rejected the model (a bug in optistaff: please report it)")
    # time ran out before any solution: pinned decisions only, everyone else unassigned
    counts, called = _extract(b, None)
    return _BlockResult(SolveStatus.FEASIBLE, counts, called, searched=False)


def _regroup(
    source: AllocationProblem,
    target: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
) -> tuple[dict[tuple[int, int, int], int], dict[int, int]]:
    """A solution of ``source``'s groups as counts of ``target``'s groups (agents named
    with fewest switches first, ``optistaff.disaggregate``)."""
    from optistaff.disaggregate import disaggregate, keep_agents_in_place

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


def solve(
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
    """Solve the allocation problem exactly (within ``mip_gap``) with CP-SAT.

    ``problem`` is the pooled problem (``build_problem(..., pooled=True)``); with a switch
    penalty pass the ``identity`` problem too (groups that keep agents' identity over
    time). ``models/07-decomposition.md`` describes the method:

    1. every interval is solved on its own (pooled, optional agents all in for free);
       when nothing couples intervals that is the answer;
    2. otherwise one model covers the horizon (the identity model if switches count),
       seeded with step 1's plan and tightened by its per-interval bounds.

    ``SolverResult.counts`` refer to the groups of ``identity`` when given, else of
    ``problem``.
    """
    start = time.monotonic()
    deadline = start + time_limit_s
    runner = _Runner(threads, seed, stop)
    final = identity if identity is not None else problem
    scales = _choose_scales(final)
    T = problem.n_intervals
    priced = problem.scenario.policy.shortfall_price is not None
    has_daily = bool(problem.daily)
    has_optional = any(g.optional for g in problem.groups)
    coupled = has_daily or has_optional or identity is not None

    # 1. per-interval solves: independent, so `threads` of them run at once, each with
    # one CP-SAT worker (deterministic whatever the thread count)
    # when a horizon model follows, step 1 (and the best-value bounds) leave it most of
    # the time: one hard interval must not use it all
    step1 = start + _STEP1_SHARE * time_limit_s if coupled else deadline
    per = _solve_intervals(problem, scales, threads, seed, stop, step1, mip_gap, progress, start)
    counts: dict[tuple[int, int, int], int] = {}
    called: dict[int, int] = {}
    for res in per:
        counts.update(res.counts)
        for g, k in res.called_in.items():
            called[g] = max(called.get(g, 0), k)
    status = _combine([r.status for r in per])
    if not coupled or status == SolveStatus.INFEASIBLE:
        return _result(status, counts, called, per, "per-interval", start)

    # 2. one model over the horizon, seeded and cut by the per-interval results
    cuts = _Cuts()
    max_value: list[_BlockResult] = []
    if has_daily and not priced and scales.shortfall > 0 and per:
        # daily minimums by Lagrangian multipliers: a better plan to start from, and a
        # floor for level 1 (models/11-daily-lagrangian.md)
        lag_until = min(deadline, time.monotonic() + _LAGRANGIAN_SHARE * time_limit_s)
        known = [r.short_bound for r in per] if all(r.searched for r in per) else None
        lag = daily_lagrangian.improve(
            problem,
            scales.shortfall,
            scales.value,
            [_interval_constants(problem, t, scales)[1] for t in range(T)],
            counts,
            known,
            mip_gap=mip_gap,
            deadline=lag_until,
            threads=threads,
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
    if not priced:
        for t, res in enumerate(per):
            if not res.searched:  # out of time before any search: nothing proven
                continue
            cuts.short_lb[t] = res.short_bound
            if not has_daily:
                # level 1 splits per interval: S_t is held at its own optimum, and the
                # per-interval level-2 bound holds (before cost and switching)
                cuts.short_cap[t] = res.short_obj
                if res.value_bound is not None:
                    cuts.value_ub[t] = res.value_bound
        if has_daily:
            # each interval's best value regardless of shortfall (a bound)
            value_only = _Scales(0.0, scales.value)
            bounds_until = max(step1, start + 2 * _STEP1_SHARE * time_limit_s)
            max_value = _solve_intervals(
                problem, value_only, threads, seed, stop, bounds_until, mip_gap, None, start
            )
            for t, res in enumerate(max_value):
                if res.value_bound is not None and res.status == SolveStatus.OPTIMAL:
                    cuts.value_ub[t] = res.value_bound
            for t, res in enumerate(per):
                if res.value_bound is not None:
                    cuts.value_ub_at_floor[t] = res.value_bound
    required = (
        _required_optional(problem, per, scales, runner, deadline)
        if has_optional and not priced and not has_daily
        else None
    )
    if required is not None and identity is None and not priced and not has_daily:
        enumerated = _enumerate_optional(
            problem, per, required, scales, runner, deadline, mip_gap, start
        )
        if enumerated is not None:
            return enumerated
    pooled = None
    if (
        identity is not None
        and (has_daily or has_optional)
        and deadline - time.monotonic() >= _horizon_time_s(problem)
    ):
        pooled = _solve_pooled_horizon(
            problem, counts, called, cuts, required, scales, runner, deadline, mip_gap, start
        )
        if pooled.status == SolveStatus.INFEASIBLE:
            return _result(SolveStatus.INFEASIBLE, {}, {}, [pooled], "monolithic", start)
        if pooled.searched:  # it found a plan: the identity model starts there
            counts, called = pooled.counts, pooled.called_in
        else:
            pooled = None
    hint_counts, hint_called = _regroup(problem, final, counts, called)
    whole = _BlockResult(SolveStatus.FEASIBLE, {}, {}, searched=False)
    hint_short: int | None = None
    if deadline - time.monotonic() >= _horizon_time_s(final):  # else it would overrun
        b = _build(final, range(T), scales)
        cuts.add_to(b, scales)
        for g in required or ():
            _call_in_all(b, problem, final, g)
        if pooled is not None and has_daily and not priced:  # level 1 proven there holds
            floor = pooled.short_bound
            b.short_floor = floor if b.short_floor is None else max(b.short_floor, floor)
        _hint(b, final, hint_counts, hint_called, scales)
        hint_short = b.hint_objectives[0] if b.hint_objectives is not None else None
        # CP-SAT takes a while to stop and hand back a large model's solution (measured
        # ~1.3 s past the limit on a 2,000-agent identity model): stop it earlier
        margin = 0.2 * _horizon_time_s(final)
        whole = _solve_block(
            b,
            final,
            scales,
            runner,
            deadline - margin,
            mip_gap,
            progress,
            start,
            level1_known=not priced and not has_daily,
        )
    if whole.status == SolveStatus.INFEASIBLE:
        return _result(SolveStatus.INFEASIBLE, {}, {}, [whole], "monolithic", start)
    if whole.bound is None and pooled is not None and pooled.bound is not None:
        if whole.searched and whole.short_obj < pooled.short_obj:
            # the identity model improved level 1 but had no time for level 2: its plan,
            # with the pooled bounds (they hold for any plan: see _solve_pooled_horizon)
            part = replace(whole, bound=pooled.bound, shortfall_bound=pooled.shortfall_bound)
            name = "per-interval+horizon+identity"
            return _result(SolveStatus.FEASIBLE, whole.counts, whole.called_in, [part], name, start)
        # the identity model found nothing better in time: the pooled horizon plan, named
        # with fewest switches; its bound holds (switching only lowers the objective)
        return _result(
            SolveStatus.FEASIBLE, hint_counts, hint_called, [pooled], "per-interval+horizon", start
        )
    if whole.bound is None:  # nothing (better) found in time: the plan at hand
        # without a daily minimum the per-interval level-2 bounds bound the total too;
        # with one, each interval's best value regardless of shortfall does
        parts: Sequence[_BlockResult] = per if not has_daily and not priced else []
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
        return _result(SolveStatus.FEASIBLE, plan_counts, plan_called, parts, name, start)
    level1_ok = priced or has_daily or status == SolveStatus.OPTIMAL
    final_status = whole.status if level1_ok else SolveStatus.FEASIBLE
    name = "per-interval+" + ("identity" if identity is not None else "horizon")
    if pooled is not None and pooled.bound is not None and whole.bound is not None:
        name = "per-interval+horizon+identity"
        whole = replace(whole, bound=min(whole.bound, pooled.bound))
        if pooled.shortfall_bound is not None and whole.shortfall_bound is not None:
            short = max(whole.shortfall_bound, pooled.shortfall_bound)
            whole = replace(whole, shortfall_bound=short)
    return _result(final_status, whole.counts, whole.called_in, [whole], name, start)


def _solve_pooled_horizon(
    problem: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    cuts: _Cuts,
    required: set[int] | None,
    scales: _Scales,
    runner: _Runner,
    deadline: float,
    mip_gap: float,
    start: float,
) -> _BlockResult:
    """With a switch penalty, before the identity model: the horizon model over the
    pooled groups (``models/07-decomposition.md``), exact for daily minimums and optional
    agents, blind to switching (pooled groups do not persist over time). It is far
    smaller than the identity model, its plan seeds that model, and its bounds hold for
    it: level 1 does not involve switching, and switching only lowers level 2. It may use
    half of the time left."""
    b = _build(problem, range(problem.n_intervals), scales)
    cuts.add_to(b, scales)
    for g in required or ():
        _call_in_all(b, problem, problem, g)
    _hint(b, problem, counts, called, scales)
    half = time.monotonic() + 0.5 * max(0.0, deadline - time.monotonic())
    policy = problem.scenario.policy
    level1_known = policy.shortfall_price is None and not problem.daily
    return _solve_block(
        b,
        problem,
        scales,
        runner,
        half,
        mip_gap,
        None,
        start,
        level1_known=level1_known,
        level1_share=_LEVEL1_SHARE,
    )


def _horizon_time_s(p: AllocationProblem) -> float:
    """Least time worth giving a horizon model of ``p``: with less left, building and
    presolving it would overrun the limit (measured ~2e-5 s per allocation variable to
    build, a few times that to load and presolve), and the plan at hand stands."""
    variables = sum(sum(g.available) * len(g.skills) for g in p.groups)
    return max(1.0, 2e-4 * variables)


# Fraction of the time limit the per-interval step may use when a horizon model follows
# (the best-value bounds of a daily minimum get as much again).
_STEP1_SHARE = 0.3

# Fraction of the time limit the daily minimums' Lagrangian rounds may use (note 11).
_LAGRANGIAN_SHARE = 0.15

# Fraction of an interval's time that level 1 may use: if the time limit stops level 1,
# level 2 still gets time to bound the value (CP-SAT's root LP at least), which keeps
# the reported gap meaningful.
_LEVEL1_SHARE = 0.7


def _solve_intervals(
    problem: AllocationProblem,
    scales: _Scales,
    threads: int,
    seed: int,
    stop: threading.Event | None,
    deadline: float,
    mip_gap: float,
    progress: ProgressCallback | None,
    start: float,
) -> list[_BlockResult]:
    """Every interval solved on its own, ``threads`` at a time.

    First the exact interval search (``interval_search``, bounded by its node limit)
    runs on every interval; the intervals it gives up on get one CP-SAT worker each.
    Time is shared among those so that a time limit yields a plan for every interval:
    in a first pass an interval may use at most its fair share of the time left (time
    left × threads / intervals not yet started); intervals stopped there are solved
    again, from scratch, with all the time that remains, and keep the better of the two
    results. An interval solved to optimality in either pass gets the same result as
    one unhurried solve (the search's node limit is a count, and a fresh solve with one
    worker is deterministic), so optimal plans do not depend on timing."""
    T = problem.n_intervals
    halt = threading.Event()
    single = _Runner(1, seed, stop, halt, tuning=_INTERVAL_TUNING)
    lock = threading.Lock()
    not_started = [T]
    done = [0]

    def out_of_time() -> bool:
        return time.monotonic() >= deadline or halt.is_set() or (stop is not None and stop.is_set())

    def search(t: int) -> _BlockResult | None:
        if out_of_time():
            return None
        found = _search_interval(problem, t, scales, mip_gap, deadline)
        return None if found is None else _with_trivial_bounds(problem, t, found)

    def one(t: int, share: bool) -> _BlockResult:
        if time.monotonic() >= deadline or halt.is_set():  # out of time: pins only
            return _with_trivial_bounds(problem, t, _pins_only(problem, t))
        now = time.monotonic()
        until = deadline
        if share:
            with lock:
                until = min(deadline, now + (deadline - now) * threads / max(not_started[0], 1))
                not_started[0] -= 1
        b = _build(problem, [t], scales, all_in=True)

        def level2_start(counts: _Counts) -> interval_search.KeptShortfall | None:
            data = interval_search.interval_data(problem, t, scales.shortfall, scales.value)
            # level 2's tolerance (model.md: mip_gap relative, 1e-6 absolute), relative
            # to level 1's plan, whose value is at most level 2's optimum
            v1 = interval_search.placed_value(data, counts)
            if v1 is None:
                return None
            _, value_const = _interval_constants(problem, t, scales)
            tol = max(
                math.ceil(1e-6 * scales.value),
                math.floor(mip_gap * abs(v1 + value_const * scales.value)),
            )
            return interval_search.keep_shortfall(
                data, counts, tol=tol, node_limit=_SEARCH_NODES, deadline=until
            )

        res = _solve_block(
            b,
            problem,
            scales,
            single,
            until,
            mip_gap,
            None,
            start,
            level1_share=_LEVEL1_SHARE,
            level2_start=level2_start,
        )
        return _with_trivial_bounds(problem, t, res)

    def run_all(ts: Sequence[int], task: Callable[[int], Any], report: bool) -> list[Any]:
        out: list[Any] = []
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="interval") as pool:
            futures = [pool.submit(task, t) for t in ts]
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

    found: list[_BlockResult | None] = run_all(range(T), search, True)
    todo = [t for t in range(T) if found[t] is None]
    not_started[0] = len(todo)
    for t, res in zip(todo, run_all(todo, lambda t: one(t, True), True), strict=True):
        found[t] = res
    per = [res for res in found if res is not None]
    assert len(per) == T
    again = [t for t, r in enumerate(per) if r.status == SolveStatus.FEASIBLE]
    if again and time.monotonic() < deadline:
        for t, res in zip(again, run_all(again, lambda t: one(t, False), False), strict=True):
            if res.status == SolveStatus.OPTIMAL or _better(res, per[t]):
                per[t] = res
    return per


# Nodes the exact interval search (``interval_search``) may explore per level before
# CP-SAT takes the interval over. A node is one min-cost flow plus its duals.
_SEARCH_NODES = 64


def _search_interval(
    p: AllocationProblem, t: int, scales: _Scales, mip_gap: float, until: float
) -> _BlockResult | None:
    """Interval t by the exact branch and bound of ``interval_search`` (same scaled
    objectives and tolerances as a one-interval CP-SAT model); None when it gives up
    at its node limit (or cannot hold level 1 in level 2) and CP-SAT should solve it."""
    short_const, value_const = _interval_constants(p, t, scales)
    price = p.scenario.policy.shortfall_price
    if price is not None:  # one objective: value − price·shortfall (as in _solve_block)
        value_const -= price * short_const
    plan = interval_search.solve_interval(
        p,
        t,
        short_scale=scales.shortfall,
        value_scale=scales.value,
        value_const=value_const,
        mip_gap=mip_gap,
        deadline=until,
        node_limit=_SEARCH_NODES,
        priced=price is not None,
    )
    if plan is None or plan.gave_up:
        # CP-SAT from scratch: hinting the search's plan made its level 2 worse on the
        # peak intervals of a 10,000-agent center (3 of 3, 8 s each)
        return None
    shortfall_bound: float | None = 0.0
    if price is not None:
        shortfall_bound = None
    elif scales.shortfall > 0:
        shortfall_bound = plan.short_bound / scales.shortfall + short_const
    return _BlockResult(
        _status(plan.optimal),
        plan.counts,
        plan.called_in,
        bound=plan.value_bound / scales.value + value_const,
        shortfall_bound=shortfall_bound,
        short_obj=plan.short_obj,
        short_bound=plan.short_bound,
        value_bound=plan.value_bound,
        value_obj=plan.value_obj,
    )


def _interval_constants(p: AllocationProblem, t: int, scales: _Scales) -> tuple[float, float]:
    """The n = 0 constants of interval t's objectives (objective units), as
    ``_shortfall_expr`` and ``_value_expr`` count them for a one-interval model."""
    short = value = 0.0
    for q in range(p.n_queues):
        cell = p.tables.get((q, t))
        if cell is None:
            continue
        if cell.max_agents == 0:
            short += float(cell.shortfall[0])
            value += float(cell.value[0])
            continue
        if scales.shortfall > 0:
            short += float(np.rint(cell.shortfall[0] * scales.shortfall)) / scales.shortfall
        value += float(np.rint(cell.value[0] * scales.value)) / scales.value
    return short, value


def _pins_only(p: AllocationProblem, t: int) -> _BlockResult:
    """Interval t's plan when no time is left to build its model (what ``_fallback`` gives
    for an unsearched one-interval model): pinned agents on their queues, nobody else
    placed, optional agents all in (as in the per-interval relaxation)."""
    counts: dict[tuple[int, int, int], int] = {}
    for g in p.groups:
        q = g.pinned.get(t)
        if q is not None and g.available[t] and g.index in p.eligible.get((q, t), ()):
            counts[(g.index, q, t)] = 1
    called = {g.index: g.size for g in p.groups if g.optional}
    return _BlockResult(SolveStatus.FEASIBLE, counts, called, searched=False)


def _with_trivial_bounds(p: AllocationProblem, t: int, res: _BlockResult) -> _BlockResult:
    """The trivial bounds of interval t (the value is at most every cell's best value:
    cost and switching only subtract; the shortfall at least every cell's least), for an
    interval stopped before its bounds were proven (so a time-limited plan always reports
    a gap), and in place of a weaker one: a search stopped early reports the bound of its
    objective's variable domains, which counts every staffing literal of a cell at once."""
    if res.status == SolveStatus.INFEASIBLE:
        return res
    cells = [cell for (_q, i), cell in p.tables.items() if i == t]
    best_value = sum(float(np.max(cell.value)) for cell in cells)
    least_short = sum(float(np.min(cell.shortfall)) for cell in cells)
    if p.scenario.policy.shortfall_price is not None:
        best_value -= p.scenario.policy.shortfall_price * least_short
    res = replace(res, bound=best_value if res.bound is None else min(res.bound, best_value))
    if p.scenario.policy.shortfall_price is None:
        short = least_short if res.shortfall_bound is None else res.shortfall_bound
        res = replace(res, shortfall_bound=max(short, least_short))
    return res


def _better(a: _BlockResult, b: _BlockResult) -> bool:
    """Is ``a`` a better plan for its interval than ``b`` (level 1, then level 2)?"""
    if not (a.searched and b.searched):
        return a.searched
    if a.short_obj != b.short_obj:
        return a.short_obj < b.short_obj
    if b.value_obj is None:
        return a.value_obj is not None
    return a.value_obj is not None and a.value_obj > b.value_obj


def _required_optional(
    p: AllocationProblem,
    per: Sequence[_BlockResult],
    scales: _Scales,
    runner: _Runner,
    deadline: float,
) -> set[int]:
    """Optional groups every member of which is needed for level 1: with one member fewer,
    some interval's least weighted shortfall rises above what the full group attains.
    When level 1 splits per interval (no daily minimum), the lexicographic optimum must
    call them all in (``models/05-optional-and-switches.md``)."""
    required: set[int] = set()
    for group in p.groups:
        if time.monotonic() >= deadline:
            break  # only what is proven counts
        if not group.optional or group.called_in_by_pin:
            continue
        for t, available in enumerate(group.available):
            if not available or per[t].status != SolveStatus.OPTIMAL:
                continue
            b = _build(p, [t], scales, all_in=True)
            placed = [b.y[(group.index, q, t)] for q in group.skills if (group.index, q, t) in b.y]
            if not placed:
                continue
            b.model.add(_sum(placed) <= group.size - 1)
            shortfall, _ = _shortfall_expr(b, scales.shortfall)
            if isinstance(shortfall, int):
                continue
            b.model.minimize(shortfall)
            cb = _Callback("shortfall", scales.shortfall, 1.0, 0.0, 0.0, None)
            _, res = runner.run(b.model, deadline - time.monotonic(), 0.0, 0.0, cb)
            if res.status == cp_model.OPTIMAL and res.bound > per[t].short_obj + 0.5:
                required.add(group.index)
                break
    return required


class _OutOfTime(Exception):
    """The deadline passed inside an enumeration: its result would not be proven."""


def _enumerate_optional(
    p: AllocationProblem,
    per: Sequence[_BlockResult],
    required: set[int],
    scales: _Scales,
    runner: _Runner,
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
    cache: dict[tuple[int, tuple[int, ...]], _BlockResult] = {}

    def interval(t: int, combo: dict[int, int]) -> _BlockResult:
        local = tuple(combo[g] for g in undecided if p.groups[g].available[t])
        if all(combo[g] == p.groups[g].size for g in undecided if p.groups[g].available[t]):
            return per[t]
        key = (t, local)
        if key not in cache:
            if time.monotonic() >= deadline:
                raise _OutOfTime
            b = _build(p, [t], scales, all_in=True)
            for g in undecided:
                placed = [b.y[(g, q, t)] for q in p.groups[g].skills if (g, q, t) in b.y]
                if placed and combo[g] < p.groups[g].size:
                    b.model.add(_sum(placed) <= combo[g])
            cache[key] = _solve_block(b, p, scales, runner, deadline, mip_gap, None, start)
        return cache[key]

    best: tuple[int, dict[int, int], list[_BlockResult]] | None = None
    for values in itertools.product(*choices):
        combo = dict(zip(undecided, values, strict=True))
        try:
            parts = [interval(t, combo) for t in range(p.n_intervals)]
        except _OutOfTime:
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
    status = _combine([r.status for r in parts])
    result = _result(status, counts, called, parts, "per-interval+enumeration", start)
    cost = sum(g.cost_if_called * called[g.index] for g in p.groups if g.optional)
    bound = None if result.bound is None else result.bound - cost
    return replace(result, bound=bound)


def _call_in_all(b: _Built, pooled: AllocationProblem, final: AllocationProblem, g: int) -> None:
    """Fix z = |g| for the group of ``final`` holding pooled optional group g's members."""
    members = set(pooled.groups[g].members)
    for group in final.groups:
        if group.optional and members & set(group.members):
            var = b.z.get(group.index)
            if var is not None and not isinstance(var, int):
                b.model.add(var == group.size)


def _result(
    status: SolveStatus,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    parts: Sequence[_BlockResult],
    decomposition: str,
    start: float,
) -> SolverResult:
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


def _combine(statuses: Sequence[SolveStatus]) -> SolveStatus:
    if SolveStatus.INFEASIBLE in statuses:
        return SolveStatus.INFEASIBLE
    if all(s == SolveStatus.OPTIMAL for s in statuses):
        return SolveStatus.OPTIMAL
    return SolveStatus.FEASIBLE
