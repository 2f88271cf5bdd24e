"""Naming agents: the tie-breaks keep every staffing count and only remove switches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import optistaff
from optistaff.disaggregate import _switches, disaggregate, fill_idle, keep_agents_in_place
from optistaff.formulation import build_problem
from optistaff.solvers import decomposition

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _counts(assignment: dict[tuple[str, int], int | None]) -> Counter[tuple[int, int]]:
    return Counter((q, t) for (_a, t), q in assignment.items() if q is not None)


def test_keeping_agents_in_place_keeps_staffing_and_removes_switches() -> None:
    scenario = optistaff.load_scenario(str(SCENARIOS / "contact-center.yaml"))
    problem = build_problem(scenario, pooled=True)
    result = decomposition.solve_allocation(
        problem, time_limit_s=60, mip_gap=1e-6, threads=1, seed=0
    )
    named, _called = disaggregate(problem, result.counts, result.called_in)
    kept = keep_agents_in_place(problem, named)
    assert _counts(kept) == _counts(named)
    assert set(kept) == set(named)
    assert _switches(kept) < _switches(named)
    for (agent, t), q in kept.items():
        if q is not None:
            assert scenario.queue_ids[q] in scenario.agent(agent).skills, (agent, t)


def test_filling_idle_agents_never_removes_anyone_and_respects_skills() -> None:
    scenario = optistaff.load_scenario(str(SCENARIOS / "michelle.yaml"))
    problem = build_problem(scenario, pooled=True)
    result = decomposition.solve_allocation(
        problem, time_limit_s=60, mip_gap=1e-6, threads=1, seed=0
    )
    named, _called = disaggregate(problem, result.counts, result.called_in)
    filled = fill_idle(problem, named)
    before, after = _counts(named), _counts(filled)
    assert all(after[key] >= n for key, n in before.items())
    assert _switches(filled) <= _switches(named)
    for (agent, _t), q in filled.items():
        if q is not None:
            assert scenario.queue_ids[q] in scenario.agent(agent).skills


def _lsa_least_cost(
    scenario: optistaff.Scenario, kept: dict[tuple[str, int], int | None], t: int
) -> tuple[int, int]:
    """The least (1,000 × switches − stays) of interval t given kept's t − 1, by an
    assignment problem over single agents (scipy's, independent of the production flow),
    and kept's own."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    pinned = {(p.agent, u) for p in scenario.pins for u in range(p.start, p.end)}
    qidx = {q: i for i, q in enumerate(scenario.queue_ids)}
    agents = [a for a in scenario.agents if (a.id, t) in kept and (a.id, t) not in pinned]
    slots = [kept[(a.id, t)] for a in agents]

    def cost(agent: optistaff.scenario.Agent, q: int | None) -> float:
        if q is None:
            return 0.0
        if q not in {qidx[s] for s in agent.skills}:
            return 1e9
        before = kept.get((agent.id, t - 1))
        if before is None:
            return 0.0
        return -1.0 if q == before else 1000.0

    matrix = np.array([[cost(a, q) for q in slots] for a in agents])
    rows, cols = linear_sum_assignment(matrix)
    best = round(matrix[rows, cols].sum())
    own = round(sum(cost(a, kept[(a.id, t)]) for a in agents))
    return best, own


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_keeping_agents_in_place_is_an_exact_assignment_per_interval(seed: int) -> None:
    """Every interval's naming attains the least switches (then the most stays) that an
    assignment problem over single agents finds, given the interval before: on random
    assignments of contact-center's agents (a random skill or idle each interval)."""
    import random

    scenario = optistaff.load_scenario(str(SCENARIOS / "contact-center.yaml"))
    problem = build_problem(scenario, pooled=True)
    rng = random.Random(seed)
    qidx = {q: i for i, q in enumerate(scenario.queue_ids)}
    named: dict[tuple[str, int], int | None] = {}
    for agent in scenario.agents:
        for t, ok in enumerate(agent.available):
            if ok:
                named[(agent.id, t)] = rng.choice([None, *(qidx[s] for s in agent.skills)])
    kept = keep_agents_in_place(problem, named)
    assert _counts(kept) == _counts(named)
    assert _switches(kept) < _switches(named)
    for t in range(1, scenario.horizon.intervals):
        best, own = _lsa_least_cost(scenario, kept, t)
        assert own == best, (t, own, best)
