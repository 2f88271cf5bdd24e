"""Tiny scenarios built directly as :class:`optistaff.scenario.Scenario` objects.

Builders keep the written form (shift, breaks, pin clock times) consistent with the
resolved form (``Agent.available``, ``Pin.start/end``), so that a plan's
``scenario.yaml`` loads back to the same scenario. Times are interval-aligned on a
horizon starting 2026-01-05 08:00.

``tiny_scenarios()`` is a hypothesis strategy for random scenarios small enough for
the brute force in ``brute.py`` (2-3 queues, 2-4 agents, 2-4 intervals, loads of a few
Erlangs so that 0-4 agents matter).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from optistaff.scenario import (
    Agent,
    Horizon,
    Objective,
    Pin,
    Policy,
    Queue,
    QueueModelName,
    Scenario,
)

START = datetime(2026, 1, 5, 8, 0)


def horizon(intervals: int, interval_minutes: int = 30) -> Horizon:
    return Horizon(start=START, interval_minutes=interval_minutes, intervals=intervals)


def clock(h: Horizon, t: int) -> str:
    """``HH:MM`` of the start of interval t (t = T gives the horizon's end)."""
    return h.interval_start(t).strftime("%H:%M")


def per_interval(h: Horizon, value: float | Sequence[float]) -> tuple[float, ...]:
    if isinstance(value, int | float):
        return (float(value),) * h.intervals
    values = tuple(float(v) for v in value)
    assert len(values) == h.intervals, "one value per interval"
    return values


def queue(
    h: Horizon,
    qid: str,
    *,
    forecast: Sequence[float],
    value: float = 1.0,
    aht_s: float | Sequence[float] = 300.0,
    answer_within_s: float = 20.0,
    patience_s: float | None = None,
    min_service_level: float | None = None,
    daily_service_level: float | None = None,
    max_abandon_rate: float | None = None,
    max_occupancy: float | None = None,
    shortfall_weight: float | None = None,
) -> Queue:
    return Queue(
        id=qid,
        value=float(value),
        aht_s=per_interval(h, aht_s),
        answer_within_s=float(answer_within_s),
        forecast=per_interval(h, forecast),
        patience_s=_float(patience_s),
        min_service_level=_float(min_service_level),
        daily_service_level=_float(daily_service_level),
        max_abandon_rate=_float(max_abandon_rate),
        max_occupancy=_float(max_occupancy),
        shortfall_weight=_float(shortfall_weight),
    )


def _float(x: float | None) -> float | None:
    """Floats as the loader makes them (an int would hash differently in content_hash)."""
    return None if x is None else float(x)


def agent(
    h: Horizon,
    aid: str,
    skills: Sequence[str],
    *,
    first: int = 0,
    end: int | None = None,
    breaks: Sequence[int] = (),
    optional: bool = False,
    cost: float = 0.0,
) -> Agent:
    """An agent whose shift covers intervals [first, end) with one-interval breaks at ``breaks``."""
    end = h.intervals if end is None else end
    assert 0 <= first < end <= h.intervals
    assert all(first < b < end - 1 for b in breaks), "breaks strictly inside the shift"
    available = tuple(first <= t < end and t not in breaks for t in range(h.intervals))
    return Agent(
        id=aid,
        skills=tuple(skills),
        shift=f"{clock(h, first)}-{clock(h, end)}",
        available=available,
        breaks=tuple(f"{clock(h, b)}-{clock(h, b + 1)}" for b in sorted(breaks)),
        optional=optional,
        cost=float(cost),
    )


def pin(h: Horizon, aid: str, qid: str | None, start: int, end: int) -> Pin:
    """``aid`` works ``qid`` (None: unassigned) in intervals [start, end)."""
    return Pin(agent=aid, queue=qid, start=start, end=end, from_=clock(h, start), to=clock(h, end))


def scenario(
    name: str,
    h: Horizon,
    queues: Sequence[Queue],
    agents: Sequence[Agent],
    pins: Sequence[Pin] = (),
    *,
    objective: Objective = "within_target",
    switch_penalty: float = 0.0,
    shortfall_price: float | None = None,
    queue_model: QueueModelName = "stationary",
) -> Scenario:
    """A scenario of ``queues`` and ``agents`` (stationary unless told: most tests pin the
    exact stationary optimiser against brute force)."""
    policy = Policy(
        objective=objective,
        switch_penalty=float(switch_penalty),
        shortfall_price=_float(shortfall_price),
        time_limit_s=60.0,
        queue_model=queue_model,
    )
    return Scenario(
        name=name,
        horizon=h,
        queues=tuple(queues),
        agents=tuple(agents),
        pins=tuple(pins),
        policy=policy,
    )


def replace_agents(sc: Scenario, agents: Sequence[Agent]) -> Scenario:
    """``sc`` with another agent list (pins of agents no longer present are dropped)."""
    ids = {a.id for a in agents}
    return Scenario(
        name=sc.name,
        horizon=sc.horizon,
        queues=sc.queues,
        agents=tuple(agents),
        pins=tuple(p for p in sc.pins if p.agent in ids),
        policy=sc.policy,
    )


def replace_queue(sc: Scenario, qid: str, **changes: Any) -> Scenario:
    from dataclasses import replace

    queues = tuple(replace(q, **changes) if q.id == qid else q for q in sc.queues)
    return replace(sc, queues=queues)


# -- hypothesis -------------------------------------------------------------------------

QUEUE_IDS = ("gold", "silver", "bronze")


@st.composite
def tiny_queues(
    draw: st.DrawFn, h: Horizon, qid: str, erlang_a: bool, allow_daily: bool = True
) -> Queue:
    interval_s = h.interval_s
    aht = draw(st.sampled_from([120.0, 180.0, 240.0, 300.0, 450.0, 600.0]))
    aht_varies = draw(st.booleans())
    ahts: list[float] = []
    forecast: list[float] = []
    for _ in range(h.intervals):
        a_t = draw(st.sampled_from([120.0, 240.0, 360.0, 600.0])) if aht_varies else aht
        max_calls = min(30, int(3.5 * interval_s / a_t))  # offered load <= 3.5 Erlangs
        calls = draw(st.one_of(st.just(0), st.integers(0, max_calls)))
        ahts.append(a_t)
        forecast.append(float(calls))
    if sum(forecast) == 0 and draw(st.booleans()):
        forecast[0] = 5.0
    patience = draw(st.sampled_from([60.0, 120.0, 300.0, 600.0])) if erlang_a else None
    optional_float = st.one_of(st.none(), st.sampled_from([0.5, 0.6, 0.7, 0.8, 0.9]))
    return queue(
        h,
        qid,
        forecast=forecast,
        value=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0])),
        aht_s=ahts,
        answer_within_s=draw(st.sampled_from([0.0, 10.0, 20.0, 60.0])),
        patience_s=patience,
        min_service_level=draw(optional_float),
        daily_service_level=draw(optional_float) if allow_daily else None,
        max_abandon_rate=(
            draw(st.one_of(st.none(), st.sampled_from([0.02, 0.05, 0.1, 0.3])))
            if erlang_a
            else None
        ),
        max_occupancy=draw(st.one_of(st.none(), st.sampled_from([0.6, 0.8, 0.9, 1.0]))),
        shortfall_weight=draw(st.one_of(st.none(), st.sampled_from([0.0, 1.0, 4.0, 20.0]))),
    )


@st.composite
def tiny_scenarios(
    draw: st.DrawFn,
    *,
    max_agents: int = 4,
    max_intervals: int = 4,
    allow_optional: bool = True,
    allow_pins: bool = True,
    allow_price: bool = True,
    allow_daily: bool = True,
) -> Scenario:
    """A random tiny scenario (see the module docstring)."""
    h = horizon(draw(st.integers(2, max_intervals)))
    n_queues = draw(st.integers(2, 3))
    qids = QUEUE_IDS[:n_queues]
    erlang_a = [draw(st.booleans()) for _ in qids]
    queues = [
        draw(tiny_queues(h, qid, a, allow_daily)) for qid, a in zip(qids, erlang_a, strict=True)
    ]

    agents: list[Agent] = []
    sizes = [2, *[n for n in range(3, max_agents + 1) for _ in range(2)]]  # favour more agents
    for i in range(draw(st.sampled_from(sizes))):
        n_skills = draw(st.sampled_from([1, 1, 2, 2, 2, 3]))
        skills = draw(st.permutations(qids))[: min(n_skills, n_queues)]
        # mostly whole-horizon shifts, sometimes late starts / early ends
        first = draw(st.sampled_from([0, 0, 0, *range(h.intervals)]))
        end = draw(st.sampled_from([h.intervals] * 3 + list(range(first + 1, h.intervals + 1))))
        inner = list(range(first + 1, end - 1))
        breaks: list[int] = []
        if len(inner) > 0 and draw(st.booleans()):
            breaks.append(draw(st.sampled_from(inner)))
        optional = allow_optional and draw(st.integers(0, 3)) == 0
        cost = draw(st.sampled_from([0.0, 0.3, 1.0, 3.0])) if optional else 0.0
        agents.append(
            agent(
                h,
                f"a{i}",
                skills,
                first=first,
                end=end,
                breaks=breaks,
                optional=optional,
                cost=cost,
            )
        )

    pins: list[Pin] = []
    if allow_pins and draw(st.integers(0, 2)) == 0:
        a = draw(st.sampled_from(agents))
        avail = [t for t in range(h.intervals) if a.available[t]]
        start = draw(st.sampled_from(avail))
        end = start + 1
        while end < h.intervals and a.available[end] and draw(st.booleans()):
            end += 1
        pins.append(pin(h, a.id, draw(st.sampled_from([None, *a.skills])), start, end))

    objective: Objective = "within_target"
    if all(erlang_a) and draw(st.booleans()):
        objective = "served"
    switch_penalty = draw(st.sampled_from([0.0, 0.0, 0.2, 1.0, 5.0]))
    price = draw(st.sampled_from([None, None, None, 0.5, 3.0])) if allow_price else None
    return scenario(
        "tiny",
        h,
        queues,
        agents,
        pins,
        objective=objective,
        switch_penalty=switch_penalty,
        shortfall_price=price,
    )


def forced_switch_day(penalty: float) -> Scenario:
    """r (a, b) works both intervals; s (a only) is there in interval 0, u (b only) in
    interval 1. Each interval alone puts r where the calls are and its own agent is
    not: b then a, one switch. a (no standard) is worth at most 2 to r in interval 1,
    b's second agent there almost nothing. Stationary."""
    h = horizon(2)
    queues = [
        queue(h, "a", forecast=[0.5, 4], value=0.5, aht_s=300),
        queue(h, "b", forecast=[4, 0.5], value=1, aht_s=300),
    ]
    agents = [
        agent(h, "r", ["a", "b"]),
        agent(h, "s", ["a"], end=1),
        agent(h, "u", ["b"], first=1),
    ]
    return stationary(scenario("forced", h, queues, agents, switch_penalty=penalty))


def stationary(source: Scenario | str | Any) -> Scenario:
    """``source`` (a Scenario, or a scenario file's path) under the stationary queue
    model: for the tests that pin the exact stationary optimiser (the default model is
    ``time_varying``)."""
    from dataclasses import replace

    from optistaff.loading import load_scenario

    sc = source if isinstance(source, Scenario) else load_scenario(str(source))
    return replace(sc, policy=replace(sc.policy, queue_model="stationary"))
