"""`optistaff solve` end to end through click's CliRunner: table, files, exit codes,
determinism, and the Plan API's reading side."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.errors import PlanError

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
MICHELLE = str(SCENARIOS / "michelle.yaml")


def _solve(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "plan"
    # (the exact stationary optimiser: its plans are `optimal`)
    result = CliRunner().invoke(
        main, ["solve", MICHELLE, "-o", str(out), "--queue-model", "stationary", *args]
    )
    return result.exit_code, result.output, out


def test_solve_prints_every_queue_and_writes_the_plan(tmp_path: Path) -> None:
    code, output, out = _solve(tmp_path)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "assignments.csv",
        "scenario.yaml",
        "staffing.csv",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal"
    assert "status: optimal" in output
    # the queue that does not get Michelle shows what it loses: its shortfall in calls
    gold = summary["queues"]["gold"]
    assert gold["shortfall_calls"] > 0
    row = next(line for line in output.splitlines() if "gold" in line)
    assert f"{gold['shortfall_calls']:,.1f}" in row
    assert f"{100 * gold['service_level']:.1f}%" in row


def test_solve_json_is_the_summary(tmp_path: Path) -> None:
    code, output, out = _solve(tmp_path, "--json")
    assert code == 0
    printed = json.loads(output)
    assert printed == json.loads((out / "summary.json").read_text())


def test_same_scenario_gives_byte_identical_plans(tmp_path: Path) -> None:
    first = optistaff.solve(MICHELLE).write(tmp_path / "a")
    second = optistaff.solve(MICHELLE).write(tmp_path / "b")
    for name in ("scenario.yaml", "staffing.csv", "assignments.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a = json.loads((first / "summary.json").read_text())
    b = json.loads((second / "summary.json").read_text())
    a.pop("timing")
    b.pop("timing")
    assert a == b


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(MICHELLE).read_text().replace("aht_s: 300", "aht_s: -300"))
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["solve", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "queues.platinum.aht_s" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_unwritable_output_exits_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(main, ["solve", MICHELLE, "-o", str(blocker / "plan")])
    assert result.exit_code == 1
    assert "cannot write the plan" in result.output
    assert "Traceback" not in result.output


def test_read_plan_gives_back_the_same_frames(tmp_path: Path) -> None:
    plan = optistaff.solve(MICHELLE)
    again = optistaff.read_plan(plan.write(tmp_path / "p"))
    assert again.status == plan.status
    assert again.summary["objective"] == plan.summary["objective"]
    # the same frames, dtypes included (a notebook compares a plan read back with one
    # solved: the queue column was `str` read back and `string` solved)
    pd.testing.assert_frame_equal(again.staffing, plan.staffing)
    pd.testing.assert_frame_equal(again.assignments, plan.assignments)


def test_read_plan_refuses_files_that_do_not_belong_together(tmp_path: Path) -> None:
    out = optistaff.solve(MICHELLE).write(tmp_path / "p")
    staffing = out / "staffing.csv"
    staffing.write_text(staffing.read_text().replace(",4,", ",5,", 1))
    with pytest.raises(PlanError, match=r"does not match summary\.json"):
        optistaff.read_plan(out)


def test_rewriting_a_plan_replaces_it_whole(tmp_path: Path) -> None:
    out = tmp_path / "p"
    optistaff.solve(MICHELLE).write(out)
    (out / "stray.txt").write_text("left over")
    optistaff.solve(stationary(MICHELLE)).write(out)
    assert not (out / "stray.txt").exists()
    assert optistaff.read_plan(out).status == "optimal"  # (the second plan, whole)
    assert [p.name for p in tmp_path.iterdir()] == ["p"]  # no staging directories left


@pytest.mark.parametrize("command", ["solve", "compare", "explain", "simulate"])
def test_non_finite_time_limits_are_bad_input_everywhere(command: str, tmp_path: Path) -> None:
    args = {
        "solve": [MICHELLE, "-o", str(tmp_path / "p")],
        "compare": [MICHELLE, MICHELLE],
        "explain": [str(tmp_path)],
        "simulate": [MICHELLE],
    }[command]
    result = CliRunner().invoke(main, [command, *args, "--time-limit", "nan"])
    assert result.exit_code == 2, result.output
    assert "'--time-limit': nan is not allowed; allowed: a number in (0, ∞) s" in result.output
    assert not (tmp_path / "p").exists()


def test_the_python_api_refuses_a_non_finite_time_limit() -> None:
    from optistaff.errors import UsageError

    with pytest.raises(UsageError, match="finite"):
        optistaff.solve(MICHELLE, time_limit_s=float("inf"))
