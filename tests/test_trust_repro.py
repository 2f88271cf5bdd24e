"""Reproducibility: what summary.json records, that the input hash covers the side
files, that an optimal solve repeats byte for byte, and that read_plan refuses a plan
whose files do not belong together."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from tiny import stationary

import optistaff
from optistaff.errors import PlanError
from optistaff.loading import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
MICHELLE = SCENARIOS / "michelle.yaml"


def _side_file_scenario(directory: Path) -> Path:
    """michelle, with its platinum forecast in a CSV and its agents in a roster CSV,
    extended by a child that calls in an optional agent."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = yaml.safe_load(MICHELLE.read_text())
    starts = [f"2026-11-23 {8 + i // 2:02d}:{30 * (i % 2):02d}" for i in range(8)]
    calls = data["queues"]["platinum"]["forecast"]
    (directory / "forecast.csv").write_text(
        "interval_start,platinum\n"
        + "".join(f"{s},{c}\n" for s, c in zip(starts, calls, strict=True))
    )
    data["queues"]["platinum"]["forecast"] = {"file": "forecast.csv", "column": "platinum"}
    roster = ["id,skills,shift,breaks,optional,cost"]
    for agent in data["agents"]:
        roster.append(
            f"{agent['id']},{';'.join(agent['skills'])},{agent['shift']},"
            f"{';'.join(agent.get('breaks', []))},,"
        )
    roster.append("ot-1,platinum;gold,10:00-12:00,,yes,2")
    (directory / "roster.csv").write_text("\n".join(roster) + "\n")
    data["agents"] = [{"file": "roster.csv"}]
    (directory / "base.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    child = {"extends": "base.yaml", "changes": {"scale_forecast": {"gold": 1.1}}}
    (directory / "day.yaml").write_text(yaml.safe_dump(child, sort_keys=False))
    return directory / "day.yaml"


def test_summary_records_versions_hashes_and_solver_settings(tmp_path: Path) -> None:
    path = _side_file_scenario(tmp_path / "in")
    scenario = load_scenario(path)
    plan = optistaff.solve(scenario, time_limit_s=20, threads=1)
    summary = json.loads((plan.write(tmp_path / "plan") / "summary.json").read_text())
    assert summary["versions"]["optistaff"] == optistaff.__version__
    assert summary["versions"]["ortools"] == metadata.version("ortools")
    # the hash of the scenario as solved (the command line's overrides included), which
    # is the plan's scenario.yaml; the raw files' hash is the input's
    assert summary["scenario"]["content_hash"] == plan.scenario.content_hash()
    assert (
        summary["scenario"]["content_hash"]
        == load_scenario(tmp_path / "plan" / "scenario.yaml").content_hash()
    )
    assert summary["scenario"]["input_hash"] == scenario.input_hash
    solver = summary["solver"]
    assert solver["objective"] == "within_target"
    assert solver["time_limit_s"] == 20
    assert solver["mip_gap"] == scenario.policy.mip_gap
    assert solver["threads"] == 1
    assert solver["seed"] == scenario.policy.seed
    assert solver["backend"] == "cp-sat"
    assert set(summary["files"]) == {"scenario.yaml", "staffing.csv", "assignments.csv"}


@pytest.mark.parametrize("side", ["roster.csv", "forecast.csv", "base.yaml"])
def test_input_hash_covers_every_file_read(tmp_path: Path, side: str) -> None:
    """A change in any file read (parent, roster, forecast) changes input_hash; a change
    that means nothing (stray spaces) leaves content_hash, the resolved scenario's, alone."""
    path = _side_file_scenario(tmp_path / "in")
    before = load_scenario(path)
    target = tmp_path / "in" / side
    if side == "base.yaml":
        target.write_text(target.read_text() + "# a comment\n")
    else:
        target.write_text(target.read_text().replace(",", ", ", 1))
    after = load_scenario(path)
    assert after.input_hash != before.input_hash
    assert after.content_hash() == before.content_hash()
    # and a copy of the same files elsewhere has the same hashes (paths are relative)
    shutil.copytree(tmp_path / "in", tmp_path / "copy")
    assert load_scenario(tmp_path / "copy" / "day.yaml").input_hash == after.input_hash


def test_an_optimal_solve_repeats_byte_for_byte(tmp_path: Path) -> None:
    path = _side_file_scenario(tmp_path / "in")
    first = optistaff.solve(stationary(path)).write(tmp_path / "a")
    second = optistaff.solve(stationary(path)).write(tmp_path / "b")
    assert json.loads((first / "summary.json").read_text())["status"] == "optimal"
    for name in ("scenario.yaml", "staffing.csv", "assignments.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (first, second))
    a.pop("timing")
    b.pop("timing")
    assert a == b
    # summary.json differs at most in its last block, timing
    text_a, text_b = ((d / "summary.json").read_text() for d in (first, second))
    cut = text_a.index('"timing"')
    assert text_a[:cut] == text_b[:cut]


@pytest.fixture(scope="module")
def two_plan_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mix")
    a = optistaff.solve(MICHELLE).write(root / "a")
    b = optistaff.solve(_side_file_scenario(root / "in")).write(root / "b")
    return a, b


@pytest.mark.parametrize("name", ["scenario.yaml", "staffing.csv", "assignments.csv"])
def test_read_plan_refuses_files_mixed_from_two_plans(
    tmp_path: Path, two_plan_dirs: tuple[Path, Path], name: str
) -> None:
    a, b = two_plan_dirs
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    shutil.copy(b / name, mixed / name)
    with pytest.raises(PlanError, match=rf"{name}: does not match summary\.json"):
        optistaff.read_plan(mixed)


def test_read_plan_refuses_a_summary_from_another_plan(
    tmp_path: Path, two_plan_dirs: tuple[Path, Path]
) -> None:
    a, b = two_plan_dirs
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    shutil.copy(b / "summary.json", mixed / "summary.json")
    with pytest.raises(PlanError, match=r"does not match summary\.json"):
        optistaff.read_plan(mixed)


def test_read_plan_refuses_a_summary_naming_another_scenario(
    tmp_path: Path, two_plan_dirs: tuple[Path, Path]
) -> None:
    a, b = two_plan_dirs
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    summary = json.loads((mixed / "summary.json").read_text())
    summary["scenario"] = json.loads((b / "summary.json").read_text())["scenario"]
    (mixed / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(PlanError, match=r"scenario content hash does not match scenario\.yaml"):
        optistaff.read_plan(mixed)


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "not-json-object"])
def test_read_plan_refuses_a_damaged_plan(
    tmp_path: Path, two_plan_dirs: tuple[Path, Path], damage: str
) -> None:
    a, _ = two_plan_dirs
    plan = tmp_path / "plan"
    shutil.copytree(a, plan)
    if damage == "missing":
        (plan / "assignments.csv").unlink()
    elif damage == "truncated":
        data = (plan / "staffing.csv").read_bytes()
        (plan / "staffing.csv").write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        (plan / "summary.json").write_bytes(b"\x00\xff{")
    else:
        (plan / "summary.json").write_text("[1, 2, 3]")
    with pytest.raises(PlanError):
        optistaff.read_plan(plan)
