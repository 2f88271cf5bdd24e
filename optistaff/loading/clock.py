"""Clock times and date-times as scenario files write them: ``YYYY-MM-DD HH:MM``,
``HH:MM``, ``HH:MM-HH:MM`` (a range whose end is not after its start crosses
midnight) and ``YYYY-MM-DD HH:MM-HH:MM`` (the same range starting on that date). What
they mean against the horizon is :mod:`optistaff.loading.resolve`'s.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

DAY_MINUTES = 24 * 60
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATED_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]+(\S.*)$")


def parse_datetime(text: str) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` (a ``T`` or seconds allowed) → datetime, or None."""
    text = text.strip()
    if not _DATETIME_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_clock(text: str, *, allow_24: bool = False) -> int | None:
    """Minutes after midnight of ``HH:MM`` (``24:00`` → 1440 when allowed)."""
    match = _CLOCK_RE.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        return None
    return hours * 60 + minutes


@functools.lru_cache(maxsize=4096)  # a roster repeats a few shift and break texts
def parse_range(text: str) -> tuple[int, int] | None:
    """``HH:MM-HH:MM`` → (start minute, length in minutes); end <= start crosses midnight."""
    parts = text.split("-")
    if len(parts) != 2:
        return None
    start = parse_clock(parts[0])
    end = parse_clock(parts[1], allow_24=True)
    if start is None or end is None:
        return None
    length = (end - start) % DAY_MINUTES or DAY_MINUTES
    return start, length


def split_date(text: str) -> tuple[date | None, str] | None:
    """``YYYY-MM-DD rest`` → (the date, rest); text without a leading date → (None,
    text); None when the leading date is not a real date (2026-02-30)."""
    match = _DATED_RE.match(text.strip())
    if not match:
        return None, text.strip()
    try:
        return date.fromisoformat(match.group(1)), match.group(2).strip()
    except ValueError:
        return None


def parse_dated_range(text: str) -> tuple[date | None, int, int] | None:
    """``HH:MM-HH:MM`` or ``YYYY-MM-DD HH:MM-HH:MM`` → (its date or None, start minute,
    length in minutes), or None."""
    split = split_date(text)
    if split is None:
        return None
    day, rest = split
    parsed = parse_range(rest)
    return None if parsed is None else (day, *parsed)


def parse_dated_clock(text: str, *, allow_24: bool = False) -> tuple[date | None, int] | None:
    """``HH:MM`` or ``YYYY-MM-DD HH:MM`` → (its date or None, minute of the day), or
    None."""
    split = split_date(text)
    if split is None:
        return None
    day, rest = split
    minute = parse_clock(rest, allow_24=allow_24)
    return None if minute is None else (day, minute)
