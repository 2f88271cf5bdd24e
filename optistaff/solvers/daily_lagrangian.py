"""Daily minimums by Lagrangian multipliers (``models/11-daily-lagrangian.md``).

Level 1 with daily minimums is, in CP-SAT's scaled units (``cpsat.shortfall_expr``),

    S(n) = Σ_{q,t} ΔS_qt(n_qt) + Σ_{q daily} max(0, R_q − Σ_t a_qt(n_qt)),

ΔS the per-interval shortfall table less its n = 0 value, a the weighted answered calls,
R the scaled daily target. For θ_q ∈ [0, 1], max(0, R − A) ≥ θ·(R − A), so

    S(n) ≥ Σ_t min_{n_t} Σ_q (ΔS_qt − θ_q·a_qt)(n_qt) + Σ_q θ_q·R_q =: L(θ)

for every plan: each interval is then independent, a one-interval problem with shifted
tables that the exact interval search solves (its proven level-1 bound keeps L(θ)
valid when it stops early). Every θ gives a lower bound on level 1's optimum and a plan
for the whole horizon (the intervals' plans together), which is scored with the true
S. The multipliers follow projected subgradient steps (Polyak's rule towards the best
plan's S). θ is a multiple of 1/K so the tables stay integral.

Used for what it gives, not as the answer: its best plan seeds the horizon model (or is
the answer when no horizon model fits the time), and its best bound is a valid floor
for level 1 there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock, interval_search

# θ's resolution: multipliers are m/K, m = 0..K
K = 256

#: How the multipliers move between rounds (note 11): "box", the box-step cutting planes
#: over every plan seen; "polyak", the projected subgradient step.
MULTIPLIERS = "box"
# nodes per level for each interval solve (a bound stays valid when the search stops)
_NODES = 8


@dataclass
class DailyTables:
    """The scaled integer tables of level 1 that the multipliers touch."""

    rhs: dict[int, int]  # daily queue -> R_q (cells nobody can work already taken off)
    answered: dict[tuple[int, int], np.ndarray]  # (q, t) -> a_qt(n), cells with agents
    shortfall: dict[tuple[int, int], np.ndarray]  # (q, t) -> ΔS_qt(n), cells with agents
    value: dict[tuple[int, int], np.ndarray]  # (q, t) -> ΔV_qt(n), cells with agents


def daily_tables(p: AllocationProblem, short_scale: float, value_scale: float) -> DailyTables:
    """The tables as ``cpsat`` rounds them (``add_daily_minimums``, ``scaled_terms``)."""
    rhs: dict[int, int] = {}
    answered: dict[tuple[int, int], np.ndarray] = {}
    shortfall: dict[tuple[int, int], np.ndarray] = {}
    value: dict[tuple[int, int], np.ndarray] = {}
    for (q, t), cell in p.tables.items():
        if cell.max_agents == 0:
            continue
        s = np.rint(cell.shortfall * short_scale).astype(np.int64)
        v = np.rint(cell.value * value_scale).astype(np.int64)
        shortfall[(q, t)] = s - s[0]
        value[(q, t)] = v - v[0]
    for q, target in p.daily.items():
        weight = p.scenario.queues[q].weight
        if weight == 0:
            continue
        r = round(short_scale * weight * target)
        for (cq, t), cell in p.tables.items():
            if cq != q:
                continue
            ints = np.rint(cell.answered * weight * short_scale).astype(np.int64)
            if cell.max_agents == 0:
                r -= int(ints[0])
            else:
                answered[(q, t)] = ints
        rhs[q] = r
    return DailyTables(rhs, answered, shortfall, value)


def staffing(counts: dict[tuple[int, int, int], int]) -> dict[tuple[int, int], int]:
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    return n


def deficits(tables: DailyTables, n: dict[tuple[int, int], int]) -> dict[int, int]:
    """R_q − Σ_t a_qt(n_qt) per daily queue (positive: the minimum is missed)."""
    got = dict.fromkeys(tables.rhs, 0)
    for (q, t), a in tables.answered.items():
        got[q] += int(a[n.get((q, t), 0)])
    return {q: tables.rhs[q] - got[q] for q in tables.rhs}


def level1(tables: DailyTables, n: dict[tuple[int, int], int]) -> int:
    """S(n), the scaled level-1 objective of a plan (CP-SAT's, constants left out)."""
    cells = sum(int(s[n.get(key, 0)]) for key, s in tables.shortfall.items())
    return cells + sum(max(0, d) for d in deficits(tables, n).values())


def cell_value(tables: DailyTables, n: dict[tuple[int, int], int]) -> int:
    return sum(int(v[n.get(key, 0)]) for key, v in tables.value.items())


@dataclass
class PricedRounds:
    """The best plan seen (by S, then cell value), its S, the best bound on S, the
    round that found the plan (0: the plan given) and the rounds run."""

    counts: dict[tuple[int, int, int], int]
    level1: int
    value: int
    bound: int | None
    found_in: int = 0
    rounds: int = 0
    #: the multipliers (×K) of the round that gave ``bound``, and that round's proven
    #: per-interval parts (K-scaled): for :func:`required_groups`
    multipliers: dict[int, int] | None = None
    parts: list[int] | None = None


def improve(
    p: AllocationProblem,
    short_scale: float,
    value_scale: float,
    value_consts: list[float],
    counts: dict[tuple[int, int, int], int],
    bounds: list[int] | None,
    *,
    mip_gap: float,
    deadline: float,
    threads: int,
    stop: Callable[[], bool] | None = None,
) -> PricedRounds:
    """Subgradient rounds from θ = 0, whose plan is ``counts`` (step 1's, one interval
    at a time) with per-interval level-1 bounds ``bounds`` (None: unknown). Stops at
    ``deadline``, when the bound meets the best plan, or when the step has shrunk away.
    ``value_consts``: each interval's value constant (objective units), for level 2's
    relative tolerance."""
    tables = daily_tables(p, short_scale, value_scale)
    T = p.n_intervals
    n0 = staffing(counts)
    best = PricedRounds(dict(counts), level1(tables, n0), cell_value(tables, n0), None)
    bound: int | None = sum(bounds) if bounds is not None else None
    best.bound = bound
    if not tables.rhs:
        return best
    data = [interval_search.interval_data(p, t, short_scale, value_scale) for t in range(T)]
    plans: list[dict[tuple[int, int, int], int]] = [
        {k: v for k, v in counts.items() if k[2] == t} for t in range(T)
    ]
    cells_at: list[list[tuple[int, int]]] = [[] for _ in range(T)]
    for key in tables.shortfall:
        cells_at[key[1]].append(key)
    theta = dict.fromkeys(tables.rhs, 0.0)
    # the bound's multipliers and parts: at θ = 0 the per-interval bounds (K-scaled)
    best_m: dict[int, int] | None = dict.fromkeys(tables.rhs, 0) if bounds is not None else None
    best_parts: list[int | None] | None = [K * b for b in bounds] if bounds is not None else None
    g = deficits(tables, n0)
    lb_now = bound
    step = 1.0
    stale = 0
    rounds = 0
    # the box-step cutting planes (note 11): every plan seen is a linear function of m,
    # K·cells + Σ_q m_q·g_q, above the dual function; the next m maximises their minimum
    # within a box around the best m so far
    planes = [(K * (level1(tables, n0) - sum(max(0, d) for d in g.values())), dict(g))]
    centre = dict.fromkeys(tables.rhs, 0)
    box = float(K) / 4
    m_prev: dict[int, int] | None = None
    while clock.now() < deadline and not (stop is not None and stop()):
        if bound is not None and best.level1 <= bound:
            break  # proven: the best plan attains the bound
        norm = sum(float(x) * float(x) for x in g.values())
        if norm == 0:
            break  # every daily target met exactly: the plans cannot say more
        m_next = _box_step(planes, centre, box) if MULTIPLIERS == "box" else None
        if m_next is not None:
            m = m_next
            if m == m_prev:
                break  # the box has shrunk to the point already priced
        else:  # Polyak's subgradient step
            gap = best.level1 - (lb_now if lb_now is not None else best.level1 - 1)
            alpha = step * max(gap, 1) / norm
            theta = {q: min(1.0, max(0.0, theta[q] + alpha * g[q])) for q in theta}
            m = {q: round(K * x) for q, x in theta.items()}
        m_prev = m

        def one(
            t: int,
            m: dict[int, int] = m,
            plans: list[dict[tuple[int, int, int], int]] = plans,
        ) -> tuple[dict[tuple[int, int, int], int], int | None]:
            if (stop is not None and stop()) or clock.now() >= deadline:
                # stopped (Ctrl-C) or out of time: the round ends at once (an interval's
                # search past the deadline would still cost its root relaxation, ~30 ms
                # on a 100-queue interval: a whole round's worth on a large center)
                return plans[t], None
            plan, lb = _interval(
                data[t],
                tables,
                m,
                short_scale,
                value_scale,
                value_consts[t],
                mip_gap,
                deadline,
                plans[t],
            )
            # the search stops at its node limit: on a 100-queue peak interval its plan
            # can be worse, and its bound weaker, than what is known already (note 11,
            # "Kept when better")
            if bounds is not None:
                lb = max(lb, K * bounds[t] - _most_gain(tables, m, cells_at[t]))
            if _shifted(tables, m, cells_at[t], plans[t]) < _shifted(tables, m, cells_at[t], plan):
                plan = plans[t]
            return plan, lb

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            got = list(pool.map(clock.carried(one), range(T)))
        # (a round cut short is dropped: its intervals' plans at different θ's)
        if any(lb is None for _, lb in got):
            break
        rounds += 1
        plans = [c for c, _ in got]
        merged = {k: v for c in plans for k, v in c.items()}
        n = staffing(merged)
        s = level1(tables, n)
        v = cell_value(tables, n)
        lb_k = sum(lb for _, lb in got if lb is not None)
        lb_k += sum(m[q] * tables.rhs[q] for q in m)
        lb_k -= sum(m[q] * int(a[0]) for (q, _t), a in tables.answered.items() if m.get(q, 0))
        lb = math.ceil(lb_k / K)
        improved = raised = False
        if bound is None or lb > bound:
            bound, improved, raised = lb, True, True
            best_m, best_parts = dict(m), [lb_t for _, lb_t in got]
        lb_now = lb
        if s < best.level1 or (s == best.level1 and v > best.value):
            best = PricedRounds(merged, s, v, bound, rounds)
            improved = True
        g = deficits(tables, n)
        planes.append((K * (s - sum(max(0, d) for d in g.values())), dict(g)))
        if MULTIPLIERS == "box":
            if raised:  # a new best bound: the box moves there, wider
                centre, box = dict(m), min(float(K), 2 * box)
            else:
                box /= 2
                if box < 0.5:
                    break
            continue
        stale = 0 if improved else stale + 1
        if stale >= 2:
            step, stale = step / 2, 0
            if step < 1e-3:
                break
    best.bound, best.rounds = bound, rounds
    proven_parts = best_parts is not None and all(x is not None for x in best_parts)
    if best_m is not None and best_parts is not None and proven_parts:
        best.multipliers = best_m
        best.parts = [int(x) for x in best_parts if x is not None]
    return best


def _shifted(
    tables: DailyTables,
    m: dict[int, int],
    cells: list[tuple[int, int]],
    counts: dict[tuple[int, int, int], int],
) -> int:
    """Σ over ``cells`` (one interval's) of K·ΔS − m_q·Δa at the staffing of ``counts``:
    what the round's interval search minimises."""
    n = staffing(counts)
    total = 0
    for key in cells:
        k = n.get(key, 0)
        total += K * int(tables.shortfall[key][k])
        a = tables.answered.get(key)
        if a is not None and m.get(key[0], 0):
            total -= m[key[0]] * int(a[k] - a[0])
    return total


def _most_gain(tables: DailyTables, m: dict[int, int], cells: list[tuple[int, int]]) -> int:
    """Σ over ``cells`` of m_q·(a_max − a_0): the most that the multipliers can take off
    an interval's least K·ΔS (so K·S_t* less this bounds the shifted interval)."""
    total = 0
    for key in cells:
        a = tables.answered.get(key)
        if a is not None and m.get(key[0], 0):
            total += m[key[0]] * int(a[-1] - a[0])
    return total


def _box_step(
    planes: list[tuple[int, dict[int, int]]], centre: dict[int, int], box: float
) -> dict[int, int] | None:
    """The multipliers m (integers in [0, K]) within ``box`` of ``centre`` that maximise
    min over ``planes`` of c + Σ_q m_q·g_q (GLOP; None when it fails)."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    qs = sorted(centre)
    scale = max(1.0, max(abs(c) for c, _ in planes))
    m = {
        q: solver.NumVar(max(0.0, centre[q] - box), min(float(K), centre[q] + box), f"m{q}")
        for q in qs
    }
    psi = solver.NumVar(-solver.infinity(), solver.infinity(), "psi")
    for c, g in planes:  # ψ ≤ (c + Σ m·g) / scale
        solver.Add(psi * scale <= c + sum(g[q] * m[q] for q in qs))
    solver.Maximize(psi)
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return {q: min(K, max(0, round(m[q].solution_value()))) for q in qs}


def level1_floor(
    p: AllocationProblem,
    short_scale: float,
    value_scale: float,
    value_consts: list[float],
    rounds: PricedRounds,
    counts: dict[int, int],
    *,
    mip_gap: float,
    deadline: float,
) -> int | None:
    """A proven lower bound on level 1 (scaled, as ``rounds.level1``) over the plans that
    call in only ``counts[g]`` members of each optional group g given: the bound's
    multipliers θ* of ``rounds``, the intervals where none of those groups is available
    keeping the round's proven parts, the others searched again with the groups cut
    down. None when the rounds kept no multipliers."""
    if rounds.multipliers is None or rounds.parts is None:
        return None
    tables = daily_tables(p, short_scale, value_scale)
    m = rounds.multipliers
    total = sum(m[q] * tables.rhs[q] for q in m)
    total -= sum(m[q] * int(a[0]) for (q, _t), a in tables.answered.items() if m.get(q, 0))
    fewer = tuple(
        replace(h, members=h.members[: counts[h.index]]) if h.index in counts else h
        for h in p.groups
    )
    p_fewer = replace(p, groups=fewer)
    for t in range(p.n_intervals):
        if not any(p.groups[g].available[t] for g in counts):
            total += rounds.parts[t]
            continue
        data = interval_search.interval_data(p_fewer, t, short_scale, value_scale)
        _plan, lb = _interval(
            data, tables, m, short_scale, value_scale, value_consts[t], mip_gap, deadline, {}
        )
        total += lb
    return math.ceil(total / K)


def level1_tolerance(rounds: PricedRounds, short_scale: float) -> int:
    """The contract's level-1 tolerance (models/00-contract.md) at ``rounds.level1``, in
    scaled units."""
    s_star = abs(rounds.level1) / max(short_scale, 1e-300)
    return math.ceil(max(1e-7, 1e-9 * s_star) * short_scale)


def required_groups(
    p: AllocationProblem,
    short_scale: float,
    value_scale: float,
    value_consts: list[float],
    rounds: PricedRounds,
    *,
    mip_gap: float,
    deadline: float,
) -> set[int]:
    """Optional groups whose every member level 1 needs, with daily minimums
    (``models/11-daily-lagrangian.md``, *Required overtime*).

    Level 1's optimum S* is at most the rounds' best plan's level 1 S_b. So
    :func:`level1_floor` with one member fewer of an optional group g above S_b + the
    contract's level-1 tolerance proves that every plan with level 1 at most that, every
    lexicographic optimum among them, calls in all of g, whether or not the rounds proved
    S* (where they did, S_b = S*). Groups not shown so are left undecided (an empty set
    is always right)."""
    if rounds.multipliers is None or rounds.parts is None or rounds.bound is None:
        return set()
    limit = rounds.level1 + level1_tolerance(rounds, short_scale)
    required: set[int] = set()
    for group in p.groups:
        if not group.optional or group.called_in_by_pin or group.size == 0:
            continue
        if clock.now() >= deadline:
            break  # only what is proven counts
        floor = level1_floor(
            p,
            short_scale,
            value_scale,
            value_consts,
            rounds,
            {group.index: group.size - 1},
            mip_gap=mip_gap,
            deadline=deadline,
        )
        if floor is not None and floor > limit:
            required.add(group.index)
    return required


def _interval(
    data: interval_search.IntervalData,
    tables: DailyTables,
    m: dict[int, int],
    short_scale: float,
    value_scale: float,
    value_const: float,
    mip_gap: float,
    deadline: float,
    fallback: dict[tuple[int, int, int], int],
) -> tuple[dict[tuple[int, int, int], int], int]:
    """Interval ``data.t`` with tables K·ΔS − m_q·Δa: its plan and a proven lower bound
    on min Σ (K·ΔS − m_q·Δa) (K-scaled, n = 0 values off)."""
    t = data.t
    shifted = []
    for c, q in enumerate(data.queues):
        s = K * data.shortfall[c]
        a = tables.answered.get((q, t))
        if a is not None and m.get(q, 0):
            s = s - m[q] * (a - a[0])
        shifted.append(s)
    d = replace(data, shortfall=shifted)
    scaled = short_scale * K
    plan = interval_search.lexicographic(
        d,
        short_tol=max(1, math.ceil(0.5e-7 * scaled)),
        abs_gap=max(1, math.ceil(1e-6 * value_scale)),
        mu=max(1, math.ceil(interval_search.MU * value_scale / scaled)),
        mip_gap=mip_gap,
        value_offset=value_const * value_scale,
        deadline=deadline,
        node_limit=_NODES,
    )
    if plan is not None:
        return plan.counts, plan.short_bound
    # level 2 could not hold level 1 (or the flow failed): level 1's plan alone
    found = interval_search.maximise(
        d, [-s for s in shifted], 1, node_limit=_NODES, deadline=deadline
    )
    if found is not None:
        return interval_search.plan_counts(d, found.flows), -found.bound_floor()
    lo = d.pins
    trivial = sum(int(np.min(s[int(lo[c]) :])) for c, s in enumerate(shifted))
    return fallback, trivial
