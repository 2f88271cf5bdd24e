"""optistaff: a staffing optimiser for multi-skill contact centers.

>>> import optistaff
>>> plan = optistaff.solve("scenarios/michelle.yaml")   # doctest: +SKIP
>>> plan.staffing.head()                                # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from optistaff import _clock  # noqa: F401  (first: starts the CLI's time-limit clock)
from optistaff.errors import OptistaffError, PlanError, ScenarioError, SolveError
from optistaff.pipeline import solve
from optistaff.plan import Plan, read_plan
from optistaff.scenario import Scenario
from optistaff.solvers import SolveStatus


def load_scenario(path: str) -> Scenario:
    """Load and validate a scenario file (see :func:`optistaff.loading.load_scenario`)."""
    from optistaff.loading import load_scenario as _load

    return _load(path)


__all__ = [
    "OptistaffError",
    "Plan",
    "PlanError",
    "Scenario",
    "ScenarioError",
    "SolveError",
    "SolveStatus",
    "__version__",
    "load_scenario",
    "read_plan",
    "solve",
]
