"""``optistaff export``: the workbook read back with openpyxl and checked cell by cell
against the plan's own files (assignments.csv, staffing.csv, summary.json), read here
with the csv module, not through the exporter."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.export import IDLE, UNAVAILABLE_FILL, queue_colours

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = optistaff.solve(stationary(SCENARIOS / "contact-center-sick.yaml"))
    return plan.write(tmp_path_factory.mktemp("export") / "sick")


@pytest.fixture(scope="module")
def book_path(plan_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book") / "sick.xlsx"
    result = CliRunner().invoke(main, ["export", str(plan_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _assignments(plan_dir: Path) -> dict[tuple[str, str], str]:
    with open(plan_dir / "assignments.csv", newline="") as fh:
        return {(r["agent"], r["interval_start"]): r["queue"] for r in csv.DictReader(fh)}


def test_the_schedule_sheet_is_the_plan_cell_by_cell(plan_dir: Path, book_path: Path) -> None:
    sheet = load_workbook(book_path)["Schedule"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:2] == ("agent", "skills")
    plan = optistaff.read_plan(plan_dir)
    starts = [ts.strftime("%Y-%m-%d %H:%M") for ts in plan.scenario.horizon.interval_starts()]
    assert list(header[2:]) == [s[-5:] for s in starts]  # HH:MM on a one-day horizon
    want = _assignments(plan_dir)
    agents = [a for a in plan.scenario.agents]
    assert [r[0] for r in rows[1:]] == [a.id for a in agents]
    for agent, row in zip(agents, rows[1:], strict=True):
        assert row[1] == ";".join(agent.skills)
        for start, cell in zip(starts, row[2:], strict=True):
            key = (agent.id, start)
            if key not in want:
                assert cell is None  # not available
            elif want[key] == "":
                assert cell == IDLE
            else:
                assert cell == want[key]
    assert sheet.freeze_panes == "C2"


def test_each_queue_has_one_colour_of_its_own(plan_dir: Path, book_path: Path) -> None:
    sheet = load_workbook(book_path)["Schedule"]
    seen: dict[str, set[str]] = {}
    for row in sheet.iter_rows(min_row=2, min_col=3):
        for cell in row:
            colour = str(cell.fill.start_color.rgb)[-6:]
            key = "" if cell.value is None else str(cell.value)
            seen.setdefault(key, set()).add(colour)
    assert seen[""] == {UNAVAILABLE_FILL}
    queues = [k for k in seen if k not in ("", IDLE)]
    assert all(len(seen[q]) == 1 for q in queues)
    assert len({next(iter(seen[q])) for q in queues}) == len(queues)


def test_the_staffing_queue_and_summary_sheets_hold_the_plans_files(
    plan_dir: Path, book_path: Path
) -> None:
    book = load_workbook(book_path)
    rows = list(book["Staffing"].iter_rows(values_only=True))
    with open(plan_dir / "staffing.csv", newline="") as fh:
        want = list(csv.reader(fh))
    assert list(rows[0]) == want[0]
    assert len(rows) == len(want)
    for got, expected in zip(rows[1:], want[1:], strict=True):
        for g, e in zip(got, expected, strict=True):
            if e == "":
                assert g is None
            elif isinstance(g, (int, float)):
                assert math.isclose(g, float(e), rel_tol=1e-12, abs_tol=1e-300)
            else:
                assert str(g) == e
    summary = json.loads((plan_dir / "summary.json").read_text())
    fields: dict[Any, Any] = {
        r[0]: r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True)
    }
    assert fields["status"] == summary["status"] == "optimal"
    assert fields["total"] == pytest.approx(summary["objective"]["total"], rel=1e-15)
    assert fields["scenario hash"] == summary["scenario"]["content_hash"]
    queues = list(book["Queues"].iter_rows(values_only=True))
    by_id = {r[0]: dict(zip(queues[0], r, strict=True)) for r in queues[1:]}
    for qid, totals in summary["queues"].items():
        assert by_id[qid]["weighted_shortfall"] == pytest.approx(totals["weighted_shortfall"])


def test_the_csv_schedule_equals_the_sheet(plan_dir: Path, book_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "sick.csv"
    result = CliRunner().invoke(main, ["export", str(plan_dir), "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        text_rows = list(csv.reader(fh))
    sheet_rows = list(load_workbook(book_path)["Schedule"].iter_rows(values_only=True))
    assert [[c or "" for c in r] for r in sheet_rows] == text_rows


def test_forty_queues_get_forty_colours() -> None:
    colours = queue_colours([f"q{i}" for i in range(40)])
    assert len(set(colours.values())) == 40
    assert all(len(c) == 6 and int(c, 16) >= 0 for c in colours.values())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-o", "plan.csv"], "--format xlsx writes a .xlsx file"),
        (["--format", "csv", "-o", "plan.xlsx"], "--format csv writes a .csv file"),
        (["-o", "."], "is a directory"),
    ],
)
def test_bad_output_is_refused_and_nothing_is_written(
    plan_dir: Path, tmp_path: Path, args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["export", str(plan_dir), *args])
    assert result.exit_code == 2 and needle in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_missing_plan_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "nope"), "-o", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code == 2 and "no such plan directory" in result.output
    assert not (tmp_path / "x.xlsx").exists()
