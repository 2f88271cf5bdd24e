"""The time the limit reserves for naming, evaluating and writing a plan
(``optistaff.pipeline.finishing_estimate_s``, models/07-decomposition.md "Time").

A stationary plan of a large center reserves the rate measured on the reference machine,
scaled by this machine's pace now (``_python_pace``) and a margin, never more than the
slow day's rate that every other solve reserves, nor less than the measured rate.
Independent truth: the figures written out below from the constants' documented meaning
(seconds per agent-interval times the agent-intervals, plus 0.05 s), the pace replaced
by a chosen one. Whether the reserve
keeps the promise on a real 10,000-agent center is measured by
``tests/benchmarks/bench_time_limit.py`` (idle and with both cores loaded)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from optistaff import pipeline
from optistaff.formulation import AllocationProblem

SLOW_DAY = 3.5e-5  # s per agent-interval, the most any solve reserves
MEASURED = 6.7e-6  # s per agent-interval of a stationary plan on the reference machine
MARGIN = 2.5


def _problem(agents: int, intervals: int, model: str) -> AllocationProblem:
    """As much of a problem as the estimate reads: groups and the queue model."""
    groups = [SimpleNamespace(size=agents // 4, available=[True] * intervals) for _ in range(4)]
    policy = SimpleNamespace(queue_model=model)
    return cast(
        AllocationProblem, SimpleNamespace(groups=groups, scenario=SimpleNamespace(policy=policy))
    )


def _pace(monkeypatch: pytest.MonkeyPatch, times_reference: float) -> list[int]:
    calls: list[int] = []

    def pace() -> float:
        calls.append(1)
        return times_reference * pipeline._PACE_REFERENCE_S

    monkeypatch.setattr(pipeline, "_python_pace", pace)
    return calls


@pytest.mark.parametrize(
    ("times_reference", "rate"),
    [
        (1.0, MARGIN * MEASURED),  # the reference machine: 4.4 s on 10,000 x 96
        (0.5, 0.5 * MARGIN * MEASURED),  # twice as fast
        (1.8, 1.8 * MARGIN * MEASURED),  # slower, still under the slow day's rate
        (10.0, SLOW_DAY),  # far slower: never more than the slow day's rate
        (0.0, MEASURED),  # a pace read as nothing: never less than the measured rate
    ],
)
def test_a_large_stationary_plan_reserves_by_this_machines_pace(
    monkeypatch: pytest.MonkeyPatch, times_reference: float, rate: float
) -> None:
    calls = _pace(monkeypatch, times_reference)
    problem = _problem(10_000, 96, "stationary")
    assert pipeline.finishing_estimate_s(problem) == pytest.approx(0.05 + rate * 960_000)
    assert calls == [1]


def test_a_time_varying_plan_and_a_small_center_reserve_the_slow_days_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (a time-varying plan's evaluation runs the day's chains: the pace does not cover it;
    # a small center's reserve is under a second, not worth reading the pace)
    calls = _pace(monkeypatch, 0.5)
    varying = _problem(10_000, 96, "time_varying")
    assert pipeline.finishing_estimate_s(varying) == pytest.approx(0.05 + SLOW_DAY * 960_000)
    small = _problem(100, 96, "stationary")  # 9,600 agent-intervals
    assert pipeline.finishing_estimate_s(small) == pytest.approx(0.05 + SLOW_DAY * 9_600)
    assert calls == []


def test_the_pace_is_a_few_milliseconds_of_real_work() -> None:
    pace = pipeline._python_pace()
    assert 1e-4 < pace < 1.0
    problem: Any = _problem(10_000, 96, "stationary")
    estimate = pipeline.finishing_estimate_s(problem)
    assert 0.05 < estimate <= 0.05 + SLOW_DAY * 960_000 + 1e-9
