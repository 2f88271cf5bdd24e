"""The readable pipeline: load → build → solve → name the agents → evaluate → Plan.

Each step is public: :func:`optistaff.loading.load_scenario`,
:func:`optistaff.formulation.build_problem`,
:func:`optistaff.solvers.decomposition.solve_allocation`,
:func:`optistaff.disaggregate.disaggregate`, :func:`optistaff.evaluate.evaluate`.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata

import pandas as pd

from optistaff import __version__
from optistaff.disaggregate import disaggregate, fill_idle, keep_agents_in_place
from optistaff.errors import UsageError
from optistaff.evaluate import evaluate
from optistaff.formulation import AllocationProblem, build_problem
from optistaff.plan import Plan
from optistaff.plan_schema import ASSIGNMENT_COLUMNS, PlanSummary
from optistaff.scenario import Scenario
from optistaff.solvers import ProgressCallback, SolveStatus

#: Called with every plan :func:`solve` returns. The test suite registers the independent
#: plan checker here, so that every plan any test produces is verified.
PLAN_HOOKS: list[Callable[[Plan], None]] = []


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def solve(
    scenario: Scenario | str | os.PathLike[str],
    *,
    time_limit_s: float | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
) -> Plan:
    """Solve a scenario (a :class:`Scenario` or a path to a scenario file) into a Plan.

    ``time_limit_s`` and ``threads`` override the scenario's policy. The plan's status is
    ``optimal``, ``feasible`` (time limit: best plan found, with bound and gap) or
    ``infeasible`` (pins that only the solver finds contradictory: no assignment).

    The time limit covers the whole call and the plan's writing: it counts from
    ``started`` (a ``time.monotonic()`` reading; default: when this call starts), and the
    solver gets what is left after building the tables and before the time that naming
    the agents, evaluating and writing the plan are estimated to take
    (:func:`finishing_estimate_s`).
    """
    from optistaff.loading import load_scenario
    from optistaff.solvers.decomposition import solve_allocation

    clock_start = time.monotonic()
    started = clock_start if started is None else started
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise UsageError(f"time_limit_s must be a finite number of seconds > 0, got {time_limit_s}")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    policy = scenario.policy
    if time_limit_s is not None:
        policy = replace(policy, time_limit_s=float(time_limit_s))
    if threads is not None:
        policy = replace(policy, threads=int(threads))
    scenario = replace(scenario, policy=policy)

    problem = build_problem(scenario, pooled=True)
    identity = build_problem(scenario) if policy.switch_penalty > 0 else None
    # naming the agents needs scipy.optimize (~0.2-0.5 s to import): a large center
    # imports it in the background during the search; on a small one that import would
    # compete with the tables and the search for the GIL (measured on a 300-agent center,
    # 2 cores: 0.66-0.74 s without it, 0.81-0.97 s with it), so it waits for naming
    if _agent_intervals(problem) >= _PREFETCH_AGENT_INTERVALS:
        _prefetch("scipy.optimize")
    built = time.monotonic()
    finishing = finishing_estimate_s(problem)
    result = solve_allocation(
        problem,
        identity=identity,
        time_limit_s=max(policy.time_limit_s - (built - started) - finishing, 0.01),
        mip_gap=policy.mip_gap,
        threads=policy.threads,
        seed=policy.seed,
        progress=progress,
        stop=stop,
    )
    solved = time.monotonic()

    queue_ids = scenario.queue_ids
    if result.status == SolveStatus.INFEASIBLE:
        assignment: dict[tuple[str, int], str | None] = {}
        called: list[str] = []
    else:
        grouped = identity if identity is not None else problem
        by_index, called = disaggregate(grouped, result.counts, result.called_in)
        by_index = fill_idle(problem, keep_agents_in_place(problem, by_index))
        assignment = {k: (None if q is None else queue_ids[q]) for k, q in by_index.items()}
    ev = evaluate(scenario, assignment, called)

    total = float(ev.objective["total"])
    bound = result.bound
    gap: float | None = None
    if bound is not None and result.status != SolveStatus.INFEASIBLE:
        bound = max(bound, total)
        gap = (bound - total) / max(abs(bound), 1e-6)
    summary: PlanSummary = {
        "scenario": {
            "name": scenario.name,
            "content_hash": scenario.content_hash(),
            "input_hash": scenario.input_hash,
        },
        "versions": {
            "optistaff": __version__,
            "ortools": _version("ortools"),
            "python": platform.python_version(),
        },
        "solver": {
            "backend": result.backend,
            "decomposition": result.decomposition,
            "objective": policy.objective,
            "time_limit_s": policy.time_limit_s,
            "mip_gap": policy.mip_gap,
            "threads": policy.threads,
            "seed": policy.seed,
        },
        "status": str(result.status),
        "objective": ev.objective,
        "bound": bound,
        "gap": gap,
        "shortfall_bound": result.shortfall_bound,
        "called_in": called,
        "queues": ev.queues,
        "timing": {
            "build_s": round(built - clock_start, 3),
            "solve_s": round(solved - built, 3),
            "total_s": round(time.monotonic() - clock_start, 3),
        },
    }
    staffing = ev.staffing.copy()
    staffing["interval_start"] = pd.to_datetime(staffing["interval_start"], format="%Y-%m-%d %H:%M")
    plan = Plan(
        scenario=scenario,
        status=result.status,
        summary=summary,
        staffing=staffing,
        assignments=_assignment_frame(scenario, assignment),
    )
    for hook in PLAN_HOOKS:
        hook(plan)
    return plan


def _prefetch(module: str) -> None:
    """Import ``module`` in a background thread while tables and the search run (both
    mostly outside the GIL); a later import waits for it to finish (import lock)."""
    if module not in sys.modules:
        threading.Thread(
            target=importlib.import_module, args=(module,), name="optistaff-prefetch", daemon=True
        ).start()


# Seconds per agent-interval to name the agents, evaluate the plan and write it,
# measured on generated centers of 300-10,000 agents on a 2-core machine (about 1.8e-5
# on 10,000 agents, writing included), with margin.
_FINISH_S_PER_AGENT_INTERVAL = 2.5e-5


# Agent-intervals from which scipy.optimize is imported in the background during the
# search (below, importing it at naming time is cheaper than the contention).
_PREFETCH_AGENT_INTERVALS = 50_000
# Seconds to import scipy.optimize when naming needs it and nobody imported it yet.
_IMPORT_S = 0.4


def _agent_intervals(problem: AllocationProblem) -> int:
    return sum(g.size * sum(g.available) for g in problem.groups)


def finishing_estimate_s(problem: AllocationProblem) -> float:
    """Seconds the steps after the solver are expected to take (naming the agents,
    evaluating, writing the plan, and importing scipy.optimize for the naming when no
    background import started): the time limit reserves them."""
    agent_intervals = _agent_intervals(problem)
    late_import = agent_intervals < _PREFETCH_AGENT_INTERVALS and (
        "scipy.optimize" not in sys.modules
    )
    return 0.05 + _FINISH_S_PER_AGENT_INTERVAL * agent_intervals + (_IMPORT_S if late_import else 0)


def _assignment_frame(
    scenario: Scenario, assignment: dict[tuple[str, int], str | None]
) -> pd.DataFrame:
    """One row per (agent, interval) the agent works (scenario order, then time)."""
    starts = scenario.horizon.interval_starts()
    agents_in = {agent for agent, _t in assignment}
    rows = []
    for agent in scenario.agents:
        if agent.id not in agents_in:
            continue
        for t, ok in enumerate(agent.available):
            if ok:
                rows.append((agent.id, starts[t], assignment.get((agent.id, t))))
    frame = pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))
    frame["interval_start"] = pd.to_datetime(frame["interval_start"])
    frame["queue"] = frame["queue"].astype("string")
    return frame
