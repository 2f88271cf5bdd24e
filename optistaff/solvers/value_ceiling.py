"""A ceiling on level 2 with daily minimums, by pricing level 1
(``models/11-daily-lagrangian.md``, "A level-2 ceiling").

Every lexicographic optimum x* has level 1 S(x*) = S* ≤ S_cap, the level 1 of any plan
at hand (plus the contract's tolerance). Level 2 of x* is at most its cell value V(x*)
less the cost of the overtime every level-1 optimum calls in (``required``). In the
scaled units of note 06 (ΔV value cells, ΔS shortfall cells, a answered calls and R the
daily targets of note 11), for integers m ≥ 0 and 0 ≤ r_q ≤ m, since
max(0, R_q − A_q) ≥ (r_q/m)(R_q − A_q):

  K·V(x) ≤ K·V(x) + m·(S_cap − S(x))
         ≤ m·S_cap − Σ_q r_q·R_q + Σ_t Σ_cells (K·ΔV − m·ΔS + r_q·a)(n_qt)

for every plan x with S(x) ≤ S_cap, so

  K·V(x*) ≤ B(m, r) = m·S_cap − Σ_q r_q·R_q + Σ_t U_t(m, r),

U_t a proven upper bound on interval t's max Σ_cells (K·ΔV − m·ΔS + r·a) − K·C_t: the
exact interval search (note 10) on those tables, every optional agent available, its
bound valid when its node limit or the deadline stops it. C_t prices the overtime not
known to be required: each member of such a group placed in interval t costs its share
w_gt of the member's cost there (an edge price of the search; w ≥ 0 sums to the cost over
the intervals the group is available, :class:`_Split`). A member called in pays the whole
cost, placed or not, so Σ_t C_t(x) is at most what x pays for those groups; the
required groups' cost, paid whole by every optimum, is taken off separately and their
members are free in the searches. At m = 0 and without overtime
this is the best value regardless of shortfall (the bound the strategy had); a price on
shortfall takes off the value that no plan of level 1's optimum can keep, the price on
overtime the value that does not pay for the agent.

The multipliers minimise B over the points tried: Kelley's cutting planes with a box
step, as for the daily minimums (every plan x a search returns is a linear function of
(m, r) below B: K·(V(x) − C(x)) + m·(S_cap − ΔS(x)) + Σ_q r_q·(A_q(x) − R_q)), m ∈ [0, M·K],
μ = m/K value units per unit of weighted shortfall (after the scales).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock, interval_search
from optistaff.solvers.daily_lagrangian import DailyTables, daily_tables

#: Resolution of the price of shortfall: μ = m / K.
K = 64
#: The largest price tried, in value units per unit of weighted shortfall (scaled).
MAX_PRICE = 64.0
#: Nodes per interval search (a bound stays valid when the search stops).
NODES = 8
#: Evaluations of B at most.
ROUNDS = 30
#: The first price tried (value units per unit of weighted shortfall, after the scales):
#: the rounds on generated 2,000-agent centers settled at 7.2 (shortage) and 13.5.
START_PRICE = 8.0
#: The overtime split's first step (× the cost per interval per member placed above the
#: group's mean) and its decay per round.
STEP = 1.0
DECAY = 0.8


@dataclass(frozen=True)
class ValueCeiling:
    """The least B found (objective units: value less the required overtime's cost),
    the price m/K and the rounds run."""

    ceiling: float
    price: float
    rounds: int


def priced_ceiling(
    p: AllocationProblem,
    short_scale: float,
    value_scale: float,
    value_constant: float,
    s_cap: int,
    required_cost: float,
    *,
    threads: int,
    deadline: float,
    theta: dict[int, float] | None = None,
    stop: Callable[[], bool] | None = None,
    required: set[int] | None = None,
) -> ValueCeiling | None:
    """min B(m, r) over the rounds (module docstring). ``s_cap``: a plan's scaled level
    1 (``daily_lagrangian.level1``) plus the tolerance; ``value_constant``: the value of
    every cell at n = 0 (objective units); ``required_cost``: the cost (objective units)
    every plan of level 1's optimum pays, that of the optional groups ``required`` (the
    others are priced per interval placed); ``theta``: the level-1 rounds' multipliers
    θ_q ∈ [0, 1], where the first point starts. None when no daily minimum weighs
    anything (nothing to price) or no round ended before ``deadline``."""
    tables = daily_tables(p, short_scale, value_scale)
    if not tables.rhs or short_scale <= 0:
        return None
    T = p.n_intervals
    data = [interval_search.interval_data(p, t, short_scale, value_scale) for t in range(T)]
    split = _Split(p, K * value_scale, required or set())
    prices = [split.prices(d) for d in data]
    qs = sorted(tables.rhs)
    # μ = (m/K)·(short_scale/value_scale) value units per unit of weighted shortfall
    top = max(1, int(MAX_PRICE * K * value_scale / short_scale))
    best: tuple[int, int] | None = None  # (B, m)
    # per plan: K·V, its overtime placed per (group, interval), slope in m, slopes in r
    seen: list[tuple[int, dict[tuple[int, int], int], int, dict[int, int]]] = []
    # the first point: a price of START_PRICE (m = 0 is the best value regardless of
    # shortfall, which the strategy has already), the daily queues' shares θ from the
    # level-1 rounds (note 11): r_q = θ_q·m
    m0 = min(top, max(1, round(START_PRICE * K * value_scale / short_scale)))
    theta = theta or {}
    point: tuple[int, dict[int, int]] = (m0, {q: round(theta.get(q, 0.0) * m0) for q in qs})
    centre = point
    box = top / 4
    rounds = 0
    tried: set[tuple[int, int, tuple[int, ...]]] = set()
    while rounds < ROUNDS and clock.now() < deadline and not (stop is not None and stop()):
        m, r = point
        key = (split.version, m, tuple(r[q] for q in qs))
        if key in tried:
            break
        tried.add(key)
        got = _round(data, prices, tables, m, r, threads, deadline, stop)
        if got is None:
            break
        rounds += 1
        bound_sum, plans, used = got
        b = m * s_cap - sum(r[q] * tables.rhs[q] for q in qs) + bound_sum
        if best is None or b < best[0]:
            best = (b, m)
            centre, box = (m, dict(r)), min(float(top), 2 * box)
        else:
            box /= 2
            if box < 0.5:
                break
        # the plane of the plans found: K·V(x) + m·(S_cap − ΔS(x)) + Σ r_q (A_q(x) − R_q)
        n = {(q, t): k for t, plan in enumerate(plans) for (q, k) in plan.items()}
        v = sum(int(tab[n.get(key2, 0)]) for key2, tab in tables.value.items())
        s = sum(int(tab[n.get(key2, 0)]) for key2, tab in tables.shortfall.items())
        got_a = dict.fromkeys(qs, 0)
        for (q, t), a in tables.answered.items():
            got_a[q] += int(a[n.get((q, t), 0)])
        seen.append((K * v, used, s_cap - s, {q: got_a[q] - tables.rhs[q] for q in qs}))
        # the overtime's cost moves to where the plans place it (any split is a bound)
        if split.step(used):
            prices = [split.prices(d) for d in data]
        planes = [(kv - split.paid(u), sm, g) for kv, u, sm, g in seen]
        nxt = _next_point(planes, centre, box, top, qs)
        if nxt is None:
            break
        point = nxt
    if best is None:
        return None
    ceiling = best[0] / (K * value_scale) + value_constant - required_cost
    return ValueCeiling(ceiling, best[1] / K * short_scale / value_scale, rounds)


class _Split:
    """The cost of the overtime not known to be required, split over the intervals
    (objective units per member per interval): w_gt ≥ 0, Σ_t w_gt = the member's cost,
    over the intervals t where group g is available. A member called in pays the whole
    sum, so placing it in t at a price of w_gt never costs more than it does. Starts at
    the cost per interval; each round moves cost towards the intervals where the round's
    plans placed the group (a projected subgradient step on B: its slope in w_gt is
    −K·(members placed in t))."""

    def __init__(self, p: AllocationProblem, scale: float, required: set[int]) -> None:
        self.scale = scale
        self.version = 0
        self.step_size = STEP
        self.groups = {
            g.index: g
            for g in p.groups
            if g.optional and g.index not in required and g.cost_per_interval > 0 and g.size
        }
        self.avail = {
            i: [t for t, ok in enumerate(g.available) if ok] for i, g in self.groups.items()
        }
        self.w = {
            i: np.full(len(self.avail[i]), g.cost_per_interval) for i, g in self.groups.items()
        }
        self.pos = {i: {t: k for k, t in enumerate(ts)} for i, ts in self.avail.items()}

    def price(self, g: int, t: int) -> int:
        """A member of g placed in t (scaled, rounded down: a lower price only raises B)."""
        return int(self.scale * float(self.w[g][self.pos[g][t]]))

    def prices(self, d: interval_search.IntervalData) -> np.ndarray | None:
        """Per (group, cell) edge of interval ``d``; None when no edge has a price."""
        t = d.t
        cost = np.array(
            [
                self.price(g, t) if g in self.groups else 0
                for g in (d.groups[int(e)] for e in d.edge_group)
            ],
            dtype=np.int64,
        )
        return cost if bool(np.any(cost)) else None

    def paid(self, used: dict[tuple[int, int], int]) -> int:
        return sum(self.price(g, t) * k for (g, t), k in used.items() if g in self.groups)

    def step(self, used: dict[tuple[int, int], int]) -> bool:
        """Cost towards where ``used`` places each group; True when some w moved."""
        moved = False
        for i, g in self.groups.items():
            u = np.array([used.get((i, t), 0) for t in self.avail[i]], dtype=float) / g.size
            if u.size < 2 or float(u.max() - u.min()) == 0.0:
                continue
            w = self.w[i] + self.step_size * g.cost_per_interval * (u - u.mean())
            self.w[i] = _onto_simplex(w, g.cost_per_interval * u.size)
            moved = True
        if moved:
            self.version += 1
            self.step_size *= DECAY
        return moved


def _onto_simplex(w: np.ndarray, total: float) -> np.ndarray:
    """The Euclidean projection of ``w`` onto {x ≥ 0, Σ x = total}."""
    u = np.sort(w)[::-1]
    c = np.cumsum(u) - total
    k = np.arange(1, w.size + 1)
    rho = int(np.nonzero(u - c / k > 0)[0][-1])
    theta = c[rho] / (rho + 1)
    out = np.maximum(w - theta, 0.0)
    # (rounding: keep the sum at most the cost, so the split never charges more)
    excess = float(out.sum()) - total
    if excess > 0:
        out *= total / float(out.sum())
    return out


def _round(
    data: list[interval_search.IntervalData],
    prices: list[np.ndarray | None],
    tables: DailyTables,
    m: int,
    r: dict[int, int],
    threads: int,
    deadline: float,
    stop: Callable[[], bool] | None,
) -> tuple[int, list[dict[int, int]], dict[tuple[int, int], int]] | None:
    """Σ_t U_t(m, r) (the r·a[0] constants included), each interval's plan (staffing
    per queue) and the members it places of each priced group, per (group, interval);
    None when out of time."""

    def one(
        d: interval_search.IntervalData, price: np.ndarray | None
    ) -> tuple[int, dict[int, int], dict[tuple[int, int], int]] | None:
        if (stop is not None and stop()) or clock.now() >= deadline:
            return None
        t = d.t
        cells = []
        constant = 0
        for c, q in enumerate(d.queues):
            f = K * d.value[c] - m * d.shortfall[c]
            a = tables.answered.get((q, t))
            if a is not None and r.get(q, 0):
                f = f + r[q] * (a - a[0])
                constant += r[q] * int(a[0])
            cells.append(f)
        found = interval_search.maximise(
            d, cells, 1, node_limit=NODES, deadline=deadline, edge_cost=price
        )
        if found is None:  # the relaxation failed: every cell at its best (a bound)
            lo = d.pins
            top = sum(int(np.max(f[int(lo[c]) :])) for c, f in enumerate(cells))
            return top + constant, {}, {}
        n = {q: int(found.n[c]) for c, q in enumerate(d.queues)}
        used: dict[tuple[int, int], int] = {}
        if price is not None:
            per = np.bincount(d.edge_group, weights=found.flows, minlength=len(d.groups))
            for pos in np.flatnonzero(per).tolist():
                used[(d.groups[pos], t)] = int(per[pos])
        return -(-found.bound_num // found.resolution) + constant, n, used

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        got = list(pool.map(clock.carried(one), data, prices))
    if any(g is None for g in got):
        return None
    parts = [g for g in got if g is not None]
    # cells with no agents possible (no literal) keep their n = 0 answered in R already
    used = {k: v for *_x, u in parts for k, v in u.items()}
    return sum(b for b, _n, _u in parts), [n for _b, n, _u in parts], used


def _next_point(
    planes: list[tuple[int, int, dict[int, int]]],
    centre: tuple[int, dict[int, int]],
    box: float,
    top: int,
    qs: list[int],
) -> tuple[int, dict[int, int]] | None:
    """(m, r) within ``box`` of ``centre``, 0 ≤ r_q ≤ m ≤ top, minimising the largest
    plane (an LP, GLOP; integers after rounding; None when it fails)."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    c_m, c_r = centre
    scale = max(1.0, max(abs(c) for c, _s, _g in planes))
    m = solver.NumVar(max(0.0, c_m - box), min(float(top), c_m + box), "m")
    r = {
        q: solver.NumVar(max(0.0, c_r[q] - box), min(float(top), c_r[q] + box), f"r{q}") for q in qs
    }
    psi = solver.NumVar(-solver.infinity(), solver.infinity(), "psi")
    for q in qs:
        solver.Add(r[q] <= m)
    for c, sm, g in planes:
        solver.Add(psi * scale >= c + sm * m + sum(g[q] * r[q] for q in qs))
    solver.Minimize(psi)
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    mv = min(top, max(0, round(m.solution_value())))
    return mv, {q: min(mv, max(0, round(r[q].solution_value()))) for q in qs}
