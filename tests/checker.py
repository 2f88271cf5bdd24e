"""An independent checker of plan directories, written from the contract
(``models/00-contract.md``) and the formats (``docs/formats.md``).

It uses no solver code (nothing from ``optistaff.formulation``, ``optistaff.solvers``
or ``optistaff.plan``): only the scenario loader and the queueing functions, which are
tested on their own against references. From a plan's ``assignments.csv`` and
``scenario.yaml`` it recomputes every column of ``staffing.csv`` and every number of
``summary.json`` and compares them at 1e-9 relative; it also checks that the
assignment is feasible (availability, skills, pins, called-in agents, one queue per
agent per interval).

``evaluate()`` is the same arithmetic as a function of a decision (an assignment and
a called-in set); ``brute.py`` uses it to rank every feasible decision.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from optistaff.scenario import Queue, Scenario

MAX_LISTED = 60  # problems listed in the AssertionError (all are in CheckReport.problems)
REL_TOL = 1e-9
ABS_TOL = 1e-12

STAFFING_COLUMNS = (
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
ASSIGNMENT_COLUMNS = ("agent", "interval_start", "queue")
# columns that are differences/products of call counts: compared relative to λ (or w·λ)
#: a time-varying plan's staffing.csv: one more column (the contract, "Queue models")
TIME_VARYING_COLUMNS = (*STAFFING_COLUMNS, "unanswered_at_end_calls")
#: the largest chain (states) the dense reference is asked to solve for one queue
TV_REFERENCE_STATES = 60
#: ... and the longest horizon (intervals)
TV_REFERENCE_INTERVALS = 8

CALL_COLUMN_SCALE = {
    "answered_within_target": 1.0,
    "served": 1.0,
    "value": 1.0,
    "shortfall_sl_calls": 1.0,
    "shortfall_abandon_calls": 1.0,
    "shortfall_occupancy_calls": 1.0,
}
QUEUE_SUMMARY_KEYS = (
    "calls",
    "answered_within_target",
    "service_level",
    "served",
    "abandon_rate",
    "weighted_shortfall",
    "daily_shortfall",
    "agent_intervals",
    "value",
)
OBJECTIVE_KEYS = ("weighted_shortfall", "value", "cost", "switching", "switches", "total")

Decision = Mapping[tuple[str, int], str | None]
"""(agent id, interval index) -> queue id, or None for unassigned. Keys exist exactly for
the agent-intervals that are worked (available, and called in if optional)."""


def close(got: float | None, want: float | None, scale: float = 0.0) -> bool:
    """``got`` equals ``want`` within 1e-9 relative (of the larger of them and ``scale``,
    the size of the terms that were summed), with a 1e-12 absolute floor; None only
    equals None."""
    if got is None or want is None:
        return got is None and want is None
    if math.isnan(got) or math.isnan(want):
        return False
    size = max(abs(got), abs(want), abs(scale))
    return abs(got - want) <= max(REL_TOL * size, ABS_TOL)


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


# -- queueing tables --------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """Queueing values of one (queue, interval) with n agents (None: null)."""

    service_level: float | None
    abandon_rate: float | None
    asa_s: float | None
    occupancy: float | None


class Tables:
    """Queueing values of (queue, interval, n), n = 0..n_max, from optistaff.queueing,
    computed when first asked for (a plan needs one n per cell; a 10,000-agent center's
    full tables would be a hundred million entries)."""

    def __init__(self, scenario: Scenario, n_max: int | None = None) -> None:
        self.scenario = scenario
        self.n_max = len(scenario.agents) if n_max is None else n_max
        self.interval_s = scenario.horizon.interval_s
        self._kpi: dict[tuple[int, int, int], Kpi] = {}

    def kpi(self, qi: int, t: int, n: int) -> Kpi:
        from optistaff.queueing import performance

        assert 0 <= n <= self.n_max, f"n = {n} outside 0..{self.n_max}"
        key = (qi, t, n)
        if key not in self._kpi:
            q = self.scenario.queues[qi]
            p = performance(
                q.forecast[t], q.aht_s[t], self.interval_s, q.answer_within_s, n, q.patience_s
            )
            self._kpi[key] = Kpi(
                *(
                    _none_if_nan(float(np.asarray(x, dtype=float)))
                    for x in (p.service_level, p.abandon_rate, p.asa_s, p.occupancy)
                )
            )
        return self._kpi[key]


def offered_load(q: Queue, t: int, interval_s: float) -> Fraction:
    """a = λ·h/Δ, exactly (for the float inputs as given)."""
    return Fraction(q.forecast[t]) * Fraction(q.aht_s[t]) / Fraction(interval_s)


def required_agents_range(q: Queue, t: int, interval_s: float) -> tuple[int, int] | None:
    """The smallest n meeting the queue's per-interval standards (and n > a for Erlang C),
    as a range [lo, hi]: lo with the comparisons of SL and abandon relaxed by 1e-9, hi with
    them tightened by 1e-9 (a value at the boundary may fall either way in floating point).
    None when nothing is required (Erlang A without per-interval standards)."""
    from optistaff.queueing import performance

    lam = q.forecast[t]
    if lam == 0:
        return (0, 0)
    has_standard = (
        q.min_service_level is not None
        or q.max_abandon_rate is not None
        or q.max_occupancy is not None
    )
    if not has_standard and q.erlang_a:
        return None
    a = offered_load(q, t, interval_s)
    cache: dict[int, tuple[float, float]] = {}

    def kpis(n: int) -> tuple[float, float]:
        """(SL, abandon) with n agents, computed a window at a time."""
        if n not in cache:
            window = np.arange(n, n + 32 + n // 2)
            p = performance(lam, q.aht_s[t], interval_s, q.answer_within_s, window, q.patience_s)
            sl = np.broadcast_to(np.asarray(p.service_level, dtype=float), window.shape)
            ab = np.broadcast_to(np.asarray(p.abandon_rate, dtype=float), window.shape)
            cache.update(
                {int(k): (float(x), float(y)) for k, x, y in zip(window, sl, ab, strict=True)}
            )
        return cache[n]

    def smallest(slack: float) -> int:
        cap = int(a) + 5000
        for n in range(cap + 1):
            if not q.erlang_a and not n > a:
                continue
            if q.max_occupancy is not None and not a <= Fraction(q.max_occupancy) * n * (
                1 + Fraction(slack)
            ):
                continue
            sl, ab = kpis(n)
            if q.min_service_level is not None and not sl >= q.min_service_level - slack:
                continue
            if q.max_abandon_rate is not None and not ab <= q.max_abandon_rate + slack:
                continue
            return n
        raise AssertionError(f"no n <= {cap} meets the standards of {q.id} at t={t}")

    return (smallest(1e-9), smallest(-1e-9))


# -- evaluation of a decision -----------------------------------------------------------


@dataclass
class Evaluation:
    """Every number a plan reports, recomputed from a decision with the contract's formulas."""

    weighted_shortfall: float
    value: float
    cost: float
    switching: float
    switches: int
    total: float
    called_in: tuple[str, ...]
    agents: dict[tuple[str, int], int]  # (queue, t) -> n
    rows: dict[tuple[int, str], dict[str, Any]]  # (t, queue) -> staffing columns
    queues: dict[str, dict[str, Any]]  # queue -> summary.json per-queue block
    scales: dict[str, float] = field(default_factory=dict)  # size of summed terms, for tolerances
    skipped: list[str] = field(default_factory=list)  # time-varying queues not recomputed

    def key(self) -> tuple[float, float]:
        return (self.weighted_shortfall, self.total)


def interval_row(scenario: Scenario, tables: Tables, qi: int, t: int, n: int) -> dict[str, Any]:
    """The staffing.csv columns of queue ``qi`` in interval t with n agents (models/00-contract.md),
    except ``interval_start``, ``queue`` and ``required_agents``."""
    q = scenario.queues[qi]
    lam = q.forecast[t]
    h = q.aht_s[t]
    interval_s = scenario.horizon.interval_s
    kpi = tables.kpi(qi, t, n)
    row: dict[str, Any] = {"agents": n, "calls": lam, "aht_s": h}
    if lam == 0:
        row.update(
            service_level=None,
            asa_s=None,
            abandon_rate=kpi.abandon_rate,  # the contract leaves it open at λ = 0: queueing decides
            occupancy=None,
            answered_within_target=0.0,
            served=0.0,
            value=0.0,
            shortfall_sl_calls=0.0,
            shortfall_abandon_calls=0.0,
            shortfall_occupancy_calls=0.0,
        )
        return row
    sl = kpi.service_level
    ab = kpi.abandon_rate
    assert sl is not None and ab is not None, f"queueing gave a null SL/abandon for λ={lam}, n={n}"
    if not q.erlang_a:
        assert ab == 0.0, f"Erlang C abandon must be 0, queueing gave {ab}"
    answered = lam * sl
    served = lam * (1.0 - ab)
    row["service_level"] = sl
    row["asa_s"] = kpi.asa_s
    row["abandon_rate"] = ab
    row["occupancy"] = kpi.occupancy
    row["answered_within_target"] = answered
    row["served"] = served
    row["value"] = q.value * (served if scenario.policy.objective == "served" else answered)
    s, r, o = q.min_service_level, q.max_abandon_rate, q.max_occupancy
    row["shortfall_sl_calls"] = 0.0 if s is None else max(0.0, s * lam - lam * sl)
    row["shortfall_abandon_calls"] = 0.0 if r is None else max(0.0, lam * ab - r * lam)
    row["shortfall_occupancy_calls"] = 0.0 if o is None else max(0.0, lam - o * n * interval_s / h)
    return row


def tv_reference_states(scenario: Scenario, qi: int, agents: list[int]) -> int:
    """The checker's own truncation for the dense reference: the most agents, the start
    state and the backlog an overload can build, plus a generous Poisson margin."""
    q = scenario.queues[qi]
    interval_s = scenario.horizon.interval_s
    state = scenario.initial_state.of(q.id) if scenario.initial_state is not None else None
    start = 0 if state is None else state.waiting + state.in_service
    backlog = worst = 0.0
    for t, lam in enumerate(q.forecast):
        capacity = agents[t] * interval_s / q.aht_s[t] if not q.erlang_a else math.inf
        backlog = max(0.0, backlog + lam - capacity)
        worst = max(worst, backlog)
    peak = max(q.forecast, default=0.0)
    return int(max(agents, default=0) + start + worst + peak + 8 * math.sqrt(peak + 1) + 12)


#: tv_rows by (scenario hash, queue, staffing): the dense reference is the checker's
#: slowest part (15 s for a three-agent day), and tests check the same day repeatedly
#: (a plan, then the same plan with a figure broken on purpose). Copies are handed out.
_TV_ROWS: dict[tuple[str, int, tuple[int, ...]], list[dict[str, Any]] | None] = {}


def tv_rows(scenario: Scenario, qi: int, agents: list[int]) -> list[dict[str, Any]] | None:
    """Queue ``qi``'s staffing rows under the time-varying model from the dense
    reference (tests/tv_reference.py); None when its chain is too large for it.
    Remembered per (scenario content, queue, staffing) (:data:`_TV_ROWS`)."""
    key = (scenario.content_hash(), qi, tuple(int(n) for n in agents))
    if key not in _TV_ROWS:
        _TV_ROWS[key] = _tv_rows(scenario, qi, agents)
    rows = _TV_ROWS[key]
    return None if rows is None else [dict(r) for r in rows]


def _tv_rows(scenario: Scenario, qi: int, agents: list[int]) -> list[dict[str, Any]] | None:
    import numpy as np
    from tv_reference import reference

    q = scenario.queues[qi]
    K = tv_reference_states(scenario, qi, agents)
    if K > TV_REFERENCE_STATES or scenario.horizon.intervals > TV_REFERENCE_INTERVALS:
        return None
    state = scenario.initial_state.of(q.id) if scenario.initial_state is not None else None
    if state is not None and scenario.initial_state is not None and scenario.initial_state.at:
        return None  # (the reference starts at the horizon start only)
    interval_s = scenario.horizon.interval_s
    ref = reference(
        np.asarray(q.forecast, dtype=float),
        np.asarray(q.aht_s, dtype=float),
        np.asarray(agents),
        interval_s,
        q.answer_within_s,
        q.patience_s,
        K,
        start_waiting=0 if state is None else state.waiting,
        start_in_service=0 if state is None else state.in_service,
    )
    rows = []
    for t, lam in enumerate(q.forecast):
        n = agents[t]
        h = q.aht_s[t]
        within = float(ref.answered_within[t])
        answered = float(ref.answered[t])
        abandoned = float(ref.abandoned[t])
        row: dict[str, Any] = {"agents": n, "calls": lam, "aht_s": h}
        row["service_level"] = within / lam if lam > 0 else None
        row["asa_s"] = (
            float(ref.wait_answered_s[t]) / answered if lam > 0 and answered > 0 else None
        )
        row["abandon_rate"] = abandoned / lam if lam > 0 else 0.0
        row["occupancy"] = float(ref.busy_s[t]) / (n * interval_s) if n > 0 else None
        row["answered_within_target"] = within if lam > 0 else 0.0
        row["served"] = answered if lam > 0 else 0.0
        worth = answered if scenario.policy.objective == "served" else within
        row["value"] = q.value * worth if lam > 0 else 0.0
        s, r, o = q.min_service_level, q.max_abandon_rate, q.max_occupancy
        row["shortfall_sl_calls"] = 0.0 if s is None or lam == 0 else max(0.0, s * lam - within)
        row["shortfall_abandon_calls"] = (
            0.0 if r is None or lam == 0 else max(0.0, abandoned - r * lam)
        )
        row["shortfall_occupancy_calls"] = (
            0.0 if o is None or lam == 0 else max(0.0, lam - o * n * interval_s / h)
        )
        row["unanswered_at_end_calls"] = float(ref.waiting_at_end[t])
        rows.append(row)
    return rows


def tv_rows_from_file(
    scenario: Scenario, qi: int, agents: list[int], records: dict[tuple[int, str], dict[str, str]]
) -> list[dict[str, Any]]:
    """For a time-varying queue too large for the dense reference: the file's own
    service level, abandon rate, ASA, occupancy and unanswered calls, and every other
    column derived from them with the contract's formulas (so the derived columns, the
    conservation of calls and the objective are still checked)."""
    q = scenario.queues[qi]
    interval_s = scenario.horizon.interval_s
    rows = []
    for t, lam in enumerate(q.forecast):
        rec = records.get((t, q.id), {})

        def num(col: str, rec: dict[str, str] = rec) -> float | None:
            text = rec.get(col, "")
            return None if text == "" else float(text)

        n, h = agents[t], q.aht_s[t]
        sl, ab, left = num("service_level"), num("abandon_rate"), num("unanswered_at_end_calls")
        within = lam * sl if lam > 0 and sl is not None else 0.0
        abandoned = lam * ab if lam > 0 and ab is not None else 0.0
        answered = lam - abandoned - (left or 0.0) if lam > 0 else 0.0
        worth = answered if scenario.policy.objective == "served" else within
        s_, r_, o_ = q.min_service_level, q.max_abandon_rate, q.max_occupancy
        rows.append(
            {
                "agents": n,
                "calls": lam,
                "aht_s": h,
                "service_level": sl if lam > 0 else None,
                "asa_s": num("asa_s"),
                "abandon_rate": ab if lam > 0 else num("abandon_rate"),
                "occupancy": num("occupancy"),
                "answered_within_target": within,
                "served": answered,
                "value": q.value * worth,
                "shortfall_sl_calls": 0.0
                if s_ is None or lam == 0
                else max(0.0, s_ * lam - within),
                "shortfall_abandon_calls": (
                    0.0 if r_ is None or lam == 0 else max(0.0, abandoned - r_ * lam)
                ),
                "shortfall_occupancy_calls": (
                    0.0 if o_ is None or lam == 0 else max(0.0, lam - o_ * n * interval_s / h)
                ),
                "unanswered_at_end_calls": left if left is not None else 0.0,
            }
        )
    return rows


def count_switches(decision: Decision) -> int:
    """Agent on q in t and on another queue in t+1 (both assigned, both worked)."""
    switches = 0
    for (aid, t), qid in decision.items():
        nxt = decision.get((aid, t + 1))
        if qid is not None and nxt is not None and nxt != qid:
            switches += 1
    return switches


def evaluate(
    scenario: Scenario,
    decision: Decision,
    called_in: Iterable[str],
    tables: Tables | None = None,
    file_rows: dict[tuple[int, str], dict[str, str]] | None = None,
) -> Evaluation:
    """Objective parts, staffing rows and per-queue totals of a decision (models/00-contract.md).

    Time-varying figures come from the dense reference where the chain is small enough,
    else (``skipped``) from ``file_rows`` (the plan's staffing.csv) by
    :func:`tv_rows_from_file`.

    Feasibility is not checked here (see :func:`decision_problems`)."""
    tables = Tables(scenario) if tables is None else tables
    called = set(called_in)
    horizon = scenario.horizon
    policy = scenario.policy
    n_of: dict[tuple[str, int], int] = {
        (q.id, t): 0 for q in scenario.queues for t in range(horizon.intervals)
    }
    for (_aid, t), qid in decision.items():
        if qid is not None:
            n_of[qid, t] += 1

    rows: dict[tuple[int, str], dict[str, Any]] = {}
    queues: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []  # time-varying queues too large for the dense reference
    shortfall_total = 0.0
    value_total = 0.0
    shortfall_scale = 0.0
    varying = policy.queue_model == "time_varying"
    for qi, q in enumerate(scenario.queues):
        calls = answered = served = abandoned = per_interval_shortfall = value = 0.0
        agent_intervals = 0
        tv = None
        if varying:
            agents_q = [n_of[q.id, t] for t in range(horizon.intervals)]
            tv = tv_rows(scenario, qi, agents_q)
            if tv is None:
                skipped.append(q.id)
                tv = tv_rows_from_file(scenario, qi, agents_q, file_rows or {})
        for t in range(horizon.intervals):
            n = n_of[q.id, t]
            row = interval_row(scenario, tables, qi, t, n) if tv is None else tv[t]
            rows[t, q.id] = row
            lam = q.forecast[t]
            calls += lam
            answered += row["answered_within_target"]
            served += row["served"]
            if lam > 0:
                abandoned += lam * row["abandon_rate"]
            per_interval_shortfall += (
                row["shortfall_sl_calls"]
                + row["shortfall_abandon_calls"]
                + row["shortfall_occupancy_calls"]
            )
            value += row["value"]
            agent_intervals += n
        d = q.daily_service_level
        daily = 0.0 if d is None else max(0.0, d * calls - answered)
        weighted = q.weight * (per_interval_shortfall + daily)
        shortfall_total += weighted
        value_total += value
        shortfall_scale += abs(q.weight) * calls * 4
        queues[q.id] = {
            "calls": calls,
            "answered_within_target": answered,
            "service_level": answered / calls if calls > 0 else None,
            "served": served,
            "abandon_rate": abandoned / calls if calls > 0 else None,
            "weighted_shortfall": weighted,
            "daily_shortfall": daily,
            "agent_intervals": agent_intervals,
            "value": value,
        }
        if tv is not None:
            queues[q.id]["unanswered_at_end"] = sum(r["unanswered_at_end_calls"] for r in tv)

    cost = sum(a.cost * a.available_intervals for a in scenario.agents if a.id in called)
    switches = count_switches(decision)
    switching = policy.switch_penalty * switches
    total = value_total - cost - switching
    total_scale = abs(value_total) + abs(cost) + abs(switching)
    if policy.shortfall_price is not None:
        total -= policy.shortfall_price * shortfall_total
        total_scale += policy.shortfall_price * (shortfall_total + shortfall_scale)
    return Evaluation(
        weighted_shortfall=shortfall_total,
        value=value_total,
        cost=cost,
        switching=switching,
        switches=switches,
        total=total,
        called_in=tuple(a.id for a in scenario.agents if a.id in called),
        agents=n_of,
        rows=rows,
        queues=queues,
        scales={"shortfall": shortfall_scale, "total": total_scale},
        skipped=skipped,
    )


def decision_problems(
    scenario: Scenario, decision: Decision, called_in: Iterable[str]
) -> list[str]:
    """Every way the decision breaks the rules of the contract's "Agents" and "Decisions"."""
    problems: list[str] = []
    called = set(called_in)
    agents = {a.id: a for a in scenario.agents}
    for aid in sorted(called):
        if aid not in agents:
            problems.append(f"called_in: unknown agent {aid!r}")
        elif not agents[aid].optional:
            problems.append(f"called_in: {aid!r} is not an optional agent")
    for (aid, t), qid in decision.items():
        a = agents.get(aid)
        if a is None:
            problems.append(f"assignment of unknown agent {aid!r}")
            continue
        if not 0 <= t < scenario.horizon.intervals or not a.available[t]:
            problems.append(f"{aid} works interval {t} where they are not available")
        if a.optional and aid not in called:
            problems.append(f"{aid} (optional, not called in) works interval {t}")
        if qid is not None and qid not in a.skills:
            problems.append(f"{aid} placed on {qid!r} in interval {t} without that skill")
    for a in scenario.agents:
        if a.optional and a.id not in called:
            continue
        for t in range(scenario.horizon.intervals):
            if a.available[t] and (a.id, t) not in decision:
                problems.append(f"{a.id} has no row for available interval {t}")
    for p in scenario.pins:
        if p.agent not in agents:
            continue
        if agents[p.agent].optional and p.agent not in called:
            problems.append(f"pinned optional agent {p.agent} is not called in")
            continue
        for t in range(p.start, p.end):
            got = decision.get((p.agent, t), "<no row>")
            if got != p.queue:
                problems.append(
                    f"pin {p.agent} -> {p.queue!r} in interval {t} violated: got {got!r}"
                )
    return problems


# -- reading and checking a plan directory ----------------------------------------------


@dataclass
class CheckReport:
    """What the checker found in a plan directory (``problems`` empty: the plan is right)."""

    path: Path
    scenario: Scenario
    status: str
    decision: dict[tuple[str, int], str | None]
    called_in: tuple[str, ...]
    evaluation: Evaluation
    summary: dict[str, Any]
    problems: list[str]

    @property
    def weighted_shortfall(self) -> float:
        return self.evaluation.weighted_shortfall

    @property
    def total(self) -> float:
        return self.evaluation.total


def _parse_float(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def _parse_int(cell: str) -> int | None:
    return None if cell == "" else int(cell)


def read_assignments(
    path: Path, scenario: Scenario, problems: list[str]
) -> dict[tuple[str, int], str | None]:
    labels = {label: t for t, label in enumerate(scenario.horizon.labels())}
    decision: dict[tuple[str, int], str | None] = {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != ASSIGNMENT_COLUMNS:
            problems.append(
                f"assignments.csv columns {reader.fieldnames}, want {ASSIGNMENT_COLUMNS}"
            )
            return decision
        for line, rec in enumerate(reader, start=2):
            t = labels.get(rec["interval_start"])
            if t is None:
                problems.append(
                    f"assignments.csv:{line} unknown interval_start {rec['interval_start']!r}"
                )
                continue
            key = (rec["agent"], t)
            if key in decision:
                problems.append(
                    f"assignments.csv:{line} second row for {key[0]} at {rec['interval_start']}"
                )
                continue
            qid = rec["queue"] or None
            if qid is not None and qid not in scenario.queue_ids:
                problems.append(f"assignments.csv:{line} unknown queue {qid!r}")
                continue
            decision[key] = qid
    return decision


def staffing_records(path: Path, scenario: Scenario) -> dict[tuple[int, str], dict[str, str]]:
    """staffing.csv's rows by (interval index, queue), as text."""
    index = {label: t for t, label in enumerate(scenario.horizon.labels())}
    with (path / "staffing.csv").open(newline="") as fh:
        return {(index.get(r["interval_start"], -1), r["queue"]): r for r in csv.DictReader(fh)}


def check_staffing(
    path: Path,
    scenario: Scenario,
    ev: Evaluation,
    problems: list[str],
) -> None:
    h = scenario.horizon
    varying = scenario.policy.queue_model == "time_varying"
    columns = TIME_VARYING_COLUMNS if varying else STAFFING_COLUMNS
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != columns:
            problems.append(f"staffing.csv columns {reader.fieldnames}, want {columns}")
            return
        records = list(reader)
    expected_keys = [(h.label(t), q.id) for t in range(h.intervals) for q in scenario.queues]
    got_keys = [(r["interval_start"], r["queue"]) for r in records]
    if got_keys != expected_keys:
        problems.append(f"staffing.csv rows {got_keys}, want {expected_keys}")
        return
    for line, (rec, (t, q)) in enumerate(
        zip(
            records,
            [(t, q) for t in range(h.intervals) for q in scenario.queues],
            strict=True,
        ),
        start=2,
    ):
        want = ev.rows[t, q.id]
        where = f"staffing.csv:{line} ({h.label(t)}, {q.id})"
        try:
            agents = _parse_int(rec["agents"])
            required = _parse_int(rec["required_agents"])
        except ValueError as exc:
            problems.append(f"{where}: not an integer: {exc}")
            continue
        if agents != want["agents"]:
            problems.append(f"{where} agents: got {agents}, want {want['agents']}")
        req_range = required_agents_range(q, t, h.interval_s)
        if req_range is None:
            if required is not None:
                problems.append(f"{where} required_agents: got {required}, want empty")
        elif required is None or not req_range[0] <= required <= req_range[1]:
            want_req = req_range[0] if req_range[0] == req_range[1] else req_range
            problems.append(f"{where} required_agents: got {required}, want {want_req}")
        lam = q.forecast[t]
        for col in columns[4:]:
            try:
                got = _parse_float(rec[col])
            except ValueError:
                problems.append(f"{where} {col}: not a number: {rec[col]!r}")
                continue
            if col == "abandon_rate" and lam == 0:
                # the contract defines no abandon rate without calls: null or queueing's
                if got is not None and not close(got, want[col]):
                    problems.append(f"{where} {col}: got {got!r}, want null or {want[col]!r}")
                continue
            scale = CALL_COLUMN_SCALE.get(col, 0.0) * lam * (abs(q.value) if col == "value" else 1)
            if not close(got, want[col], scale):
                problems.append(f"{where} {col}: got {got!r}, want {want[col]!r}")
        n = want["agents"]
        if varying:
            # the contract's null rules of time-varying figures
            tv_null = {
                "service_level": lam == 0,
                "occupancy": n == 0,
                "asa_s": want["asa_s"] is None,
            }
            for col, is_null in tv_null.items():
                if (rec[col] == "") != is_null:
                    problems.append(
                        f"{where} {col}: {'null' if is_null else 'a number'} expected, "
                        f"got {rec[col]!r}"
                    )
            if lam > 0:
                left = float(rec["unanswered_at_end_calls"] or 0.0)
                ab = float(rec["abandon_rate"] or 0.0)
                if not close(float(rec["served"]) + lam * ab + left, lam, lam):
                    problems.append(f"{where}: answered + abandoned + unanswered != calls")
            continue
        # the contract's null rules, independent of the queueing module
        unstable = not q.erlang_a and n <= offered_load(q, t, h.interval_s)
        null_rules = {
            "service_level": lam == 0,
            "asa_s": lam == 0 or n == 0 or unstable,
            "occupancy": lam == 0 or n == 0,
        }
        for col, is_null in null_rules.items():
            if (rec[col] == "") != is_null:
                problems.append(
                    f"{where} {col}: {'null' if is_null else 'a number'} expected, got {rec[col]!r}"
                )
        if lam > 0 and n > 0 and rec["occupancy"] != "" and rec["abandon_rate"] != "":
            occ = min(
                1.0, float(offered_load(q, t, h.interval_s)) * (1 - float(rec["abandon_rate"])) / n
            )
            if unstable:
                occ = 1.0
            if not close(float(rec["occupancy"]), occ):
                problems.append(
                    f"{where} occupancy: got {rec['occupancy']}, the contract gives {occ!r}"
                )
        if lam > 0 and unstable and rec["service_level"] not in ("", "0", "0.0"):
            problems.append(
                f"{where} service_level: Erlang C with n <= a must be 0, got {rec['service_level']}"
            )


def check_summary(
    summary: dict[str, Any], scenario: Scenario, ev: Evaluation, problems: list[str]
) -> None:
    for key in (
        "scenario",
        "versions",
        "solver",
        "status",
        "objective",
        "bound",
        "gap",
        "called_in",
        "queues",
        "timing",
    ):
        if key not in summary:
            problems.append(f"summary.json: missing {key!r}")
    if problems and any(p.startswith("summary.json: missing") for p in problems):
        return
    name = summary["scenario"].get("name")
    if name != scenario.name:
        problems.append(f"summary.json scenario.name {name!r}, want {scenario.name!r}")
    if summary["scenario"].get("content_hash") != scenario.content_hash():
        problems.append(
            f"summary.json scenario.content_hash {summary['scenario'].get('content_hash')!r}, "
            f"scenario.yaml hashes to {scenario.content_hash()!r}"
        )
    for key in ("optistaff", "ortools"):
        if not summary["versions"].get(key):
            problems.append(f"summary.json versions.{key} missing")
    if summary["status"] not in ("optimal", "feasible", "infeasible"):
        problems.append(f"summary.json status {summary['status']!r}")
    gap = summary["gap"]
    mip_gap = scenario.policy.mip_gap
    if (
        summary["status"] == "optimal"
        and isinstance(gap, int | float)
        and not 0 <= gap <= mip_gap + 1e-12
    ):
        problems.append(f"summary.json gap {gap} for an optimal plan (mip_gap {mip_gap})")
    called = summary["called_in"]
    if (
        not isinstance(called, list)
        or sorted(called) != list(sorted(ev.called_in))
        or len(set(called)) != len(called)
    ):
        problems.append(
            f"summary.json called_in {called!r}, assignments.csv says {list(ev.called_in)}"
        )

    obj = summary["objective"]
    want_obj = {
        "weighted_shortfall": (ev.weighted_shortfall, ev.scales["shortfall"]),
        "value": (ev.value, 0.0),
        "cost": (ev.cost, 0.0),
        "switching": (ev.switching, 0.0),
        "total": (ev.total, ev.scales["total"]),
    }
    for key, (want, scale) in want_obj.items():
        got = obj.get(key)
        if not isinstance(got, int | float) or not close(float(got), want, scale):
            problems.append(f"summary.json objective.{key}: got {got!r}, want {want!r}")
    if obj.get("switches") != ev.switches:
        problems.append(
            f"summary.json objective.switches: got {obj.get('switches')!r}, want {ev.switches}"
        )

    if list(summary["queues"]) != list(scenario.queue_ids):
        problems.append(
            f"summary.json queues {list(summary['queues'])}, want {list(scenario.queue_ids)}"
        )
    varying = scenario.policy.queue_model == "time_varying"
    if summary.get("queue_model", "stationary") != scenario.policy.queue_model:
        problems.append(
            f"summary.json queue_model {summary.get('queue_model')!r}, the scenario's policy "
            f"says {scenario.policy.queue_model!r}"
        )
    if varying and summary["status"] == "optimal" and summary["solver"].get("optimised_for"):
        problems.append("summary.json: optimal for a model the optimiser did not use")
    for q in scenario.queues:
        got_q = summary["queues"].get(q.id, {})
        want_q = ev.queues[q.id]
        scale = sum(q.forecast) * max(1.0, abs(q.value), abs(q.weight)) * 4
        keys = (*QUEUE_SUMMARY_KEYS, "unanswered_at_end") if varying else QUEUE_SUMMARY_KEYS
        for key in keys:
            got = got_q.get(key, "<missing>")
            want = want_q[key]
            if key == "agent_intervals":
                ok = got == want
            elif want is None or got is None:
                ok = got is None and want is None
            else:
                ok = isinstance(got, int | float) and close(float(got), want, scale)
            if not ok:
                problems.append(f"summary.json queues.{q.id}.{key}: got {got!r}, want {want!r}")


def check_plan_dir(path: str | Path, expected_scenario: Scenario | None = None) -> CheckReport:
    """Check a plan directory against the contract; raise AssertionError listing every problem.

    With ``expected_scenario``, the plan's scenario.yaml must also describe that scenario
    (same horizon, queues, agents' skills/availability/cost, pins and policy)."""
    from optistaff.loading import load_scenario

    path = Path(path)
    problems: list[str] = []
    scenario = load_scenario(path / "scenario.yaml")
    if expected_scenario is not None:
        problems.extend(scenario_differences(scenario, expected_scenario))
    summary = json.loads((path / "summary.json").read_text())
    if summary.get("status") == "infeasible":
        problems.append("summary.json status: infeasible (no plan to check)")
    decision = read_assignments(path / "assignments.csv", scenario, problems)
    called_in = tuple(
        a.id for a in scenario.agents if a.optional and any(k[0] == a.id for k in decision)
    )
    problems.extend(decision_problems(scenario, decision, called_in))
    ev = evaluate(scenario, decision, called_in, file_rows=staffing_records(path, scenario))
    check_staffing(path / "staffing.csv", scenario, ev, problems)
    check_summary(summary, scenario, ev, problems)
    report = CheckReport(
        path=path,
        scenario=scenario,
        status=str(summary.get("status")),
        decision=decision,
        called_in=called_in,
        evaluation=ev,
        summary=summary,
        problems=problems,
    )
    if problems:
        listing = "\n  ".join(problems[:MAX_LISTED])
        more = (
            f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        )
        raise AssertionError(f"plan {path}: {len(problems)} problem(s):\n  {listing}{more}")
    return report


def scenario_differences(got: Scenario, want: Scenario) -> list[str]:
    """Where a plan's resolved scenario differs from the scenario that was solved."""
    diffs: list[str] = []
    if got.horizon != want.horizon:
        diffs.append(f"scenario.yaml horizon {got.horizon}, want {want.horizon}")
    if got.queues != want.queues:
        diffs.append(f"scenario.yaml queues {got.queues}, want {want.queues}")

    def agent_key(s: Scenario) -> list[tuple[Any, ...]]:
        return [(a.id, a.skills, a.available, a.optional, a.cost) for a in s.agents]

    if agent_key(got) != agent_key(want):
        diffs.append(f"scenario.yaml agents {agent_key(got)}, want {agent_key(want)}")
    pins_got = [(p.agent, p.queue, p.start, p.end) for p in got.pins]
    pins_want = [(p.agent, p.queue, p.start, p.end) for p in want.pins]
    if pins_got != pins_want:
        diffs.append(f"scenario.yaml pins {pins_got}, want {pins_want}")
    if got.policy != want.policy:
        diffs.append(f"scenario.yaml policy {got.policy}, want {want.policy}")
    return diffs
