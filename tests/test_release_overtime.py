"""Overtime a plan stopped by the limit may not need is given back
(``optional_agents.release_unneeded``, models/05-optional-and-switches.md "Released").

Independent truth: ``tests/checker.py`` evaluates the plan before and after (its own
queueing arithmetic): the weighted shortfall never rises and the total never falls; a
member is released exactly when the checker's figures say it was worth less than its
cost without adding shortfall."""

from __future__ import annotations

from dataclasses import replace

import checker
import tiny

from optistaff.disaggregate import disaggregate
from optistaff.formulation import build_problem
from optistaff.scenario import Scenario
from optistaff.solvers import SolverResult, SolveStatus
from optistaff.solvers.optional_agents import release_unneeded


def day(cost: float, forecast: float, daily: float | None = None) -> Scenario:
    """Two regular agents and one overtime agent on one queue for two intervals."""
    h = tiny.horizon(2)
    queues = [
        tiny.queue(
            h, "q", forecast=[forecast, forecast], value=1, aht_s=300,
            min_service_level=0.5, daily_service_level=daily,
        )
    ]  # fmt: skip
    agents = [
        tiny.agent(h, "a", ["q"]),
        tiny.agent(h, "b", ["q"]),
        tiny.agent(h, "ot", ["q"], optional=True, cost=cost),
    ]
    return tiny.scenario("release", h, queues, agents)


def everyone_placed(sc: Scenario) -> tuple[object, SolverResult]:
    p = build_problem(sc, pooled=True)
    counts = {(g.index, 0, t): g.size for g in p.groups for t in range(2) if g.available[t]}
    called = {g.index: g.size for g in p.groups if g.optional}
    res = SolverResult(SolveStatus.FEASIBLE, counts, called, None, None, None, "test", "test")
    return p, res


def figures(sc: Scenario, p: object, res: SolverResult) -> checker.Evaluation:
    by_index, called = disaggregate(p, res.counts, res.called_in)  # type: ignore[arg-type]
    decision = {k: (None if q is None else sc.queues[q].id) for k, q in by_index.items()}
    return checker.evaluate(sc, decision, called)


def test_overtime_worth_less_than_its_cost_is_released() -> None:
    sc = day(cost=5.0, forecast=6)  # two agents answer nearly every call
    p, res = everyone_placed(sc)
    before = figures(sc, p, res)
    out = release_unneeded(p, res)  # type: ignore[arg-type]
    after = figures(sc, p, out)
    assert out.called_in == {}
    assert out.stats["overtime_released"] == 1
    assert after.weighted_shortfall <= before.weighted_shortfall + 1e-9
    assert after.total > before.total
    # (the checker agrees the third agent added less value than its cost)
    assert before.value - after.value < 5.0 * 2


def test_overtime_that_level_1_needs_is_kept() -> None:
    sc = day(cost=5.0, forecast=15)  # 2.5 erlangs: two agents answer nothing in time
    p, res = everyone_placed(sc)
    out = release_unneeded(p, res)  # type: ignore[arg-type]
    assert out.called_in == res.called_in
    before, after = figures(sc, p, res), figures(sc, p, out)
    assert after.weighted_shortfall == before.weighted_shortfall


def test_overtime_a_daily_minimum_needs_is_kept() -> None:
    """No interval is short of its minimum without it, but the day's SL is."""
    sc = day(cost=5.0, forecast=6, daily=0.85)
    p, res = everyone_placed(sc)
    # without the daily minimum the same agent is released (the day above): the daily
    # minimum is what keeps it
    without = replace(
        res,
        counts={k: v for k, v in res.counts.items() if not p.groups[k[0]].optional},  # type: ignore[attr-defined]
        called_in={},
    )
    assert figures(sc, p, without).weighted_shortfall > figures(sc, p, res).weighted_shortfall
    out = release_unneeded(p, res)  # type: ignore[arg-type]
    assert out.called_in == res.called_in


def test_worth_its_cost_or_proven_is_kept() -> None:
    sc = day(cost=0.01, forecast=6)
    p, res = everyone_placed(sc)
    assert release_unneeded(p, res).called_in == res.called_in  # type: ignore[arg-type]
    sc = day(cost=5.0, forecast=6)
    p, res = everyone_placed(sc)
    proven = replace(res, status=SolveStatus.OPTIMAL)
    assert release_unneeded(p, proven) is proven  # type: ignore[arg-type]
