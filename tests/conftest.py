"""Shared fixtures. ``solve_checked`` solves a scenario, writes its plan and checks the
plan's files with the independent checker (session-scoped, so hypothesis tests may use it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checker import CheckReport, check_plan_dir

from optistaff.scenario import Scenario

SolveChecked = Callable[..., tuple[Any, CheckReport]]


@pytest.fixture(scope="session")
def solve_checked(tmp_path_factory: pytest.TempPathFactory) -> SolveChecked:
    """``solve_checked(scenario_or_path) -> (plan, CheckReport)``; raises AssertionError
    with every discrepancy the checker finds in the written plan."""

    import optistaff

    def run(scenario: Scenario | str | Path, **kwargs: Any) -> tuple[Any, CheckReport]:
        plan = optistaff.solve(scenario, **kwargs)
        directory = tmp_path_factory.mktemp("plan") / "plan"
        plan.write(directory)
        expected = scenario if isinstance(scenario, Scenario) else None
        return plan, check_plan_dir(directory, expected_scenario=expected)

    return run
