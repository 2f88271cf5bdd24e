"""The readable pipeline: load → build → solve → name the agents → evaluate → Plan.

Each step is public: :func:`optistaff.loading.load_scenario`,
:func:`optistaff.formulation.build_problem`,
:func:`optistaff.solvers.decomposition.solve_allocation`,
:func:`optistaff.disaggregate.disaggregate`, :func:`optistaff.evaluate.evaluate`.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from typing import cast

from optistaff import __version__
from optistaff.disaggregate import disaggregate, fill_idle, keep_agents_in_place
from optistaff.errors import UsageError
from optistaff.evaluate import evaluate
from optistaff.formulation import AllocationProblem, build_problem
from optistaff.plan import Plan
from optistaff.plan_schema import (
    ASSIGNMENT_COLUMNS,
    PlanSummary,
    Proof,
    ScenarioInfo,
    SolverSettings,
    Versions,
)
from optistaff.scenario import QueueModelName, Scenario
from optistaff.solvers import ProgressCallback, SolveStatus, Strategy, clock
from optistaff.tables import Kind, Table

#: Called with every plan :func:`solve` returns. The test suite registers the independent
#: plan checker here, so that every plan any test produces is verified.
PLAN_HOOKS: list[Callable[[Plan], None]] = []
# assignments.csv: agent, interval_start, queue (empty when unassigned; optistaff.tables)
ASSIGNMENT_KINDS: tuple[Kind, ...] = ("str", "time", "string")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def scenario_info(scenario: Scenario) -> ScenarioInfo:
    """``summary["scenario"]``: the scenario's name and hashes."""
    return {
        "name": scenario.name,
        "content_hash": scenario.content_hash(),
        "input_hash": scenario.input_hash,
    }


def software_versions() -> Versions:
    """``summary["versions"]``: the software that made the plan."""
    return {
        "optistaff": __version__,
        "ortools": _version("ortools"),
        "python": platform.python_version(),
    }


def solve(
    scenario: Scenario | str | os.PathLike[str],
    *,
    time_limit_s: float | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
    work_limit: float | None = None,
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

    ``work_limit`` replaces the time limit by a limit on the search's work
    (:mod:`optistaff.solvers.clock`, units ≈ seconds on the reference machine): the
    search then stops at the same point whatever the machine and its load, so that the
    plan, ``feasible`` or ``optimal``, is the same wherever it is solved (sweeps that must
    reproduce exactly). It runs on one thread; the time limit does not apply.
    """
    from optistaff.loading import load_scenario

    clock_start = time.monotonic()
    started = clock_start if started is None else started
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise UsageError(f"time_limit_s must be a finite number of seconds > 0, got {time_limit_s}")
    if work_limit is not None and not (math.isfinite(work_limit) and work_limit > 0):
        raise UsageError(f"work_limit must be a finite number > 0, got {work_limit}")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    policy = scenario.policy
    if time_limit_s is not None:
        policy = replace(policy, time_limit_s=float(time_limit_s))
    if threads is not None:
        policy = replace(policy, threads=int(threads))
    if work_limit is not None:
        policy = replace(policy, threads=1)  # (work is deterministic on one thread)
    scenario = replace(scenario, policy=policy)
    if policy.objective == "equity" and policy.queue_model == "time_varying":
        # the equity optimiser is stationary: its plan, then the day as it will run
        # (feasible, optimised_for: stationary; models/16-equity.md)
        stationary = replace(scenario, policy=replace(policy, queue_model="stationary"))
        chosen = solve(
            stationary, progress=progress, stop=stop, started=started, work_limit=work_limit
        )
        return evaluate_plan(replace(chosen, scenario=scenario), "time_varying")

    problem = build_problem(scenario, pooled=True)
    if policy.queue_model == "time_varying":
        _refuse_days_beyond_the_limit(problem)
    identity = build_problem(scenario, like=problem) if policy.switch_penalty > 0 else None
    if policy.queue_model == "time_varying":
        from optistaff import time_varying

        # (fixed work, before the limit is shared out: ~18 s on a machine's first day)
        compile_s: float | None = time_varying.compile_kernels()
    else:
        compile_s = None
    varying = policy.queue_model == "time_varying"
    # (importing the strategy's modules is fixed work too: ~0.5 s for the time-varying
    # one in a fresh process, which a tiny limit must not be charged for)
    strategy = _strategy(policy.objective, varying)
    built = time.monotonic()
    finishing = finishing_estimate_s(problem)
    limit = max(policy.time_limit_s - (built - started) - finishing, 0.01)
    with contextlib.ExitStack() as counted:
        work = None
        if work_limit is not None:
            work = counted.enter_context(clock.counting())
            limit = float(work_limit)
        result = strategy(
            problem,
            identity=identity,
            time_limit_s=limit,
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
        by_index = keep_agents_in_place(problem, by_index)
        if not varying:
            # (under carry-over an extra agent is not free: the time-varying strategy has
            # placed the idle agents, then left idle those whose work hurts the day,
            # models/13-carry-over.md)
            by_index = fill_idle(problem, by_index)
        assignment = {k: (None if q is None else queue_ids[q]) for k, q in by_index.items()}
    ev = evaluate(scenario, assignment, called)

    total = float(ev.objective["total"])
    bound = result.bound
    shortfall_bound = result.shortfall_bound
    status = result.status
    gap: float | None = None
    if bound is not None and status != SolveStatus.INFEASIBLE:
        bound = max(bound, total)
        gap = (bound - total) / max(abs(bound), 1e-6)
    summary: PlanSummary = {
        "scenario": scenario_info(scenario),
        "versions": software_versions(),
        "solver": {
            "backend": result.backend,
            "decomposition": result.decomposition,
            "objective": policy.objective,
            "time_limit_s": policy.time_limit_s,
            "mip_gap": policy.mip_gap,
            "threads": policy.threads,
            "seed": policy.seed,
        },
        "status": str(status),
        "objective": ev.objective,
        "bound": bound,
        "gap": gap,
        "shortfall_bound": shortfall_bound,
        "called_in": called,
        "queues": ev.queues,
        "timing": {
            "build_s": round(built - clock_start, 3),
            "solve_s": round(solved - built, 3),
            "total_s": round(time.monotonic() - clock_start, 3),
        },
    }
    if work_limit is None:  # the seconds the time limit left the search
        summary["timing"]["search_budget_s"] = round(limit, 3)
    if compile_s is not None:
        summary["timing"]["compile_s"] = round(compile_s, 3)
    if policy.objective == "equity":
        bound_sl = result.stats.get("lowest_bound")
        summary["solver"]["equity"] = {
            "levels": int(result.stats.get("leximin_levels", 0)),
            "lowest_bound": None if bound_sl is None else float(bound_sl),
        }
    if work is not None and work_limit is not None:
        summary["solver"]["work_limit"] = float(work_limit)
        summary["solver"]["work"] = round(work.spent, 6)
    if varying:
        summary = _time_varying_summary(summary, None, None)
    plan = Plan(
        scenario=scenario,
        status=status,
        summary=summary,
        staffing=ev.table,
        assignments=_assignment_table(scenario, assignment),
    )
    for hook in PLAN_HOOKS:
        hook(plan)
    return plan


def _strategy(objective: str, varying: bool) -> Strategy:
    """The decomposition strategy for the objective and queue model, imported only when
    chosen (the time-varying one loads numba's kernels, ~0.3 s a start)."""
    if objective == "equity":
        from optistaff.solvers.leximin import solve_leximin

        return solve_leximin
    if varying:
        from optistaff.solvers.carry_over import solve_carry_over

        return solve_carry_over
    from optistaff.solvers.decomposition import solve_allocation

    return solve_allocation


def _refuse_days_beyond_the_limit(problem: AllocationProblem) -> None:
    """UsageError (exit 2, before anything is solved or written) when one evaluation of
    some queue's day under the time-varying model would alone take longer than the time
    limit: its work (:func:`optistaff.time_varying.work_estimate`, every eligible agent
    staffed) grows with the calls and the abandonment per interval, and the time-varying
    search evaluates such days many times."""
    from optistaff import time_varying

    sc = problem.scenario
    limit = sc.policy.time_limit_s
    for qi, queue in enumerate(sc.queues):
        agents = [problem.max_agents(qi, t) for t in range(sc.horizon.intervals)]
        seconds = time_varying.work_estimate(time_varying.day_of(sc, qi, agents))
        seconds /= time_varying.WORK_PER_S
        if seconds > limit:
            raise UsageError(
                f"queue {queue.id}: one evaluation of its day under the time-varying model "
                f"needs about {seconds:,.0f} s or more (up to {max(queue.forecast):,.0f} "
                f"calls an interval), more than the time limit ({limit:g} s); use "
                "--queue-model stationary (or policy.queue_model: stationary), or a longer "
                "--time-limit"
            )


def _proof(
    status: SolveStatus, bound: float | None, shortfall_bound: float | None, total: float
) -> Proof:
    """The optimiser's status, bound and gap for the objective it optimised."""
    gap = None
    if bound is not None:
        bound = max(bound, total)
        gap = (bound - total) / max(abs(bound), 1e-6)
    return {"status": str(status), "bound": bound, "gap": gap, "shortfall_bound": shortfall_bound}


def _time_varying_summary(
    summary: PlanSummary, optimised_for: str | None, proof: Proof | None
) -> PlanSummary:
    """``summary`` with the keys of time-varying figures: ``queue_model`` after the
    status and, when the optimiser chose the plan by another model, ``optimised_for``
    and its ``proof`` in the solver block (key order as in
    :class:`~optistaff.plan_schema.PlanSummary`)."""
    out: dict[str, object] = {}
    for key, value in summary.items():
        out[key] = value
        if key == "status":
            out["queue_model"] = "time_varying"
    if optimised_for is not None:
        out["solver"] = _with_proof(summary["solver"], optimised_for, proof)
    return cast(PlanSummary, out)


def _with_proof(solver: SolverSettings, optimised_for: str, proof: Proof | None) -> SolverSettings:
    """``solver`` saying which model the optimiser chose the plan by, and its proof."""
    out = cast(
        SolverSettings,
        {k: v for k, v in solver.items() if k not in ("optimised_for", "proof")},
    )
    out["optimised_for"] = optimised_for
    if proof is not None:
        out["proof"] = proof
    return out


def evaluate_plan(plan: Plan, queue_model: QueueModelName) -> Plan:
    """``plan``'s own assignment (and called-in agents) re-evaluated under
    ``queue_model``, without re-solving: every figure and the objective under that
    model. The plan keeps its status and bounds only when the model is the one the
    optimiser proved them for; otherwise it is ``feasible`` with no bound (nothing is
    proven for the other model)."""
    import pandas as pd

    from optistaff.plan_schema import queue_model_of

    began = time.monotonic()
    scenario = replace(plan.scenario, policy=replace(plan.scenario.policy, queue_model=queue_model))
    starts = {ts: t for t, ts in enumerate(scenario.horizon.interval_starts())}
    assignment: dict[tuple[str, int], str | None] = {}
    for agent, ts, queue in plan.assignments.itertuples(index=False):
        assignment[(str(agent), starts[pd.Timestamp(ts).to_pydatetime()])] = (
            None if pd.isna(queue) else str(queue)
        )
    ev = evaluate(scenario, assignment, plan.called_in)
    old = plan.summary
    proved_for = old["solver"].get("optimised_for", queue_model_of(old))
    same = proved_for == queue_model
    # what the optimiser proved for its own model: the plan's status and bounds when
    # its figures are under that model, else the proof kept beside them
    kept = old["solver"].get("proof")
    if kept is None and proved_for == queue_model_of(old):
        kept = {
            "status": old["status"],
            "bound": old["bound"],
            "gap": old["gap"],
            "shortfall_bound": old["shortfall_bound"],
        }
    status = SolveStatus(kept["status"]) if same and kept is not None else SolveStatus.FEASIBLE
    if plan.status == SolveStatus.INFEASIBLE:
        status = plan.status
    total = float(ev.objective["total"])
    bound = kept["bound"] if same and kept is not None else None
    gap = None
    if bound is not None:
        bound = max(bound, total)
        gap = (bound - total) / max(abs(bound), 1e-6)
    solver = cast(
        SolverSettings,
        {k: v for k, v in old["solver"].items() if k not in ("optimised_for", "proof")},
    )
    if not same:
        solver = _with_proof(solver, proved_for, kept)
    summary = cast(PlanSummary, {})
    summary["scenario"] = {
        "name": scenario.name,
        "content_hash": scenario.content_hash(),
        "input_hash": old["scenario"]["input_hash"],
    }
    if "versions" in old:
        summary["versions"] = old["versions"]
    summary["solver"] = solver
    summary["status"] = str(status)
    summary["objective"] = ev.objective
    summary["bound"] = bound
    summary["gap"] = gap
    summary["shortfall_bound"] = kept["shortfall_bound"] if same and kept is not None else None
    summary["called_in"] = list(plan.called_in)
    summary["queues"] = ev.queues
    if queue_model == "time_varying":
        summary = _time_varying_summary(summary, None, None)
    # (the re-evaluation's own time: nothing was built or solved)
    summary["timing"] = {
        "build_s": 0.0,
        "solve_s": 0.0,
        "total_s": round(time.monotonic() - began, 3),
    }
    return Plan(
        scenario=scenario,
        status=status,
        summary=summary,
        staffing=ev.table,
        assignments=plan.assignments.copy(),
    )


# Seconds per agent-interval to name the agents, evaluate the plan, write it, print it
# and exit, measured on generated centers of 300-10,000 agents on a 2-core machine on a
# slow day: 3.3e-5 on the 10,000-agent center (261,833 agent-intervals: 5.6 s to name and
# evaluate, 2.5 s to write, 0.5 s to print and exit), with a little margin (the limit is
# a promise). The most a stationary solve reserves, and what any other always does.
_FINISH_S_PER_AGENT_INTERVAL = 3.5e-5
# The same steps of a stationary plan measured on 2026-12-03 (the 10,000-agent center:
# 0.87 s to name and evaluate, 0.77 s to write, ~0.1 s to print and exit: 6.7e-6 s per
# agent-interval) while :func:`_python_pace` took _PACE_REFERENCE_S there (in a solve of
# that center; 2.9-3.0 ms on the 2,000-agent one).
_FINISH_S_MEASURED = 6.7e-6
_PACE_REFERENCE_S = 2.9e-3
# The stationary reserve: the measured rate scaled by the pace of this machine now, times
# a margin that also covers a machine that slows down after the pace is read (two
# threads of matrix products on both cores slowed the finishing steps 1.9-2.0x).
_PACE_MARGIN = 2.5
# Below this many agent-intervals the reserve is under 0.75 s: no pace is read.
_PACED_FROM = 20_000


def _agent_intervals(problem: AllocationProblem) -> int:
    return sum(g.size * sum(g.available) for g in problem.groups)


def _python_pace() -> float:
    """Seconds a fixed piece of pure-Python work takes on this machine now (dicts of
    tuples and strings, as naming the agents and writing the plan do; the mean of three
    runs, ~3 ms each on the reference machine)."""
    import gc

    runs = []
    collecting = gc.isenabled()
    gc.disable()  # (a collection's cost follows the heap, e.g. a large scenario, not speed)
    try:
        for _ in range(3):
            began = time.perf_counter()
            d: dict[tuple[int, int], str] = {}
            for i in range(20_000):
                d[(i, i % 7)] = str(i)
            sum(len(v) for v in d.values())
            runs.append(time.perf_counter() - began)
    finally:
        if collecting:
            gc.enable()
    return math.fsum(runs) / len(runs)


def finishing_estimate_s(problem: AllocationProblem) -> float:
    """Seconds the steps after the solver are expected to take (naming the agents,
    evaluating, writing the plan): the time limit reserves them. Proportional to the
    agent-intervals; for a stationary plan at the rate measured here scaled by this
    machine's pace now (with a margin), never more than the slow day's rate nor less
    than the measured one."""
    ai = _agent_intervals(problem)
    rate = _FINISH_S_PER_AGENT_INTERVAL
    if problem.scenario.policy.queue_model == "stationary" and ai >= _PACED_FROM:
        paced = _PACE_MARGIN * _FINISH_S_MEASURED * _python_pace() / _PACE_REFERENCE_S
        # (never below the measured rate itself: a pace read far too short, e.g. by a
        # coarse clock, must not leave the finishing no time)
        rate = min(rate, max(paced, _FINISH_S_MEASURED))
    return 0.05 + rate * ai


def _assignment_table(scenario: Scenario, assignment: dict[tuple[str, int], str | None]) -> Table:
    """One row per (agent, interval) the agent works (scenario order, then time)."""
    labels = scenario.horizon.labels()
    agents_in = {agent for agent, _t in assignment}
    rows = []
    for agent in scenario.agents:
        if agent.id not in agents_in:
            continue
        for t, ok in enumerate(agent.available):
            if ok:
                rows.append((agent.id, labels[t], assignment.get((agent.id, t))))
    return Table(ASSIGNMENT_COLUMNS, rows, ASSIGNMENT_KINDS)
