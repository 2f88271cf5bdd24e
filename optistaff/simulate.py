"""Check a plan by discrete-event simulation: does it deliver the service it promises?

Every figure in a plan comes from its queue model (models/00-contract.md): steady-state
Erlang C / A formulas interval by interval, or the time-varying chain of each queue over
the day (models/12-time-varying.md). This module simulates the whole horizon, queue by queue, with
the plan's agents n(q, t), and reports simulated service level, ASA, abandon rate and
occupancy with 95 % confidence intervals beside the plan's predictions.

The simulated system (one independent simulation per queue; agents are already allocated
per queue and interval in the plan):

* Arrivals: a Poisson process whose rate is constant within each interval, λ(q, t) / Δ
  calls per second (so the number of calls in interval t is Poisson(λ(q, t))).
* Handle times: exponential with mean h(q, t) of the interval the call ARRIVES in
  (default), or lognormal with that mean and coefficient of variation ``handle_cv``
  (``handle_cv = 0``: every call takes exactly h).
* Patience: exponential with mean p(q) where the queue has one (Erlang A); otherwise no
  one abandons (Erlang C). A call abandons when its wait would exceed its patience.
* FCFS per queue; the day starts empty (no backlog, every agent free). Waiting calls and
  calls in service are carried across interval boundaries.
* Agents: n(q, t) servers on queue q during interval t. A waiting call starts service as
  soon as fewer than n(q, t) calls are in service. When n drops at a boundary, idle agents
  leave first; agents still busy beyond the new n finish their current call, then leave
  (no new call starts until the number in service is below n). When n rises, the new
  agents start free. After the horizon n = 0: calls still waiting when it ends are
  counted as not answered ("unanswered at close"), calls in service are finished.

Definitions (the plan's, models/00-contract.md; a call belongs to the interval it ARRIVES in):

* service level = calls answered within τ(q) / calls offered; abandoned calls and calls
  unanswered at close count as not answered;
* abandon rate = calls that abandoned / calls offered;
* ASA = mean wait of answered calls, seconds;
* occupancy = busy agent-time / staffed agent-time of the queue in the interval, where
  busy time counts only the n(q, t) staffed agents (time spent by agents finishing a call
  after their interval on the queue ended is reported separately as ``overrun``), so it is
  in [0, 1];
* per-queue day totals: the same ratios of sums over the day (SL = Σ answered within
  target / Σ calls, ASA = Σ waits of answered calls / Σ answered, occupancy = Σ busy /
  Σ staffed). The plan's day predictions are formed the same way from its staffing rows:
  SL = Σ answered_within_target / Σ calls, abandon = Σ (calls - served) / Σ calls, ASA =
  Σ served · ASA / Σ served (null when a staffed interval with calls predicts no finite
  wait, i.e. Erlang C with n ≤ a), occupancy = Σ n · occupancy / Σ n.

Estimates and confidence intervals (across replications, which are independent): each
figure is a ratio X / Y of two per-replication totals (e.g. answered within target /
offered). Its estimate is the ratio estimator Σ_r X_r / Σ_r Y_r (the call-weighted value
that the formulas predict, not the mean of per-replication ratios, which is biased when an
interval holds few calls), with the delta-method standard error
``sqrt(Σ_r (X_r - R Y_r)^2 / (R_n (R_n - 1))) / mean(Y)`` and a Student-t 95 % interval
(R_n - 1 degrees of freedom). For the proportions (service level, abandon rate) the
interval is widened, where narrower, to the Wilson score interval of the pooled counts,
so that an interval where every simulated call was answered in time does not give the
degenerate interval [1, 1]. With one replication there is no interval (NaN). A prediction
"falls outside" when it is not NaN and lies outside a (non-NaN) interval.

Reproducibility: replication r draws from ``SeedSequence(seed).spawn(R)[r]``, queue k of
it from that child's ``spawn(Q)[k]``, so results do not depend on the number of worker
processes. The event loop runs calls in arrival order with a heap of the end times of
calls in service (FCFS makes this exact: a call's start is the earliest time at or after
its arrival and its predecessor's start at which an agent is free; an abandoning call
occupies no one).
"""

from __future__ import annotations

import heapq
import math
import os
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from optistaff.errors import PlanError, UsageError
from optistaff.plan import Plan

__all__ = [
    "METRICS",
    "Counts",
    "Estimate",
    "QueueModel",
    "SimulationModel",
    "SimulationReport",
    "estimate",
    "model_from_plan",
    "run_replications",
    "simulate_plan",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METRICS = ("service_level", "asa_s", "abandon_rate", "occupancy")
_PROPORTIONS = ("service_level", "abandon_rate")
CALLS_PER_WORKER = 500_000  # expected simulated calls that justify one more process


# -- the simulated system -------------------------------------------------------------


@dataclass(frozen=True)
class QueueModel:
    """One queue over the horizon: per-interval arrays have length T.

    calls: expected calls arriving per interval (λ); aht_s: mean handle time of calls
    arriving in the interval, seconds; agents: agents on the queue per interval (n);
    answer_within_s: service-level threshold τ, seconds; patience_s: mean patience,
    seconds (None: Erlang C, nobody abandons).
    """

    id: str
    calls: FloatArray
    aht_s: FloatArray
    agents: IntArray
    answer_within_s: float
    patience_s: float | None = None


@dataclass(frozen=True)
class SimulationModel:
    """What is simulated: queues over T intervals of ``interval_s`` seconds.

    handle_cv: None for exponential handle times, otherwise the coefficient of variation
    of lognormal handle times (0: deterministic).
    """

    interval_s: float
    queues: tuple[QueueModel, ...]
    handle_cv: float | None = None

    @property
    def intervals(self) -> int:
        return int(self.queues[0].calls.size) if self.queues else 0

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {self.interval_s!r}")
        if self.handle_cv is not None and not (
            math.isfinite(self.handle_cv) and self.handle_cv >= 0
        ):
            raise ValueError(f"handle_cv must be a finite number >= 0, got {self.handle_cv!r}")
        sizes = {q.calls.size for q in self.queues}
        for q in self.queues:
            sizes |= {q.aht_s.size, q.agents.size}
            if np.any(~np.isfinite(q.calls)) or np.any(q.calls < 0):
                raise ValueError(f"queue {q.id}: calls must be finite and >= 0")
            if np.any(~(q.aht_s > 0)) or np.any(~np.isfinite(q.aht_s)):
                raise ValueError(f"queue {q.id}: aht_s must be finite and > 0")
            if np.any(q.agents < 0):
                raise ValueError(f"queue {q.id}: agents must be >= 0")
            if q.patience_s is not None and not q.patience_s > 0:
                raise ValueError(f"queue {q.id}: patience_s must be > 0")
        if len(sizes) > 1:
            raise ValueError("every per-interval array must have the same length T")


@dataclass(frozen=True)
class Counts:
    """Per-replication totals, each of shape (R, Q, T) (or (R, Q) once summed over time).

    Call counts are by the interval of arrival; ``busy_s`` is the busy time of staffed
    agents within the interval, ``overrun_s`` the agent-time spent within the interval
    finishing calls beyond n (agents whose interval on the queue had ended), ``staffed_s``
    = n · Δ.
    """

    offered: IntArray
    answered: IntArray
    within_target: IntArray
    abandoned: IntArray
    unanswered_at_close: IntArray
    wait_answered_s: FloatArray
    busy_s: FloatArray
    overrun_s: FloatArray
    staffed_s: FloatArray

    def sum_intervals(self, intervals: slice | Sequence[int] | None = None) -> Counts:
        """Totals over the given intervals (all by default): arrays of shape (R, Q)."""
        pick: Any = slice(None) if intervals is None else intervals
        values = {name: np.asarray(getattr(self, name))[..., pick].sum(axis=-1) for name in _FIELDS}
        return Counts(**values)


_FIELDS = tuple(Counts.__dataclass_fields__)


@dataclass(frozen=True)
class Estimate:
    """A simulated figure (ratio estimator) and its 95 % confidence interval."""

    value: FloatArray
    low: FloatArray
    high: FloatArray

    def outside(self, predicted: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where ``predicted`` is not NaN and lies outside a non-NaN interval."""
        p = np.asarray(predicted, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            out = (p < self.low) | (p > self.high)
        return np.asarray(out & ~np.isnan(p) & ~np.isnan(self.low), dtype=bool)


def estimate(counts: Counts, level: float = 0.95) -> dict[str, Estimate]:
    """Service level, ASA (s), abandon rate and occupancy from per-replication totals
    (axis 0 = replications), with ``level`` confidence intervals (see the module doc)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    pairs = {
        "service_level": (counts.within_target, counts.offered),
        "asa_s": (counts.wait_answered_s, counts.answered),
        "abandon_rate": (counts.abandoned, counts.offered),
        "occupancy": (counts.busy_s, counts.staffed_s),
    }
    return {
        name: _ratio(num, den, proportion=name in _PROPORTIONS, level=level)
        for name, (num, den) in pairs.items()
    }


def _ratio(num: npt.ArrayLike, den: npt.ArrayLike, *, proportion: bool, level: float) -> Estimate:
    x = np.asarray(num, dtype=np.float64)
    y = np.asarray(den, dtype=np.float64)
    reps = x.shape[0]
    sx, sy = x.sum(axis=0), y.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(sy > 0, sx / np.where(sy > 0, sy, 1.0), np.nan)
        if reps >= 2:
            resid = x - value * y
            se = np.sqrt((resid**2).sum(axis=0) / (reps * (reps - 1))) / (sy / reps)
            half = float(stats.t.ppf(0.5 + level / 2, reps - 1)) * se
            low, high = value - half, value + half
        else:
            low = high = np.full(value.shape, np.nan)
        if proportion and reps >= 2:
            n = sy
            z = float(stats.norm.ppf(0.5 + level / 2))
            z2 = z * z
            centre = (value + z2 / (2 * n)) / (1 + z2 / n)
            spread = z / (1 + z2 / n) * np.sqrt(value * (1 - value) / n + z2 / (4 * n * n))
            low = np.fmin(low, centre - spread)
            high = np.fmax(high, centre + spread)
            low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    bad = np.isnan(value)
    low = np.where(bad, np.nan, low)
    high = np.where(bad, np.nan, high)
    return Estimate(value=np.asarray(value), low=np.asarray(low), high=np.asarray(high))


# -- one queue, one replication -------------------------------------------------------


def _serve(
    arrival: list[float],
    duration: list[float],
    limit: list[float],
    agents: list[int],
    interval_s: float,
) -> list[float]:
    """Start time of each call (arrival order), or -1.0 if it is never answered.

    ``limit`` = arrival + patience (inf: no abandonment). FCFS: a call starts at the
    earliest time s >= max(its arrival, the previous answered call's start) at which fewer
    than n(interval of s) calls are in service; it is answered iff s <= limit and s is
    before the end of the horizon.
    """
    heap: list[float] = []  # end times of calls in service
    push, pop = heapq.heappush, heapq.heappop
    horizon = len(agents)
    last = 0.0
    out = [-1.0] * len(arrival)
    for i, a in enumerate(arrival):
        s = a if a > last else last
        # ends <= s are over for every later call too (their start is >= s)
        while heap and heap[0] <= s:
            pop(heap)
        t = int(s // interval_s)
        cap = agents[t]
        busy = len(heap)
        if busy < cap:
            if s <= limit[i]:
                push(heap, s + duration[i])
                last = s
                out[i] = s
            continue
        # all n agents busy (or more, finishing calls): look ahead without changing state
        ends = sorted(heap)
        lim = limit[i]
        start = -1.0
        while True:
            need = busy - cap + 1  # ends (counted from the earliest) that must pass
            boundary = (t + 1) * interval_s
            if need <= busy and ends[need - 1] < boundary:
                start = ends[need - 1]
                break
            t += 1
            if t >= horizon or boundary > lim:
                break
            cap = agents[t]
            if busy - bisect_right(ends, boundary) < cap:
                start = boundary
                break
        if start < 0.0 or start > lim:
            continue
        while heap and heap[0] <= start:
            pop(heap)
        push(heap, start + duration[i])
        last = start
        out[i] = start
    return out


def _simulate_queue(
    queue: QueueModel, interval_s: float, handle_cv: float | None, seed: np.random.SeedSequence
) -> dict[str, npt.NDArray[Any]]:
    """One replication of one queue: per-interval totals (the fields of Counts)."""
    rng = np.random.default_rng(seed)
    horizon = queue.calls.size
    per_interval = rng.poisson(queue.calls)
    total = int(per_interval.sum())
    interval = np.repeat(np.arange(horizon), per_interval)
    arrival = (interval + rng.random(total)) * interval_s
    # (k + u) * Δ can round up to (k + 1) * Δ: keep every call inside its interval
    arrival = np.minimum(arrival, np.nextafter((interval + 1) * interval_s, 0.0))
    order = np.argsort(arrival, kind="stable")
    arrival, interval = arrival[order], interval[order]
    mean = queue.aht_s[interval]
    if handle_cv is None:
        duration = rng.standard_exponential(total) * mean
    else:
        sigma2 = math.log1p(handle_cv * handle_cv)
        duration = mean * np.exp(math.sqrt(sigma2) * rng.standard_normal(total) - sigma2 / 2)
    if queue.patience_s is None:
        limit = np.full(total, np.inf)
    else:
        limit = arrival + rng.standard_exponential(total) * queue.patience_s
    agents = [int(n) for n in queue.agents]
    start = np.asarray(
        _serve(arrival.tolist(), duration.tolist(), limit.tolist(), agents, interval_s)
    )
    end_of_day = horizon * interval_s
    answered = start >= 0.0
    wait = np.where(answered, start - arrival, 0.0)
    within = answered & (wait <= queue.answer_within_s)
    abandoned = ~answered & (limit < end_of_day)
    at_close = ~answered & ~abandoned

    def per(mask: npt.NDArray[np.bool_]) -> IntArray:
        return np.bincount(interval[mask], minlength=horizon).astype(np.int64)

    busy, overrun = _busy_time(
        start[answered], start[answered] + duration[answered], queue.agents, interval_s
    )
    return {
        "offered": per_interval.astype(np.int64),
        "answered": per(answered),
        "within_target": per(within),
        "abandoned": per(abandoned),
        "unanswered_at_close": per(at_close),
        "wait_answered_s": np.bincount(interval, weights=wait, minlength=horizon),
        "busy_s": busy,
        "overrun_s": overrun,
        "staffed_s": queue.agents.astype(np.float64) * interval_s,
    }


def _busy_time(
    start: FloatArray, end: FloatArray, agents: IntArray, interval_s: float
) -> tuple[FloatArray, FloatArray]:
    """Per interval: ∫ min(b, n) dt and ∫ max(b - n, 0) dt, b = calls in service."""
    horizon = agents.size
    bounds = np.arange(horizon + 1, dtype=np.float64) * interval_s
    times = np.concatenate([start, end, bounds])
    step = np.concatenate([np.ones(start.size), -np.ones(end.size), np.zeros(bounds.size)])
    order = np.argsort(times, kind="stable")
    times = times[order]
    in_service = np.cumsum(step[order])[:-1]
    length = np.diff(times)
    slot = np.floor(times[:-1] / interval_s).astype(np.int64)
    keep = (slot < horizon) & (length > 0)
    slot, length, in_service = slot[keep], length[keep], in_service[keep]
    n = agents[slot].astype(np.float64)
    busy = np.bincount(slot, weights=length * np.minimum(in_service, n), minlength=horizon)
    over = np.bincount(slot, weights=length * np.maximum(in_service - n, 0.0), minlength=horizon)
    return np.asarray(busy, dtype=np.float64), np.asarray(over, dtype=np.float64)


def _replicate(
    model: SimulationModel, seeds: Sequence[np.random.SeedSequence]
) -> dict[str, npt.NDArray[Any]]:
    """Replications for the given seeds: per field an array (len(seeds), Q, T)."""
    out: dict[str, list[list[npt.NDArray[Any]]]] = {name: [] for name in _FIELDS}
    for seed in seeds:
        per_queue = [
            _simulate_queue(q, model.interval_s, model.handle_cv, s)
            for q, s in zip(model.queues, seed.spawn(len(model.queues)), strict=True)
        ]
        for name in _FIELDS:
            out[name].append([r[name] for r in per_queue])
    shape = (len(seeds), len(model.queues), model.intervals)
    return {name: np.asarray(v).reshape(shape) for name, v in out.items()}


def run_replications(
    model: SimulationModel, replications: int, seed: int = 0, workers: int | None = None
) -> Counts:
    """Simulate ``replications`` independent days in ``workers`` processes.

    Default workers: ``os.cpu_count()``, but at most one per ``CALLS_PER_WORKER`` expected
    simulated calls (below that, starting processes costs more than it saves; the
    contact-center day, ~4,800 calls, runs 100 replications in well under a second in
    one process). Replication r uses ``SeedSequence(seed).spawn(replications)[r]``, so
    the result is the same for any number of workers.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    seeds = np.random.SeedSequence(seed).spawn(replications)
    if workers is None:
        expected = replications * sum(float(q.calls.sum()) for q in model.queues)
        workers = max(1, min(os.cpu_count() or 1, int(expected // CALLS_PER_WORKER)))
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    workers = min(workers, replications)
    if workers == 1:
        parts = [_replicate(model, seeds)]
    else:
        chunks = _chunks(seeds, workers * 4)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_replicate, [model] * len(chunks), chunks))
    return Counts(**{name: np.concatenate([p[name] for p in parts]) for name in _FIELDS})


def _chunks(items: Sequence[Any], count: int) -> list[list[Any]]:
    size = max(1, math.ceil(len(items) / count))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


# -- plans ----------------------------------------------------------------------------


def model_from_plan(plan: Plan, handle_cv: float | None = None) -> SimulationModel:
    """The simulated system of a plan: its forecast, AHT and agents per queue and interval."""
    scenario = plan.scenario
    horizon = scenario.horizon
    staffing = plan.staffing
    expected = horizon.intervals * len(scenario.queues)
    if len(staffing) != expected:
        raise PlanError(
            f"plan {scenario.name}: staffing has {len(staffing)} rows, expected {expected} "
            f"({horizon.intervals} intervals x {len(scenario.queues)} queues)"
        )
    starts = pd.DatetimeIndex(horizon.interval_starts())
    queues = []
    for queue in scenario.queues:
        rows = staffing[staffing["queue"] == queue.id].set_index("interval_start")
        rows = rows.reindex(starts)
        if rows["agents"].isna().any():
            raise PlanError(f"plan {scenario.name}: staffing lacks rows for queue {queue.id}")
        queues.append(
            QueueModel(
                id=queue.id,
                calls=rows["calls"].to_numpy(dtype=np.float64),
                aht_s=rows["aht_s"].to_numpy(dtype=np.float64),
                agents=rows["agents"].to_numpy(dtype=np.int64),
                answer_within_s=float(queue.answer_within_s),
                patience_s=queue.patience_s,
            )
        )
    return SimulationModel(interval_s=horizon.interval_s, queues=tuple(queues), handle_cv=handle_cv)


@dataclass(frozen=True)
class SimulationReport:
    """Simulated vs. predicted, per (queue, interval) and per queue over the day.

    ``intervals``: one row per (interval_start, queue) with agents, calls (forecast),
    calls_simulated (mean offered), and per metric m of METRICS: m_predicted,
    m_simulated, m_low, m_high (95 % CI) and m_outside (prediction outside the CI).
    ``queues``: one row per queue (index ``queue``), the same over the day, plus
    unanswered_at_close (mean calls) and overrun_agent_s (mean agent-seconds).
    """

    plan_name: str
    interval_s: float
    replications: int
    seed: int
    handle_cv: float | None
    intervals: pd.DataFrame
    queues: pd.DataFrame
    counts: Counts = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """Plain data (NaN as None) for ``--json``."""
        return {
            "plan": self.plan_name,
            "replications": self.replications,
            "seed": self.seed,
            "confidence_level": 0.95,
            "handle_times": "exponential"
            if self.handle_cv is None
            else f"lognormal, cv {self.handle_cv:g}",
            "queues": _records(self.queues.reset_index()),
            "intervals": _records(self.intervals),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                clean[str(key)] = value.strftime("%Y-%m-%d %H:%M")
            elif isinstance(value, np.bool_ | bool):
                clean[str(key)] = bool(value)
            elif isinstance(value, np.integer):
                clean[str(key)] = int(value)
            elif isinstance(value, float | np.floating):
                clean[str(key)] = None if math.isnan(value) else float(value)
            else:
                clean[str(key)] = value
        out.append(clean)
    return out


def simulate_plan(
    plan: Plan,
    *,
    replications: int = 100,
    seed: int = 0,
    handle_cv: float | None = None,
    workers: int | None = None,
) -> SimulationReport:
    """Simulate ``plan`` ``replications`` times and compare with its predictions."""
    if replications < 1:
        raise UsageError(f"replications must be >= 1, got {replications}")
    model = model_from_plan(plan, handle_cv)
    counts = run_replications(model, replications, seed=seed, workers=workers)
    return SimulationReport(
        plan_name=plan.scenario.name,
        interval_s=model.interval_s,
        replications=replications,
        seed=seed,
        handle_cv=handle_cv,
        intervals=_interval_frame(plan, model, counts),
        queues=_queue_frame(plan, model, counts),
        counts=counts,
    )


def _predicted(plan: Plan, model: SimulationModel, column: str) -> FloatArray:
    """A staffing column as a (Q, T) array in the model's order."""
    starts = pd.DatetimeIndex(plan.scenario.horizon.interval_starts())
    table = plan.staffing.pivot(index="queue", columns="interval_start", values=column)
    table = table.reindex(index=[q.id for q in model.queues], columns=starts)
    return table.to_numpy(dtype=np.float64)


def _columns(
    estimates: dict[str, Estimate], predicted: dict[str, FloatArray]
) -> dict[str, npt.NDArray[Any]]:
    cols: dict[str, npt.NDArray[Any]] = {}
    for m in METRICS:
        est = estimates[m]
        cols[f"{m}_predicted"] = predicted[m]
        cols[f"{m}_simulated"] = est.value
        cols[f"{m}_low"] = est.low
        cols[f"{m}_high"] = est.high
        cols[f"{m}_outside"] = est.outside(predicted[m])
    return cols


def _interval_frame(plan: Plan, model: SimulationModel, counts: Counts) -> pd.DataFrame:
    starts = pd.DatetimeIndex(plan.scenario.horizon.interval_starts())
    q_count, t_count = len(model.queues), model.intervals
    predicted = {m: _predicted(plan, model, m) for m in METRICS}
    cols = _columns(estimate(counts), predicted)
    # rows in the plan's order: interval, then queue
    frame = pd.DataFrame(
        {
            "interval_start": np.repeat(starts.to_numpy(), q_count),
            "queue": np.tile(np.array([q.id for q in model.queues], dtype=object), t_count),
            "agents": np.stack([q.agents for q in model.queues]).T.ravel(),
            "calls": np.stack([q.calls for q in model.queues]).T.ravel(),
            "calls_simulated": counts.offered.mean(axis=0).T.ravel(),
            **{name: np.asarray(v).T.ravel() for name, v in cols.items()},
        }
    )
    frame["interval_start"] = pd.to_datetime(frame["interval_start"])
    return frame


def _queue_frame(plan: Plan, model: SimulationModel, counts: Counts) -> pd.DataFrame:
    calls = _predicted(plan, model, "calls")
    agents = _predicted(plan, model, "agents")
    within = np.nan_to_num(_predicted(plan, model, "answered_within_target"))
    served = np.nan_to_num(_predicted(plan, model, "served"))
    asa = _predicted(plan, model, "asa_s")
    occupancy = _predicted(plan, model, "occupancy")
    total_calls = calls.sum(axis=1)
    total_served = served.sum(axis=1)
    # a time-varying plan expects some calls still waiting when the horizon ends: they
    # are neither answered nor abandoned, so its abandoned calls are its own column's
    abandoned = (
        np.nansum(calls * _predicted(plan, model, "abandon_rate"), axis=1)
        if "unanswered_at_end_calls" in plan.staffing
        else total_calls - total_served
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        asa_known = ~np.any((served > 0) & np.isnan(asa), axis=1)
        day = {
            "service_level": np.where(total_calls > 0, within.sum(axis=1) / total_calls, np.nan),
            "abandon_rate": np.where(total_calls > 0, abandoned / total_calls, np.nan),
            "asa_s": np.where(
                asa_known & (total_served > 0),
                np.nansum(served * asa, axis=1) / total_served,
                np.nan,
            ),
            "occupancy": np.where(
                agents.sum(axis=1) > 0,
                np.nansum(agents * occupancy, axis=1) / agents.sum(axis=1),
                np.nan,
            ),
        }
    daily = counts.sum_intervals()
    cols = _columns(estimate(daily), day)
    frame = pd.DataFrame(
        {
            "queue": [q.id for q in model.queues],
            "agent_intervals": agents.sum(axis=1).astype(np.int64),
            "calls": total_calls,
            "calls_simulated": daily.offered.mean(axis=0),
            **cols,
            "unanswered_at_close": daily.unanswered_at_close.mean(axis=0),
            "overrun_agent_s": daily.overrun_s.mean(axis=0),
        }
    ).set_index("queue")
    return frame


def outside_counts(report: SimulationReport) -> dict[str, int]:
    """Number of queue-intervals whose prediction falls outside the CI, per metric."""
    return {m: int(report.intervals[f"{m}_outside"].sum()) for m in METRICS}


def iter_flagged(report: SimulationReport, metric: str) -> Iterable[dict[str, Any]]:
    """Rows (as dicts) where ``metric``'s prediction is outside the CI, largest gap first."""
    frame = report.intervals
    rows = frame[frame[f"{metric}_outside"]].copy()
    rows["gap"] = (rows[f"{metric}_simulated"] - rows[f"{metric}_predicted"]).abs()
    for row in rows.sort_values("gap", ascending=False).to_dict(orient="records"):
        yield {str(k): v for k, v in row.items()}


def plot_service_levels(report: SimulationReport, path: str | os.PathLike[str]) -> None:
    """Predicted vs. simulated service level over the day, one panel per queue (PNG etc.,
    by the file's extension; matplotlib's Agg backend). The band is the 95 % CI; the grey
    bars (right axis) are the forecast calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = report.intervals
    queues = list(report.queues.index)
    fig, axes = plt.subplots(
        len(queues), 1, figsize=(10, 2.2 * len(queues) + 0.8), sharex=True, squeeze=False
    )
    step = pd.Timedelta(seconds=report.interval_s)
    for ax, queue in zip(axes[:, 0], queues, strict=True):
        rows = frame[frame["queue"] == queue]
        starts = rows["interval_start"]
        # steps drawn "post" need the horizon's end to show the last interval
        x = pd.concat([starts, pd.Series([starts.iloc[-1] + step])], ignore_index=True)

        def ext(column: str, rows: pd.DataFrame = rows) -> npt.NDArray[np.float64]:
            values = rows[column].to_numpy(dtype=np.float64)
            return np.append(values, values[-1])

        calls_ax = ax.twinx()
        calls_ax.bar(starts, rows["calls"], width=step * 0.9, align="edge", color="0.88")
        calls_ax.set_ylabel("calls", color="0.5")
        calls_ax.tick_params(axis="y", colors="0.5")
        ax.set_zorder(calls_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.step(x, ext("service_level_predicted"), where="post", label="predicted (Erlang)")
        ax.fill_between(
            x,
            ext("service_level_low"),
            ext("service_level_high"),
            step="post",
            alpha=0.3,
            color="tab:orange",
            label="simulated 95 % CI",
        )
        ax.step(
            x, ext("service_level_simulated"), where="post", color="tab:orange", label="simulated"
        )
        out = rows[rows["service_level_outside"]]
        ax.plot(
            out["interval_start"] + step / 2,
            out["service_level_predicted"],
            "x",
            color="tab:red",
            label="prediction outside CI",
        )
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("service level")
        ax.set_title(queue, loc="left", fontsize=10)
    axes[0, 0].legend(loc="lower right", fontsize=8, ncols=2)
    fig.suptitle(
        f"{report.plan_name}: predicted vs. simulated service level "
        f"({report.replications} replications, seed {report.seed})"
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
