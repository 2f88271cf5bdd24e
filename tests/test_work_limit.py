"""The deterministic work limit (``optistaff.solvers.clock``, models/15-sweeps.md): a
solve stopped by its work limit is the same plan at any load (stationary through
``optistaff.solve``, the time-varying search called directly: the checker of every
plan would take 15 s per time-varying plan here), the limit binds (a larger one finds
a better plan), CP-SAT is limited and charged by its deterministic time, and bad limits
are refused.

Independent truth: the same solve run idle and with two threads of dense matrix products
competing for the cores (a wall-clock limit would stop the search elsewhere: see the
note on this test in models/15-sweeps.md); the plans compared cell by cell."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from ortools.sat.python import cp_model
from test_sweep import DAY

import optistaff
from optistaff.cli import main
from optistaff.errors import UsageError
from optistaff.formulation import build_problem
from optistaff.loading import scenario_from_dict
from optistaff.solvers import clock
from optistaff.solvers.carry_over import solve_carry_over
from optistaff.solvers.cpsat import Runner

LIMITS = (0.001, 0.003, 1.0)


def _day(model: str = "stationary") -> optistaff.Scenario:
    data = copy.deepcopy(DAY)
    data["policy"]["queue_model"] = model
    return scenario_from_dict(data, source_name="work-day.yaml")


def _plans() -> list[optistaff.Plan]:
    return [optistaff.solve(_day(), work_limit=w) for w in LIMITS]


Search = tuple[object, object, str, object, float]


def _searches() -> list[Search]:
    """The time-varying search at each limit: its counts, calls and statistics."""
    problem = build_problem(_day("time_varying"), pooled=True)
    out: list[Search] = []
    for w in (0.03, 0.1, 1.0):
        with clock.counting() as work:
            res = solve_carry_over(problem, time_limit_s=w, mip_gap=1e-6, threads=1, seed=0)
        stats = {k: v for k, v in res.stats.items() if k != "wall_s"}
        out.append((res.counts, res.called_in, res.decomposition, stats, work.spent))
    return out


@pytest.fixture(scope="module")
def idle() -> tuple[list[optistaff.Plan], list[Search]]:
    return _plans(), _searches()


@pytest.fixture()
def busy() -> Iterator[None]:
    """Two threads multiplying matrices until the test ends (numpy releases the GIL)."""
    done = threading.Event()

    def hog() -> None:
        a = np.random.default_rng(0).random((300, 300))
        while not done.is_set():
            a @ a

    threads = [threading.Thread(target=hog, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    yield
    done.set()
    for t in threads:
        t.join()


Idle = tuple[list[optistaff.Plan], list[Search]]


def test_a_work_limited_plan_is_the_same_under_load(idle: Idle, busy: None) -> None:
    plans, searches = idle
    for a, b in zip(plans, _plans(), strict=True):
        assert a.summary["solver"]["work"] == b.summary["solver"]["work"]
        assert a.status == b.status
        assert a.assignments.equals(b.assignments)
        assert a.objective == b.objective
    assert _searches() == searches


def test_the_work_limit_binds_and_is_recorded(idle: Idle) -> None:
    plans, searches = idle
    small, mid, large = plans
    for plan, limit in zip(plans, LIMITS, strict=True):
        solver = plan.summary["solver"]
        assert solver["work_limit"] == limit and solver["threads"] == 1
        assert solver["work"] > 0
    # the smaller limits stop the search before the optimum is proven (the exact
    # per-interval search finds the optimum's assignment within 0.006 of work here)
    assert (str(small.status), str(mid.status), str(large.status)) == (
        "feasible",
        "feasible",
        "optimal",
    )
    # (a stopped search's plan is never better than the proven one's)
    assert mid.objective["total"] <= large.objective["total"] + 1e-9
    assert small.objective["total"] <= mid.objective["total"] + 1e-9
    # the time-varying search: more rounds, or another plan, with more work
    assert searches[0][:4] != searches[2][:4]
    spent = [s[4] for s in searches]
    assert spent == sorted(spent)


def test_cpsat_is_limited_and_charged_by_its_deterministic_time() -> None:
    model = cp_model.CpModel()
    xs = [model.new_int_var(0, 40, f"x{i}") for i in range(30)]
    for i in range(29):
        model.add(3 * xs[i] + 5 * xs[i + 1] <= 97 + i)
    model.maximize(sum((i % 7 + 1) * x for i, x in enumerate(xs)))
    with clock.counting() as work:
        solver, _res = Runner(1, 0).run(model, 0.5, 0.0, 0.0, None)
        params = solver.parameters
        assert params.max_deterministic_time == pytest.approx(
            (0.5 - clock.CPSAT_RUN_WORK) / clock.CPSAT_WORK
        )
        assert math.isinf(params.max_time_in_seconds) or params.max_time_in_seconds > 1e6
        assert work.spent == pytest.approx(
            clock.CPSAT_RUN_WORK + clock.CPSAT_WORK * solver.deterministic_time
        )
    solver, _res = Runner(1, 0).run(model, 0.5, 0.0, 0.0, None)
    assert solver.parameters.max_time_in_seconds == pytest.approx(0.5)  # (wall clock outside)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_work_limits_are_refused(bad: float) -> None:
    with pytest.raises(UsageError, match="work_limit must be a finite number > 0"):
        optistaff.solve(_day(), work_limit=bad)


@pytest.mark.parametrize("bad", ["0", "nan", "inf", "-2", "x"])
def test_the_cli_refuses_a_bad_work_limit(bad: str, tmp_path: Path) -> None:
    out = CliRunner().invoke(
        main, ["solve", "scenarios/michelle.yaml", "--work-limit", bad, "-o", f"{tmp_path}/p"]
    )
    assert out.exit_code == 2, out.output
    assert "--work-limit" in out.output and "Traceback" not in out.output


def test_the_cli_solves_within_a_work_limit_and_says_so(tmp_path: Path) -> None:
    import json

    import yaml

    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(DAY))
    out = CliRunner().invoke(
        main, ["solve", str(path), "--work-limit", "0.001", "-o", str(tmp_path / "p")]
    )
    assert out.exit_code == 0, out.output
    assert "status: feasible (work limit reached" in out.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["solver"]["work_limit"] == 0.001 and summary["solver"]["threads"] == 1


@pytest.fixture(scope="module")
def equity_idle() -> optistaff.Plan:
    return _equity_plan()


def test_an_equity_solve_within_a_work_limit_is_the_same_under_load(
    equity_idle: optistaff.Plan, busy: None
) -> None:
    """The equity strategy (pricing, descent, CP-SAT levels) charges the same clock."""
    idle = equity_idle
    again = _equity_plan()
    assert str(again.status) == "feasible"  # (stopped by the limit: the full solve is optimal)
    assert again.summary["solver"]["work"] == idle.summary["solver"]["work"]
    assert again.assignments.equals(idle.assignments)


def _equity_plan() -> optistaff.Plan:
    from optistaff.loading import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "public-service.yaml")
    return optistaff.solve(sc, work_limit=1.0)
