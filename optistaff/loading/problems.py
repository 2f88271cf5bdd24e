"""Where things were written, and the collector of every problem found in one load.

:class:`At` locates a value (a key path in a YAML document, or a CSV cell) and makes a
message about it a :class:`~optistaff.errors.Problem`; :class:`Context` is the state of
one load: the problems found so far, in order, and the files read. The message helpers
word values, suggestions and limits the same everywhere.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optistaff._yaml import KeyPath
from optistaff.errors import Problem
from optistaff.loading.limits import MAX_AGENTS, MAX_FILE_BYTES

if TYPE_CHECKING:
    from optistaff.loading.csv_tables import CsvTable


# --------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One YAML document: how to name it, where its relative paths start, its lines."""

    display: str
    base_dir: Path
    lines: Mapping[KeyPath, int]


@dataclass(frozen=True)
class At:
    """Where something was written: a key path in a YAML source, or a CSV cell."""

    file: str
    key: KeyPath = ()
    source: Source | None = None
    line: int | None = None  # fixed line (CSV rows)

    def at(self, *parts: str | int) -> At:
        return replace(self, key=self.key + parts)

    def lineno(self) -> int | None:
        if self.source is None:
            return self.line
        lines = self.source.lines
        for n in range(len(self.key), 0, -1):
            found = lines.get(self.key[:n])
            if found is not None:
                return found
        return self.line

    def problem(self, message: str, severity: str = "error") -> Problem:
        return Problem(self.file, self.lineno(), format_key(self.key), message, severity)


def under(at: At) -> Callable[[KeyPath], At]:
    """Locate a validation error's key path below ``at``."""

    def locate(loc: KeyPath) -> At:
        return at.at(*loc)

    return locate


def format_key(key: KeyPath) -> str:
    """``("queues", "gold", "aht_s")`` → ``queues.gold.aht_s``; list indexes as ``[i]``."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def join_display(naming_display: str, written: str) -> str:
    """The path of a file named in ``naming_display``, as the user would reach it."""
    if os.path.isabs(written) or naming_display.startswith("<"):
        return written
    return os.path.normpath(os.path.join(os.path.dirname(naming_display), written))


# --------------------------------------------------------------------------------------
# The problem collector, with the files of one load
# --------------------------------------------------------------------------------------


@dataclass
class Context:
    """The state of one load: every problem found, in the order found; the raw bytes of
    every file read (for ``input_hash``); the scenario's directory (what the hash's paths
    are relative to); and the CSV side files, each parsed once and checked against the
    horizon once (:mod:`optistaff.loading.csv_tables`)."""

    problems: list[Problem] = field(default_factory=list)
    files: dict[Path, bytes] = field(default_factory=dict)
    main_dir: Path = field(default_factory=Path.cwd)
    tables: dict[Path, CsvTable | None] = field(default_factory=dict)
    aligned: dict[Path, bool] = field(default_factory=dict)

    def error(self, at: At, message: str) -> None:
        self.problems.append(at.problem(message))

    def warn(self, at: At, message: str) -> None:
        self.problems.append(at.problem(message, "warning"))

    @property
    def n_errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    def read(self, path: Path, display: str, naming: At | None) -> bytes | None:
        """Raw bytes of a file (remembered for the input hash), or None after an error."""
        resolved = path.resolve()
        if resolved in self.files:
            return self.files[resolved]
        where = naming if naming is not None else At(display)
        try:
            size = resolved.stat().st_size
            if size > MAX_FILE_BYTES:
                self.error(
                    where,
                    f"{display} is {size / 2**20:.1f} MiB; optistaff reads files of at most "
                    f"{MAX_FILE_BYTES // 2**20} MiB (limit MAX_FILE_BYTES)",
                )
                return None
            raw = resolved.read_bytes()
        except FileNotFoundError:
            self.error(where, f"file not found: {display}")
            return None
        except IsADirectoryError:
            self.error(where, f"is a directory, not a file: {display}")
            return None
        except OSError as exc:
            self.error(where, f"cannot read {display}: {exc.strerror or exc}")
            return None
        self.files[resolved] = raw
        return raw

    def decode(self, raw: bytes, display: str) -> str | None:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.problems.append(
                Problem(display, line, "", f"not UTF-8 text (byte {exc.start + 1})")
            )
            return None

    def input_hash(self) -> str:
        digest = hashlib.sha256()
        entries = []
        for path, raw in self.files.items():
            rel = Path(os.path.relpath(path, self.main_dir)).as_posix()
            entries.append((rel, raw))
        for rel, raw in sorted(entries):
            digest.update(rel.encode())
            digest.update(b"\0")
            digest.update(hashlib.sha256(raw).digest())
        return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------------------------
# Messages: values, suggestions and limits, worded the same everywhere
# --------------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as a message shows what was written (``null``, ``'text'``, ``a list``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def number_text(value: Any) -> str:
    if isinstance(value, int | float) and abs(value) >= 1e15:  # not 300 digits
        try:
            return f"{value:.6g}"
        except OverflowError:  # an int beyond any float
            return f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def unknown_key(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    return "unknown key" + allowed_hint(name, allowed)


def allowed_hint(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def suggest(name: str, known: Mapping[str, Any] | list[str]) -> str:
    """``; did you mean 'x'?`` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def where_text(at: At) -> str:
    """``file:line`` (or just the file) of ``at``, for a message naming another place."""
    line = at.lineno()
    return at.file if line is None else f"{at.file}:{line}"


def too_many_agents(count: int) -> str:
    return (
        f"{count:,} agents; optistaff plans at most {MAX_AGENTS:,} agents per scenario "
        "(limit MAX_AGENTS); "
        "split the center into sites or shifts"
    )
