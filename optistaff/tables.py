"""A plan's tables as rows, until somebody asks for a DataFrame.

``optistaff solve`` evaluates a plan, writes its CSV files and prints a summary: it
never needs pandas, whose import (with pyarrow, which it loads) is ~0.35 s of a ~1.4 s
command on the 300-agent center (``tests/benchmarks/bench_startup.py``). So the
evaluation and the pipeline hand a :class:`Table` to :class:`~optistaff.plan.Plan`, which
turns it into a DataFrame only on first access of ``plan.staffing`` /
``plan.assignments`` (the notebooks, reports, ``explain``, ``compare``...), and writes
the CSV files from the rows directly.

The two must not differ: :meth:`Table.frame` builds the DataFrame the pipeline built
before (the same constructor and conversions), and :meth:`Table.csv` writes the bytes
that ``frame().to_csv(index=False, lineterminator="\\n", date_format=DATE_FORMAT)``
writes. That is pinned by ``tests/test_tables.py`` against pandas itself, on real plans
and on generated rows (floats of every magnitude, NaN, ±inf, -0.0, None, strings that
need quoting). How pandas writes each column kind, which this module reproduces:

- ``float``: float64; ``repr`` of the float (numpy's shortest round-trip form is
  Python's), NaN and None as an empty field;
- ``int``: int64, ``str``; ``Int64``: pandas' nullable integer, None as empty;
- ``str`` / ``string``: text, None as empty (``string``: pandas' string dtype, NA);
- ``time``: ``YYYY-MM-DD HH:MM`` labels (strings, as ``Horizon.label`` gives them),
  parsed to datetime64 in the frame and written back in the same format;

quoted by Python's ``csv`` writer with pandas' settings (minimal quoting, ``"``
doubled, ``\\n`` line ends), the writer pandas itself uses.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

DATE_FORMAT = "%Y-%m-%d %H:%M"

Kind = Literal["float", "int", "Int64", "str", "string", "time"]


class Table:
    """Rows (tuples in ``columns`` order) with the kind of each column."""

    __slots__ = ("columns", "kinds", "rows")

    def __init__(
        self, columns: Sequence[str], rows: list[tuple[Any, ...]], kinds: Sequence[Kind]
    ) -> None:
        if len(columns) != len(kinds):
            raise ValueError(f"{len(columns)} columns but {len(kinds)} kinds")
        self.columns = tuple(columns)
        self.rows = rows
        self.kinds = tuple(kinds)

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self, parse_times: bool = True) -> pd.DataFrame:
        """The DataFrame (a new one each call); ``time`` columns as datetime64, or as
        their labels when not ``parse_times``."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=list(self.columns))
        for name, kind in zip(self.columns, self.kinds, strict=True):
            if kind == "time" and parse_times:
                frame[name] = pd.to_datetime(frame[name], format=DATE_FORMAT)
            elif kind == "Int64":
                frame[name] = frame[name].astype("Int64")
            elif kind == "string":
                frame[name] = frame[name].astype("string")
        return frame

    def csv(self) -> str:
        """The CSV text pandas writes for :meth:`frame` (module docstring)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.columns)
        cells = [_CELL[kind] for kind in self.kinds]
        writer.writerows(
            [cell(value) for cell, value in zip(cells, row, strict=True)] for row in self.rows
        )
        return buf.getvalue()


def _float_cell(value: Any) -> str:
    if value is None:
        return ""
    x = float(value)
    return "" if math.isnan(x) else repr(x)


def _int_cell(value: Any) -> str:
    return str(int(value))


def _nullable_int_cell(value: Any) -> str:
    return "" if value is None else str(int(value))


def _text_cell(value: Any) -> str:
    return "" if value is None else str(value)


_CELL = {
    "float": _float_cell,
    "int": _int_cell,
    "Int64": _nullable_int_cell,
    "str": _text_cell,
    "string": _text_cell,
    "time": _text_cell,
}
