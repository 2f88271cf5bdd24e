"""``optistaff.plan_schema`` describes the plan files exactly as optistaff writes them:
the TypedDicts list summary.json's keys in their order, the column constants the CSV
headers; read_plan refuses CSV files with other columns."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from tiny import stationary

import optistaff
from optistaff import plan_schema as schema
from optistaff.errors import PlanError

MICHELLE = Path(__file__).resolve().parent.parent / "scenarios" / "michelle.yaml"


def _keys(typed_dict: Any) -> list[str]:
    return list(typed_dict.__annotations__)


def _in_order(data: dict[str, Any], typed_dict: Any) -> bool:
    """``data`` has every required key of ``typed_dict``, no other key, in its order."""
    keys = _keys(typed_dict)
    # (the module's postponed annotations hide NotRequired from __required_keys__)
    required = {k for k, a in typed_dict.__annotations__.items() if "NotRequired[" not in str(a)}
    return list(data) == [k for k in keys if k in data] and required <= set(data)


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = optistaff.solve(stationary(MICHELLE))
    assert "files" not in plan.summary  # added when the plan is written
    written: Path = plan.write(tmp_path_factory.mktemp("schema") / "michelle")
    return written


def test_summary_json_has_the_keys_of_plan_summary_in_order(plan_dir: Path) -> None:
    summary = json.loads((plan_dir / "summary.json").read_text())
    assert _in_order(summary, schema.PlanSummary)
    assert "queue_model" not in summary  # a stationary plan keeps its old bytes
    assert list(summary["scenario"]) == _keys(schema.ScenarioInfo)
    assert list(summary["versions"]) == _keys(schema.Versions)
    assert _in_order(summary["solver"], schema.SolverSettings)
    assert list(summary["objective"]) == _keys(schema.Objective)
    assert summary["queues"]
    for totals in summary["queues"].values():
        assert _in_order(totals, schema.QueueTotals)
    assert list(summary["files"]) == ["assignments.csv", "scenario.yaml", "staffing.csv"]
    assert _in_order(summary["timing"], schema.Timing) and "compile_s" not in summary["timing"]
    assert optistaff.read_plan(plan_dir).summary == summary


def test_a_time_varying_plan_has_its_keys_in_order(tmp_path: Path) -> None:
    from optistaff.pipeline import evaluate_plan

    plan = evaluate_plan(optistaff.solve(stationary(MICHELLE)), "time_varying")
    summary = json.loads((plan.write(tmp_path / "tv") / "summary.json").read_text())
    assert _in_order(summary, schema.PlanSummary)
    assert summary["queue_model"] == "time_varying"
    assert list(summary)[list(summary).index("status") + 1] == "queue_model"
    assert summary["solver"]["optimised_for"] == "stationary"
    assert _in_order(summary["solver"], schema.SolverSettings)
    for totals in summary["queues"].values():
        assert _in_order(totals, schema.QueueTotals)
        assert "unanswered_at_end" in totals
    header = (tmp_path / "tv" / "staffing.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == schema.TIME_VARYING_COLUMNS
    assert optistaff.read_plan(tmp_path / "tv").summary == summary


def test_queue_figures_are_the_keys_of_queue_totals() -> None:
    assert tuple(_keys(schema.QueueTotals)) == schema.QUEUE_FIGURES
    assert all(schema.is_queue_figure(key) for key in schema.QUEUE_FIGURES)
    assert not schema.is_queue_figure("agent_hours")


def test_csv_headers_are_the_schema_columns(plan_dir: Path) -> None:
    for name, columns in (
        ("staffing.csv", schema.STAFFING_COLUMNS),
        ("assignments.csv", schema.ASSIGNMENT_COLUMNS),
    ):
        header = (plan_dir / name).read_text().splitlines()[0]
        assert tuple(header.split(",")) == columns


@pytest.mark.parametrize("name", ["staffing.csv", "assignments.csv"])
def test_read_plan_refuses_other_columns(plan_dir: Path, tmp_path: Path, name: str) -> None:
    """Even with summary.json's hashes made to match, a renamed column is refused."""
    copy = tmp_path / "plan"
    copy.mkdir()
    for f in plan_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    lines = (copy / name).read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("queue", "skill", 1)
    (copy / name).write_text("".join(lines))
    summary = json.loads((copy / "summary.json").read_text())
    summary["files"][name] = "sha256:" + hashlib.sha256((copy / name).read_bytes()).hexdigest()
    (copy / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(PlanError, match=rf"{name}: columns .*skill.*; a plan's {name} has"):
        optistaff.read_plan(copy)


def test_a_plan_prints_as_one_short_line() -> None:
    plan = optistaff.solve(MICHELLE)
    text = repr(plan)
    assert "\n" not in text and len(text) <= 200
    assert text.startswith("<Plan 'michelle': ") and str(plan.status) in text
    assert f"{plan.objective['total']:,.3f}" in text and str(plan) == text
