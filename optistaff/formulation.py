"""The allocation problem, solver-neutral: agent groups, value tables, coupling flags.

This module turns a validated :class:`~optistaff.scenario.Scenario` into the data
every backend builds its model from (see ``models/`` for the written formulation):

* **Agent groups** (``models/02-aggregation.md``): agents with the same skills,
  availability, optional flag and cost, and no pins, are interchangeable; the model
  decides *how many* of a group work each queue in each interval. A pinned agent is
  a group of one.
* **Exact tables** (``models/03-exact-curves.md``): for each (queue, interval) with
  calls, the value, the weighted per-interval shortfall and (for a daily minimum)
  the calls answered within target at every integer staffing n = 0..N, where N is
  the most agents that could possibly be placed there. The solver picks exactly one
  n per (queue, interval), so the non-concave S-shaped curves are represented
  exactly at integer n — no concave approximation.

Nothing here imports a solver.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from optistaff import curve_cache
from optistaff.scenario import Queue, Scenario


@dataclass(frozen=True)
class AgentGroup:
    """Interchangeable agents. ``members`` are agent ids in scenario order."""

    index: int
    members: tuple[str, ...]
    skills: tuple[int, ...]  # queue indices, ascending
    available: tuple[bool, ...]
    optional: bool
    cost_per_interval: float
    # pins: interval -> queue index or None (unassigned); only for groups of one
    pinned: dict[int, int | None] = field(default_factory=dict)
    called_in_by_pin: bool = False
    # for a per-interval pool (see pool_agents): the one interval it covers
    pool_interval: int | None = None

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def cost_if_called(self) -> float:
        """Cost of calling in one member: cost × available intervals."""
        return self.cost_per_interval * sum(self.available)


@dataclass(frozen=True)
class CellTable:
    """Exact per-n tables of one (queue, interval) with calls > 0.

    Arrays have length ``max_agents + 1``; entry n is the figure with n agents.
    ``value``: w·answered_within_target (or w·served); ``shortfall``: the weighted sum
    of the per-interval shortfalls (SL floor, abandon cap, occupancy cap);
    ``answered``: λ·SL(n), used by a daily minimum.
    """

    queue: int
    interval: int
    max_agents: int
    value: np.ndarray
    shortfall: np.ndarray
    answered: np.ndarray


@dataclass(frozen=True)
class AllocationProblem:
    """Everything a backend needs, derived once from the scenario."""

    scenario: Scenario
    groups: tuple[AgentGroup, ...]
    # (queue, interval) -> the groups able to work there
    eligible: dict[tuple[int, int], tuple[int, ...]]
    tables: dict[tuple[int, int], CellTable]
    # queue index -> (weighted daily target d·Σλ·weight, weight) for queues with a daily minimum
    daily: dict[int, float]
    # the stationary curves ``tables`` came from (:func:`queue_curves`), kept for the
    # time-varying search, which moves them every round (None: not kept)
    curves: tuple[QueueCurves, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def n_queues(self) -> int:
        return len(self.scenario.queues)

    @property
    def n_intervals(self) -> int:
        return self.scenario.horizon.intervals

    def max_agents(self, q: int, t: int) -> int:
        return sum(self.groups[g].size for g in self.eligible.get((q, t), ()))

    @property
    def couples_intervals(self) -> bool:
        """True when one interval's decision affects another's objective: a daily minimum,
        a switch penalty or an optional (all-or-nothing) agent."""
        pol = self.scenario.policy
        return bool(self.daily) or pol.switch_penalty > 0 or any(g.optional for g in self.groups)


def build_problem(
    scenario: Scenario, *, pooled: bool = False, like: AllocationProblem | None = None
) -> AllocationProblem:
    """Group agents and tabulate the exact value and shortfall curves.

    With ``pooled``, agents who are neither optional nor pinned are pooled per interval
    by skill profile (``pool_agents``): exact for every objective that does not depend
    on who works where over time, i.e. all but the switch penalty. ``like``: a problem
    of the same scenario (the other grouping) whose curves and tables are reused when
    every cell can hold the same number of agents (they are then the same tables).
    """
    groups = group_agents(scenario)
    if pooled:
        groups = pool_agents(scenario, groups)
    eligible: dict[tuple[int, int], list[int]] = defaultdict(list)
    for g in groups:
        for t, ok in enumerate(g.available):
            if not ok:
                continue
            for q in g.skills:
                pin = g.pinned.get(t, -1)
                if pin == -1 or pin == q:
                    eligible[(q, t)].append(g.index)
    frozen_eligible = {k: tuple(v) for k, v in eligible.items()}
    sizes = {k: sum(groups[g].size for g in v) for k, v in eligible.items()}
    if (
        like is not None
        and like.scenario is scenario
        and like.curves is not None
        and sizes == {k: like.max_agents(*k) for k in like.eligible}
    ):
        curves, tables = like.curves, like.tables
    else:
        curves = tuple(queue_curves(scenario, sizes))
        tables = tables_of(scenario, list(curves))
    daily: dict[int, float] = {}
    for qi, queue in enumerate(scenario.queues):
        if queue.daily_service_level is not None and sum(queue.forecast) > 0:
            daily[qi] = queue.daily_service_level * float(sum(queue.forecast))
    return AllocationProblem(scenario, tuple(groups), frozen_eligible, tables, daily, curves)


def group_agents(scenario: Scenario) -> list[AgentGroup]:
    """Agents with equal (skills, availability, optional, cost) and no pins form one group.

    Groups are ordered by their first member's position in the scenario, so the
    grouping (and everything built on it) is deterministic.
    """
    qidx = {q.id: i for i, q in enumerate(scenario.queues)}
    pinned_agents: dict[str, dict[int, int | None]] = defaultdict(dict)
    for pin in scenario.pins:
        target = None if pin.queue is None else qidx[pin.queue]
        for t in range(pin.start, pin.end):
            pinned_agents[pin.agent][t] = target
    keyed: dict[tuple[object, ...], list[str]] = {}
    order: list[tuple[object, ...]] = []
    for agent in scenario.agents:
        skills = tuple(sorted(qidx[s] for s in set(agent.skills)))
        if agent.id in pinned_agents:
            key: tuple[object, ...] = ("pinned", agent.id)
        else:
            key = (skills, agent.available, agent.optional, float(agent.cost))
        if key not in keyed:
            keyed[key] = []
            order.append(key)
        keyed[key].append(agent.id)
    groups: list[AgentGroup] = []
    for key in order:
        members = tuple(keyed[key])
        first = scenario.agent(members[0])
        pins = pinned_agents.get(first.id, {}) if key[0] == "pinned" else {}
        groups.append(
            AgentGroup(
                index=len(groups),
                members=members,
                skills=tuple(sorted(qidx[s] for s in set(first.skills))),
                available=first.available,
                optional=first.optional,
                cost_per_interval=float(first.cost) if first.optional else 0.0,
                pinned=dict(pins),
                called_in_by_pin=first.optional and bool(pins),
            )
        )
    return groups


def pool_agents(scenario: Scenario, groups: list[AgentGroup]) -> list[AgentGroup]:
    """Per-interval pools (``models/02-aggregation.md``): in interval t, every available
    agent that is neither optional nor pinned and has skill profile P is interchangeable
    with every other such agent, whatever their shifts. One group per (P, t) replaces the
    availability-keyed groups; optional and pinned groups are kept as they are."""
    T = scenario.horizon.intervals
    kept = [g for g in groups if g.optional or g.pinned]
    pools: dict[tuple[tuple[int, ...], int], list[str]] = {}
    order = {a.id: i for i, a in enumerate(scenario.agents)}
    for g in groups:
        if g.optional or g.pinned:
            continue
        for t in range(T):
            if g.available[t]:
                pools.setdefault((g.skills, t), []).extend(g.members)
    out: list[AgentGroup] = []
    for g in kept:
        out.append(replace(g, index=len(out)))
    for (skills, t), members in sorted(pools.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        out.append(
            AgentGroup(
                index=len(out),
                members=tuple(sorted(members, key=order.__getitem__)),
                skills=skills,
                available=tuple(i == t for i in range(T)),
                optional=False,
                cost_per_interval=0.0,
                pool_interval=t,
            )
        )
    return out


#: Per cell (queue, interval): what the time-varying model adds, at the plan's own
#: staffing, to the stationary answered-within-target, abandoned and served calls
#: (``models/13-carry-over.md``); a table built with it is the stationary curve moved by
#: that much (clipped to [0, calls]).
Corrections = Mapping[tuple[int, int], tuple[float, float, float]]


def tabulate(
    scenario: Scenario,
    max_agents: dict[tuple[int, int], int],
    corrections: Corrections | None = None,
) -> dict[tuple[int, int], CellTable]:
    """Exact tables for every (queue, interval) with calls > 0: cell (q, t) for
    n = 0..max_agents[(q, t)] only (its own eligible count, not the queue's largest), all
    of one queue's cells in one flat vectorised evaluation. Cells nobody can staff still
    get a table of length 1 (n = 0). Queues are tabulated ``policy.threads`` at a time
    (numpy releases the GIL); the tables do not depend on the thread count. With
    ``corrections``, each cell's curves are moved by its correction (:data:`Corrections`)."""
    return tables_of(scenario, queue_curves(scenario, max_agents), corrections)


@dataclass(frozen=True)
class QueueCurves:
    """The stationary curves of one queue's cells with calls, flat: ``row`` is the
    index into ``ts`` (its intervals), ``n`` the staffing; answered within target,
    abandoned and served calls (the expensive part of :func:`tabulate`)."""

    queue: int
    ts: tuple[int, ...]
    sizes: np.ndarray
    row: np.ndarray
    n: np.ndarray
    lam: np.ndarray
    aht: np.ndarray
    answered: np.ndarray
    abandoned: np.ndarray
    served: np.ndarray


def queue_curves(scenario: Scenario, max_agents: dict[tuple[int, int], int]) -> list[QueueCurves]:
    """Every queue's :class:`QueueCurves`, ``policy.threads`` queues at a time."""
    queues = range(len(scenario.queues))
    threads = max(1, min(scenario.policy.threads, len(scenario.queues)))
    if threads == 1:
        return [_queue_curves(scenario, qi, max_agents) for qi in queues]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tables") as pool:
        return list(pool.map(lambda qi: _queue_curves(scenario, qi, max_agents), queues))


def tables_of(
    scenario: Scenario, curves: list[QueueCurves], corrections: Corrections | None = None
) -> dict[tuple[int, int], CellTable]:
    """The tables of :func:`tabulate` from the queues' curves, each cell moved by its
    correction when given (cheap: the curves are computed once)."""
    fixes = corrections or {}
    return {key: cell for c in curves for key, cell in _tables_from(scenario, c, fixes).items()}


def cell_terms(
    queue: Queue,
    objective: str,
    interval_s: float,
    calls: np.ndarray,
    aht_s: np.ndarray,
    agents: np.ndarray,
    answered: np.ndarray,
    abandoned: np.ndarray,
    served: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell (arrays alike): the value (w·answered within target, or w·served) and the
    weighted per-interval shortfall (SL floor, abandon cap, occupancy cap) of a queue,
    from the calls answered within target, abandoned and served (counts)."""
    worth = queue.value * (served if objective == "served" else answered)
    short = np.zeros_like(answered)
    if queue.min_service_level is not None:
        short += np.maximum(0.0, queue.min_service_level * calls - answered)
    if queue.max_abandon_rate is not None:
        short += np.maximum(0.0, abandoned - queue.max_abandon_rate * calls)
    if queue.max_occupancy is not None:
        short += np.maximum(0.0, calls - queue.max_occupancy * agents * interval_s / aht_s)
    return worth, short * queue.weight


def _queue_curves(
    scenario: Scenario, qi: int, max_agents: dict[tuple[int, int], int]
) -> QueueCurves:
    """The curves of queue ``qi`` (see :class:`QueueCurves`)."""
    h = scenario.horizon
    queue = scenario.queues[qi]
    ts = [t for t in range(h.intervals) if queue.forecast[t] > 0]
    sizes = np.array([max_agents.get((qi, t), 0) + 1 for t in ts], dtype=np.int64)
    row = np.repeat(np.arange(len(ts)), sizes)
    n = np.arange(int(sizes.sum()), dtype=float) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    lam = np.array([queue.forecast[t] for t in ts], dtype=float)[row]
    aht = np.array([queue.aht_s[t] for t in ts], dtype=float)[row]
    if not ts:
        empty = np.zeros(0)
        return QueueCurves(qi, (), sizes, row, n, lam, aht, empty, empty, empty)
    perf = curve_cache.performance(
        lam, aht, h.interval_s, queue.answer_within_s, n, patience_s=queue.patience_s
    )
    sl = np.nan_to_num(perf.service_level, nan=0.0)
    answered = lam * sl
    abandoned = lam * perf.abandon_rate
    served = lam * (1.0 - perf.abandon_rate)
    return QueueCurves(qi, tuple(ts), sizes, row, n, lam, aht, answered, abandoned, served)


def _tables_from(
    scenario: Scenario, curves: QueueCurves, corrections: Corrections
) -> dict[tuple[int, int], CellTable]:
    """The tables of one queue from its curves (see :func:`tables_of`)."""
    qi, ts = curves.queue, curves.ts
    tables: dict[tuple[int, int], CellTable] = {}
    if not ts:
        return tables
    lam = curves.lam
    answered, abandoned, served = curves.answered, curves.abandoned, curves.served
    if corrections:
        fix = np.array([corrections.get((qi, t), (0.0, 0.0, 0.0)) for t in ts], dtype=float)
        fix = fix[curves.row]
        answered = np.clip(answered + fix[:, 0], 0.0, lam)
        abandoned = np.clip(abandoned + fix[:, 1], 0.0, lam)
        served = np.clip(served + fix[:, 2], 0.0, lam)
    worth, short = cell_terms(
        scenario.queues[qi],
        scenario.policy.objective,
        scenario.horizon.interval_s,
        lam,
        curves.aht,
        curves.n,
        answered,
        abandoned,
        served,
    )
    ends = np.cumsum(curves.sizes)
    for t, end, size in zip(ts, ends, curves.sizes, strict=True):
        cut = slice(int(end - size), int(end))
        tables[(qi, t)] = CellTable(
            queue=qi,
            interval=t,
            max_agents=int(size - 1),
            value=worth[cut].copy(),
            shortfall=short[cut].copy(),
            answered=answered[cut].copy(),
        )
    return tables
