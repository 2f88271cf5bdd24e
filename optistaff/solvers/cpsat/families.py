"""The CP-SAT model: constraint families and objective terms (``models/01``-``05``).

One function per constraint family, each docstring carrying its equation; the notes in
``models/`` carry the same equations and name the tests that pin each family.
:func:`build_model` assembles the families for some intervals of an
:class:`~optistaff.formulation.AllocationProblem`. The objective terms are the exact
tables times the scales of :mod:`optistaff.solvers.scaling`, rounded; the n = 0 value
of every cell is a constant taken out so that coefficients stay small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from optistaff.formulation import AllocationProblem, CellTable
from optistaff.solvers.results import Cuts
from optistaff.solvers.scaling import Scales


@dataclass
class CellLiterals:
    """A one-hot encoded (queue, interval) cell: ``literals[k]`` is true iff n = k."""

    cell: CellTable
    literals: list[cp_model.IntVar]


DailyTerm = tuple[np.ndarray, list[cp_model.IntVar], tuple[int, int]]


@dataclass
class CpsatModel:
    """A CP-SAT model of some intervals of an allocation problem, with the handles the
    families created: allocation ``y[g,q,t]``, optional ``z[g]``, one-hot cells,
    daily shortfalls ``D[q]``, switches and drops. The bounds and the hint below are
    what the lexicographic block (``cpsat.runner``) may use as proofs."""

    model: cp_model.CpModel
    y: dict[tuple[int, int, int], cp_model.IntVar | int] = field(default_factory=dict)
    z: dict[int, cp_model.IntVar | int] = field(default_factory=dict)
    cells: list[CellLiterals] = field(default_factory=list)
    daily: dict[int, cp_model.IntVar] = field(default_factory=dict)
    switches: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    drops: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    # queue -> (scaled target, [(scaled answered(n) of a cell, its literals, (q, t))])
    daily_terms: dict[int, tuple[int, list[DailyTerm]]] = field(default_factory=dict)
    all_in: bool = False
    problem: Any = None
    short_floor: int | None = None
    # a tighter value ceiling, valid once level 1 attains short_floor (every S_t at its
    # own minimum, so the per-interval level-2 bounds hold)
    value_ceiling_at_floor: int | None = None
    hint_objectives: tuple[int, int] | None = None
    hint_plan: tuple[dict[tuple[int, int, int], int], dict[int, int]] | None = None
    value_ceiling: int | None = None


# -- constraint families ---------------------------------------------------------------


def add_allocation(b: CpsatModel, p: AllocationProblem, ts: Sequence[int]) -> None:
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


def add_optional_agents(b: CpsatModel, p: AllocationProblem, *, all_in: bool = False) -> None:
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


def add_capacity(b: CpsatModel, p: AllocationProblem, ts: Sequence[int]) -> None:
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


def add_staffing_curves(b: CpsatModel, p: AllocationProblem, ts: Sequence[int]) -> None:
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
                b.cells.append(CellLiterals(cell, []))
                continue
            lits = [b.model.new_bool_var(f"u_{q}_{t}_{k}") for k in range(cell.max_agents + 1)]
            b.model.add_exactly_one(lits)
            b.model.add(sum(k * lit for k, lit in enumerate(lits)) == sum(staffed))
            b.cells.append(CellLiterals(cell, lits))


def add_daily_minimums(
    b: CpsatModel,
    p: AllocationProblem,
    ts: Sequence[int],
    scale: float,
    answered_elsewhere: dict[int, int] | None = None,
) -> None:
    """Horizon-wide minimum of queue q (weight w, target d):
    D[q] ≥ w·(d·Σ_t λ − Σ_t Σ_k λ·SL(k)·u[q,t,k]), D[q] ≥ 0 (in units of 1/scale).
    ``answered_elsewhere[q]``: the scaled w·answered of q's cells outside ``ts``, fixed
    (a window of the day, :func:`build_window`), taken off the target."""
    for q, target in p.daily.items():
        weight = p.scenario.queues[q].weight
        if weight == 0:
            continue
        rhs = round(scale * weight * target)
        if answered_elsewhere is not None:
            rhs -= answered_elsewhere.get(q, 0)
        answered: list[DailyTerm] = []
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
        b.model.add(d + linear_sum(terms) >= rhs)
        b.daily[q] = d
        b.daily_terms[q] = (rhs, answered)


def add_switches(b: CpsatModel, p: AllocationProblem, ts: Sequence[int]) -> None:
    """Least switches of group g between t and t+1 (both available, models/00-contract.md):
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


def add_cuts(b: CpsatModel, cuts: Cuts, scales: Scales) -> None:
    """The per-interval step's valid inequalities (:class:`~optistaff.solvers.results.Cuts`,
    ``models/07-decomposition.md``) in a horizon model: S_t ≥ short_lb[t],
    S_t ≤ short_cap[t], V_t ≤ value_ub[t]; their sums become the model's known floor
    and ceilings."""
    # the sums bound the objectives themselves (D ≥ 0; cost, switching ≥ 0); they
    # serve as proofs in solve_lexicographic (CP-SAT does not derive them from these cuts)
    intervals = {tab.cell.interval for tab in b.cells}
    # each S_t ≤ 0 (n = 0 values off): the sum bounds the total only over every
    # interval (an interval step 1 never reached has no bound)
    if cuts.short_lb and intervals <= set(cuts.short_lb):
        b.short_floor = sum(cuts.short_lb.values())
    if cuts.short_floor is not None and scales.shortfall > 0:
        b.short_floor = max(b.short_floor or cuts.short_floor, cuts.short_floor)
    if cuts.value_ub and len(cuts.value_ub) == len(intervals):
        b.value_ceiling = sum(cuts.value_ub.values())
    if cuts.value_ub_at_floor and len(cuts.value_ub_at_floor) == len(intervals):
        b.value_ceiling_at_floor = sum(cuts.value_ub_at_floor.values())
    for t, lb in cuts.short_lb.items():
        b.model.add(interval_terms(b, t, "shortfall", scales.shortfall) >= lb)
    for t, cap in cuts.short_cap.items():
        b.model.add(interval_terms(b, t, "shortfall", scales.shortfall) <= cap)
    for t, ub in cuts.value_ub.items():
        b.model.add(interval_terms(b, t, "value", scales.value) <= ub)


# -- objective pieces ------------------------------------------------------------------


def scaled_terms(
    tab: CellLiterals, values: np.ndarray, scale: float, *, base: bool = True
) -> list[cp_model.LinearExprT]:
    """Σ_k round(scale·values[k])·u[k] as a list of terms. With ``base``, the n = 0 value is
    subtracted (it is a constant of the objective) so coefficients stay small."""
    ints = np.rint(values * scale).astype(np.int64)
    if base:
        ints = ints - ints[0]
    return [int(c) * lit for c, lit in zip(ints, tab.literals, strict=True) if c != 0]


def shortfall_expr(b: CpsatModel, scale: float) -> tuple[Any, float]:
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
        terms.extend(scaled_terms(tab, tab.cell.shortfall, scale))
    terms.extend(b.daily.values())
    return linear_sum(terms), constant


def value_expr(b: CpsatModel, p: AllocationProblem, scale: float) -> tuple[Any, float]:
    """Scaled value − cost − switching, and its constant part (objective units)."""
    terms: list[cp_model.LinearExprT] = []
    constant = 0.0
    for tab in b.cells:
        if not tab.literals:
            constant += float(tab.cell.value[0])
            continue
        constant += float(np.rint(tab.cell.value[0] * scale)) / scale
        terms.extend(scaled_terms(tab, tab.cell.value, scale))
    for g, zg in b.z.items():
        c = round(scale * p.groups[g].cost_if_called)
        if c and not b.all_in:
            terms.append(-c * zg)
    penalty = round(scale * p.scenario.policy.switch_penalty)
    if penalty:
        terms.extend(-penalty * s for s in b.switches.values())
    return linear_sum(terms), constant


def interval_terms(b: CpsatModel, t: int, which: str, scale: float) -> Any:
    """The scaled cell terms of interval t (``which``: "shortfall" or "value"), exactly as
    they appear in the objectives (n = 0 value subtracted)."""
    terms: list[cp_model.LinearExprT] = []
    for tab in b.cells:
        if tab.cell.interval == t and tab.literals:
            table = tab.cell.shortfall if which == "shortfall" else tab.cell.value
            terms.extend(scaled_terms(tab, table, scale))
    return linear_sum(terms)


def linear_sum(terms: Sequence[Any]) -> Any:
    """Σ terms as one CP-SAT linear expression (0 when empty)."""
    return cp_model.LinearExpr.sum(list(terms)) if terms else 0


def extract_plan(
    b: CpsatModel, solver: cp_model.CpSolver | None
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


def hint_solution(
    b: CpsatModel,
    p: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
    scales: Scales,
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


def build_model(
    p: AllocationProblem, ts: Sequence[int], scales: Scales, *, all_in: bool = False
) -> CpsatModel:
    b = CpsatModel(cp_model.CpModel(), problem=p)
    add_allocation(b, p, ts)
    add_optional_agents(b, p, all_in=all_in)
    add_capacity(b, p, ts)
    add_staffing_curves(b, p, ts)
    if scales.shortfall > 0 and not all_in:  # per-interval relaxations omit daily minimums
        add_daily_minimums(b, p, ts, scales.shortfall)
    add_switches(b, p, ts)
    return b


def build_window(
    p: AllocationProblem,
    window: Sequence[int],
    scales: Scales,
    counts: dict[tuple[int, int, int], int],
    called: dict[int, int],
) -> CpsatModel:
    """The model of the intervals ``window`` (consecutive) with the rest of a plan
    (``counts``, ``called``) fixed: the same families over the window, every optional
    group's called-in count fixed, the daily minimums with the answered calls of the
    intervals outside taken off their targets, and the switches across the window's two
    edges against the fixed neighbours (their y are constants here, so ``add_switches``
    counts them as any other). Its objectives are the day's restricted to what the
    window can change (``models/07-decomposition.md``, "Windows")."""
    ts = sorted(window)
    b = CpsatModel(cp_model.CpModel(), problem=p)
    add_allocation(b, p, ts)
    b.z = {g.index: called.get(g.index, 0) for g in p.groups if g.optional}
    add_capacity(b, p, ts)
    add_staffing_curves(b, p, ts)
    if scales.shortfall > 0 and p.daily:
        inside = set(ts)
        n: dict[tuple[int, int], int] = {}
        for (_g, q, t), k in counts.items():
            if t not in inside:
                n[(q, t)] = n.get((q, t), 0) + k
        elsewhere: dict[int, int] = {}
        for (q, t), cell in p.tables.items():
            if q in p.daily and t not in inside and cell.max_agents > 0:
                weight = p.scenario.queues[q].weight
                ints = np.rint(cell.answered * weight * scales.shortfall).astype(np.int64)
                elsewhere[q] = elsewhere.get(q, 0) + int(ints[n.get((q, t), 0)])
        add_daily_minimums(b, p, ts, scales.shortfall, elsewhere)
    edges = [t for t in (ts[0] - 1, ts[-1] + 1) if 0 <= t < p.n_intervals]
    for t in edges:
        for g, group in enumerate(p.groups):
            if group.available[t]:
                for q in group.skills:
                    b.y[(g, q, t)] = counts.get((g, q, t), 0)
    add_switches(b, p, sorted([*ts, *edges]))
    for t in edges:  # (the neighbours are constants of the plan, not of the window)
        for key in [k for k in b.y if k[2] == t]:
            del b.y[key]
    return b


def call_in_all(b: CpsatModel, pooled: AllocationProblem, final: AllocationProblem, g: int) -> None:
    """Fix z = |g| for the group of ``final`` holding pooled optional group g's members."""
    members = set(pooled.groups[g].members)
    for group in final.groups:
        if group.optional and members & set(group.members):
            var = b.z.get(group.index)
            if var is not None and not isinstance(var, int):
                b.model.add(var == group.size)


def cap_members(b: CpsatModel, g: int, t: int, most: int) -> bool:
    """Σ_q y[g,q,t] ≤ ``most``: at most that many members of group g work in interval t.
    False (and nothing added) when the model places no member of g in t."""
    placed = [b.y[(g, q, t)] for q in b.problem.groups[g].skills if (g, q, t) in b.y]
    if not placed:
        return False
    b.model.add(linear_sum(placed) <= most)
    return True
