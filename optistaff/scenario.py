"""The typed, immutable scenario: what the solver and every report trust.

A :class:`Scenario` is produced only by :func:`optistaff.loading.load_scenario`
(which validates everything, once) or by code that builds one directly in Python.
Downstream code never re-validates it.

All per-interval data are already resolved to tuples of length
``horizon.intervals``: side files are read, ``extends``/``changes`` are applied,
clock times are turned into interval indices and availability.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

#: ``equity``: leximin over the queues' service levels (models/00-contract.md, Objective)
Objective = Literal["within_target", "served", "equity"]
#: The queue model of a plan's figures (``models/00-contract.md``, "Queue models").
QueueModelName = Literal["stationary", "time_varying"]

ALLOWED_INTERVAL_MINUTES = (5, 10, 15, 20, 30, 60)


@dataclass(frozen=True)
class Horizon:
    """T consecutive intervals of ``interval_minutes`` starting at ``start`` (naive local time)."""

    start: datetime
    interval_minutes: int
    intervals: int

    @property
    def interval_s(self) -> float:
        """Interval length Δ in seconds."""
        return 60.0 * self.interval_minutes

    @property
    def end(self) -> datetime:
        """Exclusive end of the horizon."""
        return self.start + timedelta(minutes=self.interval_minutes * self.intervals)

    def interval_start(self, t: int) -> datetime:
        return self.start + timedelta(minutes=self.interval_minutes * t)

    def interval_starts(self) -> list[datetime]:
        return [self.interval_start(t) for t in range(self.intervals)]

    def label(self, t: int) -> str:
        """``YYYY-MM-DD HH:MM`` of interval t's start (the plan files' ``interval_start``)."""
        return self.interval_start(t).strftime("%Y-%m-%d %H:%M")

    def labels(self) -> list[str]:
        return [self.label(t) for t in range(self.intervals)]


@dataclass(frozen=True)
class Queue:
    """One customer segment / contact type. Per-interval tuples have length T."""

    id: str
    value: float
    aht_s: tuple[float, ...]
    answer_within_s: float
    forecast: tuple[float, ...]
    patience_s: float | None = None
    min_service_level: float | None = None
    daily_service_level: float | None = None
    max_abandon_rate: float | None = None
    max_occupancy: float | None = None
    shortfall_weight: float | None = None  # None: defaults to ``value``

    @property
    def weight(self) -> float:
        """The shortfall weight in force (``shortfall_weight``, default ``value``)."""
        return self.value if self.shortfall_weight is None else self.shortfall_weight

    @property
    def erlang_a(self) -> bool:
        return self.patience_s is not None


@dataclass(frozen=True)
class Agent:
    """An agent: skills (queue ids), shift and breaks as written, and resolved availability."""

    id: str
    skills: tuple[str, ...]
    shift: str
    available: tuple[bool, ...]
    breaks: tuple[str, ...] = ()
    optional: bool = False
    cost: float = 0.0
    absent: tuple[str, ...] = ()  # away "FROM-TO" / "FROM-", as written (resolved in available)

    @property
    def available_intervals(self) -> int:
        return sum(self.available)


@dataclass(frozen=True)
class Pin:
    """A fixed decision: ``agent`` works ``queue`` (None: unassigned) in intervals [start, end)."""

    agent: str
    queue: str | None
    start: int
    end: int
    from_: str = ""  # the clock times as written (for the resolved scenario file)
    to: str = ""


@dataclass(frozen=True)
class Policy:
    objective: Objective = "within_target"
    switch_penalty: float = 0.0
    shortfall_price: float | None = None
    time_limit_s: float = 60.0
    mip_gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    queue_model: QueueModelName = "time_varying"


@dataclass(frozen=True)
class QueueState:
    """Calls of one queue at a boundary: ``waiting`` and ``in_service`` (counts)."""

    waiting: int = 0
    in_service: int = 0


@dataclass(frozen=True)
class InitialState:
    """The known state of the queues at boundary ``at`` (an interval index; 0 = the
    horizon start), for the time-varying model: from there on each listed queue starts
    from its state instead of its carried-over one (queues not listed: empty at the
    horizon start, carried over at a later boundary). ``at_text`` as written."""

    at: int
    queues: tuple[tuple[str, QueueState], ...]
    at_text: str = ""

    def of(self, queue_id: str) -> QueueState | None:
        """The state given for ``queue_id``, or None."""
        for qid, state in self.queues:
            if qid == queue_id:
                return state
        return None


# Scenario.agent's id -> Agent dict of each live scenario, keyed by id(scenario) and
# dropped when the scenario is. It is kept out of the instance so that a scenario's
# __dict__ stays exactly its fields (``Scenario(**vars(s))`` works), as do equality,
# hashing and pickling. A scenario is frozen, so its index never goes stale.
_agent_indexes: dict[int, dict[str, Agent]] = {}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Agents with no available interval are already dropped
    (and named in ``warnings``)."""

    name: str
    horizon: Horizon
    queues: tuple[Queue, ...]
    agents: tuple[Agent, ...]
    pins: tuple[Pin, ...] = ()
    policy: Policy = field(default_factory=Policy)
    description: str = ""
    source: Path | None = None
    warnings: tuple[str, ...] = ()
    # hash of the raw input files (scenario + parents + side files), if loaded from disk
    input_hash: str | None = None
    initial_state: InitialState | None = None

    @property
    def queue_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.queues)

    def queue(self, queue_id: str) -> Queue:
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(queue_id)

    def agent(self, agent_id: str) -> Agent:
        """The agent with this id (the first one, should ids repeat); O(1)."""
        index = _agent_indexes.get(id(self))
        if index is None:
            index = {}
            for a in self.agents:
                index.setdefault(a.id, a)
            _agent_indexes[id(self)] = index
            weakref.finalize(self, _agent_indexes.pop, id(self), None)
        return index[agent_id]

    # -- the resolved scenario, as written into a plan's scenario.yaml -----------------

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data in the public format (side files inlined).

        Loading this dict back (``optistaff.loading.scenario_from_dict``) gives an equal
        scenario. Keys are emitted in the order of docs/formats.md.
        """
        h = self.horizon
        queues: dict[str, Any] = {}
        for q in self.queues:
            entry: dict[str, Any] = {"value": float(q.value)}
            entry["aht_s"] = _compact(tuple(float(x) for x in q.aht_s))
            entry["answer_within_s"] = float(q.answer_within_s)
            for key in (
                "patience_s",
                "min_service_level",
                "daily_service_level",
                "max_abandon_rate",
                "max_occupancy",
                "shortfall_weight",
            ):
                value = getattr(q, key)
                if value is not None:
                    entry[key] = float(value)
            entry["forecast"] = [float(x) for x in q.forecast]
            queues[q.id] = entry
        agents: list[dict[str, Any]] = []
        for a in self.agents:
            entry = {"id": a.id, "skills": list(a.skills), "shift": a.shift}
            if a.breaks:
                entry["breaks"] = list(a.breaks)
            if a.optional:
                entry["optional"] = True
            if a.cost:
                entry["cost"] = float(a.cost)
            if a.absent:  # (written only when given: other plans keep their bytes)
                entry["absent"] = list(a.absent)
            agents.append(entry)
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["horizon"] = {
            "start": h.start.strftime("%Y-%m-%d %H:%M"),
            "interval_minutes": h.interval_minutes,
            "intervals": h.intervals,
        }
        data["queues"] = queues
        data["agents"] = agents
        if self.pins:
            data["pins"] = [
                {"agent": p.agent, "queue": p.queue, "from": p.from_, "to": p.to} for p in self.pins
            ]
        if self.initial_state is not None:
            state = self.initial_state
            data["initial_state"] = {
                "at": state.at_text or h.label(state.at),
                "queues": {
                    qid: {"waiting": st.waiting, "in_service": st.in_service}
                    for qid, st in state.queues
                },
            }
        pol = self.policy
        data["policy"] = {
            "objective": pol.objective,
            "switch_penalty": float(pol.switch_penalty),
            "shortfall_price": None if pol.shortfall_price is None else float(pol.shortfall_price),
            "time_limit_s": float(pol.time_limit_s),
            "mip_gap": float(pol.mip_gap),
            "threads": pol.threads,
            "seed": pol.seed,
        }
        data["policy"]["queue_model"] = pol.queue_model
        return data

    def content_hash(self) -> str:
        """sha256 of the resolved scenario (canonical JSON, numbers as floats): equal
        scenarios, equal hash, whether built in Python or loaded from a file."""
        data = self.to_dict()
        if data["policy"]["queue_model"] == "stationary":
            # (hashed as before the default became time_varying, when a stationary
            # scenario had no such key: old plans keep their hashes)
            del data["policy"]["queue_model"]
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _compact(values: tuple[float, ...]) -> float | list[float]:
    """A per-interval tuple as a scalar when constant, else a list."""
    if values and all(v == values[0] for v in values):
        return values[0]
    return list(values)


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from already-validated plain data."""
    return Policy(**{k: v for k, v in data.items() if k in Policy.__dataclass_fields__})
