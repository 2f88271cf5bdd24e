"""`optistaff compare`: every number equals the number in each plan's own files, deltas are
against the first plan, and bad input is one clear message with exit code 2."""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.compare import OVERALL, PER_QUEUE, compare

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def michelle_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three michelle plans: as given, one agent sick (paul), platinum forecast +20 %."""
    base = stationary(SCENARIOS / "michelle.yaml")
    sick = replace(
        base, name="michelle-sick", agents=tuple(a for a in base.agents if a.id != "paul")
    )
    platinum = base.queue("platinum")
    busier = replace(
        base,
        name="michelle-busier",
        queues=tuple(
            replace(q, forecast=tuple(1.2 * f for f in q.forecast)) if q is platinum else q
            for q in base.queues
        ),
    )
    root = tmp_path_factory.mktemp("compare")
    dirs = []
    for sc in (base, sick, busier):
        plan = optistaff.solve(sc)
        dirs.append(plan.write(root / sc.name))
    return dirs


def _from_files(directory: Path) -> dict[tuple[str, str], float]:
    """The compared figures, read from the plan's files with json and csv only."""
    summary = json.loads((directory / "summary.json").read_text())
    with open(directory / "assignments.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    times = sorted({r["interval_start"] for r in rows})  # the interval length, from the file
    step_min = (int(times[1][-5:-3]) * 60 + int(times[1][-2:])) - (
        int(times[0][-5:-3]) * 60 + int(times[0][-2:])
    )
    hours = step_min / 60
    obj = summary["objective"]
    placed = [r for r in rows if r["queue"]]
    out = {
        ("", "total"): obj["total"],
        ("", "weighted_shortfall"): obj["weighted_shortfall"],
        ("", "value"): obj["value"],
        ("", "cost"): obj["cost"],
        ("", "switches"): obj["switches"],
        ("", "agent_hours"): len(placed) * hours,
        ("", "called_in"): len(summary["called_in"]),
    }
    levels = [
        q["service_level"] for q in summary["queues"].values() if q["service_level"] is not None
    ]
    out["", "lowest_sl"] = min(levels)
    out["", "highest_sl"] = max(levels)
    out["", "sl_spread"] = max(levels) - min(levels)
    for qid, q in summary["queues"].items():
        out[qid, "service_level"] = q["service_level"]
        out[qid, "abandon_rate"] = q["abandon_rate"]
        out[qid, "shortfall_calls"] = q["shortfall_calls"]
        out[qid, "weighted_shortfall"] = q["weighted_shortfall"]
        out[qid, "agent_hours"] = sum(1 for r in placed if r["queue"] == qid) * hours
    return out


def _check_json_against_files(data: dict[str, Any], dirs: list[Path]) -> None:
    assert data["baseline"] == data["plans"][0]["label"]
    first = _from_files(dirs[0])
    for entry, directory in zip(data["plans"], dirs, strict=True):
        want = _from_files(directory)
        values, deltas = entry["values"], entry["deltas"]
        assert len(want) == len(OVERALL) + len(PER_QUEUE) * len(values["queues"])
        for (queue, metric), expected in want.items():
            got = values[metric] if queue == "" else values["queues"][queue][metric]
            delta = deltas[metric] if queue == "" else deltas["queues"][queue][metric]
            if expected is None:
                assert got is None
                continue
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), (directory, queue, metric)
            assert delta == pytest.approx(expected - first[queue, metric], rel=1e-9, abs=1e-9)


def test_compare_plan_dirs_json_equals_the_plans_files(michelle_dirs: list[Path]) -> None:
    code, out, _err = _run("compare", *map(str, michelle_dirs), "--json")
    assert code == 0
    data = json.loads(out)
    assert [p["label"] for p in data["plans"]] == ["michelle", "michelle-sick", "michelle-busier"]
    _check_json_against_files(data, michelle_dirs)
    # the scenarios differ where they were changed, so the deltas are not all zero
    sick = data["plans"][1]["deltas"]
    assert sick["weighted_shortfall"] > 0 and sick["queues"]["platinum"]["agent_hours"] == -4.0


def test_compare_csv_matches_json(michelle_dirs: list[Path]) -> None:
    _, out_json, _ = _run("compare", *map(str, michelle_dirs), "--json")
    code, out_csv, _ = _run("compare", *map(str, michelle_dirs), "--csv")
    assert code == 0
    data = {p["label"]: p for p in json.loads(out_json)["plans"]}
    rows = list(csv.DictReader(out_csv.splitlines()))
    assert {r["plan"] for r in rows} == set(data)
    assert len(rows) == 3 * (len(OVERALL) + 2 * len(PER_QUEUE))
    for r in rows:
        entry = data[r["plan"]]
        for column, what in (("value", "values"), ("delta", "deltas")):
            block = entry[what] if not r["queue"] else entry[what]["queues"][r["queue"]]
            want = block[r["metric"]]
            got = float(r[column]) if r[column] else None
            assert (got is None and want is None) or got == pytest.approx(want, rel=1e-12)


def test_compare_table_shows_every_plan_and_delta(michelle_dirs: list[Path]) -> None:
    code, out, _ = _run("compare", *map(str, michelle_dirs))
    assert code == 0
    for label in ("michelle", "michelle-sick", "michelle-busier", "platinum", "gold", "Δ"):
        assert label in out
    summary = json.loads((michelle_dirs[1] / "summary.json").read_text())
    assert f"{summary['objective']['total']:,.2f}" in out
    assert "agent-hours used" in out


def test_compare_solves_scenarios_on_the_fly(tmp_path: Path, michelle_dirs: list[Path]) -> None:
    shutil.copy(SCENARIOS / "michelle.yaml", tmp_path / "michelle.yaml")
    (tmp_path / "sick.yaml").write_text(
        "name: michelle-sick\nextends: michelle.yaml\nchanges:\n  remove_agents: [paul]\n"
    )
    code, out, err = _run(
        "compare",
        str(tmp_path / "michelle.yaml"),
        str(tmp_path / "sick.yaml"),
        "--queue-model",
        "stationary",
        "--json",
    )
    assert code == 0, err
    assert "solving" in err and "optimal" in err
    data = json.loads(out)
    # the same numbers as the plans solved from the same scenarios and written to disk
    _check_json_against_files(data, michelle_dirs[:2])
    assert not list(tmp_path.glob("*/summary.json"))  # nothing written


def test_compare_api_labels_and_missing_queues(michelle_dirs: list[Path]) -> None:
    plans = [optistaff.read_plan(d) for d in michelle_dirs]
    # a plan with fewer queues: a real plan with its platinum queue dropped
    short = replace(
        plans[1],
        summary={**plans[1].summary, "queues": {"gold": plans[1].summary["queues"]["gold"]}},
        scenario=replace(plans[1].scenario, queues=(plans[1].scenario.queue("gold"),)),
    )
    comparison = compare([plans[0], plans[0], short])
    assert comparison.labels == ("michelle", "michelle#2", "michelle-sick")
    assert math.isnan(comparison.value("platinum", "service_level", "michelle-sick"))
    assert math.isnan(comparison.delta("platinum", "service_level", "michelle-sick"))
    assert comparison.delta("", "total", "michelle#2") == 0.0
    entry = comparison.to_dict()["plans"][2]
    assert entry["values"]["queues"]["platinum"]["service_level"] is None
    json.dumps(comparison.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "nope.yaml", "nope2.yaml"], "no such scenario file or plan directory"),
        (["compare", str(SCENARIOS / "michelle.yaml")], "at least two"),
        (["compare", "a", "b", "--json", "--csv"], "one of --json and --csv"),
    ],
)
def test_compare_bad_input_exit_2(args: list[str], message: str) -> None:
    code, out, err = _run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_compare_broken_scenario_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nhorizon: {start: '2026-11-23 08:00', interval_minutes: 7}\n")
    code, out, err = _run("compare", str(SCENARIOS / "michelle.yaml"), str(bad))
    assert code == 2
    assert "bad.yaml" in err
    assert "Traceback" not in out + err


def test_compare_incomplete_plan_dir_exit_2(tmp_path: Path, michelle_dirs: list[Path]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(michelle_dirs[0], broken)
    (broken / "staffing.csv").write_text("edited\n")
    code, out, err = _run("compare", str(michelle_dirs[0]), str(broken))
    assert code == 2
    assert "does not match summary.json" in err
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_compare_contact_center_examples(tmp_path: Path) -> None:
    """Baseline vs. sick vs. overtime: the numbers are each plan's own, and the overtime
    plan's cost is exactly the called-in agents' pay."""
    names = ("contact-center", "contact-center-sick", "contact-center-overtime")
    # (the exact stationary optimiser: the figures compared are each plan's own, whatever
    # the model; the time-varying search would only make this test slower)
    dirs = [optistaff.solve(stationary(SCENARIOS / f"{n}.yaml")).write(tmp_path / n) for n in names]
    code, out, err = _run("compare", *map(str, dirs), "--json")
    assert code == 0, err
    data = json.loads(out)
    _check_json_against_files(data, dirs)
    base, sick, overtime = data["plans"]
    assert sick["deltas"]["weighted_shortfall"] > 0  # twelve agents fewer hurts
    assert overtime["called_in"] and overtime["values"]["called_in"] == len(overtime["called_in"])
    assert overtime["values"]["cost"] == pytest.approx(80 * len(overtime["called_in"]))
    # the overtime buys back shortfall the sick day lost
    assert overtime["values"]["weighted_shortfall"] < sick["values"]["weighted_shortfall"]
    assert base["deltas"]["total"] == 0
