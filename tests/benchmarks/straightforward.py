"""The straightforward formulation of models/00-contract.md, as a textbook would write it.

A reference for ``bench_scale.py`` (speed and agreement), deliberately *not* using
optistaff's solver or its decompositions:

* one binary x[a,q,t] per agent a, skill q and interval t the agent is available
  (optional agents: z[a] ∈ {0,1} called in, x[a,q,t] ≤ z[a]); Σ_q x[a,q,t] ≤ 1;
* for every (q,t) with calls, ordered binary increments δ_1 ≥ δ_2 ≥ … ≥ δ_N with
  n[q,t] = Σ_a x[a,q,t] = Σ_k δ_k, and each tabulated figure f (value, weighted
  shortfall, answered within target) as f(0) + Σ_k (f(k) − f(k−1))·δ_k — exact at
  integer n without any concavity (the increments are kept in order by δ_k ≥ δ_{k+1});
* daily minimums: D[q] ≥ W·(d·Σ_t λ − Σ_t answered(q,t)), D ≥ 0;
* switches: sw[a,t] ≥ x[a,q,t] + Σ_{q'≠q} x[a,q',t+1] − 1 for t, t+1 both available;
* one model for the whole horizon, lexicographic: minimise the weighted shortfall S,
  then maximise value − cost − switch_penalty·Σ sw with S held at its optimum.

Coefficients come from :func:`optistaff.formulation.tabulate` (the exact queueing
curves); each level is scaled to integers by the largest power of ten that keeps every
coefficient ≤ 2**30 (CP-SAT 9.15 returns wrong optima with coefficients near 1e10),
rounding the cumulative tables (so Σ_k of the rounded increments is round(f(n)·scale)).
CP-SAT runs with default settings except the thread count, the time limit and the
stopping gaps of models/00-contract.md (level 1 absolute 1e-7, level 2 relative ``mip_gap`` with a
1e-6 absolute floor). ``shortfall_price`` is not supported (not needed by the benchmark).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from optistaff.formulation import tabulate
from optistaff.scenario import Scenario

MAX_COEFFICIENT = 2**30
STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "unknown",
}


@dataclass(frozen=True)
class StraightResult:
    """``status`` is the weaker of the two levels' statuses; ``decision`` maps (agent,
    interval) to a queue id or None for every worked interval (as in assignments.csv).
    When level 2 finds no plan in time, level 1's plan is returned (status feasible)."""

    status: str
    decision: dict[tuple[str, int], str | None]
    called_in: tuple[str, ...]
    wall_s: float
    level1_s: float
    level2_s: float
    variables: int
    shortfall_scale: float
    value_scale: float
    rounding_shortfall: float  # bound on |scaled S / scale − exact S| over all plans
    rounding_value: float


def _scale_for(max_coefficient: float) -> float:
    if max_coefficient <= 0:
        return 1.0
    return float(10 ** math.floor(math.log10(MAX_COEFFICIENT / (max_coefficient + 1.0))))


def _increments(table: Any, scale: float) -> list[int]:
    """round(f(k)·scale) − round(f(k−1)·scale), k = 1..N."""
    scaled = [round(float(v) * scale) for v in table]
    return [scaled[k] - scaled[k - 1] for k in range(1, len(scaled))]


def solve_straightforward(
    scenario: Scenario, *, time_limit_s: float, threads: int = 1, mip_gap: float = 1e-6
) -> StraightResult:
    """Solve ``scenario`` with the straightforward model (see the module docstring)."""
    if scenario.policy.shortfall_price is not None:
        raise NotImplementedError("straightforward model: shortfall_price is not supported")
    started = time.monotonic()
    T = scenario.horizon.intervals
    qidx = {q.id: i for i, q in enumerate(scenario.queues)}
    pins: dict[tuple[str, int], int | None] = {}
    for pin in scenario.pins:
        for t in range(pin.start, pin.end):
            pins[(pin.agent, t)] = None if pin.queue is None else qidx[pin.queue]

    m = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    z: dict[int, cp_model.IntVar] = {}
    on_cell: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for a, agent in enumerate(scenario.agents):
        skills = sorted(qidx[s] for s in agent.skills)
        if agent.optional:
            z[a] = m.new_bool_var(f"z_{a}")
            if any(key[0] == agent.id for key in pins):
                m.add(z[a] == 1)
        for t in range(T):
            if not agent.available[t]:
                continue
            row = []
            for q in skills:
                var = m.new_bool_var(f"x_{a}_{q}_{t}")
                pinned = pins.get((agent.id, t), -1)
                if pinned != -1:
                    m.add(var == (1 if pinned == q else 0))
                x[(a, q, t)] = var
                on_cell[(q, t)].append(var)
                row.append(var)
            if agent.optional:
                m.add(sum(row) <= z[a])
            else:
                m.add(sum(row) <= 1)

    tables = tabulate(scenario, {k: len(v) for k, v in on_cell.items()})
    daily = {
        q: queue
        for q, queue in enumerate(scenario.queues)
        if queue.daily_service_level is not None and sum(queue.forecast) > 0
    }
    # scales: the largest power of ten keeping every coefficient <= 2**30
    max_short = max(
        [abs(float(v)) for tb in tables.values() for v in tb.shortfall]
        + [q.weight * float(sum(q.forecast)) for q in daily.values()]
        + [0.0]
    )
    max_value = max(
        [abs(float(v)) for tb in tables.values() for v in tb.value]
        + [a.cost * a.available_intervals for a in scenario.agents if a.optional]
        + [scenario.policy.switch_penalty, 0.0]
    )
    s_scale, v_scale = _scale_for(max_short), _scale_for(max_value)

    short_terms: list[Any] = []
    short_const = 0
    value_terms: list[Any] = []
    value_const = 0
    answered: dict[int, list[Any]] = defaultdict(list)
    n_cells = 0
    for (q, t), tb in sorted(tables.items()):
        n_cells += 1
        delta = [m.new_bool_var(f"d_{q}_{t}_{k}") for k in range(1, tb.max_agents + 1)]
        for k in range(len(delta) - 1):
            m.add_implication(delta[k + 1], delta[k])  # δ_k ≥ δ_{k+1}
        m.add(sum(on_cell[(q, t)]) == sum(delta))
        short_const += round(float(tb.shortfall[0]) * s_scale)
        ds = _increments(tb.shortfall, s_scale)
        short_terms += [c * d for c, d in zip(ds, delta, strict=True) if c]
        value_const += round(float(tb.value[0]) * v_scale)
        dv = _increments(tb.value, v_scale)
        value_terms += [c * d for c, d in zip(dv, delta, strict=True) if c]
        if q in daily:
            w = daily[q].weight
            scaled = _increments([w * float(v) for v in tb.answered], s_scale)
            answered[q] += [c * d for c, d in zip(scaled, delta, strict=True) if c]
            answered[q].append(round(w * float(tb.answered[0]) * s_scale))
    for q, queue in daily.items():
        assert queue.daily_service_level is not None
        target = round(queue.weight * queue.daily_service_level * sum(queue.forecast) * s_scale)
        bound = target + 1
        short_d = m.new_int_var(0, bound, f"D_{q}")
        m.add(short_d >= target - sum(answered[q]))
        short_terms.append(short_d)
    for a, agent in enumerate(scenario.agents):
        if agent.optional and agent.cost:
            value_terms.append(-round(agent.cost * agent.available_intervals * v_scale) * z[a])
    penalty = round(scenario.policy.switch_penalty * v_scale)
    if penalty:
        for a, agent in enumerate(scenario.agents):
            skills = sorted(qidx[s] for s in agent.skills)
            if len(skills) < 2:
                continue
            for t in range(T - 1):
                if not (agent.available[t] and agent.available[t + 1]):
                    continue
                sw = m.new_bool_var(f"sw_{a}_{t}")
                nxt = [x[(a, q, t + 1)] for q in skills]
                for q in skills:
                    m.add(sw >= x[(a, q, t)] + sum(nxt) - x[(a, q, t + 1)] - 1)
                value_terms.append(-penalty * sw)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = threads
    shortfall = sum(short_terms)
    deadline = started + time_limit_s
    statuses = []
    values: dict[int, int] = {}  # level 1's plan: kept if level 2 finds nothing in time
    t1 = time.monotonic()
    if short_terms:
        m.minimize(shortfall)
        solver.parameters.max_time_in_seconds = max(deadline - time.monotonic(), 0.01)
        solver.parameters.absolute_gap_limit = max(0.5e-7 * s_scale, 0.5)
        solver.parameters.relative_gap_limit = 1e-9
        st1 = solver.solve(m)
        statuses.append(st1)
        if st1 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RuntimeError(f"straightforward level 1: {STATUS.get(st1, st1)}")
        m.add(shortfall <= round(solver.objective_value))
        for var in list(x.values()) + list(z.values()):
            values[var.index] = solver.value(var)
            m.add_hint(var, values[var.index])
    level1_s = time.monotonic() - t1
    t2 = time.monotonic()
    m.maximize(sum(value_terms))
    solver.parameters.max_time_in_seconds = max(deadline - time.monotonic(), 0.01)
    solver.parameters.absolute_gap_limit = 1e-6 * v_scale
    solver.parameters.relative_gap_limit = mip_gap
    st2 = solver.solve(m)
    statuses.append(st2)
    if st2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for var in list(x.values()) + list(z.values()):
            values[var.index] = solver.value(var)
    elif not values or st2 != cp_model.UNKNOWN:
        raise RuntimeError(f"straightforward level 2: {STATUS.get(st2, st2)}")
    level2_s = time.monotonic() - t2

    called = tuple(
        agent.id for a, agent in enumerate(scenario.agents) if agent.optional and values[z[a].index]
    )
    decision: dict[tuple[str, int], str | None] = {}
    for agent in scenario.agents:
        if agent.optional and agent.id not in called:
            continue
        for t in range(T):
            if agent.available[t]:
                decision[(agent.id, t)] = None
    for (a, q, t), var in x.items():
        if values[var.index]:
            decision[(scenario.agents[a].id, t)] = scenario.queues[q].id
    status = "optimal" if all(s == cp_model.OPTIMAL for s in statuses) else "feasible"
    return StraightResult(
        status=status,
        decision=decision,
        called_in=called,
        wall_s=time.monotonic() - started,
        level1_s=level1_s,
        level2_s=level2_s,
        variables=len(m.proto.variables),
        shortfall_scale=s_scale,
        value_scale=v_scale,
        rounding_shortfall=(2 * n_cells + len(daily)) * 0.5 / s_scale,
        rounding_value=(n_cells + len(z)) * 0.5 / v_scale,
    )
