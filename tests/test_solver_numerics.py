"""Regression: CP-SAT's presolve and large integer coefficients.

With coefficients near 1e10 in linear constraints, CP-SAT 9.15 returned a wrong
"optimal" on this tiny scenario (weighted shortfall 1.5 instead of 1.0). optistaff
caps every coefficient at 2**30 (``optistaff/solvers/cpsat.py``); these tests pin the
scenario to its brute-force optimum and the cap to the scales actually chosen.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import brute
import pytest
from tiny import stationary

import optistaff
from optistaff.formulation import build_problem
from optistaff.scenario import Agent, Horizon, Queue, Scenario
from optistaff.solvers import scaling

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _scenario() -> Scenario:
    return Scenario(
        name="coefficients",
        horizon=Horizon(datetime(2026, 1, 5, 8, 0), 30, 4),
        queues=(
            Queue(
                "gold",
                1.0,
                (120.0,) * 4,
                0.0,
                (0.0, 0.0, 2.0, 17.0),
                patience_s=60.0,
                daily_service_level=0.5,
            ),
            Queue(
                "silver",
                0.0,
                (240.0,) * 4,
                0.0,
                (0.0, 0.0, 5.0, 1.0),
                max_occupancy=0.6,
                shortfall_weight=1.0,
            ),
        ),
        agents=(
            Agent("a0", ("gold", "silver"), "08:00-10:00", (True,) * 4, optional=True),
            Agent(
                "a1",
                ("gold", "silver"),
                "08:00-10:00",
                (True, False, True, True),
                breaks=("08:30-09:00",),
                optional=True,
            ),
        ),
    )


def test_large_coefficient_case_matches_brute_force() -> None:
    scenario = stationary(_scenario())
    best = brute.optimum(scenario)
    plan = optistaff.solve(scenario)
    assert plan.status == "optimal"
    assert plan.objective["weighted_shortfall"] == pytest.approx(best.weighted_shortfall, abs=1e-7)
    assert plan.objective["total"] == pytest.approx(best.total, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("name", ["michelle", "contact-center"])
def test_scales_keep_coefficients_below_the_cap(name: str) -> None:
    scenario = optistaff.load_scenario(str(SCENARIOS / f"{name}.yaml"))
    problem = build_problem(scenario, pooled=True)
    scales = scaling.choose_scales(problem)
    m = scaling.objective_magnitudes(problem, range(problem.n_intervals))
    assert m.shortfall_coefficient * scales.shortfall <= 2**30
    assert m.value_coefficient * scales.value <= 2**30
    assert scales.shortfall >= 1.0 and scales.value >= 1.0
