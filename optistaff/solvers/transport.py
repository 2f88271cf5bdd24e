"""A least-cost transportation problem, exactly, by OR-Tools' min-cost flow.

Used by naming (``disaggregate.keep_agents_in_place``): agents of a kind (same skills,
same queue before) are sources, the places of an interval (a queue's seats, idle) are
sinks, and every unit moved along an arc costs that arc's integer cost. It replaced an
assignment problem over single agents (``scipy.optimize.linear_sum_assignment``, quadratic
in the agents and ~0.3 s to import), models/02-aggregation.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow


def least_cost_transport(
    supply: Sequence[int],
    demand: Sequence[int],
    arcs: Sequence[tuple[int, int, int]],
) -> dict[tuple[int, int], int]:
    """Flows x[i, j] ≥ 0 on ``arcs`` (source i, sink j, unit cost) with Σ_j x[i, j] =
    supply[i] and Σ_i x[i, j] = demand[j], minimising Σ cost·x. Σ supply must equal Σ
    demand. Returns the positive flows; ValueError when no such flows exist."""
    n_src = len(supply)
    if sum(supply) != sum(demand):
        raise ValueError(f"supply {sum(supply)} and demand {sum(demand)} differ")
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.array([i for i, _j, _c in arcs], dtype=np.int64)
    heads = np.array([n_src + j for _i, j, _c in arcs], dtype=np.int64)
    costs = np.array([c for _i, _j, c in arcs], dtype=np.int64)
    caps = np.full(len(arcs), max(sum(supply), 0), dtype=np.int64)
    handles = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    nodes = np.arange(n_src + len(demand), dtype=np.int64)
    flow.set_nodes_supplies(nodes, np.array([*supply, *(-d for d in demand)], dtype=np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise ValueError(f"no transport plan (min-cost flow status {status})")
    flows = flow.flows(handles)
    return {
        (int(i), int(j)): int(x)
        for (i, j, _c), x in zip(arcs, flows.tolist(), strict=True)
        if x > 0
    }
