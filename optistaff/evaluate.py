"""Every number of a plan, computed from its assignment with the contract's formulas.

This is the only place plan KPIs and objective parts are computed: the solver's own
objective is never reported. ``staffing`` has one row per (interval, queue);
``summary`` holds the objective parts and per-queue totals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optistaff import curve_cache, queueing
from optistaff.plan_schema import STAFFING_COLUMNS, TIME_VARYING_COLUMNS, Objective, QueueTotals
from optistaff.scenario import Queue, QueueModelName, Scenario
from optistaff.tables import Kind, Table

if TYPE_CHECKING:  # (imported where used: numba's kernels cost ~0.3 s, stationary plans skip
    # it; pandas only where a DataFrame is asked for, optistaff.tables)
    import pandas as pd

    from optistaff import time_varying


@dataclass(frozen=True)
class Evaluation:
    table: Table  # the staffing rows (staffing.csv), as rows
    objective: Objective
    queues: dict[str, QueueTotals]

    @property
    def staffing(self) -> pd.DataFrame:
        """The staffing rows as a DataFrame (a new one; ``interval_start`` as its labels,
        the plan's :attr:`~optistaff.plan.Plan.staffing` parses them)."""
        return self.table.frame(parse_times=False)


def count_switches(scenario: Scenario, assignment: Mapping[tuple[str, int], str | None]) -> int:
    """Switches: an agent on queue q in t and on a different queue in t+1 (the contract)."""
    switches = 0
    for (agent, t), q in assignment.items():
        if q is None:
            continue
        nxt = assignment.get((agent, t + 1))
        if nxt is not None and nxt != q:
            switches += 1
    return switches


def required_agents(queue: Queue, interval_s: float) -> npt.NDArray[np.int64]:
    """Required agents of ``queue`` per interval: the smallest n that meets its
    per-interval standards (the contract; a planning reference, whatever the queue
    model of the figures). Remembered per (queue, Δ): a queue is immutable, and a
    re-plan evaluates many assignments of one scenario (read-only array)."""
    return _required(queue, float(interval_s))


@functools.lru_cache(maxsize=256)
def _required(queue: Queue, interval_s: float) -> npt.NDArray[np.int64]:
    out = curve_cache.required_agents(
        np.asarray(queue.forecast, dtype=float),
        np.asarray(queue.aht_s, dtype=float),
        interval_s,
        queue.answer_within_s,
        service_level=queue.min_service_level,
        patience_s=queue.patience_s,
        max_abandon_rate=queue.max_abandon_rate,
        max_occupancy=queue.max_occupancy,
    )
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=2048)
def _stationary(queue: Queue, interval_s: float, agents: tuple[int, ...]) -> queueing.Performance:
    """The stationary figures of ``queue`` with ``agents`` per interval, remembered:
    evaluating the actions of a re-plan changes one or two queues at a time."""
    perf = curve_cache.performance(
        np.asarray(queue.forecast, dtype=float),
        np.asarray(queue.aht_s, dtype=float),
        interval_s,
        queue.answer_within_s,
        np.asarray(agents, dtype=np.int64),
        patience_s=queue.patience_s,
    )
    for value in vars(perf).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)  # (shared by every evaluation that hits the cache)
    return perf


def evaluate(
    scenario: Scenario,
    assignment: Mapping[tuple[str, int], str | None],
    called_in: Iterable[str],
    queue_model: QueueModelName | None = None,
) -> Evaluation:
    """KPIs and objective of an assignment ``{(agent_id, t): queue_id or None}``, under
    ``queue_model`` (default: the scenario's ``policy.queue_model``): every interval a
    steady state (``stationary``), or each queue over the day as one chain with its
    state carried over (``time_varying``, :mod:`optistaff.time_varying`)."""
    h = scenario.horizon
    T, Q = h.intervals, len(scenario.queues)
    qidx = {q.id: i for i, q in enumerate(scenario.queues)}
    n = np.zeros((Q, T), dtype=np.int64)
    for (_agent, t), q in assignment.items():
        if q is not None:
            n[qidx[q], t] += 1

    rows: list[dict[str, Any]] = []
    queue_totals: dict[str, QueueTotals] = {}
    total_value = 0.0
    total_weighted = 0.0
    labels = h.labels()
    per_queue_rows: list[list[dict[str, Any]]] = []
    varying = (queue_model or scenario.policy.queue_model) == "time_varying"
    if varying:
        from optistaff import time_varying
    days = (
        time_varying.evaluate_days(
            [time_varying.day_of(scenario, qi, n[qi]) for qi in range(Q)],
            threads=scenario.policy.threads,
        )
        if varying
        else []
    )
    for qi, queue in enumerate(scenario.queues):
        calls = np.asarray(queue.forecast, dtype=float)
        aht = np.asarray(queue.aht_s, dtype=float)
        perf: queueing.Performance | time_varying.Figures
        if varying:
            perf = days[qi]
        else:
            perf = _stationary(queue, float(h.interval_s), tuple(int(x) for x in n[qi]))
        required = required_agents(queue, h.interval_s)
        has_standard = (
            queue.min_service_level is not None
            or queue.max_abandon_rate is not None
            or queue.max_occupancy is not None
            or queue.patience_s is None
        )
        q_rows: list[dict[str, Any]] = []
        for t in range(T):
            lam = float(calls[t])
            nt = int(n[qi, t])
            if lam > 0:
                sl = float(perf.service_level[t]) if not math.isnan(perf.service_level[t]) else 0.0
                ab = float(perf.abandon_rate[t])
                answered = lam * sl
                served = lam * (1.0 - ab)
                if varying:  # (answered before the horizon end: not all who stay)
                    assert isinstance(perf, time_varying.Figures)
                    served = float(perf.answered[t])
                s_sl = (
                    max(0.0, queue.min_service_level * lam - answered)
                    if queue.min_service_level is not None
                    else 0.0
                )
                s_ab = (
                    max(0.0, lam * ab - queue.max_abandon_rate * lam)
                    if queue.max_abandon_rate is not None
                    else 0.0
                )
                s_occ = (
                    max(0.0, lam - queue.max_occupancy * nt * h.interval_s / float(aht[t]))
                    if queue.max_occupancy is not None
                    else 0.0
                )
                worth = served if scenario.policy.objective == "served" else answered
                value = queue.value * worth
                req: int | None = int(required[t]) if has_standard else None
            else:
                answered = served = value = s_sl = s_ab = s_occ = 0.0
                ab = 0.0
                req = 0
            q_rows.append(
                {
                    "interval_start": labels[t],
                    "queue": queue.id,
                    "agents": nt,
                    "required_agents": req,
                    "calls": lam,
                    "aht_s": float(aht[t]),
                    "service_level": _null(perf.service_level[t]) if lam > 0 else None,
                    "asa_s": _null(perf.asa_s[t]) if lam > 0 else None,
                    "abandon_rate": ab if lam > 0 else None,
                    "occupancy": _null(perf.occupancy[t]) if lam > 0 else None,
                    "answered_within_target": answered,
                    "served": served,
                    "value": value,
                    "shortfall_sl_calls": s_sl,
                    "shortfall_abandon_calls": s_ab,
                    "shortfall_occupancy_calls": s_occ,
                }
            )
            if varying:
                assert isinstance(perf, time_varying.Figures)
                q_rows[-1]["occupancy"] = _null(perf.occupancy[t])  # (also without calls)
                q_rows[-1]["unanswered_at_end_calls"] = float(perf.waiting_at_end[t])
        per_queue_rows.append(q_rows)
        calls_sum = float(calls.sum())
        answered_sum = math.fsum(r["answered_within_target"] for r in q_rows)
        served_sum = math.fsum(r["served"] for r in q_rows)
        abandoned = math.fsum(
            r["calls"] * r["abandon_rate"] for r in q_rows if r["abandon_rate"] is not None
        )
        interval_short = math.fsum(
            r["shortfall_sl_calls"] + r["shortfall_abandon_calls"] + r["shortfall_occupancy_calls"]
            for r in q_rows
        )
        daily_short = (
            max(0.0, queue.daily_service_level * calls_sum - answered_sum)
            if queue.daily_service_level is not None
            else 0.0
        )
        q_value = math.fsum(r["value"] for r in q_rows)
        q_weighted = queue.weight * (interval_short + daily_short)
        total_value += q_value
        total_weighted += q_weighted
        queue_totals[queue.id] = {
            "calls": calls_sum,
            "answered_within_target": answered_sum,
            "service_level": answered_sum / calls_sum if calls_sum > 0 else None,
            "served": served_sum,
            "abandon_rate": abandoned / calls_sum if calls_sum > 0 else None,
            "shortfall_calls": interval_short + daily_short,
            "daily_shortfall": daily_short,
            "weighted_shortfall": q_weighted,
            "agent_intervals": int(n[qi].sum()),
            "value": q_value,
        }
        if varying:
            queue_totals[queue.id]["unanswered_at_end"] = math.fsum(
                r["unanswered_at_end_calls"] for r in q_rows
            )
    for t in range(T):
        for qi in range(Q):
            rows.append(per_queue_rows[qi][t])

    called = set(called_in)
    cost = math.fsum(
        a.cost * a.available_intervals for a in scenario.agents if a.optional and a.id in called
    )
    switches = count_switches(scenario, assignment)
    switching = scenario.policy.switch_penalty * switches
    total = total_value - cost - switching
    if scenario.policy.shortfall_price is not None:
        total -= scenario.policy.shortfall_price * total_weighted
    objective: Objective = {
        "weighted_shortfall": total_weighted,
        "value": total_value,
        "cost": cost,
        "switching": switching,
        "switches": switches,
        "total": total,
    }
    columns = TIME_VARYING_COLUMNS if varying else STAFFING_COLUMNS
    table = Table(
        columns, [tuple(r.get(c) for c in columns) for r in rows], staffing_kinds(columns)
    )
    return Evaluation(table, objective, queue_totals)


def staffing_kinds(columns: tuple[str, ...]) -> tuple[Kind, ...]:
    """The kind of each staffing column (``optistaff.tables``)."""
    named: dict[str, Kind] = {
        "interval_start": "time",
        "queue": "str",
        "agents": "int",
        "required_agents": "Int64",
    }
    return tuple(named.get(c, "float") for c in columns)


def _null(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
