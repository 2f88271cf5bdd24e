"""Level 2 of a one-interval CP-SAT model from the best plan that keeps every cell's
level-1 shortfall (``interval_search.keep_shortfall`` and ``cpsat.nothing_outside``).

That plan is level 2's optimum only when no plan outside its box has as little
shortfall. Two queues alike in everything the shortfall sees but not in value make a
level-1 tie: the box around the cheap queue's plan excludes the valuable one, and the
check must see it (a solver that trusted the box would report the cheap plan). On a
real scenario the shortcut must give CP-SAT's own level-2 optimum wherever it is taken.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import tiny

from optistaff.formulation import AllocationProblem, build_problem
from optistaff.loading import load_scenario
from optistaff.solvers import SolveStatus, cpsat, interval_search, results, scaling
from optistaff.solvers.cpsat import runner as cpsat_runner

MICHELLE = Path(__file__).resolve().parents[1] / "scenarios" / "michelle.yaml"
FAR = 1e18


def one_interval(p: AllocationProblem, t: int, level2_start: Any = None) -> results.BlockResult:
    scales = scaling.choose_scales(p)
    b = cpsat.build_model(p, [t], scales, all_in=True)
    runner = cpsat.Runner(1, 0, tuning=cpsat.INTERVAL_TUNING)
    now = time.monotonic()
    return cpsat.solve_lexicographic(
        b, p, scales, runner, now + 60, 1e-6, None, now, level2_start=level2_start
    )


def test_a_box_that_misses_level_2s_optimum_is_not_trusted() -> None:
    h = tiny.horizon(1)
    alike = dict(forecast=[10], aht_s=300, min_service_level=0.8, shortfall_weight=1.0)
    cheap = tiny.queue(h, "cheap", value=1, **alike)  # type: ignore[arg-type]
    dear = tiny.queue(h, "dear", value=5, **alike)  # type: ignore[arg-type]
    agents = [tiny.agent(h, f"a{i}", ["cheap", "dear"]) for i in range(3)]
    p = build_problem(tiny.scenario("tie", h, [cheap, dear], agents), pooled=True)
    scales = scaling.choose_scales(p)
    data = interval_search.interval_data(p, 0, scales.shortfall, scales.value)
    (g,) = data.groups
    everyone_on = {q: {(g, q, 0): 3} for q in (0, 1)}
    short = [sum(int(data.shortfall[c][3 if c == q else 0]) for c in (0, 1)) for q in (0, 1)]
    assert short[0] == short[1] < 0  # a level-1 tie that placing agents helps
    assert min(data.shortfall[0]) == data.shortfall[0][3]  # three agents meet one queue

    def start_on_cheap(counts: Any) -> interval_search.KeptShortfall | None:
        return interval_search.keep_shortfall(
            data, everyone_on[0], tol=1, node_limit=64, deadline=FAR
        )

    kept = start_on_cheap(None)
    assert kept is not None and kept.proven and kept.counts == everyone_on[0]
    reference = one_interval(p, 0)
    got = one_interval(p, 0, start_on_cheap)
    assert reference.status == got.status == SolveStatus.OPTIMAL
    assert got.short_obj == reference.short_obj == short[0]
    assert reference.value_obj is not None
    assert got.value_obj == reference.value_obj > kept.value
    assert got.counts == everyone_on[1]


def test_the_shortcut_gives_cpsats_own_level_2_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    p = build_problem(load_scenario(MICHELLE), pooled=True)
    scales = scaling.choose_scales(p)
    taken: list[bool] = []
    probe = cpsat.nothing_outside

    def spy(*a: Any, **k: Any) -> bool:
        taken.append(probe(*a, **k))
        return taken[-1]

    monkeypatch.setattr(cpsat_runner, "nothing_outside", spy)
    for t in range(p.n_intervals):
        data = interval_search.interval_data(p, t, scales.shortfall, scales.value)

        def start(
            counts: Any, data: interval_search.IntervalData = data
        ) -> interval_search.KeptShortfall | None:
            return interval_search.keep_shortfall(data, counts, tol=1, node_limit=64, deadline=FAR)

        reference = one_interval(p, t)
        got = one_interval(p, t, start)
        assert reference.status == got.status == SolveStatus.OPTIMAL
        assert got.short_obj == reference.short_obj
        assert reference.value_obj is not None and got.value_obj is not None
        assert abs(got.value_obj - reference.value_obj) <= max(1e-6 * scales.value, 1)
    assert any(taken)  # the box was proven to hold level 2 somewhere
