"""The OR-Tools CP-SAT backend: the formulation of ``models/`` as an integer program.

* :mod:`.families` — the model: one function per constraint family (notes 01-05),
  the objective terms on the integer scales of :mod:`optistaff.solvers.scaling`,
  hints and the extraction of a plan's group counts;
* :mod:`.runner` — the CP-SAT runner and the lexicographic block (note 06).

The backend knows nothing of what comes after it: the decomposition strategy
(:mod:`optistaff.solvers.decomposition`) decides what to build and solve, and names
the agents. The plan's reported objective is always recomputed from the assignment
with the exact formulas, never read from here.
"""

from __future__ import annotations

from optistaff.solvers.cpsat.families import (
    CellLiterals,
    CpsatModel,
    DailyTerm,
    add_allocation,
    add_capacity,
    add_cuts,
    add_daily_minimums,
    add_optional_agents,
    add_staffing_curves,
    add_switches,
    build_model,
    build_window,
    call_in_all,
    cap_members,
    extract_plan,
    hint_solution,
    interval_terms,
    linear_sum,
    scaled_terms,
    shortfall_expr,
    value_expr,
)
from optistaff.solvers.cpsat.runner import (
    INTERVAL_TUNING,
    LEXIMIN_TUNING,
    ProgressRelay,
    Runner,
    StageResult,
    fallback_result,
    least_shortfall,
    nothing_outside,
    solve_lexicographic,
)

__all__ = [
    "INTERVAL_TUNING",
    "LEXIMIN_TUNING",
    "CellLiterals",
    "CpsatModel",
    "DailyTerm",
    "ProgressRelay",
    "Runner",
    "StageResult",
    "add_allocation",
    "add_capacity",
    "add_cuts",
    "add_daily_minimums",
    "add_optional_agents",
    "add_staffing_curves",
    "add_switches",
    "build_model",
    "build_window",
    "call_in_all",
    "cap_members",
    "extract_plan",
    "fallback_result",
    "hint_solution",
    "interval_terms",
    "least_shortfall",
    "linear_sum",
    "nothing_outside",
    "scaled_terms",
    "shortfall_expr",
    "solve_lexicographic",
    "value_expr",
]
