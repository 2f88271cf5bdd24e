"""Exact branch and bound for one interval (``models/10-interval-search.md``).

One interval is a small problem: pooled groups g with |g| members, each able to work
some queues; x[g,q] members of g on queue q, Σ_q x[g,q] ≤ |g|; n_q = pins_q + Σ_g x[g,q];
maximise Σ_q f_q(n_q) for an integer table f_q per queue — the scaled CP-SAT objective
of the CP-SAT backend (``models/06-objective.md``), so both backends rank plans identically.
The tables are S-shaped, not concave.

**Relaxation.** At a node every n_q lies in a box [lo_q, hi_q]. Each f_q is replaced by
its concave envelope over the box (the smallest concave function above it): a chain
of segments with decreasing slopes. Maximising a separable concave piecewise-linear
function over the flow polytope is a min-cost flow — groups → queues → sink, one arc
per segment, cost −slope — and its optimum is integral, so every node yields a
feasible plan besides a bound. Slopes are rounded up (to 1/R of a scaled unit), so
the flow's cost stays a valid bound; R keeps the rounding within the tolerances.

**Branching.** Where the relaxed n_q lies strictly inside an envelope segment that
bridges a convex stretch of f_q, the envelope overstates f_q there; the queue with the
largest overstatement is branched on: n_q ≤ m or n_q ≥ m + 1. Nodes are taken best
bound first, so the search ends as soon as no open node can beat the incumbent by
more than the tolerance.

**Lexicographic levels.** Level 1 maximises −S. Level 2 maximises V − μ·S, μ a large
multiplier: if its optimum keeps S at level 1's optimum S₁, it is the lexicographic
optimum, and for every plan with S ≤ S₁, V ≤ bound(V − μ·S) + μ·S₁ bounds level 2
(Lagrangian duality). If the optimum trades shortfall for value (μ too small), the
search says so and CP-SAT solves the interval instead.

Everything is deterministic: no timing enters a result that is returned as proven.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock

# Largest |unit cost| handed to the min-cost flow: its cost scaling multiplies costs by
# the node count, and the total cost must stay inside int64.
_MAX_COST = 2**52
# Multiplier of the shortfall in level 2, in objective units per objective unit: a
# plan may not buy value with shortfall unless one call of shortfall buys this much.
MU = 1e4


@dataclass
class IntervalData:
    """Interval t of a pooled problem, as the search sees it."""

    t: int
    queues: list[int]  # queue of each cell (cells: tables with at least one agent)
    shortfall: list[np.ndarray]  # scaled, n = 0 value subtracted (as CP-SAT's terms)
    value: list[np.ndarray]
    pins: np.ndarray  # pinned agents per cell
    groups: list[int]  # flexible (unpinned here) groups able to work a cell
    caps: np.ndarray  # members per flexible group
    edge_group: np.ndarray  # (flexible group position, cell position) pairs
    edge_cell: np.ndarray
    pinned: dict[tuple[int, int, int], int]  # counts fixed by pins
    called_in: dict[int, int]  # optional groups: all in (the per-interval relaxation)


def interval_data(
    p: AllocationProblem, t: int, short_scale: float, value_scale: float
) -> IntervalData:
    """Interval t's cells, groups and scaled tables (the same rounding as the CP-SAT backend)."""
    queues: list[int] = []
    shortfall: list[np.ndarray] = []
    value: list[np.ndarray] = []
    pinned: dict[tuple[int, int, int], int] = {}
    pins: list[int] = []
    flexible: dict[int, int] = {}
    eg: list[int] = []
    ec: list[int] = []
    for q in range(p.n_queues):
        eligible = p.eligible.get((q, t), ())
        cell = p.tables.get((q, t))
        literal = cell is not None and cell.max_agents > 0
        pinned_here = 0
        for g in eligible:
            if p.groups[g].pinned.get(t, -1) == q:
                pinned[(g, q, t)] = 1
                pinned_here += 1
            elif literal:
                pos = flexible.setdefault(g, len(flexible))
                eg.append(pos)
                ec.append(len(queues))
        if not literal:
            continue
        assert cell is not None
        queues.append(q)
        pins.append(pinned_here)
        s = np.rint(cell.shortfall * short_scale).astype(np.int64) if short_scale > 0 else None
        v = np.rint(cell.value * value_scale).astype(np.int64)
        shortfall.append(s - s[0] if s is not None else np.zeros_like(v))
        value.append(v - v[0])
    groups = list(flexible)
    return IntervalData(
        t=t,
        queues=queues,
        shortfall=shortfall,
        value=value,
        pins=np.array(pins, dtype=np.int64),
        groups=groups,
        caps=np.array([p.groups[g].size for g in groups], dtype=np.int64),
        edge_group=np.array(eg, dtype=np.int64),
        edge_cell=np.array(ec, dtype=np.int64),
        pinned=pinned,
        called_in={g.index: g.size for g in p.groups if g.optional},
    )


@dataclass
class Search:
    """The outcome of one maximisation: the best plan found, its objective, a proven
    upper bound on the optimum (a rational: ``bound_num / resolution``) and whether
    the search ended (the bound is within the tolerance of the plan)."""

    n: np.ndarray
    flows: np.ndarray  # members per (group, cell) edge, in IntervalData edge order
    objective: int
    bound_num: int
    resolution: int
    proven: bool
    nodes: int

    def bound_floor(self) -> int:
        return self.bound_num // self.resolution


def _envelope(f: np.ndarray, lo: int, hi: int, res: int) -> tuple[np.ndarray, np.ndarray]:
    """The concave envelope of f over [lo, hi] as segments from lo (lengths, and unit
    costs −⌈slope·res⌉), up to the first segment whose slope is not positive (more
    agents than that never help the relaxation: an agent may stay unassigned)."""
    lengths: list[int] = []
    costs: list[int] = []
    i = lo
    while i < hi:
        d = np.diff(f[i : hi + 1])
        if d.size < 2 or bool(np.all(d[1:] <= d[:-1])):  # the rest is concave
            positive = d[: int(np.argmax(d <= 0))] if bool(np.any(d <= 0)) else d
            lengths.extend([1] * positive.size)
            costs.extend((-positive * res).tolist())
            break
        rises = f[i + 1 : hi + 1] - f[i]
        slopes = rises / np.arange(1, hi - i + 1)
        k = int(np.argmax(slopes))
        rise, run = int(rises[k]), k + 1
        if rise <= 0:
            break
        lengths.append(run)
        costs.append(-((rise * res + run - 1) // run))
        i += run
    return np.array(lengths, dtype=np.int64), np.array(costs, dtype=np.int64)


def _envelope_at(f: np.ndarray, lo: int, lengths: np.ndarray, n: int) -> float:
    """The envelope's value at n (exact slopes, float), for choosing a branch."""
    start = lo
    for run in lengths.tolist():
        end = start + run
        if n in (start, end):
            return float(f[n])
        if n < end:
            return float(f[start]) + (float(f[end]) - float(f[start])) * (n - start) / run
        start = end
    return float(f[n])


class _Unreliable(Exception):
    """The min-cost flow could not solve a relaxation (not: found it infeasible)."""


@dataclass
class _Relaxed:
    """One node's relaxation: its bound (×res), the flow's plan, and what the duals need."""

    bound_num: int
    n: np.ndarray
    edge_flows: np.ndarray  # group → cell
    idle_flows: np.ndarray  # group → sink
    lens: list[np.ndarray]  # envelope segments per cell
    costs: list[np.ndarray]
    seg_flows: list[np.ndarray]


class _Tree:
    """The search of :func:`maximise` (state shared by its nodes)."""

    def __init__(
        self,
        data: IntervalData,
        tables: list[np.ndarray],
        tol: int,
        edge_cost: np.ndarray | None = None,
    ) -> None:
        self.data, self.tables, self.tol = data, tables, tol
        C, G = len(tables), len(data.groups)
        self.C, self.G = C, G
        # what one member placed through each (group, cell) edge costs (table units, ≥ 0)
        self.edge_cost = (
            np.zeros(data.edge_group.size, dtype=np.int64)
            if edge_cost is None
            else np.asarray(edge_cost, dtype=np.int64)
        )
        units = int(data.caps.sum()) + 1
        top = max(
            [int(np.max(np.abs(np.diff(f)))) if f.size > 1 else 0 for f in tables]
            + [int(self.edge_cost.max(initial=0)), 1]
        )
        res = 1
        while res * 4 * units > max(tol, 1) and top * res * 4 * (C + G + 2) < _MAX_COST:
            res *= 2
        self.res = res
        self.base_tails = np.concatenate([1 + data.edge_group, 1 + np.arange(G)])
        self.base_heads = np.concatenate([1 + G + data.edge_cell, np.zeros(G, dtype=np.int64)])
        self.base_caps = np.concatenate([data.caps[data.edge_group], data.caps])
        self.base_costs = np.concatenate([self.edge_cost * res, np.zeros(G, dtype=np.int64)])
        self.cache: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.scaled = [f.astype(float) * res for f in tables]
        # cells each group can work, for the Lagrangian bound
        # (one stable sort, not a mask per group: a day of 2,000 named agents has ~600
        # groups and ~1,500 edges in an interval)
        order = np.argsort(data.edge_group, kind="stable")
        bounds = np.searchsorted(data.edge_group[order], np.arange(G + 1)).tolist()
        cells, prices = data.edge_cell[order], self.edge_cost[order].astype(float)
        self.group_cells = [cells[a:b] for a, b in itertools.pairwise(bounds)]
        self.group_costs = [prices[a:b] for a, b in itertools.pairwise(bounds)]

    def envelope(self, c: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        key = (c, lo, hi)
        got = self.cache.get(key)
        if got is None:
            got = self.cache[key] = _envelope(self.tables[c], lo, hi, self.res)
        return got

    def value_of(self, n: np.ndarray) -> int:
        return sum(int(self.tables[c][int(n[c])]) for c in range(self.C))

    def objective(self, n: np.ndarray, flows: np.ndarray) -> int:
        """The plan's objective: its cells' tables less what its edges cost."""
        return self.value_of(n) - int(self.edge_cost @ flows)

    def relax(self, lo: np.ndarray, hi: np.ndarray) -> _Relaxed | None:
        """The min-cost-flow relaxation over the box [lo, hi]; None if no plan fits it."""
        data, C, G = self.data, self.C, self.G
        segs = [self.envelope(c, int(lo[c]), int(hi[c])) for c in range(C)]
        lens = [s[0] for s in segs]
        costs = [s[1] for s in segs]
        counts = np.array([x.size for x in lens], dtype=np.int64)
        seg_tails = np.repeat(1 + G + np.arange(C), counts)
        flow = min_cost_flow.SimpleMinCostFlow()
        tails = np.concatenate([self.base_tails, seg_tails])
        heads = np.concatenate([self.base_heads, np.zeros(seg_tails.size, dtype=np.int64)])
        caps = np.concatenate([self.base_caps, *lens])
        unit = np.concatenate([self.base_costs, *costs])
        arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
        demand = lo - data.pins
        total = int(data.caps.sum())
        supplies = np.concatenate([[-(total - int(demand.sum()))], data.caps, -demand])
        flow.set_nodes_supplies(np.arange(1 + G + C), supplies)
        status = flow.solve()
        clock.charge(clock.ARC_WORK * tails.size)
        if status == flow.INFEASIBLE:
            return None
        if status != flow.OPTIMAL:  # e.g. costs out of its range: no trustworthy answer
            raise _Unreliable(str(status))

        flows = flow.flows(arcs).astype(np.int64)
        n_edges = data.edge_group.size
        seg_flow = flows[self.base_tails.size :]
        owner = np.repeat(np.arange(C), counts)
        n = lo + np.bincount(owner, weights=seg_flow, minlength=C).astype(np.int64)
        bound_num = self.res * sum(int(self.tables[c][int(lo[c])]) for c in range(C))
        bound_num -= int(flow.optimal_cost())
        splits = np.cumsum(counts)[:-1]
        return _Relaxed(
            bound_num,
            n,
            flows[:n_edges],
            flows[n_edges : n_edges + G],
            lens,
            costs,
            list(np.split(seg_flow, splits)) if C else [],
        )

    def prices(self, node: _Relaxed) -> np.ndarray:
        """Optimal dual prices π_c (×res) of one more agent on each cell: potential
        differences of the flow's residual network, by Bellman-Ford from a virtual root
        joined to every node at cost 0 (no negative cycle: the flow is optimal)."""
        data, C, G = self.data, self.C, self.G
        eg, ec = 1 + data.edge_group, 1 + G + data.edge_cell
        gs = 1 + np.arange(G)
        fwd = node.edge_flows < data.caps[data.edge_group]
        back = node.edge_flows > 0
        idle_free = gs[node.idle_flows < data.caps]  # may stay unassigned: group → sink
        idle_used = gs[node.idle_flows > 0]  # may be placed after all: sink → group
        sink = np.zeros(1, dtype=np.int64)
        tails = [eg[fwd], ec[back], idle_free, np.repeat(sink, idle_used.size)]
        heads = [ec[fwd], eg[back], np.repeat(sink, idle_free.size), idle_used]
        # an edge costs what a member placed through it costs (back: gives it back); the
        # group → sink arcs cost nothing
        cost = self.edge_cost.astype(float) * self.res
        weights = [cost[fwd], -cost[back], np.zeros(idle_free.size), np.zeros(idle_used.size)]
        cell_tails: list[int] = []
        cell_heads: list[int] = []
        cell_weights: list[float] = []
        for c in range(C):
            lens, costs, used = node.lens[c], node.costs[c], node.seg_flows[c]
            free = used < lens
            if free.any():  # one more agent through the cheapest unsaturated segment
                cell_tails.append(1 + G + c)
                cell_heads.append(0)
                cell_weights.append(float(costs[free].min()))
            if (used > 0).any():  # one agent less off the dearest used one
                cell_tails.append(0)
                cell_heads.append(1 + G + c)
                cell_weights.append(float(-costs[used > 0].max()))
        tail = np.concatenate([*tails, np.array(cell_tails, dtype=np.int64)])
        head = np.concatenate([*heads, np.array(cell_heads, dtype=np.int64)])
        weight = np.concatenate([*weights, np.array(cell_weights, dtype=float)])
        d = np.zeros(1 + G + C)  # the virtual root reaches every node at cost 0
        for _ in range(d.size + 1):
            relaxed = d.copy()
            np.minimum.at(relaxed, head, d[tail] + weight)
            if np.array_equal(relaxed, d):
                return d[1 + G : 1 + G + C] - d[0]
            d = relaxed
        raise _Unreliable("negative cycle in an optimal flow's residual network")

    def lagrangian(
        self, pi: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[float, list[np.ndarray]]:
        """The Lagrangian bound (×res) with prices π, and per cell h_c(k) = res·f_c(k) − π_c·k
        over its box (the bound with n_c fixed to k is bound − max h_c + h_c(k))."""
        data = self.data
        total = 0.0
        for g in range(self.G):
            cells = self.group_cells[g]
            net = pi[cells] - self.res * self.group_costs[g]
            best = float(net.max()) if cells.size else 0.0
            total += float(data.caps[g]) * max(0.0, best)
        hs: list[np.ndarray] = []
        for c in range(self.C):
            ks = np.arange(int(lo[c]), int(hi[c]) + 1)
            h = self.scaled[c][ks[0] : ks[-1] + 1] - pi[c] * ks
            hs.append(h)
            total += float(pi[c]) * float(data.pins[c]) + float(h.max())
        return total, hs


def _segment(lo: int, lengths: np.ndarray, n: int) -> tuple[int, int]:
    """The envelope segment [a, b] (vertices) containing n."""
    start = lo
    for run in lengths.tolist():
        if n < start + run:
            return start, start + run
        start += run
    return start, start


def _holes(allowed: np.ndarray, lo: int) -> tuple[int, int] | None:
    """The widest run of excluded values strictly inside the allowed ones, as
    (last allowed before it, first allowed after it); None if there is none."""
    idx = np.flatnonzero(allowed)
    if idx.size < 2:
        return None
    gaps = np.diff(idx)
    k = int(np.argmax(gaps))
    if gaps[k] <= 1:
        return None
    return lo + int(idx[k]), lo + int(idx[k + 1])


def maximise(
    data: IntervalData,
    tables: list[np.ndarray],
    tol: int,
    *,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    node_limit: int,
    deadline: float,
    floor: np.ndarray | None = None,
    edge_cost: np.ndarray | None = None,
) -> Search | None:
    """Maximise Σ_cell tables[c][n_c] over the interval's plans, to within ``tol``
    (scaled units). ``start``: a known plan (n, flows) as the first incumbent (it must
    fit ``floor``). ``floor``: least n_c per cell (the search is then over the plans
    with n ≥ floor; pins count anyway). ``edge_cost``: what each member placed through a
    (group, cell) edge costs (integers ≥ 0, table units, in ``data``'s edge order),
    subtracted from the objective. When the node limit or the deadline stops the
    search, the best plan so far comes back with ``proven`` False; None when no plan fits
    the pins and the floor."""
    try:
        return _maximise(data, tables, tol, start, node_limit, deadline, floor, edge_cost)
    except _Unreliable:
        return None


def _maximise(
    data: IntervalData,
    tables: list[np.ndarray],
    tol: int,
    start: tuple[np.ndarray, np.ndarray] | None,
    node_limit: int,
    deadline: float,
    floor: np.ndarray | None = None,
    edge_cost: np.ndarray | None = None,
) -> Search | None:
    tree = _Tree(data, tables, tol, edge_cost)
    C, res = tree.C, tree.res
    lo0 = data.pins.copy() if floor is None else np.maximum(data.pins, floor)
    hi0 = np.array([f.size - 1 for f in tables], dtype=np.int64)
    if bool(np.any(lo0 > hi0)):
        return None
    best_n: np.ndarray | None = None
    best_flows: np.ndarray | None = None
    best = -(2**62)
    if start is not None:
        best_n, best_flows = start
        best = tree.objective(best_n, best_flows)
    root = tree.relax(lo0, hi0)
    if root is None:
        return None

    def gaps_of(lo: np.ndarray, node: _Relaxed) -> list[float]:
        n = node.n
        return [
            _envelope_at(tables[c], int(lo[c]), node.lens[c], int(n[c]))
            - float(tables[c][int(n[c])])
            for c in range(C)
        ]

    def dive(lo: np.ndarray, hi: np.ndarray, node: _Relaxed) -> None:
        """A plan from the relaxation: queues on a bridging segment are sent, one at a
        time, to the segment's better end (by the relaxation's bound)."""
        nonlocal best, best_n, best_flows
        for _step in range(2 * C + 2):
            got = tree.objective(node.n, node.edge_flows)
            if got > best:
                best, best_n, best_flows = got, node.n, node.edge_flows
            gaps = gaps_of(lo, node)
            c = int(np.argmax(gaps)) if C else 0
            if not C or gaps[c] <= 0:
                return
            a, b = _segment(int(lo[c]), node.lens[c], int(node.n[c]))
            options = []
            for lo_c, hi_c in ((int(lo[c]), a), (b, int(hi[c]))):
                clo, chi = lo.copy(), hi.copy()
                clo[c], chi[c] = lo_c, hi_c
                child = tree.relax(clo, chi)
                if child is not None:
                    options.append((child.bound_num, clo, chi, child))
            if not options:
                return
            _, lo, hi, node = max(options, key=lambda o: o[0])

    dive(lo0, hi0, root)
    heap: list[tuple[int, int, np.ndarray, np.ndarray, _Relaxed]] = []
    counter = 0
    heapq.heappush(heap, (-root.bound_num, counter, lo0, hi0, root))
    pruned = -(2**62)  # the largest bound of a node closed without branching
    nodes = 0
    stopped = False
    while heap:
        if heap[0][4].bound_num <= (best + tol) * res:
            break
        _, _, lo, hi, node = heapq.heappop(heap)
        nodes += 1
        if nodes > node_limit or clock.now() > deadline:
            heapq.heappush(heap, (-node.bound_num, -1, lo, hi, node))
            stopped = True
            break
        for _round in range(4):
            got = tree.objective(node.n, node.edge_flows)
            if got > best:
                best, best_n, best_flows = got, node.n, node.edge_flows
            if node.bound_num <= (best + tol) * res:
                break
            # reduced-cost fixing: values of n_c whose Lagrangian bound cannot beat the
            # incumbent are excluded; the box shrinks to the allowed ones
            pi = tree.prices(node)
            bound, hs = tree.lagrangian(pi, lo, hi)
            cutoff = (best + tol) * res + 1e-9 * abs(bound) + 1.0
            allowed = [bound - float(h.max()) + h > cutoff for h in hs]
            if not all(a.any() for a in allowed):
                node.bound_num = min(node.bound_num, (best + tol) * res)
                break
            new_lo = lo + np.array([int(np.argmax(a)) for a in allowed], dtype=np.int64)
            new_hi = lo + np.array([a.size - 1 - int(np.argmax(a[::-1])) for a in allowed])
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                break
            lo, hi = new_lo, new_hi
            again = tree.relax(lo, hi)
            if again is None:
                node.bound_num = min(node.bound_num, (best + tol) * res)
                break
            node = again
        else:
            allowed = [np.ones(int(hi[c] - lo[c]) + 1, dtype=bool) for c in range(C)]
        if node.bound_num <= (best + tol) * res:
            pruned = max(pruned, node.bound_num)
            continue
        n = node.n
        gaps = gaps_of(lo, node)
        c = int(np.argmax(gaps)) if C else 0
        if not C or gaps[c] <= 1e-9 * abs(float(tables[c][int(n[c])])):
            pruned = max(pruned, node.bound_num)  # the relaxation is exact here
            continue
        m = int(n[c])
        hole = _holes(allowed[c], int(lo[c])) if len(allowed) == C else None
        if hole is not None and hole[0] < m < hole[1]:
            parts = ((int(lo[c]), hole[0]), (hole[1], int(hi[c])))
        else:
            parts = ((int(lo[c]), m), (m + 1, int(hi[c])))
        for lo_c, hi_c in parts:
            if lo_c > hi_c:
                continue
            clo, chi = lo.copy(), hi.copy()
            clo[c], chi[c] = lo_c, hi_c
            child = tree.relax(clo, chi)
            if child is None:
                continue
            counter += 1
            heapq.heappush(heap, (-child.bound_num, counter, clo, chi, child))
    assert best_n is not None and best_flows is not None
    open_bound = max([-entry[0] for entry in heap], default=-(2**62))
    bound_num = max(best * res, pruned, open_bound)
    return Search(best_n, best_flows, best, bound_num, res, not stopped, nodes)


@dataclass
class IntervalPlan:
    """A solved interval in ``cpsat``'s terms: group counts, the scaled objectives
    (n = 0 values subtracted) and their proven bounds. ``optimal``: both levels proven
    within the tolerances. Otherwise the deadline stopped the search and this is its
    best plan with valid bounds, or (``gave_up``) the node limit did, and ``cpsat``
    solves the interval instead."""

    counts: dict[tuple[int, int, int], int]
    called_in: dict[int, int]
    optimal: bool
    short_obj: int
    short_bound: int
    value_obj: int
    value_bound: int
    nodes: int
    gave_up: bool = False


def plan_counts(data: IntervalData, flows: np.ndarray) -> dict[tuple[int, int, int], int]:
    counts = dict(data.pinned)
    for e in np.flatnonzero(flows).tolist():
        g = data.groups[int(data.edge_group[e])]
        q = data.queues[int(data.edge_cell[e])]
        counts[(g, q, data.t)] = int(flows[e])
    return counts


def solve_interval(
    p: AllocationProblem,
    t: int,
    *,
    short_scale: float,
    value_scale: float,
    value_const: float,
    mip_gap: float,
    deadline: float,
    node_limit: int,
    priced: bool = False,
) -> IntervalPlan | None:
    """Interval t lexicographically (level 1: least scaled shortfall; level 2: most
    scaled value with the shortfall held), as ``cpsat.solve_lexicographic`` would on its
    one-interval model with the same scales and tolerances. ``short_scale`` 0 skips
    level 1 (a best-value bound). With ``priced`` one objective, value − shortfall (the
    shortfall scale then carries the price), reported as the value; ``value_const`` is
    that objective's constant. None when the node limit stops a level (CP-SAT takes
    over) or when the level-2 multiplier was too small to keep level 1's optimum."""
    data = interval_data(p, t, short_scale, value_scale)
    if priced:
        net = [v - s for v, s in zip(data.value, data.shortfall, strict=True)]
        data = replace(data, value=net, shortfall=[np.zeros_like(v) for v in net])
        short_scale = 0.0
    return lexicographic(
        data,
        short_tol=max(1, math.ceil(0.5e-7 * short_scale)) if short_scale > 0 else None,
        abs_gap=max(1, math.ceil(1e-6 * value_scale)),
        mu=max(1, math.ceil(MU * value_scale / short_scale)) if short_scale > 0 else 0,
        mip_gap=mip_gap,
        value_offset=value_const * value_scale,
        deadline=deadline,
        node_limit=node_limit,
    )


def lexicographic(
    data: IntervalData,
    *,
    short_tol: int | None,
    abs_gap: int,
    mu: int,
    mip_gap: float,
    value_offset: float,
    deadline: float,
    node_limit: int,
) -> IntervalPlan | None:
    """The two levels on scaled tables: level 1 (skipped when ``short_tol`` is None)
    maximises −S to within ``short_tol``; level 2 maximises V − mu·S to within
    max(``abs_gap``, mip_gap·|V + value_offset|), starting from level 1's plan. See
    :func:`solve_interval` for when it returns None."""
    has_short = short_tol is not None and any(bool(np.any(s)) for s in data.shortfall)
    cells = range(len(data.queues))

    def plan(
        found: Search, short_bound: int, value_bound: int, *, optimal: bool, gave_up: bool
    ) -> IntervalPlan:
        short_obj = sum(int(data.shortfall[c][int(found.n[c])]) for c in cells)
        value_obj = sum(int(data.value[c][int(found.n[c])]) for c in cells)
        return IntervalPlan(
            counts=plan_counts(data, found.flows),
            called_in=dict(data.called_in),
            optimal=optimal,
            short_obj=short_obj,
            short_bound=min(short_bound, short_obj),
            value_obj=value_obj,
            value_bound=max(value_obj, value_bound),
            nodes=nodes + found.nodes,
            gave_up=gave_up,
        )

    nodes = 0
    first: Search | None = None
    if has_short:
        assert short_tol is not None
        first = maximise(
            data, [-s for s in data.shortfall], short_tol, node_limit=node_limit, deadline=deadline
        )
        if first is None:
            return None
        if not first.proven:
            # stopped: its plan with the bounds that hold for any plan
            late = clock.now() > deadline
            any_value = _relaxation_bound(data, data.value)
            return plan(first, -first.bound_floor(), any_value, optimal=False, gave_up=not late)
        nodes = first.nodes
        tables = [v - mu * s for v, s in zip(data.value, data.shortfall, strict=True)]
        start: tuple[np.ndarray, np.ndarray] | None = (first.n, first.flows)
        v_first = sum(int(data.value[c][int(first.n[c])]) for c in cells)
    else:
        mu = 0
        tables = data.value
        start = None
        v_first = 0
    # models/00-contract.md: level 2 within mip_gap relative (of the value, constant included; level
    # 1's plan is feasible for level 2, so its value is at most the optimum's)
    tol2 = abs_gap
    if first is not None:
        tol2 = max(abs_gap, math.floor(mip_gap * abs(v_first + value_offset)))
    second = maximise(data, tables, tol2, start=start, node_limit=node_limit, deadline=deadline)
    if second is None:
        return None
    short_obj = sum(int(data.shortfall[c][int(second.n[c])]) for c in cells)
    short_bound = -first.bound_floor() if first is not None else 0
    level1_ok = first is None or short_obj - short_bound <= (short_tol or 0)
    if not level1_ok:
        return None  # level 2 traded shortfall for value: μ too small here
    # for every plan y with S(y) ≤ S(x): V(y) = F(y) + μ·S(y) ≤ bound(F) + μ·S(x)
    value_bound = second.bound_floor() + mu * short_obj
    if not second.proven:
        value_bound = min(value_bound, _relaxation_bound(data, data.value))
        late = clock.now() > deadline
        return plan(second, short_bound, value_bound, optimal=False, gave_up=not late)
    return plan(second, short_bound, value_bound, optimal=True, gave_up=False)


@dataclass
class KeptShortfall:
    """The outcome of :func:`keep_shortfall`: the plan (group counts), its scaled value,
    a proven bound on the value of every plan in the box, whether the search closed,
    and the box's floor per (queue, interval) cell (least n; cells absent have none)."""

    counts: dict[tuple[int, int, int], int]
    value: int
    bound: int
    proven: bool
    floors: dict[tuple[int, int], int]


def _placement(
    data: IntervalData, counts: dict[tuple[int, int, int], int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Group counts of interval ``data.t`` as the search's (n per cell, flow per edge);
    None if they use an edge the search does not have."""
    cell_of = {q: c for c, q in enumerate(data.queues)}
    n = data.pins.copy()
    flows = np.zeros(data.edge_group.size, dtype=np.int64)
    edge = {
        (data.groups[int(g)], data.queues[int(c)]): e
        for e, (g, c) in enumerate(zip(data.edge_group, data.edge_cell, strict=True))
    }
    for (g, q, t), k in counts.items():
        if t != data.t or (g, q, t) in data.pinned or k == 0:
            continue
        e = edge.get((g, q))
        if e is None:  # not a cell of the search (no calls, or no agent may go there)
            return None
        flows[e] += k
        n[cell_of[q]] += k
    return n, flows


def placed_value(data: IntervalData, counts: dict[tuple[int, int, int], int]) -> int | None:
    """The scaled value (``data.value``) of a plan given as group counts."""
    placed = _placement(data, counts)
    if placed is None:
        return None
    return sum(int(f[int(k)]) for f, k in zip(data.value, placed[0], strict=True))


def keep_shortfall(
    data: IntervalData,
    counts: dict[tuple[int, int, int], int],
    *,
    tol: int,
    node_limit: int,
    deadline: float,
) -> KeptShortfall | None:
    """The most valuable plan (within ``tol``) in which no cell's shortfall exceeds its
    shortfall in ``counts`` (a level-1 plan of interval ``data.t``), so the total stays
    at most level 1's. In cell c that keeps n_c at or above the least n from which the
    table never exceeds S_c(counts) again: a box the search handles directly. It is
    level 2's optimum when no plan outside the box has as little shortfall (``cpsat``
    checks that with one feasibility model); otherwise a plan as good as ``counts`` or
    better, which ``cpsat`` hints to its level 2. None when the search cannot run (a
    cell of ``counts`` unknown here, or a min-cost flow failure)."""
    C = len(data.queues)
    placed = _placement(data, counts)
    if placed is None:
        return None
    n, flows = placed
    floor = np.zeros(C, dtype=np.int64)
    for c in range(C):
        s = data.shortfall[c]
        above = np.flatnonzero(s > s[int(n[c])])
        if above.size and above[-1] > n[c]:  # the shortfall rises again above n_c
            return None
        floor[c] = int(above[-1]) + 1 if above.size else 0
    found = maximise(
        data,
        data.value,
        tol,
        start=(n, flows),
        node_limit=node_limit,
        deadline=deadline,
        floor=floor,
    )
    if found is None:
        return None
    return KeptShortfall(
        counts=plan_counts(data, found.flows),
        value=found.objective,
        bound=found.bound_floor(),
        proven=found.proven,
        floors={(data.queues[c], data.t): int(floor[c]) for c in range(C) if floor[c] > 0},
    )


def _relaxation_bound(data: IntervalData, tables: list[np.ndarray]) -> int:
    """A bound on max Σ tables[c][n_c] over all plans: the root relaxation's, floored."""
    tree = _Tree(data, tables, 1)
    lo = data.pins.copy()
    hi = np.array([f.size - 1 for f in tables], dtype=np.int64)
    try:
        root = tree.relax(lo, hi)
    except _Unreliable:
        root = None
    if root is None:  # the trivial bound: every cell at its best
        return sum(int(np.max(f[int(lo[c]) :])) for c, f in enumerate(tables))
    return root.bound_num // tree.res
