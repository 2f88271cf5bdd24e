"""A plan's tables as rows (``optistaff.tables``): the DataFrame and the CSV bytes are
what pandas makes of the same rows.

Independent truth: pandas itself. The frames are compared with the construction the
pipeline used before the tables (written out here: ``pd.DataFrame`` of the evaluation's
rows, then its conversions), the CSV text with ``DataFrame.to_csv``, on real plans and
on generated rows; and the solve command is checked not to import pandas at all (the
reason for the tables: ~0.35 s of its start)."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optistaff
from optistaff.plan import DATE_FORMAT, assignments_csv, read_plan, staffing_csv
from optistaff.plan_schema import ASSIGNMENT_COLUMNS
from optistaff.tables import Kind, Table

ROOT = Path(__file__).resolve().parents[1]


def _pandas_csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", date_format=DATE_FORMAT)
    return buf.getvalue()


def _old_staffing(table: Table) -> pd.DataFrame:
    """How the pipeline built ``plan.staffing`` before the tables (reference)."""
    frame = pd.DataFrame([dict(zip(table.columns, r, strict=True)) for r in table.rows])
    frame = frame[list(table.columns)]
    frame["required_agents"] = frame["required_agents"].astype("Int64")
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], format="%Y-%m-%d %H:%M")
    return frame


def _old_assignments(scenario: optistaff.Scenario, table: Table) -> pd.DataFrame:
    """How the pipeline built ``plan.assignments`` before (interval starts as datetimes)."""
    starts = dict(zip(scenario.horizon.labels(), scenario.horizon.interval_starts(), strict=True))
    rows = [(agent, starts[label], queue) for agent, label, queue in table.rows]
    frame = pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))
    frame["interval_start"] = pd.to_datetime(frame["interval_start"])
    frame["queue"] = frame["queue"].astype("string")
    return frame


def _tiny_time_varying() -> optistaff.Scenario:
    scenario = optistaff.load_scenario(str(ROOT / "scenarios" / "michelle.yaml"))
    return replace(scenario, policy=replace(scenario.policy, queue_model="time_varying"))


def _stationary(name: str) -> optistaff.Scenario:
    scenario = optistaff.load_scenario(str(ROOT / "scenarios" / name))
    return replace(scenario, policy=replace(scenario.policy, queue_model="stationary"))


@pytest.mark.parametrize("which", ["public-service", "overtime", "michelle-time-varying"])
def test_a_plans_tables_are_pandas_own_frames_and_csv(which: str, tmp_path: Path) -> None:
    """On real plans (stationary with empty required_agents, overtime, time-varying
    with its extra column; unassigned agents are in the generated rows): the lazily made
    frames equal the old construction, the CSV files equal pandas' ``to_csv`` of them,
    and the written plan reads back to the same frames."""
    scenario = {
        "public-service": lambda: _stationary("public-service.yaml"),
        "overtime": lambda: _stationary("contact-center-overtime.yaml"),
        "michelle-time-varying": _tiny_time_varying,
    }[which]()
    plan = optistaff.solve(scenario, time_limit_s=20, threads=1)
    staffing, assignments = plan.__dict__["_staffing"], plan.__dict__["_assignments"]
    assert isinstance(staffing, Table) and isinstance(assignments, Table)  # (not made yet)
    text_s, text_a = staffing_csv(plan), assignments_csv(plan)

    pd.testing.assert_frame_equal(plan.staffing, _old_staffing(staffing))
    pd.testing.assert_frame_equal(plan.assignments, _old_assignments(plan.scenario, assignments))
    assert text_s == _pandas_csv(plan.staffing)
    assert text_a == _pandas_csv(plan.assignments)
    assert staffing_csv(plan) == text_s  # (from the frame, now that it is made)
    if which == "public-service":  # (queues with no standard: required_agents empty)
        assert any(r[staffing.columns.index("required_agents")] is None for r in staffing.rows)

    back = read_plan(plan.write(tmp_path / "plan"))
    assert (tmp_path / "plan" / "staffing.csv").read_text() == text_s
    pd.testing.assert_frame_equal(back.assignments, plan.assignments)
    pd.testing.assert_frame_equal(back.staffing, plan.staffing)


_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e-5, 9.999999999999999e15, 0.1, 1 / 3, 5e-324]),
    st.none(),
)
_TEXT = st.one_of(st.text(max_size=8), st.sampled_from(["a,b", 'say "hi"', "x\ny", " "]))
_LABEL = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2090-01-01").to_pydatetime(),
).map(lambda d: d.strftime(DATE_FORMAT))
_CELLS: dict[Kind, st.SearchStrategy[object]] = {
    "float": _FLOATS,
    "int": st.integers(-(2**62), 2**62),
    "Int64": st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    "str": _TEXT.filter(lambda s: s != ""),
    "string": st.one_of(st.none(), _TEXT.filter(lambda s: s != "")),
    "time": _LABEL,
}


@st.composite
def _tables(draw: st.DrawFn) -> Table:
    kinds: list[Kind] = draw(st.lists(st.sampled_from(list(_CELLS)), min_size=2, max_size=6))
    rows = draw(st.lists(st.tuples(*(_CELLS[k] for k in kinds)), min_size=1, max_size=12))
    return Table([f"c{i}" for i in range(len(kinds))], rows, kinds)


@settings(max_examples=300, deadline=None)
@given(table=_tables())
def test_generated_rows_write_the_bytes_pandas_writes(table: Table) -> None:
    """Any rows of the kinds the plans use: the same CSV text as pandas' for the frame
    (floats of every magnitude, NaN, ±inf, -0.0, None; text that needs quoting).
    (Empty strings are left out: pandas writes them like a missing value, and a plan's
    ids are never empty.)"""
    frame = table.frame()
    assert table.csv() == _pandas_csv(frame)
    for name, kind in zip(table.columns, table.kinds, strict=True):
        if kind == "float":  # (a float column stays float64, whatever its values)
            values = [r[table.columns.index(name)] for r in table.rows]
            if any(v is not None and not math.isnan(v) for v in values):
                assert frame[name].dtype == "float64"


def test_the_solve_command_never_imports_pandas(tmp_path: Path) -> None:
    """``optistaff solve`` on an uncoupled stationary center (the per-interval search),
    printing its table and writing its plan: pandas (and pyarrow, which it loads) stay
    out of the process. (A solve that runs CP-SAT loads pandas anyway: OR-Tools'
    ``cp_model`` imports it.)"""
    from optistaff.generate import CenterSpec, write_center

    scenario = write_center(CenterSpec(60, 4, 16, tightness=0.9, seed=3), tmp_path / "c")
    text = scenario.read_text().replace("policy:\n", "policy:\n  queue_model: stationary\n", 1)
    scenario.write_text(text)
    code = (
        "import contextlib, sys\n"
        "from optistaff.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        f"    main(['solve', {str(scenario)!r}, '-o', {str(tmp_path / 'plan')!r}], "
        "standalone_mode=False)\n"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'ortools.sat') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
    assert "status: optimal" in done.stdout
    assert (tmp_path / "plan" / "staffing.csv").is_file()


def test_reading_a_plan_still_gives_frames(tmp_path: Path) -> None:
    """A plan read back holds DataFrames (the tables are only the pipeline's)."""
    plan = optistaff.solve(_stationary("michelle.yaml"), time_limit_s=10, threads=1)
    back = read_plan(plan.write(tmp_path / "p"))
    assert isinstance(back.__dict__["_staffing"], pd.DataFrame)
    assert back.staffing is back.staffing
    assert plan.staffing is plan.staffing  # (made once from the rows, then kept)
