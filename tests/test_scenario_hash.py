"""The content hash identifies a scenario by content, not by how numbers were typed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import optistaff
from optistaff.loading import scenario_from_dict

MICHELLE = Path(__file__).resolve().parent.parent / "scenarios" / "michelle.yaml"


def test_hash_survives_a_round_trip_through_the_resolved_file() -> None:
    scenario = optistaff.load_scenario(str(MICHELLE))
    again = scenario_from_dict(scenario.to_dict())
    assert again.content_hash() == scenario.content_hash()


def test_ints_and_floats_hash_alike() -> None:
    scenario = optistaff.load_scenario(str(MICHELLE))
    platinum = scenario.queues[0]
    as_ints = replace(
        scenario, queues=(replace(platinum, value=int(platinum.value)), *scenario.queues[1:])
    )
    assert as_ints.content_hash() == scenario.content_hash()


def test_any_change_changes_the_hash() -> None:
    scenario = optistaff.load_scenario(str(MICHELLE))
    platinum = scenario.queues[0]
    changed = replace(
        scenario, queues=(replace(platinum, value=platinum.value + 1e-09), *scenario.queues[1:])
    )
    assert changed.content_hash() != scenario.content_hash()
