"""The time-varying optimum of a tiny scenario by enumerating every staffing sequence.

For scenarios with at most two queues, no optional agents, no pins and no switch
penalty, the time-varying objective depends only on each queue's staffing sequence
n_q(0..T−1), and it is a sum over queues (the daily minimum is a queue's own). So every
sequence of each queue is evaluated once under the time-varying model
(:func:`optistaff.time_varying.performance_of`, pinned against the dense reference in
``tests/test_time_varying.py``), its weighted shortfall and value summed here by the
contract's formulas (written separately from :mod:`optistaff.formulation`), and the
pairs are combined under the per-interval capacity: with a agents skilled only in the
first queue, b only in the second and c in both, n_1 ≤ a + c and n_2 ≤ b + c − (n_1 −
a)⁺ (agents may be left idle, so the feasible set is a box given n_1).

Ranking follows ``models/00-contract.md``: S* = min S, then the best total among
staffings with S ≤ S* + max(1e-9·S*, 1e-7).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from optistaff import time_varying
from optistaff.scenario import Scenario


@dataclass(frozen=True)
class TruthTV:
    min_shortfall: float
    total: float  # the best total among staffings within level 1's tolerance
    staffing: tuple[tuple[int, ...], ...]  # one optimal staffing, per queue
    sequences: int  # staffing pairs considered


def _queue_terms(sc: Scenario, qi: int, agents: tuple[int, ...]) -> tuple[float, float]:
    """(weighted shortfall, value) of queue ``qi`` with ``agents`` per interval."""
    q = sc.queues[qi]
    fig = time_varying.performance_of(time_varying.day_of(sc, qi, agents))
    short = value = answered_sum = 0.0
    for t, lam in enumerate(q.forecast):
        if lam <= 0:
            continue
        sl = 0.0 if np.isnan(fig.service_level[t]) else float(fig.service_level[t])
        answered = lam * sl
        answered_sum += answered
        abandoned = lam * float(fig.abandon_rate[t])
        served = float(fig.answered[t])
        value += q.value * (served if sc.policy.objective == "served" else answered)
        s = 0.0
        if q.min_service_level is not None:
            s += max(0.0, q.min_service_level * lam - answered)
        if q.max_abandon_rate is not None:
            s += max(0.0, abandoned - q.max_abandon_rate * lam)
        if q.max_occupancy is not None:
            s += max(0.0, lam - q.max_occupancy * agents[t] * sc.horizon.interval_s / q.aht_s[t])
        short += s
    if q.daily_service_level is not None:
        short += max(0.0, q.daily_service_level * sum(q.forecast) - answered_sum)
    return q.weight * short, value


def capacities(sc: Scenario) -> list[tuple[int, int, int]]:
    """Per interval (only-first, only-second, both): the available agents by skills."""
    ids = [q.id for q in sc.queues]
    out = []
    for t in range(sc.horizon.intervals):
        a = b = c = 0
        for ag in sc.agents:
            if not ag.available[t]:
                continue
            first = ids[0] in ag.skills
            second = len(ids) > 1 and ids[1] in ag.skills
            if first and second:
                c += 1
            elif first:
                a += 1
            elif second:
                b += 1
        out.append((a, b, c))
    return out


def truth(sc: Scenario) -> TruthTV:
    """The enumeration (module docstring)."""
    assert len(sc.queues) <= 2 and not sc.pins and sc.policy.switch_penalty == 0
    assert not any(a.optional for a in sc.agents)
    T = sc.horizon.intervals
    caps = capacities(sc)
    top1 = [a + c for a, _b, c in caps]
    seqs1 = list(itertools.product(*[range(m + 1) for m in top1]))
    f1 = np.array([_queue_terms(sc, 0, s) for s in seqs1])
    if len(sc.queues) == 1:
        s1, v1 = f1[:, 0], f1[:, 1]
        s_star = float(s1.min())
        ok = s1 <= s_star + max(1e-9 * s_star, 1e-7)
        i = int(np.argmax(np.where(ok, v1, -np.inf)))
        return TruthTV(s_star, float(v1[i]), (seqs1[i],), len(seqs1))
    top2 = [b + c for _a, b, c in caps]
    shape2 = tuple(m + 1 for m in top2)
    seqs2 = list(itertools.product(*[range(m + 1) for m in top2]))
    f2 = np.array([_queue_terms(sc, 1, s) for s in seqs2])
    s2 = f2[:, 0].reshape(shape2)
    v2 = f2[:, 1].reshape(shape2)
    grid = np.indices(shape2).reshape(T, -1).T.reshape(*shape2, T)
    best_s = np.inf
    rows = []
    for i, n1 in enumerate(seqs1):
        cap2 = np.array([b + c - max(0, n - a) for n, (a, b, c) in zip(n1, caps, strict=True)])
        feasible = np.all(grid <= cap2, axis=-1)
        s = f1[i, 0] + np.where(feasible, s2, np.inf)
        rows.append((i, feasible))
        best_s = min(best_s, float(s.min()))
    limit = best_s + max(1e-9 * best_s, 1e-7)
    best_v = -np.inf
    best: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
    for i, feasible in rows:
        ok = feasible & (f1[i, 0] + s2 <= limit)
        if not ok.any():
            continue
        v = np.where(ok, f1[i, 1] + v2, -np.inf)
        j = np.unravel_index(int(np.argmax(v)), shape2)
        if float(v[j]) > best_v:
            best_v = float(v[j])
            best = (seqs1[i], tuple(int(x) for x in j))
    return TruthTV(best_s, best_v, best, len(seqs1) * len(seqs2))


def random_tiny(seed: int) -> Scenario:
    """A random tiny scenario for the enumeration: 1-2 queues, 1-4 agents, 2-6 intervals
    of 15 or 30 minutes, loads up to ~3.5 Erlangs, Erlang A or C, standards drawn."""
    from tiny import agent, horizon, queue, scenario

    rng = np.random.default_rng(seed)
    h = horizon(int(rng.integers(2, 7)), int(rng.choice([15, 30])))
    n_queues = int(rng.integers(1, 3))
    qids = ["gold", "silver"][:n_queues]
    queues = []
    for qid in qids:
        aht = float(rng.choice([120.0, 180.0, 300.0, 450.0]))
        peak = 3.5 * h.interval_s / aht
        forecast = [float(rng.integers(0, max(2, int(peak)) + 1)) for _ in range(h.intervals)]
        patience = float(rng.choice([60.0, 120.0, 300.0])) if rng.random() < 0.5 else None
        queues.append(
            queue(
                h,
                qid,
                forecast=forecast,
                value=float(rng.choice([0.5, 1.0, 2.0, 5.0])),
                aht_s=aht,
                answer_within_s=float(rng.choice([0.0, 20.0, 60.0])),
                patience_s=patience,
                min_service_level=float(rng.choice([0.6, 0.8])) if rng.random() < 0.5 else None,
                daily_service_level=float(rng.choice([0.7, 0.8])) if rng.random() < 0.3 else None,
                max_abandon_rate=(
                    float(rng.choice([0.05, 0.1])) if patience and rng.random() < 0.4 else None
                ),
            )
        )
    agents = []
    for i in range(int(rng.integers(1, 5))):
        skills = qids if n_queues == 1 or rng.random() < 0.5 else [str(rng.choice(qids))]
        first = int(rng.integers(0, h.intervals)) if rng.random() < 0.3 else 0
        end = h.intervals if rng.random() < 0.7 else int(rng.integers(first + 1, h.intervals + 1))
        agents.append(agent(h, f"a{i}", skills, first=first, end=end))
    return scenario(f"tiny-tv-{seed}", h, queues, agents)


def claims_hold(summary: Mapping[str, Any], best: TruthTV) -> list[str]:
    """What a plan's summary claims that the truth contradicts: an ``optimal`` whose
    objective is not the optimum, a bound below the optimum's total, a shortfall bound
    above S*. Empty when every claim holds."""
    wrong: list[str] = []
    objective = summary["objective"]
    assert isinstance(objective, dict)
    s, total = float(objective["weighted_shortfall"]), float(objective["total"])
    if summary["status"] == "optimal":
        tie = s <= best.min_shortfall + max(1e-9 * best.min_shortfall, 1e-7)
        if not (tie and total >= best.total - max(1e-6 * abs(best.total), 1e-6)):
            wrong.append(f"optimal claimed at S {s:.9g}, total {total:.9g}: truth {best}")
    bound = summary.get("bound")
    if isinstance(bound, float) and bound < best.total - max(1e-6 * abs(best.total), 1e-6):
        wrong.append(f"bound {bound:.9g} below the optimum's total {best.total:.9g}")
    floor = summary.get("shortfall_bound")
    if isinstance(floor, float) and floor > best.min_shortfall + 1e-7:
        wrong.append(f"shortfall bound {floor:.9g} above S* {best.min_shortfall:.9g}")
    return wrong
