"""The fast paths of loading and lookup give exactly what the plain definitions give.

Availability is resolved in whole minutes from the horizon start, interval ranges at a
time; here it is checked against the rule written out in datetimes, one interval at a
time. ``Scenario.agent`` is a dict lookup whose index lives outside the instance.
"""

from __future__ import annotations

import gc
import pickle
import random
from dataclasses import fields, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from optistaff.loading import load_scenario
from optistaff.loading.clock import parse_range
from optistaff.loading.drafts import AgentDraft
from optistaff.loading.problems import At, Context
from optistaff.loading.resolve import resolve_agent
from optistaff.loading.schema import AgentModel
from optistaff.scenario import Agent, Horizon, Scenario, _agent_indexes

MICHELLE = Path(__file__).resolve().parent.parent / "scenarios" / "michelle.yaml"
DAY = timedelta(days=1)


def _reference_available(
    shift: str, breaks: list[str], horizon: Horizon
) -> tuple[bool, ...] | None:
    """docs/scenario-rules.md's rules in datetimes (None: a break is not inside the shift)."""
    parsed = parse_range(shift)
    assert parsed is not None
    start_minute, length = parsed
    midnight = horizon.start.replace(hour=0, minute=0)
    shift_start = midnight - DAY + timedelta(minutes=start_minute)
    while shift_start + timedelta(minutes=length) <= horizon.start:  # not ended by then
        shift_start += DAY
    shift_end = shift_start + timedelta(minutes=length)
    windows = []
    for text in breaks:
        b_parsed = parse_range(text)
        assert b_parsed is not None
        b_start = shift_start
        while (b_start.hour * 60 + b_start.minute) != b_parsed[0]:  # first at/after start
            b_start += timedelta(minutes=1)
        b_end = b_start + timedelta(minutes=b_parsed[1])
        if b_end > shift_end or b_parsed[1] >= 24 * 60:
            return None
        windows.append((b_start, b_end))
    step = timedelta(minutes=horizon.interval_minutes)
    out = []
    for t in range(horizon.intervals):
        lo = horizon.start + t * step
        hi = lo + step
        on_break = any(b0 < hi and b1 > lo for b0, b1 in windows)
        out.append(shift_start <= lo and hi <= shift_end and not on_break)
    return tuple(out)


def _clock(rng: random.Random) -> str:
    minute = rng.choice([0, 15, 30, 45, rng.randrange(60)])
    return f"{rng.randrange(24):02d}:{minute:02d}"


def _resolve(shift: str, breaks: list[str], horizon: Horizon) -> Agent | None:
    model = AgentModel.model_validate(
        {"id": "a", "skills": ["q"], "shift": shift, "breaks": breaks}
    )
    draft = AgentDraft(model, At("roster.csv", line=2))
    return resolve_agent(draft, {"q"}, horizon, Context())


@pytest.mark.parametrize("seed", range(4))
def test_availability_matches_the_rule_interval_by_interval(seed: int) -> None:
    rng = random.Random(seed)
    resolved = refused = 0
    for _ in range(500):
        minutes = rng.choice((5, 10, 15, 20, 30, 60))
        start = datetime(2026, 3, rng.randint(1, 28), rng.randrange(24), rng.choice((0, 15, 7)))
        # at most a day: beyond it an undated shift names no single moment (refused, below)
        horizon = Horizon(start, minutes, rng.randint(1, 24 * 60 // minutes))
        shift = f"{_clock(rng)}-{_clock(rng) if rng.random() > 0.05 else '24:00'}"
        parsed = parse_range(shift)
        assert parsed is not None
        breaks = []
        for _ in range(rng.randint(0, 3)):
            begin = (parsed[0] + rng.randrange(parsed[1] + 60)) % (24 * 60)  # mostly inside
            end = (begin + rng.randint(1, 90)) % (24 * 60)
            breaks.append(f"{begin // 60:02d}:{begin % 60:02d}-{end // 60:02d}:{end % 60:02d}")
        expected = _reference_available(shift, breaks, horizon)
        agent = _resolve(shift, breaks, horizon)
        if expected is None:
            assert agent is None
            refused += 1
        else:
            assert agent is not None
            assert agent.available == expected, (shift, breaks, horizon)
            resolved += 1
    assert resolved > 100 and refused > 20  # both outcomes exercised


def test_an_undated_shift_on_a_horizon_beyond_a_day_is_refused() -> None:
    horizon = Horizon(datetime(2026, 3, 2, 8, 0), 60, 25)
    assert _resolve("06:00-14:00", [], horizon) is None
    dated = _resolve("2026-03-03 06:00-14:00", ["10:00-11:00"], horizon)
    assert dated is not None
    assert [t for t, free in enumerate(dated.available) if free] == [22, 23, 24]


def test_shift_in_progress_at_the_horizon_start_is_clipped() -> None:
    horizon = Horizon(datetime(2026, 3, 2, 8, 0), 60, 24)
    agent = _resolve("06:00-14:00", ["09:30-10:00"], horizon)
    assert agent is not None
    assert [t for t, free in enumerate(agent.available) if free] == [0, 2, 3, 4, 5]


def _scenario() -> Scenario:
    return load_scenario(MICHELLE)


def test_agent_finds_every_agent_and_raises_key_error_otherwise() -> None:
    scenario = _scenario()
    for agent in scenario.agents:
        assert scenario.agent(agent.id) is agent
    with pytest.raises(KeyError) as info:
        scenario.agent("nobody")
    assert info.value.args == ("nobody",)


def test_agent_returns_the_first_of_repeated_ids() -> None:
    scenario = _scenario()
    first, second = scenario.agents[0], replace(scenario.agents[1], id=scenario.agents[0].id)
    twice = replace(scenario, agents=(first, second))
    assert twice.agent(first.id) is first


def test_agent_lookup_leaves_the_instance_as_its_fields() -> None:
    scenario = _scenario()
    before = hash(scenario), scenario.content_hash()
    scenario.agent(scenario.agents[0].id)
    assert set(vars(scenario)) == {f.name for f in fields(Scenario)}
    rebuilt = Scenario(**vars(scenario))
    assert rebuilt == scenario
    assert (hash(scenario), scenario.content_hash()) == before
    copied = pickle.loads(pickle.dumps(scenario))
    assert copied == scenario
    assert copied.agent(scenario.agents[-1].id) == scenario.agents[-1]


def test_an_edited_copy_has_its_own_index() -> None:
    scenario = _scenario()
    scenario.agent(scenario.agents[0].id)
    fewer = replace(scenario, agents=scenario.agents[1:])
    with pytest.raises(KeyError):
        fewer.agent(scenario.agents[0].id)
    assert scenario.agent(scenario.agents[0].id) is scenario.agents[0]


def test_the_index_goes_with_its_scenario() -> None:
    scenario = _scenario()
    scenario.agent(scenario.agents[0].id)
    key = id(scenario)
    assert key in _agent_indexes
    del scenario
    gc.collect()
    assert key not in _agent_indexes
