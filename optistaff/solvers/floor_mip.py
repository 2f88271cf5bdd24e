"""The day at level 1's floor as one mixed-integer programme (``models/17-floor-mip.md``).

When the daily minimums do not move level 1 off the intervals' own optima
(``models/05-optional-and-switches.md``, "At the floor"), every lexicographic optimum
holds level 1 at the floor S* and what is left is level 2 over those plans: value less
the overtime called in less the switching, coupled across the day by the switches and
the overtime only. CP-SAT on one worker does not close it (contact-center-sla: gap
2.9e-4 in 10 s, 2.1e-4 in 60 s); an LP-based branch and bound does, on this model:

- allocation y[g,q,t] ∈ {0..|g|} (pins fixed), called-in z[g] ∈ {0..|g|} for every
  optional group not pinned in, Σ_q y[g,q,t] ≤ z[g] (|g| for a group that is not
  optional);
- each cell's staffing in ordered increments: δ[q,t,k] ∈ {0,1} (n ≥ k), δ_k ≤ δ_{k−1},
  Σ_k δ = Σ_g y; any table f is f(0) + Σ_k (f(k) − f(k−1))·δ_k, exact at integer n
  (no concavity assumed; the tables are S-shaped);
- level 1 held: each interval's scaled shortfall S_t ≤ its cap (the interval's own
  least, plus the tolerance), daily deficits D_q ≥ R_q − A_q, D_q ≥ 0, and
  Σ_t S_t + Σ_q D_q ≤ S* + tolerance, in the integer tables CP-SAT uses (note 06),
  divided by their scale;
- switches as in ``cpsat.families.add_switches``: d ≥ y_t − y_{t+1},
  s ≥ Σ_q d − (cap − Σ_q y_{t+1});
- maximise Σ cells' value − Σ_g cost_g·z_g − P·Σ s (objective units, exact tables).

The same tables in one-hot form (one literal per staffing level, as CP-SAT's model) took
HiGHS 9–11 s on contact-center-sla; in increments 0.8–1.1 s (its branching on δ is a
branching on n ≥ k). HiGHS is OR-Tools' own (through MathOpt): no other dependency.
Floating point: the plan is re-scored in the integer tables and kept only when its level
1 is within the tolerance of S* and its level 2 (exact tables) is what the programme
says; the bound is HiGHS's dual bound.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock, daily_lagrangian
from optistaff.solvers.scaling import Scales

Counts = dict[tuple[int, int, int], int]

#: HiGHS's feasibility tolerance on the programme's rows (objective units): well below a
#: scaled unit of the shortfall tables (1/scale, ~5e-7 on contact-center-sla).
FEASIBILITY = 1e-9


#: Variables the programme's model is built at per second (MathOpt from Python: ~40,000
#: on contact-center-sla, 12,700 variables in 0.33 s; half of that taken, to be safe).
BUILT_PER_S = 20_000


def build_estimate_s(p: AllocationProblem) -> float:
    """Seconds to build the programme of ``p``: its integer variables (allocation and
    increments) at ``BUILT_PER_S``. Building is not bounded by the deadline, so a caller
    leaves the programme out where this does not fit its share."""
    allocation = sum(len(eligible) for eligible in p.eligible.values())
    steps = sum(cell.max_agents for cell in p.tables.values())
    return (allocation + steps) / BUILT_PER_S


@dataclass(frozen=True)
class FloorProgramme:
    """What the programme found: its plan (identity groups when switches count) and that
    plan's level 2 by the exact tables (None: no plan), its bound on level 2 over every
    plan at the floor (objective units; None: none proven), whether HiGHS closed it to
    its gap, and its work."""

    counts: Counts | None
    called: dict[int, int] | None
    level2: float | None
    bound: float | None
    closed: bool
    seconds: float
    nodes: int


def solve(
    p: AllocationProblem,
    scales: Scales,
    caps: Mapping[int, int],
    level1: int,
    *,
    deadline: float,
    mip_gap: float,
    hint: tuple[Mapping[tuple[int, int, int], int], Mapping[int, int]] | None = None,
    stop: threading.Event | None = None,
) -> FloorProgramme:
    """Level 2 over the plans of ``p`` whose scaled level 1 is within the tolerance of
    ``level1`` (the floor S*, proven), each interval's scaled shortfall at most
    ``caps[t]`` (plus the tolerance): the day at its floor (module docstring)."""
    from ortools.math_opt.python import mathopt
    from ortools.math_opt.solvers import highs_pb2
    from ortools.util.python import solve_interrupter

    from optistaff.solvers import reoptimise

    began = clock.now()
    tol = math.ceil(0.5e-7 * scales.shortfall)
    unit = 1.0 / scales.shortfall
    m = mathopt.Model(name="floor")
    z: dict[int, mathopt.Variable] = {}
    caps_of: dict[int, mathopt.Variable | int] = {}
    for opt in p.groups:
        if opt.optional and not opt.called_in_by_pin:
            z[opt.index] = m.add_integer_variable(lb=0, ub=opt.size, name=f"z{opt.index}")
            caps_of[opt.index] = z[opt.index]
        else:
            caps_of[opt.index] = opt.size
    y: dict[tuple[int, int, int], mathopt.Variable | int] = {}
    for (q, t), eligible in p.eligible.items():
        for g in eligible:
            pin = p.groups[g].pinned.get(t, -1)
            if pin == q:
                y[(g, q, t)] = 1
            elif pin == -1:
                y[(g, q, t)] = m.add_integer_variable(lb=0, ub=p.groups[g].size)
    for g, group in enumerate(p.groups):
        for t in range(p.n_intervals):
            placed = [y[(g, q, t)] for q in group.skills if (g, q, t) in y]
            if group.available[t] and placed:
                m.add_linear_constraint(mathopt.fast_sum(placed) <= caps_of[g])

    # (level 1's integer tables as CP-SAT rounds them, n = 0 values off: note 11)
    tables = daily_lagrangian.daily_tables(p, scales.shortfall, scales.value)
    value: list[mathopt.LinearExpression] = []
    constant = 0.0
    short: dict[int, list[mathopt.LinearExpression]] = {}
    answered: dict[int, list[mathopt.LinearExpression]] = {q: [] for q in tables.rhs}
    answered_fixed: dict[int, int] = dict.fromkeys(tables.rhs, 0)
    steps: dict[tuple[int, int], list[mathopt.Variable]] = {}
    for (q, t), cell in p.tables.items():
        constant += float(cell.value[0])
        if cell.max_agents == 0:
            continue
        if q in answered_fixed:
            answered_fixed[q] += int(tables.answered[(q, t)][0])
        staffed = [y[(g, q, t)] for g in p.eligible.get((q, t), ()) if (g, q, t) in y]
        n_most = min(cell.max_agents, sum(p.groups[g].size for g in p.eligible.get((q, t), ())))
        if n_most == 0 or not staffed:
            continue
        delta = [m.add_binary_variable() for _ in range(n_most)]  # delta[k-1]: n >= k
        steps[(q, t)] = delta
        for k in range(1, n_most):
            m.add_linear_constraint(delta[k] <= delta[k - 1])
        m.add_linear_constraint(mathopt.fast_sum(delta) == mathopt.fast_sum(staffed))

        def rise(table: np.ndarray, d: list[mathopt.Variable] = delta) -> mathopt.LinearSum:
            return mathopt.fast_sum(float(c) * v for c, v in zip(table, d, strict=False) if c)

        value.append(rise(np.diff(cell.value[: n_most + 1])))
        if scales.shortfall > 0:
            short_int = tables.shortfall[(q, t)][: n_most + 1]
            short.setdefault(t, []).append(rise(np.diff(short_int) * unit))
            if q in answered:
                answered[q].append(rise(np.diff(tables.answered[(q, t)][: n_most + 1]) * unit))

    level1_terms: list[mathopt.LinearExpression] = []
    for t, terms in short.items():
        expr = mathopt.fast_sum(terms)
        level1_terms.append(expr)
        if t in caps:
            m.add_linear_constraint(expr <= (caps[t] + tol) * unit)
    for q, target_less_fixed in tables.rhs.items():
        rhs = target_less_fixed - answered_fixed[q]
        deficit = m.add_variable(lb=0.0, name=f"D{q}")
        m.add_linear_constraint(deficit + mathopt.fast_sum(answered[q]) >= rhs * unit)
        level1_terms.append(deficit)
    if level1_terms:
        m.add_linear_constraint(mathopt.fast_sum(level1_terms) <= (level1 + tol) * unit)

    switches: list[mathopt.Variable] = []
    penalty = p.scenario.policy.switch_penalty
    for g, group in enumerate(p.groups):
        if penalty <= 0 or len(group.skills) < 2:
            continue
        for t in range(p.n_intervals - 1):
            if not (group.available[t] and group.available[t + 1]):
                continue
            drops = []
            for q in group.skills:
                now, nxt = y.get((g, q, t), 0), y.get((g, q, t + 1), 0)
                if isinstance(now, int) and now == 0:
                    continue
                d = m.add_variable(lb=0.0, ub=group.size)
                m.add_linear_constraint(d >= now - nxt)
                drops.append(d)
            if not drops:
                continue
            placed = [y[(g, q, t + 1)] for q in group.skills if (g, q, t + 1) in y]
            s = m.add_variable(lb=0.0, ub=group.size)
            idle = caps_of[g] - mathopt.fast_sum(placed)
            m.add_linear_constraint(s >= mathopt.fast_sum(drops) - idle)
            switches.append(s)
    cost = mathopt.fast_sum(p.groups[g].cost_if_called * v for g, v in z.items())
    fixed_cost = math.fsum(
        o.cost_if_called * o.size for o in p.groups if o.optional and o.called_in_by_pin
    )
    switching = penalty * mathopt.fast_sum(switches)
    m.maximize(constant - fixed_cost + mathopt.fast_sum(value) - cost - switching)

    model_params = None
    if hint is not None:
        values = _hint_values(p, y, z, steps, hint)
        model_params = mathopt.ModelSolveParameters(
            solution_hints=[mathopt.SolutionHint(variable_values=values)]
        )
    highs = highs_pb2.HighsOptionsProto()
    highs.double_options["mip_feasibility_tolerance"] = FEASIBILITY
    highs.double_options["primal_feasibility_tolerance"] = FEASIBILITY
    if not caps:
        # off the floor HiGHS's presolve took 13.6 s of 41 s on the 2,000-agent surplus
        # day and left a root LP of 21 s; without it the whole solve took 9.2 s. At the
        # floor (caps) it pays: contact-center-sla 1.8 s with it, 3.1 s without
        highs.string_options["presolve"] = "off"
    left = max(deadline - clock.now(), 0.01)
    params = mathopt.SolveParameters(
        time_limit=datetime.timedelta(seconds=left),
        relative_gap_tolerance=mip_gap,
        absolute_gap_tolerance=1e-6,
        highs=highs,
    )
    interrupter = solve_interrupter.SolveInterrupter()
    done = threading.Event()
    if stop is not None:

        def watch() -> None:
            while not done.is_set():
                if stop.wait(0.05):
                    interrupter.interrupt()
                    return

        threading.Thread(target=watch, daemon=True).start()
    try:
        result = mathopt.solve(
            m,
            mathopt.SolverType.HIGHS,
            params=params,
            model_params=model_params,
            interrupter=interrupter,
        )
    finally:
        done.set()
    seconds = clock.now() - began
    nodes = int(result.solve_stats.node_count)
    reason = result.termination.reason
    usable = reason in (
        mathopt.TerminationReason.OPTIMAL,
        mathopt.TerminationReason.FEASIBLE,
        mathopt.TerminationReason.NO_SOLUTION_FOUND,
    )
    infeasible = reason == mathopt.TerminationReason.INFEASIBLE
    bound: float | None = None
    if usable:
        b = float(result.best_objective_bound())
        bound = b if math.isfinite(b) else None
    if infeasible:  # (no plan holds the floor: the premise failed; nothing is proven)
        return FloorProgramme(None, None, None, None, False, seconds, nodes)
    counts: Counts | None = None
    called: dict[int, int] | None = None
    level2: float | None = None
    if usable and result.has_primal_feasible_solution():
        counts = {}
        for key, var in y.items():
            k = var if isinstance(var, int) else round(result.variable_values(var))
            if k:
                counts[key] = k
        called = {
            o.index: (round(result.variable_values(z[o.index])) if o.index in z else o.size)
            for o in p.groups
            if o.optional
        }
        n = daily_lagrangian.staffing(counts)
        by_interval: dict[int, int] = {}
        for cell_key, table in tables.shortfall.items():
            t = cell_key[1]
            by_interval[t] = by_interval.get(t, 0) + int(table[n.get(cell_key, 0)])
        if daily_lagrangian.level1(tables, n) > level1 + tol or any(
            by_interval.get(t, 0) > caps[t] + tol for t in caps
        ):
            counts = called = None  # (HiGHS's tolerances let it through: not a plan here)
        else:
            level2 = reoptimise.level2(p, counts, called)
    closed = reason == mathopt.TerminationReason.OPTIMAL and counts is not None
    return FloorProgramme(counts, called, level2, bound, closed, seconds, nodes)


def _hint_values(
    p: AllocationProblem,
    y: Mapping[tuple[int, int, int], object],
    z: Mapping[int, object],
    steps: Mapping[tuple[int, int], list[object]],
    hint: tuple[Mapping[tuple[int, int, int], int], Mapping[int, int]],
) -> dict[object, float]:
    """Every integer variable's value in the plan ``hint`` (counts, called in)."""
    counts, called = hint
    values: dict[object, float] = {}
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    for key, var in y.items():
        if not isinstance(var, int):
            values[var] = float(counts.get(key, 0))
    for g, var in z.items():
        values[var] = float(called.get(g, 0))
    for cell, delta in steps.items():
        staffed = n.get(cell, 0)
        for k, var in enumerate(delta):
            values[var] = float(k < staffed)
    return values
