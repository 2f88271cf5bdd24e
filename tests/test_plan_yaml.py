"""The plan's scenario.yaml: written with libyaml's emitter where PyYAML has it, the
same bytes as the pure-Python emitter for ordinary names, and reloading to an equal
scenario (same content hash, so read_plan accepts the plan) with either emitter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import optistaff
from optistaff import plan as plan_module
from optistaff.loading import load_scenario
from optistaff.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DUMPERS = [yaml.SafeDumper] + ([yaml.CSafeDumper] if hasattr(yaml, "CSafeDumper") else [])

# names a planner might type: accents, CJK, emoji (outside the BMP), YAML-significant
# characters, words YAML would read as booleans, null or clock times, and a queue id
# long enough (in characters and in UTF-8 bytes) that the emitters write it as `? key`
QUEUE_IDS = {
    "platinum": "Zoë's platinum: 日本 — #1 😀",
    "gold": "gold" + " très long nom de file d'attente" * 5,
}
AGENT_IDS = {
    "michelle": "Michelle O'Brien-Ñúñez",
    "paul": "yes",
    "priya": "10:30",
    "pete": "- pete [x], {y} & *z",
    "gina": "null",
    "greg": "2026-11-23",
    "grace": "Grâce" + " 🙂 Grâce" * 20,
}


def _exotic_scenario(directory: Path) -> Scenario:
    data: dict[str, Any] = yaml.safe_load((SCENARIOS / "michelle.yaml").read_text())
    data["name"] = "Michelle's day: ✓ — 日本"
    data["description"] = "Quotes \" and ', a # and a: colon.\nA second line.\n" + "word " * 60
    data["queues"] = {QUEUE_IDS[q]: spec for q, spec in data["queues"].items()}
    for agent in data["agents"]:
        agent["id"] = AGENT_IDS[agent["id"]]
        agent["skills"] = [QUEUE_IDS[q] for q in agent["skills"]]
    path = directory / "exotic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    scenario = load_scenario(path)
    assert set(scenario.queue_ids) == set(QUEUE_IDS.values())
    return scenario


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_both_emitters_write_the_same_bytes_for_the_example_scenarios(path: Path) -> None:
    data = load_scenario(path).to_dict()
    texts = {
        yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
        for dumper in DUMPERS
    }
    assert len(texts) == 1
    assert plan_module.scenario_yaml(load_scenario(path)) in texts


def test_libyaml_is_used_when_available() -> None:
    expected = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    assert plan_module._YAML_DUMPER is expected


@pytest.mark.parametrize("dumper", DUMPERS, ids=lambda d: d.__name__)
def test_exotic_names_reload_to_an_equal_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dumper: type
) -> None:
    scenario = _exotic_scenario(tmp_path)
    monkeypatch.setattr(plan_module, "_YAML_DUMPER", dumper)
    written = tmp_path / "scenario.yaml"
    written.write_bytes(plan_module.scenario_yaml(scenario).encode())
    again = load_scenario(written)
    assert again.to_dict() == scenario.to_dict()
    assert again.content_hash() == scenario.content_hash()


def test_a_plan_with_exotic_names_reads_back(tmp_path: Path) -> None:
    scenario = _exotic_scenario(tmp_path)
    plan = optistaff.solve(scenario, time_limit_s=20, threads=1)
    again = optistaff.read_plan(plan.write(tmp_path / "plan"))
    assert again.scenario.content_hash() == plan.scenario.content_hash()
    assert again.called_in == plan.called_in
    assert set(again.assignments["agent"]) == set(AGENT_IDS.values())
