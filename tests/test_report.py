"""`optistaff report`: one self-contained HTML page that embeds every plot (as a base64
PNG) and the per-queue table, and names no external URL."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

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
