"""``optistaff simulate`` through click's CliRunner against the real command group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import optistaff
from optistaff.cli import main

ROOT = Path(__file__).resolve().parent.parent
MICHELLE = ROOT / "scenarios" / "michelle.yaml"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sim") / "michelle"
    optistaff.solve(MICHELLE).write(directory)
    return directory


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["simulate", *args])


def test_table_output(plan_dir: Path) -> None:
    result = _run(str(plan_dir), "-r", "30", "--workers", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "michelle: plan vs. simulation over the day" in out
    for text in ("platinum", "gold", "service level", "ASA", "abandon rate", "occupancy"):
        assert text in out
    assert "queue-intervals with the prediction outside the 95% CI" in out


def test_json_same_seed_same_result(plan_dir: Path) -> None:
    first = _run(str(plan_dir), "-r", "20", "--seed", "7", "--json", "--workers", "1")
    again = _run(str(plan_dir), "-r", "20", "--seed", "7", "--json", "--workers", "2")
    other = _run(str(plan_dir), "-r", "20", "--seed", "8", "--json", "--workers", "1")
    assert first.exit_code == again.exit_code == other.exit_code == 0
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    data = json.loads(first.stdout)
    assert data["plan"] == "michelle" and data["replications"] == 20 and data["seed"] == 7
    assert data["handle_times"] == "exponential"
    assert [q["queue"] for q in data["queues"]] == ["platinum", "gold"]
    assert len(data["intervals"]) == 16
    row = data["intervals"][0]
    assert row["interval_start"] == "2026-11-23 08:00" and row["queue"] == "platinum"
    for metric in ("service_level", "asa_s", "abandon_rate", "occupancy"):
        for suffix in ("predicted", "simulated", "low", "high", "outside"):
            assert f"{metric}_{suffix}" in row
        assert isinstance(row[f"{metric}_outside"], bool)
        assert row[f"{metric}_low"] <= row[f"{metric}_simulated"] <= row[f"{metric}_high"]


def test_scenario_is_solved_first_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "sl.png"
    result = _run(
        str(MICHELLE), "-r", "10", "--handle-cv", "0.5", "--plot", str(png), "--all-intervals"
    )
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "per queue and interval" in result.stdout
    assert "lognormal, cv 0.5" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such plan directory or scenario file"),
        (["{plan}", "--replications", "0"], "replications"),
        (["{plan}", "--seed", "-1"], "--seed"),
        (["{plan}", "--handle-cv", "-0.5"], "--handle-cv"),
        (["{plan}", "--workers", "0"], "--workers"),
        (["{plan}", "--plot", "{missing}/x.png"], "does not exist"),
        (["{plan}", "--plot", "{tmp}/x.txt"], ".png"),
        (["{tmp}"], "not a complete plan"),
        (["{bad_scenario}"], "problem"),
    ],
)
def test_bad_input_exit_2(plan_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon: 3\n")
    names = {
        "plan": str(plan_dir),
        "missing": str(tmp_path / "nowhere"),
        "tmp": str(tmp_path),
        "bad_scenario": str(bad),
    }
    result = _run(*(a.format(**names) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
