"""Daily minimums by Lagrangian multipliers (optistaff.solvers.daily_lagrangian).

On random tiny scenarios with daily minimums: every bound the rounds report is at most
brute force's least weighted shortfall S*, and the plan they return is a plan (no
group over-placed, only where its members may work) whose level-1 score is exactly
what CP-SAT's horizon model counts for it (its complete hint's objective).
"""

from __future__ import annotations

import time
from typing import Any

import brute
import numpy as np
import pytest
import tiny
from hypothesis import HealthCheck, given, reject, settings

from optistaff.formulation import build_problem
from optistaff.scenario import Scenario
from optistaff.solvers import cpsat, daily_lagrangian, scaling


@pytest.mark.parametrize("method", ["box", "polyak"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=tiny.tiny_scenarios(allow_price=False))
def test_rounds_bound_level_1_from_below_and_score_their_plan_as_cpsat_does(
    scenario: Scenario, method: str
) -> None:
    """Both ways of moving the multipliers (``daily_lagrangian.MULTIPLIERS``)."""
    saved = daily_lagrangian.MULTIPLIERS
    daily_lagrangian.MULTIPLIERS = method
    try:
        _rounds_bound_level_1(scenario)
    finally:
        daily_lagrangian.MULTIPLIERS = saved


def _daily_day(scenario: Scenario) -> tuple[Any, scaling.Scales, Any]:
    """The pooled problem of a tiny day with a daily minimum and a shortfall to price
    (else rejected), its scales and brute force's optimum."""
    p = build_problem(scenario, pooled=True)
    if not p.daily:
        reject()
    scales = scaling.choose_scales(p)
    if scales.shortfall <= 0:
        reject()
    try:
        truth = brute.optimum(scenario)
    except brute.TooBig:
        reject()
    return p, scales, truth


def _priced_day(
    scenario: Scenario,
) -> tuple[Any, scaling.Scales, Any, list[tuple[float, float]], daily_lagrangian.PricedRounds]:
    """A tiny day with a daily minimum (else rejected), its scales, brute force's
    optimum, each interval's constants and the rounds from nobody placed."""
    p, scales, truth = _daily_day(scenario)
    consts = [scaling.interval_constants(p, t, scales) for t in range(p.n_intervals)]
    out = daily_lagrangian.improve(
        p,
        scales.shortfall,
        scales.value,
        [v for _s, v in consts],
        {},  # start: nobody placed
        None,
        mip_gap=1e-6,
        deadline=time.monotonic() + 10,
        threads=1,
    )
    return p, scales, truth, consts, out


def _rounds_bound_level_1(scenario: Scenario) -> None:
    p, scales, truth, consts, out = _priced_day(scenario)
    # the plan: within the groups, on queues they may work
    for g in p.groups:
        for t in range(p.n_intervals):
            placed = sum(k for (gg, _q, tt), k in out.counts.items() if gg == g.index and tt == t)
            assert placed <= (g.size if g.available[t] else 0)
    for (gi, q, t), k in out.counts.items():
        assert k == 0 or gi in p.eligible.get((q, t), ())
    b = cpsat.build_model(p, range(p.n_intervals), scales)
    called = {g.index: g.size for g in p.groups if g.optional}
    cpsat.hint_solution(b, p, out.counts, called, scales)
    assert b.hint_objectives is not None
    assert b.hint_objectives[0] == out.level1
    # the bound: objective units, as cpsat.shortfall_expr counts the constant
    const = sum(s for s, _v in consts)
    terms = len(p.tables) + len(p.daily)
    slack = terms / scales.shortfall + brute.shortfall_tolerance(truth.min_shortfall)
    if out.bound is not None:
        assert out.bound / scales.shortfall + const <= truth.min_shortfall + slack
    assert out.level1 / scales.shortfall + const >= truth.min_shortfall - slack
    assert np.isfinite(out.level1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=tiny.tiny_scenarios(allow_price=False))
def test_rounds_from_step_1_with_searches_cut_short_keep_a_valid_bound(
    scenario: Scenario,
) -> None:
    """As the decomposition calls them: from step 1's plan and its proven per-interval
    bounds, here with every interval search stopped at one node (as on a 100-queue peak
    interval, where the search's plan can be worse and its bound weaker than step 1's:
    note 11, "Kept when better"). The bound stays at most S*; the plan is no worse than
    step 1's and scored as CP-SAT scores it."""
    from optistaff.solvers.per_interval import solve_intervals

    p, scales, truth = _daily_day(scenario)
    now = time.monotonic()
    per = solve_intervals(p, scales, 1, 0, None, now + 10, 1e-6, None, now)
    if not all(r.searched for r in per):
        reject()
    start = {k: v for r in per for k, v in r.counts.items()}
    consts = [scaling.interval_constants(p, t, scales) for t in range(p.n_intervals)]
    nodes = daily_lagrangian._NODES
    daily_lagrangian._NODES = 1
    try:
        out = daily_lagrangian.improve(
            p,
            scales.shortfall,
            scales.value,
            [v for _s, v in consts],
            start,
            [r.short_bound for r in per],
            mip_gap=1e-6,
            deadline=time.monotonic() + 10,
            threads=1,
        )
    finally:
        daily_lagrangian._NODES = nodes
    tables = daily_lagrangian.daily_tables(p, scales.shortfall, scales.value)
    assert out.level1 <= daily_lagrangian.level1(tables, daily_lagrangian.staffing(start))
    b = cpsat.build_model(p, range(p.n_intervals), scales)
    called = {g.index: g.size for g in p.groups if g.optional}
    cpsat.hint_solution(b, p, out.counts, called, scales)
    assert b.hint_objectives is not None and b.hint_objectives[0] == out.level1
    const = sum(s for s, _v in consts)
    terms = len(p.tables) + len(p.daily)
    slack = terms / scales.shortfall + brute.shortfall_tolerance(truth.min_shortfall)
    assert out.bound is not None
    assert out.bound / scales.shortfall + const <= truth.min_shortfall + slack


def test_a_stop_ends_the_rounds_at_once_with_the_plan_given() -> None:
    h = tiny.horizon(3)
    vip = tiny.queue(h, "vip", forecast=[8, 8, 8], value=4, aht_s=300)
    std = tiny.queue(h, "std", forecast=[6, 10, 4], value=1, aht_s=300, daily_service_level=0.85)
    agents = [tiny.agent(h, name, ["vip", "std"]) for name in "abc"]
    p = build_problem(tiny.scenario("daily", h, [vip, std], agents), pooled=True)
    scales = scaling.choose_scales(p)
    kw: dict[str, Any] = dict(mip_gap=1e-6, deadline=time.monotonic() + 30, threads=1)
    consts = [0.0] * p.n_intervals
    running = daily_lagrangian.improve(p, scales.shortfall, scales.value, consts, {}, None, **kw)
    assert running.rounds > 0 and running.found_in > 0  # nobody placed is easy to beat
    stopped = daily_lagrangian.improve(
        p, scales.shortfall, scales.value, consts, {}, None, stop=lambda: True, **kw
    )
    assert stopped.rounds == 0 and stopped.found_in == 0 and stopped.counts == {}


def _required(scenario: Scenario) -> tuple[Any, set[int]]:
    p = build_problem(scenario, pooled=True)
    scales = scaling.choose_scales(p)
    consts = [scaling.interval_constants(p, t, scales)[1] for t in range(p.n_intervals)]
    rounds = daily_lagrangian.improve(
        p,
        scales.shortfall,
        scales.value,
        consts,
        {},
        None,
        mip_gap=1e-6,
        deadline=time.monotonic() + 10,
        threads=1,
    )
    found = daily_lagrangian.required_groups(
        p,
        scales.shortfall,
        scales.value,
        consts,
        rounds,
        mip_gap=1e-6,
        deadline=time.monotonic() + 10,
    )
    return p, found


def _without_last_member(scenario: Scenario, p: Any, g: int) -> Scenario:
    gone = p.groups[g].members[-1]
    return tiny.replace_agents(scenario, [a for a in scenario.agents if a.id != gone])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=tiny.tiny_scenarios(allow_price=False))
def test_overtime_found_required_is_needed_by_every_level_1_optimum(scenario: Scenario) -> None:
    """A group found required: brute force's least weighted shortfall without one of its
    members is above S* (+ the contract's tolerance), so every plan attaining S* calls in
    the whole group."""
    truth = brute.daily_optimum(scenario, overtime=True)
    p, found = _required(scenario)
    for g in found:
        fewer = brute.optimum(_without_last_member(scenario, p, g))
        limit = truth.min_shortfall + brute.shortfall_tolerance(truth.min_shortfall)
        assert fewer.min_shortfall > limit, (p.groups[g].members, fewer.min_shortfall, limit)


def test_overtime_level_1_needs_is_found_and_overtime_it_does_not_is_left() -> None:
    """A day with a daily minimum on std (Erlang C, 3.3 Erlangs in interval 1, where the
    three regular agents answer nothing in time without a fourth): overtime agent x (std)
    lifts the day's std; y (vip, no standards) only adds value. x is required, y is not:
    a wrong bound that flagged both would make the brute-force test above fail too (y's
    removal keeps S*)."""
    h = tiny.horizon(3)
    vip = tiny.queue(h, "vip", forecast=[2, 2, 2], value=4, aht_s=300)
    std = tiny.queue(h, "std", forecast=[10, 20, 6], value=1, aht_s=300, daily_service_level=0.8)
    agents = [
        tiny.agent(h, "a", ["vip", "std"]),
        tiny.agent(h, "b", ["vip", "std"]),
        tiny.agent(h, "c", ["std"]),
        tiny.agent(h, "x", ["std"], first=1, end=2, optional=True, cost=1.0),
        tiny.agent(h, "y", ["vip"], first=1, end=2, optional=True, cost=1.0),
    ]
    scenario = tiny.scenario("overtime", h, [vip, std], agents)
    p, found = _required(scenario)
    names = {p.groups[g].members for g in found}
    truth = brute.optimum(scenario)
    assert names == {("x",)}, (names, truth.min_shortfall)
    for g in (g for g in p.groups if g.optional):
        fewer = brute.optimum(_without_last_member(scenario, p, g.index))
        needed = fewer.min_shortfall > truth.min_shortfall + brute.shortfall_tolerance(
            truth.min_shortfall
        )
        assert needed == (g.members == ("x",)), (g.members, fewer.min_shortfall)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=tiny.tiny_scenarios(allow_price=False))
def test_the_priced_value_ceiling_is_above_brute_forces_optimum(scenario: Scenario) -> None:
    """optistaff.solvers.value_ceiling (note 11, "A level-2 ceiling"): with level 1 capped
    at the rounds' best plan's, the least B over the rounds bounds level 2 (value − cost −
    switching) of brute force's lexicographic optimum from above. Shown to fail: without
    the m·S_cap term, or with r_q allowed above m (the deficit's max(0, ·) then no longer
    bounds it), or with the overtime's price per interval five times its cost, the ceiling
    falls below the optimum on these days; so it does when the required groups are priced
    per interval as well as paid whole."""
    from optistaff.solvers import value_ceiling

    p, scales, truth, consts, rounds = _priced_day(scenario)
    tol = int(np.ceil(0.5e-7 * scales.shortfall))
    # the overtime every level-1 optimum calls in: its cost paid whole, its members free
    # in the searches; the other optional members priced per interval placed
    required = daily_lagrangian.required_groups(
        p,
        scales.shortfall,
        scales.value,
        [v for _s, v in consts],
        rounds,
        mip_gap=1e-6,
        deadline=time.monotonic() + 10,
    )
    terms = len(p.tables) + len(p.daily)
    slack = terms / scales.value + brute.total_tolerance(truth.total)
    # with the required groups paid whole, and with every optional group priced per
    # interval placed (nothing taken as required): both are ceilings
    for taken in (required, set()):
        got = value_ceiling.priced_ceiling(
            p,
            scales.shortfall,
            scales.value,
            sum(v for _s, v in consts),
            rounds.level1 + tol,
            sum(p.groups[g].cost_if_called * p.groups[g].size for g in taken),
            threads=1,
            deadline=time.monotonic() + 10,
            required=taken,
        )
        if got is None:  # (only when no daily minimum weighs anything: nothing to price)
            assert not daily_lagrangian.daily_tables(p, scales.shortfall, scales.value).rhs
            return
        assert got.rounds >= 1
        assert truth.total <= got.ceiling + slack, taken
