"""The solver finds brute force's optimum on tiny scenarios, and its plan files check out.

Each fixed scenario exercises one feature of models/00-contract.md where it changes the answer (a
companion test shows that the feature moves brute force's optimum, so a solver that
ignored it would fail). The hypothesis test draws random tiny scenarios that mix them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import brute
import checker
import pytest
import tiny
from conftest import SolveChecked
from hypothesis import HealthCheck, given, reject, settings

from optistaff.scenario import Scenario

H3 = tiny.horizon(3)
H4 = tiny.horizon(4)


def erlang_a() -> Scenario:
    """Two Erlang A queues of different worth; three agents, two of them on both."""
    gold = tiny.queue(H3, "gold", forecast=[12, 20, 6], value=5, aht_s=300, patience_s=120)
    std = tiny.queue(H3, "std", forecast=[20, 8, 18], value=1, aht_s=240, patience_s=300)
    agents = [
        tiny.agent(H3, "michelle", ["gold", "std"]),
        tiny.agent(H3, "omar", ["gold", "std"], end=2),
        tiny.agent(H3, "lee", ["std"], first=1),
    ]
    return tiny.scenario("erlang-a", H3, [gold, std], agents)


def switch_penalty(penalty: float = 3.0) -> Scenario:
    """Load moves between queues; one flexible agent; switching costs."""
    a = tiny.queue(H4, "a", forecast=[10, 4, 10, 4], value=2, aht_s=300)
    b = tiny.queue(H4, "b", forecast=[4, 10, 4, 10], value=2, aht_s=300)
    agents = [
        tiny.agent(H4, "flex", ["a", "b"]),
        tiny.agent(H4, "flex2", ["a", "b"], breaks=[2]),
        tiny.agent(H4, "only-a", ["a"]),
    ]
    return tiny.scenario("switches", H4, [a, b], agents, switch_penalty=penalty)


def optional_agents(cost: float = 1.0) -> Scenario:
    """An overtime agent who is worth calling in at a low cost only."""
    q = tiny.queue(H3, "q", forecast=[14, 14, 14], value=1, aht_s=300, patience_s=180)
    r = tiny.queue(H3, "r", forecast=[5, 0, 5], value=2, aht_s=200)
    agents = [
        tiny.agent(H3, "ann", ["q", "r"]),
        tiny.agent(H3, "ot", ["q"], optional=True, cost=cost),
        tiny.agent(H3, "ot2", ["q", "r"], first=1, optional=True, cost=cost * 2),
    ]
    return tiny.scenario("optional", H3, [q, r], agents)


def daily_minimum(daily: float | None = 0.85) -> Scenario:
    """A daily service level on the less valuable queue that pulls an agent over."""
    vip = tiny.queue(H3, "vip", forecast=[8, 8, 8], value=4, aht_s=300)
    std = tiny.queue(
        H3,
        "std",
        forecast=[6, 10, 4],
        value=1,
        aht_s=300,
        daily_service_level=daily,
        shortfall_weight=1,
    )
    agents = [
        tiny.agent(H3, "a", ["vip", "std"]),
        tiny.agent(H3, "b", ["vip", "std"]),
        tiny.agent(H3, "c", ["vip"]),
    ]
    return tiny.scenario("daily", H3, [vip, std], agents)


def pins(with_pins: bool = True) -> Scenario:
    """Pins to a queue, to null (training) and on an optional agent (calls them in)."""
    x = tiny.queue(H3, "x", forecast=[10, 10, 10], value=3, aht_s=300, min_service_level=0.7)
    y = tiny.queue(H3, "y", forecast=[6, 6, 6], value=1, aht_s=300, patience_s=200)
    agents = [
        tiny.agent(H3, "p", ["x", "y"]),
        tiny.agent(H3, "q", ["x", "y"]),
        tiny.agent(H3, "r", ["y"], optional=True, cost=4.0),
    ]
    pin_list = [
        tiny.pin(H3, "p", "y", 0, 2),
        tiny.pin(H3, "q", None, 2, 3),
        tiny.pin(H3, "r", "y", 1, 2),
    ]
    return tiny.scenario("pins", H3, [x, y], agents, pin_list if with_pins else ())


def max_abandon(rate: float | None = 0.05) -> Scenario:
    """An abandon cap on a low-value Erlang A queue."""
    hi = tiny.queue(H3, "hi", forecast=[12, 12, 12], value=3, aht_s=300, patience_s=240)
    lo = tiny.queue(
        H3,
        "lo",
        forecast=[9, 9, 9],
        value=0.5,
        aht_s=300,
        patience_s=60,
        max_abandon_rate=rate,
        shortfall_weight=2,
    )
    agents = [tiny.agent(H3, n, ["hi", "lo"]) for n in ("a", "b", "c")]
    return tiny.scenario("abandon", H3, [hi, lo], agents)


def occupancy_cap(cap: float | None = 0.6) -> Scenario:
    """An occupancy cap that asks for more agents than service alone would."""
    p = tiny.queue(H3, "p", forecast=[5, 9, 5], value=2, aht_s=360, max_occupancy=cap)
    s = tiny.queue(H3, "s", forecast=[8, 8, 8], value=2.5, aht_s=300, patience_s=100)
    agents = [tiny.agent(H3, n, ["p", "s"]) for n in ("a", "b", "c")]
    return tiny.scenario("occupancy", H3, [p, s], agents)


def shortfall_price(price: float | None = 0.5) -> Scenario:
    """A cheap shortfall price: value may be bought with a little shortfall."""
    gold = tiny.queue(H3, "gold", forecast=[15, 15, 15], value=6, aht_s=240, patience_s=120)
    base = tiny.queue(
        H3,
        "base",
        forecast=[9, 9, 9],
        value=1,
        aht_s=300,
        min_service_level=0.8,
        daily_service_level=0.8,
    )
    agents = [
        tiny.agent(H3, "a", ["gold", "base"]),
        tiny.agent(H3, "b", ["gold", "base"]),
        tiny.agent(H3, "ot", ["gold", "base"], optional=True, cost=2.0),
    ]
    return tiny.scenario("price", H3, [gold, base], agents, shortfall_price=price)


def served_objective() -> Scenario:
    """Objective `served`: impatient callers make the low-SL queue worth serving."""
    fast = tiny.queue(
        H3, "fast", forecast=[10, 10, 10], value=1, aht_s=300, patience_s=60, answer_within_s=10
    )
    slow = tiny.queue(
        H3, "slow", forecast=[10, 10, 10], value=1, aht_s=300, patience_s=900, answer_within_s=10
    )
    agents = [tiny.agent(H3, n, ["fast", "slow"]) for n in ("a", "b", "c")]
    return tiny.scenario("served", H3, [fast, slow], agents, objective="served")


def empty_intervals() -> Scenario:
    """Intervals without calls (λ = 0) next to overloaded Erlang C intervals (n ≤ a)."""
    c = tiny.queue(
        H3, "c", forecast=[0, 25, 0], value=1, aht_s=300, min_service_level=0.5, max_occupancy=0.9
    )
    d = tiny.queue(H3, "d", forecast=[7, 0, 0], value=0, aht_s=240, daily_service_level=0.9)
    agents = [tiny.agent(H3, n, ["c", "d"]) for n in ("a", "b")]
    return tiny.scenario("empty", H3, [c, d], agents, switch_penalty=0.1)


def mixed() -> Scenario:
    """Everything at once, three queues."""
    g = tiny.queue(
        H3,
        "g",
        forecast=[8, 12, 4],
        value=5,
        aht_s=300,
        patience_s=120,
        max_abandon_rate=0.1,
        min_service_level=0.6,
    )
    s = tiny.queue(
        H3,
        "s",
        forecast=[10, 6, 12],
        value=2,
        aht_s=[240, 300, 240],
        daily_service_level=0.75,
        max_occupancy=0.85,
    )
    b = tiny.queue(H3, "b", forecast=[5, 5, 0], value=1, aht_s=200, patience_s=600)
    agents = [
        tiny.agent(H3, "m", ["g", "s", "b"]),
        tiny.agent(H3, "n", ["g", "s"], end=2),
        tiny.agent(H3, "o", ["s", "b"], first=1),
        tiny.agent(H3, "ot", ["g"], optional=True, cost=3.0),
    ]
    return tiny.scenario(
        "mixed", H3, [g, s, b], agents, [tiny.pin(H3, "m", "g", 1, 2)], switch_penalty=0.5
    )


def daily_minimum_unstaffable() -> Scenario:
    """A daily standard on a queue nobody can staff in one interval with calls (found by
    hypothesis: the solver raised ValueError from the CP-SAT backend instead of planning)."""
    h = tiny.horizon(2)
    b = tiny.queue(h, "b", forecast=[3, 3], daily_service_level=0.5)
    g = tiny.queue(h, "g", forecast=[1, 1])
    return tiny.scenario("daily-unstaffable", h, [b, g], [tiny.agent(h, "a", ["b"], first=1)])


def daily_uneven_groups() -> Scenario:
    """Found by hypothesis, minimised: five agents at 08:00, one at 08:30, an Erlang A queue
    with a daily and a per-interval standard. Brute force staffs [3, 1] with S = 0; the
    solver staffed [2, 1] with S = 3.87."""
    h = tiny.horizon(2)
    g = tiny.queue(
        h, "g", forecast=[20, 3], value=0, aht_s=180, answer_within_s=0, patience_s=120,
        daily_service_level=0.6, min_service_level=0.5, shortfall_weight=1,
    )  # fmt: skip
    agents = [tiny.agent(h, f"r{i}", ["g"], end=1) for i in range(5)]
    agents.append(tiny.agent(h, "x", ["g"], first=1))
    return tiny.scenario("daily-uneven-groups", h, [g], agents)


def pinned_optional_with_caps() -> Scenario:
    """Found by hypothesis, minimised: one interval, no contradictory pin, yet the solver
    reported `infeasible` (an optional agent pinned, abandon and occupancy caps)."""
    h = tiny.horizon(1)
    gold = tiny.queue(
        h, "gold", forecast=[26], value=3, aht_s=180, patience_s=60, max_abandon_rate=0.05,
        max_occupancy=1.0,
    )  # fmt: skip
    silver = tiny.queue(
        h, "silver", forecast=[24], value=1, aht_s=180, answer_within_s=60, max_occupancy=0.9
    )
    agents = [tiny.agent(h, "a0", ["silver"], optional=True), tiny.agent(h, "new", ["gold"])]
    pin = tiny.pin(h, "a0", "silver", 0, 1)
    return tiny.scenario("pinned-optional-caps", h, [gold, silver], agents, [pin])


def switch_penalty_one_interval() -> Scenario:
    """Found by hypothesis, minimised: one interval, no pins, no optional agents; with a
    switch penalty (meaningless here) the solver reported `infeasible`, without it
    `optimal`."""
    h = tiny.horizon(1)
    gold = tiny.queue(
        h, "gold", forecast=[22], value=3, aht_s=240, answer_within_s=10, max_occupancy=0.6
    )
    silver = tiny.queue(h, "silver", forecast=[5], value=0.5, aht_s=240, min_service_level=0.6)
    agents = [tiny.agent(h, "g0", ["gold"]), tiny.agent(h, "g1", ["gold"])]
    agents.append(tiny.agent(h, "s", ["silver"]))
    return tiny.scenario(
        "switch-penalty-one-interval", h, [gold, silver], agents, switch_penalty=0.2
    )


def daily_and_occupancy_elsewhere() -> Scenario:
    """Found by hypothesis, minimised: a daily standard met either way, and one call on a
    queue with an occupancy cap. Brute force sends the two-skilled agent to that call
    (S = 0); the solver kept them on the daily queue (S = 1)."""
    h = tiny.horizon(2)
    gold = tiny.queue(
        h, "gold", forecast=[10, 6], aht_s=[120, 600], answer_within_s=10, daily_service_level=0.5
    )
    bronze = tiny.queue(
        h, "bronze", forecast=[1, 0], aht_s=120, answer_within_s=60, max_occupancy=0.9
    )
    agents = [
        tiny.agent(h, "a0", ["gold"]),
        tiny.agent(h, "a1", ["gold", "bronze"]),
        tiny.agent(h, "a2", ["gold"]),
    ]
    return tiny.scenario("daily-and-occupancy", h, [gold, bronze], agents)


def daily_idle_after_pin() -> Scenario:
    """Found by hypothesis, minimised: the standards are met either way (S = 0), but the
    solver left the two-skilled agent idle at 09:00 after their pin (total 17.17) where
    brute force puts them on gold (total 19.25)."""
    h = tiny.horizon(3)
    gold = tiny.queue(
        h, "gold", forecast=[3, 0, 17], aht_s=300, answer_within_s=60, patience_s=300,
        daily_service_level=0.7, max_occupancy=1.0,
    )  # fmt: skip
    silver = tiny.queue(h, "silver", forecast=[0, 1, 0], aht_s=300)
    agents = [tiny.agent(h, "a0", ["gold", "silver"]), tiny.agent(h, "a2", ["gold"], first=2)]
    agents += [tiny.agent(h, f"a{i}", ["gold"]) for i in (3, 4, 5)]
    pin = tiny.pin(h, "a0", "silver", 0, 2)
    return tiny.scenario("daily-idle-after-pin", h, [gold, silver], agents, [pin])


FIXED: dict[str, Callable[[], Scenario]] = {
    "erlang_a": erlang_a,
    "switch_penalty": switch_penalty,
    "optional_agents": optional_agents,
    "optional_agents_expensive": lambda: optional_agents(cost=40.0),
    "daily_minimum": daily_minimum,
    "pins": pins,
    "max_abandon": max_abandon,
    "occupancy_cap": occupancy_cap,
    "shortfall_price": shortfall_price,
    "served_objective": served_objective,
    "empty_intervals": empty_intervals,
    "mixed": mixed,
    "daily_minimum_unstaffable": daily_minimum_unstaffable,
    "daily_uneven_groups": daily_uneven_groups,
    "pinned_optional_with_caps": pinned_optional_with_caps,
    "switch_penalty_one_interval": switch_penalty_one_interval,
    "daily_and_occupancy_elsewhere": daily_and_occupancy_elsewhere,
    "daily_idle_after_pin": daily_idle_after_pin,
}


def assert_solver_matches_brute_force(scenario: Scenario, solve_checked: SolveChecked) -> None:
    best = brute.optimum(scenario)
    _plan, report = solve_checked(scenario)
    assert report.status == "optimal", report.summary
    problems = best.accepts(report.weighted_shortfall, report.total)
    assert not problems, (
        f"{scenario.name}: {problems}\n"
        f"  solver: S={report.weighted_shortfall!r} total={report.total!r} "
        f"called_in={report.called_in} decision={sorted(report.decision.items())}\n"
        f"  brute:  S={best.weighted_shortfall!r} total={best.total!r} "
        f"called_in={best.called_in} decision={sorted(best.decision.items())}"
    )


@pytest.mark.parametrize("name", list(FIXED))
def test_solver_matches_brute_force(name: str, solve_checked: SolveChecked) -> None:
    assert_solver_matches_brute_force(FIXED[name](), solve_checked)


@pytest.mark.parametrize("name", list(FIXED))
def test_cpsat_alone_matches_brute_force(
    name: str, solve_checked: SolveChecked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same cases with every interval left to the one-interval CP-SAT model (the
    exact interval search gives up), the path peak intervals of large centers take."""
    from optistaff.solvers import per_interval

    monkeypatch.setattr(per_interval, "search_interval", lambda *a, **k: None)
    assert_solver_matches_brute_force(FIXED[name](), solve_checked)


def within_target(sc: Scenario) -> Scenario:
    return replace(sc, policy=replace(sc.policy, objective="within_target"))


# Each feature changes brute force's optimum: the optimum found without the feature is
# infeasible or strictly worse with it, so a solver ignoring it would be caught above.
FEATURE_MATTERS: dict[str, tuple[Callable[[], Scenario], Callable[[], Scenario]]] = {
    "switch_penalty": (switch_penalty, lambda: switch_penalty(0.0)),
    "optional_cost": (optional_agents, lambda: optional_agents(cost=40.0)),
    "daily_minimum": (daily_minimum, lambda: daily_minimum(None)),
    "pins": (pins, lambda: pins(False)),
    "max_abandon": (max_abandon, lambda: max_abandon(None)),
    "occupancy_cap": (occupancy_cap, lambda: occupancy_cap(None)),
    "shortfall_price": (shortfall_price, lambda: shortfall_price(None)),
    "served_objective": (served_objective, lambda: within_target(served_objective())),
}


@pytest.mark.parametrize("name", list(FEATURE_MATTERS))
def test_feature_changes_the_optimum(name: str) -> None:
    with_feature, without = (f() for f in FEATURE_MATTERS[name])
    best = brute.optimum(with_feature)
    other = brute.optimum(without)
    if checker.decision_problems(with_feature, other.decision, other.called_in):
        return  # the optimum without the feature is infeasible with it (a pin)
    ev = checker.evaluate(with_feature, other.decision, other.called_in)
    assert best.better_than(ev.weighted_shortfall, ev.total), (
        (best.weighted_shortfall, best.total),
        ev.key(),
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenario=tiny.tiny_scenarios())
def test_solver_matches_brute_force_on_random_scenarios(
    scenario: Scenario, solve_checked: SolveChecked
) -> None:
    try:
        best = brute.optimum(scenario, max_work=150_000)
    except brute.TooBig:
        reject()
    _plan, report = solve_checked(scenario)
    assert report.status == "optimal", report.summary
    problems = best.accepts(report.weighted_shortfall, report.total)
    assert not problems, (
        f"{problems}\n  solver: {sorted(report.decision.items())} {report.called_in}\n"
        f"  brute: {sorted(best.decision.items())} {best.called_in}"
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenario=tiny.tiny_scenarios(max_agents=3, max_intervals=3))
def test_brute_force_equals_plain_enumeration(scenario: Scenario) -> None:
    """The dynamic programme of brute.optimum loses nothing: plain enumeration agrees."""
    try:
        s_star, total = brute.naive_optimum(scenario, max_decisions=20_000)
    except brute.TooBig:
        reject()
    best = brute.optimum(scenario)
    assert best.min_shortfall == pytest.approx(s_star, rel=1e-12, abs=1e-12)
    assert best.total == pytest.approx(total, rel=1e-12, abs=1e-12)


def test_brute_force_rejects_a_worse_plan() -> None:
    """accepts() can fail: doing nothing is worse than the optimum of a shortage."""
    sc = daily_minimum()
    best = brute.optimum(sc)
    idle = {key: None for key in best.decision}
    ev = checker.evaluate(sc, idle, ())
    assert best.accepts(ev.weighted_shortfall, ev.total)
    assert not best.accepts(best.weighted_shortfall, best.total)
