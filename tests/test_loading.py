"""Scenario loading: every feature of the file format, resolved to the typed Scenario."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from optistaff.errors import ScenarioError
from optistaff.loading import check_scenario, load_scenario, scenario_from_dict
from optistaff.scenario import Policy, Scenario

BASE = """\
horizon:
  start: "2026-11-23 08:00"
  interval_minutes: 30
  intervals: 8
queues:
  platinum:
    value: 10
    aht_s: 300
    answer_within_s: 20
    patience_s: 120
    forecast: [10, 12, 14, 16, 16, 14, 12, 10]
  gold:
    value: 6
    aht_s: [360, 360, 360, 380, 380, 360, 360, 360]
    answer_within_s: 30
    forecast: [5, 6, 7, 8, 8, 7, 6, 5]
agents:
  - {id: ann, skills: [platinum, gold], shift: "08:00-12:00", breaks: ["10:00-10:30"]}
  - {id: bob, skills: [gold], shift: "09:00-12:00"}
  - {id: cat, skills: [platinum], shift: "08:00-11:00"}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def avail(scenario: Scenario, agent_id: str) -> str:
    return "".join("x" if v else "." for v in scenario.agent(agent_id).available)


def test_minimal_scenario_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "my-day.yaml", BASE))
    assert s.name == "my-day"
    assert s.description == ""
    assert s.policy == Policy()
    assert s.pins == ()
    assert s.warnings == ()
    assert s.horizon.start == datetime(2026, 11, 23, 8, 0)
    assert s.horizon.intervals == 8
    assert s.queue_ids == ("platinum", "gold")
    platinum = s.queue("platinum")
    assert platinum.aht_s == (300.0,) * 8
    assert platinum.patience_s == 120.0
    assert platinum.shortfall_weight is None and platinum.weight == 10.0
    assert s.queue("gold").aht_s[3] == 380.0
    assert s.queue("gold").patience_s is None
    assert [a.id for a in s.agents] == ["ann", "bob", "cat"]
    assert s.source == tmp_path / "my-day.yaml"
    assert s.input_hash is not None and s.input_hash.startswith("sha256:")


def test_horizon_end_is_exclusive_and_equivalent_to_intervals(tmp_path: Path) -> None:
    text = BASE.replace("intervals: 8", 'end: "2026-11-23 12:00"')
    a = load_scenario(write(tmp_path, "a.yaml", text))
    b = load_scenario(write(tmp_path, "b.yaml", BASE))
    assert a.horizon == b.horizon
    assert a.horizon.end == datetime(2026, 11, 23, 12, 0)


def test_availability_shift_and_breaks(tmp_path: Path) -> None:
    text = BASE.replace('"10:00-10:30"', '"10:15-10:45"')  # touches two intervals
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert avail(s, "ann") == "xxxx..xx"
    assert avail(s, "bob") == "..xxxxxx"
    assert avail(s, "cat") == "xxxxxx.."


def test_shift_in_progress_at_horizon_start_is_clipped(tmp_path: Path) -> None:
    text = BASE.replace('shift: "08:00-11:00"', 'shift: "06:00-10:00"')
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert avail(s, "cat") == "xxxx...."


def test_night_horizon_across_midnight(tmp_path: Path) -> None:
    text = f"""\
    horizon: {{start: "2026-11-23 20:00", interval_minutes: 60, end: "2026-11-24 08:00"}}
    queues:
      night: {{value: 1, aht_s: 300, answer_within_s: 60, forecast: {[3] * 12}}}
    agents:
      - {{id: owl, skills: [night], shift: "22:00-06:00", breaks: ["02:00-03:00"]}}
      - {{id: early, skills: [night], shift: "02:00-10:00"}}
      - {{id: late, skills: [night], shift: "18:00-02:00"}}
      - {{id: day, skills: [night], shift: "09:00-17:00"}}
    pins:
      - {{agent: owl, queue: night, from: "23:00", to: "01:00"}}
    """
    s, problems = check_scenario(write(tmp_path, "night.yaml", text))
    assert s is not None, problems
    # 20 21 22 23 00 01 02 03 04 05 06 07
    assert avail(s, "owl") == "..xxxx.xxx.."
    assert avail(s, "early") == "......xxxxxx"  # 02:00 means the next morning
    assert avail(s, "late") == "xxxxxx......"  # in progress at 20:00, clipped
    assert "day" not in [a.id for a in s.agents]  # no available interval: dropped
    assert len(s.warnings) == 1 and "'day'" in s.warnings[0]
    assert [(p.start, p.end) for p in s.pins] == [(3, 5)]
    assert any(p.severity == "warning" for p in problems)


def test_side_files_csv_with_bom_crlf_and_iso_times(tmp_path: Path) -> None:
    rows = ["interval_start,platinum,gold_aht"]
    for t in range(8):
        hour, minute = 8 + t // 2, 30 * (t % 2)
        rows.append(f"2026-11-23T{hour:02d}:{minute:02d}:00,{10 + t},{400 + t}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f.csv").write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode())
    text = BASE.replace(
        "forecast: [10, 12, 14, 16, 16, 14, 12, 10]",
        "forecast: {file: data/f.csv, column: platinum}",
    ).replace(
        "aht_s: [360, 360, 360, 380, 380, 360, 360, 360]",
        "aht_s: {file: data/f.csv, column: gold_aht}",
    )
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert s.queue("platinum").forecast == tuple(float(10 + t) for t in range(8))
    assert s.queue("gold").aht_s == tuple(float(400 + t) for t in range(8))


def test_roster_csv_and_optional_agents(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(
        "id,skills,shift,breaks,optional,cost\n"
        "r1,platinum;gold,08:00-12:00,10:00-10:30;11:00-11:30,,\n"
        "r2,gold,08:00-10:00,,yes,7.5\n"
        "1234,gold,10:00-12:00,,false,\n"
    )
    text = BASE + "  - file: roster.csv\n  - {id: ot, skills: [gold], shift: 08:00-12:00, "
    text += "optional: true, cost: 3}\n"
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert [a.id for a in s.agents] == ["ann", "bob", "cat", "r1", "r2", "1234", "ot"]
    r1 = s.agent("r1")
    assert r1.skills == ("platinum", "gold") and r1.breaks == ("10:00-10:30", "11:00-11:30")
    assert avail(s, "r1") == "xxxx.x.x"
    assert s.agent("r2").optional and s.agent("r2").cost == 7.5
    assert not s.agent("1234").optional and s.agent("1234").cost == 0.0
    assert s.agent("ot").optional and s.agent("ot").cost == 3.0


def test_pins_resolve_to_interval_ranges(tmp_path: Path) -> None:
    text = BASE + textwrap.dedent("""\
    pins:
      - {agent: ann, queue: platinum, from: "08:00", to: "09:00"}
      - {agent: ann, queue: platinum, from: "08:30", to: "10:00"}
      - {agent: bob, queue: null, from: 10:30, to: 11:30}
    """)
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert [(p.agent, p.queue, p.start, p.end) for p in s.pins] == [
        ("ann", "platinum", 0, 2),
        ("ann", "platinum", 1, 4),
        ("bob", None, 5, 7),
    ]
    assert s.pins[2].from_ == "10:30" and s.pins[2].to == "11:30"


def test_policy_and_standards(tmp_path: Path) -> None:
    text = BASE.replace(
        "    patience_s: 120\n",
        "    patience_s: 120\n    min_service_level: 0.8\n    daily_service_level: 0.85\n"
        "    max_abandon_rate: 0.05\n    max_occupancy: 0.9\n    shortfall_weight: 20\n",
    )
    text = (
        "name: named\ndescription: A story.\n"
        + text
        + textwrap.dedent("""\
    policy:
      objective: within_target
      switch_penalty: 0.5
      shortfall_price: 2
      time_limit_s: 10
      mip_gap: 0.001
      threads: 4
      seed: 7
    """)
    )
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert s.name == "named" and s.description == "A story."
    assert s.policy == Policy("within_target", 0.5, 2.0, 10.0, 0.001, 4, 7)
    q = s.queue("platinum")
    assert (q.min_service_level, q.daily_service_level) == (0.8, 0.85)
    assert (q.max_abandon_rate, q.max_occupancy, q.weight) == (0.05, 0.9, 20.0)


def test_extends_and_changes(tmp_path: Path) -> None:
    base = BASE + "pins:\n  - {agent: bob, queue: gold, from: '09:00', to: '10:00'}\n"
    write(tmp_path, "base.yaml", "name: base\ndescription: parent\n" + base)
    (tmp_path / "sub").mkdir()
    child = write(
        tmp_path / "sub",
        "child.yaml",
        """\
        extends: ../base.yaml
        queues:
          gold: {value: 7, aht_s: 400, answer_within_s: 10, forecast: [1, 1, 1, 1, 1, 1, 1, 1]}
          silver: {value: 2, aht_s: 200, answer_within_s: 10, forecast: [2, 2, 2, 2, 2, 2, 2, 2]}
        agents:
          - {id: cat, skills: [platinum, silver], shift: "08:00-12:00"}
        policy: {switch_penalty: 0.3}
        changes:
          remove_agents: [bob]
          add_agents:
            - {id: dan, skills: [silver], shift: "10:00-12:00"}
          scale_forecast: {platinum: 2, silver: 1.5}
          set:
            silver: {patience_s: 90}
            platinum: {value: 12}
        """,
    )
    s = load_scenario(child)
    assert s.name == "child"  # name is not inherited
    assert s.description == ""
    assert s.queue_ids == ("platinum", "gold", "silver")
    assert s.queue("gold").value == 7.0 and s.queue("gold").aht_s == (400.0,) * 8
    assert s.queue("platinum").value == 12.0
    assert s.queue("platinum").forecast == (20.0, 24.0, 28.0, 32.0, 32.0, 28.0, 24.0, 20.0)
    assert s.queue("silver").forecast == (3.0,) * 8
    assert s.queue("silver").patience_s == 90.0
    assert [a.id for a in s.agents] == ["ann", "cat", "dan"]
    assert s.agent("cat").skills == ("platinum", "silver")
    assert s.policy.switch_penalty == 0.3 and s.policy.time_limit_s == Policy().time_limit_s
    assert s.pins == ()
    assert len(s.warnings) == 1
    assert "agent 'bob' removed" in s.warnings[0] and "child.yaml" in s.warnings[0]


def test_changes_apply_in_order(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        changes:
          scale_forecast: {gold: 10}
          set:
            gold: {forecast: [1, 2, 3, 4, 5, 6, 7, 8], patience_s: 60}
            platinum: {patience_s: null}
        """,
    )
    s = load_scenario(child)
    assert s.queue("gold").forecast == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    assert s.queue("gold").patience_s == 60.0
    assert s.queue("platinum").patience_s is None


def test_side_files_stay_relative_to_the_file_naming_them(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "roster.csv").write_text("id,skills,shift\nzoe,gold,08:00-12:00\n")
    write(tmp_path / "base", "base.yaml", BASE + "  - {file: roster.csv}\n")
    child = write(tmp_path, "child.yaml", "extends: base/base.yaml\n")
    s = load_scenario(child)
    assert "zoe" in [a.id for a in s.agents]


def test_input_hash_stable_and_sensitive(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "roster.csv").write_text("id,skills,shift\nzoe,gold,08:00-12:00\n")
    path = write(tmp_path / "a", "s.yaml", BASE + "  - {file: roster.csv}\n")
    first = load_scenario(path).input_hash
    assert load_scenario(path).input_hash == first
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # moving the files keeps the hash
    assert load_scenario(tmp_path / "b" / "s.yaml").input_hash == first
    (tmp_path / "b" / "roster.csv").write_text("id,skills,shift\nzoe,gold,08:00-11:00\n")
    assert load_scenario(tmp_path / "b" / "s.yaml").input_hash != first


def test_round_trip_through_to_dict(tmp_path: Path) -> None:
    text = BASE + "  - {id: ot, skills: [gold], shift: '08:00-12:00', optional: true, cost: 2}\n"
    text += "pins:\n  - {agent: ann, queue: null, from: '08:00', to: '09:00'}\n"
    s = load_scenario(write(tmp_path, "s.yaml", text))
    again = scenario_from_dict(s.to_dict())
    assert again == dataclasses.replace(s, source=None, input_hash=None)
    assert again.content_hash() == s.content_hash()


def test_scenario_from_dict_reports_problems_without_lines() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(
            {"horizon": {"start": "x", "interval_minutes": 30, "intervals": 2}}, source_name="mine"
        )
    text = str(info.value)
    assert "mine horizon.start: must be 'YYYY-MM-DD HH:MM'" in text
    assert "required key 'queues' is missing" in text


def test_numeric_ids_and_clock_times_are_text(tmp_path: Path) -> None:
    text = BASE + "  - {id: 42, skills: [gold], shift: 10:00-12:00}\n"
    text += "pins:\n  - {agent: 42, queue: gold, from: 10:00, to: 11:00}\n"
    s = load_scenario(write(tmp_path, "s.yaml", text))
    assert s.agent("42").shift == "10:00-12:00"
    assert s.pins[0].from_ == "10:00" and (s.pins[0].start, s.pins[0].end) == (4, 6)
