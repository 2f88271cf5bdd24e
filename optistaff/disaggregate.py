"""From group counts to named agents, with the fewest switches the counts allow.

For a group of k interchangeable agents with counts x(q,t) and idle(t) unassigned
members, the contract's least number of switches between t and t+1 is
``max(0, Σ_q max(0, x(q,t) − x(q,t+1)) − idle(t+1))``. This module attains it:

1. members stay on their queue as far as the counts allow (``min(x(q,t), x(q,t+1))``);
2. the members who must leave a queue fill the idle places of t+1 first (no switch);
3. only then do leavers take the free places on other queues (one switch each);
   members idle in t take the places that remain.

Ties are broken by the order of agents in the scenario, then by queue order, so the
same counts always give the same assignment (``models/02-aggregation.md``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from optistaff.formulation import AllocationProblem, CellTable
from optistaff.scenario import Scenario

Assignment = dict[tuple[str, int], int | None]


def disaggregate(
    problem: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called_in: dict[int, int],
) -> tuple[Assignment, list[str]]:
    """Name the agents: returns ``{(agent_id, t): queue index or None}`` for every available
    interval of every working agent, and the ids of optional agents called in (scenario
    order). Works for availability groups and for per-interval pools alike: members
    keep their queue of t−1 where the counts allow."""
    assignment: Assignment = {}
    called: list[str] = []
    working: dict[int, list[str]] = {}
    for group in problem.groups:
        if group.optional:
            members = list(group.members[: called_in.get(group.index, 0)])
            called.extend(members)
        else:
            members = list(group.members)
        if members:
            working[group.index] = members
    by_interval: dict[int, list[int]] = {}
    for g in working:
        for t, available in enumerate(problem.groups[g].available):
            if available:
                by_interval.setdefault(t, []).append(g)
    for t in sorted(by_interval):
        for g in by_interval[t]:
            group = problem.groups[g]
            members = working[g]
            x = {q: counts.get((g, q, t), 0) for q in group.skills}
            if sum(x.values()) > len(members):
                raise AssertionError(
                    f"group {g} over capacity at interval {t}: {x} > {len(members)}"
                )
            previous = {a: assignment.get((a, t - 1)) for a in members}
            for agent, q in _place(members, x, previous).items():
                assignment[(agent, t)] = q
    order = {a.id: i for i, a in enumerate(problem.scenario.agents)}
    called.sort(key=order.__getitem__)
    return assignment, called


def _place(
    working: list[str], x: dict[int, int], previous: dict[str, int | None]
) -> dict[str, int | None]:
    """Place ``working`` agents so that x[q] are on queue q, the rest idle, switching as
    few agents as possible away from ``previous`` (None: idle or absent in t−1)."""
    current: dict[str, int | None] = {}
    free = dict(x)
    leavers: list[str] = []
    was_idle: list[str] = []
    for agent in working:
        before = previous.get(agent)
        if before is not None and free.get(before, 0) > 0:
            current[agent] = before
            free[before] -= 1
        elif before is not None:
            leavers.append(agent)
        else:
            was_idle.append(agent)
    idle_places = len(working) - sum(x.values())
    # leavers go idle first (no switch), then idle members stay idle
    movers: list[str] = []
    for agent in leavers:
        if idle_places > 0:
            current[agent] = None
            idle_places -= 1
        else:
            movers.append(agent)
    for agent in was_idle:
        if idle_places > 0:
            current[agent] = None
            idle_places -= 1
        else:
            movers.append(agent)
    for q in sorted(free):
        for _ in range(free[q]):
            current[movers.pop(0)] = q
    assert not movers, "counts and members disagree"
    return current


def fill_idle(problem: AllocationProblem, assignment: Assignment) -> Assignment:
    """Place idle agents where it costs nothing: the documented tie-break.

    The solver may leave an agent unassigned where placing them changes no objective
    term (an Erlang C queue below its load answers nothing within target with n or
    n+1 agents). A planner expects available agents to work, so each idle agent-interval
    (interval order, then scenario order) goes to the skill queue with calls that gains
    most — weighted shortfall reduction first, then value — ties by queue order, but
    only where it creates no switch with the intervals before and after. Adding an
    agent never lowers SL nor raises abandonment, so no figure of the plan gets worse.
    Pinned intervals (a pin to ``null`` means unassigned) are left as they are.
    """
    out = dict(assignment)
    skills = {a: g.skills for g in problem.groups for a in g.members}
    order = {a.id: i for i, a in enumerate(problem.scenario.agents)}
    pinned = {(p.agent, t) for p in problem.scenario.pins for t in range(p.start, p.end)}
    # interval by interval: rows[t][agent] (updated as agents are placed, so t+1 sees the
    # placements of t) and cells[t][queue]
    rows: defaultdict[int, dict[str, int | None]] = defaultdict(dict)
    for (agent, t), q in out.items():
        rows[t][agent] = q
    cells: defaultdict[int, dict[int, CellTable]] = defaultdict(dict)
    for (q, t), table in problem.tables.items():
        cells[t][q] = table
    for t in sorted(rows):
        row, before_row, after_row = rows[t], rows.get(t - 1, {}), rows.get(t + 1, {})
        n = Counter(q for q in row.values() if q is not None)
        # the cells' curves as Python floats (the same numbers, faster to index one by one)
        curves: dict[int, tuple[list[float], list[float]]] = {}
        idle = (a for a, q in row.items() if q is None and (a, t) not in pinned)
        for agent in sorted(idle, key=order.__getitem__):
            before, after = before_row.get(agent), after_row.get(agent)
            best: tuple[float, float, int] | None = None
            for q in skills[agent]:
                if (before is not None and before != q) or (after is not None and after != q):
                    continue
                cell = cells[t].get(q)
                if cell is None:
                    continue  # no calls: nothing to do there
                k = n[q]
                if k + 1 > cell.max_agents:
                    continue
                if q not in curves:
                    curves[q] = (cell.shortfall.tolist(), cell.value.tolist())
                shortfall, value = curves[q]
                gain = (shortfall[k] - shortfall[k + 1], value[k + 1] - value[k], -q)
                if best is None or gain > best:
                    best = gain
            if best is not None:
                q = -best[2]
                row[agent] = out[(agent, t)] = q
                n[q] += 1
    return out


def keep_agents_in_place(problem: AllocationProblem, assignment: Assignment) -> Assignment:
    """Fewer switches at equal staffing: a documented tie-break.

    Interval by interval, the agents working in t are re-assigned so that every queue
    keeps exactly its staffing n(q,t) — so every objective term and KPI stays the same —
    while as few as possible switch from the queue they worked in t−1, then as many as
    possible stay on it: an exact transportation problem (``solvers.transport``) from
    the kinds of agents (same skills, same queue in t−1) to the places of t (each
    queue's seats, and idle), cost (agents + 1) to switch, −1 to stay, 0 for whoever was idle
    or off in t−1 and for idle places; an agent reaches only the queues of its skills.
    Pinned agent-intervals stay as they are. The result is kept only if it has fewer
    switches in total (the step is greedy in time). Within a kind, agents take places
    in scenario order: the queue they stay on first, then the others in queue order,
    idle last.
    """
    from optistaff.solvers.transport import least_cost_transport

    out = dict(assignment)
    pinned = {(p.agent, t) for p in problem.scenario.pins for t in range(p.start, p.end)}
    skills_of: dict[str, tuple[int, ...]] = {}
    for g in problem.groups:
        for a in g.members:
            skills_of[a] = g.skills
    by_t: dict[int, list[str]] = {}
    order = {a.id: i for i, a in enumerate(problem.scenario.agents)}
    for agent, t in assignment:
        if (agent, t) not in pinned:
            by_t.setdefault(t, []).append(agent)
    idle = problem.n_queues  # the sink of the idle places
    for t in sorted(by_t):
        if t == 0:
            continue
        agents = sorted(by_t[t], key=order.__getitem__)
        seats = Counter(idle if (q := out[(a, t)]) is None else q for a in agents)
        kinds: dict[tuple[tuple[int, ...], int | None], list[str]] = {}
        for a in agents:
            kinds.setdefault((skills_of[a], out.get((a, t - 1))), []).append(a)
        sinks = sorted(seats)
        switch = len(agents) + 1  # a switch outweighs every stay: fewest switches first
        column = {q: j for j, q in enumerate(sinks)}
        arcs: list[tuple[int, int, int]] = []
        for i, (skills, before) in enumerate(kinds):
            for q in sinks:
                if q == idle:
                    cost = 0
                elif q not in skills:
                    continue
                elif before is None:
                    cost = 0
                else:
                    cost = -1 if q == before else switch
                arcs.append((i, column[q], cost))
        flows = least_cost_transport(
            [len(members) for members in kinds.values()], [seats[q] for q in sinks], arcs
        )
        for i, ((_skills, before), members) in enumerate(kinds.items()):
            places: list[int | None] = []
            for q in sorted(sinks, key=lambda q: (q != before, q)):
                places += [None if q == idle else q] * flows.get((i, column[q]), 0)
            for a, q in zip(members, places, strict=True):
                out[(a, t)] = q
    if _switches(out) < _switches(assignment):
        return out
    return dict(assignment)


def _switches(assignment: Assignment) -> int:
    return sum(
        1
        for (agent, t), q in assignment.items()
        if q is not None
        and assignment.get((agent, t + 1)) is not None
        and assignment.get((agent, t + 1)) != q
    )


def closest_to(
    scenario: Scenario,
    assignment: Mapping[tuple[str, int], str | None],
    reference: Mapping[tuple[str, int], str | None],
    start: int,
) -> dict[tuple[str, int], str | None]:
    """The same staffing as ``assignment`` from interval ``start`` on, named to differ
    from ``reference`` as little as possible (a re-plan's tie-break, models/14-replan.md).

    Interval by interval from ``start``, the non-optional, unpinned agents available in
    t swap places among themselves (a place is a queue, or idle) so that every queue
    keeps exactly its staffing n(q,t) — every figure but the switches stays the same —
    while as many as possible work what ``reference`` has them on (cost 1 a difference),
    then what they worked in t−1 (cost 0.01 a switch): an exact assignment problem
    (``scipy.optimize.linear_sum_assignment``). Optional agents and pinned cells are
    left as they are (calling an agent in is a decision, not a name)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    out = dict(assignment)
    pinned = {(p.agent, t) for p in scenario.pins for t in range(p.start, p.end)}
    T = scenario.horizon.intervals
    movable = [a for a in scenario.agents if not a.optional]
    for t in range(start, T):
        agents = [
            a for a in movable if a.available[t] and (a.id, t) in out and (a.id, t) not in pinned
        ]
        if len(agents) < 2:
            continue
        places = [out[(a.id, t)] for a in agents]
        cost = np.zeros((len(agents), len(places)))
        for i, a in enumerate(agents):
            skills = set(a.skills)
            want = reference.get((a.id, t))
            before = out.get((a.id, t - 1))
            for j, q in enumerate(places):
                if q is not None and q not in skills:
                    cost[i, j] = 1e6
                    continue
                switch = q is not None and before is not None and q != before
                cost[i, j] = (0.0 if q == want else 1.0) + (0.01 if switch else 0.0)
        rows, cols = linear_sum_assignment(cost)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            out[(agents[i].id, t)] = places[j]
    return out
