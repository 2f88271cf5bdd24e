"""`optistaff report`: one self-contained HTML page that embeds every plot (as a base64
PNG) and the per-queue table, and names no external URL."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import optistaff
from optistaff.cli import main
from optistaff.plan import Plan
from optistaff.report import PLOTS, render_report

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return optistaff.solve(SCENARIOS / "michelle.yaml").write(
        tmp_path_factory.mktemp("report") / "michelle"
    )


class _Page(HTMLParser):
    """Collects every tag with its attributes, and the text of table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_cell = tag in ("td", "th")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data.strip())


def _check_page(page: str, plan: Plan) -> _Page:
    assert page.startswith("<!DOCTYPE html>")
    parsed = _Page()
    parsed.feed(page)
    # every plot, embedded, in its own figure
    figures = [a["id"] for tag, a in parsed.tags if tag == "figure"]
    assert figures == [spec.id for spec in PLOTS]
    images = [a["src"] or "" for tag, a in parsed.tags if tag == "img"]
    assert len(images) == len(PLOTS)
    for src in images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    # nothing that loads from elsewhere
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        for name in ("src", "href", "srcset", "data", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("data:"), (tag, name, value)
    lowered = page.lower()
    for needle in ("http://", "https://", "//cdn", "url(", "@import", "ftp://"):
        assert needle not in lowered, needle
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", lowered)
    # the per-queue table carries the summary's numbers
    for qid, totals in plan.summary["queues"].items():
        assert qid in parsed.cells
        service_level = totals["service_level"]
        assert service_level is not None
        assert f"{100 * service_level:.1f}%" in parsed.cells
        assert f"{totals['weighted_shortfall']:,.1f}" in parsed.cells
    assert f"{plan.objective['total']:,.2f}" in page
    return parsed


def test_report_embeds_every_plot_and_no_url(plan_dir: Path) -> None:
    plan = optistaff.read_plan(plan_dir)
    page = render_report(plan, source=str(plan_dir))
    parsed = _check_page(page, plan)
    assert "09:30–10:00" in parsed.cells  # the worst interval is listed where it falls short


def test_cli_report_writes_one_file(plan_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(main, ["report", str(plan_dir), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "report written" in result.stdout
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    _check_page(target.read_text(encoding="utf-8"), optistaff.read_plan(plan_dir))
    summary = json.loads((plan_dir / "summary.json").read_text())
    assert summary["scenario"]["content_hash"] in target.read_text(encoding="utf-8")


def test_cli_report_of_a_scenario_file(tmp_path: Path) -> None:
    target = tmp_path / "michelle.html"
    result = CliRunner().invoke(
        main, ["report", str(SCENARIOS / "michelle.yaml"), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").count("data:image/png;base64,") == len(PLOTS)


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_cli_report_bad_plan_exit_2(tmp_path: Path, where: str) -> None:
    source = tmp_path / where
    if where == "empty":
        source.mkdir()
    result = CliRunner().invoke(main, ["report", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error:")
    assert not (tmp_path / "r.html").exists()


def test_the_printable_schedule_is_each_agents_day_from_the_files(plan_dir: Path) -> None:
    """The schedule section against the plan's own assignments.csv, read here with the
    csv module: per agent, from their first to their last row, runs of one queue ("idle"
    for an empty cell, "away" for a missing interval: a break)."""
    import csv
    from datetime import datetime, timedelta

    plan = optistaff.read_plan(plan_dir)
    page = render_report(plan)
    section = page[page.index('<h2 id="schedule">') :]
    rows = re.findall(r'<tr><td class="agent">(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>', section)
    step = timedelta(minutes=plan.scenario.horizon.interval_minutes)
    cells: dict[str, dict[datetime, str]] = {}
    with open(plan_dir / "assignments.csv") as fh:
        for r in csv.DictReader(fh):
            when = datetime.strptime(r["interval_start"], "%Y-%m-%d %H:%M")
            cells.setdefault(r["agent"], {})[when] = r["queue"] or "idle"
    assert [agent for agent, _s, _d in rows] == list(cells)
    for agent, _skills, day in rows:
        shown = re.findall(r">(\d\d:\d\d)-(\d\d:\d\d) ([^<]+)</span>", day)
        want: list[list[Any]] = []
        t, last = min(cells[agent]), max(cells[agent])
        while t <= last:
            what = cells[agent].get(t, "away")
            if want and want[-1][2] == what:
                want[-1][1] = t + step
            else:
                want.append([t, t + step, what])
            t += step
        assert shown == [(a.strftime("%H:%M"), b.strftime("%H:%M"), w) for a, b, w in want]
    # printed, the schedule starts on its own page and keeps each agent's row whole
    assert "#schedule { break-before: page; }" in page
    assert "table.schedule tr { break-inside: avoid; }" in page
