"""Limits: absurd input is refused early (exit 2) with a message naming the limit, and
input at the edge of the limits is solved without any crash. See the "Limits" rule in
``docs/scenario-rules.md`` for each limit and why it is what it is."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from tiny import stationary

import optistaff
import optistaff.loading.problems as loading_problems
from optistaff.cli import main
from optistaff.errors import ScenarioError
from optistaff.loading import load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
MICHELLE = SCENARIOS / "michelle.yaml"
BASE: dict[str, Any] = yaml.safe_load(MICHELLE.read_text())


def _refused(data: dict[str, Any], *needles: str) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source_name="limits.yaml")
    text = str(info.value)
    for needle in needles:
        assert needle in text, text
    return text


def _edited(**queue_fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["queues"]["platinum"].update(queue_fields)
    return data


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, so that a hang fails (timeout) instead of
    blocking the test run."""
    return subprocess.run(
        [sys.executable, "-c", "from optistaff.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_hundred_thousand_agents_are_refused_early(tmp_path: Path) -> None:
    rows = "".join(f"a{i},platinum;gold,08:00-12:00\n" for i in range(100_000))
    (tmp_path / "roster.csv").write_text("id,skills,shift\n" + rows)
    data = copy.deepcopy(BASE)
    data["agents"] = [{"file": "roster.csv"}]
    (tmp_path / "huge.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "plan"
    result = _cli("solve", str(tmp_path / "huge.yaml"), "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "100,000 agents" in result.stderr and "at most 20,000 agents" in result.stderr
    assert "MAX_AGENTS" in result.stderr
    assert "roster.csv:1" in result.stderr  # where: the roster's header
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_billion_calls_are_refused_naming_the_limit() -> None:
    text = _refused(_edited(forecast=[1e9] * 8), "queues.platinum.forecast", "MAX_CALLS")
    assert "at most 1,000,000 per interval" in text


def test_an_offered_load_beyond_the_exact_range_is_refused() -> None:
    # 200,000 calls × 300 s / 1,800 s = 33,333 Erlangs
    _refused(_edited(forecast=[2e5] * 8), "33,333.3 Erlangs", "MAX_OFFERED_LOAD")


@pytest.mark.parametrize(
    ("where", "value", "needle"),
    [
        (("queues", "platinum", "value"), 1e12, "must be <= 1000000 (optistaff's limit)"),
        (("queues", "platinum", "value"), 1e300, "got 1e+300"),
        (("queues", "platinum", "shortfall_weight"), 1e7, "optistaff's limit"),
        (("queues", "platinum", "patience_s"), 1e-300, "must be >= 1"),
        (("queues", "platinum", "patience_s"), 1e300, "optistaff's limit"),
        (("queues", "platinum", "aht_s"), 1e300, "MAX_AHT_S"),
        (("queues", "platinum", "aht_s"), 1e-300, "MIN_AHT_S"),
        (("queues", "platinum", "forecast"), [1e-300] * 8, "MIN_CALLS"),
        (("policy", "threads"), 10**10, "policy.threads: must be <= 64"),
        (("policy", "seed"), 2**40, "policy.seed: must be <= 2147483647"),
        (("policy", "switch_penalty"), 1e300, "optistaff's limit"),
        (("policy", "shortfall_price"), 1e9, "optistaff's limit"),
    ],
)
def test_absurd_numbers_are_refused(where: tuple[str, ...], value: Any, needle: str) -> None:
    """Each of these used to reach the solver: CP-SAT rejected the model (exit 1, 'a bug
    in optistaff') or OR-Tools raised a TypeError (a traceback)."""
    data = copy.deepcopy(BASE)
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    _refused(data, ".".join(where), needle)


def test_scaling_a_forecast_to_infinity_is_refused(tmp_path: Path) -> None:
    """A forecast at the limit scaled by 1e303 overflows to inf: refused, never NaN."""
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(_edited(forecast=[1e6] * 8)))
    child = {"extends": "base.yaml", "changes": {"scale_forecast": {"platinum": 1e303}}}
    (tmp_path / "child.yaml").write_text(yaml.safe_dump(child))
    with pytest.raises(ScenarioError, match="must be a finite number of calls, got inf"):
        load_scenario(tmp_path / "child.yaml")


def test_too_many_agent_intervals_are_refused_before_resolving_them() -> None:
    data = copy.deepcopy(BASE)
    data["horizon"] = {"start": "2026-11-23 00:00", "interval_minutes": 5, "intervals": 2016}
    for queue in data["queues"].values():
        queue["forecast"] = [1.0] * 2016
    data["agents"] = [
        {"id": f"a{i}", "skills": ["platinum"], "shift": "00:00-00:00"} for i in range(1_000)
    ]
    _refused(data, "2,016,000 agent-intervals", "MAX_AGENT_INTERVALS")


def test_too_many_staffing_table_entries_are_refused() -> None:
    data = copy.deepcopy(BASE)
    T = 96 * 7 // 2  # three and a half days of quarter-hours
    data["horizon"] = {"start": "2026-11-23 00:00", "interval_minutes": 15, "intervals": T}
    data["queues"] = {
        f"q{i}": {"value": 1, "aht_s": 300, "answer_within_s": 20, "forecast": [10.0] * T}
        for i in range(8)
    }
    skills = list(data["queues"])
    data["agents"] = [
        {"id": f"a{i}", "skills": skills, "shift": "2026-11-23 00:00-00:00"} for i in range(1_000)
    ]
    data["pins"] = []
    # 8 queues × 336 intervals × 1,001 = 2,690,688 entries
    _refused(data, "2,690,688 staffing table entries", "MAX_TABLE_ENTRIES")


def test_a_yaml_alias_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "loop.yaml").write_text("a: &a [*a, *a]\n")
    for name in ("bomb.yaml", "loop.yaml"):
        result = _cli("validate", str(tmp_path / name), timeout=60)
        assert result.returncode == 2, result.stderr
        assert "MAX_YAML_NODES" in result.stderr
        assert "Traceback" not in result.stderr


def test_small_aliases_still_load(tmp_path: Path) -> None:
    text = MICHELLE.read_text().replace(
        "skills: [platinum, gold]", "skills: &both [platinum, gold]"
    )
    text += "pins:\n  - {agent: michelle, queue: gold, from: '09:00', to: '10:00'}\n"
    (tmp_path / "aliases.yaml").write_text(text)
    assert load_scenario(tmp_path / "aliases.yaml").agents[0].skills == ("platinum", "gold")


def test_a_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading_problems, "MAX_FILE_BYTES", 2**20)  # where files are read
    big = tmp_path / "big.yaml"
    big.write_text(MICHELLE.read_text() + "#" * 2**20 + "\n")
    with pytest.raises(
        ScenarioError, match=r"is 1\.0 MiB; .* at most 1 MiB \(limit MAX_FILE_BYTES"
    ):
        load_scenario(big)


def test_cli_threads_beyond_the_limit_are_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["solve", str(MICHELLE), "-o", str(tmp_path / "p"), "--threads", "100000"]
    )
    assert result.exit_code == 2
    assert "--threads" in result.output
    assert not (tmp_path / "p").exists()


def test_the_edge_of_every_limit_solves(tmp_path: Path) -> None:
    """Largest worths, a million calls at the largest offered load, the tightest and
    loosest patience, a tiny queue beside a huge one: solved and written, all finite."""
    data = copy.deepcopy(BASE)
    data["queues"]["platinum"].update(
        forecast=[1e6] * 8, aht_s=9, value=1e6, shortfall_weight=1e6, patience_s=1
    )  # 1e6 × 9 s / 1,800 s = 5,000 Erlangs: the limit exactly
    data["queues"]["gold"].update(
        forecast=[1e-6] * 8, aht_s=86_400, value=1e-6, patience_s=1e6, max_abandon_rate=1
    )
    data["agents"].append(
        {"id": "ot", "skills": ["gold"], "shift": "08:00-12:00", "optional": True, "cost": 1e6}
    )
    data["policy"].update(switch_penalty=1e6, threads=1, seed=2**31 - 1)
    # (stationary: a time-varying day at these limits is not yet bounded by the time limit)
    plan = optistaff.solve(stationary(scenario_from_dict(data)), time_limit_s=10)
    assert plan.status == "optimal"
    assert all(isinstance(v, int | float) and math.isfinite(v) for v in plan.objective.values())
    again = optistaff.read_plan(plan.write(tmp_path / "edge"))
    assert again.summary["objective"] == plan.summary["objective"]


def test_a_plan_at_the_time_limit_says_so_plainly() -> None:
    """feasible at the limit: with a bound, its gap; without one (nothing proven in
    time), that the gap is unknown, never a made-up number."""
    from dataclasses import replace

    from optistaff.solvers import SolveStatus
    from optistaff.views import objective_lines

    plan = optistaff.solve(stationary(MICHELLE))
    total = plan.summary["objective"]["total"]
    bounded = replace(
        plan,
        status=SolveStatus.FEASIBLE,
        summary={**plan.summary, "bound": total * 1.01, "gap": 0.0099},
    )
    assert "time limit reached: bound" in objective_lines(bounded)[0]
    assert "gap 9.90e-03" in objective_lines(bounded)[0]
    unbounded = replace(bounded, summary={**plan.summary, "bound": None, "gap": None})
    assert "no bound proven, gap unknown" in objective_lines(unbounded)[0]


def test_an_integer_beyond_any_float_is_a_scenario_error(tmp_path: Path) -> None:
    """YAML reads 1 followed by 400 zeros as an int; math.isfinite raised OverflowError
    on it (found by fuzzing). Now it is 'must be a finite number', where it was written."""
    text = MICHELLE.read_text().replace("forecast: [8, 10,", "forecast: [1" + "0" * 400 + ", 10,")
    (tmp_path / "big-int.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=r"big-int\.yaml:\d+ queues\.gold\.forecast\[0\]: "):
        load_scenario(tmp_path / "big-int.yaml")
    data = copy.deepcopy(BASE)
    data["queues"]["gold"]["aht_s"] = 10**400
    _refused(data, "queues.gold.aht_s: must be a finite number, got a 401-digit number")


def test_more_agents_on_one_queue_than_the_tables_are_exact_for_is_refused() -> None:
    from optistaff.errors import ScenarioError
    from optistaff.loading import scenario_from_dict

    agents = [{"id": f"a{i}", "skills": ["q"], "shift": "08:00-09:00"} for i in range(5_001)]
    data: dict[str, object] = {
        "horizon": {"start": "2026-11-23 08:00", "interval_minutes": 60, "intervals": 1},
        "queues": {"q": {"value": 1, "aht_s": 300, "answer_within_s": 20, "forecast": [100]}},
        "agents": agents,
    }
    with pytest.raises(ScenarioError, match="MAX_CELL_AGENTS"):
        scenario_from_dict(data)
    data["agents"] = agents[:5_000]
    assert len(scenario_from_dict(data).agents) == 5_000


def test_a_time_limit_that_left_the_search_little_time_is_pointed_out() -> None:
    from dataclasses import replace

    from optistaff.cli.solve import short_search_warning
    from optistaff.plan_schema import PlanSummary, Timing
    from optistaff.solvers import SolveStatus

    plan = optistaff.solve(stationary(MICHELLE))
    assert short_search_warning(plan, 1.0) is None  # optimal: nothing to say

    def stopped(limit: float, search: float) -> optistaff.Plan:
        summary: PlanSummary = {
            **plan.summary,
            "solver": {**plan.summary["solver"], "time_limit_s": limit},
            "timing": {**plan.summary["timing"], "solve_s": search},
        }
        return replace(plan, status=SolveStatus.FEASIBLE, summary=summary)

    warning = short_search_warning(stopped(10.0, 0.01), 9.5)
    assert warning is not None and "only 0.0 s of the 10 s time limit" in warning
    assert "took 9.5 s" in warning
    assert short_search_warning(stopped(10.0, 2.4), 10.0) is not None
    assert short_search_warning(stopped(10.0, 2.5), 10.0) is None
    below = short_search_warning(stopped(5.0, 0.01), 24.61)
    assert below is not None and "below this scenario's fixed work" in below
    assert "took 24.6 s" in below and "above 25 s" in below

    def varying(limit: float, search: float, compile_s: float) -> optistaff.Plan:
        p = stopped(limit, search)
        timing: Timing = {**p.summary["timing"], "compile_s": compile_s}
        return replace(p, summary={**p.summary, "queue_model": "time_varying", "timing": timing})

    # a time-varying plan is feasible by its method: only a limit below the fixed work
    # is pointed out, and the compile of a machine's first day is named as such
    assert short_search_warning(varying(10.0, 0.01, 0.4), 9.5) is None
    first = short_search_warning(varying(10.0, 0.01, 21.2), 23.7)
    assert first is not None and "took 23.7 s" in first
    assert "21 s of it compiling the time-varying model" in first and "above 2 s" in first
    again = short_search_warning(varying(1.0, 0.01, 0.4), 2.6)
    assert again is not None and "compiling" not in again and "above 3 s" in again


def test_a_time_varying_day_beyond_the_time_limit_is_refused_at_once(tmp_path: Path) -> None:
    """A million calls a half-hour with patience 1 s: one time-varying evaluation of that
    day would take minutes (~2e6 uniformization steps an interval), so a time-varying
    solve with a 10 s limit is refused before it starts: one message naming the queue,
    exit 2, nothing written. The stationary model solves the same day."""
    import time

    data = copy.deepcopy(BASE)
    data["queues"]["platinum"].update(forecast=[1e6] * 8, aht_s=9, patience_s=1)
    data["policy"].update(queue_model="time_varying", time_limit_s=10)
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "plan"
    started = time.monotonic()
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(out)])
    assert time.monotonic() - started < 8
    assert result.exit_code == 2, result.output
    assert "queue platinum" in result.output and "--queue-model stationary" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    result = CliRunner().invoke(
        main, ["solve", str(path), "-o", str(out), "--queue-model", "stationary"]
    )
    assert result.exit_code == 0, result.output
