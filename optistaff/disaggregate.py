"""From group counts to named agents, with the fewest switches the counts allow.

For a group of k interchangeable agents with counts x(q,t) and idle(t) unassigned
members, model.md's least number of switches between t and t+1 is
``max(0, Σ_q max(0, x(q,t) − x(q,t+1)) − idle(t+1))``. This module attains it:

1. members stay on their queue as far as the counts allow (``min(x(q,t), x(q,t+1))``);
2. the members who must leave a queue fill the idle places of t+1 first (no switch);
3. only then do leavers take the free places on other queues (one switch each);
   members idle in t take the places that remain.

Ties are broken by the order of agents in the scenario, then by queue order, so the
same counts always give the same assignment (``models/02-aggregation.md``).
"""

from __future__ import annotations

from optistaff.formulation import AllocationProblem

Assignment = dict[tuple[str, int], int | None]


def disaggregate(
    problem: AllocationProblem,
    counts: dict[tuple[int, int, int], int],
    called_in: dict[int, int],
) -> tuple[Assignment, list[str]]:
    """Name the agents: returns ``{(agent_id, t): queue index or None}`` for every available
    interval of every working agent, and the ids of optional agents called in (scenario
    order)."""
    assignment: Assignment = {}
    called: list[str] = []
    for group in problem.groups:
        if group.optional:
            working = list(group.members[: called_in.get(group.index, 0)])
            called.extend(working)
        else:
            working = list(group.members)
        if not working:
            continue
        previous: dict[str, int | None] | None = None
        for t, available in enumerate(group.available):
            if not available:
                previous = None
                continue
            x = {q: counts.get((group.index, q, t), 0) for q in group.skills}
            if sum(x.values()) > len(working):
                raise AssertionError(
                    f"group {group.index} over capacity at interval {t}: {x} > {len(working)}"
                )
            current = _place(working, x, previous)
            for agent, q in current.items():
                assignment[(agent, t)] = q
            previous = current
    order = {a.id: i for i, a in enumerate(problem.scenario.agents)}
    called.sort(key=order.__getitem__)
    return assignment, called


def _place(
    working: list[str], x: dict[int, int], previous: dict[str, int | None] | None
) -> dict[str, int | None]:
    """Place ``working`` agents so that x[q] are on queue q, the rest idle, switching as
    few agents as possible away from ``previous`` (None: no previous interval)."""
    current: dict[str, int | None] = {}
    free = dict(x)
    if previous is None:
        pool = list(working)
        for q in sorted(free):
            for _ in range(free[q]):
                current[pool.pop(0)] = q
        for agent in pool:
            current[agent] = None
        return current
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
