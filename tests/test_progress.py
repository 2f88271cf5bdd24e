"""The progress line of a long solve: the phase in words, the best plan and its gap as
a percentage, the seconds elapsed and the time limit; the strategies name their phases;
nothing is shown off a terminal, or with --quiet."""

from __future__ import annotations

import math
import time
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.cli.common import ProgressPrinter, progress_text
from optistaff.solvers import Progress

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_the_line_says_phase_best_gap_and_clock() -> None:
    event = Progress("shortfall", 98.0, 100.0, 3.0)
    assert progress_text(event, 12.4, 60.0) == (
        "the whole horizon, minimums first · best shortfall 98.00, gap 2.00 % · 12 s of 60 s"
    )
    event = Progress("time_varying", 2037.5, math.nan, 3.0, 12, 56, phase="search, round 3/8")
    assert progress_text(event, 4.0, None) == (
        "search, round 3/8 · interval 13/56 · best shortfall 2,037.50 · 4 s"
    )
    assert progress_text(Progress("intervals", math.nan, math.nan, 1.0, 56, 56), 2, 60) == (
        "each interval on its own · interval 56/56 · 2 s of 60 s"
    )


def test_the_printer_ticks_between_events() -> None:
    console = Console(record=True, force_terminal=True, width=100)
    printer = ProgressPrinter(console, limit_s=30.0)
    printer.TICK_S = 0.05
    printer.began -= 5.0  # five seconds into the solve
    printer(Progress("value", 10.0, 11.0, 5.0))
    time.sleep(0.3)
    text = printer.status.renderable.text if printer.status is not None else ""
    printer.close()
    assert str(text) == "the whole horizon, value · best value 10.00, gap 9.09 % · 5 s of 30 s"


def _phases(path: Path, **kw: object) -> list[str]:
    seen: list[str] = []

    def collect(event: Progress) -> None:
        seen.append(event.phase or event.stage)

    optistaff.solve(path if not kw else stationary(path), progress=collect)
    return list(dict.fromkeys(seen))


def test_the_time_varying_search_names_its_rounds() -> None:
    phases = _phases(SCENARIOS / "contact-center.yaml")
    assert phases[0] == "time-varying search: stationary start"
    assert "time-varying search, round 1/8" in phases
    assert any(p.startswith("time-varying search, agent moves") for p in phases)


def test_the_decomposition_names_its_steps() -> None:
    phases = _phases(SCENARIOS / "contact-center-overtime.yaml", stationary=True)
    assert "deciding whom to call in" in phases


def test_no_progress_off_a_terminal_and_quiet_is_accepted(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["solve", str(SCENARIOS / "michelle.yaml"), "-q", "-o", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    assert "time-varying search," not in result.stderr and "s of 60 s" not in result.stderr
