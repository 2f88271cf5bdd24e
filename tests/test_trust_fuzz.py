"""Fuzzing the front door: mutated scenarios and side files either load or raise a
ScenarioError whose every problem names a file of the scenario; nothing else escapes.

The mutations start from a small valid scenario that uses every part of the format
(``extends`` + ``changes``, a roster CSV, a forecast CSV with an AHT column, inline
agents, pins, policy) and break it the way hand-edited YAML and exported CSV break:
wrong types, missing and extra keys, NaN/inf, huge and negative numbers, empty lists,
unicode ids, BOM, CRLF, stray whitespace, duplicate columns, dates that do not parse,
intervals that do not divide the horizon, truncated files, invalid UTF-8.

Runs are derandomized (the same cases every run, so CI is reproducible) and sized by
``OPTISTAFF_FUZZ_SCALE`` (default 1: about 3,100 cases, roughly 30 s on 2 cores; set
e.g. 10 locally for a deeper search, and ``OPTISTAFF_FUZZ_RANDOM=1`` for fresh cases).
"""

from __future__ import annotations

import copy
import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optistaff
from optistaff.errors import ScenarioError
from optistaff.loading import load_scenario, scenario_from_dict
from optistaff.scenario import Scenario

SCALE = float(os.environ.get("OPTISTAFF_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("OPTISTAFF_FUZZ_RANDOM") == "1"
COUNTS: dict[str, int] = {}


def _settings(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=timedelta(seconds=10),  # a hang guard, not a timing test
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
        ],
    )


# -- the valid starting point ----------------------------------------------------------

HORIZON = {"start": "2026-11-23 08:00", "interval_minutes": 30, "intervals": 8}
STARTS = [f"2026-11-23 {8 + i // 2:02d}:{30 * (i % 2):02d}" for i in range(8)]
PARENT: dict[str, Any] = {
    "name": "base",
    "horizon": HORIZON,
    "queues": {
        "platinum": {
            "value": 10,
            "aht_s": {"file": "forecast.csv", "column": "platinum_aht_s"},
            "answer_within_s": 20,
            "patience_s": 120,
            "min_service_level": 0.8,
            "max_abandon_rate": 0.1,
            "forecast": {"file": "forecast.csv", "column": "platinum"},
        },
        "gold": {
            "value": 6,
            "aht_s": [360, 360, 340, 340, 360, 360, 380, 380],
            "answer_within_s": 30,
            "min_service_level": 0.7,
            "daily_service_level": 0.75,
            "max_occupancy": 0.9,
            "forecast": [8, 10, 13, 15, 15, 13, 10, 8],
        },
    },
    "agents": [
        {"id": "michelle", "skills": ["platinum", "gold"], "shift": "08:00-12:00"},
        {"file": "roster.csv"},
    ],
    "pins": [{"agent": "michelle", "queue": "gold", "from": "09:00", "to": "10:00"}],
    "policy": {"switch_penalty": 0.1, "time_limit_s": 5, "threads": 1, "seed": 0},
}
CHILD: dict[str, Any] = {
    "name": "child",
    "description": "the base day with one agent off sick and more platinum calls",
    "extends": "base.yaml",
    "changes": {
        "remove_agents": ["pete"],
        "add_agents": [
            {"id": "ot-1", "skills": ["gold"], "shift": "10:00-12:00", "optional": True, "cost": 5}
        ],
        "scale_forecast": {"platinum": 1.1},
        "set": {"gold": {"shortfall_weight": 8}},
    },
    "policy": {"objective": "within_target", "switch_penalty": 0.2, "mip_gap": 1e-6},
}
ROSTER = (
    "id,skills,shift,breaks,optional,cost\n"
    "paul,platinum,08:00-12:00,,,\n"
    "priya,platinum,08:00-12:00,10:30-11:00,no,\n"
    "pete,platinum;gold,08:00-12:00,,,\n"
    "gina,gold,08:00-12:00,09:30-10:00,,\n"
    "ot-2,platinum,10:00-12:00,,yes,4.5\n"
)
FORECAST = "interval_start,platinum,platinum_aht_s,unused\n" + "".join(
    f"{start},{calls},{aht},x\n"
    for start, calls, aht in zip(
        STARTS,
        [14, 18, 22, 26, 26, 22, 18, 14],
        [300, 300, 310, 320, 320, 310, 300, 300],
        strict=True,
    )
)
CHILD_NO_SCALE = {k: v for k, v in CHILD.items() if k != "changes"}
FILES = ("scenario.yaml", "base.yaml", "roster.csv", "forecast.csv")


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _write(
    directory: Path,
    child: Any = CHILD,
    parent: Any = PARENT,
    roster: str | bytes = ROSTER,
    forecast: str | bytes = FORECAST,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (
        ("scenario.yaml", child if isinstance(child, str | bytes) else _dump(child)),
        ("base.yaml", parent if isinstance(parent, str | bytes) else _dump(parent)),
        ("roster.csv", roster),
        ("forecast.csv", forecast),
    ):
        data = content.encode() if isinstance(content, str) else content
        (directory / name).write_bytes(data)
    return directory / "scenario.yaml"


def _check(path: Path, kind: str) -> Scenario | None:
    """Load; either a sane Scenario or a ScenarioError whose problems name our files."""
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert Path(problem.file).name in FILES, problem
            assert problem.message, problem
            assert problem.line is None or problem.line >= 1, problem
            str(problem)  # formatting never fails
        return None
    COUNTS[kind + " loaded"] = COUNTS.get(kind + " loaded", 0) + 1
    _assert_sane(scenario)
    return scenario


def _assert_sane(scenario: Scenario) -> None:
    """What the rest of optistaff trusts about a loaded scenario."""
    T = scenario.horizon.intervals
    assert 1 <= T <= 7 * 24 * 12
    assert scenario.queues and scenario.agents
    for q in scenario.queues:
        assert len(q.forecast) == T and len(q.aht_s) == T
        assert all(math.isfinite(x) and x >= 0 for x in q.forecast), q
        assert all(math.isfinite(x) and x > 0 for x in q.aht_s), q
        for value in (q.value, q.answer_within_s, q.weight):
            assert math.isfinite(value) and value >= 0
    ids = [a.id for a in scenario.agents]
    assert len(ids) == len(set(ids))
    for a in scenario.agents:
        assert len(a.available) == T and any(a.available)
        assert set(a.skills) <= set(scenario.queue_ids)
    # the resolved scenario round-trips (it is what a plan's scenario.yaml holds)
    again = scenario_from_dict(scenario.to_dict())
    assert again.content_hash() == scenario.content_hash()
    assert scenario.input_hash is not None and scenario.input_hash.startswith("sha256:")


def test_the_starting_point_is_valid(tmp_path: Path) -> None:
    scenario = _check(_write(tmp_path), "baseline")
    assert scenario is not None
    assert {a.id for a in scenario.agents} == {"michelle", "paul", "priya", "gina", "ot-1", "ot-2"}


# -- strategies --------------------------------------------------------------------------

TEXTS = st.sampled_from(
    [
        "", " ", "x", "platinum", "gold", " gold ", "Platinum", "platinum;gold", "ünïcödé-ağent",
        "山田", "\u200b", "\ufeffid", "null", "~", "yes", "NaN", "nan", "inf", "-inf", "1e309",
        "-1", "0", "1e-300", "08:00", "25:00", "08:00-", "08:00-12:00", "12:00-08:00",
        "24:00", "8:0", "08:00-12:00-13:00", "2026-11-23 08:00", "2026-02-30 08:00",
        "2026-13-45 99:99", "2026-11-23T08:00", "23/11/2026 08:00", "2026-11-23 08:07",
        "base.yaml", "scenario.yaml", "roster.csv", "forecast.csv", "../forecast.csv", "/",
        "nope.csv", "\t", "a\nb", "x" * 300,
    ]
)  # fmt: skip
NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 7, 45, 1440, 10**9, 10**30, -(10**30), 10**400]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 5e-324, 0.5, 0.999999, 1.0000001]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS, st.text(max_size=12))
GARBAGE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(TEXTS, st.text(max_size=6)), inner, max_size=3),
    ),
    max_leaves=8,
)
EXTRA_KEYS = st.sampled_from(
    ["extra", "file", "column", "changes", "extends", "Value", "aht", "skill", "from", "id"]
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """1-4 edits at random key paths: replace, delete, add a key, empty, duplicate."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "other"]))
        if action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(EXTRA_KEYS)] = draw(GARBAGE)
        elif action == "other":
            value = parent[key]
            if isinstance(value, list):
                parent[key] = draw(st.sampled_from([[], value + value, value[:1], value[::-1]]))
            elif isinstance(value, dict):
                parent[key] = draw(st.sampled_from([{}, None, [value], {**value, **value}]))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                bigger = value * 10**9 if isinstance(value, int) else value * 1e9
                parent[key] = draw(st.sampled_from([-value, bigger, str(value), [value]]))
            else:
                parent[key] = draw(GARBAGE)
        else:
            parent[key] = draw(GARBAGE)
    return data


def _mangle_text(draw: st.DrawFn, text: str, *, csv: bool) -> bytes:
    """Text-level damage: BOM, CRLF, whitespace, lines dropped / doubled / swapped,
    cells replaced, duplicate columns, truncation, invalid UTF-8."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["cell", "cell", "cell", "line", "dupcol", "space", "truncate", "bytes", "blank"]
                if csv
                else ["space", "line", "truncate", "bytes", "blank", "tab", "indent"]
            )
        )
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [""]
        if kind == "cell":
            cells = lines[i].split(",")
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(
                st.one_of(
                    TEXTS.map(lambda s: s.replace("\n", " ")),
                    NUMBERS.map(str),
                    st.sampled_from(['"a,b"', '"unterminated', "1,2", ""]),
                )
            )
            lines[i] = ",".join(cells)
        elif kind == "line":
            op = draw(st.sampled_from(["drop", "double", "swap", "empty"]))
            if op == "drop":
                del lines[i]
            elif op == "double":
                lines.insert(i, lines[i])
            elif op == "swap" and i + 1 < len(lines):
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            else:
                lines[i] = ""
        elif kind == "dupcol":
            header = lines[0].split(",")
            header[draw(st.integers(0, len(header) - 1))] = draw(st.sampled_from(header))
            lines[0] = ",".join(header)
        elif kind == "space":
            lines[i] = draw(st.sampled_from([" ", "  ", "\t"])) + lines[i] + " "
        elif kind == "tab":
            lines[i] = lines[i].replace("  ", "\t", 1)
        elif kind == "indent":
            lines[i] = " " + lines[i]
        elif kind == "truncate":
            lines = lines[:i]
        elif kind == "blank":
            lines.insert(i, "")
        elif kind == "bytes":
            lines[i] += "\udcff"  # becomes an invalid byte below
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    body = newline.join(lines) + draw(st.sampled_from(["", newline]))
    data = body.encode("utf-8", errors="surrogateescape")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # a BOM, as spreadsheets write it
    return data


@st.composite
def mangled_csvs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    roster, forecast = ROSTER.encode(), FORECAST.encode()
    which = draw(st.sampled_from(["roster", "forecast", "both"]))
    if which in ("roster", "both"):
        roster = _mangle_text(draw, ROSTER, csv=True)
    if which in ("forecast", "both"):
        forecast = _mangle_text(draw, FORECAST, csv=True)
    return roster, forecast


@st.composite
def horizons(draw: st.DrawFn) -> dict[str, Any]:
    """Horizons whose intervals may not divide the span, start at odd minutes, or be huge."""
    horizon: dict[str, Any] = {
        "start": draw(
            st.one_of(
                st.just("2026-11-23 08:00"),
                st.builds(
                    "2026-11-{:02d} {:02d}:{:02d}".format,
                    st.integers(1, 30),
                    st.integers(0, 23),
                    st.sampled_from([0, 15, 30, 45, 7]),
                ),
                st.builds(
                    "2026-11-{:02d} {:02d}:{:02d}".format,
                    st.integers(0, 32),
                    st.integers(0, 25),
                    st.integers(0, 61),
                ),
                TEXTS,
            )
        ),
        "interval_minutes": draw(
            st.one_of(
                st.sampled_from([5, 10, 15, 20, 30, 60]),
                st.sampled_from([5, 10, 15, 20, 30, 60]),
                st.integers(-5, 200),
                NUMBERS,
            )
        ),
    }
    if draw(st.booleans()):
        horizon["intervals"] = draw(
            st.one_of(st.integers(1, 200), st.integers(-2, 3000), st.just(8), NUMBERS)
        )
    else:
        minutes = draw(st.integers(-60, 8 * 24 * 60))
        horizon["end"] = draw(
            st.one_of(
                st.just(f"2026-11-23 {8 + minutes // 60 % 16:02d}:{minutes % 60:02d}"),
                st.just("2026-11-23 12:00"),
                st.just("2026-11-30 08:00"),
                st.just("2026-12-01 08:05"),
                TEXTS,
            )
        )
    if draw(st.sampled_from([False] * 9 + [True])):  # now and then an unknown key
        horizon[draw(EXTRA_KEYS)] = draw(GARBAGE)
    return horizon


# -- the fuzz tests --------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@_settings(1200)
@given(child=mutated(CHILD))
def test_mutated_child_scenarios(workdir: Path, child: dict[str, Any]) -> None:
    _check(_write(workdir / "child", child=child), "child")


@_settings(600)
@given(parent=mutated(PARENT))
def test_mutated_parent_scenarios(workdir: Path, parent: dict[str, Any]) -> None:
    _check(_write(workdir / "parent", parent=parent), "parent")


@_settings(700)
@given(files=mangled_csvs())
def test_mangled_roster_and_forecast_csvs(workdir: Path, files: tuple[bytes, bytes]) -> None:
    roster, forecast = files
    _check(_write(workdir / "csv", roster=roster, forecast=forecast), "csv")


@st.composite
def mangled_yaml(draw: st.DrawFn) -> tuple[str, bytes]:
    which = draw(st.sampled_from(["child", "parent"]))
    return which, _mangle_text(draw, _dump(CHILD if which == "child" else PARENT), csv=False)


@_settings(300)
@given(damaged=mangled_yaml())
def test_mangled_yaml_text(workdir: Path, damaged: tuple[str, bytes]) -> None:
    which, text = damaged
    if which == "child":
        _check(_write(workdir / "yaml", child=text), "yaml")
    else:
        _check(_write(workdir / "yaml", parent=text), "yaml")


def _intervals_of(horizon: dict[str, Any]) -> int:
    """The number of intervals the horizon would have, if that can be told (else 8)."""
    minutes = horizon.get("interval_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 1440:
        return 8
    if "intervals" in horizon:
        count = horizon["intervals"]
        ok = isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= 2100
        return count if ok else 8
    try:
        span = datetime.fromisoformat(horizon["end"]) - datetime.fromisoformat(horizon["start"])
    except (TypeError, ValueError):
        return 8
    count = int(span / timedelta(minutes=minutes))
    return count if 1 <= count <= 2100 else 8


@_settings(300)
@given(horizon=horizons(), calls=st.floats(0, 50))
def test_horizons_that_do_not_divide(workdir: Path, horizon: dict[str, Any], calls: float) -> None:
    """Any horizon, with inline per-interval tables sized to it where it has a size."""
    parent = copy.deepcopy(PARENT)
    parent["horizon"] = horizon
    T = _intervals_of(horizon)
    for queue in parent["queues"].values():
        queue["aht_s"] = 300
        queue["forecast"] = [calls] * T
    parent["agents"] = [{"id": "ann", "skills": ["platinum", "gold"], "shift": "00:00-00:00"}]
    parent["pins"] = []
    _check(_write(workdir / "horizon", parent=parent, child=CHILD_NO_SCALE), "horizon")


NUMERIC_EXTREMES = st.one_of(
    st.floats(0, 1e7),
    st.sampled_from([0, 1e-6, 1e-3, 0.999, 1, 5000, 86_400, 1e6, 2**31 - 1, 64, 4999.9]),
)


@st.composite
def numeric_mutants(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """1-3 numbers replaced by other non-negative numbers, small to extreme: mutants that
    mostly load, so that the solver and the plan writer meet odd but valid input."""
    data = copy.deepcopy(original)
    numeric = [
        p
        for p in _paths(data)[1:]
        if isinstance(_get(data, p), int | float) and not isinstance(_get(data, p), bool)
    ]
    for path in draw(st.lists(st.sampled_from(numeric), min_size=1, max_size=3)):
        parent = _get(data, path[:-1])
        old = parent[path[-1]]
        new = draw(NUMERIC_EXTREMES)
        parent[path[-1]] = int(new) if isinstance(old, int) and float(new).is_integer() else new
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@settings(
    max_examples=max(1, int(40 * SCALE)),
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(parent=numeric_mutants(PARENT))
def test_what_loads_also_solves_and_writes(workdir: Path, parent: dict[str, Any]) -> None:
    """A mutant that loads is solved and written without any exception, and the plan
    reads back with the same objective, all of it finite."""
    scenario = _check(_write(workdir / "solve", parent=parent), "solved")
    if scenario is None:
        return
    plan = optistaff.solve(scenario, time_limit_s=2.0)
    assert plan.status in ("optimal", "feasible", "infeasible")
    if plan.status == "infeasible":
        return
    written = plan.write(workdir / "solve-plan")
    again = optistaff.read_plan(written)
    assert again.summary["objective"] == plan.summary["objective"]
    assert all(
        isinstance(v, int | float) and math.isfinite(v) for v in plan.summary["objective"].values()
    )


def test_fuzz_case_count() -> None:
    """Runs last in this module: the number of cases the fuzz tests tried this run."""
    total = sum(n for kind, n in COUNTS.items() if not kind.endswith(" loaded"))
    print(f"\nfuzz cases run: {total} {dict(sorted(COUNTS.items()))}")
    if {"child", "parent", "csv", "yaml", "horizon"} <= COUNTS.keys():  # the whole module ran
        assert total >= 1000 * min(SCALE, 1.0)
