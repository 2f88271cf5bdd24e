"""Scenario files → a validated :class:`~optistaff.scenario.Scenario`.

This is the one boundary where input is checked; everything downstream trusts the
``Scenario`` it returns. Every problem is collected (with file, line and key path,
e.g. ``contact-center.yaml:14 queues.platinum.aht_s: must be > 0, got -30``) and
reported together in one :class:`~optistaff.errors.ScenarioError`.

The pipeline: read YAML with the line of every key (:mod:`optistaff._yaml`) →
check each file's sections (pydantic models, ``extra="forbid"``) → follow
``extends`` and merge child into parent (queues and agents by id, other keys by
replacement) → apply ``changes`` in the order listed → resolve side files, clock
times, availability and pins against the horizon → ``Scenario``.

Rules chosen where product.md / model.md are silent:

* **Clock times in shifts.** A shift is the first occurrence of its clock times
  that has not ended by the horizon start. For a shift starting at or after the
  horizon start this is model.md's "first occurrence at or after the horizon
  start"; in addition a shift already *in progress* at the horizon start (e.g.
  ``06:00-14:00`` on a horizon starting 08:00, or ``22:00-06:00`` on a horizon
  starting 00:00) is that shift, clipped to the horizon — not the next day's. A
  shift whose end is not after its start crosses midnight (``08:00-08:00`` is 24 h);
  ``24:00`` is accepted as an end time.
* **Breaks** are the first occurrence at or after the shift start and must end by
  the shift end (else an error). **Pins**: ``from`` is the first occurrence at or
  after the horizon start, ``to`` the first occurrence after ``from`` (a pin may
  cross midnight); ``from == to`` is an empty range (error).
* **cost on an agent that is not optional** is an error: only optional agents are
  paid per available interval when called in (model.md), so a cost there would be
  silently meaningless.
* An agent must have at least one skill; a skill listed twice is an error.
* ``name`` and ``description`` are not inherited through ``extends``: ``name``
  defaults to the stem of the file being loaded, ``description`` to empty.
* ``forecast`` is a list or ``{file, column}`` (no scalar); ``aht_s`` may also be a
  scalar. ``answer_within_s`` is required.
* ``changes`` kinds: ``remove_agents``, ``add_agents`` (an id that already exists is
  an error), ``scale_forecast`` (factors multiply), ``set`` (queue fields; setting
  ``forecast`` resets earlier scaling, ``null`` clears an optional field).
* The horizon is at most 7 days.
* **Limits** (the ``MAX_*`` / ``MIN_*`` constants; every refusal names its limit): a
  scenario optistaff cannot solve in bounded time and memory is refused here, exit
  code 2, instead of hanging or running out of memory later.

  - at most 20,000 agents (twice the largest center the benchmarks solve), 1,000
    queues, 20,000 pins, and 2,000,000 agent-intervals (agents × horizon intervals;
    resolving availability then takes a few seconds at most);
  - at most 5,000 agents able to work one queue in one interval (limit
    MAX_CELL_AGENTS: the queueing tables are exact up to n = 5,000, model.md);
  - at most 2,000,000 staffing table entries: Σ over queues of (intervals with
    calls) × (most agents able to work the queue in one interval + 1). This is what
    the formulation tabulates and the solver gets one literal for; 5,000 agents on 6
    queues over 96 quarter-hours is about 1,000,000 (measured: ~375 MB, Erlang A
    tables ~35 s);
  - per (queue, interval): 0 or 1e-6 … 1,000,000 calls, and an offered load of at
    most 5,000 Erlangs (model.md's exactness range); ``aht_s`` 1 … 86,400 s (a
    day); ``patience_s`` 1 … 1,000,000 s (beyond that, leave it out: Erlang C);
  - ``value``, ``shortfall_weight``, ``cost``, ``switch_penalty`` and
    ``shortfall_price`` at most 1,000,000 (larger worths overflow the solver's
    scaled integer objective); ``threads`` 1 … 64 and ``seed`` 0 … 2**31 − 1
    (CP-SAT's own parameter ranges);
  - files at most 16 MiB, and a YAML document at most 1,000,000 nodes once its
    aliases are expanded (a "billion laughs" file is refused, not expanded).
* ``input_hash``: sha256 over, for every file read (scenario, parents, side files)
  sorted by path relative to the scenario's directory, that relative path and the
  sha256 of its raw bytes.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from optistaff._yaml import KeyPath, parse_yaml
from optistaff.errors import Problem, ScenarioError
from optistaff.scenario import (
    ALLOWED_INTERVAL_MINUTES,
    Agent,
    Horizon,
    Pin,
    Policy,
    Queue,
    Scenario,
)

__all__ = ["check_scenario", "load_scenario", "scenario_from_dict"]

MAX_HORIZON_MINUTES = 7 * 24 * 60
# Limits (see the module docstring for why each one is what it is).
MAX_AGENTS = 20_000
MAX_CELL_AGENTS = 5_000  # agents able to work one queue in one interval
MAX_QUEUES = 1_000
MAX_TABLE_ENTRIES = 2_000_000
MAX_AGENT_INTERVALS = 2_000_000  # agents × horizon intervals
MAX_CALLS = 1e6  # per (queue, interval)
MIN_CALLS = 1e-6  # a positive forecast below this is a zero written oddly
MAX_OFFERED_LOAD = 5_000.0  # Erlangs per (queue, interval)
MIN_AHT_S = 1.0
MAX_AHT_S = 86_400.0
MIN_PATIENCE_S = 1.0
MAX_PATIENCE_S = 1e6
MAX_WORTH = 1e6  # value, shortfall_weight, cost, switch_penalty, shortfall_price
MAX_THREADS = 64
MAX_SEED = 2**31 - 1
MAX_PINS = 20_000
MAX_FILE_BYTES = 16 * 2**20
MAX_YAML_NODES = 1_000_000
TOP_LEVEL_KEYS = (
    "name",
    "description",
    "extends",
    "changes",
    "horizon",
    "queues",
    "agents",
    "pins",
    "policy",
)
CHANGE_KINDS = ("remove_agents", "add_agents", "scale_forecast", "set")
ROSTER_COLUMNS = ("id", "skills", "shift", "breaks", "optional", "cost")
ROSTER_REQUIRED = ("id", "skills", "shift")
_DAY = 24 * 60


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, merge and validate a scenario file (and its parents and side files).

    Raises :class:`ScenarioError` carrying every problem found. Warnings (e.g. an
    agent with no available interval, who is then ignored) are in
    ``Scenario.warnings``.
    """
    scenario, problems = check_scenario(path)
    if scenario is None:
        raise ScenarioError(problems)
    return scenario


def check_scenario(path: str | os.PathLike[str]) -> tuple[Scenario | None, list[Problem]]:
    """Like :func:`load_scenario` but returns ``(scenario or None, problems)``.

    ``problems`` holds errors and warnings (``severity == "warning"``); the scenario
    is ``None`` exactly when there is at least one error.
    """
    ctx = _Context()
    given = Path(path)
    display = os.fspath(path)
    ctx.main_dir = given.resolve().parent
    draft = _load_file(given, display, ctx, chain=(), naming=None)
    scenario = _finish(draft, ctx, default_name=given.stem, source=given)
    if scenario is not None:
        scenario = replace(scenario, input_hash=ctx.input_hash())
    return scenario, ctx.problems


def scenario_from_dict(
    data: Mapping[str, Any], *, source_name: str = "<dict>", base_dir: Path | None = None
) -> Scenario:
    """Validate plain data in the scenario file format (e.g. ``Scenario.to_dict()``).

    ``extends`` and side files are resolved relative to ``base_dir`` (default: the
    current directory); problems name ``source_name`` and carry no line.
    """
    ctx = _Context()
    base = base_dir if base_dir is not None else Path.cwd()
    ctx.main_dir = base.resolve()
    source = _Source(source_name, base, {})
    draft = _draft_from_data(dict(data), source, ctx, chain=())
    stem = Path(source_name).stem if not source_name.startswith("<") else "scenario"
    scenario = _finish(draft, ctx, default_name=stem or "scenario", source=None)
    if scenario is None:
        raise ScenarioError(ctx.problems)
    return scenario


# --------------------------------------------------------------------------------------
# Locations and the problem collector
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One YAML document: how to name it, where its relative paths start, its lines."""

    display: str
    base_dir: Path
    lines: Mapping[KeyPath, int]


@dataclass(frozen=True)
class _At:
    """Where something was written: a key path in a YAML source, or a CSV cell."""

    file: str
    key: KeyPath = ()
    source: _Source | None = None
    line: int | None = None  # fixed line (CSV rows)

    def at(self, *parts: str | int) -> _At:
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
        return Problem(self.file, self.lineno(), _format_key(self.key), message, severity)


def _under(at: _At) -> Callable[[KeyPath], _At]:
    """Locate a validation error's key path below ``at``."""

    def locate(loc: KeyPath) -> _At:
        return at.at(*loc)

    return locate


def _format_key(key: KeyPath) -> str:
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _join_display(naming_display: str, written: str) -> str:
    """The path of a file named in ``naming_display``, as the user would reach it."""
    if os.path.isabs(written) or naming_display.startswith("<"):
        return written
    return os.path.normpath(os.path.join(os.path.dirname(naming_display), written))


@dataclass
class _Table:
    display: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line, column -> stripped cell)
    header_line: int = 1


@dataclass
class _Context:
    problems: list[Problem] = field(default_factory=list)
    files: dict[Path, bytes] = field(default_factory=dict)
    main_dir: Path = field(default_factory=Path.cwd)
    tables: dict[Path, _Table | None] = field(default_factory=dict)
    aligned: dict[Path, bool] = field(default_factory=dict)

    def error(self, at: _At, message: str) -> None:
        self.problems.append(at.problem(message))

    def warn(self, at: _At, message: str) -> None:
        self.problems.append(at.problem(message, "warning"))

    @property
    def n_errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    def read(self, path: Path, display: str, naming: _At | None) -> bytes | None:
        """Raw bytes of a file (remembered for the input hash), or None after an error."""
        resolved = path.resolve()
        if resolved in self.files:
            return self.files[resolved]
        where = naming if naming is not None else _At(display)
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

    def read_table(self, written: str, at: _At) -> _Table | None:
        """A CSV side file named at ``at`` (its ``file`` key), parsed once per load."""
        source = at.source
        base = source.base_dir if source is not None else self.main_dir
        naming_display = source.display if source is not None else at.file
        path = base / written
        display = _join_display(naming_display, written)
        resolved = path.resolve()
        if resolved in self.tables:
            return self.tables[resolved]
        table: _Table | None = None
        raw = self.read(path, display, at)
        text = self.decode(raw, display) if raw is not None else None
        if text is not None:
            table = self._parse_table(text, display)
        self.tables[resolved] = table
        return table

    def _parse_table(self, text: str, display: str) -> _Table | None:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append((reader.line_num, [cell.strip() for cell in row]))
        except csv.Error as exc:
            self.problems.append(Problem(display, reader.line_num, "", f"bad CSV: {exc}"))
            return None
        if not rows:
            self.problems.append(Problem(display, None, "", "empty CSV file: expected a header"))
            return None
        header_line, header = rows[0]
        ok = True
        seen: set[str] = set()
        for name in header:
            if not name:
                self.problems.append(Problem(display, header_line, "", "empty column name"))
                ok = False
            elif name in seen:
                self.problems.append(
                    Problem(display, header_line, name, "duplicate column (each name once)")
                )
                ok = False
            seen.add(name)
        if not ok:
            return None
        table = _Table(display, header, [], header_line)
        for line, cells in rows[1:]:
            if len(cells) != len(header):
                self.problems.append(
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


# --------------------------------------------------------------------------------------
# Structure: pydantic models of each section (extra="forbid", strict types)
# --------------------------------------------------------------------------------------


def _id_text(value: Any) -> Any:
    """Ids written as plain numbers (employee numbers) are ids too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


Id = Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Worth = Annotated[float, Field(ge=0, le=MAX_WORTH)]
Patience = Annotated[float, Field(ge=MIN_PATIENCE_S, le=MAX_PATIENCE_S)]
Level = Annotated[float, Field(ge=0, lt=1)]
Rate = Annotated[float, Field(gt=0, le=1)]
DateTimeText = Annotated[str, BeforeValidator(_datetime_text)]
_DEFAULT_POLICY = Policy()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _HorizonModel(_Strict):
    start: DateTimeText
    interval_minutes: int
    end: DateTimeText | None = None
    intervals: Annotated[int, Field(ge=1)] | None = None


class _QueueModel(_Strict):
    value: Worth
    aht_s: Any
    answer_within_s: NonNegative
    patience_s: Patience | None = None
    min_service_level: Level | None = None
    daily_service_level: Level | None = None
    max_abandon_rate: Rate | None = None
    max_occupancy: Rate | None = None
    shortfall_weight: Worth | None = None
    forecast: Any


class _AgentModel(_Strict):
    id: Id
    skills: list[Id]
    shift: str
    breaks: list[str] = Field(default_factory=list)
    optional: bool = False
    cost: Worth = 0.0


class _FileRef(_Strict):
    file: Annotated[str, Field(min_length=1)]


class _ColumnRef(_Strict):
    file: Annotated[str, Field(min_length=1)]
    column: Annotated[str, Field(min_length=1)]


class _PinModel(_Strict):
    agent: Id
    queue: Id | None
    from_: str = Field(alias="from")
    to: str


class _PolicyModel(_Strict):
    objective: Literal["within_target", "served"] = _DEFAULT_POLICY.objective
    switch_penalty: Worth = _DEFAULT_POLICY.switch_penalty
    shortfall_price: Worth | None = _DEFAULT_POLICY.shortfall_price
    time_limit_s: Positive = _DEFAULT_POLICY.time_limit_s
    mip_gap: NonNegative = _DEFAULT_POLICY.mip_gap
    threads: Annotated[int, Field(ge=1, le=MAX_THREADS)] = _DEFAULT_POLICY.threads
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = _DEFAULT_POLICY.seed


_M = TypeVar("_M", bound=BaseModel)
_LIMIT_BOUNDS = {MAX_WORTH, MAX_PATIENCE_S, MAX_THREADS, MAX_SEED}


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _validate(
    model: type[_M],
    data: Any,
    ctx: _Context,
    locate: Callable[[tuple[str | int, ...]], _At],
) -> _M | None:
    """``model.model_validate(data)``, every error reported at its key's location."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        for err in errors:
            loc = tuple(err["loc"])
            ctx.error(locate(loc), _describe(err, _allowed_keys(model)))
    unknown = {err["loc"][0] for err in errors if err["type"] == "extra_forbidden"}
    if len(unknown) == len(errors) and isinstance(data, dict):
        # only unknown keys (already reported): go on without them to find more problems
        try:
            return model.model_validate({k: v for k, v in data.items() if k not in unknown})
        except ValidationError:
            return None
    return None


def _describe(err: Any, allowed: list[str]) -> str:
    kind = err["type"]
    context = err.get("ctx") or {}
    got = _show(err.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(str(err["loc"][-1]), allowed)
    bounds = {
        "greater_than": (">", "gt"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "less_than_equal": ("<=", "le"),
    }
    if kind in bounds:
        op, name = bounds[kind]
        bound = context.get(name)
        limit = " (optistaff's limit)" if name == "le" and bound in _LIMIT_BOUNDS else ""
        return f"must be {op} {_number_text(bound)}{limit}, got {got}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    if kind.startswith("float"):
        return f"must be a number, got {got}"
    if kind.startswith("int"):
        return f"must be a whole number, got {got}"
    if kind.startswith("bool"):
        return f"must be true or false, got {got}"
    if kind.startswith("string_too_short"):
        return "must not be empty"
    if kind.startswith("string"):
        return f"must be a string, got {got}"
    if kind.startswith("list"):
        return f"must be a list, got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, got {got}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}, got {got}"
    return f"{err['msg']}, got {got}"


def _unknown_key(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    return "unknown key" + _allowed_hint(name, allowed)


def _allowed_hint(name: str, allowed: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{hint} (allowed: {', '.join(allowed)})"


def _number_text(value: Any) -> str:
    if isinstance(value, int | float) and abs(value) >= 1e15:  # not 300 digits
        try:
            return f"{value:.6g}"
        except OverflowError:  # an int beyond any float
            return f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


# --------------------------------------------------------------------------------------
# Drafts: each file's sections, merged along the extends chain
# --------------------------------------------------------------------------------------


@dataclass
class _QueueDraft:
    at: _At  # queues.<id> where the queue was (last) defined
    fields: dict[str, Any]
    origins: dict[str, _At]  # where each field was last written
    broken: bool = False  # entry not a mapping (already reported)
    forecast_scale: float = 1.0


@dataclass
class _AgentDraft:
    model: _AgentModel
    at: _At  # agents[i] in a YAML file, or a roster CSV row


@dataclass
class _Draft:
    horizon: _HorizonModel | None = None
    horizon_at: _At | None = None
    queues: dict[str, _QueueDraft] = field(default_factory=dict)
    agents: dict[str, _AgentDraft] = field(default_factory=dict)
    pins: list[tuple[_PinModel, _At]] = field(default_factory=list)
    policy: _PolicyModel | None = None
    policy_at: _At | None = None
    given: set[str] = field(default_factory=set)  # sections present somewhere
    broken: set[str] = field(default_factory=set)  # sections with reported errors
    name: str | None = None
    description: str = ""
    root: _At | None = None


def _load_file(
    path: Path, display: str, ctx: _Context, chain: tuple[str, ...], naming: _At | None
) -> _Draft | None:
    resolved = str(path.resolve())
    if resolved in chain:
        names = [*chain[chain.index(resolved) + 1 :: 2], display]
        ctx.error(naming or _At(display), "extends cycle: " + " -> ".join(names))
        return None
    raw = ctx.read(path, display, naming)
    if raw is None:
        return None
    text = ctx.decode(raw, display)
    if text is None:
        return None
    nodes = _expanded_yaml_nodes(text) if "&" in text and "*" in text else 0
    if nodes > MAX_YAML_NODES:
        ctx.error(
            naming or _At(display),
            f"its YAML aliases expand to more than {MAX_YAML_NODES:,} values "
            "(limit MAX_YAML_NODES); write the data out instead of nesting aliases",
        )
        return None
    parsed = parse_yaml(text)
    for yp in parsed.problems:
        ctx.problems.append(Problem(display, yp.line, _format_key(yp.key), yp.message))
    source = _Source(display, path.resolve().parent, parsed.lines)
    if parsed.problems and parsed.data is None:
        return None
    return _draft_from_data(parsed.data, source, ctx, chain=(*chain, resolved, display))


def _expanded_yaml_nodes(text: str) -> int:
    """How many nodes the YAML document has once every alias is expanded (0 when it
    does not parse: the parser reports that). Linear in the document's size."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 0
    if root is None:
        return 0
    infinite = 2**62  # a node that contains itself (a recursive alias)
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # post-order without recursion: a node's size is 1 + its children's sizes
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children), infinite)
            continue
        if id(node) in open_nodes:
            return infinite
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return infinite
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes.get(id(root), 0)


def _draft_from_data(
    data: Any, source: _Source, ctx: _Context, chain: tuple[str, ...]
) -> _Draft | None:
    root = _At(source.display, (), source)
    if data is None:
        ctx.error(root, "empty scenario file (expected keys horizon, queues, agents, ...)")
        return None
    if not isinstance(data, dict):
        ctx.error(
            root, f"the top level must be a mapping of keys (horizon, ...), got {_show(data)}"
        )
        return None
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            ctx.error(root.at(key), _unknown_key(key, TOP_LEVEL_KEYS))

    draft = _Draft()
    if "extends" in data:
        written = data["extends"]
        ext_at = root.at("extends")
        if not isinstance(written, str) or not written.strip():
            ctx.error(ext_at, f"must be the path of a scenario file, got {_show(written)}")
            draft.broken.update(("horizon", "queues", "agents"))
        else:
            parent = _load_file(
                source.base_dir / written,
                _join_display(source.display, written),
                ctx,
                chain,
                ext_at,
            )
            if parent is None:
                # the parent's problems are reported; do not pile "missing" on top
                draft.broken.update(("horizon", "queues", "agents"))
            else:
                draft = parent
    elif "changes" in data:
        ctx.error(root.at("changes"), "only allowed together with 'extends'")

    draft.root = root
    draft.name = None
    draft.description = ""
    if "name" in data:
        name = data["name"]
        if isinstance(name, str) and name.strip():
            draft.name = name.strip()
        else:
            ctx.error(root.at("name"), f"must be a non-empty string, got {_show(name)}")
    if "description" in data:
        description = data["description"]
        if isinstance(description, str):
            draft.description = description.strip()
        elif description is not None:
            ctx.error(root.at("description"), f"must be a string, got {_show(description)}")

    if "horizon" in data:
        _merge_horizon(data["horizon"], root.at("horizon"), draft, ctx)
    if "queues" in data:
        _merge_queues(data["queues"], root.at("queues"), draft, ctx)
    if "agents" in data:
        draft.given.add("agents")
        entries = _parse_agent_entries(data["agents"], root.at("agents"), ctx)
        if entries is None:
            draft.broken.add("agents")
        else:
            for entry in entries:
                draft.agents[entry.model.id] = entry  # a child entry replaces wholesale
    if "pins" in data:
        _merge_pins(data["pins"], root.at("pins"), draft, ctx)
    if "policy" in data:
        draft.policy_at = root.at("policy")
        if data["policy"] is None:
            draft.policy = None
        else:
            draft.policy = _validate(
                _PolicyModel, data["policy"], ctx, lambda loc: root.at("policy", *loc)
            )
            if draft.policy is None:
                draft.broken.add("policy")
    if "changes" in data and "extends" in data:
        _apply_changes(data["changes"], root.at("changes"), draft, ctx)
    return draft


def _merge_horizon(value: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    draft.given.add("horizon")
    draft.horizon_at = at
    draft.horizon = _validate(_HorizonModel, value, ctx, _under(at))
    if draft.horizon is None:
        draft.broken.add("horizon")
    else:
        draft.broken.discard("horizon")


def _merge_queues(value: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    draft.given.add("queues")
    if not isinstance(value, dict):
        ctx.error(at, f"must be a mapping of queue id to queue, got {_show(value)}")
        draft.broken.add("queues")
        return
    if len(value) > MAX_QUEUES:
        ctx.error(
            at, f"{len(value):,} queues; optistaff plans at most {MAX_QUEUES:,} (limit MAX_QUEUES)"
        )
        draft.broken.add("queues")
        return
    for qid, entry in value.items():
        qat = at.at(qid)
        if isinstance(entry, dict):
            origins = {name: qat.at(name) for name in entry}
            draft.queues[qid] = _QueueDraft(qat, dict(entry), origins)
        else:
            ctx.error(qat, f"must be a mapping of queue fields, got {_show(entry)}")
            draft.queues[qid] = _QueueDraft(qat, {}, {}, broken=True)


def _merge_pins(value: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    draft.given.add("pins")
    draft.pins = []
    if value is None:
        return
    if not isinstance(value, list):
        ctx.error(at, f"must be a list of pins, got {_show(value)}")
        draft.broken.add("pins")
        return
    if len(value) > MAX_PINS:
        ctx.error(at, f"{len(value):,} pins; at most {MAX_PINS:,} (limit MAX_PINS)")
        draft.broken.add("pins")
        return
    for i, entry in enumerate(value):
        pat = at.at(i)
        pin = _validate(_PinModel, entry, ctx, _under(pat))
        if pin is None:
            draft.broken.add("pins")
        else:
            draft.pins.append((pin, pat))


def _parse_agent_entries(value: Any, at: _At, ctx: _Context) -> list[_AgentDraft] | None:
    """Inline agents and ``{file: roster.csv}`` entries, in order; ids unique within."""
    if not isinstance(value, list):
        ctx.error(at, f"must be a list of agents (or {{file: roster.csv}}), got {_show(value)}")
        return None
    if len(value) > MAX_AGENTS:
        ctx.error(at, _too_many_agents(len(value)))
        return None
    out: list[_AgentDraft] = []
    for i, entry in enumerate(value):
        eat = at.at(i)
        if isinstance(entry, dict) and "file" in entry:
            ref = _validate(_FileRef, entry, ctx, _under(eat))
            if ref is not None:
                roster = _read_roster(ref.file, eat.at("file"), ctx)
                if roster is None:
                    return None
                out.extend(roster)
            continue
        model = _validate(_AgentModel, entry, ctx, _under(eat))
        if model is not None:
            out.append(_AgentDraft(model, eat))
    unique: list[_AgentDraft] = []
    first: dict[str, _AgentDraft] = {}
    for entry in out:
        agent_id = entry.model.id
        if agent_id in first:
            where = first[agent_id].at
            ctx.error(
                entry.at.at("id"),
                f"duplicate agent id '{agent_id}' (first defined at {_where_text(where)})",
            )
            continue
        first[agent_id] = entry
        unique.append(entry)
    if len(unique) > MAX_AGENTS:
        ctx.error(at, _too_many_agents(len(unique)))
        return None
    return unique


def _too_many_agents(count: int) -> str:
    return (
        f"{count:,} agents; optistaff plans at most {MAX_AGENTS:,} agents per scenario "
        "(limit MAX_AGENTS); "
        "split the center into sites or shifts"
    )


def _where_text(at: _At) -> str:
    line = at.lineno()
    return at.file if line is None else f"{at.file}:{line}"


def _read_roster(written: str, at: _At, ctx: _Context) -> list[_AgentDraft] | None:
    """The roster's agents ([] after reported problems; None when it has too many)."""
    table = ctx.read_table(written, at)
    if table is None:
        return []
    header = _At(table.display, line=table.header_line)
    if len(table.rows) > MAX_AGENTS:
        ctx.error(header, _too_many_agents(len(table.rows)))
        return None
    ok = True
    for column in table.columns:
        if column not in ROSTER_COLUMNS:
            ctx.error(
                header.at(column), "unknown roster column" + _allowed_hint(column, ROSTER_COLUMNS)
            )
            ok = False
    for column in ROSTER_REQUIRED:
        if column not in table.columns:
            ctx.error(
                header.at(column), f"missing roster column (columns: {', '.join(ROSTER_COLUMNS)})"
            )
            ok = False
    if not ok:
        return []
    out: list[_AgentDraft] = []
    for line, row in table.rows:
        rat = _At(table.display, line=line)
        data: dict[str, Any] = {
            "id": row["id"],
            "skills": _split_list(row["skills"]),
            "shift": row["shift"],
        }
        if "breaks" in row:
            data["breaks"] = _split_list(row["breaks"])
        if "optional" in row:
            flag = _parse_flag(row["optional"])
            if flag is None:
                ctx.error(
                    rat.at("optional"),
                    f"must be true/false/yes/no/1/0 or empty, got {row['optional']!r}",
                )
                continue
            data["optional"] = flag
        if row.get("cost"):
            try:
                data["cost"] = float(row["cost"])
            except ValueError:
                ctx.error(rat.at("cost"), f"must be a number, got {row['cost']!r}")
                continue
        model = _validate(_AgentModel, data, ctx, _under(rat))
        if model is not None:
            out.append(_AgentDraft(model, rat))
    return out


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _parse_flag(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0", ""):
        return False
    return None


def _apply_changes(value: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        ctx.error(
            at, f"must be a mapping of changes ({', '.join(CHANGE_KINDS)}), got {_show(value)}"
        )
        return
    for kind, spec in value.items():
        cat = at.at(kind)
        if kind == "remove_agents":
            _change_remove_agents(spec, cat, draft, ctx)
        elif kind == "add_agents":
            entries = _parse_agent_entries(spec, cat, ctx)
            if entries is None:
                draft.broken.add("agents")
            for entry in entries or []:
                agent_id = entry.model.id
                if agent_id in draft.agents:
                    ctx.error(
                        entry.at.at("id"),
                        f"agent '{agent_id}' already exists "
                        f"({_where_text(draft.agents[agent_id].at)}); remove it first",
                    )
                else:
                    draft.agents[agent_id] = entry
        elif kind == "scale_forecast":
            _change_scale_forecast(spec, cat, draft, ctx)
        elif kind == "set":
            _change_set(spec, cat, draft, ctx)
        else:
            ctx.error(cat, "unknown change" + _allowed_hint(kind, CHANGE_KINDS))


def _change_remove_agents(spec: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    if not isinstance(spec, list):
        ctx.error(at, f"must be a list of agent ids, got {_show(spec)}")
        return
    for i, raw_id in enumerate(spec):
        agent_id = _id_text(raw_id)
        if not isinstance(agent_id, str) or not agent_id:
            ctx.error(at.at(i), f"must be an agent id, got {_show(raw_id)}")
            continue
        if agent_id not in draft.agents:
            ctx.error(at.at(i), f"unknown agent '{agent_id}'{_suggest(agent_id, draft.agents)}")
            continue
        del draft.agents[agent_id]
        kept = []
        for pin, pat in draft.pins:
            if pin.agent == agent_id:
                ctx.warn(
                    at.at(i),
                    f"agent '{agent_id}' removed: pin {pin.from_}-{pin.to} "
                    f"({_where_text(pat)}) dropped",
                )
            else:
                kept.append((pin, pat))
        draft.pins = kept


def _suggest(name: str, known: Mapping[str, Any] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _change_scale_forecast(spec: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    if not isinstance(spec, dict):
        ctx.error(at, f"must be a mapping of queue id to factor, got {_show(spec)}")
        return
    for qid, factor in spec.items():
        fat = at.at(qid)
        if qid not in draft.queues:
            ctx.error(fat, f"unknown queue '{qid}'{_suggest(qid, draft.queues)}")
        elif not _is_number(factor) or not _finite(factor):
            ctx.error(fat, f"must be a finite number, got {_show(factor)}")
        elif factor < 0:
            ctx.error(fat, f"must be >= 0, got {_show(factor)}")
        else:
            draft.queues[qid].forecast_scale *= float(factor)


def _change_set(spec: Any, at: _At, draft: _Draft, ctx: _Context) -> None:
    if not isinstance(spec, dict):
        ctx.error(at, f"must be a mapping of queue id to {{field: value}}, got {_show(spec)}")
        return
    for qid, fields in spec.items():
        qat = at.at(qid)
        if qid not in draft.queues:
            ctx.error(qat, f"unknown queue '{qid}'{_suggest(qid, draft.queues)}")
            continue
        if not isinstance(fields, dict):
            ctx.error(qat, f"must be a mapping of queue fields, got {_show(fields)}")
            continue
        queue = draft.queues[qid]
        for name, new in fields.items():
            queue.fields[name] = new
            queue.origins[name] = qat.at(name)
            if name == "forecast":
                queue.forecast_scale = 1.0


# --------------------------------------------------------------------------------------
# Resolution: the merged draft against the horizon → Scenario
# --------------------------------------------------------------------------------------


def _finish(
    draft: _Draft | None, ctx: _Context, *, default_name: str, source: Path | None
) -> Scenario | None:
    if draft is None or draft.root is None:
        return None
    root = draft.root
    for section in ("horizon", "queues", "agents"):
        if section not in draft.given and section not in draft.broken:
            ctx.error(root, f"required key '{section}' is missing")
    horizon = None
    if draft.horizon is not None and draft.horizon_at is not None:
        horizon = _resolve_horizon(draft.horizon, draft.horizon_at, ctx)

    queues: list[Queue] = []
    if len(draft.queues) > MAX_QUEUES:  # after extends / changes
        ctx.error(
            root.at("queues"),
            f"{len(draft.queues):,} queues; optistaff plans at most {MAX_QUEUES:,} "
            "(limit MAX_QUEUES)",
        )
        draft.queues = {}
        draft.broken.add("queues")
    if len(draft.agents) > MAX_AGENTS:  # after extends / changes
        ctx.error(root.at("agents"), _too_many_agents(len(draft.agents)))
        draft.agents = {}
        draft.broken.add("agents")
    if horizon is not None and len(draft.agents) * horizon.intervals > MAX_AGENT_INTERVALS:
        ctx.error(
            root.at("agents"),
            f"{len(draft.agents):,} agents × {horizon.intervals:,} intervals = "
            f"{len(draft.agents) * horizon.intervals:,} agent-intervals; at most "
            f"{MAX_AGENT_INTERVALS:,} (limit MAX_AGENT_INTERVALS). Shorten the horizon, use "
            "longer intervals, or split the agents into sites",
        )
        draft.agents = {}
        draft.broken.add("agents")
    queue_ids = set(draft.queues)
    if "queues" in draft.given and not draft.queues and "queues" not in draft.broken:
        ctx.error(root.at("queues"), "must define at least one queue")
    for qid, qdraft in draft.queues.items():
        queue = _resolve_queue(qid, qdraft, horizon, ctx)
        if queue is not None:
            queues.append(queue)
    queues_known = "queues" not in draft.broken

    if "agents" in draft.given and not draft.agents and "agents" not in draft.broken:
        ctx.error(root.at("agents"), "must list at least one agent")
    agents: dict[str, Agent] = {}
    dropped: set[str] = set()  # no available interval (a warning)
    for agent_id, adraft in draft.agents.items():
        agent = _resolve_agent(adraft, queue_ids if queues_known else None, horizon, ctx)
        if agent is None:
            continue
        if agent.available_intervals == 0:
            assert horizon is not None
            ctx.warn(
                adraft.at,
                f"agent '{agent_id}' has no available interval in the horizon "
                f"{horizon.label(0)} to {horizon.end:%Y-%m-%d %H:%M} "
                f"(shift {agent.shift}): ignored",
            )
            dropped.add(agent_id)
            continue
        agents[agent_id] = agent

    pins = _resolve_pins(draft, horizon, agents, dropped, queue_ids, queues_known, ctx)

    policy = Policy()
    if draft.policy is not None:
        p = draft.policy
        policy = Policy(
            objective=p.objective,
            switch_penalty=p.switch_penalty,
            shortfall_price=p.shortfall_price,
            time_limit_s=p.time_limit_s,
            mip_gap=p.mip_gap,
            threads=p.threads,
            seed=p.seed,
        )
        if p.objective == "served" and queues_known:
            lacking = [qid for qid, q in draft.queues.items() if q.fields.get("patience_s") is None]
            if lacking:
                assert draft.policy_at is not None
                ctx.error(
                    draft.policy_at.at("objective"),
                    "'served' needs patience_s on every queue (Erlang A); "
                    f"missing on: {', '.join(lacking)}",
                )

    if ctx.n_errors or horizon is None:
        return None
    if not _check_size(horizon, queues, list(agents.values()), root, ctx):
        return None
    return Scenario(
        name=draft.name or default_name,
        horizon=horizon,
        queues=tuple(queues),
        agents=tuple(agents.values()),
        pins=tuple(pins),
        policy=policy,
        description=draft.description,
        source=source,
        warnings=tuple(str(p) for p in ctx.problems if p.severity == "warning"),
    )


def _check_size(
    horizon: Horizon, queues: list[Queue], agents: list[Agent], at: _At, ctx: _Context
) -> bool:
    """The staffing tables the formulation builds must fit (limit MAX_TABLE_ENTRIES):
    Σ_q (intervals with calls) × (most agents able to work q in one interval + 1)."""
    if not queues or not agents:
        return True
    index = {q.id: i for i, q in enumerate(queues)}
    # float64, not int: numpy multiplies floats with BLAS (~10x faster), and these
    # sums of at most MAX_AGENTS ones are exact in a float
    skills = np.zeros((len(agents), len(queues)))
    for a, agent in enumerate(agents):
        for skill in agent.skills:
            skills[a, index[skill]] = 1
    available = np.array([agent.available for agent in agents], dtype=np.float64)
    # (queue, interval) -> agents able to work there
    eligible = (skills.T @ available).astype(np.int64)
    with_calls = np.array([[c > 0 for c in q.forecast] for q in queues], dtype=bool)
    top = np.where(with_calls, eligible, 0).max(axis=1)
    if int(top.max()) > MAX_CELL_AGENTS:
        worst = int(top.argmax())
        ctx.error(
            at,
            f"{int(top[worst]):,} agents can work queue {queues[worst].id!r} in one "
            f"interval; at most {MAX_CELL_AGENTS:,} (limit MAX_CELL_AGENTS: the queueing "
            "tables are exact up to 5,000 agents on one queue). Split the queue or the site",
        )
        return False
    entries = int((with_calls.sum(axis=1) * (top + 1)).sum())
    if entries <= MAX_TABLE_ENTRIES:
        return True
    ctx.error(
        at,
        f"too large to solve: {entries:,} staffing table entries (for each queue, the "
        "intervals with calls × the most agents able to work it in one interval); "
        f"at most {MAX_TABLE_ENTRIES:,} (limit MAX_TABLE_ENTRIES). Shorten the horizon, "
        "use longer intervals, or split the agents into sites",
    )
    return False


_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    if not _DATETIME_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _parse_clock(text: str, *, allow_24: bool = False) -> int | None:
    """Minutes after midnight of ``HH:MM`` (``24:00`` → 1440 when allowed)."""
    match = _CLOCK_RE.match(text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        return None
    return hours * 60 + minutes


@functools.lru_cache(maxsize=4096)  # a roster repeats a few shift and break texts
def _parse_range(text: str) -> tuple[int, int] | None:
    """``HH:MM-HH:MM`` → (start minute, length in minutes); end <= start crosses midnight."""
    parts = text.split("-")
    if len(parts) != 2:
        return None
    start = _parse_clock(parts[0])
    end = _parse_clock(parts[1], allow_24=True)
    if start is None or end is None:
        return None
    length = (end - start) % _DAY or _DAY
    return start, length


def _resolve_horizon(model: _HorizonModel, at: _At, ctx: _Context) -> Horizon | None:
    ok = True
    start = _parse_datetime(model.start)
    if start is None:
        ctx.error(at.at("start"), f"must be 'YYYY-MM-DD HH:MM', got {model.start!r}")
        ok = False
    elif start.second or start.microsecond:
        ctx.error(at.at("start"), f"must be a whole minute, got {model.start!r}")
        ok = False
    minutes = model.interval_minutes
    if minutes not in ALLOWED_INTERVAL_MINUTES:
        allowed = ", ".join(str(m) for m in ALLOWED_INTERVAL_MINUTES)
        ctx.error(at.at("interval_minutes"), f"must be one of {allowed}, got {minutes}")
        ok = False
    if (model.end is None) == (model.intervals is None):
        ctx.error(at, "give exactly one of 'end' (exclusive) or 'intervals'")
        return None
    if not ok or start is None:
        return None
    if model.end is not None:
        end = _parse_datetime(model.end)
        if end is None:
            ctx.error(at.at("end"), f"must be 'YYYY-MM-DD HH:MM', got {model.end!r}")
            return None
        if end <= start:
            ctx.error(at.at("end"), f"must be after start ({model.start}), got {model.end!r}")
            return None
        span = (end - start) / timedelta(minutes=1)
        if span % minutes:
            ctx.error(
                at.at("end"),
                f"the horizon ({span:g} minutes) must be a whole number of "
                f"{minutes}-minute intervals",
            )
            return None
        intervals = int(span // minutes)
        key = "end"
    else:
        assert model.intervals is not None
        intervals = model.intervals
        key = "intervals"
    if intervals * minutes > MAX_HORIZON_MINUTES:
        ctx.error(
            at.at(key),
            f"the horizon may be at most 7 days ({MAX_HORIZON_MINUTES // minutes} intervals "
            f"of {minutes} minutes), got {intervals} intervals",
        )
        return None
    return Horizon(start=start, interval_minutes=minutes, intervals=intervals)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: float) -> bool:
    """math.isfinite, but an int beyond any float (YAML reads 1000...0 as one) is not
    finite either, instead of raising OverflowError."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_number(value: Any, at: _At, ctx: _Context, *, positive: bool) -> float | None:
    if not _is_number(value):
        ctx.error(at, f"must be a number, got {_show(value)}")
        return None
    if not _finite(value):
        ctx.error(at, f"must be a finite number, got {_show(value)}")
        return None
    if positive and value <= 0:
        ctx.error(at, f"must be > 0, got {_show(value)}")
        return None
    if value < 0:
        ctx.error(at, f"must be >= 0, got {_show(value)}")
        return None
    return float(value)


def _per_interval(
    value: Any,
    at: _At,
    horizon: Horizon,
    ctx: _Context,
    *,
    positive: bool,
    scalar_ok: bool,
) -> tuple[float, ...] | None:
    """A scalar, a list (one per interval) or ``{file, column}`` → T floats."""
    T = horizon.intervals
    if _is_number(value) and scalar_ok:
        number = _check_number(value, at, ctx, positive=positive)
        return None if number is None else (number,) * T
    if isinstance(value, list):
        if len(value) != T:
            ctx.error(
                at,
                f"must have one value per interval ({T}), got {len(value)} values",
            )
            return None
        numbers = [_check_number(v, at.at(i), ctx, positive=positive) for i, v in enumerate(value)]
        if any(n is None for n in numbers):
            return None
        return tuple(n for n in numbers if n is not None)
    if isinstance(value, dict):
        ref = _validate(_ColumnRef, value, ctx, _under(at))
        if ref is None:
            return None
        return _column_values(ref, at, horizon, ctx, positive=positive)
    shapes = "a number, " if scalar_ok else ""
    ctx.error(
        at, f"must be {shapes}a list (one per interval) or {{file, column}}, got {_show(value)}"
    )
    return None


def _column_values(
    ref: _ColumnRef, at: _At, horizon: Horizon, ctx: _Context, *, positive: bool
) -> tuple[float, ...] | None:
    table = ctx.read_table(ref.file, at.at("file"))
    if table is None:
        return None
    if "interval_start" not in table.columns:
        ctx.error(
            _At(table.display, ("interval_start",), line=table.header_line),
            f"missing column (columns: {', '.join(table.columns)})",
        )
        return None
    if ref.column not in table.columns or ref.column == "interval_start":
        ctx.error(
            at.at("column"),
            f"no column '{ref.column}' in {table.display}{_suggest(ref.column, table.columns)} "
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
        cat = _At(table.display, (ref.column,), line=line)
        text = row[ref.column]
        try:
            number = float(text)
        except ValueError:
            ctx.error(cat, f"must be a number, got {text!r}")
            ok = False
            continue
        checked = _check_number(number, cat, ctx, positive=positive)
        if checked is None:
            ok = False
        else:
            values.append(checked)
    return tuple(values) if ok else None


def _check_alignment(table: _Table, horizon: Horizon, ctx: _Context) -> bool:
    """Rows' ``interval_start`` must be exactly the horizon's intervals, in order."""
    T = horizon.intervals
    for i, (line, row) in enumerate(table.rows):
        at = _At(table.display, ("interval_start",), line=line)
        text = row["interval_start"]
        when = _parse_datetime(text)
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
            _At(table.display, ("interval_start",), line=last),
            f"missing rows: {len(table.rows)} rows for {T} intervals; first missing "
            f"interval_start {horizon.label(len(table.rows))}",
        )
        return False
    return True


def _resolve_queue(
    qid: str, draft: _QueueDraft, horizon: Horizon | None, ctx: _Context
) -> Queue | None:
    if draft.broken:
        return None
    ok = True
    if not qid.strip() or ";" in qid:
        ctx.error(draft.at, f"queue id must be a non-empty name without ';', got {qid!r}")
        ok = False
    elif qid != qid.strip():  # skills and CSV cells naming it are read stripped
        ctx.error(draft.at, f"queue id must not begin or end with spaces, got {qid!r}")
        ok = False

    def locate(loc: tuple[str | int, ...]) -> _At:
        if loc and loc[0] in draft.origins:
            return draft.origins[str(loc[0])].at(*loc[1:])
        return draft.at.at(*loc)

    model = _validate(_QueueModel, draft.fields, ctx, locate)
    if model is None:
        return None
    if model.max_abandon_rate is not None and model.patience_s is None:
        ctx.error(
            locate(("max_abandon_rate",)),
            "needs patience_s (only an Erlang A queue has abandonment); "
            "add patience_s or remove max_abandon_rate",
        )
        ok = False
    if horizon is None:
        return None
    aht = _per_interval(
        model.aht_s, locate(("aht_s",)), horizon, ctx, positive=True, scalar_ok=True
    )
    forecast = _per_interval(
        model.forecast, locate(("forecast",)), horizon, ctx, positive=False, scalar_ok=False
    )
    if aht is None or forecast is None or not ok:
        return None
    if draft.forecast_scale != 1.0:
        forecast = tuple(v * draft.forecast_scale for v in forecast)
    if not _check_load(forecast, aht, locate(("forecast",)), locate(("aht_s",)), horizon, ctx):
        return None
    return Queue(
        id=qid,
        value=model.value,
        aht_s=aht,
        answer_within_s=model.answer_within_s,
        forecast=forecast,
        patience_s=model.patience_s,
        min_service_level=model.min_service_level,
        daily_service_level=model.daily_service_level,
        max_abandon_rate=model.max_abandon_rate,
        max_occupancy=model.max_occupancy,
        shortfall_weight=model.shortfall_weight,
    )


def _check_load(
    forecast: tuple[float, ...],
    aht: tuple[float, ...],
    at: _At,
    aht_at: _At,
    horizon: Horizon,
    ctx: _Context,
) -> bool:
    """Calls per interval 0 or MIN_CALLS … MAX_CALLS, AHT MIN_AHT_S … MAX_AHT_S, offered load
    λ·h/Δ at most MAX_OFFERED_LOAD Erlangs; one problem per kind, naming the first interval."""
    checks: list[tuple[_At, Callable[[int], bool], Callable[[int], str]]] = [
        (
            at,
            lambda t: not math.isfinite(forecast[t]),
            lambda t: f"must be a finite number of calls, got {_show(forecast[t])}",
        ),
        (
            at,
            lambda t: forecast[t] > MAX_CALLS,
            lambda t: (
                f"{forecast[t]:,.6g} calls; at most {MAX_CALLS:,.0f} per interval (limit MAX_CALLS)"
            ),
        ),
        (
            at,
            lambda t: 0 < forecast[t] < MIN_CALLS,
            lambda t: (
                f"{forecast[t]:.3g} calls; write 0, or at least {MIN_CALLS:g} (limit MIN_CALLS)"
            ),
        ),
        (
            aht_at,
            lambda t: aht[t] < MIN_AHT_S,
            lambda t: (
                f"aht_s {aht[t]:.6g}; at least {MIN_AHT_S:g} s (limit MIN_AHT_S: a handle "
                "time under a second is a unit mistake)"
            ),
        ),
        (
            aht_at,
            lambda t: aht[t] > MAX_AHT_S,
            lambda t: f"aht_s {aht[t]:,.6g}; at most {MAX_AHT_S:,.0f} s, a day (limit MAX_AHT_S)",
        ),
        (
            at,
            lambda t: forecast[t] * aht[t] / horizon.interval_s > MAX_OFFERED_LOAD,
            lambda t: (
                f"offered load {forecast[t] * aht[t] / horizon.interval_s:,.6g} "
                f"Erlangs (calls × aht_s / interval); at most {MAX_OFFERED_LOAD:,.0f} "
                "(limit MAX_OFFERED_LOAD: the queueing formulas are exact up to 5,000)"
            ),
        ),
    ]
    for where, bad, message in checks:
        hits = [t for t in range(horizon.intervals) if bad(t)]
        if hits:
            more = f" (and {len(hits) - 1} more intervals)" if len(hits) > 1 else ""
            ctx.error(where, f"interval {horizon.label(hits[0])}: {message(hits[0])}{more}")
            return False  # one problem per queue: the first kind found
    return True


def _shift_offset(start_minute: int, length: int, horizon: Horizon) -> int:
    """Minutes from the horizon start to the start of the first occurrence of the shift
    that has not ended by the horizon start (negative: already in progress then)."""
    begin = start_minute - (horizon.start.hour * 60 + horizon.start.minute) - _DAY
    while begin + length <= 0:
        begin += _DAY
    return begin


def _resolve_agent(
    draft: _AgentDraft, queue_ids: set[str] | None, horizon: Horizon | None, ctx: _Context
) -> Agent | None:
    model, at = draft.model, draft.at
    ok = True
    if not model.skills:
        ctx.error(at.at("skills"), "must name at least one queue")
        ok = False
    seen: set[str] = set()
    for i, skill in enumerate(model.skills):
        if skill in seen:
            ctx.error(at.at("skills", i), f"queue '{skill}' listed twice")
            ok = False
        seen.add(skill)
        if queue_ids is not None and skill not in queue_ids:
            ctx.error(
                at.at("skills", i),
                f"unknown queue '{skill}'{_suggest(skill, sorted(queue_ids))} "
                f"(queues: {', '.join(sorted(queue_ids))})",
            )
            ok = False
    if model.cost and not model.optional:
        ctx.error(
            at.at("cost"),
            "only optional agents have a cost (paid when called in); "
            "set optional: true or remove the cost",
        )
        ok = False
    shift = _parse_range(model.shift)
    if shift is None:
        ctx.error(at.at("shift"), f"must be 'HH:MM-HH:MM', got {model.shift!r}")
        ok = False
    breaks: list[tuple[int, int, int]] = []  # (index, start minute, length)
    for i, text in enumerate(model.breaks):
        parsed = _parse_range(text)
        if parsed is None:
            ctx.error(at.at("breaks", i), f"must be 'HH:MM-HH:MM', got {text!r}")
            ok = False
        else:
            breaks.append((i, *parsed))
    if shift is None or horizon is None:
        return None
    # Times in minutes after the horizon start (all whole minutes); interval t is
    # [t * step, (t + 1) * step).
    shift_start = _shift_offset(shift[0], shift[1], horizon)
    shift_end = shift_start + shift[1]
    break_windows: list[tuple[int, int]] = []
    for i, minute, length in breaks:
        b_start = shift_start + (minute - shift[0]) % _DAY
        b_end = b_start + length
        if b_end > shift_end or length >= _DAY:
            ctx.error(
                at.at("breaks", i),
                f"break {model.breaks[i]} is not inside the shift {model.shift}",
            )
            ok = False
        break_windows.append((b_start, b_end))
    if not ok:
        return None
    step, intervals = horizon.interval_minutes, horizon.intervals
    available = [False] * intervals
    # the intervals wholly inside the shift (-(-a // b) is a rounded up a / b) ...
    for t in range(max(-(-shift_start // step), 0), min(shift_end // step, intervals)):
        available[t] = True
    # ... less every interval a break overlaps
    for b_start, b_end in break_windows:
        for t in range(max(b_start // step, 0), min(-(-b_end // step), intervals)):
            available[t] = False
    return Agent(
        id=model.id,
        skills=tuple(model.skills),
        shift=model.shift.strip(),
        available=tuple(available),
        breaks=tuple(b.strip() for b in model.breaks),
        optional=model.optional,
        cost=model.cost,
    )


def _resolve_pins(
    draft: _Draft,
    horizon: Horizon | None,
    agents: Mapping[str, Agent],
    dropped: set[str],
    queue_ids: set[str],
    queues_known: bool,
    ctx: _Context,
) -> list[Pin]:
    pins: list[Pin] = []
    taken: dict[tuple[str, int], tuple[str | None, _At]] = {}
    all_agents = draft.agents
    for pin, at in draft.pins:
        ok = True
        if pin.agent not in all_agents:
            if "agents" not in draft.broken:
                ctx.error(
                    at.at("agent"), f"unknown agent '{pin.agent}'{_suggest(pin.agent, all_agents)}"
                )
            continue
        if pin.queue is not None:
            if queues_known and pin.queue not in queue_ids:
                ctx.error(at.at("queue"), f"unknown queue '{pin.queue}'")
                ok = False
            elif pin.queue not in all_agents[pin.agent].model.skills:
                skills = ", ".join(all_agents[pin.agent].model.skills)
                ctx.error(
                    at.at("queue"),
                    f"agent '{pin.agent}' is not skilled for '{pin.queue}' (skills: {skills})",
                )
                ok = False
        start_minute = _parse_clock(pin.from_)
        end_minute = _parse_clock(pin.to, allow_24=True)
        if start_minute is None:
            ctx.error(at.at("from"), f"must be a clock time 'HH:MM', got {pin.from_!r}")
            ok = False
        if end_minute is None:
            ctx.error(at.at("to"), f"must be a clock time 'HH:MM', got {pin.to!r}")
            ok = False
        if horizon is None or start_minute is None or end_minute is None:
            continue
        if start_minute == end_minute % _DAY:
            ctx.error(at, f"empty range: from {pin.from_} to {pin.to}")
            continue
        day0 = horizon.start.replace(hour=0, minute=0)
        begin = day0 + timedelta(minutes=start_minute)
        if begin < horizon.start:
            begin += timedelta(days=1)
        end = begin + timedelta(minutes=(end_minute - start_minute) % _DAY)
        step_min = horizon.interval_minutes
        first = (begin - horizon.start) / timedelta(minutes=1)
        last = (end - horizon.start) / timedelta(minutes=1)
        for key, offset, text in (("from", first, pin.from_), ("to", last, pin.to)):
            if offset % step_min:
                ctx.error(
                    at.at(key),
                    f"{text} is not an interval boundary ({step_min}-minute intervals "
                    f"from {horizon.start:%H:%M})",
                )
                ok = False
        if not ok:
            continue
        start_t, end_t = int(first // step_min), int(last // step_min)
        if end_t > horizon.intervals:
            ctx.error(
                at,
                f"{pin.from_}-{pin.to} runs past the end of the horizon "
                f"({horizon.end:%Y-%m-%d %H:%M})",
            )
            continue
        agent = agents.get(pin.agent)
        if agent is None and pin.agent not in dropped:
            continue  # the agent's own problems are reported
        missing = [t for t in range(start_t, end_t) if agent is None or not agent.available[t]]
        if missing:
            labels = ", ".join(horizon.interval_start(t).strftime("%H:%M") for t in missing[:4])
            more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
            ctx.error(
                at,
                f"agent '{pin.agent}' is not available (break or outside shift) in the "
                f"interval(s) starting {labels}{more}",
            )
            continue
        conflict = False
        for t in range(start_t, end_t):
            previous = taken.get((pin.agent, t))
            if previous is not None and previous[0] != pin.queue:
                ctx.error(
                    at,
                    f"contradicts the pin at {_where_text(previous[1])}: agent '{pin.agent}' "
                    f"in interval {horizon.label(t)} pinned to "
                    f"{previous[0] or 'unassigned'} and to {pin.queue or 'unassigned'}",
                )
                conflict = True
                break
            taken[(pin.agent, t)] = (pin.queue, at)
        if conflict:
            continue
        pins.append(Pin(pin.agent, pin.queue, start_t, end_t, pin.from_.strip(), pin.to.strip()))
    return pins
