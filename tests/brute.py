"""Exhaustive search for the optimum of a tiny scenario, independent of the solver.

Every feasible decision is considered: each optional agent in or out (a pin calls
them in), and every worked agent-interval on one of the agent's skills or unassigned
(pins fixed). The search is a dynamic programme over intervals that drops nothing
that could still win:

- the state after interval t holds exactly what later intervals can still change:
  the queue of each multi-skilled agent who also works t+1 (for switches, only when
  the switch penalty is not 0) and, per queue with a daily standard, the running sum of calls
  answered within target (the daily shortfall is not additive);
- per state, all Pareto-optimal pairs (weighted shortfall S so far, value − switching
  so far) are kept. A pair dominated in the same state is never needed: any
  continuation adds the same amounts to both, so the dominating pair stays at least as
  good under the lexicographic rule with tolerance and under a shortfall price.

Ranking follows models/00-contract.md: S* = min S; then the best total among decisions with
S ≤ S* + max(1e-9·S*, 1e-7); with ``policy.shortfall_price`` one objective,
value − cost − switching − price·S.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from checker import Evaluation, Tables, evaluate, interval_row

from optistaff.scenario import Scenario

MAX_WORK = 400_000


class TooBig(Exception):
    """The scenario is too big for exhaustive search."""


def shortfall_tolerance(s_star: float) -> float:
    """models/00-contract.md level 1: optimal when S <= S* + max(1e-9·S*, 1e-7)."""
    return max(1e-9 * s_star, 1e-7)


def total_tolerance(total: float) -> float:
    """The contract: compared to brute force within 1e-6 relative, 1e-6 absolute near zero."""
    return max(1e-6 * abs(total), 1e-6)


@dataclass
class Optimum:
    """The optimum of a scenario, and one decision attaining it."""

    min_shortfall: float  # S*: the least weighted shortfall of any decision
    weighted_shortfall: float  # S of the chosen decision
    total: float  # total of the chosen decision: the best total (see module docstring)
    decision: dict[tuple[str, int], str | None]
    called_in: tuple[str, ...]
    evaluation: Evaluation
    lexicographic: bool  # False when policy.shortfall_price makes one objective
    work: int  # transitions examined

    def accepts(self, weighted_shortfall: float, total: float) -> list[str]:
        """Why a plan with these numbers is not optimal by the contract's tolerances ([] if so)."""
        problems: list[str] = []
        if self.lexicographic:
            limit = self.min_shortfall + shortfall_tolerance(self.min_shortfall)
            if weighted_shortfall > limit:
                problems.append(
                    f"weighted shortfall {weighted_shortfall!r} > brute force S* "
                    f"{self.min_shortfall!r} (+ tolerance: {limit!r})"
                )
        if abs(total - self.total) > total_tolerance(self.total):
            problems.append(f"total {total!r}, brute force {self.total!r}")
        return problems

    def beats(self, other: Optimum) -> bool:
        """True if this optimum is strictly better than ``other`` beyond the tolerances."""
        return self.better_than(other.min_shortfall, other.total)

    def better_than(self, weighted_shortfall: float, total: float) -> bool:
        """True if this optimum is strictly better than a decision with these numbers."""
        if self.lexicographic:
            if self.min_shortfall < weighted_shortfall - shortfall_tolerance(weighted_shortfall):
                return True
            if weighted_shortfall < self.min_shortfall - shortfall_tolerance(self.min_shortfall):
                return False
        return self.total > total + total_tolerance(total)


Restriction = Mapping[tuple[str, int], Collection[str | None]]


def optimum(
    scenario: Scenario,
    *,
    restrict: Restriction | None = None,
    tables: Tables | None = None,
    max_work: int = MAX_WORK,
) -> Optimum:
    """The optimum of ``scenario`` by exhaustive search (see the module docstring).

    ``restrict`` limits the choices of some agent-intervals further (for "where does
    Michelle belong": the optimum with her fixed in one interval). Raises TooBig when
    more than ``max_work`` transitions would be needed.
    """
    tables = Tables(scenario) if tables is None else tables
    optional = [a for a in scenario.agents if a.optional]
    pinned = {p.agent for p in scenario.pins}
    forced = [a.id for a in optional if a.id in pinned]
    free = [a.id for a in optional if a.id not in pinned]
    finals: list[tuple[float, float, tuple[str, ...], Any]] = []
    work = 0
    for k in range(len(free) + 1):
        for subset in itertools.combinations(free, k):
            called = tuple(a.id for a in optional if a.id in forced or a.id in subset)
            ends, used = _search(scenario, called, restrict or {}, tables, max_work - work)
            work += used
            finals.extend((s, v, called, path) for s, v, path in ends)
    if not finals:
        raise AssertionError("no feasible decision (restriction contradicts a pin?)")
    price = scenario.policy.shortfall_price
    s_star = min(f[0] for f in finals)
    if price is None:
        limit = s_star + shortfall_tolerance(s_star)
        best = max((f for f in finals if f[0] <= limit), key=lambda f: f[1])
    else:
        best = max(finals, key=lambda f: f[1] - price * f[0])
    decision = _decision(best[3])
    ev = evaluate(scenario, decision, best[2], tables)
    total = best[1] - (0.0 if price is None else price * best[0])
    # the DP and the direct evaluation must agree (same formulas, other summation order)
    assert abs(ev.weighted_shortfall - best[0]) <= 1e-9 * max(1.0, best[0]), (ev, best)
    assert abs(ev.total - total) <= 1e-9 * max(1.0, abs(total), ev.scales["total"]), (ev, best)
    return Optimum(
        min_shortfall=s_star,
        weighted_shortfall=ev.weighted_shortfall,
        total=ev.total,
        decision=decision,
        called_in=ev.called_in,
        evaluation=ev,
        lexicographic=price is None,
        work=work,
    )


# A path node: (previous node, agent ids of interval t, the queues chosen for them, t)
Node = tuple[Any, tuple[str, ...], tuple[str | None, ...], int]


def _decision(node: Any) -> dict[tuple[str, int], str | None]:
    decision: dict[tuple[str, int], str | None] = {}
    while node is not None:
        node, ids, choice, t = node
        for aid, qid in zip(ids, choice, strict=True):
            decision[aid, t] = qid
    return decision


def _insert(front: list[tuple[float, float, Any]], s: float, v: float, node: Any) -> None:
    """Add (s, v) to a Pareto front (min s, max v) unless an entry dominates it."""
    for fs, fv, _ in front:
        if fs <= s and fv >= v:
            return
    front[:] = [e for e in front if not (s <= e[0] and v >= e[1])]
    front.append((s, v, node))


def _search(
    scenario: Scenario,
    called: tuple[str, ...],
    restrict: Restriction,
    tables: Tables,
    budget: int,
) -> tuple[list[tuple[float, float, Any]], int]:
    """Pareto ends (S, value − switching − cost, path) of every decision with ``called`` in."""
    h = scenario.horizon
    policy = scenario.policy
    track_switches = policy.switch_penalty != 0
    pins: dict[tuple[str, int], str | None] = {}
    for p in scenario.pins:
        for t in range(p.start, p.end):
            pins[p.agent, t] = p.queue
    working = [a for a in scenario.agents if not a.optional or a.id in called]
    daily = [qi for qi, q in enumerate(scenario.queues) if q.daily_service_level is not None]
    qindex = {q.id: qi for qi, q in enumerate(scenario.queues)}

    contrib_cache: dict[tuple[int, tuple[int, ...]], tuple[float, float, tuple[float, ...]]] = {}

    def contrib(t: int, counts: tuple[int, ...]) -> tuple[float, float, tuple[float, ...]]:
        key = (t, counts)
        if key not in contrib_cache:
            s = v = 0.0
            answered: dict[int, float] = {}
            for qi, q in enumerate(scenario.queues):
                row = interval_row(scenario, tables, qi, t, counts[qi])
                s += q.weight * (
                    row["shortfall_sl_calls"]
                    + row["shortfall_abandon_calls"]
                    + row["shortfall_occupancy_calls"]
                )
                v += row["value"]
                answered[qi] = row["answered_within_target"]
            contrib_cache[key] = (s, v, tuple(answered[qi] for qi in daily))
        return contrib_cache[key]

    # state: (queues of the carried agents, running daily answered sums)
    layer: dict[Any, list[tuple[float, float, Any]]] = {
        ((), (0.0,) * len(daily)): [(0.0, 0.0, None)]
    }
    prev_carry: list[str] = []
    work = 0
    for t in range(h.intervals):
        ids = [a.id for a in working if a.available[t]]
        options: list[tuple[str | None, ...]] = []
        for a in working:
            if not a.available[t]:
                continue
            if (a.id, t) in pins:
                opts: tuple[str | None, ...] = (pins[a.id, t],)
            else:
                opts = (None, *a.skills)
            if (a.id, t) in restrict:
                opts = tuple(o for o in opts if o in restrict[a.id, t])
            options.append(opts)
        carry = (
            [
                a.id
                for a in working
                if a.available[t]
                and t + 1 < h.intervals
                and a.available[t + 1]
                and len(a.skills) > 1  # one skill: never a switch
            ]
            if track_switches
            else []
        )
        pos = {aid: i for i, aid in enumerate(ids)}
        carry_pos = [pos[aid] for aid in carry]
        prev_pos = [pos[aid] for aid in prev_carry]
        # distinct moves: what the future and the switch count can see of a choice
        moves: dict[Any, tuple[str | None, ...]] = {}
        for choice in itertools.product(*options):
            counts = [0] * len(scenario.queues)
            for qid in choice:
                if qid is not None:
                    counts[qindex[qid]] += 1
            key = (
                tuple(counts),
                tuple(choice[i] for i in carry_pos),
                tuple(choice[i] for i in prev_pos),
            )
            moves.setdefault(key, choice)
        new_layer: dict[Any, list[tuple[float, float, Any]]] = {}
        for (carried, sums), front in layer.items():
            for (counts_t, carry_out, seen_prev), choice in moves.items():
                work += len(front)
                if work > budget:
                    raise TooBig(f"more than {budget} transitions")
                s_t, v_t, answered = contrib(t, counts_t)
                switches = sum(
                    1
                    for before, now in zip(carried, seen_prev, strict=True)
                    if before is not None and now is not None and before != now
                )
                v_t -= policy.switch_penalty * switches
                new_sums = tuple(x + y for x, y in zip(sums, answered, strict=True))
                target = new_layer.setdefault((carry_out, new_sums), [])
                for s, v, node in front:
                    _insert(target, s + s_t, v + v_t, (node, tuple(ids), choice, t))
        layer = new_layer
        prev_carry = carry

    cost = sum(a.cost * a.available_intervals for a in working if a.optional)
    ends: list[tuple[float, float, Any]] = []
    totals = [sum(scenario.queues[qi].forecast) for qi in daily]
    for (_carried, sums), front in layer.items():
        extra = 0.0
        for qi, calls, answered_sum in zip(daily, totals, sums, strict=True):
            q = scenario.queues[qi]
            assert q.daily_service_level is not None
            extra += q.weight * max(0.0, q.daily_service_level * calls - answered_sum)
        for s, v, node in front:
            ends.append((s + extra, v - cost, node))
    return ends, work


def placements(
    scenario: Scenario, agent_id: str, tables: Tables | None = None, max_work: int = MAX_WORK
) -> tuple[Optimum, dict[int, dict[str | None, Optimum]]]:
    """The optimum, and for each interval the agent works, the optimum with the agent fixed
    to each of their choices there: {t: {queue or None: Optimum}}."""
    tables = Tables(scenario) if tables is None else tables
    best = optimum(scenario, tables=tables, max_work=max_work)
    a = scenario.agent(agent_id)
    pinned = {
        t: p.queue for p in scenario.pins if p.agent == agent_id for t in range(p.start, p.end)
    }
    result: dict[int, dict[str | None, Optimum]] = {}
    for t in range(scenario.horizon.intervals):
        if not a.available[t]:
            continue
        choices: tuple[str | None, ...] = (pinned[t],) if t in pinned else (None, *a.skills)
        result[t] = {
            c: optimum(scenario, restrict={(agent_id, t): (c,)}, tables=tables, max_work=max_work)
            for c in choices
        }
    return best, result


def optimal_choices(best: Optimum, by_choice: Mapping[str | None, Optimum]) -> set[str | None]:
    """The choices whose constrained optimum is as good as the unconstrained one."""
    return {c for c, opt in by_choice.items() if not best.beats(opt)}


def decisions(scenario: Scenario, max_decisions: int = 50_000) -> Iterator[Evaluation]:
    """Every decision of ``scenario`` (each optional agent in or out, every worked
    agent-interval on a skill or unassigned, pins fixed), evaluated one by one with
    ``checker.evaluate``; TooBig past ``max_decisions``."""
    tables = Tables(scenario)
    pins = {(p.agent, t): p.queue for p in scenario.pins for t in range(p.start, p.end)}
    pinned = {p.agent for p in scenario.pins}
    optional = [a.id for a in scenario.agents if a.optional]
    keys_all = [
        (a.id, t, (pins[a.id, t],) if (a.id, t) in pins else (None, *a.skills))
        for a in scenario.agents
        for t in range(scenario.horizon.intervals)
        if a.available[t]
    ]
    seen = 0
    for k in range(len(optional) + 1):
        for subset in itertools.combinations(optional, k):
            if not pinned.intersection(optional) <= set(subset):
                continue
            called = set(subset)
            keys = [
                (aid, t, opts)
                for aid, t, opts in keys_all
                if not scenario.agent(aid).optional or aid in called
            ]
            for choice in itertools.product(*(opts for _, _, opts in keys)):
                seen += 1
                if seen > max_decisions:
                    raise TooBig(f"more than {max_decisions} decisions")
                decision = {(aid, t): q for (aid, t, _), q in zip(keys, choice, strict=True)}
                yield evaluate(scenario, decision, called, tables)


def naive_optimum(scenario: Scenario, max_decisions: int = 50_000) -> tuple[float, float]:
    """(S*, total*) by plain enumeration of every decision (:func:`decisions`): slow,
    but with no cleverness to get wrong (it checks ``optimum``)."""
    results = [(ev.weighted_shortfall, ev.total) for ev in decisions(scenario, max_decisions)]
    s_star = min(s for s, _ in results)
    if scenario.policy.shortfall_price is not None:
        return s_star, max(t for _, t in results)
    limit = s_star + shortfall_tolerance(s_star)
    return s_star, max(t for s, t in results if s <= limit)


def daily_optimum(scenario: Scenario, *, overtime: bool = False) -> Optimum:
    """Brute force's optimum of a random day that has a daily minimum (and, with
    ``overtime``, an optional agent) and a level 1 at all; any other day is rejected
    (hypothesis), as is one too big to enumerate."""
    from hypothesis import reject

    from optistaff.formulation import build_problem
    from optistaff.solvers import scaling

    p = build_problem(scenario, pooled=True)
    if not p.daily or (overtime and not any(g.optional for g in p.groups)):
        reject()
    if scaling.choose_scales(p).shortfall <= 0:
        reject()
    try:
        return optimum(scenario)
    except TooBig:
        reject()
