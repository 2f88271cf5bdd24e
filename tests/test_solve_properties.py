"""Properties of optimal plans that hold for any scenario (hypothesis, solver only).

Every plan is also checked by the independent checker. Comparisons use the contract's
tolerances: S within max(1e-9·S, 1e-7), totals within max(1e-6·|total|, 1e-6).
"""

from __future__ import annotations

from dataclasses import replace

import tiny
from brute import shortfall_tolerance, total_tolerance
from checker import CheckReport
from conftest import SolveChecked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optistaff.scenario import Scenario

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def objective(report: CheckReport) -> tuple[float, float]:
    return report.weighted_shortfall, report.total


def not_worse(new: tuple[float, float], old: tuple[float, float], lexicographic: bool) -> bool:
    """``new`` is at least as good as ``old`` (lexicographic: min S, then max total)."""
    (s_new, t_new), (s_old, t_old) = new, old
    if lexicographic:
        if s_new > s_old + shortfall_tolerance(s_old):
            return False
        if s_new < s_old - shortfall_tolerance(s_old):
            return True
    return t_new >= t_old - total_tolerance(t_old) - total_tolerance(t_new)


@st.composite
def scenario_and_new_agent(draw: st.DrawFn) -> tuple[Scenario, Scenario]:
    sc = draw(tiny.tiny_scenarios(max_agents=4, max_intervals=4))
    h = sc.horizon
    qids = list(sc.queue_ids)
    skills = draw(st.lists(st.sampled_from(qids), min_size=1, max_size=len(qids), unique=True))
    first = draw(st.integers(0, h.intervals - 1))
    end = draw(st.integers(first + 1, h.intervals))
    optional = draw(st.booleans())
    cost = draw(st.sampled_from([0.0, 0.5, 2.0])) if optional else 0.0
    new = tiny.agent(h, "new", skills, first=first, end=end, optional=optional, cost=cost)
    return sc, tiny.replace_agents(sc, [*sc.agents, new])


@SETTINGS
@given(pair=scenario_and_new_agent())
def test_adding_an_agent_never_makes_the_optimum_worse(
    pair: tuple[Scenario, Scenario], solve_checked: SolveChecked
) -> None:
    sc, more = pair
    _, before = solve_checked(sc)
    _, after = solve_checked(more)
    assert before.status == after.status == "optimal"
    lexicographic = sc.policy.shortfall_price is None
    assert not_worse(objective(after), objective(before), lexicographic), (
        objective(before),
        objective(after),
    )


@st.composite
def scenario_and_richer_queue(draw: st.DrawFn) -> tuple[Scenario, Scenario, str, float]:
    """Within-target objective, every queue's shortfall weight written out (so that a
    higher value does not change it), and one queue made more valuable."""
    sc = draw(tiny.tiny_scenarios(max_agents=4, max_intervals=4))
    sc = replace(sc, policy=replace(sc.policy, objective="within_target"))
    for q in sc.queues:
        sc = tiny.replace_queue(sc, q.id, shortfall_weight=q.weight)
    qid = draw(st.sampled_from(sc.queue_ids))
    delta = draw(st.sampled_from([0.5, 2.0, 10.0]))
    richer = tiny.replace_queue(sc, qid, value=sc.queue(qid).value + delta)
    return sc, richer, qid, delta


@SETTINGS
@given(case=scenario_and_richer_queue())
def test_a_more_valuable_queue_never_loses_answered_calls(
    case: tuple[Scenario, Scenario, str, float], solve_checked: SolveChecked
) -> None:
    sc, richer, qid, delta = case
    _, before = solve_checked(sc)
    _, after = solve_checked(richer)
    assert before.status == after.status == "optimal"
    got = after.evaluation.queues[qid]["answered_within_target"]
    was = before.evaluation.queues[qid]["answered_within_target"]
    # both plans are optimal up to the total tolerance: δ·(got − was) ≥ −(ε₁ + ε₂)
    slack = (total_tolerance(before.total) + total_tolerance(after.total)) / delta
    assert got >= was - slack, (qid, delta, was, got)


@st.composite
def scenario_and_fewer_agents(draw: st.DrawFn) -> tuple[Scenario, Scenario]:
    sc = draw(tiny.tiny_scenarios(max_agents=5, max_intervals=4, allow_price=False))
    keep = draw(
        st.lists(
            st.sampled_from([a.id for a in sc.agents]),
            min_size=1,
            max_size=len(sc.agents) - 1,
            unique=True,
        )
    )
    return sc, tiny.replace_agents(sc, [a for a in sc.agents if a.id in keep])


@SETTINGS
@given(pair=scenario_and_fewer_agents())
def test_removing_agents_never_reduces_the_weighted_shortfall(
    pair: tuple[Scenario, Scenario], solve_checked: SolveChecked
) -> None:
    sc, fewer = pair
    _, full = solve_checked(sc)
    _, reduced = solve_checked(fewer)
    assert full.status == reduced.status == "optimal"
    s_full, s_reduced = full.weighted_shortfall, reduced.weighted_shortfall
    assert s_reduced >= s_full - shortfall_tolerance(s_full), (s_full, s_reduced)
