"""The plan simulator (optistaff.simulate): mechanics, statistics, reproducibility.

* The event loop against an independent, naive event-by-event simulation (explicit waiting
  line, explicit events) on random small inputs with changing agent counts and patience:
  every call's start time must be identical.
* Stationary cases (constant forecast and agents, measured after a warm-up) agree with
  Erlang C / A (optistaff.queueing) within the simulation's confidence interval. The
  checks use 99.9 % intervals (12 checks: a spurious failure on a fresh seed has a chance
  of ~1 %); the same intervals reject deliberately wrong predictions (one agent more or
  fewer, Erlang C for an Erlang A queue, Erlang C for constant handle times), so the
  tests can fail.
* Same seed, same result (also with a different number of worker processes); different
  seeds, different but statistically consistent results.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from tiny import stationary

import optistaff
from optistaff.queueing import performance
from optistaff.simulate import (
    METRICS,
    Counts,
    Estimate,
    QueueModel,
    SimulationModel,
    _busy_time,
    _serve,
    estimate,
    model_from_plan,
    run_replications,
    simulate_plan,
)

ROOT = Path(__file__).resolve().parent.parent
LEVEL = 0.999


def _reference(
    arrival: list[float],
    duration: list[float],
    limit: list[float],
    agents: list[int],
    interval_s: float,
) -> list[float]:
    """Naive event simulation: waiting line, calls in service, boundaries, abandonments."""
    horizon = len(agents) * interval_s
    start = [-1.0] * len(arrival)
    in_service: list[float] = []
    waiting: deque[int] = deque()
    nxt = 0
    now = 0.0
    while True:
        t = int(now // interval_s)
        candidates = [(t + 1) * interval_s]
        if nxt < len(arrival):
            candidates.append(arrival[nxt])
        if in_service:
            candidates.append(min(in_service))
        if waiting:
            candidates.append(min(limit[j] for j in waiting))
        now = min(candidates)
        if now >= horizon:
            return start
        t = int(now // interval_s)
        in_service = [e for e in in_service if e > now]
        while nxt < len(arrival) and arrival[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        while waiting and len(in_service) < agents[t]:
            j = waiting.popleft()
            if limit[j] >= now:
                start[j] = now
                in_service.append(now + duration[j])
        waiting = deque(j for j in waiting if limit[j] > now)


def test_serve_hand_worked() -> None:
    # one agent, then two; the third call waits for the boundary where the second starts
    assert _serve(
        [0.0, 10.0, 20.0, 150.0], [50.0, 50.0, 200.0, 10.0], [math.inf] * 4, [1, 2], 100.0
    ) == [0.0, 50.0, 100.0, 150.0]
    # two agents, then one: both busy agents finish their calls; a waiting call starts only
    # when the number in service is below the new count (at 151, not at 150)
    args = ([0.0, 1.0, 99.5, 120.0], [150.0, 150.0, 10.0, 10.0])
    assert _serve(*args, [math.inf] * 4, [2, 1], 100.0) == [0.0, 1.0, 151.0, 161.0]
    # same with the third call's patience ending at 129.5: it abandons, the fourth takes 151
    limits = [math.inf, math.inf, 129.5, math.inf]
    assert _serve(*args, limits, [2, 1], 100.0) == [0.0, 1.0, -1.0, 151.0]
    # still waiting when the horizon ends: not answered
    assert _serve([0.0, 10.0], [200.0, 5.0], [math.inf] * 2, [1], 100.0) == [0.0, -1.0]
    # no agent in the first interval: calls wait for the second
    assert _serve([5.0, 6.0], [1.0, 1.0], [math.inf] * 2, [0, 1], 100.0) == [100.0, 101.0]


@pytest.mark.parametrize("seed", range(300))
def test_serve_matches_naive_event_simulation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    intervals = int(rng.integers(1, 7))
    interval_s = 100.0
    agents = rng.integers(0, 4, intervals).tolist()
    calls = int(rng.integers(0, 12 * intervals + 1))
    arrival = np.sort(rng.random(calls) * intervals * interval_s)
    duration = rng.exponential(float(rng.choice([30.0, 90.0, 250.0])), calls)
    if rng.random() < 0.5:
        limit = arrival + rng.exponential(float(rng.choice([20.0, 80.0])), calls)
    else:
        limit = np.full(calls, np.inf)
    args = (arrival.tolist(), duration.tolist(), limit.tolist(), agents, interval_s)
    assert _serve(*args) == _reference(*args)


def test_busy_time_counts_only_staffed_agents() -> None:
    # calls in service [0, 150) and [1, 151); agents 2 then 1 (100 s intervals)
    busy, overrun = _busy_time(
        np.array([0.0, 1.0]), np.array([150.0, 151.0]), np.array([2, 1]), 100.0
    )
    assert busy.tolist() == pytest.approx([199.0, 51.0])
    assert overrun.tolist() == pytest.approx([0.0, 50.0])


def _stationary(
    calls: float,
    aht_s: float,
    agents: int,
    patience_s: float | None,
    *,
    handle_cv: float | None = None,
    replications: int = 100,
    seed: int = 0,
    intervals: int = 120,
) -> dict[str, Estimate]:
    queue = QueueModel(
        id="q",
        calls=np.full(intervals, calls),
        aht_s=np.full(intervals, aht_s),
        agents=np.full(intervals, agents, dtype=np.int64),
        answer_within_s=20.0,
        patience_s=patience_s,
    )
    model = SimulationModel(1800.0, (queue,), handle_cv=handle_cv)
    counts = run_replications(model, replications, seed=seed, workers=1)
    # warm-up: the first 8 half-hours; the last 2 feel the horizon's end
    window = counts.sum_intervals(slice(8, intervals - 2))
    return dict(estimate(window, level=LEVEL))


CASES = [
    # (calls per 30 min, aht_s, agents, patience_s)
    (48.0, 300.0, 10, None),  # Erlang C, a = 8
    (100.0, 180.0, 13, 300.0),  # Erlang A, a = 10
    (27.0, 300.0, 4, 180.0),  # Erlang A overloaded, a = 4.5 > n
]


@pytest.mark.parametrize("case", CASES, ids=["erlang-c", "erlang-a", "erlang-a-overloaded"])
def test_stationary_agrees_with_erlang(case: tuple[float, float, int, float | None]) -> None:
    calls, aht_s, agents, patience_s = case
    est = _stationary(calls, aht_s, agents, patience_s, seed=agents)
    exact = performance(calls, aht_s, 1800.0, 20.0, agents, patience_s=patience_s)
    for metric in METRICS:
        e = est[metric]
        predicted = float(getattr(exact, metric))
        low, high = float(e.low[0]), float(e.high[0])
        print(f"{metric}: predicted {predicted:.5f}, simulated CI [{low:.5f}, {high:.5f}]")
        assert low <= predicted <= high, metric
        # narrow enough to mean something: ±2 % points, ASA ±12 %
        assert high - low < (0.25 * predicted if metric == "asa_s" else 0.04), metric
    # power: one agent more or fewer is rejected (service level and occupancy)
    for wrong in (agents - 1, agents + 1):
        other = performance(calls, aht_s, 1800.0, 20.0, wrong, patience_s=patience_s)
        assert est["service_level"].outside(other.service_level)[0]
        assert est["occupancy"].outside(other.occupancy)[0]
    if patience_s is not None and agents > calls * aht_s / 1800.0:
        # Erlang C (ignoring abandonment) is the wrong model for this queue
        erlang_c = performance(calls, aht_s, 1800.0, 20.0, agents)
        assert est["service_level"].outside(erlang_c.service_level)[0]
        assert est["abandon_rate"].outside(erlang_c.abandon_rate)[0]


def test_handle_time_distribution() -> None:
    """Lognormal handle times keep their mean (occupancy = a / n still holds) but
    change the waits: constant handle times (cv 0) beat Erlang C's prediction, which
    the simulation rejects; cv 1 is consistent with it."""
    exact = performance(48.0, 300.0, 1800.0, 20.0, 10)
    constant = _stationary(48.0, 300.0, 10, None, handle_cv=0.0, seed=1)
    assert constant["occupancy"].outside(exact.occupancy)[0] == False  # noqa: E712
    assert constant["asa_s"].high[0] < exact.asa_s
    cv1 = _stationary(48.0, 300.0, 10, None, handle_cv=1.0, seed=2)
    for metric in ("service_level", "occupancy"):
        assert not cv1[metric].outside(getattr(exact, metric))[0]


def _small_model() -> SimulationModel:
    rng = np.random.default_rng(5)
    queues = tuple(
        QueueModel(
            id=f"q{k}",
            calls=rng.uniform(5, 40, 24),
            aht_s=np.full(24, 240.0),
            agents=rng.integers(2, 12, 24).astype(np.int64),
            answer_within_s=20.0,
            patience_s=None if k == 0 else 150.0,
        )
        for k in range(2)
    )
    return SimulationModel(900.0, queues)


def _arrays(counts: Counts) -> dict[str, np.ndarray]:
    return {name: np.asarray(getattr(counts, name)) for name in Counts.__dataclass_fields__}


def test_same_seed_same_result_any_workers() -> None:
    model = _small_model()
    one = _arrays(run_replications(model, 12, seed=42, workers=1))
    again = _arrays(run_replications(model, 12, seed=42, workers=1))
    two = _arrays(run_replications(model, 12, seed=42, workers=2))
    for name, value in one.items():
        assert value.shape == (12, 2, 24)
        np.testing.assert_array_equal(value, again[name])
        np.testing.assert_array_equal(value, two[name])
    other = _arrays(run_replications(model, 12, seed=43, workers=1))
    assert not np.array_equal(one["offered"], other["offered"])


def test_different_seeds_statistically_consistent() -> None:
    model = _small_model()
    a = estimate(run_replications(model, 40, seed=1, workers=1).sum_intervals())
    b = estimate(run_replications(model, 40, seed=2, workers=1).sum_intervals())
    z = 3.29  # 99.9 %, two-sided; half-widths are 95 % t-intervals (z ~ 2.02 for 39 df)
    for metric in METRICS:
        ea, eb = a[metric], b[metric]
        for k in range(2):
            if metric == "abandon_rate" and k == 0:
                assert ea.value[k] == eb.value[k] == 0.0  # Erlang C: nobody abandons
                continue
            se_a = (ea.high[k] - ea.low[k]) / (2 * 2.02)
            se_b = (eb.high[k] - eb.low[k]) / (2 * 2.02)
            assert ea.value[k] != eb.value[k]
            assert abs(ea.value[k] - eb.value[k]) <= z * math.hypot(se_a, se_b), metric


def test_estimate_ratio_and_intervals() -> None:
    offered = np.array([[10], [20], [30]])
    within = np.array([[10], [20], [30]])
    counts = Counts(
        offered=offered,
        answered=offered,
        within_target=within,
        abandoned=np.zeros_like(offered),
        unanswered_at_close=np.zeros_like(offered),
        wait_answered_s=np.array([[0.0], [20.0], [0.0]]),
        busy_s=np.array([[50.0], [60.0], [70.0]]),
        overrun_s=np.zeros((3, 1)),
        staffed_s=np.array([[100.0], [100.0], [100.0]]),
    )
    est = estimate(counts)
    # every call answered in time: SL 1, but the interval is not the degenerate [1, 1]
    assert est["service_level"].value[0] == 1.0
    assert est["service_level"].high[0] == 1.0
    assert 0.9 < est["service_level"].low[0] < 1.0
    assert est["asa_s"].value[0] == pytest.approx(20.0 / 60.0)  # ratio of sums
    assert est["occupancy"].value[0] == pytest.approx(0.6)
    assert est["occupancy"].low[0] < 0.6 < est["occupancy"].high[0]
    assert est["abandon_rate"].outside(0.0)[0] == False  # noqa: E712
    one = estimate(Counts(**{k: v[:1] for k, v in _arrays(counts).items()}))
    assert math.isnan(one["service_level"].low[0])  # one replication: no interval
    assert not one["service_level"].outside(0.5)[0]


def test_backlog_and_close() -> None:
    """No agent in the first interval: its calls are answered in the second (late);
    no agent in the last: its calls are unanswered at close (Erlang C) or abandon."""
    queue = QueueModel(
        id="q",
        calls=np.array([10.0, 0.0, 10.0]),
        aht_s=np.full(3, 30.0),
        agents=np.array([0, 5, 0], dtype=np.int64),
        answer_within_s=20.0,
    )
    counts = run_replications(SimulationModel(900.0, (queue,)), 20, seed=3, workers=1)

    def total(name: str) -> list[float]:
        return np.asarray(getattr(counts, name))[:, 0, :].sum(axis=0).tolist()

    offered = total("offered")
    assert offered[0] > 100 and offered[2] > 100
    assert total("answered")[0] == offered[0]  # all carried into interval 1
    assert total("within_target")[0] < offered[0] / 4  # only those arriving in the last ~20 s
    assert total("unanswered_at_close")[2] == offered[2]
    assert total("busy_s")[1] > 0 and total("busy_s")[0] == total("busy_s")[2] == 0
    assert counts.staffed_s[0, 0].tolist() == [0, 4500, 0]
    impatient = QueueModel(**{**queue.__dict__, "patience_s": 60.0})
    counts = run_replications(SimulationModel(900.0, (impatient,)), 20, seed=3, workers=1)
    assert total("abandoned")[2] + total("unanswered_at_close")[2] == total("offered")[2]
    assert total("abandoned")[2] > 0.8 * total("offered")[2]  # most give up before 21:00


def test_agents_finish_their_call_when_their_interval_ends() -> None:
    queue = QueueModel(
        id="q",
        calls=np.array([4.0, 4.0]),
        aht_s=np.full(2, 1200.0),
        agents=np.array([3, 0], dtype=np.int64),
        answer_within_s=20.0,
    )
    model = SimulationModel(900.0, (queue,), handle_cv=0.0)
    counts = run_replications(model, 10, seed=0, workers=1)
    answered = counts.answered[:, 0, 0]
    # 20-minute calls: each of the 3 agents takes exactly one call, the rest wait in vain
    np.testing.assert_array_equal(answered, np.minimum(counts.offered[:, 0, 0], 3))
    assert (
        counts.unanswered_at_close[:, 0, :].sum(axis=1)
        == counts.offered[:, 0, :].sum(axis=1) - answered
    ).all()
    assert counts.busy_s[:, 0, 1].max() == 0.0  # nobody is staffed in interval 1 ...
    assert ((counts.overrun_s[:, 0, 1] > 0) == (answered > 0)).all()  # ... but calls finish
    assert (answered > 0).sum() >= 8


@pytest.fixture(scope="module")
def michelle_plan() -> optistaff.Plan:
    return optistaff.solve(stationary(ROOT / "scenarios" / "michelle.yaml"))


def test_simulate_plan_frames(michelle_plan: optistaff.Plan) -> None:
    report = simulate_plan(michelle_plan, replications=40, seed=0, workers=1)
    staffing = michelle_plan.staffing
    frame = report.intervals
    assert len(frame) == len(staffing) == 16
    assert frame["queue"].tolist() == staffing["queue"].tolist()
    assert (frame["interval_start"] == staffing["interval_start"]).all()
    assert frame["agents"].tolist() == staffing["agents"].tolist()
    for metric in METRICS:
        np.testing.assert_array_equal(
            frame[f"{metric}_predicted"].to_numpy(), staffing[metric].to_numpy()
        )
        assert frame[f"{metric}_outside"].dtype == bool
    day = report.queues
    assert list(day.index) == ["platinum", "gold"]
    for queue in day.index:
        totals = michelle_plan.summary["queues"][queue]
        assert day.at[queue, "service_level_predicted"] == pytest.approx(totals["service_level"])
        assert day.at[queue, "calls"] == pytest.approx(totals["calls"])
        assert day.at[queue, "calls_simulated"] == pytest.approx(totals["calls"], rel=0.1)
    # gold has Erlang C intervals with n <= a: no finite predicted wait, so no day ASA
    assert np.isnan(day["asa_s_predicted"].to_numpy()[1])
    assert day.at["gold", "abandon_rate_simulated"] == 0.0
    # the model handed to the simulator is the plan's
    model = model_from_plan(michelle_plan)
    assert model.interval_s == 1800.0 and model.queues[0].patience_s == 120.0
    assert model.queues[1].patience_s is None


def test_simulate_plan_rejects_bad_input(michelle_plan: optistaff.Plan) -> None:
    with pytest.raises(optistaff.OptistaffError):
        simulate_plan(michelle_plan, replications=0)
    with pytest.raises(ValueError):
        model_from_plan(michelle_plan, handle_cv=-1.0)
