"""The equity objective (``policy.objective: equity``, models/00-contract.md and
models/16-equity.md) against brute force: on random tiny scenarios the solver's plan
has the least weighted shortfall, the leximin-best sorted vector of the queues' horizon
service levels among those plans, and then the least cost plus switching.

Independent truth: plain enumeration of every decision (``brute.decisions``), each
evaluated by ``tests/checker.py``; the leximin order written here, separately from
``optistaff/solvers/leximin.py``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import brute
import checker
import pytest
import tiny
import yaml
from click.testing import CliRunner
from conftest import SolveChecked
from hypothesis import HealthCheck, given, reject, settings

import optistaff
from optistaff.cli import main
from optistaff.explain import explain_equity
from optistaff.loading import load_scenario
from optistaff.scenario import Scenario

#: Sorted service levels are compared to brute force within this (the contract's
#: 1e-6 of brute-force comparisons; the solver's own level tolerance is 1e-8).
SL_TOL = 1e-6


def equity(sc: Scenario) -> Scenario:
    return replace(
        sc,
        policy=replace(
            sc.policy, objective="equity", shortfall_price=None, queue_model="stationary"
        ),
    )


def sorted_levels(ev: checker.Evaluation) -> list[float]:
    """The service levels of the queues with calls, ascending."""
    return sorted(
        float(q["service_level"]) for q in ev.queues.values() if q["service_level"] is not None
    )


def leximin_optimum(sc: Scenario, max_decisions: int) -> tuple[float, list[float], float]:
    """(S*, the leximin-best sorted SLs among decisions with S ≤ S* + tolerance, the
    least cost + switching among those whose SLs equal it within ``SL_TOL``)."""
    rows = [
        (ev.weighted_shortfall, sorted_levels(ev), ev.cost + ev.switching)
        for ev in brute.decisions(sc, max_decisions)
    ]
    s_star = min(s for s, _, _ in rows)
    kept = [r for r in rows if r[0] <= s_star + brute.shortfall_tolerance(s_star)]
    best = max(levels for _, levels, _ in kept)  # lexicographic on ascending vectors
    near = [
        c
        for _, levels, c in kept
        if all(abs(a - b) <= SL_TOL for a, b in zip(levels, best, strict=True))
    ]
    return s_star, best, min(near)


def _check(sc: Scenario, solve_checked: SolveChecked, max_decisions: int = 20_000) -> None:
    try:
        s_star, best, cost = leximin_optimum(sc, max_decisions)
    except brute.TooBig:
        reject()
    plan, report = solve_checked(sc)
    assert report.status == "optimal", report.summary
    ev = checker.evaluate(sc, report.decision, report.called_in)
    assert ev.weighted_shortfall <= s_star + brute.shortfall_tolerance(s_star) + 1e-9
    got = sorted_levels(ev)
    assert got == pytest.approx(best, abs=SL_TOL), (got, best)
    assert ev.cost + ev.switching == pytest.approx(cost, abs=1e-6), (
        ev.cost + ev.switching,
        cost,
    )
    assert plan.summary["solver"]["objective"] == "equity"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenario=tiny.tiny_scenarios(max_agents=3, max_intervals=3, allow_price=False))
def test_equity_matches_brute_force_on_random_scenarios(
    scenario: Scenario, solve_checked: SolveChecked
) -> None:
    _check(equity(scenario), solve_checked)


def three_queues() -> Scenario:
    """Level 1 leaves room: a minimum on one queue only, two flexible agents, the queues
    of different sizes; the value plan starves the small queue, equity does not."""
    h = tiny.horizon(2)
    queues = [
        tiny.queue(h, "big", forecast=[8, 10], value=3, aht_s=300, min_service_level=0.3),
        tiny.queue(h, "mid", forecast=[6, 7], value=2, aht_s=360),
        tiny.queue(h, "small", forecast=[3, 2], value=1, aht_s=240),
    ]
    agents = [
        tiny.agent(h, "b", ["big"]),
        tiny.agent(h, "x", ["big", "mid", "small"]),
        tiny.agent(h, "y", ["mid", "small"]),
        tiny.agent(h, "z", ["big", "small"]),
    ]
    return tiny.scenario("three-queues", h, queues, agents)


def test_equity_lifts_the_lowest_queue_that_value_starves(solve_checked: SolveChecked) -> None:
    sc = equity(three_queues())
    _check(sc, solve_checked)
    value_plan, _ = solve_checked(replace(sc, policy=replace(sc.policy, objective="within_target")))
    equity_plan, _ = solve_checked(sc)
    lowest = min(q["service_level"] for q in equity_plan.summary["queues"].values())
    value_lowest = min(q["service_level"] for q in value_plan.summary["queues"].values())
    assert lowest > value_lowest + 0.05  # (the feature changes the answer)
    assert equity_plan.objective["value"] < value_plan.objective["value"]


def test_the_leximin_order_here_can_fail() -> None:
    """The brute force's order is not vacuous: the value plan of three_queues is not
    the leximin optimum."""
    sc = equity(three_queues())
    _s, best, _c = leximin_optimum(sc, 20_000)
    value = tiny.stationary(replace(sc, policy=replace(sc.policy, objective="within_target")))
    plan = optistaff.solve(value)
    got = sorted(
        q["service_level"]
        for q in plan.summary["queues"].values()
        if q["service_level"] is not None
    )
    assert got != pytest.approx(best, abs=SL_TOL)


# -- the faces: the example, contact-center, compare, explain, bad input -------------

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _value_of(sc: Scenario) -> Scenario:
    return replace(sc, policy=replace(sc.policy, objective="within_target"))


def _levels(plan: optistaff.Plan) -> list[float]:
    return sorted(
        float(q["service_level"])
        for q in plan.summary["queues"].values()
        if q["service_level"] is not None
    )


def test_the_public_service_example_is_optimal_and_lifts_the_lowest_queue(
    tmp_path: Path,
) -> None:
    sc = load_scenario(SCENARIOS / "public-service.yaml")
    assert sc.policy.objective == "equity"
    fair = optistaff.solve(sc)
    value = optistaff.solve(_value_of(sc))
    assert fair.status == "optimal"
    assert _levels(fair)[0] >= _levels(value)[0] + 0.10  # 55.2 % against 42.3 %
    assert _levels(fair)[-1] - _levels(fair)[0] < _levels(value)[-1] - _levels(value)[0]
    fair.write(tmp_path / "fair")
    value.write(tmp_path / "value")
    out = CliRunner().invoke(main, ["compare", str(tmp_path / "value"), str(tmp_path / "fair")])
    assert out.exit_code == 0, out.output
    flat = " ".join(out.output.split())
    assert "lowest queue SL" in flat and "SL spread" in flat
    dv = fair.objective["value"] - value.objective["value"]
    dl = 100 * (_levels(fair)[0] - _levels(value)[0])
    assert f"value {dv:+,.2f}" in flat and f"lowest queue SL {dl:+.1f} pts" in flat


def test_contact_center_with_equity_keeps_level1_and_lifts_the_lowest_queue(
    tmp_path: Path,
) -> None:
    # (a work limit, not seconds: the same plan however loaded the machine; under a full
    # suite an 8 s limit once ended before the priced lowest level, session 11. Work 4
    # reaches it in ~1.4 s; the horizon solves after it find little, models/16-equity.md)
    sc = tiny.stationary(SCENARIOS / "contact-center.yaml")
    fair = optistaff.solve(replace(sc, policy=replace(sc.policy, objective="equity")), work_limit=4)
    value = optistaff.solve(sc)
    assert fair.objective["weighted_shortfall"] == pytest.approx(
        value.objective["weighted_shortfall"], rel=1e-9, abs=1e-7
    )
    assert _levels(fair)[0] >= _levels(value)[0] + 0.02  # priced: 80.4 % against 76.3 %
    bound = fair.summary["solver"]["equity"]["lowest_bound"]
    assert bound is not None and bound >= _levels(fair)[0] - 1e-9
    assert fair.status in ("optimal", "feasible")
    fair.write(tmp_path / "fair")
    value.write(tmp_path / "value")
    out = CliRunner().invoke(main, ["compare", str(tmp_path / "value"), str(tmp_path / "fair")])
    assert out.exit_code == 0, out.output
    flat = " ".join(out.output.split())
    dl = 100 * (_levels(fair)[0] - _levels(value)[0])
    assert "fair (equity) against value (within_target)" in flat
    assert f"lowest queue SL {dl:+.1f} pts" in flat


def test_solve_leads_with_the_spread_and_says_value_plays_no_part(tmp_path: Path) -> None:
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(equity(three_queues()).to_dict()))
    out = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "p")])
    assert out.exit_code == 0, out.output
    first = out.output.splitlines()[0]
    assert first.startswith("equity: lowest SL 26.29% (mid), highest 62.1% (big)"), first
    assert "value plays no part" in out.output


def test_explain_names_the_bottleneck_and_the_lift_of_each_profile(tmp_path: Path) -> None:
    sc = equity(three_queues())
    plan = optistaff.solve(sc)
    plan.write(tmp_path / "p")
    ex = explain_equity(plan)
    assert ex.bottleneck == ("mid",) and ex.lowest == pytest.approx(_levels(plan)[0])
    assert set(ex.one_more_agent["skills"]) == {"big", "big+mid+small", "mid+small", "big+small"}
    for row in ex.one_more_agent.to_dict(orient="records"):
        skills = str(row["skills"]).split("+")
        extra = tiny.agent(sc.horizon, "extra", skills)
        again = optistaff.solve(replace(sc, agents=(*sc.agents, extra)))
        assert row["lowest"] == pytest.approx(_levels(again)[0], abs=1e-9)
        assert row["lift"] == pytest.approx(_levels(again)[0] - ex.lowest, abs=1e-9)
    out = CliRunner().invoke(main, ["explain", str(tmp_path / "p")])
    assert out.exit_code == 0, out.output
    assert "The bottleneck is mid" in " ".join(out.output.split())


def test_equity_under_the_time_varying_model_is_the_stationary_plan_evaluated() -> None:
    sc = equity(three_queues())
    stationary = optistaff.solve(sc)
    varying = optistaff.solve(replace(sc, policy=replace(sc.policy, queue_model="time_varying")))
    assert varying.status == "feasible"
    assert varying.summary["solver"]["optimised_for"] == "stationary"
    assert varying.summary["solver"]["proof"]["status"] == "optimal"
    assert varying.assignments.equals(stationary.assignments)


def test_equity_with_a_shortfall_price_is_refused(tmp_path: Path) -> None:
    data = equity(three_queues()).to_dict()
    data["policy"]["shortfall_price"] = 2.0
    path = tmp_path / "priced.yaml"
    path.write_text(yaml.safe_dump(data))
    out = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "p")])
    assert out.exit_code == 2, out.output
    assert "shortfall_price" in out.output and "equity" in out.output
    assert "Traceback" not in out.output and not (tmp_path / "p").exists()


def test_replanning_an_equity_plan_is_refused(tmp_path: Path) -> None:
    plan = optistaff.solve(equity(three_queues()))
    plan.write(tmp_path / "p")
    out = CliRunner().invoke(
        main, ["replan", str(tmp_path / "p"), "--at", "08:30", "-o", str(tmp_path / "r")]
    )
    assert out.exit_code == 2, out.output
    assert "equity" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "r").exists()


def probing_loop_day() -> Scenario:
    """The first day hypothesis found under seed 13 (session 11): three agents, three
    intervals, daily minimums on two queues. With θ_k in its dual form
    (optistaff/solvers/cpsat/leximin.py) and CP-SAT's defaults, probing looped on the
    held θ_2 for hours, past the time limit and ``stop_search``."""
    h = tiny.horizon(3)
    queues = [
        tiny.queue(
            h, "gold", forecast=[0, 0, 8], value=5, aht_s=[120, 360, 600],
            answer_within_s=60, patience_s=600, max_occupancy=0.9, shortfall_weight=4,
        ),
        tiny.queue(
            h, "silver", forecast=[3, 0, 22], value=5, aht_s=[240, 120, 120],
            answer_within_s=20, patience_s=60, daily_service_level=0.6, shortfall_weight=0,
        ),
        tiny.queue(
            h, "bronze", forecast=[6, 4, 11], value=0, aht_s=300, answer_within_s=60,
            patience_s=120, daily_service_level=0.7, max_abandon_rate=0.05,
            max_occupancy=0.8,
        ),
    ]  # fmt: skip
    agents = [
        tiny.agent(h, "a0", ["bronze", "silver"], breaks=[1], optional=True),
        tiny.agent(h, "a1", ["bronze", "silver"], breaks=[1], optional=True),
        tiny.agent(h, "a2", ["gold", "silver"], first=2),
    ]
    return equity(tiny.scenario("probing-loop", h, queues, agents))


def propagation_loop_day() -> Scenario:
    """The second (two intervals, a switch penalty, three optional agents): in the dual
    form the search's own propagation looped, with probing off as well."""
    h = tiny.horizon(2)
    queues = [
        tiny.queue(
            h, "gold", forecast=[5, 0], value=1, aht_s=240, answer_within_s=60,
            min_service_level=0.8, daily_service_level=0.6, shortfall_weight=4,
        ),
        tiny.queue(
            h, "silver", forecast=[25, 16], value=0.5, aht_s=120, answer_within_s=60,
            patience_s=600, daily_service_level=0.6,
        ),
        tiny.queue(
            h, "bronze", forecast=[4, 6], value=1, aht_s=[360, 600], answer_within_s=20,
            patience_s=600, min_service_level=0.9, max_abandon_rate=0.3,
            shortfall_weight=1,
        ),
    ]  # fmt: skip
    skills = [["silver", "bronze"], ["bronze", "silver"], ["silver", "bronze"]]
    agents = [tiny.agent(h, f"a{i}", s, optional=True, cost=0.3) for i, s in enumerate(skills)]
    return equity(tiny.scenario("propagation-loop", h, queues, agents, switch_penalty=1.0))


@pytest.mark.parametrize("day", ["probing_loop_day", "propagation_loop_day"])
def test_equity_ends_on_the_days_cp_sat_looped_on(day: str, tmp_path: Path) -> None:
    """The solve runs in a subprocess (a loop inside CP-SAT is reached by no limit of
    ours) and must end optimal within 60 s; its levels equal brute force's."""
    import json
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "import optistaff, test_equity\n"
        f"plan = optistaff.solve(test_equity.{day}())\n"
        "print(json.dumps([plan.status,\n"
        "    sorted(q['service_level'] for q in plan.summary['queues'].values()\n"
        "           if q['service_level'] is not None)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(here)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True,
    )  # fmt: skip
    status, levels = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == "optimal"
    _s, best, _c = leximin_optimum(globals()[day](), 20_000)
    assert levels == pytest.approx(best, abs=SL_TOL)
