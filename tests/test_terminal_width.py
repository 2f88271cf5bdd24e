"""What a planner sees in an 80-column terminal: the tables of ``solve`` (and
``evaluate``) and ``compare`` fit, with no name or number cut ("…") and no figure
broken across lines; at 120 columns nothing wraps at all."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from rich.console import Console
from tiny import stationary

import optistaff
from optistaff.cli.compare import comparison_table, fold_label
from optistaff.compare import compare
from optistaff.plan import Plan
from optistaff.plan_schema import PlanSummary
from optistaff.views import QUEUE_TABLE_LEGEND, queue_table

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NAMES = ["contact-center", "contact-center-sick", "contact-center-overtime"]


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    return [optistaff.solve(stationary(SCENARIOS / f"{n}.yaml")) for n in NAMES]


def _render(renderable: object, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def _cells(plan: Plan) -> list[str]:
    """Every queue id and figure the per-queue table must show whole."""
    table = queue_table(plan)
    return [str(cell) for column in table.columns for cell in column._cells]


@pytest.mark.parametrize("index", range(len(NAMES)))
def test_the_queue_table_fits_80_columns_whole(plans: list[Plan], index: int) -> None:
    plan = plans[index]
    lines = _render(queue_table(plan), 80)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "…" not in text
    for cell in _cells(plan):  # each on one line, whole
        assert any(cell in line for line in lines), cell
    assert all(len(line) <= 80 for line in _render(QUEUE_TABLE_LEGEND, 80))


def test_a_long_queue_name_folds_but_is_not_cut(plans: list[Plan]) -> None:
    from dataclasses import replace

    plan = plans[0]
    long_id = "platinum_technical_support_emea"  # 31 characters
    queues = tuple(
        replace(q, id=long_id) if i == 0 else q for i, q in enumerate(plan.scenario.queues)
    )
    totals = dict(plan.summary["queues"])
    totals[long_id] = totals.pop(plan.scenario.queues[0].id)
    summary = cast(PlanSummary, {**plan.summary, "queues": totals})
    renamed = replace(plan, scenario=replace(plan.scenario, queues=queues), summary=summary)
    lines = _render(queue_table(renamed), 80)
    assert max(len(line) for line in lines) <= 80 and "…" not in "\n".join(lines)
    assert long_id in "".join(line.split(" ")[0] for line in lines)  # folded, every letter


def test_wide_figures_fit_80_columns_whole_with_one_space(plans: list[Plan]) -> None:
    """A 2,000-agent day's table: daily minimums and abandonment (ten columns), five-digit
    values, long queue names. With two spaces between columns it is 87 wide and rich cut
    the value column, header and all ("17" of 17,129.5); it is drawn with one space, and
    with two again where they fit."""
    from dataclasses import replace

    plan = plans[0]
    queues = tuple(
        replace(q, id=f"{q.id}_emea_long", daily_service_level=0.85, patience_s=120.0)
        for q in plan.scenario.queues
    )
    big = {
        "calls": 10_716.0,
        "agent_intervals": 1_141.8 * 60 / plan.scenario.horizon.interval_minutes,
        "shortfall_calls": 3_740.9,
        "weighted_shortfall": 7_481.8,
        "value": 23_173.8,
        "service_level": 0.898,
        "abandon_rate": 0.123,
    }
    totals = {
        new.id: {**plan.summary["queues"][old.id], **big}
        for old, new in zip(plan.scenario.queues, queues, strict=True)
    }
    summary = cast(PlanSummary, {**plan.summary, "queues": totals})
    wide = replace(plan, scenario=replace(plan.scenario, queues=queues), summary=summary)
    table = queue_table(wide)
    lines = _render(table, 80)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    for figure in (
        "10,716",
        "89.8%",
        "85.0%",
        "12.3%",
        "1,141.8",
        "3,740.9",
        "7,481.8",
        "23,173.8",
    ):
        assert all(figure in line for line in lines if line.startswith(queues[0].id[:6])), figure
    assert "SL min SL" in lines[0]  # one space between columns: a tight table
    at_120 = _render(table, 120)  # (the same table again: its spacing was put back)
    assert "SL  min SL" in at_120[0] and max(len(line) for line in at_120) <= 120


def test_three_plans_compared_fit_80_columns_and_nothing_wraps_at_120(plans: list[Plan]) -> None:
    table = comparison_table(compare(plans, labels=NAMES), width=80)
    lines = _render(table, 80)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "…" not in text
    cells = [str(c) for column in table.columns[1:] for c in column._cells]
    for cell in cells:
        assert any(cell in line for line in lines), cell
    wide = _render(comparison_table(compare(plans, labels=NAMES), width=120), 120)
    assert max(len(line) for line in wide) <= 120
    for label in NAMES:  # at 120 columns the labels stand whole on one header line
        assert any(label in line for line in wide), label


def test_erlang_c_abandonment_reads_the_same_in_solve_and_compare(plans: list[Plan]) -> None:
    plan = plans[0]
    c_queue = next(q.id for q in plan.scenario.queues if q.patience_s is None)
    solve_row = next(line for line in _render(queue_table(plan), 120) if line.startswith(c_queue))
    assert " - " in solve_row
    lines = _render(comparison_table(compare(plans, labels=NAMES), width=120), 120)
    at = lines.index(next(line for line in lines if line.startswith(c_queue)))
    abandon = next(line for line in lines[at:] if line.strip().startswith("abandon"))
    assert abandon.split()[1:] == ["-", "-", "=", "-", "="]


@pytest.mark.parametrize(
    ("label", "width", "want"),
    [
        ("contact-center-overtime", 9, "contact-\ncenter-\novertime"),
        ("short", 9, "short"),
        ("abcdefghijkl", 5, "abcde\nfghij\nkl"),
    ],
)
def test_labels_fold_without_losing_a_character(label: str, width: int, want: str) -> None:
    got = fold_label(label, width)
    assert got == want and got.replace("\n", "") == label.replace(" ", "")


def test_explains_tables_fit_80_columns_whole(plans: list[Plan]) -> None:
    from optistaff.cli.explain import day_table, interval_table, minimums_table
    from optistaff.explain import explain_interval

    plan = plans[1]
    ex = explain_interval(plan, "15:00", one_more_agent=False)
    for table in (day_table(plan), interval_table(ex), minimums_table(ex)):
        lines = _render(table, 80)
        assert max(len(line) for line in lines) <= 80
        assert "…" not in "\n".join(lines)
        for column in table.columns:
            if column.justify == "right":  # every figure whole, on one line
                for cell in column._cells:
                    assert any(str(cell) in line for line in lines), cell
