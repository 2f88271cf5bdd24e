"""Plans with time-varying figures: solving with ``policy.queue_model: time_varying``,
re-evaluating any plan (``optistaff evaluate``), the independent checker on them, the
starting state in scenario files, and bad input in the new fields and options."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import tiny
from checker import check_plan_dir
from click.testing import CliRunner

import optistaff
from optistaff.cli import main
from optistaff.pipeline import evaluate_plan
from optistaff.scenario import InitialState, QueueState, Scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def small(queue_model: str = "time_varying", state: InitialState | None = None) -> Scenario:
    """Two queues, three agents, four half-hours: chains small enough for the checker's
    dense reference (so every figure is recomputed independently)."""
    h = tiny.horizon(3)
    queues = [
        tiny.queue(h, "a", forecast=[3, 4, 2], value=3.0, patience_s=120.0, aht_s=200.0),
        tiny.queue(h, "b", forecast=[2, 3, 2], value=1.0, aht_s=240.0, min_service_level=0.7),
    ]
    agents = [
        tiny.agent(h, "x", ["a", "b"]),
        tiny.agent(h, "y", ["a"], first=1),
        tiny.agent(h, "z", ["b"], end=3),
    ]
    sc = tiny.scenario("small", h, queues, agents)
    policy = replace(sc.policy, queue_model=queue_model)  # type: ignore[arg-type]
    return replace(sc, policy=policy, initial_state=state)


def test_a_time_varying_solve_says_what_it_proved(tmp_path: Path) -> None:
    """The time-varying optimiser's plan (models/13-carry-over.md): feasible, no bound,
    the method named, chosen by the model its figures are under (no ``optimised_for``);
    the checker recomputes every figure with the dense reference (nothing skipped)."""
    plan = optistaff.solve(small())
    assert plan.status == "feasible"
    assert plan.summary["queue_model"] == "time_varying"
    assert plan.summary["bound"] is None and plan.summary["gap"] is None
    assert "optimised_for" not in plan.summary["solver"]
    assert "carry-over" in plan.summary["solver"]["decomposition"]
    report = check_plan_dir(plan.write(tmp_path / "tv"))
    assert report.evaluation.skipped == []
    assert "unanswered_at_end_calls" in plan.staffing


def test_the_checker_catches_a_wrong_time_varying_figure(tmp_path: Path) -> None:
    directory = optistaff.solve(small()).write(tmp_path / "tv")
    lines = (directory / "staffing.csv").read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("service_level")
    cells = lines[3].split(",")
    cells[col] = repr(float(cells[col]) + 1e-4)
    lines[3] = ",".join(cells)
    (directory / "staffing.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(AssertionError, match="service_level"):
        check_plan_dir(directory)


def test_a_plan_re_evaluated_both_ways_comes_back_byte_for_byte(tmp_path: Path) -> None:
    plan = optistaff.solve(small("stationary"))
    assert plan.status == "optimal"
    there = evaluate_plan(plan, "time_varying")
    assert there.status == "feasible" and there.summary["solver"]["proof"]["status"] == "optimal"
    check_plan_dir(there.write(tmp_path / "there"))
    back = evaluate_plan(there, "stationary")
    a, b = plan.write(tmp_path / "a"), back.write(tmp_path / "b")
    for name in ("scenario.yaml", "staffing.csv", "assignments.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    sa.pop("timing"), sb.pop("timing")
    assert sa == sb


def test_a_starting_state_counts_nowhere_and_lowers_service(tmp_path: Path) -> None:
    state = InitialState(0, (("a", QueueState(waiting=5, in_service=1)),))
    empty = optistaff.solve(small())
    busy = optistaff.solve(small(state=state))
    sl = {
        name: p.staffing[p.staffing.queue == "a"].service_level.iloc[0]
        for name, p in (("empty", empty), ("busy", busy))
    }
    assert sl["busy"] < sl["empty"] - 0.05
    assert busy.summary["queues"]["a"]["calls"] == empty.summary["queues"]["a"]["calls"]
    check_plan_dir(busy.write(tmp_path / "busy"))


def test_evaluate_command_writes_and_prints(tmp_path: Path) -> None:
    runner = CliRunner()
    plan_dir = optistaff.solve(tiny.stationary(SCENARIOS / "michelle.yaml")).write(tmp_path / "m")
    out = tmp_path / "m-tv"
    res = runner.invoke(
        main, ["evaluate", str(plan_dir), "--queue-model", "time_varying", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "time-varying" in res.output
    assert json.loads((out / "summary.json").read_text())["queue_model"] == "time_varying"
    check_plan_dir(out)
    res = runner.invoke(main, ["evaluate", str(out), "--queue-model", "stationary", "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["status"] == "optimal"  # the kept proof is restored


@pytest.mark.parametrize(
    "args, message",
    [
        (["--queue-model", "bogus"], "Invalid value for '--queue-model'"),
        ([], "Missing option '--queue-model'"),
    ],
)
def test_evaluate_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    plan_dir = optistaff.solve(SCENARIOS / "michelle.yaml").write(tmp_path / "m")
    res = CliRunner().invoke(main, ["evaluate", str(plan_dir), *args])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_evaluate_refuses_to_overwrite_its_plan_and_missing_plans(tmp_path: Path) -> None:
    plan_dir = optistaff.solve(SCENARIOS / "michelle.yaml").write(tmp_path / "m")
    before = (plan_dir / "summary.json").read_bytes()
    runner = CliRunner()
    res = runner.invoke(
        main, ["evaluate", str(plan_dir), "--queue-model", "stationary", "-o", str(plan_dir)]
    )
    assert res.exit_code == 2 and "must not replace PLAN" in res.output
    assert (plan_dir / "summary.json").read_bytes() == before
    res = runner.invoke(main, ["evaluate", str(tmp_path / "nope"), "--queue-model", "stationary"])
    assert res.exit_code == 2


BAD_STATES = [
    ('  at: "09:10"\n  queues: {gold: {waiting: 1}}', "09:10 is not an interval boundary"),
    ('  at: "13:00"\n  queues: {gold: {waiting: 1}}', "is outside the horizon"),
    ('  at: "soon"\n  queues: {gold: {waiting: 1}}', "must be a clock time"),
    ("  queues: {nope: {waiting: 1}}", "unknown queue 'nope'"),
    ("  queues: {gold: {waiting: -1}}", "must be >= 0"),
    ("  queues: {gold: {waiting: 1.5}}", "must be a whole number"),
    ("  queues: {gold: {waiting: .nan}}", "initial_state.queues.gold.waiting"),
    ("  queues: {gold: {wating: 1}}", "did you mean 'waiting'"),
    ("  queues: {gold: {in_service: 2000000}}", "must be <= 1000000"),
]


@pytest.mark.parametrize("text, message", BAD_STATES)
def test_bad_starting_states_are_refused_where_they_are(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: {SCENARIOS / 'michelle.yaml'}\ninitial_state:\n{text}\n")
    res = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "plan")])
    assert res.exit_code == 2, res.output
    assert "bad.yaml:" in res.output and message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "plan").exists()


def test_a_bad_queue_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: {SCENARIOS / 'michelle.yaml'}\npolicy:\n  queue_model: dynamic\n")
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    assert "policy.queue_model" in res.output and "time_varying" in res.output


def test_a_starting_state_round_trips_through_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text(
        f"extends: {SCENARIOS / 'michelle.yaml'}\n"
        "initial_state:\n  at: '09:00'\n  queues: {platinum: {waiting: 4, in_service: 3}}\n"
        "policy:\n  queue_model: time_varying\n"
    )
    sc = optistaff.load_scenario(str(path))
    assert sc.initial_state is not None and sc.initial_state.at == 2
    plan = optistaff.solve(sc)
    again = optistaff.read_plan(plan.write(tmp_path / "plan"))
    assert again.scenario.initial_state == sc.initial_state
    assert again.scenario.policy.queue_model == "time_varying"
