"""The time-varying queue model: each queue over the whole day as one Markov chain.

Each queue is an M(t)/M/n(t)+M process (Erlang A; M(t)/M/n(t) without patience, Erlang
C), piecewise constant per interval, its state carried from each interval into the
next (``models/12-time-varying.md`` has the equations; ``models/00-contract.md`` what
every figure means). In interval t calls arrive at rate λ_t = calls_t / Δ, each call in
service ends at rate μ_t = 1 / aht_t, each waiting call abandons at rate θ = 1 /
patience, at most n_t calls are in service (FCFS), and the chain starts empty or from
a given state.

**Figures by arrival interval.** A tagged call that waits has a *position* j (j − 1
calls wait ahead of it, every agent is busy). Under FCFS its position falls at rate
n μ + (j − 1) θ, it is answered from position 1 at rate n μ and abandons at rate θ,
whatever arrives behind it; at a boundary its position moves by n_t − n_{t+1}. So
the calls that arrive in interval t form a *cohort*: a vector of positions that
evolves on its own once the interval is over. The chain, the cohorts and the sums of
their ages form one linear system with non-negative couplings, solved exactly by
uniformization (Poisson-weighted powers of one step matrix); the integrals (busy
agent-time, answered, abandoned) come from the same powers with cumulative weights.

**Service level** needs each call's own wait, not only its cohort's. A call arriving
at s is answered within τ with probability V(s)[j], the backward solution of the
position chain over [s, s + τ]. Where that window lies inside the interval, V does
not depend on s and the arrivals integrate exactly; over the last τ of an interval
the window crosses the boundary and sees the next interval's staffing, and those
arrivals are integrated by composite Gauss–Legendre quadrature in s (the one
approximation of the numerics; its error is measured in
``tests/test_time_varying.py``).

The state space is truncated at K calls in the system: a birth at K is *lost*, and K
is doubled until the mass lost in every interval is at most ``LOST_MASS`` (1e-12).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from optistaff import _tv_kernels as kernels
from optistaff.scenario import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Largest probability mass one interval may lose to the truncation of the chain.
LOST_MASS = 1e-12
#: Poisson mass beyond the last power of a uniformization sweep.
POISSON_TAIL = 1e-15
#: Cohort mass below which a cohort of earlier arrivals is dropped (relative to one call).
COHORT_FLOOR = 1e-16
#: Gauss–Legendre nodes per panel of the boundary window, and the largest change of the
#: integrand's natural rate × panel length (``models/12-time-varying.md``).
PANEL_NODES = 8
PANEL_RATE_LENGTH = 2.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(PANEL_NODES)
#: Largest number of states the chain of one queue may have.
MAX_STATES = 200_000


@dataclass(frozen=True)
class QueueDay:
    """One queue over the horizon: per interval ``calls``, ``aht_s`` and ``agents``;
    ``patience_s`` None for Erlang C. ``start_waiting`` / ``start_in_service``: the
    state at boundary ``start_at`` (an interval index; 0 = the horizon start)."""

    calls: FloatArray
    aht_s: FloatArray
    agents: IntArray
    interval_s: float
    answer_within_s: float
    patience_s: float | None = None
    start_waiting: int = 0
    start_in_service: int = 0
    start_at: int = 0

    @property
    def intervals(self) -> int:
        return len(self.calls)


@dataclass(frozen=True)
class DayFigures:
    """Expected figures of one queue per interval t, about the calls arriving in t
    (counts of calls, seconds), except ``busy_s`` (agent-seconds busy during t) and
    ``lost`` (probability mass lost to truncation in t)."""

    offered: FloatArray
    answered_within: FloatArray
    answered: FloatArray
    abandoned: FloatArray
    waiting_at_end: FloatArray
    wait_answered_s: FloatArray
    busy_s: FloatArray
    lost: FloatArray
    states: int
    waiting_after: FloatArray = field(default_factory=lambda: np.zeros(0))
    in_service_after: FloatArray = field(default_factory=lambda: np.zeros(0))


def poisson_weights(rate_time: float, tail: float = POISSON_TAIL) -> FloatArray:
    """Pois(m; rate_time) for m = 0..M, M the first index whose upper tail is below
    ``tail`` (computed in log space: no underflow for large rate × time)."""
    if rate_time <= 0:
        return np.ones(1)
    width = 10.0 * math.sqrt(rate_time) + 30.0
    top = math.ceil(rate_time + width)
    m = np.arange(top + 1, dtype=np.float64)
    logs = np.empty(top + 1)
    logs[0] = -rate_time
    if top:
        logs[1:] = -rate_time + np.cumsum(math.log(rate_time) - np.log(m[1:]))
    w = np.exp(logs)
    upper = np.cumsum(w[::-1])[::-1]  # P(N >= m)
    keep = int(np.searchsorted(-upper, -tail))  # first m with P(N >= m) < tail
    return w[: max(keep, 1)]


def poisson_matrix(rate_times: FloatArray, tail: float = POISSON_TAIL) -> FloatArray:
    """Row i: Pois(m; rate_times[i]) for m = 0..M, M enough for the largest rate × time
    (rows of smaller ones end in zeros)."""
    r = np.asarray(rate_times, dtype=np.float64)
    if r.size == 0:
        return np.zeros((0, 1))
    top = len(poisson_weights(float(r.max()), tail))
    m = np.arange(top, dtype=np.float64)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(m[1:]))])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(r)
        logs = -r[:, None] + m[None, :] * log_r[:, None] - log_fact[None, :]
    out = np.exp(logs)
    out[r <= 0, :] = 0.0
    out[r <= 0, 0] = 1.0
    return np.asarray(out)


def _tail_weights(w: FloatArray, rate: float) -> FloatArray:
    """∫_0^T Pois(m; rate·s) ds = P(N(rate·T) > m) / rate, for the weights ``w``."""
    upper = np.cumsum(w[::-1])[::-1]
    above = upper - w  # P(N > m)
    return np.asarray(np.maximum(above, 0.0) / rate)


class _Rates:
    """One interval's rates on the truncated chain (K + 1 states, positions 1..K + 1),
    with the per-state arrays computed once."""

    def __init__(self, lam: float, n: int, mu: float, theta: float, K: int) -> None:
        self.lam, self.n, self.mu, self.theta, self.K = lam, n, mu, theta, K
        k = np.arange(K + 1, dtype=np.float64)
        #: death rate of state k: min(k, n)μ + (k − n)⁺θ
        self.death = np.minimum(k, n) * mu + np.maximum(k - n, 0) * theta
        #: rate at which position j (index j − 1) moves to j − 1 (answered for j = 1)
        self.down = n * mu + k * theta
        self.rate = max(lam + float(self.death[-1]), float(self.down[-1]) + theta, 1e-300)

    def uniform(self) -> float:
        """The uniformization rate: at least every state's total outflow."""
        return self.rate


def _shift(vec: FloatArray, by: int) -> tuple[FloatArray, FloatArray]:
    """Positions after n rises by ``by`` (> 0: the first ``by`` are answered) or falls
    (< 0: everyone moves back); returns (shifted, answered part per row)."""
    out = np.zeros_like(vec)
    if by > 0:
        out[..., : vec.shape[-1] - by] = vec[..., by:]
        return out, vec[..., :by].sum(axis=-1)
    if by < 0:
        out[..., -by:] = vec[..., : vec.shape[-1] + by]
    else:
        out[...] = vec
    return out, np.zeros(vec.shape[:-1])


def answered_within(rates: _Rates, horizon_s: float) -> FloatArray:
    """V[j] = P(a call at position j is answered within ``horizon_s`` at constant rates)
    (backward uniformization of the position chain)."""
    return _backward_batch(rates, np.zeros((1, rates.K + 1)), np.array([horizon_s]))[0]


def _backward_batch(
    rates: _Rates, start: FloatArray, lengths: FloatArray, width: int | None = None
) -> FloatArray:
    """Rows ``start[i]`` (terminal values on the first ``width`` positions, answered = 1)
    propagated backward over ``lengths[i]`` seconds at constant rates (position j's
    value depends only on the positions below it, so a narrower width is exact)."""
    width = rates.K + 1 if width is None else width
    lam_u = rates.uniform()
    wmat = poisson_matrix(lam_u * np.asarray(lengths, dtype=np.float64))
    return kernels.backward(
        np.ascontiguousarray(start[:, :width], dtype=np.float64),
        1.0 - (rates.down[:width] + rates.theta) / lam_u,
        rates.down[:width] / lam_u,
        wmat,
    )


def evaluate_queue(day: QueueDay) -> DayFigures:
    """The expected figures of one queue over the horizon (module docstring)."""
    guess = _first_guess(day)
    while True:
        out = _evaluate(day, guess)
        if out is not None:
            return out
        if guess >= MAX_STATES:
            raise ValueError(f"the chain needs more than {MAX_STATES} states")
        guess = min(int(1.5 * guess) + 8, MAX_STATES)


def _first_guess(day: QueueDay) -> int:
    """A truncation K likely to keep the lost mass below ``LOST_MASS``, from a running
    bound on the calls in the system at each interval's end: at most the previous bound
    plus a high quantile of the interval's arrivals (mean + 10 sd + 10), and, in an
    interval with a stationary law, at most the larger of the previous bound and that
    law's 1e-16 quantile (the chain drifts toward it). Too small a guess only costs a
    second run (:func:`evaluate_queue` grows K until the bound holds)."""
    calls = np.asarray(day.calls, dtype=np.float64)
    aht = np.asarray(day.aht_s, dtype=np.float64)
    agents = np.asarray(day.agents, dtype=np.int64)
    theta = 0.0 if day.patience_s is None else 1.0 / float(day.patience_s)
    bound = float(day.start_waiting + day.start_in_service)
    top = bound
    for t, (c, h, n) in enumerate(zip(calls, aht, agents, strict=True)):
        if t == day.start_at and t > 0:
            bound = max(bound, float(day.start_waiting + day.start_in_service))
        lam, mu = c / day.interval_s, 1.0 / h
        grown = bound + c + 10.0 * math.sqrt(c) + 10.0
        stable = theta > 0.0 or lam < n * mu
        if stable:
            bound = min(grown, max(bound, float(_stationary_top(lam, int(n), mu, theta))))
        else:
            bound = grown
        top = max(top, bound)
    return int(min(MAX_STATES, top + 8))


def _stationary_top(lam: float, n: int, mu: float, theta: float) -> int:
    """The k above which the stationary law of the birth–death chain (arrivals λ,
    death min(k, n)μ + (k − n)⁺θ) holds less than about 1e-16 (a stable chain only;
    an unstable Erlang C interval is left to the backlog rule)."""
    if lam <= 0:
        return n
    if theta == 0.0 and lam >= n * mu:
        return n + 50
    size = 64
    while True:
        k = np.arange(1, size + 1, dtype=np.float64)
        death = np.minimum(k, n) * mu + np.maximum(k - n, 0) * theta
        if death[0] <= 0:
            return n + 50
        log_p = np.cumsum(np.log(lam / death))
        ratio = lam / death
        peak = max(0.0, float(log_p.max()))
        # past the mode the tail is at most a geometric series of the current ratio
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = (ratio < 1.0) & (log_p - np.log1p(-np.minimum(ratio, 0.999999)) < peak - 37.0)
        hits = np.nonzero(ok & (k > n))[0]
        if len(hits):
            return int(hits[0]) + 1
        if size >= MAX_STATES:
            return MAX_STATES
        size *= 4


def _evaluate(day: QueueDay, K: int) -> DayFigures | None:
    T = day.intervals
    delta = float(day.interval_s)
    tau = float(day.answer_within_s)
    theta = 0.0 if day.patience_s is None else 1.0 / float(day.patience_s)
    horizon_end = T * delta
    rates = [
        _Rates(float(day.calls[t]) / delta, int(day.agents[t]), 1.0 / float(day.aht_s[t]), theta, K)
        for t in range(T)
    ]
    offered = np.asarray(day.calls, dtype=np.float64).copy()
    within = np.zeros(T)
    answered = np.zeros(T)
    abandoned = np.zeros(T)
    waiting_end = np.zeros(T)
    wait_sum = np.zeros(T)
    busy = np.zeros(T)
    lost_by_t = np.zeros(T)
    waiting_after = np.zeros(T)
    in_service_after = np.zeros(T)

    pi = np.zeros(K + 1)
    pi[0] = 1.0
    # cohorts still waiting: origin intervals, positions, age sums
    origins: list[int] = []
    cohorts = np.zeros((0, K + 1))
    ages = np.zeros((0, K + 1))

    for t in range(T):
        if t == day.start_at:
            k0 = day.start_waiting + day.start_in_service
            if k0 > K:
                return None
            pi = np.zeros(K + 1)
            pi[k0] = 1.0
            for i, o in enumerate(origins):  # handed over into the given state
                waiting_end[o] += float(cohorts[i].sum())
            origins, cohorts, ages = [], np.zeros((0, K + 1)), np.zeros((0, K + 1))
        r = rates[t]
        origins.append(t)
        cohorts = np.vstack([cohorts, np.zeros(K + 1)])
        ages = np.vstack([ages, np.zeros(K + 1)])
        cur = len(origins) - 1
        interior = max(delta - tau, 0.0)
        crossing = delta - interior
        # phase 1: windows inside the interval (V constant)
        if interior > 0:
            inside = answered_within(r, tau) if r.lam > 0 else np.zeros(K + 1)
            res = _sweep(r, pi, cohorts, ages, cur, interior, inside, None)
            if res is None:
                return None
            pi, cohorts, ages, acc = res
            _collect(acc, origins, r, answered, abandoned, wait_sum, within, busy, lost_by_t, t)
        # phase 2: the last tau of the interval, windows cross the boundary
        # the windows of phase 2 reach up to interval t + ceil(τ/Δ); a window starts to
        # cross boundary t + k at s = kΔ − τ (seconds into the interval)
        reach = min(T, t + 1 + math.ceil(tau / delta)) if tau > 0 else t + 1
        kinks = [k * delta - tau - interior for k in range(2, reach - t + 1)]
        nodes, node_w = _panels(rates[t:reach], crossing, kinks)
        res = _sweep(r, pi, cohorts, ages, cur, crossing, None, nodes)
        if res is None:
            return None
        pi, cohorts, ages, acc = res
        _collect(acc, origins, r, answered, abandoned, wait_sum, within, busy, lost_by_t, t)
        if r.lam > 0 and len(nodes):
            start_s = t * delta + interior
            held = np.nonzero((acc.node_pi > kernels.NEGLIGIBLE).any(axis=0))[0]
            width = max(int(held[-1]) - r.n + 2, 1) if len(held) else 1
            values = _window_values(
                rates, t, day, start_s + nodes, start_s + nodes + tau, horizon_end, width
            )
            npos = min(K + 1 - r.n, values.shape[1])
            waiting_part = np.einsum("ij,ij->i", acc.node_pi[:, r.n : r.n + npos], values[:, :npos])
            within[t] += r.lam * float(np.dot(node_w, waiting_part))
        if lost_by_t[t] > LOST_MASS:
            return None
        waiting_after[t] = float(np.dot(pi, np.maximum(np.arange(K + 1) - r.n, 0)))
        in_service_after[t] = float(np.dot(pi, np.minimum(np.arange(K + 1), r.n)))
        # the boundary: positions move by n_t − n_{t+1}
        if t + 1 < T:
            shift = rates[t + 1].n - r.n
            cohorts, gone = _shift(cohorts, shift)
            ages, gone_age = _shift(ages, shift)
            for i, o in enumerate(origins):
                answered[o] += float(gone[i])
                wait_sum[o] += float(gone_age[i])
            keep = [i for i, o in enumerate(origins) if o == t or cohorts[i].sum() > COHORT_FLOOR]
            for i, o in enumerate(origins):
                if i not in keep:
                    waiting_end[o] += float(cohorts[i].sum())  # (below COHORT_FLOOR)
            origins = [origins[i] for i in keep]
            cohorts, ages = cohorts[keep], ages[keep]
    for i, o in enumerate(origins):
        waiting_end[o] += float(cohorts[i].sum())
    return DayFigures(
        offered,
        within,
        answered,
        abandoned,
        waiting_end,
        wait_sum,
        busy,
        lost_by_t,
        K + 1,
        waiting_after,
        in_service_after,
    )


@dataclass
class _Acc:
    """Integrals over one sweep: of π (busy, immediate answers, answered within τ), of
    each cohort's head and mass (answered, abandoned), of each age head (waits); π at
    the quadrature nodes; the mass lost."""

    int_pi: FloatArray
    int_head: FloatArray
    int_mass: FloatArray
    int_age_head: FloatArray
    within: float
    lost: float
    node_pi: FloatArray


def _sweep(
    r: _Rates,
    pi: FloatArray,
    cohorts: FloatArray,
    ages: FloatArray,
    cur: int,
    length: float,
    inside: FloatArray | None,
    nodes: FloatArray | None,
) -> tuple[FloatArray, FloatArray, FloatArray, _Acc] | None:
    """Propagate the chain, the cohorts and their ages over ``length`` seconds at the
    rates ``r`` (arrivals join cohort ``cur``). ``inside``: V of windows inside the
    interval (phase 1: the answered-within integral); ``nodes``: times (seconds from
    the sweep's start) at which π is wanted."""
    K = r.K
    lam_u = r.uniform()
    w = poisson_weights(lam_u * length)
    tw = _tail_weights(w, lam_u)
    node_list = nodes if nodes is not None else np.zeros(0)
    wmat = poisson_matrix(lam_u * node_list) if len(node_list) else np.zeros((0, 1))
    top = max(len(w), wmat.shape[1])
    wmat = np.pad(wmat, ((0, 0), (0, top - wmat.shape[1])))
    w = np.concatenate([w, np.zeros(top - len(w))])
    tw = np.concatenate([tw, np.zeros(top - len(tw))])
    n = r.n
    npos = K + 1 - n  # positions reachable by arrivals: k = n .. K -> j = 1 .. K + 1 - n
    # answered within τ, per second in each state: at once below n; from position j
    # with probability inside[j] (phase 1; phase 2's waiting calls: by quadrature)
    reward = np.full(K + 1, r.lam)
    reward[n:] = 0.0 if inside is None else r.lam * inside[:npos]
    out = kernels.sweep(
        pi,
        np.ascontiguousarray(cohorts),
        np.ascontiguousarray(ages),
        cur,
        r.lam / lam_u,
        r.death / lam_u,
        1.0 - (r.lam + r.death) / lam_u,
        r.down / lam_u,
        1.0 - (r.down + r.theta) / lam_u,
        1.0 / lam_u,
        n,
        w,
        tw,
        wmat,
    )
    end_pi, end_c, end_a, int_pi, int_head, int_mass, int_a0, node_pi = out
    lost = r.lam * float(int_pi[K])  # births at K per second × time at K
    acc = _Acc(
        int_pi,
        int_head * r.n * r.mu,
        int_mass * r.theta,
        int_a0 * r.n * r.mu,
        float(np.dot(reward, int_pi)),
        lost,
        node_pi,
    )
    return end_pi, end_c, end_a, acc


def _collect(
    acc: _Acc,
    origins: list[int],
    r: _Rates,
    answered: FloatArray,
    abandoned: FloatArray,
    wait_sum: FloatArray,
    within: FloatArray,
    busy: FloatArray,
    lost: FloatArray,
    t: int,
) -> None:
    """Add one sweep's integrals to the figures of the intervals they belong to."""
    K = r.K
    immediate = r.lam * float(acc.int_pi[: r.n].sum())
    answered[t] += immediate
    within[t] += acc.within
    for i, o in enumerate(origins):
        answered[o] += float(acc.int_head[i])
        abandoned[o] += float(acc.int_mass[i])
        wait_sum[o] += float(acc.int_age_head[i])
    busy[t] += float(np.dot(np.minimum(np.arange(K + 1), r.n), acc.int_pi))
    lost[t] += acc.lost


def _panels(
    touched: list[_Rates], length: float, kinks: list[float]
) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss–Legendre nodes and weights on [0, length]: split at ``kinks``
    (where the arrivals' τ windows begin to cross one more boundary, so the integrand
    is smooth on each piece), in panels short enough that the natural rates (arrivals,
    service, abandonment) of every interval the windows touch change it little."""
    if length <= 0:
        return np.zeros(0), np.zeros(0)
    natural = max(r.lam + r.n * r.mu + r.theta for r in touched)
    cuts = [0.0, *sorted(k for k in kinks if 0.0 < k < length), length]
    edges_list: list[FloatArray] = []
    for lo, hi in itertools.pairwise(cuts):
        panels = max(1, math.ceil(natural * (hi - lo) / PANEL_RATE_LENGTH))
        edges_list.append(np.linspace(lo, hi, panels + 1)[:-1])
    edges = np.concatenate([*edges_list, [length]])
    half = np.diff(edges) / 2
    mids = (edges[:-1] + edges[1:]) / 2
    nodes = (mids[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    weights = (half[:, None] * _GL_W[None, :]).ravel()
    return nodes, weights


def _window_values(
    rates: list[_Rates],
    t: int,
    day: QueueDay,
    starts: FloatArray,
    ends: FloatArray,
    horizon_end: float,
    width: int,
) -> FloatArray:
    """V_i[j] = P(a call at position j at time ``starts[i]`` (in interval t) is answered
    by ``ends[i]``), every boundary on the way seen, nothing answered after the horizon
    end (backward, interval by interval), for the first ``width`` positions."""
    delta = float(day.interval_s)
    count = len(starts)
    ends = np.minimum(ends, horizon_end)
    last = np.minimum(np.ceil(ends / delta - 1e-12).astype(int) - 1, len(rates) - 1)
    last = np.maximum(last, t)
    # positions beyond ``width`` hold no arrival's mass; a drop of n on the way moves a
    # position up, so those boundaries widen what must be computed
    for u in range(t + 1, int(last.max()) + 1):
        width += max(0, rates[u - 1].n - rates[u].n)
    K = min(width, rates[t].K + 1) - 1
    values = np.zeros((count, K + 1))  # at each node's deadline: not answered yet
    # process intervals from the latest deadline back to t
    for u in range(int(last.max()), t - 1, -1):
        active = last >= u
        if not active.any():
            continue
        seg_end = np.where(last == u, ends, (u + 1) * delta)
        seg_begin = starts if u == t else np.full(count, u * delta)
        lengths = np.maximum(seg_end - seg_begin, 0.0)
        idx = np.nonzero(active)[0]
        values[idx] = _backward_batch(rates[u], values[idx], lengths[idx], K + 1)
        if u > t:
            # the boundary at the start of u: positions move by n_{u-1} − n_u
            shift = rates[u].n - rates[u - 1].n
            before = np.zeros_like(values[idx])
            if shift > 0:
                before[:, :shift] = 1.0  # answered at the boundary
                before[:, shift:] = values[idx][:, : K + 1 - shift]
            elif shift < 0:
                before[:, : K + 1 + shift] = values[idx][:, -shift:]
            else:
                before = values[idx]
            values[idx] = before
    return values


@dataclass(frozen=True)
class Figures:
    """The rates of one queue per interval under the time-varying model, in the
    stationary :class:`~optistaff.queueing.Performance`'s terms (NaN = null), and the
    counts behind them: ``answered`` (calls of the interval answered before the horizon
    end) and ``waiting_at_end`` (still waiting when it ends)."""

    service_level: FloatArray
    abandon_rate: FloatArray
    asa_s: FloatArray
    occupancy: FloatArray
    answered: FloatArray
    waiting_at_end: FloatArray
    day: DayFigures


def day_of(scenario: Scenario, queue_index: int, agents: npt.ArrayLike) -> QueueDay:
    """Queue ``queue_index`` of ``scenario`` with ``agents`` per interval, with its
    ``initial_state`` where the scenario gives one."""
    queue = scenario.queues[queue_index]
    start = scenario.initial_state
    state = None if start is None else start.of(queue.id)
    return QueueDay(
        calls=np.asarray(queue.forecast, dtype=np.float64),
        aht_s=np.asarray(queue.aht_s, dtype=np.float64),
        agents=np.asarray(agents, dtype=np.int64),
        interval_s=scenario.horizon.interval_s,
        answer_within_s=queue.answer_within_s,
        patience_s=queue.patience_s,
        start_waiting=0 if state is None else state.waiting,
        start_in_service=0 if state is None else state.in_service,
        start_at=0 if start is None or state is None else start.at,
    )


def performance_of(day: QueueDay) -> Figures:
    """The figures of ``day`` (:func:`evaluate_queue`) as rates: service level and
    abandon rate per call offered in the interval, ASA of its answered calls, occupancy
    = busy agent-time / staffed agent-time (NaN where the contract says null)."""
    f = evaluate_queue(day)
    offered = f.offered
    with np.errstate(divide="ignore", invalid="ignore"):
        sl = np.where(offered > 0, f.answered_within / offered, np.nan)
        ab = np.where(offered > 0, f.abandoned / offered, 0.0)
        asa = np.where(f.answered > 0, f.wait_answered_s / f.answered, np.nan)
        staffed = np.asarray(day.agents, dtype=np.float64) * day.interval_s
        occ = np.where(staffed > 0, f.busy_s / staffed, np.nan)
    # rounding can leave a probability a hair outside [0, 1]
    sl = np.where(np.isnan(sl), np.nan, np.clip(sl, 0.0, 1.0))
    ab = np.clip(ab, 0.0, 1.0)
    occ = np.where(np.isnan(occ), np.nan, np.clip(occ, 0.0, 1.0))
    return Figures(sl, ab, asa, occ, f.answered, f.waiting_at_end, f)
