"""Partial-day absences (issue "Intraday", point 1): an agent away from a time, or
between two times, inline (``absent``), in the roster (``absent`` column) or as a
change (``changes: absent``); a time inside an interval takes the whole interval, with a
warning. Expected availabilities are written out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import optistaff
from optistaff.cli import main
from optistaff.errors import ScenarioError
from optistaff.loading import scenario_from_dict

BASE: dict[str, Any] = {
    "name": "absences",
    "horizon": {"start": "2026-12-02 08:00", "interval_minutes": 30, "intervals": 16},
    "queues": {"q": {"value": 1, "aht_s": 300, "answer_within_s": 20, "forecast": [10.0] * 16}},
}


def _agents(*agents: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "agents": list(agents)}


def _free(data: dict[str, Any]) -> dict[str, list[int]]:
    sc = scenario_from_dict(data, source_name="absences.yaml")
    return {a.id: [t for t, ok in enumerate(a.available) if ok] for a in sc.agents}


def test_an_absence_from_a_time_to_the_end_and_between_two_times() -> None:
    got = _free(
        _agents(
            {"id": "a", "skills": ["q"], "shift": "08:00-16:00", "absent": ["11:00-"]},
            {"id": "b", "skills": ["q"], "shift": "08:00-16:00", "absent": ["09:00-10:00"]},
            {"id": "c", "skills": ["q"], "shift": "08:00-16:00", "absent": ["2026-12-02 15:00-"]},
        )
    )
    assert got["a"] == [0, 1, 2, 3, 4, 5]  # 08:00 … 10:30
    assert got["b"] == [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert got["c"] == list(range(14))


def test_a_time_inside_an_interval_takes_all_of_it_with_a_warning() -> None:
    data = _agents({"id": "a", "skills": ["q"], "shift": "08:00-16:00", "absent": ["10:40-12:10"]})
    sc = scenario_from_dict(data, source_name="absences.yaml")
    assert [t for t, ok in enumerate(sc.agents[0].available) if not ok] == [5, 6, 7, 8]
    assert any("10:40 is inside the interval 10:30-11:00" in w for w in sc.warnings)
    assert any("12:10 is inside the interval 12:00-12:30" in w for w in sc.warnings)


def test_a_change_and_a_roster_column_say_the_same(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(
        "id,skills,shift,absent\na,q,08:00-16:00,10:00-\nb,q,08:00-16:00,\n"
    )
    base = {**BASE, "agents": [{"file": "roster.csv"}]}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    child = {"extends": "base.yaml", "name": "later", "changes": {"absent": {"b": ["10:00-"]}}}
    (tmp_path / "later.yaml").write_text(yaml.safe_dump(child))
    sc = optistaff.load_scenario(str(tmp_path / "later.yaml"))
    a, b = sc.agents
    assert a.available == b.available == tuple(t < 4 for t in range(16))
    plan = optistaff.solve(sc)
    worked = plan.assignments.dropna()
    late = worked[worked["interval_start"] >= "2026-12-02 10:00"]
    assert late.empty  # nobody works while away
    again = optistaff.read_plan(plan.write(tmp_path / "p"))  # the plan's scenario keeps them
    assert [x.available for x in again.scenario.agents] == [a.available, b.available]


@pytest.mark.parametrize(
    ("absent", "needle"),
    [
        (["ten-eleven"], "must be 'HH:MM-HH:MM' or 'HH:MM-'"),
        (["10:00-10:00"], "empty absence"),
        (["-10:00"], "must be 'HH:MM-HH:MM' or 'HH:MM-'"),
    ],
)
def test_bad_absences_are_located_errors(absent: list[str], needle: str) -> None:
    data = _agents({"id": "a", "skills": ["q"], "shift": "08:00-16:00", "absent": absent})
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source_name="absences.yaml")
    assert "agents[0].absent[0]" in str(info.value) and needle in str(info.value)


def test_an_unknown_agent_in_the_change_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump(_agents({"id": "a", "skills": ["q"], "shift": "08:00-16:00"}))
    )
    child = {"extends": "base.yaml", "changes": {"absent": {"zed": ["10:00-"]}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(child))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2 and "changes.absent.zed: unknown agent 'zed'" in result.output


def test_without_absences_the_scenario_hash_is_unchanged() -> None:
    data = _agents({"id": "a", "skills": ["q"], "shift": "08:00-16:00"})
    sc = scenario_from_dict(data, source_name="absences.yaml")
    assert "absent" not in sc.to_dict()["agents"][0]
    with_none = _agents({"id": "a", "skills": ["q"], "shift": "08:00-16:00", "absent": []})
    assert (
        scenario_from_dict(with_none, source_name="absences.yaml").content_hash()
        == sc.content_hash()
    )
