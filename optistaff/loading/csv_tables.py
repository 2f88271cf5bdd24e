"""CSV side files: each read and parsed once per load, and the rows of a per-interval
column (``{file, column}`` in ``forecast`` or ``aht_s``) checked against the horizon:
``interval_start`` must be exactly the horizon's intervals, in order. The rows of a
roster CSV become agents in :mod:`optistaff.loading.drafts`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from optistaff.errors import Problem
from optistaff.loading.clock import parse_datetime
from optistaff.loading.problems import At, Context, join_display, suggest
from optistaff.loading.schema import ColumnRef, check_number
from optistaff.scenario import Horizon


@dataclass
class CsvTable:
    """A CSV side file as read: its header and its non-blank rows, every cell stripped."""

    display: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line, column -> stripped cell)
    header_line: int = 1


def read_table(ctx: Context, written: str, at: At) -> CsvTable | None:
    """A CSV side file named at ``at`` (its ``file`` key), parsed once per load."""
    source = at.source
    base = source.base_dir if source is not None else ctx.main_dir
    naming_display = source.display if source is not None else at.file
    path = base / written
    display = join_display(naming_display, written)
    resolved = path.resolve()
    if resolved in ctx.tables:
        return ctx.tables[resolved]
    table: CsvTable | None = None
    raw = ctx.read(path, display, at)
    text = ctx.decode(raw, display) if raw is not None else None
    if text is not None:
        table = _parse_table(ctx, text, display)
    ctx.tables[resolved] = table
    return table


def _parse_table(ctx: Context, text: str, display: str) -> CsvTable | None:
    """The table, or None after reported problems (bad CSV, header, row lengths)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as exc:
        ctx.problems.append(Problem(display, reader.line_num, "", f"bad CSV: {exc}"))
        return None
    if not rows:
        ctx.problems.append(Problem(display, None, "", "empty CSV file: expected a header"))
        return None
    header_line, header = rows[0]
    ok = True
    seen: set[str] = set()
    for name in header:
        if not name:
            ctx.problems.append(Problem(display, header_line, "", "empty column name"))
            ok = False
        elif name in seen:
            ctx.problems.append(
                Problem(display, header_line, name, "duplicate column (each name once)")
            )
            ok = False
        seen.add(name)
    if not ok:
        return None
    table = CsvTable(display, header, [], header_line)
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            ctx.problems.append(
                Problem(
                    display,
                    line,
                    "",
                    f"row has {len(cells)} cells, the header has {len(header)}",
                )
            )
            ok = False
            continue
        table.rows.append((line, dict(zip(header, cells, strict=True))))
    return table if ok else None


def column_values(
    ref: ColumnRef, at: At, horizon: Horizon, ctx: Context, *, positive: bool
) -> tuple[float, ...] | None:
    """``{file, column}``'s values, one per interval (None after reported problems)."""
    table = read_table(ctx, ref.file, at.at("file"))
    if table is None:
        return None
    if "interval_start" not in table.columns:
        ctx.error(
            At(table.display, ("interval_start",), line=table.header_line),
            f"missing column (columns: {', '.join(table.columns)})",
        )
        return None
    if ref.column not in table.columns or ref.column == "interval_start":
        ctx.error(
            at.at("column"),
            f"no column '{ref.column}' in {table.display}{suggest(ref.column, table.columns)} "
            f"(columns: {', '.join(c for c in table.columns if c != 'interval_start')})",
        )
        return None
    key = Path(table.display)
    if key not in ctx.aligned:
        ctx.aligned[key] = _check_alignment(table, horizon, ctx)
    if not ctx.aligned[key]:
        return None
    values: list[float] = []
    ok = True
    for line, row in table.rows:
        cat = At(table.display, (ref.column,), line=line)
        text = row[ref.column]
        try:
            number = float(text)
        except ValueError:
            ctx.error(cat, f"must be a number, got {text!r}")
            ok = False
            continue
        checked = check_number(number, cat, ctx, positive=positive)
        if checked is None:
            ok = False
        else:
            values.append(checked)
    return tuple(values) if ok else None


def _check_alignment(table: CsvTable, horizon: Horizon, ctx: Context) -> bool:
    """Rows' ``interval_start`` must be exactly the horizon's intervals, in order."""
    T = horizon.intervals
    for i, (line, row) in enumerate(table.rows):
        at = At(table.display, ("interval_start",), line=line)
        text = row["interval_start"]
        when = parse_datetime(text)
        if when is None:
            ctx.error(at, f"must be 'YYYY-MM-DD HH:MM', got {text!r}")
            return False
        if i >= T:
            ctx.error(
                at,
                f"extra row {text}: the horizon has {T} intervals, the last starting "
                f"{horizon.label(T - 1)}",
            )
            return False
        if when != horizon.interval_start(i):
            ctx.error(
                at,
                f"row {text} is misaligned: row {i + 1} must be interval_start "
                f"{horizon.label(i)} (one row per interval, in order)",
            )
            return False
    if len(table.rows) < T:
        last = table.rows[-1][0] if table.rows else table.header_line
        ctx.error(
            At(table.display, ("interval_start",), line=last),
            f"missing rows: {len(table.rows)} rows for {T} intervals; first missing "
            f"interval_start {horizon.label(len(table.rows))}",
        )
        return False
    return True
