"""`optistaff explain`: binding minimums as defined (one agent fewer raises the shortfall),
"one more agent" gains equal to a re-solve with that agent added (and, on michelle, to
brute force), and the losses of moving Michelle equal brute force with her fixed there."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import brute
import pytest
from click.testing import CliRunner
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.errors import UsageError
from optistaff.evaluate import evaluate
from optistaff.explain import (
    assignment_of,
    binding_minimums,
    explain_agent,
    explain_interval,
    interval_index,
    working_profiles,
    worst_interval,
)
from optistaff.plan import Plan
from optistaff.scenario import Agent, Horizon, Pin, Scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REL = 1e-6


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= REL * max(1.0, abs(want))


@pytest.fixture(scope="module")
def michelle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    """The michelle plan, as read back from its directory (what `explain` works on)."""
    directory = optistaff.solve(stationary(SCENARIOS / "michelle.yaml")).write(
        tmp_path_factory.mktemp("explain") / "michelle"
    )
    return optistaff.read_plan(directory), directory


def _added(scenario: Scenario, skills: tuple[str, ...], t: int, agent_id: str) -> Scenario:
    """The scenario with one more agent (built here, independently of optistaff.explain)."""
    start = scenario.horizon.interval_start(t)
    end = scenario.horizon.interval_start(t + 1)
    extra = Agent(
        id=agent_id,
        skills=skills,
        shift=f"{start:%H:%M}-{end:%H:%M}",
        available=tuple(i == t for i in range(scenario.horizon.intervals)),
    )
    return replace(scenario, agents=(*scenario.agents, extra))


def test_binding_minimums_match_evaluate_with_one_agent_fewer(michelle: tuple[Plan, Path]) -> None:
    plan, _ = michelle
    sc = plan.scenario
    assignment = assignment_of(plan)
    frame = binding_minimums(plan)
    column = {
        "min_service_level": "shortfall_sl_calls",
        "max_abandon_rate": "shortfall_abandon_calls",
        "max_occupancy": "shortfall_occupancy_calls",
    }
    starts = sc.horizon.interval_starts()
    seen_binding = seen_not = 0
    for row in frame.to_dict(orient="records"):
        t = starts.index(row["interval_start"].to_pydatetime())
        on_queue = sorted(a for (a, tt), q in assignment.items() if tt == t and q == row["queue"])
        assert row["agents"] == len(on_queue)
        planned = plan.staffing[
            (plan.staffing["interval_start"] == row["interval_start"])
            & (plan.staffing["queue"] == row["queue"])
        ].iloc[0]
        assert _close(row["shortfall_calls"], float(planned[column[row["minimum"]]]))
        fewer = dict(assignment)
        fewer[on_queue[0], t] = None
        ev = evaluate(sc, fewer, plan.called_in)
        after = ev.staffing[
            (ev.staffing["interval_start"] == sc.horizon.label(t))
            & (ev.staffing["queue"] == row["queue"])
        ].iloc[0]
        assert _close(row["shortfall_calls_one_fewer"], float(after[column[row["minimum"]]]))
        weight = sc.queue(row["queue"]).weight
        rise = weight * (
            float(after[column[row["minimum"]]]) - float(planned[column[row["minimum"]]])
        )
        assert _close(row["added_weighted_shortfall"], rise)
        assert row["binds"] == (rise > 1e-9)
        seen_binding += row["binds"]
        seen_not += not row["binds"]
    # michelle has both: gold with 2 agents at 09:30 is past saving (SL 0 either way)
    assert seen_binding > 0 and seen_not > 0


def test_daily_minimum_binds_with_evaluate(michelle: tuple[Plan, Path]) -> None:
    plan, _ = michelle
    sc = plan.scenario
    gold = sc.queue("gold")
    daily = replace(sc, queues=(sc.queue("platinum"), replace(gold, daily_service_level=0.6)))
    assignment = assignment_of(plan)
    ev = evaluate(daily, assignment, plan.called_in)
    plan_daily = replace(plan, scenario=daily, staffing=plan.staffing)
    frame = binding_minimums(plan_daily)
    rows = frame[frame["minimum"] == "daily_service_level"]
    assert len(rows) == sc.horizon.intervals
    for row in rows.to_dict(orient="records"):
        t = sc.horizon.interval_starts().index(row["interval_start"].to_pydatetime())
        on_gold = sorted(a for (a, tt), q in assignment.items() if tt == t and q == "gold")
        fewer = dict(assignment)
        fewer[on_gold[0], t] = None
        after = evaluate(daily, fewer, plan.called_in).queues["gold"]["daily_shortfall"]
        assert _close(row["shortfall_calls"], float(ev.queues["gold"]["daily_shortfall"] or 0))
        assert _close(row["shortfall_calls_one_fewer"], float(after or 0))


def test_one_more_agent_equals_resolve_and_brute_force(michelle: tuple[Plan, Path]) -> None:
    plan, _ = michelle
    sc = plan.scenario
    t = worst_interval(plan)
    assert sc.horizon.label(t).endswith("09:30")  # where michelle falls shortest
    ex = explain_interval(plan, t)
    assert ex.base is not None and ex.one_more_agent is not None
    assert set(ex.one_more_agent["skills"]) == {"platinum+gold", "platinum", "gold"}
    assert set(working_profiles(plan, t)) == {("platinum", "gold"), ("platinum",), ("gold",)}
    base_brute = brute.optimum(sc)
    assert _close(ex.base.weighted_shortfall, base_brute.weighted_shortfall)
    assert _close(ex.base.total, base_brute.total)
    for row in ex.one_more_agent.to_dict(orient="records"):
        skills = tuple(row["skills"].split("+"))
        variant = _added(sc, skills, t, "newcomer")
        resolved = optistaff.solve(variant).objective
        assert _close(row["weighted_shortfall"], resolved["weighted_shortfall"])
        assert _close(row["total"], resolved["total"])
        assert _close(
            row["weighted_shortfall_reduction"],
            ex.base.weighted_shortfall - resolved["weighted_shortfall"],
        )
        assert _close(row["total_gain"], resolved["total"] - ex.base.total)
        best = brute.optimum(variant)  # independent of the solver
        assert _close(row["weighted_shortfall"], best.weighted_shortfall)
        assert _close(row["total"], best.total)
    # best first; at 09:30 a platinum agent is worth more than a gold one (gold is past saving)
    first = ex.one_more_agent.iloc[0]
    assert first["weighted_shortfall_reduction"] > 0 and "platinum" in first["skills"]


def test_moving_michelle_equals_brute_force(michelle: tuple[Plan, Path]) -> None:
    plan, _ = michelle
    sc = plan.scenario
    t = interval_index(sc, "09:00")
    ex = explain_agent(plan, "michelle", "09:00")
    assert ex.current == "platinum"
    assert list(ex.moves["queue"].fillna("unassigned")) == ["gold", "unassigned"]
    best = brute.optimum(sc)
    for row in ex.moves.to_dict(orient="records"):
        queue = None if row["queue"] is None or row["queue"] != row["queue"] else row["queue"]
        fixed = brute.optimum(sc, restrict={("michelle", t): (queue,)})
        assert _close(row["weighted_shortfall"], fixed.weighted_shortfall)
        assert _close(row["total"], fixed.total)
        assert _close(
            row["weighted_shortfall_increase"], fixed.weighted_shortfall - best.weighted_shortfall
        )
        assert _close(row["total_loss"], best.total - fixed.total)
    gold = ex.moves[ex.moves["queue"] == "gold"].iloc[0]
    assert gold["weighted_shortfall_increase"] > 0  # she belongs on platinum at 09:00


def test_moving_michelle_all_day_equals_pinned_resolve(michelle: tuple[Plan, Path]) -> None:
    plan, _ = michelle
    sc = plan.scenario
    ex = explain_agent(plan, "michelle")
    assert list(ex.timeline["queue"]) == ["platinum"]
    gold = ex.moves[ex.moves["queue"] == "gold"].iloc[0]
    pinned = replace(sc, pins=(Pin("michelle", "gold", 0, sc.horizon.intervals, "08:00", "12:00"),))
    resolved = optistaff.solve(pinned).objective
    assert _close(gold["total_loss"], ex.base.total - resolved["total"])
    assert _close(
        gold["weighted_shortfall_increase"],
        resolved["weighted_shortfall"] - ex.base.weighted_shortfall,
    )


def test_interval_index() -> None:
    sc = stationary(SCENARIOS / "michelle.yaml")
    assert interval_index(sc, "08:00") == 0
    assert interval_index(sc, "09:10") == 2  # the interval holding 09:10
    assert interval_index(sc, "2026-11-23 11:30") == 7
    for bad in ("12:00", "07:59", "noon", "2026-11-24 08:00"):
        with pytest.raises(UsageError):
            interval_index(sc, bad)
    night = replace(sc, horizon=Horizon(sc.horizon.start.replace(hour=22), 60, 6))
    assert interval_index(night, "01:30") == 3  # the next morning


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_explain_interval(michelle: tuple[Plan, Path]) -> None:
    _, directory = michelle
    code, out, err = _run("explain", str(directory), "--interval", "09:30", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["interval"]["from"] == "09:30"
    assert {m["queue"] for m in data["minimums"] if m["binds"]} == {"platinum"}
    assert len(data["one_more_agent"]) == 3
    code, out, err = _run("explain", str(directory), "--interval", "09:30")
    assert code == 0, err
    for text in ("minimums in 09:30–10:00", "one more agent", "platinum+gold", "binds"):
        assert text in out


def test_cli_explain_default_is_the_worst_interval(michelle: tuple[Plan, Path]) -> None:
    _, directory = michelle
    code, out, err = _run("explain", str(directory), "--no-resolve")
    assert code == 0, err
    assert "the day" in out and "explaining 09:30–10:00" in out
    assert "one more agent" not in out


def test_cli_explain_agent(michelle: tuple[Plan, Path]) -> None:
    _, directory = michelle
    code, out, err = _run("explain", str(directory), "--agent", "michelle", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["timeline"][0]["queue"] == "platinum"
    assert {m["queue"] for m in data["moves"]} == {"gold", None}
    assert all(m["total_loss"] > 0 for m in data["moves"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "25:00"], "expected HH:MM"),
        (["--interval", "13:00"], "outside the plan's horizon"),
        (["--agent", "bob"], "no such agent"),
        (["--agent", "priya", "--interval", "10:30"], "not available"),
        (["--agent", "michelle", "--no-resolve"], "need re-solves"),
    ],
)
def test_cli_explain_bad_input_exit_2(
    michelle: tuple[Plan, Path], args: list[str], message: str
) -> None:
    _, directory = michelle
    code, out, err = _run("explain", str(directory), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_cli_explain_not_a_plan(tmp_path: Path) -> None:
    code, out, err = _run("explain", str(tmp_path / "nothing"))
    assert code == 2 and "not a plan directory" in err
    code, out, err = _run("explain", str(tmp_path))
    assert code == 2 and "not a complete plan" in err
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_one_more_agent_contact_center(tmp_path: Path) -> None:
    """On the real example: the gains of two profiles at the afternoon peak equal re-solves
    with that agent added."""
    plan = optistaff.read_plan(
        optistaff.solve(stationary(SCENARIOS / "contact-center.yaml")).write(tmp_path / "cc")
    )
    sc = plan.scenario
    t = interval_index(sc, "14:15")
    present = working_profiles(plan, t)
    profiles = [("platinum_support", "gold_support"), ("standard_billing",)]
    assert all(p in present for p in profiles)
    ex = explain_interval(plan, "14:15", profiles=profiles)
    assert ex.base is not None and ex.one_more_agent is not None
    assert _close(ex.base.total, plan.objective["total"])  # the plan is optimal: same numbers
    assert _close(ex.base.weighted_shortfall, plan.objective["weighted_shortfall"])
    for row in ex.one_more_agent.to_dict(orient="records"):
        assert row["status"] == "optimal"
        resolved = optistaff.solve(_added(sc, tuple(row["skills"].split("+")), t, "zz")).objective
        assert _close(
            row["weighted_shortfall_reduction"],
            ex.base.weighted_shortfall - resolved["weighted_shortfall"],
        )
        assert _close(row["total_gain"], resolved["total"] - ex.base.total)
        assert row["weighted_shortfall_reduction"] > 0  # the peak is short: any agent helps
