"""How the per-interval solves share a time limit (optistaff.solvers.per_interval.solve_intervals).

The search itself is replaced by a stub that records the deadline each interval gets and
returns made-up results, so the schedule is checked without depending on the machine's
speed: a first pass gives each interval its fair share of the time left; intervals
stopped there are solved again with all the time that remains and keep the better
result; an optimal first-pass result is never re-solved; a result without proven
bounds gets the trivial ones.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest
from ortools.sat.python import cp_model

from optistaff.formulation import build_problem
from optistaff.loading import load_scenario
from optistaff.solvers import SolveStatus, cpsat, decomposition, per_interval, results, scaling

MICHELLE = Path(__file__).resolve().parents[1] / "scenarios" / "michelle.yaml"


def _result(status: SolveStatus, short: int, value: int | None) -> Any:
    return results.BlockResult(status, {}, {}, short_obj=short, value_obj=value)


def test_first_pass_shares_the_time_and_stopped_intervals_get_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = build_problem(load_scenario(MICHELLE), pooled=True)
    T = problem.n_intervals
    calls: list[tuple[int, float, float]] = []  # (interval, seconds given, call index)
    # interval 2 stops at its share in pass 1 (worse plan); pass 2 proves it optimal
    # interval 5 stops in both passes; pass 2's plan is worse and is not kept
    first = {t: _result(SolveStatus.OPTIMAL, 0, 100) for t in range(T)}
    first[2] = _result(SolveStatus.FEASIBLE, 10, 50)
    first[5] = _result(SolveStatus.FEASIBLE, 3, 70)
    second = {2: _result(SolveStatus.OPTIMAL, 7, 60), 5: _result(SolveStatus.FEASIBLE, 4, 90)}
    seen: dict[int, int] = {}

    def fake_solve_block(
        b: Any, p: Any, scales: Any, runner: Any, until: float, *a: Any, **k: Any
    ) -> Any:
        t = next(iter({tab.cell.interval for tab in b.cells}))
        calls.append((t, until - time.monotonic(), len(calls)))
        seen[t] = seen.get(t, 0) + 1
        return first[t] if seen[t] == 1 else second[t]

    monkeypatch.setattr(cpsat, "solve_lexicographic", fake_solve_block)  # (imported by `one`)
    # the schedule is CP-SAT's: the exact interval search gives every interval up
    monkeypatch.setattr(per_interval, "_search", lambda *a, **k: (None, None))
    scales = scaling.choose_scales(problem)
    limit = 100.0
    start = time.monotonic()
    per = per_interval.solve_intervals(
        problem, scales, 1, 0, None, start + limit, 1e-6, None, start
    )
    # pass 1: every interval once, in order, each with (time left) / (intervals left)
    assert [t for t, _, _ in calls[:T]] == list(range(T))
    for i, (_t, given, _) in enumerate(calls[:T]):
        assert given == pytest.approx(limit / (T - i), rel=0.02)
    # pass 2: only the stopped intervals, with all the time that remains
    assert [t for t, _, _ in calls[T:]] == [2, 5]
    assert all(given == pytest.approx(limit, rel=0.02) for _, given, _ in calls[T:])
    assert per[2].status == SolveStatus.OPTIMAL and per[2].short_obj == 7  # pass 2's
    # pass 2 found a worse plan (more shortfall): pass 1's stays
    assert (per[5].short_obj, per[5].value_obj) == (3, 70)
    assert all(per[t].value_obj == 100 for t in range(T) if t not in (2, 5))
    # stopped before any bound was proven: the trivial ones, so the plan has a gap
    for t in range(T):
        cells = [c for (q, i), c in problem.tables.items() if i == t]
        assert per[t].bound == pytest.approx(sum(float(c.value.max()) for c in cells))
        assert per[t].shortfall_bound == pytest.approx(sum(float(c.shortfall.min()) for c in cells))


def test_the_search_shares_the_time_and_a_given_up_searchs_plan_beats_a_worse_cp_sat_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exact search's pass gets the same fair shares (a limit too short for every
    search must still search every interval: on a 10,000-agent day, searches that each
    took the whole limit left the last 35 of 96 intervals with nobody placed, weighted
    shortfall 482,723 instead of 152,223 at 30 s). An interval the search gave up on
    keeps the search's plan when CP-SAT's is worse, CP-SAT's when it is better."""
    problem = build_problem(load_scenario(MICHELLE), pooled=True)
    T = problem.n_intervals
    given: list[tuple[int, float]] = []

    def fake_search(p: Any, t: int, scales: Any, mip_gap: float, until: float) -> Any:
        given.append((t, until - time.monotonic()))
        if t == 1:  # gave up with a better plan than CP-SAT will find
            return None, _result(SolveStatus.FEASIBLE, 3, 70)
        if t == 2:  # gave up with a worse one
            return None, _result(SolveStatus.FEASIBLE, 9, 70)
        return _result(SolveStatus.OPTIMAL, 0, 100), None

    cp_sat = {1: _result(SolveStatus.FEASIBLE, 5, 90), 2: _result(SolveStatus.FEASIBLE, 4, 10)}
    worse = _result(SolveStatus.FEASIBLE, 99, 0)  # (the last pass finds nothing better)
    seen: dict[int, int] = {}

    def fake_solve_block(b: Any, *a: Any, **k: Any) -> Any:
        t = next(iter({tab.cell.interval for tab in b.cells}))
        seen[t] = seen.get(t, 0) + 1
        return cp_sat[t] if seen[t] == 1 else worse

    monkeypatch.setattr(per_interval, "_search", fake_search)
    monkeypatch.setattr(cpsat, "solve_lexicographic", fake_solve_block)
    scales = scaling.choose_scales(problem)
    limit = 100.0
    start = time.monotonic()
    per = per_interval.solve_intervals(
        problem, scales, 1, 0, None, start + limit, 1e-6, None, start
    )
    assert [t for t, _ in given] == list(range(T))
    for i, (_t, seconds) in enumerate(given):
        assert seconds == pytest.approx(limit / (T - i), rel=0.02)
    assert (per[1].short_obj, per[1].value_obj) == (3, 70)  # the search's own plan
    assert (per[2].short_obj, per[2].value_obj) == (4, 10)  # CP-SAT's
    assert seen == {1: 2, 2: 2}  # (both feasible: re-solved once more, not kept)
    assert all(per[t].status == SolveStatus.OPTIMAL for t in range(T) if t not in (1, 2))


def test_better_ranks_shortfall_first_then_value_and_searched_plans_over_none() -> None:
    unsearched = results.BlockResult(SolveStatus.FEASIBLE, {}, {}, searched=False)
    a = _result(SolveStatus.FEASIBLE, 5, 10)
    assert per_interval.better_plan(a, unsearched) and not per_interval.better_plan(unsearched, a)
    assert per_interval.better_plan(_result(SolveStatus.FEASIBLE, 4, 0), a)
    assert not per_interval.better_plan(_result(SolveStatus.FEASIBLE, 6, 99), a)
    assert per_interval.better_plan(_result(SolveStatus.FEASIBLE, 5, 11), a)
    assert not per_interval.better_plan(_result(SolveStatus.FEASIBLE, 5, None), a)
    assert per_interval.better_plan(a, _result(SolveStatus.FEASIBLE, 5, None))


def test_pins_only_is_the_unsearched_models_plan() -> None:
    """With no time left an interval's model is not even built; its plan (pins, optional
    agents all in) must be what the built but unsearched model would give."""
    import tiny

    h = tiny.horizon(4)
    queues = [tiny.queue(h, "a", forecast=[3, 4, 5, 0]), tiny.queue(h, "b", forecast=[2, 2, 2, 2])]
    agents = [
        tiny.agent(h, "p1", ["a", "b"]),
        tiny.agent(h, "p2", ["a", "b"], first=1, end=4),
        tiny.agent(h, "x", ["a"]),
        tiny.agent(h, "o", ["b"], optional=True, cost=3.0),
        tiny.agent(h, "o2", ["a"], first=2, optional=True, cost=1.0),
    ]
    pins = [
        tiny.pin(h, "p1", "b", 0, 2),
        tiny.pin(h, "p2", None, 1, 3),
        tiny.pin(h, "o", "b", 3, 4),
    ]
    problem = build_problem(tiny.scenario("pins", h, queues, agents, pins), pooled=True)
    scales = scaling.choose_scales(problem)
    for t in range(h.intervals):
        b = cpsat.build_model(problem, [t], scales, all_in=True)
        built = cpsat.fallback_result(b, cp_model.UNKNOWN)
        quick = per_interval.pins_only(problem, t)
        assert (quick.counts, quick.called_in) == (built.counts, built.called_in), t
        assert not quick.searched and not built.searched
    assert per_interval.pins_only(problem, 0).counts  # the test has pins to compare


def test_the_cli_clock_counts_the_import_only_for_a_fresh_processes_first_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from optistaff import _clock

    monkeypatch.setattr(_clock, "_first", True)
    monkeypatch.setattr(_clock, "IMPORTED_AT", time.monotonic() - 1.0)  # a fresh process
    assert _clock.command_started() == _clock.IMPORTED_AT
    later = _clock.command_started()  # a second command in the same process
    assert later > _clock.IMPORTED_AT + 0.9
    monkeypatch.setattr(_clock, "_first", True)
    monkeypatch.setattr(_clock, "IMPORTED_AT", time.monotonic() - 600.0)  # a test runner
    assert _clock.command_started() > _clock.IMPORTED_AT + 599.0


def test_level_1_keeps_the_hinted_plan_when_the_search_stops_with_a_worse_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large model stopped at its limit can hand back a plan worse than its hint (it
    had not loaded it yet): level 1 then keeps the hinted plan and its shortfall."""
    problem = build_problem(load_scenario(MICHELLE), pooled=True)
    scales = scaling.choose_scales(problem)
    t = max(
        range(problem.n_intervals),
        key=lambda i: sum(c.shortfall[0] for (_q, j), c in problem.tables.items() if j == i),
    )
    good = per_interval.search_interval(problem, t, scales, 1e-6, time.monotonic() + 60)
    assert good is not None and good.short_obj < 0  # placing agents lowers the shortfall
    b = cpsat.build_model(problem, [t], scales, all_in=True)
    cpsat.hint_solution(b, problem, good.counts, good.called_in, scales)
    assert b.hint_objectives is not None and b.hint_objectives[0] == good.short_obj

    class Nobody:  # a stopped search whose plan places nobody
        def value(self, var: Any) -> int:
            return 0

    stages = iter(
        [
            cpsat.StageResult(cp_model.FEASIBLE, 0.0, float(good.short_obj) - 1.0),
            cpsat.StageResult(cp_model.UNKNOWN, 0.0, 0.0),  # level 2 finds nothing
        ]
    )

    class Runner:
        def run(self, *a: Any, **k: Any) -> Any:
            return Nobody(), next(stages)

    res = cpsat.solve_lexicographic(
        b,
        problem,
        scales,
        cast(cpsat.Runner, Runner()),
        time.monotonic() + 60,
        1e-6,
        None,
        time.monotonic(),
    )
    assert res.short_obj == good.short_obj
    assert res.counts == good.counts


def test_a_horizon_model_that_only_lowered_the_shortfall_gives_the_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a daily minimum, a horizon model stopped after level 1 (no level-2 bound)
    that lowered the shortfall below the step-1 plan's is the better plan: it is the one
    returned (it used to be dropped for the hint)."""
    from test_solve_bruteforce import daily_minimum

    problem = build_problem(daily_minimum(), pooled=True)
    real = cpsat.solve_lexicographic
    lowered: dict[str, Any] = {}

    def horizon_stops_after_level_1(b: Any, *a: Any, **k: Any) -> Any:
        if len({tab.cell.interval for tab in b.cells}) == 1:
            return real(b, *a, **k)  # the per-interval solves run for real
        assert b.hint_objectives is not None
        lowered["plan"] = {(0, 0, 0): 1}  # a made-up plan, to see which one comes back
        return results.BlockResult(
            SolveStatus.FEASIBLE,
            lowered["plan"],
            {},
            short_obj=b.hint_objectives[0] - 1,
        )

    monkeypatch.setattr(cpsat, "solve_lexicographic", horizon_stops_after_level_1)
    # (the day as one programme, note 17, would prove this tiny day before any horizon
    # model: left out, this is about the horizon model's plan)
    monkeypatch.setattr(decomposition, "_at_the_floor", lambda *a: False)
    monkeypatch.setattr(decomposition, "_level1_proven", lambda *a: False)
    res = decomposition.solve_allocation(
        problem, time_limit_s=30.0, mip_gap=1e-6, threads=1, seed=0
    )
    assert res.counts == lowered["plan"]
    assert res.decomposition == "per-interval+horizon"
    assert res.status == SolveStatus.FEASIBLE


def test_per_interval_shortfall_bounds_floor_the_horizon_only_when_every_interval_has_one() -> None:
    """Each S_t is at most 0 (n = 0 values off), so the bounds of some intervals say
    nothing about the total: an interval step 1 never reached must not leave a floor
    that the horizon model would take as proof of level 1."""
    problem = build_problem(load_scenario(MICHELLE), pooled=True)
    scales = scaling.choose_scales(problem)
    busy = sorted({t for (_q, t) in problem.tables})
    assert len(busy) > 1
    some = results.Cuts(short_lb={t: -1000 for t in busy[:-1]})
    b = cpsat.build_model(problem, range(problem.n_intervals), scales)
    cpsat.add_cuts(b, some, scales)
    assert b.short_floor is None
    every = results.Cuts(short_lb={t: -1000 for t in range(problem.n_intervals)})
    b = cpsat.build_model(problem, range(problem.n_intervals), scales)
    cpsat.add_cuts(b, every, scales)
    assert b.short_floor == -1000 * problem.n_intervals
    lifted = results.Cuts(short_lb=dict(every.short_lb), short_floor=-5)
    b = cpsat.build_model(problem, range(problem.n_intervals), scales)
    cpsat.add_cuts(b, lifted, scales)
    assert b.short_floor == -5
