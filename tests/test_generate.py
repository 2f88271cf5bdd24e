"""``optistaff generate`` and :mod:`optistaff.generate`: sizes, determinism, tightness.

The peak ratio is recomputed here from the loaded scenario with the queueing module
only (not with ``optistaff.generate.peak_ratio``), so a wrong ratio in the generator
cannot hide behind the same code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from checker import check_plan_dir
from click.testing import CliRunner
from tiny import stationary

import optistaff
from optistaff import queueing
from optistaff.cli import main
from optistaff.generate import CenterSpec, generate_center, write_center
from optistaff.scenario import Scenario


def _peak(scenario: Scenario) -> tuple[float, int, int]:
    """(on duty / required, on duty, required) at the interval of largest requirement."""
    h = scenario.horizon
    required = np.zeros(h.intervals, dtype=int)
    for q in scenario.queues:
        for t in range(h.intervals):
            required[t] += int(
                queueing.required_agents(
                    q.forecast[t],
                    q.aht_s[t],
                    h.interval_s,
                    q.answer_within_s,
                    service_level=q.min_service_level,
                    patience_s=q.patience_s,
                    max_abandon_rate=q.max_abandon_rate,
                    max_occupancy=q.max_occupancy,
                )
            )
    t = int(np.argmax(required))
    on_duty = sum(a.available[t] for a in scenario.agents if not a.optional)
    return on_duty / required[t], on_duty, int(required[t])


def _generate(runner: CliRunner, out: Path, *args: str) -> None:
    result = runner.invoke(main, ["generate", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output


@pytest.mark.parametrize(
    ("agents", "queues", "intervals", "minutes", "tightness", "coupling"),
    [
        (50, 4, 32, 15, 0.85, False),
        (60, 5, 16, 30, 1.10, True),
        (80, 7, 40, 15, 1.0, False),
    ],
)
def test_cli_center_loads_with_requested_size_and_tightness(
    tmp_path: Path,
    agents: int,
    queues: int,
    intervals: int,
    minutes: int,
    tightness: float,
    coupling: bool,
) -> None:
    args = [
        f"--agents={agents}",
        f"--queues={queues}",
        f"--intervals={intervals}",
        f"--interval-minutes={minutes}",
        f"--tightness={tightness}",
        "--coupling" if coupling else "--no-coupling",
        "--seed=7",
    ]
    _generate(CliRunner(), tmp_path / "c", *args)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "forecast.csv",
        "roster.csv",
        "scenario.yaml",
    ]
    scenario = optistaff.load_scenario(str(tmp_path / "c" / "scenario.yaml"))
    assert len(scenario.agents) == agents
    assert len(scenario.queues) == queues
    assert scenario.horizon.intervals == intervals
    assert scenario.horizon.interval_minutes == minutes
    assert not scenario.warnings
    # shifts start on the half hour; every queue has someone with its skill
    assert all(a.shift[3:5] in ("00", "30") for a in scenario.agents)
    assert {s for a in scenario.agents for s in a.skills} == set(scenario.queue_ids)
    optional = [a for a in scenario.agents if a.optional]
    if coupling:
        assert optional and all(a.cost > 0 for a in optional)
        assert scenario.policy.switch_penalty > 0
        assert any(q.daily_service_level is not None for q in scenario.queues)
    else:
        assert not optional and scenario.policy.switch_penalty == 0
        assert all(q.daily_service_level is None for q in scenario.queues)
    ratio, _on_duty, required = _peak(scenario)
    # met from above, to within one agent of the (integer) requirement
    assert tightness <= ratio <= tightness * (1 + 1 / (required - 1)) + 1e-12
    assert ratio == pytest.approx(tightness, rel=0.05)


def test_same_seed_same_bytes_other_seed_other_center(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--agents=40", "--queues=5", "--intervals=24", "--coupling"]
    _generate(runner, tmp_path / "a", *args, "--seed=11")
    _generate(runner, tmp_path / "b", *args, "--seed=11")
    _generate(runner, tmp_path / "c", *args, "--seed=12")
    for name in ("scenario.yaml", "roster.csv", "forecast.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    roster = "roster.csv"
    assert (tmp_path / "a" / roster).read_bytes() != (tmp_path / "c" / roster).read_bytes()
    # the Python function gives the same files as the command
    center = generate_center(CenterSpec(40, 5, 24, seed=11, coupling=True))
    assert center.scenario_yaml == (tmp_path / "a" / "scenario.yaml").read_text()
    assert center.roster_csv == (tmp_path / "a" / "roster.csv").read_text()
    assert center.forecast_csv == (tmp_path / "a" / "forecast.csv").read_text()


def test_yaml_output_names_side_files_after_it(tmp_path: Path) -> None:
    path = write_center(CenterSpec(20, 3, 8, profiles=4, seed=1), tmp_path / "small.yaml")
    assert path == tmp_path / "small.yaml"
    assert (tmp_path / "small-roster.csv").exists() and (tmp_path / "small-forecast.csv").exists()
    scenario = optistaff.load_scenario(str(path))
    assert len({a.skills for a in scenario.agents}) <= 4
    assert len(scenario.agents) == 20


def test_existing_files_are_kept_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    _generate(runner, tmp_path / "c", "--agents=10", "--queues=2", "--intervals=8")
    before = (tmp_path / "c" / "roster.csv").read_bytes()
    result = runner.invoke(
        main,
        ["generate", "--agents=12", "--queues=2", "--intervals=8", "-o", str(tmp_path / "c")],
    )
    assert result.exit_code == 2
    assert "--force" in result.output
    assert (tmp_path / "c" / "roster.csv").read_bytes() == before
    _generate(runner, tmp_path / "c", "--agents=12", "--queues=2", "--intervals=8", "--force")
    assert len(optistaff.load_scenario(str(tmp_path / "c" / "scenario.yaml")).agents) == 12


@pytest.mark.parametrize(
    "args",
    [
        ["--agents=10", "--queues=2", "--intervals=200"],  # more than 24 hours
        ["--agents=10", "--queues=2", "--intervals=8", "--profiles=4"],  # 2 queues: 3 sets
        ["--agents=1", "--queues=2", "--intervals=8", "--coupling"],  # no regular agent
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["generate", *args, "-o", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "c").exists()


def test_generated_small_center_solves_and_passes_the_checker(tmp_path: Path) -> None:
    path = write_center(CenterSpec(50, 4, 32, tightness=0.85, seed=2), tmp_path / "c")
    scenario = stationary(path)
    plan = optistaff.solve(scenario, time_limit_s=20)
    assert str(plan.status) == "optimal"
    plan.write(tmp_path / "plan")
    solved = replace(scenario, policy=replace(scenario.policy, time_limit_s=20.0))
    report = check_plan_dir(tmp_path / "plan", expected_scenario=solved)
    assert report.status == "optimal"
    # a shortage center: some queue falls short of its minimum at the peak
    assert plan.objective["weighted_shortfall"] > 0
