"""Re-planning the rest of a day from a moment E, and the actions between two plans.

The contract is ``models/00-contract.md``, *Re-planning*; the method and the tests
that pin it are in ``models/14-replan.md``. In short:

* **E** is the first interval boundary at or after ``at``; every interval before E (and
  ``freeze`` more) keeps the old plan's assignment, written as pins.
* The replan's scenario is the old plan's, changed and saying so (its description):
  the actual calls (and AHT) of the intervals before E where the actuals give them, the
  forecast from E on times the run-rate r per queue, the absent agents absent from E,
  the agents made available again from E, and the state at E (``initial_state``) when
  it is given. Without a given state, the time-varying chain runs from the horizon
  start through the frozen past on the actual calls: the state at E is the old plan's
  predicted state, re-run with the actuals.
* The **baseline** is the old assignment on that scenario (absent agents off from E).
* The **actions** are the difference between the baseline and the new plan, as blocks
  (a run of intervals where one agent's queue changes the same way), each with what
  it buys applied alone to the baseline and cumulatively in list order;
  :func:`apply_actions` applies any of them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd

from optistaff.errors import Problem, ScenarioError, UsageError
from optistaff.evaluate import evaluate
from optistaff.plan import DATE_FORMAT, Plan
from optistaff.plan_schema import PlanSummary, SolverSettings
from optistaff.scenario import Horizon, Scenario
from optistaff.solvers import ProgressCallback, SolveStatus

#: The run-rate factor r is bounded to this range (a warning says when it is hit): a
#: day running at more than twice, or under half, its forecast is more likely a data
#: error (a missing or a doubled export) than a forecast to scale by.
RUN_RATE_BOUNDS = (0.5, 2.0)
#: Below this many forecast calls so far, a queue's run-rate is 1 (with a warning).
RUN_RATE_MIN_CALLS = 1.0

Reforecast = Literal["run-rate", "none"]
ActionKind = Literal["move", "call_in", "release"]
Assignment = dict[tuple[str, int], str | None]

ACTION_COLUMNS = (
    "order",
    "action",
    "agent",
    "from",
    "to",
    "from_queue",
    "to_queue",
    "cost",
    "shortfall_change_alone",
    "value_change_alone",
    "total_change_alone",
    "shortfall_change_cumulative",
    "value_change_cumulative",
    "total_change_cumulative",
)


# -- the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplanRequest:
    """What changed, as a planner says it (``optistaff replan``'s options).

    ``at``: a clock time ``HH:MM`` (its first occurrence at or after the horizon start)
    or ``YYYY-MM-DD HH:MM``; ``actuals``: a CSV path or a frame with ``interval_start``,
    ``queue``, ``calls`` and optionally ``aht_s``; ``waiting`` / ``in_service``: calls
    per queue at E (the state at E, when known)."""

    at: str
    absent: tuple[str, ...] = ()
    available: tuple[str, ...] = ()
    actuals: str | os.PathLike[str] | pd.DataFrame | None = None
    reforecast: Reforecast = "run-rate"
    waiting: Mapping[str, int] = field(default_factory=dict)
    in_service: Mapping[str, int] = field(default_factory=dict)
    freeze: int = 0


@dataclass(frozen=True)
class QueueReforecast:
    """One queue's run-rate: calls so far, actual and forecast, over the complete
    intervals before E that the actuals cover, and the factors applied from E on."""

    queue: str
    intervals: int
    actual_calls: float
    forecast_calls: float
    calls_factor: float
    aht_factor: float
    note: str = ""


@dataclass(frozen=True)
class Action:
    """One block of the difference: ``agent`` works ``to_queue`` instead of
    ``from_queue`` (None: not working) in intervals [start, end)."""

    kind: ActionKind
    agent: str
    start: int
    end: int
    from_queue: str | None
    to_queue: str | None
    cost: float = 0.0


@dataclass(frozen=True)
class Effect:
    """Changes of the objective parts against the baseline (shortfall: lower is better)."""

    shortfall: float
    value: float
    total: float


@dataclass(frozen=True)
class Replanned:
    """A replan: the new plan, the baseline it is compared to, the actions from one to
    the other (largest effect first) with their effects alone and cumulatively."""

    plan: Plan
    baseline: Plan
    actions: tuple[Action, ...]
    alone: tuple[Effect, ...]
    cumulative: tuple[Effect, ...]
    effective: int
    reforecast: tuple[QueueReforecast, ...]
    warnings: tuple[str, ...] = ()

    def actions_frame(self) -> pd.DataFrame:
        """actions.csv as a frame (:data:`ACTION_COLUMNS`)."""
        return actions_frame(self.plan.scenario.horizon, self.actions, self.alone, self.cumulative)


# -- reading what the planner gives ---------------------------------------------------


def moment(text: str, horizon: Horizon, what: str) -> datetime:
    """``HH:MM`` (first occurrence at or after the horizon start; on a horizon over 24
    hours a date is needed) or ``YYYY-MM-DD HH:MM``; UsageError otherwise."""
    from optistaff.loading.clock import parse_clock, parse_datetime

    raw = str(text).strip()
    when = parse_datetime(raw)
    if when is None:
        minute = parse_clock(raw)
        if minute is None:
            raise UsageError(f"{what}: must be 'HH:MM' or 'YYYY-MM-DD HH:MM', got {text!r}")
        if horizon.intervals * horizon.interval_minutes > 24 * 60:
            raise UsageError(
                f"{what}: {raw!r} has no date, but the horizon lasts more than 24 hours "
                f"({horizon.label(0)} to {horizon.end:%Y-%m-%d %H:%M}); give the date, e.g. "
                f"'{horizon.start:%Y-%m-%d} {raw}'"
            )
        when = horizon.start.replace(hour=0, minute=0) + timedelta(minutes=minute)
        if when < horizon.start:
            when += timedelta(days=1)
    return when


def effective_boundary(horizon: Horizon, at: str) -> int:
    """E: the index of the first interval boundary at or after ``at``; UsageError when
    ``at`` is off the horizon or leaves no interval to re-plan."""
    when = moment(at, horizon, "--at")
    if when < horizon.start or when >= horizon.end:
        raise UsageError(
            f"--at {at}: off the horizon ({horizon.label(0)} to "
            f"{horizon.end:%Y-%m-%d %H:%M}); give a time before its end"
        )
    minutes = (when - horizon.start) / timedelta(minutes=1)
    E = math.ceil(minutes / horizon.interval_minutes - 1e-9)
    if horizon.intervals <= E:
        raise UsageError(
            f"--at {at}: the first interval boundary after it is the horizon's end "
            f"({horizon.end:%Y-%m-%d %H:%M}): nothing is left to re-plan"
        )
    return E


def parse_counts(text: str, option: str) -> dict[str, int]:
    """``Q=N[,Q=N…]`` → {queue: N} (N a whole number ≥ 0); UsageError otherwise."""
    from optistaff.loading.limits import MAX_STATE_CALLS

    out: dict[str, int] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        queue, sep, number = part.partition("=")
        queue, number = queue.strip(), number.strip()
        if not sep or not queue or not number.isdigit():
            raise UsageError(
                f"{option}: must be QUEUE=N[,QUEUE=N…] with N a whole number of calls "
                f"(0 to {MAX_STATE_CALLS:,}), got {part!r}"
            )
        count = int(number)
        if count > MAX_STATE_CALLS:
            raise UsageError(f"{option}: {queue}={count} is above {MAX_STATE_CALLS:,} calls")
        if queue in out:
            raise UsageError(f"{option}: queue {queue!r} is given twice")
        out[queue] = count
    return out


def read_actuals(
    source: str | os.PathLike[str] | pd.DataFrame, scenario: Scenario, E: int
) -> dict[tuple[str, int], tuple[float, float | None]]:
    """The actuals (``interval_start``, ``queue``, ``calls``, optional ``aht_s``) as
    {(queue, t): (calls, aht_s or None)} for intervals before E. Every problem is
    reported with its file, line and column (ScenarioError, exit 2)."""
    from optistaff.loading.limits import MAX_AHT_S, MAX_CALLS, MIN_AHT_S

    horizon = scenario.horizon
    if isinstance(source, pd.DataFrame):
        display = "<actuals>"
        header = [str(c) for c in source.columns]
        records: list[tuple[int, dict[str, str]]] = [
            (i + 2, {k: "" if pd.isna(v) else str(v) for k, v in zip(header, row, strict=True)})
            for i, row in enumerate(source.itertuples(index=False, name=None))
        ]
    else:
        display = os.fspath(source)
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(
                [Problem(display, None, "", f"cannot read the actuals: {exc}")]
            ) from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        lines: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    lines.append((reader.line_num, [cell.strip() for cell in row]))
        except csv.Error as exc:
            raise ScenarioError([Problem(display, reader.line_num, "", f"bad CSV: {exc}")]) from exc
        if not lines:
            raise ScenarioError([Problem(display, None, "", "empty file: no header")])
        header = lines[0][1]
        records = []  # (as the frame's)
        for line, cells in lines[1:]:
            if len(cells) != len(header):
                raise ScenarioError(
                    [
                        Problem(
                            display,
                            line,
                            "",
                            f"{len(cells)} cells, the header has {len(header)}",
                        )
                    ]
                )
            records.append((line, dict(zip(header, cells, strict=True))))
    problems: list[Problem] = []
    missing = [c for c in ("interval_start", "queue", "calls") if c not in header]
    unknown = [c for c in header if c not in ("interval_start", "queue", "calls", "aht_s")]
    if missing or unknown:
        what = []
        if missing:
            what.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            what.append(f"unknown column(s) {', '.join(unknown)}")
        raise ScenarioError(
            [
                Problem(
                    display,
                    1,
                    "",
                    "; ".join(what) + " (columns: interval_start, queue, calls, optional aht_s)",
                )
            ]
        )
    queues = set(scenario.queue_ids)
    step = horizon.interval_minutes
    out: dict[tuple[str, int], tuple[float, float | None]] = {}
    seen: dict[tuple[str, int], int] = {}
    for line, fields in records:
        qid = fields["queue"]
        if qid not in queues:
            from optistaff.loading.problems import suggest

            problems.append(
                Problem(
                    display,
                    line,
                    "queue",
                    f"unknown queue {qid!r}{suggest(qid, sorted(queues))} "
                    f"(queues: {', '.join(scenario.queue_ids)})",
                )
            )
            continue
        try:
            when = moment(fields["interval_start"], horizon, "interval_start")
        except UsageError as exc:
            problems.append(Problem(display, line, "interval_start", str(exc).split(": ", 1)[1]))
            continue
        offset = (when - horizon.start) / timedelta(minutes=1)
        if offset < 0 or offset >= horizon.intervals * step:
            problems.append(
                Problem(
                    display,
                    line,
                    "interval_start",
                    f"{fields['interval_start']} is off the horizon ({horizon.label(0)} to "
                    f"{horizon.end:%Y-%m-%d %H:%M})",
                )
            )
            continue
        if offset % step:
            problems.append(
                Problem(
                    display,
                    line,
                    "interval_start",
                    f"{fields['interval_start']} is not an interval start ({step}-minute "
                    f"intervals from {horizon.start:%H:%M})",
                )
            )
            continue
        t = int(offset // step)
        if t >= E:
            problems.append(
                Problem(
                    display,
                    line,
                    "interval_start",
                    f"{fields['interval_start']} is at or after the re-plan's effective time "
                    f"{horizon.label(E)}: actuals are for complete intervals before it",
                )
            )
            continue
        calls = _number(fields["calls"])
        if calls is None or not (0 <= calls <= MAX_CALLS):
            problems.append(
                Problem(
                    display,
                    line,
                    "calls",
                    f"must be a number of calls from 0 to {MAX_CALLS:,.0f}, "
                    f"got {fields['calls']!r}",
                )
            )
            continue
        aht: float | None = None
        if fields.get("aht_s", ""):
            aht = _number(fields["aht_s"])
            if aht is None or not (MIN_AHT_S <= aht <= MAX_AHT_S):
                problems.append(
                    Problem(
                        display,
                        line,
                        "aht_s",
                        f"must be seconds from {MIN_AHT_S:g} to {MAX_AHT_S:,.0f} "
                        f"(or empty), got {fields['aht_s']!r}",
                    )
                )
                continue
        key = (qid, t)
        if key in seen:
            problems.append(
                Problem(
                    display,
                    line,
                    "",
                    f"a second row for {qid} at {horizon.label(t)} (the first is on line "
                    f"{seen[key]})",
                )
            )
            continue
        seen[key] = line
        out[key] = (calls, aht)
    if problems:
        raise ScenarioError(problems)
    return out


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def run_rates(
    scenario: Scenario,
    actuals: Mapping[tuple[str, int], tuple[float, float | None]],
    E: int,
    mode: Reforecast,
) -> tuple[list[QueueReforecast], list[str]]:
    """Per queue, r = Σ actual calls / Σ forecast calls over the intervals before E the
    actuals cover (1 under ``none``, or with under :data:`RUN_RATE_MIN_CALLS` forecast
    calls so far), bounded to :data:`RUN_RATE_BOUNDS`; the AHT factor likewise,
    call-weighted, where the actuals give ``aht_s``."""
    lo, hi = RUN_RATE_BOUNDS
    out: list[QueueReforecast] = []
    warnings: list[str] = []
    for q in scenario.queues:
        rows = [(t, v) for (qid, t), v in actuals.items() if qid == q.id and t < E]
        actual = sum(v[0] for _t, v in rows)
        forecast = sum(q.forecast[t] for t, _v in rows)
        r, r_aht, note = 1.0, 1.0, ""
        if mode == "run-rate":
            if forecast < RUN_RATE_MIN_CALLS:
                if E > 0:
                    note = "no actuals" if not rows else f"{forecast:.2g} forecast calls so far"
                    warnings.append(
                        f"queue {q.id}: {note}; its forecast from {scenario.horizon.label(E)} "
                        "is kept (run-rate 1)"
                    )
            else:
                r = actual / forecast
                if not lo <= r <= hi:
                    bounded = min(max(r, lo), hi)
                    note = f"run-rate {r:.3f} bounded to {bounded:g}"
                    warnings.append(
                        f"queue {q.id}: actual calls so far are {r:.3f} × the forecast; the "
                        f"run-rate is bounded to [{lo:g}, {hi:g}]: {bounded:g} is used"
                    )
                    r = bounded
                timed = [(t, v) for t, v in rows if v[1] is not None and v[0] > 0]
                weight = sum(v[0] * q.aht_s[t] for t, v in timed)
                if timed and weight > 0:
                    r_aht = sum(v[0] * cast(float, v[1]) for _t, v in timed) / weight
                    if not lo <= r_aht <= hi:
                        bounded = min(max(r_aht, lo), hi)
                        warnings.append(
                            f"queue {q.id}: actual AHT so far is {r_aht:.3f} × the forecast; "
                            f"bounded to [{lo:g}, {hi:g}]: {bounded:g} is used"
                        )
                        r_aht = bounded
        out.append(QueueReforecast(q.id, len(rows), actual, forecast, r, r_aht, note))
    return out, warnings


# -- the replan's scenario -----------------------------------------------------------


def plan_assignment(plan: Plan) -> Assignment:
    """``plan``'s assignment as {(agent, t): queue or None} (its assignments.csv)."""
    index = {ts: t for t, ts in enumerate(plan.scenario.horizon.interval_starts())}
    out: Assignment = {}
    frame = plan.assignments
    for agent, ts, queue in zip(
        frame["agent"], frame["interval_start"], frame["queue"], strict=True
    ):
        out[(str(agent), index[pd.Timestamp(ts).to_pydatetime()])] = (
            None if pd.isna(queue) else str(queue)
        )
    return out


def _when(horizon: Horizon, boundary: int) -> str:
    """Boundary ``boundary`` as a dated time (unambiguous on any horizon)."""
    return (horizon.start + timedelta(minutes=horizon.interval_minutes * boundary)).strftime(
        DATE_FORMAT
    )


def _absences(horizon: Horizon, intervals: Iterable[int]) -> list[str]:
    """Dated absences covering exactly ``intervals`` (runs of at most 12 hours)."""
    runs: list[list[int]] = []
    limit = max(1, 720 // horizon.interval_minutes)
    for t in sorted(set(intervals)):
        if runs and runs[-1][1] == t and runs[-1][1] - runs[-1][0] < limit:
            runs[-1][1] = t + 1
        else:
            runs.append([t, t + 1])
    out = []
    for a, b in runs:
        end = horizon.start + timedelta(minutes=horizon.interval_minutes * b)
        out.append(f"{_when(horizon, a)}-{end:%H:%M}")
    return out


def _pins(
    horizon: Horizon, agent: str, cells: Sequence[tuple[int, str | None]]
) -> list[dict[str, Any]]:
    """Pins for ``agent``'s (t, queue) cells, one per run of consecutive equal cells."""
    out: list[list[Any]] = []
    run: list[Any] | None = None
    for t, q in sorted(cells, key=lambda c: c[0]):
        if run is not None and run[1] == t and run[2] == q:
            run[1] = t + 1
            continue
        if run is not None:
            out.append(run)
        run = [t, t + 1, q]
    if run is not None:
        out.append(run)
    return [
        {"agent": agent, "queue": q, "from": _when(horizon, a), "to": _when(horizon, b)}
        for a, b, q in out
    ]


@dataclass(frozen=True)
class _Prepared:
    scenario: Scenario
    baseline: Assignment
    committed: frozenset[str]  # optional agents called in whose shift began before E
    reforecast: tuple[QueueReforecast, ...]
    warnings: tuple[str, ...]


def _prepare(old: Plan, request: ReplanRequest, E: int) -> _Prepared:
    from optistaff.loading import scenario_from_dict

    sc = old.scenario
    horizon = sc.horizon
    T = horizon.intervals
    warnings: list[str] = []
    ids = {a.id for a in sc.agents}
    for option, given in (("--absent", request.absent), ("--available", request.available)):
        unknown = sorted(set(given) - ids)
        if unknown:
            from optistaff.loading.problems import suggest

            raise UsageError(
                f"{option}: unknown agent id(s) "
                + ", ".join(f"{u!r}{suggest(u, sorted(ids))}" for u in unknown)
            )
    both = sorted(set(request.absent) & set(request.available))
    if both:
        raise UsageError(f"agent(s) {', '.join(both)} given both --absent and --available")
    if request.freeze < 0 or E + request.freeze >= T:
        raise UsageError(
            f"--freeze {request.freeze}: must be 0 or more and leave an interval to "
            f"re-plan ({T - E} interval(s) from {horizon.label(E)})"
        )
    for option, counts in (("--waiting", request.waiting), ("--in-service", request.in_service)):
        unknown = sorted(set(counts) - set(sc.queue_ids))
        if unknown:
            raise UsageError(
                f"{option}: unknown queue(s) {', '.join(unknown)} "
                f"(queues: {', '.join(sc.queue_ids)})"
            )
    state_given = bool(request.waiting or request.in_service)
    if state_given and sc.initial_state is not None and sc.initial_state.at != E:
        raise UsageError(
            f"the plan's scenario already gives the state at {horizon.label(sc.initial_state.at)}"
            " (initial_state); a scenario holds one starting state, so --waiting/--in-service "
            "cannot add one at E"
        )
    actuals = {} if request.actuals is None else read_actuals(request.actuals, sc, E)
    mode = request.reforecast
    if request.actuals is None and mode == "run-rate" and E > 0:
        warnings.append(
            f"no actuals given (--actuals): the forecast from {horizon.label(E)} is kept "
            "(the run-rate needs the calls so far)"
        )
        mode = "none"
    rates, notes = run_rates(sc, actuals, E, mode)
    warnings.extend(notes)

    old_assignment = plan_assignment(old)
    called = set(old.called_in)
    frozen_end = E + request.freeze
    data = sc.to_dict()
    from optistaff.loading.limits import MAX_AHT_S, MAX_CALLS, MIN_AHT_S

    capped = False
    for q, rate in zip(sc.queues, rates, strict=True):
        entry = data["queues"][q.id]
        forecast = list(q.forecast)
        aht = list(q.aht_s)
        for t in range(T):
            if t < E:
                got = actuals.get((q.id, t))
                if got is not None:
                    forecast[t] = got[0]
                    if got[1] is not None:
                        aht[t] = got[1]
            else:
                f = q.forecast[t] * rate.calls_factor
                capped |= f > MAX_CALLS
                forecast[t] = min(f, MAX_CALLS)
                aht[t] = min(max(q.aht_s[t] * rate.aht_factor, MIN_AHT_S), MAX_AHT_S)
        entry["forecast"] = forecast
        entry["aht_s"] = aht if any(x != aht[0] for x in aht) else aht[0]
    if capped:
        warnings.append(f"a reforecast above {MAX_CALLS:,.0f} calls an interval is capped there")

    by_id = {a.id: a for a in sc.agents}
    # the agents' availability without their absences (to re-open them from E)
    base_available: dict[str, tuple[bool, ...]] = {}
    if request.available:
        probe = dict(data)
        probe["agents"] = [
            {k: v for k, v in entry.items() if k != "absent"}
            for entry in data["agents"]
            if entry["id"] in request.available
        ]
        probe["pins"] = []
        for agent in scenario_from_dict(probe, source_name="<replan>").agents:
            base_available[agent.id] = agent.available
    committed: set[str] = set()
    pins: list[dict[str, Any]] = []
    for entry in data["agents"]:
        aid = entry["id"]
        agent = by_id[aid]
        began = any(agent.available[:E])
        away: list[int] = []  # intervals this agent is newly away
        if agent.optional and aid not in called:
            away.extend(t for t in range(E) if agent.available[t])  # not there before E
        if agent.optional and aid in called and began:
            committed.add(aid)
        if aid in request.absent:
            away.extend(t for t in range(E, T) if agent.available[t])
            if not any(agent.available[E:]):
                warnings.append(f"--absent {aid}: not scheduled from {horizon.label(E)} anyway")
        if aid in request.available:
            base = base_available.get(aid, agent.available)
            reopened = [t for t in range(E, T) if base[t] and not agent.available[t]]
            if not reopened:
                warnings.append(
                    f"--available {aid}: no absence of theirs from {horizon.label(E)} to lift"
                )
            else:
                # their absences before E stay; from E on they work their shift
                past = [t for t in range(E) if base[t] and not agent.available[t]]
                entry.pop("absent", None)
                if past:
                    entry["absent"] = _absences(horizon, past)
        if away:
            entry["absent"] = list(entry.get("absent", [])) + _absences(horizon, away)
        frozen = [
            (t, old_assignment.get((aid, t)))
            for t in range(min(frozen_end, T))
            if agent.available[t]
            and (aid, t) in old_assignment
            and not (t >= E and aid in request.absent)
        ]
        pins.extend(_pins(horizon, aid, frozen))
    for pin in sc.pins:  # the old pins, from the end of the frozen intervals on
        start = max(pin.start, frozen_end)
        if start >= pin.end:
            continue
        cells = [
            (t, pin.queue)
            for t in range(start, pin.end)
            if not (pin.agent in request.absent and t >= E)
        ]
        if len(cells) < pin.end - start:
            warnings.append(
                f"the pin of {pin.agent} ({pin.queue or 'unassigned'}, {pin.from_}-{pin.to}) "
                f"is dropped from {horizon.label(E)}: the agent is absent"
            )
        pins.extend(_pins(horizon, pin.agent, cells))
    data["pins"] = pins
    if state_given:
        queues = {}
        for qid in sc.queue_ids:
            if qid in request.waiting or qid in request.in_service:
                queues[qid] = {
                    "waiting": int(request.waiting.get(qid, 0)),
                    "in_service": int(request.in_service.get(qid, 0)),
                }
        data["initial_state"] = {"at": _when(horizon, E), "queues": queues}
    data["description"] = _description(old, request, E, rates, actuals)
    scenario = scenario_from_dict(data, source_name="<replan>")
    scenario = replace(scenario, input_hash=None, warnings=())
    baseline: Assignment = {}
    working = {a.id: a for a in scenario.agents}
    for (aid, t), cell in old_assignment.items():
        kept = working.get(aid)
        if kept is None or not kept.available[t]:
            continue
        baseline[(aid, t)] = cell
    return _Prepared(scenario, baseline, frozenset(committed), tuple(rates), tuple(warnings))


def _description(
    old: Plan,
    request: ReplanRequest,
    E: int,
    rates: Sequence[QueueReforecast],
    actuals: Mapping[tuple[str, int], Any],
) -> str:
    sc = old.scenario
    h = sc.horizon
    lines = [
        f"Re-planned at {request.at} (effective {h.label(E)}) from the plan of "
        f"{sc.name!r} ({old.summary['scenario']['content_hash'][:19]}).",
        f"Kept as planned: every interval before {h.label(E)}"
        + (f" and {request.freeze} more" if request.freeze else "")
        + ".",
    ]
    if request.absent:
        lines.append(f"Absent from {h.label(E)}: {', '.join(request.absent)}.")
    if request.available:
        lines.append(f"Available again from {h.label(E)}: {', '.join(request.available)}.")
    if actuals:
        lines.append(
            f"Actual calls replace the forecast in {len(actuals)} (queue, interval) cells "
            "before the effective time."
        )
    scaled = [r for r in rates if r.calls_factor != 1.0 or r.aht_factor != 1.0]
    if request.reforecast == "run-rate" and scaled:
        lines.append(
            "Run-rate reforecast from the effective time: "
            + ", ".join(
                f"{r.queue} calls ×{r.calls_factor:.3f}"
                + (f", AHT ×{r.aht_factor:.3f}" if r.aht_factor != 1.0 else "")
                for r in scaled
            )
            + "."
        )
    elif request.reforecast == "none":
        lines.append("The forecast from the effective time is kept (--reforecast none).")
    if request.waiting or request.in_service:
        lines.append(
            "State at the effective time as given: "
            + ", ".join(
                f"{q} {request.waiting.get(q, 0)} waiting, "
                f"{request.in_service.get(q, 0)} in service"
                for q in sc.queue_ids
                if q in request.waiting or q in request.in_service
            )
            + "."
        )
    return "\n".join(lines)


# -- plans of an assignment ------------------------------------------------------------


def called_of(
    scenario: Scenario,
    assignment: Mapping[tuple[str, int], str | None],
    committed: Iterable[str] = (),
) -> list[str]:
    """The optional agents called in by ``assignment``: those who work an interval, and
    the ``committed`` ones (called in, shift begun), in scenario order."""
    keep = set(committed)
    working = {aid for (aid, _t), q in assignment.items() if q is not None}
    return [a.id for a in scenario.agents if a.optional and (a.id in working or a.id in keep)]


def plan_of(
    scenario: Scenario,
    assignment: Mapping[tuple[str, int], str | None],
    called: Sequence[str],
    decomposition: str,
    solver: SolverSettings | None = None,
) -> Plan:
    """The plan of ``assignment`` on ``scenario``: every figure evaluated, ``feasible``
    (nothing optimised or proven), ``solver.decomposition`` saying how it was made."""
    from optistaff.pipeline import (
        _assignment_table,
        _time_varying_summary,
        scenario_info,
        software_versions,
    )

    began = time.monotonic()
    pol = scenario.policy
    keys = dict(assignment)
    for aid in called:  # a called-in agent has a row in every available interval
        agent = scenario.agent(aid)
        for t, ok in enumerate(agent.available):
            if ok:
                keys.setdefault((aid, t), None)
    ev = evaluate(scenario, keys, called)
    base: SolverSettings = (
        solver
        if solver is not None
        else cast(
            SolverSettings,
            {
                "backend": "none",
                "decomposition": decomposition,
                "objective": pol.objective,
                "time_limit_s": pol.time_limit_s,
                "mip_gap": pol.mip_gap,
                "threads": pol.threads,
                "seed": pol.seed,
            },
        )
    )
    settings = cast(
        SolverSettings,
        {k: v for k, v in base.items() if k not in ("optimised_for", "proof")},
    )
    settings["decomposition"] = decomposition
    summary = cast(
        PlanSummary,
        {
            "scenario": scenario_info(scenario),
            "versions": software_versions(),
            "solver": settings,
            "status": str(SolveStatus.FEASIBLE),
            "objective": ev.objective,
            "bound": None,
            "gap": None,
            "shortfall_bound": None,
            "called_in": list(called),
            "queues": ev.queues,
            "timing": {"build_s": 0.0, "solve_s": 0.0, "total_s": 0.0},
        },
    )
    if pol.queue_model == "time_varying":
        summary = _time_varying_summary(summary, None, None)
    summary["timing"] = {
        "build_s": 0.0,
        "solve_s": 0.0,
        "total_s": round(time.monotonic() - began, 3),
    }
    return Plan(
        scenario=scenario,
        status=SolveStatus.FEASIBLE,
        summary=summary,
        staffing=ev.table,
        assignments=_assignment_table(scenario, keys),
    )


def _score(plan: Plan) -> Any:
    from optistaff.solvers.carry_over import Score

    obj = plan.objective
    return Score(float(obj["weighted_shortfall"]), float(obj["total"]))


def _priced(scenario: Scenario) -> bool:
    return scenario.policy.shortfall_price is not None


# -- actions -----------------------------------------------------------------------------


def diff_actions(
    scenario: Scenario,
    baseline: Mapping[tuple[str, int], str | None],
    new: Mapping[tuple[str, int], str | None],
    E: int,
    committed: Iterable[str] = (),
) -> list[Action]:
    """The blocks where ``new`` differs from ``baseline`` from E on (agent, then time)."""
    keep = set(committed)
    base_called = set(called_of(scenario, baseline, keep))
    new_called = set(called_of(scenario, new, keep))
    T = scenario.horizon.intervals
    out: list[Action] = []
    for agent in scenario.agents:
        aid = agent.id
        kind: ActionKind = "move"
        if agent.optional and aid not in base_called and aid in new_called:
            kind = "call_in"
        elif agent.optional and aid in base_called and aid not in new_called:
            kind = "release"
        run: list[Any] | None = None
        for t in range(E, T + 1):
            pair = None
            if t < T and agent.available[t]:
                a, b = baseline.get((aid, t)), new.get((aid, t))
                if a != b:
                    pair = (a, b)
            if run is not None and pair == (run[2], run[3]) and pair is not None:
                run[1] = t + 1
                continue
            if run is not None:
                out.append(Action(kind, aid, run[0], run[1], run[2], run[3], _cost(agent, kind)))
                run = None
            if pair is not None:
                run = [t, t + 1, pair[0], pair[1]]
    return out


def _cost(agent: Any, kind: ActionKind) -> float:
    """An optional agent's cost when called in (cost × available intervals)."""
    if kind == "move":
        return 0.0
    return float(agent.cost) * agent.available_intervals


def apply_to(
    scenario: Scenario,
    baseline: Mapping[tuple[str, int], str | None],
    actions: Iterable[Action],
) -> Assignment:
    """``baseline`` with ``actions`` applied (each checked: ValueError on a mismatch)."""
    out: Assignment = dict(baseline)
    T = scenario.horizon.intervals
    for action in actions:
        agent = scenario.agent(action.agent)
        for t in range(action.start, action.end):
            if not (0 <= t < T) or not agent.available[t]:
                raise ValueError(f"{action.agent} is not available at {scenario.horizon.label(t)}")
            if out.get((action.agent, t)) != action.from_queue:
                raise ValueError(
                    f"{action.agent} works {out.get((action.agent, t)) or 'nothing'} at "
                    f"{scenario.horizon.label(t)} in the plan it applies to, not "
                    f"{action.from_queue or 'nothing'}"
                )
            if action.to_queue is not None and action.to_queue not in agent.skills:
                raise ValueError(f"{action.agent} is not skilled for {action.to_queue}")
            out[(action.agent, t)] = action.to_queue
    # an optional agent who works nowhere is not called in: no rows (none of their cells)
    for agent in scenario.agents:
        if agent.optional and not any(out.get((agent.id, t)) is not None for t in range(T)):
            for t in range(T):
                if out.get((agent.id, t)) is None:
                    out.pop((agent.id, t), None)
    return out


def effects(
    scenario: Scenario,
    baseline: Plan,
    base: Assignment,
    actions: Sequence[Action],
    committed: Iterable[str],
    order: bool = True,
) -> tuple[list[Action], list[Effect], list[Effect]]:
    """Each action's effect applied alone to the baseline; the actions ordered largest
    effect first (shortfall removed, then total gained; ``order``), then the effects of
    applying them cumulatively in that order."""
    keep = tuple(committed)

    def plan_with(chosen: Sequence[Action]) -> Effect:
        assignment = apply_to(scenario, base, chosen)
        called = called_of(scenario, assignment, keep)
        got = evaluate(scenario, assignment, called).objective
        b = baseline.objective
        return Effect(
            float(got["weighted_shortfall"]) - float(b["weighted_shortfall"]),
            float(got["value"]) - float(b["value"]),
            float(got["total"]) - float(b["total"]),
        )

    threads = max(1, min(os.cpu_count() or 1, 4))
    _prewarm(scenario, [apply_to(scenario, base, [a]) for a in actions], threads)
    alone = [plan_with([a]) for a in actions]
    indices = list(range(len(actions)))
    if order:
        priced = _priced(scenario)

        def key(i: int) -> tuple[float, float, str, int]:
            e = alone[i]
            first = 0.0 if priced else round(e.shortfall, 6)
            return (first, -round(e.total, 6), actions[i].agent, actions[i].start)

        indices.sort(key=key)
    ordered = [actions[i] for i in indices]
    steps = []
    running = dict(base)
    for a in ordered:
        running = apply_to(scenario, running, [a])
        steps.append(running)
    _prewarm(scenario, steps, threads)
    cumulative = [plan_with(ordered[: k + 1]) for k in range(len(ordered))]
    return ordered, [alone[i] for i in indices], cumulative


def _prewarm(
    scenario: Scenario, assignments: Sequence[Mapping[tuple[str, int], str | None]], threads: int
) -> None:
    """Under the time-varying model, compute the distinct queue-days of ``assignments``
    ``threads`` at a time (the compiled day releases the GIL): the evaluations that
    follow find them in :mod:`optistaff.time_varying`'s memo. Figures do not depend on
    the thread count."""
    if scenario.policy.queue_model != "time_varying" or threads <= 1 or not assignments:
        return
    import numpy as np

    from optistaff import time_varying

    qidx = {q.id: i for i, q in enumerate(scenario.queues)}
    T = scenario.horizon.intervals
    seen: set[bytes] = set()
    days = []
    for assignment in assignments:
        n = np.zeros((len(qidx), T), dtype=np.int64)
        for (_aid, t), q in assignment.items():
            if q is not None:
                n[qidx[q], t] += 1
        for qi in range(len(qidx)):
            day = time_varying.day_of(scenario, qi, n[qi])
            key = time_varying._memo_key(day)
            if key not in seen and time_varying._recalled(key) is None:
                seen.add(key)
                days.append(day)
    days = days[: time_varying.MEMO_SIZE // 2]  # (never evict what it computes)
    time_varying.evaluate_days(days, threads=threads)


def actions_frame(
    horizon: Horizon,
    actions: Sequence[Action],
    alone: Sequence[Effect],
    cumulative: Sequence[Effect],
) -> pd.DataFrame:
    rows = []
    for i, (a, e, c) in enumerate(zip(actions, alone, cumulative, strict=True), start=1):
        rows.append(
            (
                i,
                a.kind,
                a.agent,
                _when(horizon, a.start),
                _when(horizon, a.end),
                a.from_queue or "",
                a.to_queue or "",
                round(a.cost, 9),
                e.shortfall,
                e.value,
                e.total,
                c.shortfall,
                c.value,
                c.total,
            )
        )
    return pd.DataFrame(rows, columns=list(ACTION_COLUMNS))


def actions_csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", float_format="%.9g")
    return buf.getvalue()


def read_actions(path: str | os.PathLike[str], scenario: Scenario, E: int) -> list[Action]:
    """An actions file (``actions.csv`` or a subset of its rows, in any order; only
    ``action``, ``agent``, ``from``, ``to``, ``from_queue``, ``to_queue`` are read) as
    actions on ``scenario``; every problem located (ScenarioError, exit 2)."""
    display = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            [Problem(display, None, "", f"cannot read the actions: {exc}")]
        ) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = ("action", "agent", "from", "to", "from_queue", "to_queue")
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise ScenarioError(
            [Problem(display, 1, "", f"missing column(s) {', '.join(missing)} (as in actions.csv)")]
        )
    horizon = scenario.horizon
    step = horizon.interval_minutes
    ids = {a.id for a in scenario.agents}
    problems: list[Problem] = []
    out: list[Action] = []
    for row in reader:
        line = reader.line_num
        kind = (row["action"] or "").strip()
        if kind not in ("move", "call_in", "release"):
            problems.append(
                Problem(display, line, "action", f"must be move, call_in or release, got {kind!r}")
            )
            continue
        aid = (row["agent"] or "").strip()
        if aid not in ids:
            problems.append(Problem(display, line, "agent", f"unknown agent {aid!r}"))
            continue
        bounds = []
        for key in ("from", "to"):
            try:
                when = moment(row[key] or "", horizon, key)
            except UsageError as exc:
                problems.append(Problem(display, line, key, str(exc).split(": ", 1)[1]))
                break
            offset = (when - horizon.start) / timedelta(minutes=1)
            if offset % step or not (E * step <= offset <= horizon.intervals * step):
                problems.append(
                    Problem(
                        display,
                        line,
                        key,
                        f"{row[key]} must be an interval boundary from {horizon.label(E)} "
                        f"(the effective time) to the horizon end",
                    )
                )
                break
            bounds.append(int(offset // step))
        if len(bounds) < 2:
            continue
        if bounds[1] <= bounds[0]:
            problems.append(Problem(display, line, "to", "must be after from"))
            continue
        queues = []
        for key in ("from_queue", "to_queue"):
            q = (row[key] or "").strip()
            if q and q not in scenario.queue_ids:
                problems.append(Problem(display, line, key, f"unknown queue {q!r}"))
            queues.append(q or None)
        agent = scenario.agent(aid)
        out.append(
            Action(
                cast(ActionKind, kind),
                aid,
                bounds[0],
                bounds[1],
                queues[0],
                queues[1],
                _cost(agent, cast(ActionKind, kind)),
            )
        )
    taken: dict[tuple[str, int], int] = {}
    for i, action in enumerate(out):
        for t in range(action.start, action.end):
            if (action.agent, t) in taken:
                problems.append(
                    Problem(
                        display, None, "", f"two actions move {action.agent} at {horizon.label(t)}"
                    )
                )
                break
            taken[(action.agent, t)] = i
    if problems:
        raise ScenarioError(problems)
    return out


# -- the replan ------------------------------------------------------------------------


def replan(
    old: Plan,
    request: ReplanRequest,
    *,
    apply: str | os.PathLike[str] | Sequence[Action] | None = None,
    time_limit_s: float | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    started: float | None = None,
) -> Replanned:
    """Re-plan ``old`` from the effective time of ``request`` (see the module docstring).

    Without ``apply`` the rest of the day is re-optimised (:func:`optistaff.solve` on
    the replan's scenario); the new plan is never worse than the baseline (when the
    search ends worse, the baseline is kept and no action is proposed). With ``apply``
    (an actions file or actions) those actions are applied to the baseline instead."""
    from optistaff import pipeline
    from optistaff.solvers.carry_over import better

    if old.status == SolveStatus.INFEASIBLE:
        raise UsageError("the plan to re-plan is infeasible (it has no assignment)")
    if old.scenario.policy.objective == "equity":
        # (its "never worse" and the actions' effects are by the value objective's rule)
        raise UsageError(
            "re-planning an equity plan (policy.objective: equity) is not supported yet: "
            "solve the rest of the day again with optistaff solve, or re-plan under "
            "objective within_target"
        )
    E = effective_boundary(old.scenario.horizon, request.at)
    prepared = _prepare(old, request, E)
    sc = prepared.scenario
    baseline = plan_of(
        sc,
        prepared.baseline,
        called_of(sc, prepared.baseline, prepared.committed),
        "replan baseline",
    )
    warnings = list(prepared.warnings)
    if apply is not None:
        chosen = (
            list(apply) if not isinstance(apply, (str, os.PathLike)) else read_actions(apply, sc, E)
        )
        try:
            assignment = apply_to(sc, prepared.baseline, chosen)
        except ValueError as exc:
            raise UsageError(f"the actions do not apply to the baseline: {exc}") from exc
        actions = chosen
        plan = plan_of(
            sc, assignment, called_of(sc, assignment, prepared.committed), "replan: actions applied"
        )
        return _replanned(plan, baseline, prepared, actions, E, warnings, order=False)
    solved = pipeline.solve(
        sc,
        time_limit_s=time_limit_s,
        threads=threads,
        progress=progress,
        stop=stop,
        started=started,
    )
    if solved.status == SolveStatus.INFEASIBLE:
        raise UsageError(
            "the pins cannot all hold together from the effective time (a pin of the "
            "scenario on an agent now absent?)"
        )
    from optistaff.disaggregate import closest_to

    new_assignment = plan_assignment(solved)
    called = set(solved.called_in)
    plan = solved
    renamed = closest_to(sc, new_assignment, prepared.baseline, E + request.freeze)
    if renamed != new_assignment:
        candidate = plan_of(
            sc,
            renamed,
            called_of(sc, renamed, prepared.committed),
            "replan",
            solved.summary["solver"],
        )
        if not better(_score(plan), _score(candidate), _priced(sc)):
            plan = _restamped(solved, candidate, keep_status=True)
            new_assignment = renamed
            called = set(candidate.called_in)
    if not prepared.committed <= called:
        # an agent called in whose shift has begun stays called in (idle if need be)
        plan = _restamped(
            solved,
            plan_of(
                sc,
                new_assignment,
                called_of(sc, new_assignment, prepared.committed),
                "replan",
                solved.summary["solver"],
            ),
        )
    priced = _priced(sc)
    if better(_score(baseline), _score(plan), priced):
        warnings.append(
            "the re-optimised plan is not better than keeping the old plan from the "
            "effective time: the old plan is kept (no action)"
        )
        plan = _restamped(
            solved,
            plan_of(
                sc,
                prepared.baseline,
                baseline.called_in,
                "replan: old plan kept",
                solved.summary["solver"],
            ),
        )
        new_assignment = dict(prepared.baseline)
    actions = diff_actions(sc, prepared.baseline, plan_assignment(plan), E, prepared.committed)
    return _replanned(plan, baseline, prepared, actions, E, warnings, order=True)


def _replanned(
    plan: Plan,
    baseline: Plan,
    prepared: _Prepared,
    actions: Sequence[Action],
    E: int,
    warnings: Sequence[str],
    *,
    order: bool,
) -> Replanned:
    """The result: the actions (ordered by their effect when ``order``) with their
    effects alone and cumulatively."""
    ordered, alone, cumulative = effects(
        prepared.scenario, baseline, prepared.baseline, actions, prepared.committed, order=order
    )
    return Replanned(
        plan,
        baseline,
        tuple(ordered),
        tuple(alone),
        tuple(cumulative),
        E,
        prepared.reforecast,
        tuple(warnings),
    )


def apply_actions(
    old: Plan,
    request: ReplanRequest,
    actions: str | os.PathLike[str] | Sequence[Action],
) -> Replanned:
    """``actions`` (any of a re-plan's, e.g. the rows of its ``actions.csv`` a planner
    kept) applied to the baseline of ``request`` on ``old``: the resulting plan
    (``feasible``: nothing optimised), its figures and each action's effect alone and
    cumulatively in the given order. The same as ``replan(old, request, apply=actions)``.
    """
    return replan(old, request, apply=actions)


def _restamped(solved: Plan, plan: Plan, keep_status: bool = False) -> Plan:
    """``plan`` with the solve's timing, and with its status, bound and gap when
    ``keep_status`` (the same staffing and objective as the solved plan, renamed:
    what was proven still holds); otherwise ``feasible`` with no bound."""
    summary = dict(plan.summary)
    summary["timing"] = solved.summary["timing"]
    status = plan.status
    if keep_status:
        s = solved.summary
        summary["status"], summary["bound"], summary["gap"] = s["status"], s["bound"], s["gap"]
        summary["shortfall_bound"] = s["shortfall_bound"]
        if "proof" in s["solver"]:
            solver = cast(dict[str, Any], summary["solver"])
            summary["solver"] = {**solver, "proof": s["solver"]["proof"]}
        status = solved.status
    return replace(plan, status=status, summary=cast(PlanSummary, summary))


def replan_summary(result: Replanned, request: ReplanRequest, old: Plan) -> dict[str, Any]:
    """The ``replan`` block of summary.json: what was changed, and from when."""
    h = result.plan.scenario.horizon
    return {
        "at": request.at,
        "effective": h.label(result.effective),
        "effective_index": result.effective,
        "freeze": request.freeze,
        "from_plan": old.summary["scenario"]["content_hash"],
        "absent": list(request.absent),
        "available": list(request.available),
        "reforecast": request.reforecast,
        "run_rate": {
            r.queue: {
                "calls_factor": r.calls_factor,
                "aht_factor": r.aht_factor,
                "intervals": r.intervals,
                "actual_calls": r.actual_calls,
                "forecast_calls": r.forecast_calls,
            }
            for r in result.reforecast
        },
        "state": "given" if (request.waiting or request.in_service) else "predicted",
        "baseline": dict(result.baseline.objective),
        "actions": len(result.actions),
    }


def with_replan(plan: Plan, block: Mapping[str, Any]) -> Plan:
    """``plan`` with its summary's ``replan`` block (kept before ``timing``)."""
    summary = {k: v for k, v in plan.summary.items() if k != "timing"}
    summary["replan"] = dict(block)
    summary["timing"] = plan.summary["timing"]
    return replace(plan, summary=cast(PlanSummary, summary))


def write(result: Replanned, directory: str | os.PathLike[str], block: Mapping[str, Any]) -> Path:
    """The replan's plan directory: the plan's four files and ``actions.csv`` (hashed
    in summary.json like the others), atomically."""
    from optistaff.plan import plan_files, write_plan_files

    plan = with_replan(result.plan, block)
    extra = {"actions.csv": actions_csv(result.actions_frame()).encode()}
    return write_plan_files(Path(directory), plan_files(plan, extra))
