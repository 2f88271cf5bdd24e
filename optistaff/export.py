"""A plan where planners work: a spreadsheet (``optistaff export PLAN -o plan.xlsx``) or
the wide schedule as CSV.

The workbook has four sheets:

* **Schedule**: one row per agent (id and skills, frozen), one column per interval
  (frozen header, ``HH:MM``, dated when the horizon is longer than a day); a cell holds
  the queue the agent works (filled in that queue's colour), ``idle`` when the agent is
  available but not assigned, and stays empty (grey) when the agent is not available
  (outside the shift, or on a break).
* **Staffing**: ``staffing.csv`` as it is, one row per (interval, queue): agents placed
  against required, calls, SL, ASA, abandonment, occupancy, shortfalls.
* **Queues**: the per-queue totals of ``summary.json``.
* **Summary**: the scenario's name, the plan's status, queue model, objective parts,
  agents called in and solver.

Written atomically (a complete file or none). The colours: a distinct light fill per
queue (:func:`queue_colours`, golden-angle hues: at least 30 told apart).
"""

from __future__ import annotations

import colorsys
import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from optistaff.plan import Plan, write_file_atomically
from optistaff.plan_schema import queue_model_of

IDLE = "idle"
UNAVAILABLE_FILL = "D9D9D9"


def queue_colours(queue_ids: Sequence[str]) -> dict[str, str]:
    """A light RGB fill (``RRGGBB``) per queue, in order: hues spaced by the golden angle,
    in three lightness bands, so that neighbours differ and 30+ queues stay distinct."""
    out: dict[str, str] = {}
    for i, qid in enumerate(queue_ids):
        hue = (i * 0.618033988749895) % 1.0
        light = (0.80, 0.70, 0.88)[(i // 10) % 3]
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
        out[qid] = f"{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"
    return out


def interval_labels(plan: Plan) -> list[str]:
    """The schedule's column headers: ``HH:MM``, or ``YYYY-MM-DD HH:MM`` when the horizon
    lasts more than a day (so that no two columns read the same)."""
    h = plan.scenario.horizon
    fmt = "%H:%M" if h.intervals * h.interval_minutes <= 24 * 60 else "%Y-%m-%d %H:%M"
    return [ts.strftime(fmt) for ts in h.interval_starts()]


def schedule(plan: Plan) -> pd.DataFrame:
    """The wide schedule: one row per agent (index ``agent``, column ``skills``), one
    column per interval label; cells: a queue id, :data:`IDLE`, or "" (not available)."""
    sc = plan.scenario
    starts = {pd.Timestamp(ts): t for t, ts in enumerate(sc.horizon.interval_starts())}
    labels = interval_labels(plan)
    cells = {a.id: [""] * len(labels) for a in sc.agents}
    for agent, ts, queue in plan.assignments.itertuples(index=False):
        row = cells.get(str(agent))
        if row is not None:
            row[starts[pd.Timestamp(ts)]] = IDLE if pd.isna(queue) else str(queue)
    frame = pd.DataFrame.from_dict(cells, orient="index", columns=labels)
    frame.insert(0, "skills", [";".join(a.skills) for a in sc.agents])
    frame.index.name = "agent"
    return frame


#: A block of an agent's day when they are not available inside it (a break, an absence).
AWAY = "away"


def agent_blocks(plan: Plan) -> list[tuple[str, str, list[tuple[int, int, str]]]]:
    """Each working agent's day as blocks, for a printed schedule: ``(agent, skills,
    [(start, end, what)])`` with [start, end) interval indices from their first to
    their last available interval, ``what`` a queue id, :data:`IDLE` or :data:`AWAY`
    (not available: a break or an absence). Agents with no row (optional agents not
    called in) are left out; scenario order."""
    sc = plan.scenario
    index = {pd.Timestamp(ts): t for t, ts in enumerate(sc.horizon.interval_starts())}
    cells: dict[str, dict[int, str]] = {}
    frame = plan.assignments
    for agent, ts, queue in zip(
        frame["agent"], frame["interval_start"], frame["queue"], strict=True
    ):
        cells.setdefault(str(agent), {})[index[pd.Timestamp(ts)]] = (
            IDLE if pd.isna(queue) else str(queue)
        )
    out = []
    for agent in sc.agents:
        day = cells.get(agent.id)
        if not day:
            continue
        blocks: list[tuple[int, int, str]] = []
        for t in range(min(day), max(day) + 1):
            what = day.get(t, AWAY)
            if blocks and blocks[-1][2] == what and blocks[-1][1] == t:
                blocks[-1] = (blocks[-1][0], t + 1, what)
            else:
                blocks.append((t, t + 1, what))
        out.append((agent.id, ", ".join(agent.skills), blocks))
    return out


def schedule_csv(plan: Plan) -> str:
    """:func:`schedule` as CSV (``agent``, ``skills``, one column per interval)."""
    buf = io.StringIO()
    schedule(plan).to_csv(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def summary_rows(plan: Plan) -> list[tuple[str, Any]]:
    """The Summary sheet: (field, value) rows."""
    s, obj = plan.summary, plan.objective
    rows: list[tuple[str, Any]] = [
        ("scenario", plan.scenario.name),
        ("status", str(plan.status)),
        ("queue model", queue_model_of(s)),
        ("weighted shortfall", obj["weighted_shortfall"]),
        ("value", obj["value"]),
        ("cost", obj["cost"]),
        ("switching", obj["switching"]),
        ("switches", obj["switches"]),
        ("total", obj["total"]),
        ("bound", s.get("bound")),
        ("gap", s.get("gap")),
        ("called in", ", ".join(plan.called_in)),
        ("horizon start", plan.scenario.horizon.label(0)),
        ("interval minutes", plan.scenario.horizon.interval_minutes),
        ("intervals", plan.scenario.horizon.intervals),
        ("decomposition", s["solver"].get("decomposition", "")),
        ("scenario hash", s["scenario"]["content_hash"]),
    ]
    return rows


def workbook_bytes(plan: Plan) -> bytes:
    """The workbook (module docstring) as ``.xlsx`` bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Schedule"
    wide = schedule(plan)
    fills = {
        q: PatternFill("solid", start_color=c, end_color=c)
        for q, c in queue_colours(plan.scenario.queue_ids).items()
    }
    grey = PatternFill("solid", start_color=UNAVAILABLE_FILL, end_color=UNAVAILABLE_FILL)
    bold = Font(bold=True)
    header = ["agent", "skills", *wide.columns[1:]]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
    for agent, row in zip(wide.index, wide.itertuples(index=False), strict=True):
        values = list(row)
        sheet.append([agent, *values])
        r = sheet.max_row
        for j, value in enumerate(values[1:], start=3):
            cell = sheet.cell(row=r, column=j)
            if value == "":
                cell.fill = grey
            elif value in fills:
                cell.fill = fills[value]
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["A"].width = max(8, max((len(a) for a in wide.index), default=5) + 2)
    sheet.column_dimensions["B"].width = 24
    widest = max((len(q) for q in plan.scenario.queue_ids), default=4)
    for j in range(3, len(header) + 1):
        sheet.column_dimensions[get_column_letter(j)].width = max(6, min(widest, 18) + 1)

    staffing = book.create_sheet("Staffing")
    frame = plan.staffing.copy()
    frame["interval_start"] = [
        pd.Timestamp(x).strftime("%Y-%m-%d %H:%M") for x in frame["interval_start"]
    ]
    _table(staffing, frame, bold)

    queues = book.create_sheet("Queues")
    totals = plan.queues.reset_index()
    _table(queues, totals, bold)

    summary = book.create_sheet("Summary")
    summary.append(["field", "value"])
    summary["A1"].font = summary["B1"].font = bold
    for key, value in summary_rows(plan):
        summary.append([key, value])
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 60
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _table(sheet: Any, frame: pd.DataFrame, bold: Any) -> None:
    """``frame`` into ``sheet`` with a bold, frozen header and a filter (NaN: empty)."""
    sheet.append([str(c) for c in frame.columns])
    for cell in sheet[1]:
        cell.font = bold
    for row in frame.itertuples(index=False):
        sheet.append([None if _missing(v) else _plain(v) for v in row])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for j, name in enumerate(frame.columns, start=1):
        letter = sheet.cell(row=1, column=j).column_letter
        sheet.column_dimensions[letter].width = max(10, min(len(str(name)) + 2, 28))


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    """numpy scalars as Python numbers (openpyxl writes only those)."""
    return v.item() if hasattr(v, "item") else v


def write_export(plan: Plan, path: str | os.PathLike[str], *, fmt: str = "xlsx") -> Path:
    """Write the workbook (``fmt`` ``xlsx``) or the wide schedule (``csv``) to ``path``,
    atomically: a complete file or none."""
    data = workbook_bytes(plan) if fmt == "xlsx" else schedule_csv(plan).encode()
    return write_file_atomically(path, data)
