"""The time-varying optimiser: plans chosen by the day as it will run
(``models/13-carry-over.md``).

Under the time-varying model (:mod:`optistaff.time_varying`) a queue's figures in one
interval depend on its staffing in every earlier one (the backlog and the calls still in
service carry over) and, through the τ windows that cross a boundary, on the next one.
The per-interval decomposition no longer holds as such, and neither do "more agents
never hurt" cuts: with patience, a busier interval leaves more calls in service at the
boundary. This strategy therefore proves nothing; it searches, deterministically, and
every plan it compares is scored by the exact time-varying figures:

1. **Start**: the stationary optimum (:func:`~optistaff.solvers.decomposition.
   solve_allocation`, exact for the stationary model), idle agents placed as the
   stationary pipeline places them: the stationary plan. Every candidate is scored
   with its idle agents so placed.
2. **Conditioned fixed point**: the plan's own time-varying figures give each cell
   (queue, interval) a correction, what carry-over adds to the stationary answered,
   abandoned and served calls at the plan's staffing. The tables moved by these
   corrections (:func:`optistaff.formulation.tabulate`) are solved again by the same
   exact decomposition: each interval's staffing is chosen on curves conditioned on
   the state the day brings into it. The corrections are averaged over the rounds;
   repeated until a plan comes back, ``FIXED_POINT_PATIENCE`` rounds bring nothing
   better, or ``FIXED_POINT_ROUNDS``; the best plan by the exact score is kept.
3. **Local search** (pooled agents, no switch penalty): changes of one or two agents
   (start idle ones, make some idle, move them between two of their queues) in one
   interval, each
   scored exactly on the queues it touches (a queue's day is evaluated once per
   staffing and cached), first improvement, cells in a fixed order, within
   ``SEARCH_WORK`` (a count of states × intervals evaluated, not a clock: the same
   scenario and settings give the same plan). The time limit stops it earlier.

The result is ``feasible`` with no bound: no valid bound for the time-varying objective
is known to this strategy (the stationary bound is not one: carry-over can help the
first interval of a rising day as much as it hurts after a peak).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from optistaff import queueing, time_varying
from optistaff.disaggregate import disaggregate, fill_idle
from optistaff.formulation import (
    AllocationProblem,
    Corrections,
    QueueCurves,
    cell_terms,
    queue_curves,
    tables_of,
)
from optistaff.solvers import Progress, ProgressCallback, SolverResult, SolveStatus, clock
from optistaff.solvers.decomposition import solve_allocation
from optistaff.solvers.results import Counts

#: Re-solves on conditioned tables at most (the fixed point is usually reached in 2-4).
FIXED_POINT_ROUNDS = 8
#: ... and stop after this many rounds in a row that improve the best plan by less than
#: ``FIXED_POINT_PROGRESS`` (relative): on the large short center the first two rounds
#: overshoot and the third gains 1.5 %; on M the rounds after the second gain < 0.1 %.
FIXED_POINT_PATIENCE = 3
FIXED_POINT_PROGRESS = 1e-3
#: Work the local search may spend per solve, in states × intervals of the queue-days it
#: evaluates (a count, so the plan does not depend on the machine's speed): a tiny
#: scenario's whole descent, a few days of a large queue.
SEARCH_WORK = 150_000
#: Share of the time limit the stationary start may use.
START_SHARE = 0.4

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, order=True)
class Score:
    """A plan's time-varying objective: the weighted shortfall (level 1) and the total
    (value − cost − switching, less price × shortfall when priced); see :func:`better`."""

    shortfall: float
    total: float


def better(a: Score, b: Score, priced: bool) -> bool:
    """``a`` strictly better than ``b`` by the contract's lexicographic order and
    tolerances (level 1 within max(1e-9·S, 1e-7) counts as equal; then the total, by
    1e-9 relative with a 1e-7 floor); a priced objective is the total alone."""

    def tol(x: float) -> float:
        return max(1e-9 * abs(x), 1e-7)

    if not priced:
        if a.shortfall < b.shortfall - tol(b.shortfall):
            return True
        if a.shortfall > b.shortfall + tol(b.shortfall):
            return False
    return a.total > b.total + tol(b.total)


class DayScorer:
    """The exact time-varying score of staffings ``n[q, t]``: each queue's day is
    evaluated once per staffing (:func:`optistaff.time_varying.performance_of`) and its
    value and weighted shortfall (daily minimum included) cached."""

    def __init__(self, problem: AllocationProblem) -> None:
        self.scenario = problem.scenario
        self.priced = self.scenario.policy.shortfall_price is not None
        self._cache: dict[tuple[int, bytes], tuple[float, float, time_varying.Figures]] = {}
        self.evaluations = 0
        self.work = 0  # Σ states × intervals of the days evaluated
        self._lock = threading.Lock()

    def queue(self, qi: int, agents: IntArray) -> tuple[float, float, time_varying.Figures]:
        """(weighted shortfall, value, figures) of queue ``qi`` staffed by ``agents``."""
        key = (qi, np.asarray(agents, dtype=np.int64).tobytes())
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        sc = self.scenario
        queue = sc.queues[qi]
        fig = time_varying.performance_of(time_varying.day_of(sc, qi, agents))
        calls = np.asarray(queue.forecast, dtype=float)
        sl = np.nan_to_num(fig.service_level, nan=0.0)
        answered = calls * sl
        worth, short = cell_terms(
            queue,
            sc.policy.objective,
            sc.horizon.interval_s,
            calls,
            np.asarray(queue.aht_s, dtype=float),
            np.asarray(agents, dtype=float),
            answered,
            calls * fig.abandon_rate,
            np.asarray(fig.answered, dtype=float),
        )
        has = calls > 0
        shortfall = math.fsum(short[has])
        if queue.daily_service_level is not None:
            daily = queue.daily_service_level * float(calls.sum()) - math.fsum(answered[has])
            shortfall += queue.weight * max(0.0, daily)
        out = (shortfall, math.fsum(worth[has]), fig)
        with self._lock:
            self._cache[key] = out
            self.evaluations += 1
            self.work += fig.day.states * len(calls)
        clock.charge(clock.STATE_WORK * fig.day.states * len(calls))
        return out

    def score(self, n: IntArray, cost: float, switching: float = 0.0) -> Score:
        """The score of staffing ``n`` (queues × intervals) with ``cost`` of the called-in
        agents and ``switching`` (penalty × switches)."""
        missing = [
            qi
            for qi in range(n.shape[0])
            if (qi, np.asarray(n[qi], dtype=np.int64).tobytes()) not in self._cache
        ]
        # the largest queues first, so that one long day does not run alone at the end
        missing.sort(key=lambda qi: -sum(self.scenario.queues[qi].forecast))
        threads = max(1, min(self.scenario.policy.threads, len(missing)))
        if threads > 1:  # (the compiled days release the GIL; figures do not depend on it)
            from concurrent.futures import ThreadPoolExecutor

            def one(qi: int) -> object:
                return self.queue(qi, n[qi])

            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="day") as pool:
                list(pool.map(clock.carried(one), missing))
        parts = [self.queue(qi, n[qi]) for qi in range(n.shape[0])]
        short = math.fsum(p[0] for p in parts)
        value = math.fsum(p[1] for p in parts)
        total = value - cost - switching
        price = self.scenario.policy.shortfall_price
        if price is not None:
            total -= price * short
        return Score(short, total)


def staffing(problem: AllocationProblem, counts: Counts) -> IntArray:
    """Agents per (queue, interval) of group counts."""
    n = np.zeros((problem.n_queues, problem.n_intervals), dtype=np.int64)
    for (_g, q, t), k in counts.items():
        n[q, t] += k
    return n


def corrections(scorer: DayScorer, n: IntArray) -> Corrections:
    """Per cell with calls: the time-varying answered-within-target, abandoned and served
    calls at staffing ``n`` less the stationary ones (:data:`~optistaff.formulation.
    Corrections`)."""
    sc = scorer.scenario
    out: dict[tuple[int, int], tuple[float, float, float]] = {}
    for qi, queue in enumerate(sc.queues):
        calls = np.asarray(queue.forecast, dtype=float)
        aht = np.asarray(queue.aht_s, dtype=float)
        tv = scorer.queue(qi, n[qi])[2]
        st = queueing.performance(
            calls,
            aht,
            sc.horizon.interval_s,
            queue.answer_within_s,
            n[qi].astype(float),
            patience_s=queue.patience_s,
        )
        st_sl = np.nan_to_num(st.service_level, nan=0.0)
        tv_sl = np.nan_to_num(tv.service_level, nan=0.0)
        for t in np.nonzero(calls > 0)[0].tolist():
            lam = calls[t]
            out[(qi, t)] = (
                lam * (tv_sl[t] - st_sl[t]),
                lam * (tv.abandon_rate[t] - st.abandon_rate[t]),
                float(tv.answered[t]) - lam * (1.0 - st.abandon_rate[t]),
            )
    return out


def _progress(new: Score, old: Score, priced: bool) -> bool:
    """``new`` better than ``old`` by at least ``FIXED_POINT_PROGRESS`` of level 1 (of the
    total where level 1 ties or the objective is priced): a round worth another."""
    if not priced and new.shortfall < old.shortfall - max(1e-9 * old.shortfall, 1e-7):
        return old.shortfall - new.shortfall >= FIXED_POINT_PROGRESS * abs(old.shortfall)
    return new.total - old.total >= FIXED_POINT_PROGRESS * max(abs(old.total), 1e-9)


def _running_mean(mean: Corrections, latest: Corrections, rounds: int) -> Corrections:
    """The mean of ``rounds`` rounds' corrections from that of the first ``rounds − 1``
    (``mean``) and the latest: the tables move less each round, which damps the
    two-cycles a pure fixed point falls into (a plan over-staffs where the previous
    one under-staffed)."""
    out: dict[tuple[int, int], tuple[float, float, float]] = {}
    for key, now in latest.items():
        before = mean.get(key, (0.0, 0.0, 0.0))
        a, b, c = ((x * (rounds - 1) + y) / rounds for x, y in zip(before, now, strict=True))
        out[key] = (a, b, c)
    return out


def _filled(problem: AllocationProblem, counts: Counts, called: dict[int, int]) -> Counts:
    """``counts`` with the idle agents placed by the stationary tie-break
    (:func:`~optistaff.disaggregate.fill_idle`), counted by ``problem``'s groups again."""
    assignment, _ = disaggregate(problem, counts, called)
    assignment = fill_idle(problem, assignment)  # (who is who does not change the counts)
    group_at = {
        (a, t): g.index
        for g in problem.groups
        for t, ok in enumerate(g.available)
        if ok
        for a in g.members
    }
    out: Counts = {}
    for (agent, t), q in assignment.items():
        if q is not None:
            key = (group_at[(agent, t)], q, t)
            out[key] = out.get(key, 0) + 1
    return out


def _cost(problem: AllocationProblem, called: dict[int, int]) -> float:
    return math.fsum(problem.groups[g].cost_if_called * k for g, k in called.items())


def _switching(problem: AllocationProblem, counts: Counts, called: dict[int, int]) -> float:
    """Penalty × the switches of the plan named from ``counts`` (identity groups)."""
    penalty = problem.scenario.policy.switch_penalty
    if penalty <= 0:
        return 0.0
    assignment, _ = disaggregate(problem, counts, called)
    switches = sum(
        1
        for (agent, t), q in assignment.items()
        if q is not None and assignment.get((agent, t + 1)) not in (None, q)
    )
    return penalty * switches


def _curves(problem: AllocationProblem) -> list[QueueCurves]:
    """The stationary curves of ``problem``'s tables (kept by ``build_problem``)."""
    if problem.curves is not None:
        return list(problem.curves)
    return queue_curves(problem.scenario, {k: problem.max_agents(*k) for k in problem.tables})


def solve_carry_over(
    problem: AllocationProblem,
    *,
    identity: AllocationProblem | None = None,
    time_limit_s: float,
    mip_gap: float,
    threads: int,
    seed: int,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> SolverResult:
    """The best plan this strategy finds for the time-varying objective (module
    docstring); counts refer to ``identity``'s groups when given, else ``problem``'s."""
    start = time.monotonic()
    begun = clock.now()  # (optistaff.solvers.clock: seconds, or work)
    deadline = begun + time_limit_s
    final = identity if identity is not None else problem
    scorer = DayScorer(problem)
    phase = ["time-varying search: stationary start"]
    known = [math.nan]  # the best plan's time-varying weighted shortfall so far

    def relay(event: Progress) -> None:
        """The inner solves' progress, named by the phase of the search."""
        if progress is None:
            return
        if event.stage == "intervals":  # (the search's best, not the inner solve's)
            event = replace(event, stage="time_varying", objective=known[0])
        progress(replace(event, phase=phase[0]))

    def report(text: str, best: Score | None) -> None:
        phase[0] = text
        known[0] = best.shortfall if best is not None else math.nan
        if progress is not None:
            elapsed = time.monotonic() - start
            progress(Progress("time_varying", known[0], math.nan, elapsed, phase=text))

    def solve(p: AllocationProblem, ident: AllocationProblem | None, limit: float) -> SolverResult:
        return solve_allocation(
            p,
            identity=ident,
            time_limit_s=max(limit, 0.01),
            mip_gap=mip_gap,
            threads=threads,
            seed=seed,
            progress=relay,
            stop=stop,
        )

    first = solve(problem, identity, START_SHARE * time_limit_s)
    if first.status == SolveStatus.INFEASIBLE:
        return replace(first, decomposition=f"{first.decomposition}; carry-over")

    def scored(res: SolverResult) -> tuple[Score, IntArray, Counts]:
        """The exact score of ``res``'s counts with the idle agents placed as the
        stationary pipeline places them (:func:`~optistaff.disaggregate.fill_idle`; for
        the start, that is the stationary plan itself). A placement that hurts the day
        is for the local search to take back."""
        counts = _filled(final, res.counts, res.called_in)
        n = staffing(final, counts)
        cost = _cost(final, res.called_in)
        return scorer.score(n, cost, _switching(final, counts, res.called_in)), n, counts

    best = first
    best_score, best_n, best_counts = scored(first)
    rounds = 0
    current_n = best_n
    curves = _curves(problem)
    id_curves = None if identity is None else _curves(identity)
    history: Corrections | None = None
    stale = 0
    while rounds < FIXED_POINT_ROUNDS and not _out_of_time(deadline, stop, begun, 0.25):
        rounds += 1
        report(f"time-varying search, round {rounds}/{FIXED_POINT_ROUNDS}", best_score)
        latest = corrections(scorer, current_n)
        fix = latest if history is None else _running_mean(history, latest, rounds)
        history = fix
        p = replace(problem, tables=tables_of(problem.scenario, curves, fix))
        ident = None
        if identity is not None and id_curves is not None:
            ident = replace(identity, tables=tables_of(identity.scenario, id_curves, fix))
        left = deadline - clock.now()
        res = solve(p, ident, left * 0.5)
        if res.status == SolveStatus.INFEASIBLE:
            break
        score, n, counts = scored(res)
        if better(score, best_score, scorer.priced):
            stale = 0 if _progress(score, best_score, scorer.priced) else stale + 1
            best, best_score, best_n, best_counts = res, score, n, counts
        else:
            stale += 1
        if stale >= FIXED_POINT_PATIENCE:
            break  # the last rounds found nothing better
        if np.array_equal(n, current_n):
            break  # the plan came back: the running mean no longer moves it
        current_n = n

    counts, called = dict(best_counts), dict(best.called_in)
    searched = 0
    if identity is None and problem.scenario.policy.switch_penalty <= 0:
        counts, best_score, searched = _local_search(
            problem, scorer, counts, called, best_score, deadline, stop, report
        )
    method = f"{first.decomposition}; carry-over fixed point ({rounds} rounds)"
    if searched:
        method += f" + local search ({searched} moves)"
    return SolverResult(
        status=SolveStatus.FEASIBLE,
        counts=counts,
        called_in=called,
        bound=None,
        gap=None,
        shortfall_bound=None,
        backend=first.backend,
        decomposition=method,
        stats={
            "wall_s": time.monotonic() - start,
            "fixed_point_rounds": rounds,
            "queue_days_evaluated": scorer.evaluations,
            "time_varying_shortfall": best_score.shortfall,
            "time_varying_total": best_score.total,
        },
    )


def _out_of_time(deadline: float, stop: threading.Event | None, start: float, share: float) -> bool:
    """True when stopped, or when less than ``share`` of the time used so far is left."""
    now = clock.now()
    if stop is not None and stop.is_set():
        return True
    return deadline - now < share * (now - start)


# (group, from queue or -1 idle, to queue or -1 idle, interval, agents moved)
Move = tuple[int, int, int, int, int]


def _moves(problem: AllocationProblem, counts: Counts, t: int) -> list[Move]:
    """Every change of one or two agents of a group in interval ``t`` (fixed order: the
    number moved, group, from, to): idle members start on one of its queues, members
    leave a queue (idle), or move to another of its queues. Two at once crosses the
    valleys a single move cannot (an Erlang C queue answers little with one agent
    fewer, but much with two more)."""
    out: list[Move] = []
    for g in problem.groups:
        if not g.available[t] or g.optional or t in g.pinned:
            continue
        placed = {q: counts.get((g.index, q, t), 0) for q in g.skills}
        idle = g.size - sum(placed.values())
        held = {**placed, -1: idle}
        for step in (1, 2):
            for a in [*g.skills, -1]:
                if held[a] < step:
                    continue
                for b in [*g.skills, -1]:
                    if b != a and (b == -1 or g.index in problem.eligible.get((b, t), ())):
                        out.append((g.index, a, b, t, step))
    return out


def _apply(counts: Counts, move: Move) -> None:
    g, a, b, t, k = move
    if a >= 0:
        counts[(g, a, t)] -= k
        if counts[(g, a, t)] == 0:
            del counts[(g, a, t)]
    if b >= 0:
        counts[(g, b, t)] = counts.get((g, b, t), 0) + k


def _local_search(
    problem: AllocationProblem,
    scorer: DayScorer,
    counts: Counts,
    called: dict[int, int],
    score: Score,
    deadline: float,
    stop: threading.Event | None,
    report: Callable[[str, Score], None] | None = None,
) -> tuple[Counts, Score, int]:
    """First-improvement descent over :func:`_moves`, interval by interval, until a whole
    pass improves nothing, ``SEARCH_WORK`` is spent, or time is up.
    Returns the counts, their score and the number of moves taken; ``report(phase,
    best)`` is told of every interval the descent reaches."""
    cost = _cost(problem, called)
    n = staffing(problem, counts)
    taken = 0
    budget = scorer.work + SEARCH_WORK
    exhausted: Callable[[], bool] = lambda: (  # noqa: E731
        scorer.work >= budget or clock.now() >= deadline or (stop is not None and stop.is_set())
    )
    improved = True
    while improved and not exhausted():
        improved = False
        for t in range(problem.n_intervals):
            if report is not None:
                report(f"time-varying search, agent moves ({taken} taken)", score)
            for move in _moves(problem, counts, t):
                if exhausted():
                    return counts, score, taken
                _g, a, b, _t, k = move
                if a >= 0:
                    n[a, t] -= k
                if b >= 0:
                    n[b, t] += k
                trial = scorer.score(n, cost)
                if better(trial, score, scorer.priced):
                    _apply(counts, move)
                    score = trial
                    taken += 1
                    improved = True
                    break  # the moves of t change with the counts: list them again
                if a >= 0:
                    n[a, t] += k
                if b >= 0:
                    n[b, t] -= k
    return counts, score, taken
