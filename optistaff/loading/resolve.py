"""Resolution: the merged draft against the horizon → :class:`~optistaff.scenario.Scenario`.

The horizon first; then each queue's per-interval values (CSV columns through
:mod:`optistaff.loading.csv_tables`) and their load limits, each agent's availability,
the pins; last, the size of the staffing tables the solver would build. The rules for
times (shifts, breaks, pins) are in ``docs/scenario-rules.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from optistaff.loading.clock import (
    DAY_MINUTES,
    parse_clock,
    parse_dated_clock,
    parse_dated_range,
    parse_datetime,
)
from optistaff.loading.csv_tables import column_values
from optistaff.loading.drafts import AgentDraft, Draft, QueueDraft
from optistaff.loading.limits import (
    MAX_AGENT_INTERVALS,
    MAX_AGENTS,
    MAX_AHT_S,
    MAX_CALLS,
    MAX_CELL_AGENTS,
    MAX_HORIZON_MINUTES,
    MAX_OFFERED_LOAD,
    MAX_QUEUES,
    MAX_TABLE_ENTRIES,
    MIN_AHT_S,
    MIN_CALLS,
)
from optistaff.loading.problems import (
    At,
    Context,
    show,
    suggest,
    too_many_agents,
    under,
    where_text,
)
from optistaff.loading.schema import (
    ColumnRef,
    HorizonModel,
    QueueModel,
    check_number,
    is_number,
    validate,
)
from optistaff.scenario import (
    ALLOWED_INTERVAL_MINUTES,
    Agent,
    Horizon,
    InitialState,
    Pin,
    Policy,
    Queue,
    QueueState,
    Scenario,
)


def resolve_draft(
    draft: Draft | None, ctx: Context, *, default_name: str, source: Path | None
) -> Scenario | None:
    """The scenario of a merged draft, or None when any error was found (every problem,
    warnings too, is in ``ctx``). Its ``input_hash`` is the caller's to set."""
    if draft is None or draft.root is None:
        return None
    root = draft.root
    for section in ("horizon", "queues", "agents"):
        if section not in draft.given and section not in draft.broken:
            ctx.error(root, f"required key '{section}' is missing")
    horizon = None
    if draft.horizon is not None and draft.horizon_at is not None:
        horizon = _resolve_horizon(draft.horizon, draft.horizon_at, ctx)

    queues: list[Queue] = []
    if len(draft.queues) > MAX_QUEUES:  # after extends / changes
        ctx.error(
            root.at("queues"),
            f"{len(draft.queues):,} queues; optistaff plans at most {MAX_QUEUES:,} "
            "(limit MAX_QUEUES)",
        )
        draft.queues = {}
        draft.broken.add("queues")
    if len(draft.agents) > MAX_AGENTS:  # after extends / changes
        ctx.error(root.at("agents"), too_many_agents(len(draft.agents)))
        draft.agents = {}
        draft.broken.add("agents")
    if horizon is not None and len(draft.agents) * horizon.intervals > MAX_AGENT_INTERVALS:
        ctx.error(
            root.at("agents"),
            f"{len(draft.agents):,} agents × {horizon.intervals:,} intervals = "
            f"{len(draft.agents) * horizon.intervals:,} agent-intervals; at most "
            f"{MAX_AGENT_INTERVALS:,} (limit MAX_AGENT_INTERVALS). Shorten the horizon, use "
            "longer intervals, or split the agents into sites",
        )
        draft.agents = {}
        draft.broken.add("agents")
    queue_ids = set(draft.queues)
    if "queues" in draft.given and not draft.queues and "queues" not in draft.broken:
        ctx.error(root.at("queues"), "must define at least one queue")
    for qid, qdraft in draft.queues.items():
        queue = _resolve_queue(qid, qdraft, horizon, ctx)
        if queue is not None:
            queues.append(queue)
    queues_known = "queues" not in draft.broken

    if "agents" in draft.given and not draft.agents and "agents" not in draft.broken:
        ctx.error(root.at("agents"), "must list at least one agent")
    agents: dict[str, Agent] = {}
    dropped: set[str] = set()  # no available interval (a warning)
    for agent_id, adraft in draft.agents.items():
        agent = resolve_agent(adraft, queue_ids if queues_known else None, horizon, ctx)
        if agent is None:
            continue
        if agent.available_intervals == 0:
            assert horizon is not None
            ctx.warn(
                adraft.at,
                f"agent '{agent_id}' has no available interval in the horizon "
                f"{horizon.label(0)} to {horizon.end:%Y-%m-%d %H:%M} "
                f"(shift {agent.shift}): ignored",
            )
            dropped.add(agent_id)
            continue
        agents[agent_id] = agent

    pins = _resolve_pins(draft, horizon, agents, dropped, queue_ids, queues_known, ctx)

    policy = Policy()
    if draft.policy is not None:
        p = draft.policy
        policy = Policy(
            objective=p.objective,
            switch_penalty=p.switch_penalty,
            shortfall_price=p.shortfall_price,
            time_limit_s=p.time_limit_s,
            mip_gap=p.mip_gap,
            threads=p.threads,
            seed=p.seed,
            queue_model=p.queue_model,
        )
        if p.objective == "served" and queues_known:
            lacking = [qid for qid, q in draft.queues.items() if q.fields.get("patience_s") is None]
            if lacking:
                assert draft.policy_at is not None
                ctx.error(
                    draft.policy_at.at("objective"),
                    "'served' needs patience_s on every queue (Erlang A); "
                    f"missing on: {', '.join(lacking)}",
                )
        if p.objective == "equity" and p.shortfall_price is not None:
            assert draft.policy_at is not None
            ctx.error(
                draft.policy_at.at("shortfall_price"),
                "'objective: equity' keeps the minimum standards first and cannot trade "
                "them against anything: remove shortfall_price (or use objective "
                "within_target to price the shortfall against value)",
            )

    initial_state = _resolve_initial_state(draft, horizon, queue_ids, queues_known, ctx)

    if ctx.n_errors or horizon is None:
        return None
    if not _check_size(horizon, queues, list(agents.values()), root, ctx):
        return None
    return Scenario(
        name=draft.name or default_name,
        horizon=horizon,
        queues=tuple(queues),
        agents=tuple(agents.values()),
        pins=tuple(pins),
        policy=policy,
        description=draft.description,
        source=source,
        initial_state=initial_state,
        warnings=tuple(str(p) for p in ctx.problems if p.severity == "warning"),
    )


def _check_size(
    horizon: Horizon, queues: list[Queue], agents: list[Agent], at: At, ctx: Context
) -> bool:
    """The staffing tables the formulation builds must fit (limit MAX_TABLE_ENTRIES):
    Σ_q (intervals with calls) × (most agents able to work q in one interval + 1)."""
    if not queues or not agents:
        return True
    index = {q.id: i for i, q in enumerate(queues)}
    # float64, not int: numpy multiplies floats with BLAS (~10x faster), and these
    # sums of at most MAX_AGENTS ones are exact in a float
    skills = np.zeros((len(agents), len(queues)))
    for a, agent in enumerate(agents):
        for skill in agent.skills:
            skills[a, index[skill]] = 1
    available = np.array([agent.available for agent in agents], dtype=np.float64)
    # (queue, interval) -> agents able to work there
    eligible = (skills.T @ available).astype(np.int64)
    with_calls = np.array([[c > 0 for c in q.forecast] for q in queues], dtype=bool)
    top = np.where(with_calls, eligible, 0).max(axis=1)
    if int(top.max()) > MAX_CELL_AGENTS:
        worst = int(top.argmax())
        ctx.error(
            at,
            f"{int(top[worst]):,} agents can work queue {queues[worst].id!r} in one "
            f"interval; at most {MAX_CELL_AGENTS:,} (limit MAX_CELL_AGENTS: the queueing "
            "tables are exact up to 5,000 agents on one queue). Split the queue or the site",
        )
        return False
    entries = int((with_calls.sum(axis=1) * (top + 1)).sum())
    if entries <= MAX_TABLE_ENTRIES:
        return True
    ctx.error(
        at,
        f"too large to solve: {entries:,} staffing table entries (for each queue, the "
        "intervals with calls × the most agents able to work it in one interval); "
        f"at most {MAX_TABLE_ENTRIES:,} (limit MAX_TABLE_ENTRIES). Shorten the horizon, "
        "use longer intervals, or split the agents into sites",
    )
    return False


def _resolve_horizon(model: HorizonModel, at: At, ctx: Context) -> Horizon | None:
    ok = True
    start = parse_datetime(model.start)
    if start is None:
        ctx.error(at.at("start"), f"must be 'YYYY-MM-DD HH:MM', got {model.start!r}")
        ok = False
    elif start.second or start.microsecond:
        ctx.error(at.at("start"), f"must be a whole minute, got {model.start!r}")
        ok = False
    minutes = model.interval_minutes
    if minutes not in ALLOWED_INTERVAL_MINUTES:
        allowed = ", ".join(str(m) for m in ALLOWED_INTERVAL_MINUTES)
        ctx.error(at.at("interval_minutes"), f"must be one of {allowed}, got {minutes}")
        ok = False
    if (model.end is None) == (model.intervals is None):
        ctx.error(at, "give exactly one of 'end' (exclusive) or 'intervals'")
        return None
    if not ok or start is None:
        return None
    if model.end is not None:
        end = parse_datetime(model.end)
        if end is None:
            ctx.error(at.at("end"), f"must be 'YYYY-MM-DD HH:MM', got {model.end!r}")
            return None
        if end <= start:
            ctx.error(at.at("end"), f"must be after start ({model.start}), got {model.end!r}")
            return None
        span = (end - start) / timedelta(minutes=1)
        if span % minutes:
            ctx.error(
                at.at("end"),
                f"the horizon ({span:g} minutes) must be a whole number of "
                f"{minutes}-minute intervals",
            )
            return None
        intervals = int(span // minutes)
        key = "end"
    else:
        assert model.intervals is not None
        intervals = model.intervals
        key = "intervals"
    if intervals * minutes > MAX_HORIZON_MINUTES:
        ctx.error(
            at.at(key),
            f"the horizon may be at most 7 days ({MAX_HORIZON_MINUTES // minutes} intervals "
            f"of {minutes} minutes), got {intervals} intervals",
        )
        return None
    return Horizon(start=start, interval_minutes=minutes, intervals=intervals)


def _per_interval(
    value: Any,
    at: At,
    horizon: Horizon,
    ctx: Context,
    *,
    positive: bool,
    scalar_ok: bool,
) -> tuple[float, ...] | None:
    """A scalar, a list (one per interval) or ``{file, column}`` → T floats."""
    T = horizon.intervals
    if is_number(value) and scalar_ok:
        number = check_number(value, at, ctx, positive=positive)
        return None if number is None else (number,) * T
    if isinstance(value, list):
        if len(value) != T:
            ctx.error(
                at,
                f"must have one value per interval ({T}), got {len(value)} values",
            )
            return None
        numbers = [check_number(v, at.at(i), ctx, positive=positive) for i, v in enumerate(value)]
        if any(n is None for n in numbers):
            return None
        return tuple(n for n in numbers if n is not None)
    if isinstance(value, dict):
        ref = validate(ColumnRef, value, ctx, under(at))
        if ref is None:
            return None
        return column_values(ref, at, horizon, ctx, positive=positive)
    shapes = "a number, " if scalar_ok else ""
    ctx.error(
        at, f"must be {shapes}a list (one per interval) or {{file, column}}, got {show(value)}"
    )
    return None


def _resolve_queue(
    qid: str, draft: QueueDraft, horizon: Horizon | None, ctx: Context
) -> Queue | None:
    if draft.broken:
        return None
    ok = True
    if not qid.strip() or ";" in qid:
        ctx.error(draft.at, f"queue id must be a non-empty name without ';', got {qid!r}")
        ok = False
    elif qid != qid.strip():  # skills and CSV cells naming it are read stripped
        ctx.error(draft.at, f"queue id must not begin or end with spaces, got {qid!r}")
        ok = False

    def locate(loc: tuple[str | int, ...]) -> At:
        if loc and loc[0] in draft.origins:
            return draft.origins[str(loc[0])].at(*loc[1:])
        return draft.at.at(*loc)

    model = validate(QueueModel, draft.fields, ctx, locate)
    if model is None:
        return None
    if model.max_abandon_rate is not None and model.patience_s is None:
        ctx.error(
            locate(("max_abandon_rate",)),
            "needs patience_s (only an Erlang A queue has abandonment); "
            "add patience_s or remove max_abandon_rate",
        )
        ok = False
    if horizon is None:
        return None
    aht = _per_interval(
        model.aht_s, locate(("aht_s",)), horizon, ctx, positive=True, scalar_ok=True
    )
    forecast = _per_interval(
        model.forecast, locate(("forecast",)), horizon, ctx, positive=False, scalar_ok=False
    )
    if aht is None or forecast is None or not ok:
        return None
    if draft.forecast_scale != 1.0:
        forecast = tuple(v * draft.forecast_scale for v in forecast)
    if not _check_load(forecast, aht, locate(("forecast",)), locate(("aht_s",)), horizon, ctx):
        return None
    return Queue(
        id=qid,
        value=model.value,
        aht_s=aht,
        answer_within_s=model.answer_within_s,
        forecast=forecast,
        patience_s=model.patience_s,
        min_service_level=model.min_service_level,
        daily_service_level=model.daily_service_level,
        max_abandon_rate=model.max_abandon_rate,
        max_occupancy=model.max_occupancy,
        shortfall_weight=model.shortfall_weight,
    )


def _check_load(
    forecast: tuple[float, ...],
    aht: tuple[float, ...],
    at: At,
    aht_at: At,
    horizon: Horizon,
    ctx: Context,
) -> bool:
    """Calls per interval 0 or MIN_CALLS … MAX_CALLS, AHT MIN_AHT_S … MAX_AHT_S, offered load
    λ·h/Δ at most MAX_OFFERED_LOAD Erlangs; one problem per kind, naming the first interval."""
    checks: list[tuple[At, Callable[[int], bool], Callable[[int], str]]] = [
        (
            at,
            lambda t: not math.isfinite(forecast[t]),
            lambda t: f"must be a finite number of calls, got {show(forecast[t])}",
        ),
        (
            at,
            lambda t: forecast[t] > MAX_CALLS,
            lambda t: (
                f"{forecast[t]:,.6g} calls; at most {MAX_CALLS:,.0f} per interval (limit MAX_CALLS)"
            ),
        ),
        (
            at,
            lambda t: 0 < forecast[t] < MIN_CALLS,
            lambda t: (
                f"{forecast[t]:.3g} calls; write 0, or at least {MIN_CALLS:g} (limit MIN_CALLS)"
            ),
        ),
        (
            aht_at,
            lambda t: aht[t] < MIN_AHT_S,
            lambda t: (
                f"aht_s {aht[t]:.6g}; at least {MIN_AHT_S:g} s (limit MIN_AHT_S: a handle "
                "time under a second is a unit mistake)"
            ),
        ),
        (
            aht_at,
            lambda t: aht[t] > MAX_AHT_S,
            lambda t: f"aht_s {aht[t]:,.6g}; at most {MAX_AHT_S:,.0f} s, a day (limit MAX_AHT_S)",
        ),
        (
            at,
            lambda t: forecast[t] * aht[t] / horizon.interval_s > MAX_OFFERED_LOAD,
            lambda t: (
                f"offered load {forecast[t] * aht[t] / horizon.interval_s:,.6g} "
                f"Erlangs (calls × aht_s / interval); at most {MAX_OFFERED_LOAD:,.0f} "
                "(limit MAX_OFFERED_LOAD: the queueing formulas are exact up to 5,000)"
            ),
        ),
    ]
    for where, bad, message in checks:
        hits = [t for t in range(horizon.intervals) if bad(t)]
        if hits:
            more = f" (and {len(hits) - 1} more intervals)" if len(hits) > 1 else ""
            ctx.error(where, f"interval {horizon.label(hits[0])}: {message(hits[0])}{more}")
            return False  # one problem per queue: the first kind found
    return True


def _one_day(horizon: Horizon) -> bool:
    """Does the horizon last at most 24 hours (so that a clock time names one moment)?"""
    return horizon.intervals * horizon.interval_minutes <= DAY_MINUTES


def _undated(text: str, horizon: Horizon, what: str) -> str:
    """The message for an undated clock time on a horizon longer than a day."""
    hours = horizon.intervals * horizon.interval_minutes / 60
    return (
        f"{text.strip()!r} has no date, but the horizon lasts {hours:g} hours "
        f"({horizon.label(0)} to {horizon.end:%Y-%m-%d %H:%M}): on a horizon longer than "
        f"24 hours a {what} needs its date, e.g. '{horizon.start:%Y-%m-%d} {text.strip()}'"
    )


def _minutes_from_start(day: date, minute: int, horizon: Horizon) -> int:
    """Minutes from the horizon start to ``minute`` (of the day) on ``day``."""
    when = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
    return int((when - horizon.start) / timedelta(minutes=1))


def _shift_offset(start_minute: int, length: int, horizon: Horizon) -> int:
    """Minutes from the horizon start to the start of the first occurrence of the shift
    that has not ended by the horizon start (negative: already in progress then)."""
    begin = start_minute - (horizon.start.hour * 60 + horizon.start.minute) - DAY_MINUTES
    while begin + length <= 0:
        begin += DAY_MINUTES
    return begin


def resolve_agent(
    draft: AgentDraft, queue_ids: set[str] | None, horizon: Horizon | None, ctx: Context
) -> Agent | None:
    """The agent of ``draft``: skills (against ``queue_ids``; None: the queues are broken,
    so not checked), cost, shift and breaks checked, and its availability in the horizon
    resolved (``docs/scenario-rules.md``). None after reported problems, or without a
    horizon."""
    model, at = draft.model, draft.at
    ok = True
    if not model.skills:
        ctx.error(at.at("skills"), "must name at least one queue")
        ok = False
    seen: set[str] = set()
    for i, skill in enumerate(model.skills):
        if skill in seen:
            ctx.error(at.at("skills", i), f"queue '{skill}' listed twice")
            ok = False
        seen.add(skill)
        if queue_ids is not None and skill not in queue_ids:
            ctx.error(
                at.at("skills", i),
                f"unknown queue '{skill}'{suggest(skill, sorted(queue_ids))} "
                f"(queues: {', '.join(sorted(queue_ids))})",
            )
            ok = False
    if model.cost and not model.optional:
        ctx.error(
            at.at("cost"),
            "only optional agents have a cost (paid when called in); "
            "set optional: true or remove the cost",
        )
        ok = False
    dated = parse_dated_range(model.shift)
    if dated is None:
        ctx.error(
            at.at("shift"),
            f"must be 'HH:MM-HH:MM' or 'YYYY-MM-DD HH:MM-HH:MM', got {model.shift!r}",
        )
        ok = False
    breaks: list[tuple[int, date | None, int, int]] = []  # (index, date, start minute, length)
    for i, text in enumerate(model.breaks):
        parsed = parse_dated_range(text)
        if parsed is None:
            ctx.error(
                at.at("breaks", i),
                f"must be 'HH:MM-HH:MM' or 'YYYY-MM-DD HH:MM-HH:MM', got {text!r}",
            )
            ok = False
        else:
            breaks.append((i, *parsed))
    if dated is None or horizon is None:
        return None
    shift_day, shift_minute, shift_length = dated
    if shift_day is None and not _one_day(horizon):
        ctx.error(at.at("shift"), _undated(model.shift, horizon, "shift"))
        return None
    # Times in minutes after the horizon start (all whole minutes); interval t is
    # [t * step, (t + 1) * step).
    if shift_day is None:
        shift_start = _shift_offset(shift_minute, shift_length, horizon)
    else:
        shift_start = _minutes_from_start(shift_day, shift_minute, horizon)
    shift_end = shift_start + shift_length
    break_windows: list[tuple[int, int]] = []
    for i, b_day, minute, length in breaks:
        if b_day is None:  # the first occurrence at or after the shift start
            b_start = shift_start + (minute - shift_minute) % DAY_MINUTES
        else:
            b_start = _minutes_from_start(b_day, minute, horizon)
        b_end = b_start + length
        if b_start < shift_start or b_end > shift_end or length >= DAY_MINUTES:
            ctx.error(
                at.at("breaks", i),
                f"break {model.breaks[i]} is not inside the shift {model.shift}",
            )
            ok = False
        break_windows.append((b_start, b_end))
    if not ok:
        return None
    step, intervals = horizon.interval_minutes, horizon.intervals
    available = [False] * intervals
    # the intervals wholly inside the shift (-(-a // b) is a rounded up a / b) ...
    for t in range(max(-(-shift_start // step), 0), min(shift_end // step, intervals)):
        available[t] = True
    # ... less every interval a break overlaps
    for b_start, b_end in break_windows:
        for t in range(max(b_start // step, 0), min(-(-b_end // step), intervals)):
            available[t] = False
    # ... less every interval an absence overlaps
    for i, text in enumerate(model.absent):
        window = _absence(text, horizon, at.at("absent", i), ctx)
        if window is None:
            ok = False
            continue
        a_start, a_end = window
        for t in range(max(a_start // step, 0), min(-(-a_end // step), intervals)):
            available[t] = False
    if not ok:
        return None
    return Agent(
        id=model.id,
        skills=tuple(model.skills),
        shift=model.shift.strip(),
        available=tuple(available),
        breaks=tuple(b.strip() for b in model.breaks),
        optional=model.optional,
        cost=model.cost,
        absent=tuple(x.strip() for x in model.absent),
    )


def _absence(text: str, horizon: Horizon, at: At, ctx: Context) -> tuple[int, int] | None:
    """An absence ``FROM-TO`` or ``FROM-`` (until the horizon end) as minutes from the
    horizon start: ``FROM`` is the first occurrence at or after the horizon start (or a
    date and time), ``TO`` the first after ``FROM``. A time inside an interval takes the
    whole interval (an agent is available only in intervals wholly free), with a warning;
    None after a reported problem."""
    # "YYYY-MM-DD HH:MM-..." has dashes in its date: the clock part follows the last space
    head, sep, tail = text.strip().rpartition(" ")
    if sep:
        date_part, clock = head + " ", tail
    else:
        date_part, clock = "", text.strip()
    pieces = clock.split("-")
    if len(pieces) != 2 or not pieces[0]:
        ctx.error(at, f"must be 'HH:MM-HH:MM' or 'HH:MM-' (until the end), got {text!r}")
        return None
    start = parse_dated_clock(date_part + pieces[0])
    stop = None if pieces[1] == "" else parse_dated_clock(pieces[1], allow_24=True)
    if start is None or (pieces[1] != "" and stop is None):
        ctx.error(at, f"must be 'HH:MM-HH:MM' or 'HH:MM-' (until the end), got {text!r}")
        return None
    start_day, start_minute = start
    if start_day is None and not _one_day(horizon):
        ctx.error(at, _undated(text, horizon, "absence"))
        return None
    if start_day is None:
        day0 = horizon.start.replace(hour=0, minute=0)
        begin = day0 + timedelta(minutes=start_minute)
        if begin < horizon.start:
            begin += timedelta(days=1)
    else:
        begin = datetime.combine(start_day, datetime.min.time()) + timedelta(minutes=start_minute)
    first = int((begin - horizon.start) / timedelta(minutes=1))
    if stop is None:
        last = horizon.intervals * horizon.interval_minutes
    else:
        end_minute = stop[1]
        if end_minute % DAY_MINUTES == start_minute:
            ctx.error(at, f"empty absence {text!r}")
            return None
        last = first + (end_minute - start_minute) % DAY_MINUTES
    step = horizon.interval_minutes
    for offset in (first, last):
        if offset % step and 0 < offset < horizon.intervals * step:
            lo = horizon.start + timedelta(minutes=offset - offset % step)
            ctx.warn(
                at,
                f"{text.strip()}: {horizon.start + timedelta(minutes=offset):%H:%M} is inside "
                f"the interval {lo:%H:%M}-{lo + timedelta(minutes=step):%H:%M}; the agent "
                "counts as absent for all of it",
            )
    return first, last


def _resolve_pins(
    draft: Draft,
    horizon: Horizon | None,
    agents: Mapping[str, Agent],
    dropped: set[str],
    queue_ids: set[str],
    queues_known: bool,
    ctx: Context,
) -> list[Pin]:
    pins: list[Pin] = []
    taken: dict[tuple[str, int], tuple[str | None, At]] = {}
    all_agents = draft.agents
    for pin, at in draft.pins:
        ok = True
        if pin.agent not in all_agents:
            if "agents" not in draft.broken:
                ctx.error(
                    at.at("agent"), f"unknown agent '{pin.agent}'{suggest(pin.agent, all_agents)}"
                )
            continue
        if pin.queue is not None:
            if queues_known and pin.queue not in queue_ids:
                ctx.error(at.at("queue"), f"unknown queue '{pin.queue}'")
                ok = False
            elif pin.queue not in all_agents[pin.agent].model.skills:
                skills = ", ".join(all_agents[pin.agent].model.skills)
                ctx.error(
                    at.at("queue"),
                    f"agent '{pin.agent}' is not skilled for '{pin.queue}' (skills: {skills})",
                )
                ok = False
        start = parse_dated_clock(pin.from_)
        stop = parse_dated_clock(pin.to, allow_24=True)
        for key, got, text in (("from", start, pin.from_), ("to", stop, pin.to)):
            if got is None:
                ctx.error(
                    at.at(key), f"must be a clock time 'HH:MM' or 'YYYY-MM-DD HH:MM', got {text!r}"
                )
                ok = False
        if horizon is None or start is None or stop is None:
            continue
        (start_day, start_minute), (end_day, end_minute) = start, stop
        if start_day is None and not _one_day(horizon):
            ctx.error(at.at("from"), _undated(pin.from_, horizon, "pin's from"))
            continue
        if start_day is None:  # the first occurrence at or after the horizon start
            day0 = horizon.start.replace(hour=0, minute=0)
            begin = day0 + timedelta(minutes=start_minute)
            if begin < horizon.start:
                begin += timedelta(days=1)
        else:
            begin = datetime.combine(start_day, datetime.min.time()) + timedelta(
                minutes=start_minute
            )
        if end_day is None:  # the first occurrence after from
            if start_minute == end_minute % DAY_MINUTES:
                ctx.error(at, f"empty range: from {pin.from_} to {pin.to}")
                continue
            end = begin + timedelta(minutes=(end_minute - start_minute) % DAY_MINUTES)
        else:
            end = datetime.combine(end_day, datetime.min.time()) + timedelta(minutes=end_minute)
            if end <= begin:
                ctx.error(at, f"empty range: to {pin.to} is not after from {pin.from_}")
                continue
        step_min = horizon.interval_minutes
        first = (begin - horizon.start) / timedelta(minutes=1)
        last = (end - horizon.start) / timedelta(minutes=1)
        for key, offset, text in (("from", first, pin.from_), ("to", last, pin.to)):
            if not _on_grid(offset, text, at.at(key), horizon, ctx):
                ok = False
        if not ok:
            continue
        start_t, end_t = int(first // step_min), int(last // step_min)
        if start_t < 0:
            ctx.error(
                at.at("from"),
                f"{pin.from_} is before the start of the horizon ({horizon.label(0)})",
            )
            continue
        if end_t > horizon.intervals:
            ctx.error(
                at,
                f"{pin.from_}-{pin.to} runs past the end of the horizon "
                f"({horizon.end:%Y-%m-%d %H:%M})",
            )
            continue
        agent = agents.get(pin.agent)
        if agent is None and pin.agent not in dropped:
            continue  # the agent's own problems are reported
        missing = [t for t in range(start_t, end_t) if agent is None or not agent.available[t]]
        if missing:
            labels = ", ".join(horizon.interval_start(t).strftime("%H:%M") for t in missing[:4])
            more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
            ctx.error(
                at,
                f"agent '{pin.agent}' is not available (break or outside shift) in the "
                f"interval(s) starting {labels}{more}",
            )
            continue
        conflict = False
        for t in range(start_t, end_t):
            previous = taken.get((pin.agent, t))
            if previous is not None and previous[0] != pin.queue:
                ctx.error(
                    at,
                    f"contradicts the pin at {where_text(previous[1])}: agent '{pin.agent}' "
                    f"in interval {horizon.label(t)} pinned to "
                    f"{previous[0] or 'unassigned'} and to {pin.queue or 'unassigned'}",
                )
                conflict = True
                break
            taken[(pin.agent, t)] = (pin.queue, at)
        if conflict:
            continue
        pins.append(Pin(pin.agent, pin.queue, start_t, end_t, pin.from_.strip(), pin.to.strip()))
    return pins


def _resolve_initial_state(
    draft: Draft,
    horizon: Horizon | None,
    queue_ids: set[str],
    queues_known: bool,
    ctx: Context,
) -> InitialState | None:
    """``initial_state``: its boundary (``at``: a clock time, first occurrence at or
    after the horizon start, or a date and time; default the horizon start) must be an
    interval boundary before the horizon's end; every queue named must exist."""
    model, at = draft.initial_state, draft.initial_state_at
    if model is None or at is None or horizon is None:
        return None
    ok = True
    for qid in model.queues:
        if queues_known and qid not in queue_ids:
            ctx.error(
                at.at("queues", qid), f"unknown queue '{qid}'{suggest(qid, sorted(queue_ids))}"
            )
            ok = False
    index = 0
    text = ""
    if model.at is not None:
        text = model.at.strip()
        when = parse_datetime(text)
        if when is None:
            minute = parse_clock(text)
            if minute is None:
                ctx.error(
                    at.at("at"),
                    f"must be a clock time 'HH:MM' or 'YYYY-MM-DD HH:MM', got {model.at!r}",
                )
                return None
            when = horizon.start.replace(hour=0, minute=0) + timedelta(minutes=minute)
            if when < horizon.start:
                when += timedelta(days=1)
        offset = (when - horizon.start) / timedelta(minutes=1)
        step = horizon.interval_minutes
        if offset < 0 or offset >= horizon.intervals * step:
            ctx.error(
                at.at("at"),
                f"{text} is outside the horizon {horizon.label(0)} to "
                f"{horizon.end:%Y-%m-%d %H:%M} (the state is given at a boundary before its end)",
            )
            return None
        if not _on_grid(offset, text, at.at("at"), horizon, ctx):
            return None
        index = int(offset // step)
    if not ok:
        return None
    states = tuple(
        (qid, QueueState(waiting=s.waiting, in_service=s.in_service))
        for qid, s in model.queues.items()
    )
    return InitialState(index, states, text)


def _on_grid(offset: float, text: str, at: At, horizon: Horizon, ctx: Context) -> bool:
    """Is ``offset`` (minutes from the horizon start) an interval boundary? Else the
    problem is reported at ``at``."""
    step = horizon.interval_minutes
    if offset % step:
        ctx.error(
            at,
            f"{text} is not an interval boundary ({step}-minute intervals from "
            f"{horizon.start:%H:%M})",
        )
        return False
    return True
