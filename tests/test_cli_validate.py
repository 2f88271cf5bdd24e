"""``optistaff validate`` on deliberately broken scenarios: exit 2, every problem with
its file, line and key path, and never a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from optistaff.cli import main

BASE = """\
horizon:
  start: "2026-11-23 08:00"
  interval_minutes: 30
  intervals: 4
queues:
  platinum:
    value: 10
    aht_s: 300
    answer_within_s: 20
    patience_s: 120
    forecast: [10, 12, 14, 10]
  gold:
    value: 6
    aht_s: 360
    answer_within_s: 30
    forecast: [5, 6, 7, 5]
agents:
  - {id: ann, skills: [platinum, gold], shift: "08:00-10:00", breaks: ["09:00-09:30"]}
  - {id: bob, skills: [gold], shift: "08:00-10:00"}
pins:
  - {agent: ann, queue: platinum, from: "08:00", to: "09:00"}
"""

GOOD_CSV = (
    "interval_start,gold\n"
    "2026-11-23 08:00,5\n2026-11-23 08:30,6\n2026-11-23 09:00,7\n2026-11-23 09:30,5\n"
)
GOLD_FROM_CSV = ("forecast: [5, 6, 7, 5]", "forecast: {file: f.csv, column: gold}")


@dataclass
class Case:
    """Edits to BASE (or a whole main file), side files, and the expected report line.

    ``expect`` must appear in the output; with ``needle`` it is prefixed by
    ``s.yaml:<line of needle in the main file> ``.
    """

    edits: list[tuple[str, str]] = field(default_factory=list)
    expect: str = ""
    needle: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    main: str | None = None


CASES: dict[str, Case] = {
    "unknown key": Case(
        [("    value: 10\n", "    value: 10\n    valeu: 3\n")],
        "queues.platinum.valeu: unknown key; did you mean 'value'?",
        "valeu",
    ),
    "unknown top-level key": Case(
        [("horizon:", "polcy: {}\nhorizon:")], "polcy: unknown key; did you mean 'policy'?", "polcy"
    ),
    "unknown queue in skills": Case(
        [("skills: [gold]", "skills: [silver]")],
        "agents[1].skills[0]: unknown queue 'silver'",
        "silver",
    ),
    "duplicate agent id": Case(
        [("{id: bob,", "{id: ann,")],
        "agents[1].id: duplicate agent id 'ann'",
        "{id: ann, skills: [gold]",
    ),
    "negative aht": Case(
        [("aht_s: 300", "aht_s: -30")], "queues.platinum.aht_s: must be > 0, got -30", "-30"
    ),
    "nan value": Case(
        [("value: 6", "value: .nan")], "queues.gold.value: must be a finite number, got nan", ".nan"
    ),
    "inf in forecast": Case(
        [("[5, 6, 7, 5]", "[5, .inf, 7, 5]")],
        "queues.gold.forecast[1]: must be a finite number, got inf",
        ".inf",
    ),
    "negative calls": Case(
        [("[5, 6, 7, 5]", "[5, 6, -7, 5]")], "queues.gold.forecast[2]: must be >= 0, got -7", "-7"
    ),
    "malformed shift": Case(
        [('shift: "08:00-10:00"}', 'shift: "8am-10am"}')],
        "agents[1].shift: must be 'HH:MM-HH:MM' or 'YYYY-MM-DD HH:MM-HH:MM', got '8am-10am'",
        "8am",
    ),
    "break outside shift": Case(
        [("09:00-09:30", "11:00-11:30")],
        "agents[0].breaks[0]: break 11:00-11:30 is not inside the shift 08:00-10:00",
        "11:00-11:30",
    ),
    "list length != horizon": Case(
        [("[10, 12, 14, 10]", "[10, 12, 14]")],
        "queues.platinum.forecast: must have one value per interval (4), got 3 values",
        "[10, 12, 14]",
    ),
    "aht list length": Case(
        [("aht_s: 360", "aht_s: [360, 360]")],
        "queues.gold.aht_s: must have one value per interval (4)",
        "[360, 360]",
    ),
    "csv row misaligned": Case(
        [GOLD_FROM_CSV],
        "f.csv:4 interval_start: row 2026-11-23 09:15 is misaligned: row 3 must be "
        "interval_start 2026-11-23 09:00",
        files={"f.csv": GOOD_CSV.replace("09:00,7", "09:15,7")},
    ),
    "csv row missing": Case(
        [GOLD_FROM_CSV],
        "f.csv:4 interval_start: missing rows: 3 rows for 4 intervals; first missing "
        "interval_start 2026-11-23 09:30",
        files={"f.csv": GOOD_CSV.replace("2026-11-23 09:30,5\n", "")},
    ),
    "csv extra row": Case(
        [GOLD_FROM_CSV],
        "f.csv:6 interval_start: extra row 2026-11-23 10:00",
        files={"f.csv": GOOD_CSV + "2026-11-23 10:00,1\n"},
    ),
    "csv bad number": Case(
        [GOLD_FROM_CSV],
        "f.csv:3 gold: must be a number, got 'six'",
        files={"f.csv": GOOD_CSV.replace("08:30,6", "08:30,six")},
    ),
    "csv duplicate column": Case(
        [GOLD_FROM_CSV],
        "f.csv:1 gold: duplicate column",
        files={
            "f.csv": GOOD_CSV.replace("interval_start,gold", "interval_start,gold,gold")
            .replace(",5\n", ",5,5\n")
            .replace(",6\n", ",6,6\n")
            .replace(",7\n", ",7,7\n")
        },
    ),
    "csv unknown column": Case(
        [("forecast: [5, 6, 7, 5]", "forecast: {file: f.csv, column: golld}")],
        "queues.gold.forecast.column: no column 'golld' in f.csv; did you mean 'gold'?",
        "golld",
        files={"f.csv": GOOD_CSV},
    ),
    "missing side file": Case(
        [("forecast: [5, 6, 7, 5]", "forecast: {file: nope.csv, column: gold}")],
        "queues.gold.forecast.file: file not found: nope.csv",
        "nope.csv",
    ),
    "roster bad flag and unknown column": Case(
        [("pins:", "  - file: r.csv\npins:")],
        "r.csv:2 optional: must be true/false/yes/no/1/0 or empty, got 'maybe'",
        files={"r.csv": "id,skills,shift,optional\nzed,gold,08:00-10:00,maybe\n"},
    ),
    "roster skills unknown queue": Case(
        [("pins:", "  - file: r.csv\npins:")],
        "r.csv:3 skills[1]: unknown queue 'silver'",
        files={"r.csv": "id,skills,shift\nzed,gold,08:00-10:00\nyan,gold;silver,08:00-10:00\n"},
    ),
    "duplicate id yaml and csv": Case(
        [("pins:", "  - file: r.csv\npins:")],
        "r.csv:2 id: duplicate agent id 'bob'",
        files={"r.csv": "id,skills,shift\nbob,gold,08:00-10:00\n"},
    ),
    "cyclic extends": Case(
        main="extends: b.yaml\n",
        expect="b.yaml:1 extends: extends cycle: s.yaml -> b.yaml -> s.yaml",
        files={"b.yaml": "extends: s.yaml\n"},
    ),
    "missing parent": Case(
        main="extends: nowhere.yaml\n", expect="s.yaml:1 extends: file not found: nowhere.yaml"
    ),
    "min_service_level >= 1": Case(
        [("    patience_s: 120\n", "    patience_s: 120\n    min_service_level: 1.0\n")],
        "queues.platinum.min_service_level: must be < 1, got 1",
        "min_service_level",
    ),
    "max_abandon_rate without patience": Case(
        [("    answer_within_s: 30\n", "    answer_within_s: 30\n    max_abandon_rate: 0.1\n")],
        "queues.gold.max_abandon_rate: needs patience_s",
        "max_abandon_rate",
    ),
    "max_occupancy zero": Case(
        [("    answer_within_s: 30\n", "    answer_within_s: 30\n    max_occupancy: 0\n")],
        "queues.gold.max_occupancy: must be > 0, got 0",
        "max_occupancy",
    ),
    "served without patience": Case(
        [("pins:", "policy: {objective: served}\npins:")],
        "policy.objective: 'served' needs patience_s on every queue (Erlang A); missing on: gold",
        "objective",
    ),
    "pin queue the agent lacks": Case(
        [("pins:\n", "pins:\n  - {agent: bob, queue: platinum, from: '08:00', to: '08:30'}\n")],
        "pins[0].queue: agent 'bob' is not skilled for 'platinum' (skills: gold)",
        "{agent: bob",
    ),
    "pin on a break": Case(
        [("pins:\n", "pins:\n  - {agent: ann, queue: gold, from: '09:00', to: '09:30'}\n")],
        "pins[0]: agent 'ann' is not available (break or outside shift) in the interval(s) "
        "starting 09:00",
        "'09:00', to: '09:30'",
    ),
    "contradictory pins": Case(
        [("pins:\n", "pins:\n  - {agent: ann, queue: gold, from: '08:30', to: '09:00'}\n")],
        "pins[1]: contradicts the pin at s.yaml:21: agent 'ann' in interval 2026-11-23 08:30 "
        "pinned to gold and to platinum",
        '{agent: ann, queue: platinum, from: "08:00"',
    ),
    "pin unknown agent": Case(
        [("{agent: ann, queue: platinum", "{agent: anne, queue: platinum")],
        "pins[0].agent: unknown agent 'anne'; did you mean 'ann'?",
        "anne",
    ),
    "pin off boundary": Case(
        [('from: "08:00"', 'from: "08:10"')],
        "pins[0].from: 08:10 is not an interval boundary",
        "08:10",
    ),
    "pin empty range": Case(
        [('to: "09:00"', 'to: "08:00"')], "pins[0]: empty range: from 08:00 to 08:00", 'to: "08:00"'
    ),
    "pin past horizon": Case(
        [('to: "09:00"', 'to: "11:00"')], "pins[0]: 08:00-11:00 runs past the end", 'to: "11:00"'
    ),
    "changes without extends": Case(
        [("pins:", "changes: {remove_agents: [bob]}\npins:")],
        "changes: only allowed together with 'extends'",
        "changes",
    ),
    "unknown agent in remove_agents": Case(
        main="extends: b.yaml\nchanges:\n  remove_agents:\n    - bob\n    - zed\n",
        expect="s.yaml:5 changes.remove_agents[1]: unknown agent 'zed'",
        files={"b.yaml": BASE},
    ),
    "unknown change kind": Case(
        main="extends: b.yaml\nchanges:\n  scale_forcast: {gold: 2}\n",
        expect="s.yaml:3 changes.scale_forcast: unknown change; did you mean 'scale_forecast'?",
        files={"b.yaml": BASE},
    ),
    "set unknown queue field": Case(
        main="extends: b.yaml\nchanges:\n  set:\n    gold: {patience: 3}\n",
        expect="s.yaml:4 changes.set.gold.patience: unknown key; did you mean 'patience_s'?",
        files={"b.yaml": BASE},
    ),
    "add agent that exists": Case(
        main="extends: b.yaml\nchanges:\n  add_agents:\n"
        "    - {id: bob, skills: [gold], shift: '08:00-10:00'}\n",
        expect="s.yaml:4 changes.add_agents[0].id: agent 'bob' already exists (b.yaml:19)",
        files={"b.yaml": BASE},
    ),
    "yaml syntax error": Case(
        [("    value: 10\n", "    value: [10\n")], "s.yaml:8 YAML syntax error"
    ),
    "duplicate yaml key": Case(
        [("    value: 6\n", "    value: 6\n    value: 7\n")],
        "queues.gold.value: duplicate key",
        "value: 7",
    ),
    "wrong type": Case(
        [("intervals: 4", "intervals: four")],
        "horizon.intervals: must be a whole number, got 'four'",
        "four",
    ),
    "queues not a mapping": Case(
        [("queues:\n", "queues: [platinum]\nold_queues:\n")], "queues: must be a mapping", "queues:"
    ),
    "bad interval_minutes": Case(
        [("interval_minutes: 30", "interval_minutes: 7")],
        "horizon.interval_minutes: must be one of 5, 10, 15, 20, 30, 60, got 7",
        "interval_minutes",
    ),
    "end before start": Case(
        [("intervals: 4", 'end: "2026-11-23 07:00"')],
        "horizon.end: must be after start (2026-11-23 08:00), got '2026-11-23 07:00'",
        "end:",
    ),
    "end and intervals": Case(
        [("intervals: 4", 'intervals: 4\n  end: "2026-11-23 10:00"')],
        "horizon: give exactly one of 'end' (exclusive) or 'intervals'",
        "horizon:",
    ),
    "horizon too long": Case(
        [("intervals: 4", "intervals: 400")],
        "horizon.intervals: the horizon may be at most 7 days (336 intervals of 30 minutes)",
        "intervals:",
    ),
    "malformed start": Case(
        [('start: "2026-11-23 08:00"', 'start: "23.11.2026 08:00"')],
        "horizon.start: must be 'YYYY-MM-DD HH:MM', got '23.11.2026 08:00'",
        "start:",
    ),
    "cost on a non-optional agent": Case(
        [
            (
                '{id: bob, skills: [gold], shift: "08:00-10:00"}',
                '{id: bob, skills: [gold], shift: "08:00-10:00", cost: 5}',
            )
        ],
        "agents[1].cost: only optional agents have a cost",
        "cost: 5",
    ),
    "queue id with semicolon": Case(
        [
            ("  gold:\n", "  gold;x:\n"),
            ("skills: [gold]", "skills: ['gold;x']"),
            ("skills: [platinum, gold]", "skills: [platinum]"),
        ],
        "queues.gold;x: queue id must be a non-empty name without ';'",
        "gold;x:",
    ),
    "queue id ending in a space": Case(
        [("  gold:\n", '  "gold ":\n')],
        "queues.gold : queue id must not begin or end with spaces, got 'gold '",
        '"gold ":',
    ),
    "top level is a list": Case(main="- a\n- b\n", expect="s.yaml the top level must be a mapping"),
    "empty file": Case(main="", expect="s.yaml empty scenario file"),
    "missing sections": Case(main="name: x\n", expect="s.yaml required key 'horizon' is missing"),
}


def run_validate(tmp_path: Path, case: Case) -> tuple[Result, str]:
    text = BASE if case.main is None else case.main
    for old, new in case.edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "s.yaml").write_text(text)
    for name, content in case.files.items():
        (tmp_path / name).write_text(content)
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "s.yaml")])
    return result, text


def test_base_is_valid(tmp_path: Path) -> None:
    result, _ = run_validate(tmp_path, Case())
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize("name", list(CASES))
def test_broken_scenario_is_reported(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    case = CASES[name]
    result, text = run_validate(tmp_path, case)
    output = result.output.replace(str(tmp_path) + "/", "")
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in output
    expected = case.expect
    if case.needle is not None:
        line = next(i for i, row in enumerate(text.splitlines(), 1) if case.needle in row)
        expected = f"s.yaml:{line} {case.expect}"
    assert expected in output, output


def test_at_least_twenty_kinds_of_broken_input() -> None:
    assert len(CASES) >= 20


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    case = Case(
        [
            ("aht_s: 300", "aht_s: -30"),
            ("value: 6", "value: .nan"),
            ("skills: [gold]", "skills: [silver]"),
            ('to: "09:00"', 'to: "08:00"'),
            ("interval_minutes: 30", "interval_minutes: 30\n  colour: blue"),
        ]
    )
    result, _ = run_validate(tmp_path, case)
    output = result.output.replace(str(tmp_path) + "/", "")
    assert result.exit_code == 2
    assert "5 problems found" in output
    for fragment in (
        "s.yaml:4 horizon.colour: unknown key",
        "s.yaml:9 queues.platinum.aht_s: must be > 0, got -30",
        "s.yaml:14 queues.gold.value: must be a finite number, got nan",
        "s.yaml:20 agents[1].skills[0]: unknown queue 'silver'",
        "s.yaml:22 pins[0]: empty range",
    ):
        assert fragment in output, output


def test_warnings_are_printed(tmp_path: Path) -> None:
    case = Case([("pins:", "  - {id: zed, skills: [gold], shift: '14:00-16:00'}\npins:")])
    result, _ = run_validate(tmp_path, case)
    assert result.exit_code == 0, result.output
    assert "agent 'zed' has no available interval" in result.output


def test_the_command_list_reads_each_commands_own_help() -> None:
    """``optistaff --help`` lists the commands without importing them: each line is what
    the imported command's own short help says, at any width."""
    from optistaff.cli import COMMANDS, main, short_help

    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None
        for limit in (30, 45, 66, 200):
            expected = command.get_short_help_str(limit)
            assert short_help(name, limit) == expected, (name, limit)
