"""Bad input of any shape gives a ScenarioError (exit 2), never another exception."""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any

from optistaff.errors import ScenarioError
from optistaff.loading import load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

GARBAGE: list[Any] = [
    None, -1, 0, 1.5, math.nan, math.inf, -math.inf, True, "", "x", "25:00", "08:00-",
    "2026-13-45 99:99", [], [None], ["a", 1], {}, {"file": "nope.csv"},
    {"file": "michelle.yaml", "column": "x"}, {"a": {"b": []}}, 10**30, "platinum;gold",
]  # fmt: skip


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(data)[1:])
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.25 and isinstance(parent, dict):
            parent[rng.choice(["extra", "changes", "extends", "file"])] = rng.choice(GARBAGE)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(GARBAGE))
    return data


def test_mutated_dicts_raise_only_scenario_errors() -> None:
    rng = random.Random(20261123)
    original = load_scenario(SCENARIOS / "michelle.yaml").to_dict()
    original["pins"] = [{"agent": "michelle", "queue": "gold", "from": "09:00", "to": "10:00"}]
    original["agents"].append({"file": "contact-center-roster.csv"})
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        data = _mutate(original, rng)
        try:
            scenario_from_dict(data, source_name="fuzz.yaml", base_dir=SCENARIOS)
            outcomes["ok"] += 1
        except ScenarioError as exc:
            assert exc.problems
            outcomes["error"] += 1
    assert outcomes["error"] > 300  # the mutations really were bad


def test_mangled_files_raise_only_scenario_errors(tmp_path: Path) -> None:
    rng = random.Random(7)
    text = (SCENARIOS / "michelle.yaml").read_bytes()
    for i in range(150):
        cut = rng.randrange(len(text))
        junk = bytes(rng.choice(b"{}[]:-,'\"\n\t #&*!|>%@`\xff") for _ in range(rng.randint(1, 4)))
        path = tmp_path / f"m{i}.yaml"
        path.write_bytes(text[:cut] + junk + text[cut + rng.randint(0, 20) :])
        try:
            load_scenario(path)
        except ScenarioError as exc:
            assert all(p.file == str(path) for p in exc.problems)
