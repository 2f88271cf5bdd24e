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

import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock, interval_search
from optistaff.solvers.daily_lagrangian import DailyTables, daily_tables

P = ParamSpec("P")

#: Resolution of the price of shortfall: μ = m / K.
K = 64
#: The largest price tried, in value units per unit of weighted shortfall (scaled).
MAX_PRICE = 64.0
#: Nodes per interval search (a bound stays valid when the search stops).
NODES = 8
#: Value units (before the scales) within which each search may stop.
TOLERANCE = 1e-6
#: Evaluations of B at most.
ROUNDS = 30
#: The first price tried (value units per unit of weighted shortfall, after the scales):
#: the rounds on generated 2,000-agent centers settled at 7.2 (shortage) and 13.5.
START_PRICE = 8.0
#: The overtime split's first step (× the cost per interval per member placed above the
#: group's mean) and its decay per round.
STEP = 1.0
DECAY = 0.8
#: The switching multipliers' steps: Polyak's γ to start with, halved after this many
#: rounds without a lower B, and the least γ taken.
SWITCH_STEP = 4.0
SWITCH_PATIENCE = 3
SWITCH_STEP_LEAST = 1e-3
#: Where the switching multipliers start: β = this (a_q = β where q loses members) on the
#: transitions where the plan at hand switches, 0 elsewhere.
SWITCH_START = 1.0
#: The share of the last direction kept in the next (a deflected subgradient: less zigzag).
SWITCH_DEFLECT = 0.8


@dataclass(frozen=True)
class ValueCeiling:
    """The least B found (objective units: value less the required overtime's cost),
    the price m/K and the rounds run."""

    ceiling: float
    price: float
    rounds: int


def ceiling_rounds(
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
    switching: Mapping[tuple[int, int, int], int] | None = None,
    rounds_at_most: int = ROUNDS,
    caps: Mapping[int, int] | None = None,
    target: float | None = None,
) -> Iterator[ValueCeiling]:
    """min B(m, r) over the rounds so far (module docstring), after each round.

    ``s_cap``: a plan's scaled level 1 (``daily_lagrangian.level1``) plus the tolerance;
    ``value_constant``: the value of every cell at n = 0 (objective units);
    ``required_cost``: the cost (objective units) every plan of level 1's optimum pays,
    that of the optional groups ``required`` (the others are priced per interval
    placed); ``theta``: the level-1 rounds' multipliers θ_q ∈ [0, 1], where the first
    point starts. ``caps``: each interval's scaled level 1 (ΔS) at most that in every
    lexicographic optimum (level 1 at its floor, note 05): each interval is then priced
    at its own cap instead (m = K·μ large, as the interval search's level 2 does, r = 0:
    B = Σ_t (m·cap_t + U_t(m, 0))), and only the overtime's and the switches'
    multipliers move. ``switching``: price the least switches too (:class:`_Switches`);
    ``p`` must then be the problem whose groups keep agents' identity, and the counts
    given ((group, queue, interval) -> members, a plan of ``p``) are where its
    multipliers start; ``target``: that plan's objective (objective units), towards
    which they step (without it they stay at the start). Nothing when no daily minimum
    weighs anything (nothing to price).
    """
    tables = daily_tables(p, short_scale, value_scale)
    if (not tables.rhs and caps is None) or short_scale <= 0:
        return
    T = p.n_intervals
    data = [interval_search.interval_data(p, t, short_scale, value_scale) for t in range(T)]
    split = _Split(p, K * value_scale, required or set())
    switches = (
        _Switches(p, K * value_scale, switching)
        if switching is not None and p.scenario.policy.switch_penalty > 0
        else None
    )

    def edge_prices() -> list[np.ndarray | None]:
        return [
            _sum_prices(split.prices(d), None if switches is None else switches.prices(d))
            for d in data
        ]

    prices = edge_prices()
    tol = K * max(1, math.ceil(TOLERANCE * value_scale))
    target_scaled = (
        None if target is None else (target - value_constant + required_cost) * K * value_scale
    )
    qs = sorted(tables.rhs) if caps is None else []
    # μ = (m/K)·(short_scale/value_scale) value units per unit of weighted shortfall
    top = max(1, int(MAX_PRICE * K * value_scale / short_scale))
    best: tuple[int, int, dict[int, int]] | None = None  # (B, m, r)
    # per plan: K·V, its members placed per (group, queue, interval), slope in m, slopes
    # in r
    seen: list[tuple[int, dict[tuple[int, int, int], int], int, dict[int, int]]] = []
    # the first point: a price of START_PRICE (m = 0 is the best value regardless of
    # shortfall, which the strategy has already), the daily queues' shares θ from the
    # level-1 rounds (note 11): r_q = θ_q·m
    m0 = min(top, max(1, round(START_PRICE * K * value_scale / short_scale)))
    theta = theta or {}
    point: tuple[int, dict[int, int]] = (m0, {q: round(theta.get(q, 0.0) * m0) for q in qs})
    capped = 0
    if caps is not None:  # each interval at its own cap: level 2 of the interval search
        m_big = K * max(1, math.ceil(interval_search.MU * value_scale / short_scale))
        point, capped = (m_big, {}), m_big * sum(caps.get(t, 0) for t in range(T))
    centre = point
    box = top / 4
    rounds = 0
    starts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    tabled: tuple[tuple[int, dict[int, int]], list[tuple[list[np.ndarray], int]]] | None = None
    tried: set[tuple[int, int, int, tuple[int, ...]]] = set()
    while rounds < rounds_at_most and clock.now() < deadline and not (stop is not None and stop()):
        m, r = point
        versions = (split.version, switches.version if switches is not None else 0)
        key = (*versions, m, tuple(r[q] for q in qs))
        if key in tried:
            break
        tried.add(key)
        if tabled is None or tabled[0] != (m, r):
            tabled = ((m, dict(r)), [_cells(d, tables, m, r) for d in data])
        got = _round(data, prices, tables, m, r, threads, deadline, stop, tol, tabled[1], starts)
        if got is None:
            break
        rounds += 1
        bound_sum, plans, placed = got
        if caps is None:
            b = m * s_cap - sum(r[q] * tables.rhs[q] for q in qs) + bound_sum
        else:
            b = capped + bound_sum
        if switches is not None:
            b += switches.constant()
        improved = best is None or b < best[0]
        if improved:
            best = (b, m, dict(r))
            centre, box = (m, dict(r)), min(float(top), 2 * box)
        else:
            box /= 2
        assert best is not None
        ceiling = best[0] / (K * value_scale) + value_constant - required_cost
        price = best[1] / K * short_scale / value_scale
        yield ValueCeiling(ceiling, price, rounds)
        # the plane of the plans found: K·V(x) + m·(S_cap − ΔS(x)) + Σ r_q (A_q(x) − R_q)
        n = {(q, t): k for t, plan in enumerate(plans) for (q, k) in plan.items()}
        v = sum(int(tab[n.get(key2, 0)]) for key2, tab in tables.value.items())
        s = sum(int(tab[n.get(key2, 0)]) for key2, tab in tables.shortfall.items())
        got_a = dict.fromkeys(qs, 0)
        for (q, t), a in tables.answered.items():
            if q in got_a:
                got_a[q] += int(a[n.get((q, t), 0)])
        if caps is None:  # (with caps the price of level 1 stays: no planes needed)
            seen.append((K * v, placed, s_cap - s, {q: got_a[q] - tables.rhs[q] for q in qs}))
        # the overtime's cost moves to where the plans place it (any split is a bound), the
        # switches' multipliers to where the plans switch (any in their polytope is one)
        moved = split.step(_by_group(placed, split.groups))
        if switches is not None:
            excess = None if target_scaled is None else b - target_scaled
            moved = switches.step(placed, excess, improved) or moved
        if moved:
            prices = edge_prices()

        def paid(u: dict[tuple[int, int, int], int]) -> int:
            price = split.paid(_by_group(u, split.groups))
            if switches is not None:
                price += switches.paid(u) - switches.constant()
            return price

        if box < 0.5 and caps is None and switches is None:
            break  # (the price of level 1 has settled)
        if box < 0.5 or caps is not None:
            if not moved:
                break
            point = centre  # (the price of level 1 stays; the other multipliers move)
            continue
        planes = [(kv - paid(u), sm, g) for kv, u, sm, g in seen]
        nxt = _next_point(planes, centre, box, top, qs)
        if nxt is None:
            break
        point = nxt


def _last(rounds: Callable[P, Iterator[ValueCeiling]]) -> Callable[P, ValueCeiling | None]:
    def last(*args: P.args, **kwargs: P.kwargs) -> ValueCeiling | None:
        found: ValueCeiling | None = None
        for each in rounds(*args, **kwargs):
            found = each
        return found

    return last


#: :func:`ceiling_rounds` to the end: the least B found, None when no round ended before
#: the deadline (or nothing weighs).
priced_ceiling = _last(ceiling_rounds)


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
    tol: int = 1,
    tabled: list[tuple[list[np.ndarray], int]] | None = None,
    starts: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[int, list[dict[int, int]], dict[tuple[int, int, int], int]] | None:
    """Σ_t U_t(m, r) (the r·a[0] constants included), each interval's plan (staffing
    per queue) and the members it places per (group, queue, interval); None when out of
    time. Each search may end within ``tol`` of its bound: the bound is what counts, and
    its plan only guides the multipliers. ``tabled``: :func:`_cells` of each interval
    at (m, r), when at hand; ``starts``: each interval's plan of the last round, the
    first incumbent of its search (updated)."""
    if tabled is None:
        tabled = [_cells(d, tables, m, r) for d in data]

    def one(
        d: interval_search.IntervalData, price: np.ndarray | None
    ) -> tuple[int, dict[int, int], dict[tuple[int, int, int], int]] | None:
        if (stop is not None and stop()) or clock.now() >= deadline:
            return None
        t = d.t
        cells, constant = tabled[t]
        found = interval_search.maximise(
            d,
            cells,
            tol,
            node_limit=NODES,
            deadline=deadline,
            edge_cost=price,
            start=None if starts is None else starts.get(t),
        )
        if found is None:  # the relaxation failed: every cell at its best (a bound)
            lo = d.pins
            top = sum(int(np.max(f[int(lo[c]) :])) for c, f in enumerate(cells))
            return top + constant, {}, {}
        if starts is not None:
            starts[t] = (found.n, found.flows)
        n = {q: int(found.n[c]) for c, q in enumerate(d.queues)}
        placed: dict[tuple[int, int, int], int] = {}
        for e in np.flatnonzero(found.flows).tolist():
            g, q = d.groups[int(d.edge_group[e])], d.queues[int(d.edge_cell[e])]
            placed[(g, q, t)] = placed.get((g, q, t), 0) + int(found.flows[e])
        return -(-found.bound_num // found.resolution) + constant, n, placed

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        got = list(pool.map(clock.carried(one), data, prices))
    if any(g is None for g in got):
        return None
    parts = [g for g in got if g is not None]
    # cells with no agents possible (no literal) keep their n = 0 answered in R already
    placed = {k: v for *_x, u in parts for k, v in u.items()}
    return sum(b for b, _n, _u in parts), [n for _b, n, _u in parts], placed


def _cells(
    d: interval_search.IntervalData, tables: DailyTables, m: int, r: Mapping[int, int]
) -> tuple[list[np.ndarray], int]:
    """Interval d's tables K·ΔV − m·ΔS + r_q·a (n = 0 of a taken off) and the constant
    Σ r_q·a(0)."""
    cells = []
    constant = 0
    for c, q in enumerate(d.queues):
        f = K * d.value[c] - m * d.shortfall[c]
        a = tables.answered.get((q, d.t))
        if a is not None and r.get(q, 0):
            f = f + r[q] * (a - a[0])
            constant += r[q] * int(a[0])
        cells.append(f)
    return cells, constant


def _by_group(
    placed: Mapping[tuple[int, int, int], int], groups: Mapping[int, object]
) -> dict[tuple[int, int], int]:
    """Members of ``groups`` placed per (group, interval)."""
    out: dict[tuple[int, int], int] = {}
    for (g, _q, t), k in placed.items():
        if g in groups:
            out[(g, t)] = out.get((g, t), 0) + k
    return out


def _sum_prices(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    return a if b is None else a + b


class _Switches:
    """Lagrangian prices on the least switches (``models/11-daily-lagrangian.md``,
    "Switching priced"). Between consecutive intervals t, t+1 where group g is available
    (identical members, two skills or more, no pins), with x the members placed,

      s_gt = max(0, Σ_q max(0, x_qt − x_q,t+1) − idle_t+1)
           ≥ Σ_q a_q·(x_qt − x_q,t+1) + β·(Σ_q x_q,t+1 − |g|)   for 0 ≤ a_q ≤ β ≤ 1

    (a_q·d ≤ β·max(0, d), and idle = |g| − Σ_q x_q,t+1 at most, called in or not; s is the
    largest of these planes). The right side is linear in x: switch_penalty × it is a
    price per member placed on each (group, queue, interval) edge,

      c_gqt = P·(a_gqt − a_gq,t−1 + β_g,t−1) ≥ 0,

    and a constant P·Σ β_gt·|g| is added back: every (a, β) of the polytopes keeps B a
    ceiling. Prices are rounded down and the constant up (both only raise B). The
    multipliers start where the planes are tight for a plan at hand and move by
    projected subgradient steps (the slope of B in a_gqt is −P·(x_qt − x_q,t+1) for the
    round's plans, in β_gt −P·(Σ_q x_q,t+1 − |g|)) with Polyak's length towards the plan
    at hand, projected per transition onto the polytope."""

    def __init__(
        self, p: AllocationProblem, scale: float, plan: Mapping[tuple[int, int, int], int]
    ) -> None:
        self.unit = scale * p.scenario.policy.switch_penalty  # scaled units per switch
        self.version = 0
        self.step_size = SWITCH_STEP
        self.stalled = 0
        self.sizes: dict[int, int] = {}
        self.skills: dict[int, dict[int, int]] = {}  # group -> queue -> position
        # the transitions (g, t) in order, each one's a_q (over g's skills, from offset[j]
        # in the flat array a) and β (b[j])
        self.index: dict[tuple[int, int], int] = {}
        offsets: list[int] = []
        a_start: list[float] = []
        b_start: list[float] = []
        sizes: list[int] = []
        T = p.n_intervals
        for g in p.groups:
            if len(g.skills) < 2 or not g.size:
                continue
            ts = [
                t
                for t in range(T - 1)
                if g.available[t] and g.available[t + 1] and t not in g.pinned
                if t + 1 not in g.pinned
            ]
            if not ts:
                continue
            self.sizes[g.index] = g.size
            self.skills[g.index] = {q: k for k, q in enumerate(g.skills)}
            for t in ts:
                d = [
                    plan.get((g.index, q, t), 0) - plan.get((g.index, q, t + 1), 0)
                    for q in g.skills
                ]
                nxt = sum(plan.get((g.index, q, t + 1), 0) for q in g.skills)
                # tight for the plan: β = 1 where it switches, a_q = β where q loses members
                switches = sum(max(0, x) for x in d) - (g.size - nxt) > 0
                beta = SWITCH_START if switches else 0.0
                self.index[(g.index, t)] = len(offsets)
                offsets.append(len(a_start))
                a_start.extend(beta if x > 0 else 0.0 for x in d)
                b_start.append(beta)
                sizes.append(g.size)
        self.offset = np.array(offsets, dtype=np.int64)
        self.a = np.array(a_start, dtype=float)
        self.b = np.array(b_start, dtype=float)
        self.size = np.array(sizes, dtype=float)
        self.lengths = np.diff(np.append(self.offset, self.a.size))
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        # per interval (the searches' data): each edge's flat a_q of its interval's
        # transition and of the one before, and the transition before (−1: none)
        self._edges: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._cache: dict[tuple[int, int, int], int] = {}

    def _flat(self, g: int, q: int, t: int) -> int:
        """The flat position of a_q of transition (g, t) (−1: none)."""
        j = self.index.get((g, t))
        k = self.skills.get(g, {}).get(q)
        return -1 if j is None or k is None else int(self.offset[j]) + k

    def price(self, g: int, q: int, t: int) -> int:
        """A member of g placed on queue q in t (scaled, rounded down)."""
        key = (g, q, t)
        got = self._cache.get(key)
        if got is None:
            got = 0
            if q in self.skills.get(g, {}):
                c = 0.0
                now, before = self._flat(g, q, t), self._flat(g, q, t - 1)
                if now >= 0:
                    c += float(self.a[now])
                if before >= 0:
                    c += float(self.b[self.index[(g, t - 1)]]) - float(self.a[before])
                got = max(0, int(self.unit * c))
            self._cache[key] = got
        return got

    def prices(self, d: interval_search.IntervalData) -> np.ndarray | None:
        """Per (group, cell) edge of interval ``d``; None when no edge has a price (as
        :meth:`price`, for every edge at once)."""
        if self.a.size == 0:
            return None
        edges = self._edges.get(d.t)
        if edges is None:
            groups = [d.groups[int(e)] for e in d.edge_group]
            queues = [d.queues[int(c)] for c in d.edge_cell]
            now = [self._flat(g, q, d.t) for g, q in zip(groups, queues, strict=True)]
            before = [self._flat(g, q, d.t - 1) for g, q in zip(groups, queues, strict=True)]
            j = [self.index.get((g, d.t - 1), -1) for g in groups]
            edges = (np.array(now, np.int64), np.array(before, np.int64), np.array(j, np.int64))
            self._edges[d.t] = edges
        now_at, before_at, j_at = edges
        if now_at.size == 0:
            return None
        c = np.where(now_at >= 0, self.a[np.maximum(now_at, 0)], 0.0) + np.where(
            before_at >= 0, self.b[np.maximum(j_at, 0)] - self.a[np.maximum(before_at, 0)], 0.0
        )
        cost = np.maximum(np.floor(self.unit * c), 0).astype(np.int64)
        return cost if bool(np.any(cost)) else None

    def constant(self) -> int:
        """P·Σ β_gt·|g|, rounded up."""
        return math.ceil(self.unit * float(self.b @ self.size))

    def paid(self, placed: Mapping[tuple[int, int, int], int]) -> int:
        return sum(self.price(g, q, t) * k for (g, q, t), k in placed.items() if g in self.skills)

    def step(
        self, placed: Mapping[tuple[int, int, int], int], excess: float | None, improved: bool
    ) -> bool:
        """One projected subgradient step from the round's plans ``placed``. ``excess``:
        the round's B less a known plan's objective (scaled), for Polyak's length
        γ·excess/‖direction‖² (γ halved after ``SWITCH_PATIENCE`` rounds that did not
        lower the least B, ``improved``); None: no step (the multipliers stay where
        they started). The direction keeps ``SWITCH_DEFLECT`` of the last one. True when
        a multiplier moved."""
        self.stalled = 0 if improved else self.stalled + 1
        if self.stalled >= SWITCH_PATIENCE:
            self.step_size /= 2
            self.stalled = 0
        if self.a.size == 0 or excess is None or excess <= 0:
            return False
        now = np.zeros(self.a.size)
        nxt = np.zeros(self.a.size)
        for (g, q, t), k in placed.items():
            if g in self.skills:
                at = self._flat(g, q, t)
                if at >= 0:
                    now[at] = k
                at = self._flat(g, q, t - 1)
                if at >= 0:
                    nxt[at] = k
        ga = now - nxt
        gb = np.add.reduceat(nxt, self.offset) - self.size
        if self.previous is not None:  # (deflected: part of the last direction kept)
            ga = ga + SWITCH_DEFLECT * self.previous[0]
            gb = gb + SWITCH_DEFLECT * self.previous[1]
        norm = float(ga @ ga) + float(gb @ gb)
        if norm == 0.0 or self.step_size < SWITCH_STEP_LEAST:
            return False
        moving = np.flatnonzero((np.add.reduceat(np.abs(ga), self.offset) > 0) | (gb != 0))
        length = self.step_size * excess / (self.unit * norm)
        a = self.a + length * ga
        b = self.b + length * gb
        for j in moving.tolist():
            lo, n = int(self.offset[j]), int(self.lengths[j])
            self.a[lo : lo + n], self.b[j] = _onto_switch_polytope(a[lo : lo + n], float(b[j]))
        self.previous = (ga, gb)
        self.version += 1
        self._cache.clear()
        return True


def _onto_switch_polytope(a: np.ndarray, b: float) -> tuple[np.ndarray, float]:
    """The Euclidean projection of (a, b) onto {0 ≤ a_q ≤ β ≤ 1}: for a given β the
    nearest a is a clipped to [0, β], and the best β is the root on [0, 1] of
    (β − b) + Σ_{q: a_q > β} (β − a_q), increasing in β: with the k largest a_q above it,
    β = (b + their sum) / (k + 1)."""
    a = np.asarray(a, dtype=float)
    top = sorted(a.tolist(), reverse=True)
    beta = b
    total = b
    for k in range(len(top) + 1):
        beta = total / (k + 1)
        if k == len(top) or top[k] <= beta:
            break
        total += top[k]
    beta = min(1.0, max(0.0, beta))
    return np.clip(a, 0.0, beta), beta


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
