"""Why a plan looks the way it does: binding minimums, and what one agent more or
elsewhere is worth — the Michelle question, answered with numbers.

Definitions (written down here because models/00-contract.md is silent on them):

- **A minimum binds** on queue q in interval t when one agent fewer on q in t (all else
  as planned) would create or raise that minimum's shortfall: the per-interval floors
  (``min_service_level``, ``max_abandon_rate``, ``max_occupancy``) in t, the
  ``daily_service_level`` over the horizon. The figures are computed with the contract's
  formulas (:mod:`optistaff.queueing`); with 0 agents on q there is no agent to take
  away and nothing binds.
- **One more agent** of skill profile P in interval t is a new, non-optional agent with
  skills P, available in interval t only, at no cost. Its gain is the difference in the
  lexicographic objective between two re-solves of the plan's own scenario: with the
  agent, and without it (both re-solved, so that both are on equal footing). Reported as
  the weighted-shortfall reduction (level 1) and the total gain (level 2, value − cost −
  switching). The profiles tried are those of the agents working in t.
- **Moving an agent** to queue q: a re-solve with the agent pinned to q (or to
  unassigned) over one block of their day — a run of consecutive intervals they work
  on one queue in the plan (or one interval with ``interval``), intervals the scenario
  already pins excepted — for every block and every other queue they are skilled in;
  the loss is the re-solve without the pin minus the re-solve with it (a positive loss:
  the move costs).

Every "re-solve" is :func:`optistaff.solve` on a variant derived with
:func:`dataclasses.replace`; nothing is estimated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from optistaff import queueing
from optistaff.errors import UsageError
from optistaff.plan import Plan
from optistaff.scenario import Agent, Pin, Queue, Scenario
from optistaff.solvers import SolveStatus

#: ``progress(done, total, what)`` before each re-solve
StepCallback = Callable[[int, int, str], None]

MINIMUMS = ("min_service_level", "max_abandon_rate", "max_occupancy", "daily_service_level")
MINIMUM_LABELS = {
    "min_service_level": "min SL",
    "max_abandon_rate": "max abandon",
    "max_occupancy": "max occupancy",
    "daily_service_level": "daily SL",
}
_BIND_TOL = 1e-9


@dataclass(frozen=True)
class ResolveOutcome:
    """One re-solve: status and the two levels of the objective."""

    status: SolveStatus
    weighted_shortfall: float
    total: float
    #: the model the optimiser chose the plan by, when its figures are another model's
    optimised_for: str | None = None

    @classmethod
    def of(cls, plan: Plan) -> ResolveOutcome:
        obj = plan.summary["objective"]
        return cls(
            plan.status,
            float(obj["weighted_shortfall"]),
            float(obj["total"]),
            plan.summary["solver"].get("optimised_for"),
        )


@dataclass(frozen=True)
class IntervalExplanation:
    """``minimums``: one row per (queue, minimum) of the interval (see :func:`binding_minimums`);
    ``one_more_agent``: one row per skill profile, best first, with columns ``skills``,
    ``agents_now`` (agents of that profile working in t), ``weighted_shortfall_reduction``,
    ``total_gain``, ``placed_on`` (the extra agent's queue in the re-solve), ``status``,
    ``weighted_shortfall`` and ``total`` (of the re-solve with the agent); ``base``: the
    re-solve without it."""

    plan: Plan
    interval: int
    staffing: pd.DataFrame
    minimums: pd.DataFrame
    one_more_agent: pd.DataFrame | None
    base: ResolveOutcome | None

    @property
    def label(self) -> str:
        return interval_range_label(self.plan.scenario, self.interval)


@dataclass(frozen=True)
class AgentExplanation:
    """``timeline``: the agent's runs (``from``, ``to``, ``queue``; queue NA = unassigned);
    ``moves``: one row per alternative (``queue``, NA = unassigned) with the intervals
    pinned, the re-solve's status and objective, and ``weighted_shortfall_increase`` and
    ``total_loss`` against ``base`` (the re-solve without pins)."""

    plan: Plan
    agent: str
    interval: int | None
    timeline: pd.DataFrame
    moves: pd.DataFrame
    base: ResolveOutcome
    current: str | None  # the agent's queue in ``interval`` (with interval)


# -- intervals ------------------------------------------------------------------------


def interval_index(scenario: Scenario, when: str | int) -> int:
    """The interval holding ``when``: ``"HH:MM"`` (its first occurrence at or after the
    horizon start, as in models/00-contract.md), ``"YYYY-MM-DD HH:MM"``, or an index."""
    h = scenario.horizon
    if isinstance(when, int):
        t = when
    else:
        text = when.strip()
        try:
            if len(text) <= 5:
                clock = datetime.strptime(text, "%H:%M").time()
                moment = datetime.combine(h.start.date(), clock)
                if moment < h.start:
                    moment += timedelta(days=1)
            else:
                moment = datetime.strptime(text, "%Y-%m-%d %H:%M")
        except ValueError:
            raise UsageError(
                f"--interval: expected HH:MM or 'YYYY-MM-DD HH:MM', got {when!r}"
            ) from None
        t = math.floor((moment - h.start) / timedelta(minutes=h.interval_minutes))
    if not 0 <= t < h.intervals:
        raise UsageError(
            f"--interval {when}: outside the plan's horizon "
            f"{h.start:%Y-%m-%d %H:%M} to {h.end:%Y-%m-%d %H:%M}"
        )
    return t


def clock(scenario: Scenario, t: int) -> str:
    """HH:MM of the start of interval t (t = T: the horizon end)."""
    return scenario.horizon.interval_start(t).strftime("%H:%M")


def interval_range_label(scenario: Scenario, t: int, end: int | None = None) -> str:
    return f"{clock(scenario, t)}–{clock(scenario, t + 1 if end is None else end)}"


def assignment_of(plan: Plan) -> dict[tuple[str, int], str | None]:
    """The plan's decisions ``{(agent, t): queue or None}`` from its assignments."""
    index = {start: t for t, start in enumerate(plan.scenario.horizon.interval_starts())}
    out: dict[tuple[str, int], str | None] = {}
    frame = plan.assignments
    for agent, start, queue in zip(
        frame["agent"], frame["interval_start"], frame["queue"], strict=True
    ):
        out[str(agent), index[pd.Timestamp(start).to_pydatetime()]] = (
            None if pd.isna(queue) else str(queue)
        )
    return out


def agents_on(plan: Plan) -> np.ndarray:
    """n[q, t]: agents the plan places on each queue in each interval."""
    sc = plan.scenario
    qidx = {q: i for i, q in enumerate(sc.queue_ids)}
    n = np.zeros((len(sc.queues), sc.horizon.intervals), dtype=np.int64)
    for (_agent, t), q in assignment_of(plan).items():
        if q is not None:
            n[qidx[q], t] += 1
    return n


# -- binding minimums -----------------------------------------------------------------


def _shortfalls(
    queue: Queue, interval_s: float, n: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-interval shortfall (calls, unweighted) of each per-interval minimum with
    n[t] agents, and the calls answered within target (models/00-contract.md, Objective)."""
    calls = np.asarray(queue.forecast, dtype=float)
    aht = np.asarray(queue.aht_s, dtype=float)
    perf = queueing.performance(
        calls, aht, interval_s, queue.answer_within_s, np.maximum(n, 0), patience_s=queue.patience_s
    )
    active = calls > 0
    sl = np.where(active & ~np.isnan(perf.service_level), perf.service_level, 0.0)
    ab = np.where(active, np.nan_to_num(perf.abandon_rate, nan=0.0), 0.0)
    answered = calls * sl
    out: dict[str, np.ndarray] = {}
    if queue.min_service_level is not None:
        out["min_service_level"] = np.maximum(0.0, queue.min_service_level * calls - answered)
    if queue.max_abandon_rate is not None:
        out["max_abandon_rate"] = np.maximum(0.0, calls * ab - queue.max_abandon_rate * calls)
    if queue.max_occupancy is not None:
        out["max_occupancy"] = np.where(
            active, np.maximum(0.0, calls - queue.max_occupancy * n * interval_s / aht), 0.0
        )
    return out, answered


def binding_minimums(plan: Plan, interval: int | None = None) -> pd.DataFrame:
    """Which minimums bind: one row per (interval, queue, minimum) the scenario sets.

    Columns: ``interval_start``, ``queue``, ``minimum``, ``target``, ``agents``,
    ``shortfall_calls`` (as planned), ``shortfall_calls_one_fewer`` (with one agent fewer
    on the queue in that interval), ``added_weighted_shortfall`` (weight × the rise) and
    ``binds``. ``interval`` limits the rows to one interval.
    """
    sc = plan.scenario
    h = sc.horizon
    n_all = agents_on(plan)
    starts = h.interval_starts()
    ts = range(h.intervals) if interval is None else [interval]
    rows = []
    for qi, queue in enumerate(sc.queues):
        n = n_all[qi]
        now, answered = _shortfalls(queue, h.interval_s, n)
        fewer, answered_fewer = _shortfalls(queue, h.interval_s, n - 1)
        calls = np.asarray(queue.forecast, dtype=float)
        daily_now = daily_target = 0.0
        if queue.daily_service_level is not None:
            daily_target = queue.daily_service_level * float(calls.sum())
            daily_now = max(0.0, daily_target - math.fsum(answered))
        for t in ts:
            for kind in MINIMUMS:
                target = getattr(queue, kind)
                if target is None:
                    continue
                if kind == "daily_service_level":
                    before = daily_now
                    after = max(
                        0.0, daily_target - (math.fsum(answered) - answered[t] + answered_fewer[t])
                    )
                else:
                    before = float(now[kind][t])
                    after = float(fewer[kind][t])
                if n[t] == 0:
                    after = before
                added = queue.weight * (after - before)
                rows.append(
                    {
                        "interval_start": starts[t],
                        "queue": queue.id,
                        "minimum": kind,
                        "target": float(target),
                        "agents": int(n[t]),
                        "shortfall_calls": before,
                        "shortfall_calls_one_fewer": after,
                        "added_weighted_shortfall": added,
                        "binds": bool(added > _BIND_TOL * max(1.0, queue.weight)),
                    }
                )
    frame = pd.DataFrame(
        rows,
        columns=[
            "interval_start",
            "queue",
            "minimum",
            "target",
            "agents",
            "shortfall_calls",
            "shortfall_calls_one_fewer",
            "added_weighted_shortfall",
            "binds",
        ],
    )
    order = {
        "queue": {q: i for i, q in enumerate(sc.queue_ids)},
        "minimum": {m: i for i, m in enumerate(MINIMUMS)},
    }
    frame = frame.sort_values(
        ["interval_start", "queue", "minimum"],
        key=lambda col: col.map(order[str(col.name)]) if col.name in order else col,
        kind="stable",
    )
    return frame.reset_index(drop=True)


def interval_shortfall(plan: Plan) -> pd.Series:
    """Weighted per-interval shortfall (SL, abandon and occupancy floors; the daily
    minimums have no single interval) per interval_start."""
    staffing = plan.staffing
    weights = {q.id: q.weight for q in plan.scenario.queues}
    short = (
        staffing["shortfall_sl_calls"]
        + staffing["shortfall_abandon_calls"]
        + staffing["shortfall_occupancy_calls"]
    ) * staffing["queue"].map(weights)
    return short.groupby(staffing["interval_start"]).sum()


def worst_interval(plan: Plan) -> int:
    """The interval where the plan falls shortest (weighted), then where the most
    minimums bind; the earliest on ties."""
    short = interval_shortfall(plan).to_numpy()
    binds = binding_minimums(plan)
    added = binds.groupby("interval_start")["added_weighted_shortfall"].sum()
    count = binds.groupby("interval_start")["binds"].sum()
    starts = plan.scenario.horizon.interval_starts()
    keys = [
        (
            round(float(short[t]), 9),
            int(count.get(starts[t], 0)),
            round(float(added.get(starts[t], 0.0)), 9),
            -t,
        )
        for t in range(len(starts))
    ]
    return -max(keys)[3]


# -- one more agent -------------------------------------------------------------------


def working_profiles(plan: Plan, t: int) -> dict[tuple[str, ...], int]:
    """Skill profiles of the agents working in interval t (available, and called in if
    optional), with how many of each; in scenario order."""
    sc = plan.scenario
    called = set(plan.called_in)
    profiles: dict[tuple[str, ...], int] = {}
    for agent in sc.agents:
        if agent.available[t] and (not agent.optional or agent.id in called):
            profiles[agent.skills] = profiles.get(agent.skills, 0) + 1
    return profiles


def extra_agent(scenario: Scenario, skills: Sequence[str], t: int) -> Agent:
    """A new agent with ``skills``, available in interval t only (an unused id)."""
    taken = {a.id for a in scenario.agents}
    base = "extra-" + "+".join(skills)
    agent_id, k = base, 2
    while agent_id in taken:
        agent_id, k = f"{base}-{k}", k + 1
    return Agent(
        id=agent_id,
        skills=tuple(skills),
        shift=interval_range_label(scenario, t).replace("–", "-"),
        available=tuple(i == t for i in range(scenario.horizon.intervals)),
    )


def with_extra_agent(scenario: Scenario, skills: Sequence[str], t: int) -> Scenario:
    """The scenario with one more agent of ``skills`` available in interval t only."""
    return replace(scenario, agents=(*scenario.agents, extra_agent(scenario, skills, t)))


def _solve(scenario: Scenario, time_limit_s: float | None) -> Plan:
    """One what-if re-solve. Under the time-varying model it is the stationary
    optimiser's plan with time-varying figures (as ``optistaff evaluate`` gives): an
    explanation runs a dozen re-solves, and as time-varying searches
    (``models/13-carry-over.md``) they took 46 s on contact-center against 8 s; the
    output says which optimiser chose the plans."""
    from optistaff.pipeline import evaluate_plan, solve

    if scenario.policy.queue_model == "time_varying":
        stationary = replace(scenario, policy=replace(scenario.policy, queue_model="stationary"))
        return evaluate_plan(solve(stationary, time_limit_s=time_limit_s), "time_varying")
    return solve(scenario, time_limit_s=time_limit_s)


def explain_interval(
    plan: Plan,
    interval: str | int,
    *,
    one_more_agent: bool = True,
    profiles: Sequence[Sequence[str]] | None = None,
    time_limit_s: float | None = None,
    progress: StepCallback | None = None,
) -> IntervalExplanation:
    """Binding minimums in one interval and, unless ``one_more_agent`` is False, the
    exact gain of one more agent of each skill profile working there (or of
    ``profiles``), each a re-solve of the plan's scenario (see the module docstring)."""
    sc = plan.scenario
    t = interval_index(sc, interval)
    start = sc.horizon.interval_start(t)
    staffing = plan.staffing[plan.staffing["interval_start"] == start].reset_index(drop=True)
    minimums = binding_minimums(plan, t)
    if not one_more_agent:
        return IntervalExplanation(plan, t, staffing, minimums, None, None)
    present = working_profiles(plan, t)
    if profiles is None:
        tried = list(present)
    else:
        tried = [tuple(p) for p in profiles]
        unknown = sorted({q for p in tried for q in p} - set(sc.queue_ids))
        if unknown:
            raise UsageError(f"unknown queue(s) in a skill profile: {', '.join(unknown)}")
    total = len(tried) + 1
    if progress is not None:
        progress(0, total, "re-solving the plan's scenario as it is")
    base = ResolveOutcome.of(_solve(sc, time_limit_s))
    rows = []
    for i, skills in enumerate(tried, start=1):
        if progress is not None:
            progress(i, total, f"re-solving with one more {'+'.join(skills)} agent")
        variant = with_extra_agent(sc, skills, t)
        new_id = variant.agents[-1].id
        solved = _solve(variant, time_limit_s)
        out = ResolveOutcome.of(solved)
        placed = solved.assignments[solved.assignments["agent"] == new_id]["queue"]
        rows.append(
            {
                "skills": "+".join(skills),
                "agents_now": present.get(tuple(skills), 0),
                "weighted_shortfall_reduction": base.weighted_shortfall - out.weighted_shortfall,
                "total_gain": out.total - base.total,
                "placed_on": None if placed.empty or pd.isna(placed.iloc[0]) else placed.iloc[0],
                "status": str(out.status),
                "weighted_shortfall": out.weighted_shortfall,
                "total": out.total,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "skills",
            "agents_now",
            "weighted_shortfall_reduction",
            "total_gain",
            "placed_on",
            "status",
            "weighted_shortfall",
            "total",
        ],
    )
    if not frame.empty:
        frame = frame.sort_values(
            ["weighted_shortfall_reduction", "total_gain"], ascending=False, kind="stable"
        ).reset_index(drop=True)
    return IntervalExplanation(plan, t, staffing, minimums, frame, base)


# -- equity: the bottleneck ----------------------------------------------------------


@dataclass(frozen=True)
class EquityExplanation:
    """An ``objective: equity`` plan: ``bottleneck`` (the queues at its lowest service
    level, ``lowest``), and ``one_more_agent``: one row per skill profile of the plan's
    agents, best first, with columns ``skills``, ``agents_now``, ``lowest`` (the lowest
    SL of the re-solve with one more agent of that profile over the whole horizon),
    ``lift`` (its change, in SL), ``bottleneck_sl`` (the SL there of the queues now at
    the bottom, their lowest), ``status``."""

    plan: Plan
    bottleneck: tuple[str, ...]
    lowest: float
    one_more_agent: pd.DataFrame
    base: ResolveOutcome


def _lowest(plan: Plan, queues: Sequence[str] | None = None) -> float:
    levels = [
        float(t["service_level"])
        for q, t in plan.summary["queues"].items()
        if t["service_level"] is not None and (queues is None or q in queues)
    ]
    return min(levels) if levels else math.nan


def explain_equity(
    plan: Plan,
    *,
    time_limit_s: float | None = None,
    progress: StepCallback | None = None,
) -> EquityExplanation:
    """Which queue is the bottleneck of an equity plan, and what one more agent of each
    skill profile (working the whole horizon) would lift the lowest service level by:
    each a re-solve of the plan's scenario."""
    from optistaff.views import service_level_spread

    sc = plan.scenario
    if sc.policy.objective != "equity":
        raise UsageError("the bottleneck is an equity plan's (policy.objective: equity)")
    spread = service_level_spread(plan)
    if spread is None:
        raise UsageError("no queue of the plan has calls: there is no bottleneck")
    profiles: dict[tuple[str, ...], int] = {}
    for agent in sc.agents:
        profiles[agent.skills] = profiles.get(agent.skills, 0) + 1
    total = len(profiles) + 1
    if progress is not None:
        progress(0, total, "re-solving the plan's scenario as it is")
    base_plan = _solve(sc, time_limit_s)
    base_lowest = _lowest(base_plan)
    rows = []
    T = sc.horizon.intervals
    for i, skills in enumerate(profiles, start=1):
        if progress is not None:
            progress(i, total, f"re-solving with one more {'+'.join(skills)} agent")
        extra = replace(
            extra_agent(sc, skills, 0),
            shift=interval_range_label(sc, 0, T).replace("–", "-"),
            available=(True,) * T,
        )
        solved = _solve(replace(sc, agents=(*sc.agents, extra)), time_limit_s)
        rows.append(
            {
                "skills": "+".join(skills),
                "agents_now": profiles[skills],
                "lowest": _lowest(solved),
                "lift": _lowest(solved) - base_lowest,
                "bottleneck_sl": _lowest(solved, spread.bottom),
                "status": str(solved.status),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["skills", "agents_now", "lowest", "lift", "bottleneck_sl", "status"]
    )
    frame = frame.sort_values(["lift", "bottleneck_sl"], ascending=False, kind="stable")
    return EquityExplanation(
        plan,
        spread.bottom,
        spread.lowest,
        frame.reset_index(drop=True),
        ResolveOutcome.of(base_plan),
    )


def equity_story(ex: EquityExplanation) -> list[str]:
    """The bottleneck in words, and the profile that lifts it most."""
    queues = _listing(list(ex.bottleneck))
    lines = [
        f"The bottleneck is {queues}: its service level, {100 * ex.lowest:.1f}%, is the "
        "lowest of the plan, and no plan that keeps the minimum standards raises it "
        "without lowering another queue to it or below."
        if ex.plan.status == SolveStatus.OPTIMAL
        else f"The lowest queue is {queues} ({100 * ex.lowest:.1f}%); the plan is "
        f"{ex.plan.status}, so a better one may lift it."
    ]
    if not ex.one_more_agent.empty:
        best = ex.one_more_agent.iloc[0]
        lines.append(
            f"One more {best['skills']} agent over the whole day lifts the lowest service "
            f"level most: by {100 * float(best['lift']):.1f} pts, to "
            f"{100 * float(best['lowest']):.1f}%."
        )
    return lines


# -- moving an agent ------------------------------------------------------------------


def timeline(plan: Plan, agent_id: str) -> pd.DataFrame:
    """The agent's runs in the plan: ``from``, ``to`` (HH:MM), ``start``, ``end``
    (interval indices, end exclusive) and ``queue`` (NA = unassigned)."""
    sc = plan.scenario
    decided = {t: q for (a, t), q in assignment_of(plan).items() if a == agent_id}
    rows: list[dict[str, object]] = []
    for t in sorted(decided):
        q = decided[t]
        last = rows[-1] if rows else None
        if last is not None and last["end"] == t and last["queue"] == q:
            last["end"] = t + 1
        else:
            rows.append({"start": t, "end": t + 1, "queue": q})
    for row in rows:
        row["from"] = clock(sc, int(str(row["start"])))
        row["to"] = clock(sc, int(str(row["end"])))
    return pd.DataFrame(rows, columns=["from", "to", "start", "end", "queue"])


def _runs(ts: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for t in sorted(ts):
        if runs and runs[-1][1] == t:
            runs[-1] = (runs[-1][0], t + 1)
        else:
            runs.append((t, t + 1))
    return runs


def with_agent_pinned(
    scenario: Scenario, agent_id: str, queue: str | None, intervals: Sequence[int]
) -> Scenario:
    """The scenario with ``agent_id`` pinned to ``queue`` (None: unassigned) in
    ``intervals`` (one pin per run of consecutive intervals)."""
    pins = tuple(
        Pin(agent_id, queue, a, b, from_=clock(scenario, a), to=clock(scenario, b))
        for a, b in _runs(intervals)
    )
    return replace(scenario, pins=(*scenario.pins, *pins))


def _blocks(intervals: Sequence[int], decided: dict[int, str | None]) -> list[list[int]]:
    """``intervals`` (sorted) cut into blocks: runs of consecutive intervals on one queue
    (or unassigned) in the plan."""
    out: list[list[int]] = []
    for t in intervals:
        if out and out[-1][-1] == t - 1 and decided.get(out[-1][-1]) == decided.get(t):
            out[-1].append(t)
        else:
            out.append([t])
    return out


def explain_agent(
    plan: Plan,
    agent_id: str,
    interval: str | int | None = None,
    *,
    time_limit_s: float | None = None,
    progress: StepCallback | None = None,
) -> AgentExplanation:
    """Where the agent works, and what the plan would lose with the agent moved to each
    queue they are skilled in (and to unassigned): over the intervals they work, or in
    ``interval`` only. Each alternative is a re-solve with the agent pinned there."""
    sc = plan.scenario
    try:
        agent = sc.agent(agent_id)
    except KeyError:
        known = ", ".join(a.id for a in sc.agents[:12])
        more = ", …" if len(sc.agents) > 12 else ""
        raise UsageError(f"--agent {agent_id}: no such agent in the plan ({known}{more})") from None
    decided = {t: q for (a, t), q in assignment_of(plan).items() if a == agent_id}
    pinned = {t for p in sc.pins if p.agent == agent_id for t in range(p.start, p.end)}
    current: str | None = None
    if interval is not None:
        t = interval_index(sc, interval)
        if not agent.available[t]:
            raise UsageError(
                f"{agent_id} is not available in {interval_range_label(sc, t)} "
                "(shift, break or outside the horizon)"
            )
        if t in pinned:
            raise UsageError(
                f"{agent_id} is pinned in {interval_range_label(sc, t)} by the scenario; "
                "there is nothing to move"
            )
        current = decided.get(t)
        intervals = [t]
    else:
        working = [t for t, q in decided.items() if q is not None]
        if not working:  # unassigned all day, or an optional agent not called in
            working = [t for t, ok in enumerate(agent.available) if ok]
        intervals = sorted(set(working) - pinned)
        if not intervals:
            raise UsageError(f"{agent_id} is pinned wherever they work; there is nothing to move")
    # the alternatives: per block of the agent's day (a run of intervals on one queue),
    # every other queue they are skilled in, and unassigned
    tries: list[tuple[list[int], str | None]] = []
    for block in _blocks(intervals, decided):
        now = decided.get(block[0])
        tries += [(block, q) for q in agent.skills if q != now]
        if now is not None:
            tries.append((block, None))
    total = len(tries) + 1
    if progress is not None:
        progress(0, total, "re-solving the plan's scenario as it is")
    base = ResolveOutcome.of(_solve(sc, time_limit_s))
    rows = []
    for i, (block, queue) in enumerate(tries, start=1):
        span = ", ".join(interval_range_label(sc, a, b) for a, b in _runs(block))
        if progress is not None:
            progress(i, total, f"re-solving with {agent_id} on {queue or 'unassigned'} {span}")
        out = ResolveOutcome.of(_solve(with_agent_pinned(sc, agent_id, queue, block), time_limit_s))
        rows.append(
            {
                "queue": queue,
                "intervals": span,
                "weighted_shortfall_increase": out.weighted_shortfall - base.weighted_shortfall,
                "total_loss": base.total - out.total,
                "status": str(out.status),
                "weighted_shortfall": out.weighted_shortfall,
                "total": out.total,
            }
        )
    moves = pd.DataFrame(
        rows,
        columns=[
            "queue",
            "intervals",
            "weighted_shortfall_increase",
            "total_loss",
            "status",
            "weighted_shortfall",
            "total",
        ],
    )
    moves["queue"] = moves["queue"].astype("string")
    return AgentExplanation(
        plan=plan,
        agent=agent_id,
        interval=intervals[0] if interval is not None else None,
        timeline=timeline(plan, agent_id),
        moves=moves,
        base=base,
        current=current,
    )


# -- in words -------------------------------------------------------------------------

#: Below this (objective units) a difference between two re-solves is no difference.
_SAME = 1e-6


def _listing(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _worth(scenario: Scenario, queues: Sequence[str]) -> str:
    """ "platinum calls are worth 10 against gold's 6" for the queues named."""
    what = "served" if scenario.policy.objective == "served" else "answered within target"
    values = [(q, scenario.queue(q).value) for q in queues]
    if len(values) == 1:
        q, v = values[0]
        return f"a {q} call {what} is worth {v:g}"
    ordered = sorted(values, key=lambda qv: -qv[1])
    first = f"a {ordered[0][0]} call {what} is worth {ordered[0][1]:g}"
    rest = _listing([f"{v:g} on {q}" for q, v in ordered[1:]])
    return f"{first}, against {rest}"


def agent_story(ex: AgentExplanation) -> list[str]:
    """Where the agent works and why, in a few sentences built from the numbers: their
    blocks of the day, what a call is worth on each queue they could work, the minimums
    that bind there, and what each alternative costs (a move that costs nothing is said
    to be one: an equally good plan)."""
    sc, agent = ex.plan.scenario, ex.plan.scenario.agent(ex.agent)
    blocks = []
    for row in ex.timeline.itertuples(index=False):
        queue = row.queue if isinstance(row.queue, str) else None
        blocks.append(f"{queue or 'unassigned'} {row[0]}–{row[1]}")
    if not blocks:
        where = f"{ex.agent} does not work in this plan"
    else:
        shown = blocks[:4] + ([f"{len(blocks) - 4} more blocks"] if len(blocks) > 4 else [])
        where = f"{ex.agent} works {_listing(shown)}"
    lines = [where + f"; {_worth(sc, agent.skills)}."]
    worked = {t for (a, t), q in assignment_of(ex.plan).items() if a == ex.agent and q is not None}
    if ex.interval is not None:
        worked = {ex.interval}
    if worked:
        binds = binding_minimums(ex.plan)
        starts = [sc.horizon.interval_start(t) for t in sorted(worked)]
        mine = binds[binds["interval_start"].isin(starts) & binds["binds"]]
        mine = mine[mine["queue"].isin(agent.skills)]
        if mine.empty:
            lines.append(
                f"No minimum binds on {_listing(list(agent.skills))} in "
                f"{'that interval' if ex.interval is not None else 'the intervals they work'}: "
                "one agent fewer there would not add to any shortfall."
            )
        else:
            parts = [
                f"{qid}'s {MINIMUM_LABELS[str(minimum)]} ({group['interval_start'].nunique()} "
                "of them)"
                for (qid, minimum), group in mine.groupby(["queue", "minimum"], sort=False)
            ]
            lines.append(
                f"In the {len(worked)} interval{'s' if len(worked) != 1 else ''} considered "
                f"these minimums bind, one agent fewer adding to their shortfall: "
                f"{_listing(parts)}."
            )
    costs = []
    free = []
    several = ex.moves["intervals"].nunique() > 1
    for move in ex.moves.to_dict("records"):
        queue = move["queue"] if isinstance(move["queue"], str) else None
        when = f" in {move['intervals']}" if several else ""
        target = (queue or "unassigned") + when
        short, loss = float(move["weighted_shortfall_increase"]), float(move["total_loss"])
        place = ("unassigned" if queue is None else f"on {queue}") + when
        if abs(short) <= _SAME and abs(loss) <= _SAME:
            free.append(target)
        elif short > _SAME:
            costs.append(
                f"{place}, the weighted shortfall would rise by {short:,.2f} "
                f"and the total fall by {loss:,.2f}"
            )
        elif short < -_SAME:
            costs.append(
                f"{place}, the weighted shortfall would fall by {-short:,.2f}: the plan is "
                "not the best for its own figures there (nothing is proven for them)"
            )
        else:
            costs.append(f"{place}, the total would fall by {loss:,.2f}")
    if costs:
        lines.append(
            "Moved "
            + (
                "there"
                if ex.interval is not None
                else "block by block"
                if several
                else "for those hours"
            )
            + ": "
            + "; ".join(costs)
            + "."
        )
    if free:
        lines.append(
            f"Moving them to {_listing(free)} costs nothing: an equally good plan exists "
            "(the optimum is not unique there)."
        )
    return lines


def _zero_service(ex: IntervalExplanation) -> list[str]:
    """Why a queue shows SL 0 % in the interval, in words: no agent on it, or (Erlang C,
    the stationary model) no more agents than its offered load, where the steady-state
    queue grows without end and nobody is answered within target."""
    sc = ex.plan.scenario
    stationary = ex.plan.summary.get("queue_model", "stationary") == "stationary"
    out = []
    for row in ex.staffing.to_dict("records"):
        sl = row["service_level"]
        if sl is None or (isinstance(sl, float) and math.isnan(sl)) or float(sl) > 0:
            continue
        queue = sc.queue(str(row["queue"]))
        n = int(row["agents"])
        load = float(row["calls"]) * float(row["aht_s"]) / sc.horizon.interval_s
        if n == 0:
            out.append(f"{queue.id} shows SL 0 %: no agent works it in this interval.")
        elif queue.patience_s is None and stationary and n <= load:
            out.append(
                f"{queue.id} shows SL 0 %: its {n} agent{'s' if n != 1 else ''} are no more "
                f"than its offered load of {load:,.2f} Erlangs, and without abandonment "
                "(Erlang C) the steady-state queue then grows without end; the time-varying "
                "model (`--queue-model time_varying`) shows what the day itself would do."
            )
    return out


def interval_story(ex: IntervalExplanation) -> list[str]:
    """One interval in words: the queues that fall short and by how much, the minimums
    that bind, and what one more agent of which skills would buy."""
    sc = ex.plan.scenario
    label = interval_range_label(sc, ex.interval)
    short = ex.staffing.copy()
    weight = {q.id: q.weight for q in sc.queues}
    short["weighted"] = [
        weight[str(q)] * (float(a) + float(b) + float(c))
        for q, a, b, c in zip(
            short["queue"],
            short["shortfall_sl_calls"],
            short["shortfall_abandon_calls"],
            short["shortfall_occupancy_calls"],
            strict=True,
        )
    ]
    short = short[short["weighted"] > _SAME].sort_values("weighted", ascending=False)
    if short.empty:
        lines = [f"In {label} every queue keeps its minimums."]
    else:
        parts = [f"{q} ({w:,.2f})" for q, w in zip(short["queue"], short["weighted"], strict=True)]
        lines = [
            f"In {label} {_listing(parts)} fall{'s' if len(parts) == 1 else ''} short of "
            "their minimums (weighted shortfall in brackets)."
        ]
    lines += _zero_service(ex)
    binding = ex.minimums[ex.minimums["binds"]] if not ex.minimums.empty else ex.minimums
    if not binding.empty:
        parts = [
            f"the {MINIMUM_LABELS[str(m)]} of {q}"
            for q, m in zip(binding["queue"], binding["minimum"], strict=True)
        ]
        lines.append(f"Binding: {_listing(parts)} (one agent fewer there adds to the shortfall).")
    extra = ex.one_more_agent
    if extra is not None and not extra.empty:
        best = extra.iloc[0]
        cut, gain = float(best["weighted_shortfall_reduction"]), float(best["total_gain"])
        placed = best["placed_on"] if isinstance(best["placed_on"], str) else "no queue"
        if cut > _SAME:
            lines.append(
                f"One more agent skilled in {best['skills'].replace('+', ' and ')} would cut "
                f"the weighted shortfall by {cut:,.2f} (placed on {placed}), the most of the "
                f"{len(extra)} skill profiles working here."
            )
        elif gain > _SAME:
            lines.append(
                f"No single agent more would reduce the shortfall; one skilled in "
                f"{best['skills'].replace('+', ' and ')} would add {gain:,.2f} of value."
            )
        else:
            lines.append(
                "One more agent of any skill profile working here would buy nothing: "
                "this interval is not where the plan is short of hands."
            )
    return lines
