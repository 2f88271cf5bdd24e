"""Re-planning the rest of a day (issue "Intraday"): the effective time, the frozen
past, the run-rate, the baseline, the actions and applying them, and bad input.

Independent truth: the brute force of ``brute.py`` for the re-optimised rest of the
day (the replan's scenario with its pins), the checker of ``checker.py`` for every
written plan (figures recomputed from the files, the state at E included), and the
run-rate and the baseline computed here by hand from the old plan's files."""

from __future__ import annotations

import copy
import csv
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from brute import optimum
from checker import check_plan_dir, evaluate
from click.testing import CliRunner

import optistaff
from optistaff.cli import main
from optistaff.errors import UsageError
from optistaff.loading import scenario_from_dict
from optistaff.plan import read_plan
from optistaff.replan import (
    RUN_RATE_BOUNDS,
    ReplanRequest,
    apply_to,
    effective_boundary,
    plan_assignment,
    read_actions,
    replan,
    replan_summary,
    write,
)
from optistaff.solvers.carry_over import Score, better

# 08:00-12:00 in half-hours; three gold-only and three std-only agents, two
# multi-skilled ones, and two optional agents the quiet day does not call in.
QUIET: dict[str, Any] = {
    "name": "small-day",
    "horizon": {"start": "2026-12-02 08:00", "interval_minutes": 30, "intervals": 8},
    "queues": {
        "gold": {
            "value": 6,
            "aht_s": 300,
            "answer_within_s": 20,
            "patience_s": 120,
            "min_service_level": 0.8,
            "forecast": [4, 5, 6, 8, 14, 18, 18, 16],
        },
        "std": {
            "value": 2,
            "aht_s": 240,
            "answer_within_s": 60,
            "min_service_level": 0.6,
            "forecast": [6, 7, 8, 8, 10, 11, 11, 10],
        },
    },
    "agents": [
        {"id": "g1", "skills": ["gold"], "shift": "08:00-12:00"},
        {"id": "g2", "skills": ["gold"], "shift": "08:00-12:00"},
        {"id": "g3", "skills": ["gold"], "shift": "08:00-12:00"},
        {"id": "s1", "skills": ["std"], "shift": "08:00-12:00"},
        {"id": "s2", "skills": ["std"], "shift": "08:00-12:00"},
        {"id": "s3", "skills": ["std"], "shift": "08:00-12:00"},
        {"id": "m1", "skills": ["gold", "std"], "shift": "08:00-12:00"},
        {"id": "m2", "skills": ["gold", "std"], "shift": "09:00-12:00"},
        {
            "id": "ot1",
            "skills": ["gold", "std"],
            "shift": "08:00-12:00",
            "optional": True,
            "cost": 12,
        },
        {"id": "ot2", "skills": ["gold"], "shift": "10:00-12:00", "optional": True, "cost": 8},
    ],
    "policy": {"queue_model": "stationary"},
}


def _busy() -> dict[str, Any]:
    """A busier day with fewer agents: both optional agents are called in."""
    data = copy.deepcopy(QUIET)
    data["queues"]["gold"]["forecast"] = [6, 8, 10, 12, 20, 26, 26, 22]
    data["queues"]["std"]["forecast"] = [8, 10, 12, 12, 14, 16, 16, 14]
    data["agents"] = [a for a in data["agents"] if a["id"] not in ("g3", "s3")]
    data["agents"][-2]["cost"] = 3
    return data


@pytest.fixture(scope="module")
def quiet_plan() -> optistaff.Plan:
    plan = optistaff.solve(scenario_from_dict(QUIET))
    assert plan.status == "optimal" and plan.called_in == []
    return plan


@pytest.fixture(scope="module")
def busy_plan() -> optistaff.Plan:
    plan = optistaff.solve(scenario_from_dict(_busy()))
    assert plan.status == "optimal" and plan.called_in == ["ot1", "ot2"]
    return plan


def _written(result: Any, request: ReplanRequest, old: Any, path: Path) -> Path:
    directory = write(result, path, replan_summary(result, request, old))
    report = check_plan_dir(directory)
    assert report.problems == [], report.problems
    return directory


def _past_rows(path: Path, boundary: str) -> list[str]:
    lines = (path / "assignments.csv").read_text().splitlines()[1:]
    return [line for line in lines if line.split(",")[1] < boundary]


# -- the effective time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "E"),
    [("08:00", 0), ("09:00", 2), ("09:10", 3), ("09:30", 3), ("11:29", 7), ("2026-12-02 10:00", 4)],
)
def test_the_effective_time_is_the_first_boundary_at_or_after_at(at: str, E: int) -> None:
    sc = scenario_from_dict(QUIET)
    assert effective_boundary(sc.horizon, at) == E


@pytest.mark.parametrize(
    ("at", "needle"),
    [
        ("07:00", "off the horizon"),
        ("12:00", "off the horizon"),
        ("11:40", "nothing is left to re-plan"),
        ("9h40", "must be 'HH:MM'"),
        ("2026-12-03 09:00", "off the horizon"),
    ],
)
def test_an_effective_time_off_the_horizon_is_refused(at: str, needle: str) -> None:
    sc = scenario_from_dict(QUIET)
    with pytest.raises(UsageError, match=needle):
        effective_boundary(sc.horizon, at)


def test_an_undated_time_on_a_two_day_horizon_is_refused() -> None:
    from datetime import datetime

    from optistaff.scenario import Horizon

    two_days = Horizon(datetime(2026, 12, 2, 8, 0), 60, 30)
    with pytest.raises(UsageError, match="give the date"):
        effective_boundary(two_days, "09:00")
    assert effective_boundary(two_days, "2026-12-03 09:00") == 25


# -- no change: the same plan -------------------------------------------------------


def test_a_replan_at_the_start_without_change_is_a_fresh_solve(quiet_plan: Any) -> None:
    result = replan(quiet_plan, ReplanRequest(at="08:00"))
    fresh = optistaff.solve(scenario_from_dict(QUIET))
    assert result.plan.status == fresh.status == "optimal"
    assert result.plan.objective["total"] == pytest.approx(fresh.objective["total"], rel=1e-9)
    assert result.plan.objective["weighted_shortfall"] == pytest.approx(
        fresh.objective["weighted_shortfall"], abs=1e-7
    )
    best = optimum(result.plan.scenario)
    assert (
        best.accepts(result.plan.objective["weighted_shortfall"], result.plan.objective["total"])
        == []
    )


@pytest.mark.parametrize("at", ["08:40", "09:30", "10:00", "11:00"])
def test_a_replan_without_change_keeps_an_optimal_plan(quiet_plan: Any, at: str) -> None:
    result = replan(quiet_plan, ReplanRequest(at=at))
    old, new = quiet_plan.objective, result.plan.objective
    assert result.plan.status == "optimal"
    assert new["weighted_shortfall"] == pytest.approx(old["weighted_shortfall"], abs=1e-7)
    assert new["total"] == pytest.approx(old["total"], rel=1e-9)
    # the baseline is the old plan itself, and every action is a tie
    assert result.baseline.objective["total"] == pytest.approx(old["total"], rel=1e-12)
    for effect in result.cumulative[-1:]:
        assert abs(effect.total) <= 1e-6 and abs(effect.shortfall) <= 1e-6


def test_a_time_varying_replan_without_change_is_never_worse(tmp_path: Path) -> None:
    data = copy.deepcopy(QUIET)
    data["policy"] = {"queue_model": "time_varying"}
    old = optistaff.solve(scenario_from_dict(data))
    for at in ("09:00", "10:30"):
        result = replan(old, ReplanRequest(at=at))
        got = Score(result.plan.objective["weighted_shortfall"], result.plan.objective["total"])
        kept = Score(old.objective["weighted_shortfall"], old.objective["total"])
        assert not better(kept, got, priced=False), (at, got, kept)
        assert result.plan.status == "feasible"
    _written(result, ReplanRequest(at="10:30"), old, tmp_path / "tv")


# -- a real change, against brute force and the checker ----------------------------------


def _actuals(sc: Any, until: int, factor: dict[str, float]) -> pd.DataFrame:
    rows = [
        (sc.horizon.label(t), q.id, q.forecast[t] * factor.get(q.id, 1.0))
        for q in sc.queues
        for t in range(until)
    ]
    return pd.DataFrame(rows, columns=["interval_start", "queue", "calls"])


def test_the_rest_of_the_day_is_optimal_by_brute_force(quiet_plan: Any, tmp_path: Path) -> None:
    sc = quiet_plan.scenario
    request = ReplanRequest(at="09:40", absent=("g1", "m1"), actuals=_actuals(sc, 3, {"gold": 1.3}))
    result = replan(quiet_plan, request)
    new = result.plan
    best = optimum(new.scenario)
    assert best.accepts(new.objective["weighted_shortfall"], new.objective["total"]) == []
    # the run-rate by hand: 1.3 on gold (capped range not hit), 1 on std
    factors = {r.queue: r.calls_factor for r in result.reforecast}
    assert factors == {"gold": pytest.approx(1.3), "std": pytest.approx(1.0)}
    E = result.effective
    assert E == 4
    for t in range(E, 8):
        assert new.scenario.queue("gold").forecast[t] == pytest.approx(
            1.3 * sc.queue("gold").forecast[t]
        )
    for t in range(3):  # the actual calls of the intervals the actuals cover
        assert new.scenario.queue("gold").forecast[t] == pytest.approx(
            1.3 * sc.queue("gold").forecast[t]
        )
    assert new.scenario.queue("gold").forecast[3] == sc.queue("gold").forecast[3]
    # the baseline by hand: the old assignment, the absent agents off from E
    old_cells = plan_assignment(quiet_plan)
    baseline = {k: q for k, q in old_cells.items() if not (k[0] in ("g1", "m1") and k[1] >= E)}
    ev = evaluate(new.scenario, baseline, [])
    assert result.baseline.objective["total"] == pytest.approx(ev.total, rel=1e-9)
    assert result.baseline.objective["weighted_shortfall"] == pytest.approx(
        ev.weighted_shortfall, rel=1e-9, abs=1e-9
    )
    directory = _written(result, request, quiet_plan, tmp_path / "new")
    quiet_plan.write(tmp_path / "old")
    assert _past_rows(directory, "2026-12-02 10:00") == _past_rows(
        tmp_path / "old", "2026-12-02 10:00"
    )
    worked = plan_assignment(read_plan(directory))
    assert all(q is None for (a, t), q in worked.items() if a in ("g1", "m1") and t >= E)
    assert not any((a, t) in worked for a in ("g1", "m1") for t in range(E, 8))


def test_applying_every_action_in_order_gives_the_new_plan(quiet_plan: Any, tmp_path: Path) -> None:
    request = ReplanRequest(at="09:00", absent=("g1", "g2", "g3"))
    result = replan(quiet_plan, request)
    kinds = {a.kind for a in result.actions}
    assert "call_in" in kinds, result.actions
    sc = result.plan.scenario
    base = plan_assignment(result.baseline)
    applied = apply_to(sc, base, result.actions)
    assert {k: q for k, q in applied.items() if q is not None} == {
        k: q for k, q in plan_assignment(result.plan).items() if q is not None
    }
    assert result.cumulative[-1].total == pytest.approx(
        result.plan.objective["total"] - result.baseline.objective["total"], abs=1e-9
    )
    # blocks are maximal: no two of one agent meet with the same change
    for a in result.actions:
        for b in result.actions:
            if a.agent == b.agent and a.end == b.start:
                assert (a.from_queue, a.to_queue) != (b.from_queue, b.to_queue), (a, b)
    # the call-in costs the agent's intervals from E only (not there before)
    ot1 = next(a for a in result.actions if a.agent == "ot1")
    assert ot1.kind == "call_in" and ot1.cost == pytest.approx(12 * 6)
    directory = _written(result, request, quiet_plan, tmp_path / "new")
    assert read_actions(directory / "actions.csv", sc, result.effective) == list(result.actions)


def test_any_subset_of_the_actions_applies_to_a_valid_plan(quiet_plan: Any, tmp_path: Path) -> None:
    busy_plan = quiet_plan
    sc = busy_plan.scenario
    request = ReplanRequest(
        at="09:00", absent=("g1", "g2", "g3"), actuals=_actuals(sc, 2, {"std": 1.4})
    )
    result = replan(busy_plan, request)
    assert len(result.actions) >= 3
    rng = random.Random(7)
    for k in range(3):
        chosen = [a for a in result.actions if rng.random() < 0.5] or [result.actions[0]]
        partial = replan(busy_plan, request, apply=chosen)
        _written(partial, request, busy_plan, tmp_path / f"subset{k}")
        assert partial.actions == tuple(chosen)
        assert partial.cumulative[-1].total == pytest.approx(
            partial.plan.objective["total"] - partial.baseline.objective["total"], abs=1e-9
        )
    every = optistaff.apply_actions(busy_plan, request, list(result.actions))
    assert every.plan.objective == pytest.approx(result.plan.objective)


def test_a_quieter_day_releases_an_agent_not_yet_begun(busy_plan: Any, tmp_path: Path) -> None:
    sc = busy_plan.scenario
    request = ReplanRequest(at="09:00", actuals=_actuals(sc, 2, {"gold": 0.4, "std": 0.4}))
    result = replan(busy_plan, request)
    assert "ot2" not in result.plan.called_in and "ot1" in result.plan.called_in
    release = [a for a in result.actions if a.kind == "release"]
    assert [a.agent for a in release] == ["ot2"] and release[0].cost == pytest.approx(8 * 4)
    assert any("bounded" in w for w in result.warnings)  # 0.4 is below the bound
    assert {r.calls_factor for r in result.reforecast} == {RUN_RATE_BOUNDS[0]}
    _written(result, request, busy_plan, tmp_path / "quiet")


def test_an_action_that_does_not_match_the_baseline_is_refused(quiet_plan: Any) -> None:
    request = ReplanRequest(at="09:00", absent=("g1", "g2", "g3"))
    result = replan(quiet_plan, request)
    action = result.actions[0]
    wrong = type(action)(
        "move", action.agent, action.start, action.end, action.to_queue, action.from_queue
    )
    with pytest.raises(UsageError, match="do not apply"):
        replan(quiet_plan, request, apply=[wrong])


def test_the_given_state_at_E_is_in_the_plan_and_checked(tmp_path: Path) -> None:
    data = copy.deepcopy(QUIET)
    data["policy"] = {"queue_model": "time_varying"}
    old = optistaff.solve(scenario_from_dict(data))
    request = ReplanRequest(at="10:00", waiting={"gold": 6}, in_service={"gold": 3})
    result = replan(old, request)
    state = result.plan.scenario.initial_state
    assert state is not None and state.at == 4 and state.of("gold") is not None
    directory = _written(result, request, old, tmp_path / "state")
    # the state matters: the same plan without it scores otherwise
    plain = replan(old, ReplanRequest(at="10:00"))
    assert plain.baseline.objective["total"] != pytest.approx(result.baseline.objective["total"])
    assert (directory / "actions.csv").is_file()


def test_run_rate_edge_cases_warn(quiet_plan: Any) -> None:
    sc = quiet_plan.scenario
    only_gold = _actuals(sc, 2, {"gold": 3.0})
    only_gold = only_gold[only_gold["queue"] == "gold"]
    result = replan(quiet_plan, ReplanRequest(at="09:00", actuals=only_gold))
    factors = {r.queue: r.calls_factor for r in result.reforecast}
    assert factors == {"gold": RUN_RATE_BOUNDS[1], "std": 1.0}
    assert any("std: no actuals" in w for w in result.warnings)
    assert any("bounded" in w for w in result.warnings)
    kept = replan(quiet_plan, ReplanRequest(at="09:00", actuals=only_gold, reforecast="none"))
    assert {r.calls_factor for r in kept.reforecast} == {1.0}


def test_the_aht_factor_is_call_weighted(quiet_plan: Any) -> None:
    sc = quiet_plan.scenario
    frame = _actuals(sc, 2, {})
    frame["aht_s"] = [330.0, 360.0, 240.0, 240.0]  # gold 08:00, 08:30; std 08:00, 08:30
    result = replan(quiet_plan, ReplanRequest(at="09:00", actuals=frame))
    gold = next(r for r in result.reforecast if r.queue == "gold")
    want = (4 * 330 + 5 * 360) / (4 * 300 + 5 * 300)
    assert gold.aht_factor == pytest.approx(want)
    assert result.plan.scenario.queue("gold").aht_s[5] == pytest.approx(300 * want)
    assert result.plan.scenario.queue("gold").aht_s[0] == 330.0


# -- the command ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_dir(quiet_plan: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quiet_plan.write(tmp_path_factory.mktemp("replan") / "old")


def _actuals_file(path: Path, rows: Sequence[tuple[str, ...]]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["interval_start", "queue", "calls"])
        writer.writerows(rows)
    return path


def test_the_command_writes_the_plan_and_its_actions(plan_dir: Path, tmp_path: Path) -> None:
    actuals = _actuals_file(
        tmp_path / "a.csv", [("08:00", "gold", "6"), ("08:30", "gold", "7"), ("08:00", "std", "6")]
    )
    out = tmp_path / "new"
    result = CliRunner().invoke(
        main,
        [
            "replan",
            str(plan_dir),
            "--at",
            "09:10",
            "--absent",
            "g1,g2,g3",
            "--actuals",
            str(actuals),
            "-o",
            str(out),
        ],
        terminal_width=80,
    )
    assert result.exit_code == 0, result.output
    assert "re-planned from 2026-12-02 09:30" in result.output
    assert "call in" in result.output
    assert check_plan_dir(out).problems == []
    summary = read_plan(out).summary
    assert summary["replan"]["effective"] == "2026-12-02 09:30"
    assert summary["replan"]["run_rate"]["gold"]["calls_factor"] == pytest.approx(13 / 9)
    frame = pd.read_csv(out / "actions.csv")
    assert list(frame["order"]) == list(range(1, len(frame) + 1))
    # applying the written file gives the same plan
    again = tmp_path / "again"
    applied = CliRunner().invoke(
        main,
        [
            "replan",
            str(plan_dir),
            "--at",
            "09:10",
            "--absent",
            "g1,g2,g3",
            "--actuals",
            str(actuals),
            "--apply",
            str(out / "actions.csv"),
            "-o",
            str(again),
        ],
    )
    assert applied.exit_code == 0, applied.output
    assert "applied, in the file's order" in applied.output
    assert "with the actions" in applied.output
    assert (again / "assignments.csv").read_bytes() == (out / "assignments.csv").read_bytes()


def test_the_actions_table_fits_80_columns_whole(quiet_plan: Any) -> None:
    from rich.console import Console

    from optistaff.cli.replan import ACTIONS_LEGEND, _actions_table

    data = copy.deepcopy(QUIET)
    for entry in data["agents"]:  # long names, as centers have them
        entry["id"] = f"{entry['id']}-longname"
    data["queues"] = {f"platinum_{q}_support": v for q, v in data["queues"].items()}
    for entry in data["agents"]:
        entry["skills"] = [f"platinum_{q}_support" for q in entry["skills"]]
    old = optistaff.solve(scenario_from_dict(data))
    result = replan(old, ReplanRequest(at="09:00", absent=("g1-longname", "g2-longname")))
    assert result.actions
    console = Console(width=80, record=True, color_system=None)
    console.print(_actions_table(result, 80))
    console.print(ACTIONS_LEGEND)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "…" not in text
    for action in result.actions[:12]:
        assert any(action.agent in line for line in lines)
        for q in (action.from_queue, action.to_queue):
            assert q is None or any(q in line for line in lines), q


def _bad_actuals(tmp_path: Path, rows: Sequence[tuple[str, ...]]) -> str:
    return str(_actuals_file(tmp_path / "bad.csv", rows))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--at", "13:00"], "off the horizon"),
        (["--at", "09:00", "--absent", "zed"], "unknown agent id(s) 'zed'"),
        (["--at", "09:00", "--absent", "g1", "--available", "g1"], "both --absent and --available"),
        (["--at", "09:00", "--waiting", "gold=-3"], "QUEUE=N"),
        (["--at", "09:00", "--waiting", "gold=2.5"], "QUEUE=N"),
        (["--at", "09:00", "--waiting", "silver=2"], "unknown queue(s) silver"),
        (["--at", "09:00", "--freeze", "6"], "--freeze 6"),
        (["--at", "09:00", "--actuals", "@unknown-queue"], "unknown queue 'silver'"),
        (["--at", "09:00", "--actuals", "@after"], "at or after the re-plan's effective time"),
        (["--at", "09:00", "--actuals", "@negative"], "calls: must be a number"),
        (["--at", "09:00", "--actuals", "@nan"], "calls: must be a number"),
        (["--at", "09:00", "--actuals", "@off-grid"], "not an interval start"),
        (["--at", "09:00", "--actuals", "@missing-file"], "cannot read the actuals"),
    ],
)
def test_bad_input_is_one_message_exit_2_nothing_written(
    plan_dir: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    files = {
        "@unknown-queue": [("08:00", "silver", "3")],
        "@after": [("09:00", "gold", "3")],
        "@negative": [("08:00", "gold", "-1")],
        "@nan": [("08:00", "gold", "nan")],
        "@off-grid": [("08:10", "gold", "3")],
    }
    args = list(args)
    for i, arg in enumerate(args):
        if arg in files:
            args[i] = _bad_actuals(tmp_path, files[arg])
        elif arg == "@missing-file":
            args[i] = str(tmp_path / "none.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["replan", str(plan_dir), *args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert needle in result.output, result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_writing_over_the_old_plan_is_refused(plan_dir: Path) -> None:
    before = (plan_dir / "summary.json").read_bytes()
    result = CliRunner().invoke(
        main, ["replan", str(plan_dir), "--at", "09:00", "-o", str(plan_dir)]
    )
    assert result.exit_code == 2 and "that is PLAN itself" in result.output
    assert (plan_dir / "summary.json").read_bytes() == before


def test_a_located_message_for_a_bad_actions_file(plan_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "actions.csv"
    bad.write_text(
        "action,agent,from,to,from_queue,to_queue\n"
        "move,g1,2026-12-02 09:10,2026-12-02 10:00,gold,std\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["replan", str(plan_dir), "--at", "09:00", "--apply", str(bad), "-o", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert f"{bad}:2 from:" in result.output
    assert not out.exists()


def test_compare_shows_the_rest_of_the_day_from_E(quiet_plan: Any, tmp_path: Path) -> None:
    from optistaff.compare import compare

    request = ReplanRequest(at="09:40", absent=("g1", "g2", "g3"))
    result = replan(quiet_plan, request)
    new_dir = _written(result, request, quiet_plan, tmp_path / "new")
    old_dir = quiet_plan.write(tmp_path / "old")
    comparison = compare([read_plan(old_dir), read_plan(new_dir)], labels=["old", "new"])
    assert comparison.since == "2026-12-02 10:00"
    for label, directory in (("old", old_dir), ("new", new_dir)):
        with open(directory / "staffing.csv") as fh:
            rows = [r for r in csv.DictReader(fh) if r["interval_start"] >= "2026-12-02 10:00"]
        value = sum(float(r["value"]) for r in rows)
        assert comparison.value("", "rest_value", label) == pytest.approx(value, rel=1e-12)
        gold = [r for r in rows if r["queue"] == "gold"]
        sl = sum(float(r["answered_within_target"]) for r in gold) / sum(
            float(r["calls"]) for r in gold
        )
        assert comparison.value("gold", "rest_service_level", label) == pytest.approx(sl)
    # the whole day is there too, and the command shows both
    assert comparison.value("", "total", "new") == pytest.approx(result.plan.objective["total"])
    shown = CliRunner().invoke(main, ["compare", str(old_dir), str(new_dir)])
    assert shown.exit_code == 0, shown.output
    assert "SL from E" in shown.output and "from 2026-12-02 10:00" in shown.output
    # one scenario twice: the columns are named after the plans' directories
    assert "compared against old" in shown.output and " new " in shown.output


def test_naming_after_the_baseline_is_the_fewest_differences_by_brute_force() -> None:
    """``closest_to`` against every permutation of the places among the movable agents
    of each interval: the same staffing, and no naming differs from the baseline in
    fewer cells."""
    import itertools

    from optistaff.disaggregate import closest_to

    sc = scenario_from_dict(QUIET)
    rng = random.Random(3)
    movable = [a for a in sc.agents if not a.optional]
    for _trial in range(5):
        reference: dict[tuple[str, int], str | None] = {}
        solved: dict[tuple[str, int], str | None] = {}
        for a in movable:
            for t, ok in enumerate(a.available):
                if ok:
                    reference[(a.id, t)] = rng.choice([*a.skills, None])
                    solved[(a.id, t)] = rng.choice([*a.skills, None])
        named = closest_to(sc, solved, reference, 0)
        for t in range(sc.horizon.intervals):
            here = [a for a in movable if a.available[t]]
            places = sorted((solved[(a.id, t)] or "") for a in here)
            assert sorted((named[(a.id, t)] or "") for a in here) == places
            got = sum(named[(a.id, t)] != reference[(a.id, t)] for a in here)
            best = min(
                sum(p != reference[(a.id, t)] for a, p in zip(here, perm, strict=True))
                for perm in itertools.permutations([solved[(a.id, t)] for a in here])
                if all(p is None or p in a.skills for a, p in zip(here, perm, strict=True))
            )
            assert got == best, (t, got, best)
