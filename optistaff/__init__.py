"""optistaff: a staffing optimiser for multi-skill contact centers.

>>> import optistaff
>>> plan = optistaff.solve("scenarios/michelle.yaml")   # doctest: +SKIP
>>> plan.staffing.head()                                # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from optistaff import _clock  # noqa: F401  (first: starts the CLI's time-limit clock)
from optistaff.errors import OptistaffError, PlanError, ScenarioError, SolveError

if TYPE_CHECKING:
    from optistaff.pipeline import solve
    from optistaff.plan import Plan, read_plan
    from optistaff.replan import ReplanRequest, apply_actions
    from optistaff.scenario import Scenario
    from optistaff.solvers import SolveStatus

# imported on first use (pandas, numpy and the solver take ~0.8 s): the CLI then imports
# them inside a command, where Ctrl-C is a clean exit 130 rather than a traceback
_LAZY = {
    "solve": "optistaff.pipeline",
    "Plan": "optistaff.plan",
    "read_plan": "optistaff.plan",
    "Scenario": "optistaff.scenario",
    "SolveStatus": "optistaff.solvers",
    "ReplanRequest": "optistaff.replan",
    "apply_actions": "optistaff.replan",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'optistaff' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_scenario(path: str) -> Scenario:
    """Load and validate a scenario file (see :func:`optistaff.loading.load_scenario`)."""
    from optistaff.loading import load_scenario as _load

    return _load(path)


__all__ = [
    "OptistaffError",
    "Plan",
    "PlanError",
    "ReplanRequest",
    "Scenario",
    "ScenarioError",
    "SolveError",
    "SolveStatus",
    "__version__",
    "apply_actions",
    "load_scenario",
    "read_plan",
    "solve",
]
