"""Shifts, breaks and pins with a date, for horizons longer than a day (issue: "A
planner's working day", point 6): ``YYYY-MM-DD HH:MM-HH:MM`` starts on that date (an end
not after the start is the next day); an undated time on a horizon longer than 24 hours
is an error that says how to fix it. Expected availabilities are written out by hand
from the clock, not computed by the loader's rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from optistaff.cli import main
from optistaff.errors import ScenarioError
from optistaff.loading import scenario_from_dict

START = datetime(2026, 12, 2, 8, 0)  # a 30-hour horizon of hours: 08:00 to 14:00 next day


def _data(agents: list[dict[str, Any]], pins: list[dict[str, Any]] | None = None) -> dict:
    return {
        "name": "two-days",
        "horizon": {"start": f"{START:%Y-%m-%d %H:%M}", "interval_minutes": 60, "intervals": 30},
        "queues": {"q": {"value": 1, "aht_s": 300, "answer_within_s": 20, "forecast": [10] * 30}},
        "agents": agents,
        "pins": pins or [],
    }


def _hours(*spans: tuple[str, str]) -> list[int]:
    """Interval indices whose hour lies in the [from, to) spans (dated texts)."""
    out: list[int] = []
    for a, b in spans:
        lo, hi = datetime.fromisoformat(a), datetime.fromisoformat(b)
        out += [t for t in range(30) if lo <= START + timedelta(hours=t) < hi]
    return out


def _available(data: dict) -> dict[str, list[int]]:
    sc = scenario_from_dict(data, source_name="two-days.yaml")
    return {a.id: [t for t, ok in enumerate(a.available) if ok] for a in sc.agents}


def test_dated_shifts_breaks_and_pins_mean_their_day() -> None:
    agents = [
        {
            "id": "day2",
            "skills": ["q"],
            "shift": "2026-12-03 08:00-12:00",
            "breaks": ["10:00-11:00"],
        },
        {
            "id": "night",
            "skills": ["q"],
            "shift": "2026-12-02 22:00-06:00",
            "breaks": ["2026-12-03 02:00-03:00"],
        },
        {"id": "day1", "skills": ["q"], "shift": "2026-12-02 09:00-17:00"},
    ]
    pins = [{"agent": "night", "queue": "q", "from": "2026-12-03 04:00", "to": "06:00"}]
    got = _available(_data(agents, pins))
    assert got["day2"] == _hours(
        ("2026-12-03 08:00", "2026-12-03 10:00"), ("2026-12-03 11:00", "2026-12-03 12:00")
    )
    assert got["night"] == _hours(
        ("2026-12-02 22:00", "2026-12-03 02:00"), ("2026-12-03 03:00", "2026-12-03 06:00")
    )
    assert got["day1"] == _hours(("2026-12-02 09:00", "2026-12-02 17:00"))
    sc = scenario_from_dict(_data(agents, pins), source_name="two-days.yaml")
    (pin,) = sc.pins
    assert (pin.start, pin.end) == (20, 22)  # 04:00 and 06:00 on the second day


@pytest.mark.parametrize(
    ("agents", "pins", "needle"),
    [
        (
            [{"id": "a", "skills": ["q"], "shift": "08:00-12:00"}],
            [],
            "agents[0].shift: '08:00-12:00' has no date, but the horizon lasts 30 hours",
        ),
        (
            [{"id": "a", "skills": ["q"], "shift": "2026-12-02 09:00-12:00"}],
            [{"agent": "a", "queue": "q", "from": "10:00", "to": "11:00"}],
            "a pin's from needs its date, e.g. '2026-12-02 10:00'",
        ),
        (
            [{"id": "a", "skills": ["q"], "shift": "2026-12-02 09:00-12:00"}],
            [{"agent": "a", "queue": "q", "from": "2026-12-02 07:00", "to": "08:00"}],
            "is before the start of the horizon",
        ),
        (
            [{"id": "a", "skills": ["q"], "shift": "2026-12-02 09:00-12:00"}],
            [{"agent": "a", "queue": "q", "from": "2026-12-02 11:00", "to": "2026-12-02 10:00"}],
            "is not after from",
        ),
        (
            [
                {
                    "id": "a",
                    "skills": ["q"],
                    "shift": "2026-12-02 09:00-12:00",
                    "breaks": ["2026-12-03 10:00-11:00"],
                }
            ],
            [],
            "is not inside the shift",
        ),
        (
            [{"id": "a", "skills": ["q"], "shift": "2026-02-30 09:00-12:00"}],
            [],
            "must be 'HH:MM-HH:MM' or 'YYYY-MM-DD HH:MM-HH:MM'",
        ),
    ],
)
def test_undated_or_impossible_times_are_errors_that_say_why(
    agents: list[dict[str, Any]], pins: list[dict[str, Any]], needle: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_data(agents, pins), source_name="two-days.yaml")
    assert needle in str(info.value)


def test_on_a_one_day_horizon_a_dated_shift_equals_the_undated_one() -> None:
    base = {
        "name": "one-day",
        "horizon": {"start": "2026-12-02 06:00", "interval_minutes": 30, "intervals": 40},
        "queues": {"q": {"value": 1, "aht_s": 300, "answer_within_s": 20, "forecast": [5] * 40}},
    }
    plain = [
        {"id": "a", "skills": ["q"], "shift": "22:00-02:00", "breaks": ["23:00-23:30"]},
        {"id": "b", "skills": ["q"], "shift": "07:00-15:00"},
    ]
    dated = [
        {"id": "a", "skills": ["q"], "shift": "2026-12-02 22:00-02:00", "breaks": ["23:00-23:30"]},
        {"id": "b", "skills": ["q"], "shift": "2026-12-02 07:00-15:00"},
    ]
    one = scenario_from_dict({**base, "agents": plain}, source_name="x.yaml")
    two = scenario_from_dict({**base, "agents": dated}, source_name="x.yaml")
    assert [a.available for a in one.agents] == [a.available for a in two.agents]
    assert sum(one.agents[0].available) == 7  # 22:00-02:00 less the half hour at 23:00


def test_the_cli_refuses_an_undated_shift_on_a_long_horizon(tmp_path: Path) -> None:
    path = tmp_path / "two-days.yaml"
    path.write_text(yaml.safe_dump(_data([{"id": "a", "skills": ["q"], "shift": "08:00-12:00"}])))
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "e.g. '2026-12-02 08:00-12:00'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p").exists()


def test_a_solve_staffs_the_second_day(tmp_path: Path) -> None:
    agents = [{"id": "day2", "skills": ["q"], "shift": "2026-12-03 08:00-12:00"}]
    path = tmp_path / "two-days.yaml"
    data = _data(agents)
    data["policy"] = {"queue_model": "stationary"}
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "p" / "assignments.csv").read_text().splitlines()[1:]
    worked = sorted(r.split(",")[1] for r in rows if r.split(",")[2])
    assert worked == [f"2026-12-03 {h:02d}:00" for h in range(8, 12)]
