"""What a plan directory holds: the columns of ``staffing.csv`` and ``assignments.csv``,
and the keys of ``summary.json`` (docs/formats.md).

Solver-neutral and light (it imports only :mod:`typing`), so that every writer and
reader of plans — the pipeline, the evaluation, :mod:`optistaff.plan`, the views, the
command line — names the same columns and keys, and mypy checks every lookup in a
summary against :class:`PlanSummary`.

``summary.json`` is written with the keys in the order declared here (``files`` and
``timing`` last, see :func:`optistaff.plan.plan_files`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, TypeGuard, get_args

if TYPE_CHECKING:
    from optistaff.scenario import Objective as ObjectiveName

#: ``staffing.csv``: one row per (interval_start, queue), in this column order.
STAFFING_COLUMNS: tuple[str, ...] = (
    "interval_start",
    "queue",
    "agents",
    "required_agents",
    "calls",
    "aht_s",
    "service_level",
    "asa_s",
    "abandon_rate",
    "occupancy",
    "answered_within_target",
    "served",
    "value",
    "shortfall_sl_calls",
    "shortfall_abandon_calls",
    "shortfall_occupancy_calls",
)

#: ``staffing.csv`` of a plan whose figures are time-varying (``queue_model:
#: time_varying``): one more column, the calls of the interval still waiting when the
#: horizon ends (neither answered nor abandoned).
TIME_VARYING_COLUMNS: tuple[str, ...] = (*STAFFING_COLUMNS, "unanswered_at_end_calls")

#: ``assignments.csv``: one row per (agent, interval_start) the agent works; ``queue``
#: empty when unassigned.
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("agent", "interval_start", "queue")


class ScenarioInfo(TypedDict):
    """``summary["scenario"]``: which scenario was solved."""

    name: str
    content_hash: str  # "sha256:…" of the resolved scenario (scenario.yaml)
    input_hash: str | None  # "sha256:…" of every file read; None: built in memory


class Versions(TypedDict):
    """``summary["versions"]``: the software that solved the plan."""

    optistaff: str
    ortools: str
    python: str


class Proof(TypedDict):
    """``summary["solver"]["proof"]``: what the optimiser proved for the model it chose
    the plan by (``optimised_for``), when the figures are under another model."""

    status: str
    bound: float | None
    gap: float | None
    shortfall_bound: float | None


class EquityProof(TypedDict):
    """``summary["solver"]["equity"]`` (``objective: equity``): the leximin levels
    fixed, and a proven upper bound on the lowest queue service level of any plan that
    keeps level 1 (None: level 1 not proven, or no level solved)."""

    levels: int
    lowest_bound: float | None


class SolverSettings(TypedDict):
    """``summary["solver"]``: the backend and the policy it ran with."""

    backend: str
    decomposition: str
    objective: ObjectiveName  # "within_target", "served" or "equity"
    time_limit_s: float
    mip_gap: float
    threads: int
    seed: int
    #: the queue model the optimiser chose the plan by, when it differs from the model
    #: of the figures (``queue_model``); absent: the same
    optimised_for: NotRequired[str]
    #: the optimiser's status, bounds and gap for ``optimised_for``'s objective
    proof: NotRequired[Proof]
    #: a work-limited solve only (``optistaff.solvers.clock``): the limit, in work units
    #: instead of seconds, and the work the search spent; such a plan is the same on any
    #: machine and at any load
    work_limit: NotRequired[float]
    work: NotRequired[float]
    #: ``objective: equity`` only
    equity: NotRequired[EquityProof]


class Objective(TypedDict):
    """``summary["objective"]``: the objective parts, computed from the assignment."""

    weighted_shortfall: float
    value: float
    cost: float
    switching: float
    switches: int
    total: float  # value - cost - switching (- shortfall_price × weighted_shortfall)


class QueueTotals(TypedDict):
    """``summary["queues"][queue_id]``: one queue's totals over the horizon."""

    calls: float
    answered_within_target: float
    service_level: float | None  # None: no calls
    served: float
    abandon_rate: float | None  # None: no calls
    shortfall_calls: float
    daily_shortfall: float
    weighted_shortfall: float
    agent_intervals: int
    value: float
    #: time-varying figures only: calls still waiting when the horizon ends
    unanswered_at_end: NotRequired[float]


#: The keys of :class:`QueueTotals`, for lookups by a key chosen at run time
#: (``tests/test_plan_schema.py`` checks that both list the same keys).
QueueFigure = Literal[
    "calls",
    "answered_within_target",
    "service_level",
    "served",
    "abandon_rate",
    "shortfall_calls",
    "daily_shortfall",
    "weighted_shortfall",
    "agent_intervals",
    "value",
    "unanswered_at_end",
]
QUEUE_FIGURES: tuple[QueueFigure, ...] = get_args(QueueFigure)


def is_queue_figure(key: str) -> TypeGuard[QueueFigure]:
    """Whether ``key`` is a key of :class:`QueueTotals`."""
    return key in QUEUE_FIGURES


class Timing(TypedDict):
    """``summary["timing"]``: seconds (rounded to ms); the only block that varies
    between two solves of the same scenario."""

    build_s: float
    solve_s: float
    total_s: float
    #: the seconds the time limit left the search (after start-up, reading, the tables
    #: and the finishing steps' estimate); absent for a work-limited solve
    search_budget_s: NotRequired[float]
    #: the seconds the time-varying model's compiled kernels took to load (~0.4 s) or,
    #: on a machine's first time-varying day, to compile (~20 s); part of ``build_s``
    compile_s: NotRequired[float]


class PlanSummary(TypedDict):
    """The content of ``summary.json``, key for key and in order.

    ``files`` is added when the plan is written (:func:`optistaff.plan.plan_files`): a
    plan fresh from :func:`optistaff.solve` has none, a plan read back has it.
    ``versions`` and ``timing`` are read as optional: a plan without them is still read
    (the report shows ``?`` for missing versions).
    """

    scenario: ScenarioInfo
    versions: NotRequired[Versions]
    solver: SolverSettings
    status: str  # a SolveStatus value: "optimal", "feasible" or "infeasible"
    #: the queue model of every figure (``models/00-contract.md``); absent: stationary
    queue_model: NotRequired[str]
    objective: Objective
    bound: float | None  # the solver's bound on total; None: none proven
    gap: float | None  # relative gap between bound and total; None: no bound, or infeasible
    shortfall_bound: float | None  # lower bound on weighted_shortfall; None: none proven
    called_in: list[str]  # the optional agents called in
    queues: dict[str, QueueTotals]  # scenario queue order
    #: a re-planned plan only: what was changed, from when (:mod:`optistaff.replan`)
    replan: NotRequired[dict[str, Any]]
    files: NotRequired[dict[str, str]]  # file name -> "sha256:…" of the other files
    timing: NotRequired[Timing]


def queue_model_of(summary: PlanSummary) -> str:
    """The queue model of a plan's figures (``stationary`` for plans that do not say)."""
    return summary.get("queue_model", "stationary")
