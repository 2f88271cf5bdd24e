"""Naming agents: the tie-breaks keep every staffing count and only remove switches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

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
