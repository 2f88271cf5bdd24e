"""The example scenarios in scenarios/: they load, validate, round-trip, and tell the
stories their descriptions promise."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from optistaff.cli import main
from optistaff.loading import load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_examples_exist() -> None:
    names = {p.name for p in FILES}
    assert {
        "michelle.yaml",
        "contact-center.yaml",
        "contact-center-sick.yaml",
        "contact-center-overtime.yaml",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_round_trips(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.warnings == ()
    assert scenario.description
    again = scenario_from_dict(scenario.to_dict())
    assert again == dataclasses.replace(scenario, source=None, input_hash=None)
    assert again.content_hash() == scenario.content_hash()


def test_michelle_is_small_and_michelle_is_the_only_choice() -> None:
    s = load_scenario(SCENARIOS / "michelle.yaml")
    assert s.horizon.intervals == 8 and s.horizon.interval_minutes == 30
    multi = [a.id for a in s.agents if len(a.skills) > 1]
    assert multi == ["michelle"]
    assert all(q.min_service_level is not None for q in s.queues)
    assert any(q.patience_s is not None for q in s.queues)
    # a real shortage: at the peak, offered load is at least the agents each queue has
    for q in s.queues:
        peak = max(c * h / s.horizon.interval_s for c, h in zip(q.forecast, q.aht_s, strict=True))
        single = sum(1 for a in s.agents if a.skills == (q.id,))
        assert peak >= single


def test_contact_center_sizes() -> None:
    base = load_scenario(SCENARIOS / "contact-center.yaml")
    assert base.horizon.intervals == 56 and base.horizon.interval_minutes == 15
    assert base.horizon.label(0) == "2026-11-23 07:00"
    assert len(base.queues) == 6
    assert len(base.agents) == 120
    share = sum(len(a.skills) > 1 for a in base.agents) / len(base.agents)
    assert 0.25 <= share <= 0.35
    assert len(set(base.queue("platinum_support").aht_s)) > 1  # per-interval AHT from CSV
    sick = load_scenario(SCENARIOS / "contact-center-sick.yaml")
    removed = {a.id for a in base.agents} - {a.id for a in sick.agents}
    assert len(removed) == 12
    assert sum(len(base.agent(i).skills) > 1 for i in removed) >= 3
    overtime = load_scenario(SCENARIOS / "contact-center-overtime.yaml")
    optional = [a for a in overtime.agents if a.optional]
    assert len(optional) == 8 and all(a.cost > 0 for a in optional)
    assert len(overtime.agents) == len(sick.agents) + 8


def test_contact_center_side_files_match_their_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_contact_center", SCENARIOS / "make_contact_center.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("contact-center-forecast.csv", "contact-center-roster.csv"):
        assert (tmp_path / name).read_text() == (SCENARIOS / name).read_text(), name
