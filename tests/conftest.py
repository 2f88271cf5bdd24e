"""Shared fixtures. ``solve_checked`` solves a scenario, writes its plan and checks the
plan's files with the independent checker (session-scoped, so hypothesis tests may use it);
``_check_every_plan`` does the same for every plan any test produces."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from checker import CheckReport, check_plan_dir

from optistaff.scenario import Scenario

SolveChecked = Callable[..., tuple[Any, CheckReport]]

# The queue-figure cache (optistaff/curve_cache.py) in a directory of this session only,
# fresh and removed at the end (subprocesses inherit it): the suite uses the cache as a
# planner's re-runs do, and never a developer's own.
_CACHE = tempfile.mkdtemp(prefix="optistaff-test-cache-")
os.environ["OPTISTAFF_CACHE_DIR"] = _CACHE
os.environ.pop("OPTISTAFF_CACHE", None)
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


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


@pytest.fixture(autouse=True, scope="session")
def _check_every_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every plan any test produces through ``optistaff.solve`` is written out and
    verified by the independent checker (issue 3's acceptance): a wrong KPI anywhere
    fails the test that produced it."""
    from optistaff import pipeline
    from optistaff.plan import plan_files

    def hook(plan: Any) -> None:
        if plan.status == "infeasible":
            return
        directory = tmp_path_factory.mktemp("checked")
        for name, data in plan_files(plan).items():
            (directory / name).write_bytes(data)
        check_plan_dir(directory)

    pipeline.PLAN_HOOKS.append(hook)
    yield
    pipeline.PLAN_HOOKS.remove(hook)


#: Runs before every other test: on a fresh checkout it is the suite's one numba compile
#: and fills the cache the rest loads (``tests/test_startup.py``).
FIRST = "test_startup.py::test_a_first_time_varying_day_compiles_before_the_limit_is_shared_out"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.endswith(FIRST))
