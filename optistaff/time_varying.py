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

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from optistaff import _tv_kernels
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
PANEL_RATE_LENGTH = 8.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(PANEL_NODES)
#: Largest number of states the chain of one queue may have.
MAX_STATES = 200_000
#: Work units (:func:`work_estimate`) one second of evaluation gets through at best:
#: the fastest rate measured on a 2-core machine (1e8; 2.6e7 to 1.1e8 across the queues
#: of a 2,000-agent center), so that an estimate in seconds errs on the short side.
WORK_PER_S = 1e8


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


#: Days remembered by :func:`evaluate_queue` (least recently used dropped first): the
#: time-varying search scores the days of its plan, and the pipeline then evaluates the
#: same days again for the plan's figures.
MEMO_SIZE = 2048
_MEMO: OrderedDict[bytes, DayFigures] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _memo_key(day: QueueDay) -> bytes:
    """A digest of everything the figures of ``day`` depend on: the day and the numerical
    settings of this module (a test that changes one must not get the old figures)."""
    h = hashlib.blake2b(digest_size=20)
    for arr, kind in ((day.calls, np.float64), (day.aht_s, np.float64), (day.agents, np.int64)):
        h.update(np.ascontiguousarray(arr, dtype=kind).tobytes())
        h.update(b"|")
    settings = (
        day.interval_s,
        day.answer_within_s,
        day.patience_s,
        day.start_waiting,
        day.start_in_service,
        day.start_at,
        LOST_MASS,
        POISSON_TAIL,
        COHORT_FLOOR,
        PANEL_NODES,
        PANEL_RATE_LENGTH,
        MAX_STATES,
    )
    h.update(repr(settings).encode())
    return h.digest()


def forget() -> None:
    """Empty the memo of :func:`evaluate_queue` (benchmarks time the evaluation itself)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def _recalled(key: bytes) -> DayFigures | None:
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
        return hit


def evaluate_queue(day: QueueDay, guess: int | None = None) -> DayFigures:
    """The expected figures of one queue over the horizon (module docstring);
    ``guess``: the first truncation to try (default :func:`_first_guess`). Remembered
    (:data:`MEMO_SIZE` days): the arrays of the result are shared, not to be changed."""
    key = _memo_key(day)
    hit = _recalled(key)
    if hit is not None:
        return hit
    guess = _first_guess(day) if guess is None else guess
    while True:
        out = _evaluate(day, guess)
        if out is not None:
            for arr in (out.answered_within, out.answered, out.abandoned, out.waiting_at_end):
                arr.flags.writeable = False
            with _MEMO_LOCK:
                _MEMO[key] = out
                while len(_MEMO) > MEMO_SIZE:
                    _MEMO.popitem(last=False)
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


def work_estimate(day: QueueDay, K: int | None = None) -> float:
    """The work of one evaluation of ``day``, in states × uniformization steps: per
    interval (λ + nμ + θ·K)·Δ steps (plus the Poisson tail) over the K + 1 states of the
    first truncation guess. An upper estimate of the sweeps' work (their bands are
    narrower); seconds ≈ work / :data:`WORK_PER_S` or more. ``K``: that guess, when
    known."""
    K = _first_guess(day) if K is None else K
    theta = 0.0 if day.patience_s is None else 1.0 / float(day.patience_s)
    work = 0.0
    for c, h, n in zip(day.calls, day.aht_s, day.agents, strict=True):
        rate_time = float(c) + float(n) * day.interval_s / float(h)
        rate_time += theta * max(K - int(n), 0) * day.interval_s
        work += (rate_time + 10.0 * math.sqrt(rate_time) + 30.0) * (K + 1)
    return work


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
    """The figures on the chain truncated at K calls (:func:`optistaff._tv_kernels.queue_day`);
    None when some interval loses more than ``LOST_MASS`` (then K must grow)."""
    delta = float(day.interval_s)
    fig, ok = _tv_kernels.queue_day(
        np.asarray(day.calls, dtype=np.float64) / delta,
        1.0 / np.asarray(day.aht_s, dtype=np.float64),
        np.asarray(day.agents, dtype=np.int64),
        0.0 if day.patience_s is None else 1.0 / float(day.patience_s),
        delta,
        float(day.answer_within_s),
        int(K),
        int(day.start_at),
        int(day.start_waiting),
        int(day.start_in_service),
        _GL_X,
        _GL_W,
        PANEL_RATE_LENGTH,
        POISSON_TAIL,
        LOST_MASS,
        COHORT_FLOOR,
    )
    if not ok:
        return None
    return DayFigures(
        np.asarray(day.calls, dtype=np.float64).copy(),
        fig[0],
        fig[1],
        fig[2],
        fig[3],
        fig[4],
        fig[5],
        fig[6],
        K + 1,
        fig[7],
        fig[8],
    )


def compile_kernels() -> float:
    """Compile (or load from numba's cache) the kernels of :func:`_evaluate` on a one-call
    day, and return the seconds it took: 0.3-0.5 s from the cache, ~18 s on a machine's
    first time-varying day (the cache is empty after an install). The pipeline calls it
    before it shares out the time limit, so that the compile counts as fixed work and not
    as search time the limit cannot stop (a 10 s limit once took 28 s)."""
    import time

    began = time.monotonic()
    tiny = QueueDay(
        calls=np.ones(1),
        aht_s=np.full(1, 60.0),
        agents=np.ones(1, dtype=np.int64),
        interval_s=900.0,
        answer_within_s=20.0,
    )
    _evaluate(tiny, 8)
    return time.monotonic() - began


_FIGURES = (
    "answered_within",
    "answered",
    "abandoned",
    "waiting_at_end",
    "wait_answered_s",
    "busy_s",
    "lost",
    "waiting_after",
    "in_service_after",
)


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


def performance_of(day: QueueDay, guess: int | None = None) -> Figures:
    """The figures of ``day`` (:func:`evaluate_queue`) as rates: service level and
    abandon rate per call offered in the interval, ASA of its answered calls, occupancy
    = busy agent-time / staffed agent-time (NaN where the contract says null)."""
    f = evaluate_queue(day, guess)
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


def evaluate_days(days: list[QueueDay], threads: int = 1) -> list[Figures]:
    """:func:`performance_of` for every queue, ``threads`` queues at a time (the compiled
    sweeps release the GIL; the figures do not depend on the thread count). The most
    work (:func:`work_estimate`) goes first, so that one long queue does not run alone
    at the end: on a 2,000-agent center a backlogged Erlang C queue of 7,000 calls costs
    more than an Erlang A queue of 11,000."""
    if threads <= 1 or len(days) <= 1:
        return [performance_of(d) for d in days]
    from concurrent.futures import ThreadPoolExecutor

    fresh = [_recalled(_memo_key(d)) is None for d in days]
    guesses = [_first_guess(d) if f else 0 for d, f in zip(days, fresh, strict=True)]
    work = [work_estimate(d, K) if K else 0.0 for d, K in zip(days, guesses, strict=True)]
    order = sorted(range(len(days)), key=lambda i: -work[i])
    out: list[Figures | None] = [None] * len(days)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="queue-day") as pool:
        figures = pool.map(lambda i: performance_of(days[i], guesses[i] or None), order)
        for i, fig in zip(order, figures, strict=True):
            out[i] = fig
    return [f for f in out if f is not None]
