"""One interval of a day plan solved again exactly, the rest of the day held
(``models/05-optional-and-switches.md``, "Released by re-solving").

A plan stopped by the time limit often keeps overtime that a better placement of the
others would not need: in the plan itself, taking the member out raises some cell's
shortfall, so the plain release (``optional_agents.release_unneeded``) keeps it. Here
every interval the member works in is solved again without it by the exact interval
search (note 10), over the plans that keep level 1 where it is:

* each cell's weighted shortfall at most the plan's there: n_c ≥ the least n whose
  shortfall is at most the plan's (the tables never rise with n; checked);
* each cell of a queue with a daily minimum at least the plan's n (its answered calls
  never fall), so no daily deficit grows;

maximising the cells' value less a price on switching: with the neighbouring intervals
held, a member of a one-agent group placed on q costs the penalty once for each
neighbour in which it works another queue, exactly the switches it adds there (a larger
group is priced the same way where all its members work that neighbour elsewhere, a
guide; the acceptance below counts every switch exactly). The new intervals are kept
when, by the exact tables and the contract's least number of switches per group,
value − switching + the member's cost rises. Level 1 never rises, so the plan stays
within what its bounds said; its figures are recomputed by the evaluation anyway.

The same check judges the other moves here: each interval re-solved in turn with its
neighbours held (:func:`improve_switching`), and each agent who can switch put back on
its best path over the whole day, everyone else held (:func:`reroute_agents`, "Rerouted").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from optistaff.formulation import AllocationProblem
from optistaff.solvers import clock, interval_search
from optistaff.solvers.optional_agents import fewer
from optistaff.solvers.scaling import Scales

#: Nodes per re-solve (the search's plan is kept when it stops; it is then only a
#: candidate, judged like any other).
NODES = 64

#: What a table may move against its direction by rounding alone (relative): the floors
#: stay boxes; the checks after every re-solve are exact.
_NOISE = 1e-9

#: interval -> group -> {queue: members} (every interval of the day has an entry)
Placement = list[dict[int, dict[int, int]]]


def by_interval(counts: Mapping[tuple[int, int, int], int], intervals: int) -> Placement:
    """``counts`` ((group, queue, interval) -> members) indexed by interval, then group."""
    out: Placement = [{} for _ in range(intervals)]
    for (g, q, t), k in counts.items():
        if k:
            per_q = out[t].setdefault(g, {})
            per_q[q] = per_q.get(q, 0) + k
    return out


def group_switches(a: Mapping[int, int], b: Mapping[int, int], cap: int) -> int:
    """The least switches of a group of ``cap`` working members between two consecutive
    intervals where it works ``a`` then ``b`` (queue -> members): Σ_q max(a_q, b_q) − cap,
    at least 0 (``models/02-aggregation.md``)."""
    total = sum(max(a.get(q, 0), b.get(q, 0)) for q in set(a) | set(b))
    return max(0, total - cap)


def _switch(placed: Placement, caps: Mapping[int, int], g: int, a: int) -> int:
    """The least switches of group g between intervals a and a + 1."""
    got, other = placed[a].get(g), placed[a + 1].get(g)
    return group_switches(got, other, caps[g]) if got and other else 0


def _group_switches(placed: Placement, caps: Mapping[int, int], g: int) -> int:
    """The least switches of group g over the day."""
    total = 0
    for a in range(len(placed) - 1):
        got, other = placed[a].get(g), placed[a + 1].get(g)
        if got and other:
            total += group_switches(got, other, caps[g])
    return total


def _staffing(placed: Placement, t: int) -> dict[int, int]:
    n: dict[int, int] = {}
    for got in placed[t].values():
        for q, k in got.items():
            n[q] = n.get(q, 0) + k
    return n


def daily_margin(p: AllocationProblem, placed: Placement) -> dict[int, float]:
    """Per queue with a daily minimum: the day's answered calls less its target (below
    0: a deficit)."""
    margin = {q: -target for q, target in p.daily.items()}
    for t in range(len(placed)):
        n = _staffing(placed, t)
        for q in margin:
            cell = p.tables.get((q, t))
            if cell is not None:
                margin[q] += float(cell.answered[n.get(q, 0)])
    return margin


def _margin_moved(
    p: AllocationProblem, margin: Mapping[int, float], t: int, old: Mapping[int, int],
    new: Mapping[int, int],
) -> dict[int, float]:  # fmt: skip
    """``margin`` after interval t's staffing went from ``old`` to ``new``."""
    out = dict(margin)
    for q in out:
        cell = p.tables.get((q, t))
        if cell is not None:
            out[q] += float(cell.answered[new.get(q, 0)]) - float(cell.answered[old.get(q, 0)])
    return out


def floors(
    p: AllocationProblem,
    data: interval_search.IntervalData,
    n: np.ndarray,
    margin: Mapping[int, float],
) -> np.ndarray | None:
    """Per cell of ``data``: the least staffing that keeps the cell's weighted shortfall at
    most its shortfall with ``n`` and, on a queue with a daily minimum, its answered calls
    at least n's less the day's margin above the target (n itself where there is none).
    None when some shortfall table rises or an answered table falls with n (the floor
    would not be a box)."""
    out = np.zeros(len(data.queues), dtype=np.int64)
    for c, q in enumerate(data.queues):
        cell = p.tables[(q, data.t)]
        s = cell.shortfall
        if s.size > 1 and bool(np.any(np.diff(s) > _NOISE * max(1.0, float(s.max())))):
            return None
        k = int(n[c])
        out[c] = int(np.argmax(s <= s[k]))  # (s falls: the first such n)
        if q in p.daily:
            a = cell.answered
            # (Erlang A's answered calls wobble by ~1e-13 where they are flat)
            if a.size > 1 and bool(np.any(np.diff(a) < -_NOISE * max(1.0, float(a.max())))):
                return None
            spare = margin.get(q, 0.0)
            # (a margin is spent with a little kept back: the check after is exact)
            least = a[k] - spare * (1 - 1e-9) if spare > 0 else a[k]
            out[c] = max(int(out[c]), int(np.argmax(a >= least)))
    return out


def resolve_interval(
    p: AllocationProblem,
    placed: Placement,
    caps: Mapping[int, int],
    t: int,
    scales: Scales,
    deadline: float,
    margin: Mapping[int, float] | None = None,
) -> dict[int, dict[int, int]] | None:
    """Interval t again: the members of each group at most ``caps`` (the cut ones as
    :func:`optional_agents.fewer` cuts them), every cell held at its plan's level 1 (module
    docstring), the most value less the switching guide. The new placement of every
    group in t (group -> {queue: members}); None when no plan keeps level 1 or the search
    cannot run."""
    cut = {g: k for g, k in caps.items() if k < p.groups[g].size}
    q_cut = fewer(p, cut) if cut else p
    data = interval_search.interval_data(q_cut, t, scales.shortfall, scales.value)
    if not data.queues:
        return None  # (nothing to solve; its pins stay as they are)
    staffing = _staffing(placed, t)
    n = np.array([staffing.get(q, 0) for q in data.queues], dtype=np.int64)
    least = floors(p, data, n, margin if margin is not None else daily_margin(p, placed))
    if least is None:
        return None
    penalty = round(p.scenario.policy.switch_penalty * scales.value)
    price = np.zeros(data.edge_group.size, dtype=np.int64)
    if penalty > 0:
        for e in range(data.edge_group.size):
            g = data.groups[int(data.edge_group[e])]
            q = data.queues[int(data.edge_cell[e])]
            for nb in (t - 1, t + 1):
                there = placed[nb].get(g) if 0 <= nb < len(placed) else None
                if there and q not in there and sum(there.values()) >= caps[g]:
                    price[e] += penalty
    found = interval_search.maximise(
        data,
        data.value,
        max(1, math.ceil(1e-9 * scales.value)),
        node_limit=NODES,
        deadline=deadline,
        floor=least,
        edge_cost=price if penalty > 0 else None,
    )
    if found is None:
        return None
    out: dict[int, dict[int, int]] = {}
    for (g, q, _t), k in interval_search.plan_counts(data, found.flows).items():
        if k:
            out.setdefault(g, {})[q] = out.get(g, {}).get(q, 0) + k
    return out


def release_by_resolving(
    p: AllocationProblem,
    counts: Mapping[tuple[int, int, int], int],
    called: Mapping[int, int],
    scales: Scales,
    deadline: float,
    stop: Callable[[], bool] | None = None,
) -> tuple[dict[tuple[int, int, int], int], dict[int, int], int]:
    """Called-in overtime released one member at a time (scenario order) where the
    intervals it works in, solved again without it (module docstring), keep level 1 and
    raise value − switching + its cost. The counts, the called-in counts and how many
    members were released. Pinned and pin-called groups are left."""
    placed = by_interval(counts, p.n_intervals)
    # (an optional group's members at work: those called in)
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    released = 0
    margin_now = daily_margin(p, placed)
    for g in p.groups:
        if not g.optional or g.called_in_by_pin or g.pinned:
            continue
        while caps[g.index] > 0:
            if clock.now() >= deadline or (stop is not None and stop()):
                return _counts(placed), _called(p, caps), released
            new_caps = dict(caps)
            new_caps[g.index] -= 1
            ts = [
                t
                for t in range(p.n_intervals)
                if sum(placed[t].get(g.index, {}).values()) > new_caps[g.index]
            ]
            trial = list(placed)
            margin = margin_now
            ok = True
            for t in ts:
                got = resolve_interval(p, trial, new_caps, t, scales, deadline, margin)
                if got is None:
                    ok = False
                    break
                margin = _margin_moved(p, margin, t, _staffing(trial, t), _sum_up(got))
                trial[t] = got
            if not ok:
                break
            gain = _gain(p, placed, trial, caps, new_caps, ts, g.index, margin_now)
            if gain + g.cost_if_called <= 1e-9 * max(1.0, g.cost_if_called):
                break
            placed, caps, margin_now = trial, new_caps, margin
            released += 1
    return _counts(placed), _called(p, caps), released


def improve_switching(
    p: AllocationProblem,
    counts: Mapping[tuple[int, int, int], int],
    called: Mapping[int, int],
    scales: Scales,
    deadline: float,
    stop: Callable[[], bool] | None = None,
    passes: int = 3,
) -> tuple[dict[tuple[int, int, int], int], int]:
    """Each interval solved again in turn (module docstring: level 1 held, the
    neighbours held, value less the switching guide), kept when value − switching rises;
    up to ``passes`` passes over the day, until a pass changes nothing. The counts and
    how many intervals changed."""
    placed = by_interval(counts, p.n_intervals)
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    margin = daily_margin(p, placed)
    changed = 0
    for _ in range(passes):
        before = changed
        for t in range(p.n_intervals):
            if clock.now() >= deadline or (stop is not None and stop()):
                return _counts(placed), changed
            got = resolve_interval(p, placed, caps, t, scales, deadline, margin)
            if got is None:
                continue
            trial = list(placed)
            trial[t] = got
            if _gain(p, placed, trial, caps, caps, [t], None, margin) > 1e-9:
                margin = _margin_moved(p, margin, t, _staffing(placed, t), _staffing(trial, t))
                placed = trial
                changed += 1
        if changed == before:
            break
    return _counts(placed), changed


def level2(
    p: AllocationProblem, counts: Mapping[tuple[int, int, int], int], called: Mapping[int, int]
) -> float:
    """The plan's level 2, value − cost − switching (objective units, exact tables,
    least switches per group): what the contract's model gives its counts."""
    placed = by_interval(counts, p.n_intervals)
    staffing = [_staffing(placed, t) for t in range(p.n_intervals)]
    value = math.fsum(float(cell.value[staffing[t].get(q, 0)]) for (q, t), cell in p.tables.items())
    cost = math.fsum(p.groups[g].cost_if_called * k for g, k in called.items())
    penalty = p.scenario.policy.switch_penalty
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    switches = sum(_group_switches(placed, caps, g) for g in caps) if penalty > 0 else 0
    return value - cost - penalty * switches


def reroute_agents(
    p: AllocationProblem,
    counts: Mapping[tuple[int, int, int], int],
    called: Mapping[int, int],
    deadline: float,
    stop: Callable[[], bool] | None = None,
    passes: int = 2,
) -> tuple[dict[tuple[int, int, int], int], int]:
    """Each agent who can switch and is a group of one (two skills or more, at work, no
    pins) taken out of the plan and put back on its best path over the day, everyone
    else held (``models/05-optional-and-switches.md``, "Rerouted"): a dynamic programme
    over its intervals whose states are its queue or idle, worth each cell's value with
    it less without it, less the penalty for each switch of its own path, over the
    choices that keep every interval's weighted shortfall at most the plan's. The path is
    kept when value − switching rises and no day's deficit grows (the exact check of the
    re-solves). Up to ``passes`` passes, until one changes nothing. The counts and how
    many paths changed."""
    T = p.n_intervals
    penalty = p.scenario.policy.switch_penalty
    placed = by_interval(counts, T)
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    movers = [
        g
        for g in p.groups
        if g.size == 1 and len(g.skills) > 1 and not g.pinned and caps[g.index] > 0
    ]
    margin = daily_margin(p, placed)
    # each interval's staffing and weighted shortfall, kept up to date
    staff = [_staffing(placed, t) for t in range(T)]
    short = [_shortfall(p, t, staff[t]) for t in range(T)]
    changed = 0
    for _ in range(passes):
        before = changed
        for g in movers:
            if clock.now() >= deadline or (stop is not None and stop()):
                return _counts(placed), changed
            path = _best_path(p, placed, staff, short, g.index, penalty)
            if path is None:
                continue
            trial = list(placed)
            ts = []
            for t, q in path.items():
                now = placed[t].get(g.index)
                was = next(iter(now)) if now else None
                if was == q:
                    continue
                got = {h: dict(v) for h, v in placed[t].items() if h != g.index}
                if q is not None:
                    got[g.index] = {q: 1}
                trial[t] = got
                ts.append(t)
            if not ts:
                continue
            if _gain(p, placed, trial, caps, caps, ts, None, margin) > 1e-9:
                for t in ts:
                    now_t = _staffing(trial, t)
                    margin = _margin_moved(p, margin, t, staff[t], now_t)
                    staff[t], short[t] = now_t, _shortfall(p, t, now_t)
                placed = trial
                changed += 1
        if changed == before:
            break
    return _counts(placed), changed


def _shortfall(p: AllocationProblem, t: int, n: Mapping[int, int]) -> float:
    """Interval t's weighted shortfall (its cells) with staffing ``n``."""
    return math.fsum(
        float(p.tables[(q, t)].shortfall[k]) for q, k in n.items() if (q, t) in p.tables
    )


def _best_path(
    p: AllocationProblem,
    placed: Placement,
    staff: list[dict[int, int]],
    short: list[float],
    g: int,
    penalty: float,
) -> dict[int, int | None] | None:
    """Agent g's best queue (None: idle) in each interval it is available, the others
    held: the most Σ_t (value of its cell with it − without it) − penalty × its switches
    (consecutive intervals at work on different queues), each interval's weighted
    shortfall at most the plan's. None when its path is already the best."""
    group = p.groups[g]
    ts = [t for t, ok in enumerate(group.available) if ok]
    # per interval: the choices (None first) and what each is worth
    choices: list[list[int | None]] = []
    worth: list[list[float]] = []
    current: list[int | None] = []
    for t in ts:
        mine = placed[t].get(g)
        here = next(iter(mine)) if mine else None
        current.append(here)
        n = staff[t]
        short_now = short[t]
        base = short_now
        mine_cell = p.tables.get((here, t)) if here is not None else None
        if here is not None and mine_cell is not None:
            k_here = n[here]
            base += float(mine_cell.shortfall[k_here - 1]) - float(mine_cell.shortfall[k_here])
        opts: list[int | None] = [None]
        vals = [0.0]
        for q in group.skills:
            cell = p.tables.get((q, t))
            if cell is None or g not in p.eligible.get((q, t), ()):
                continue
            k = n.get(q, 0) - (1 if q == here else 0)  # (without it)
            if k + 1 >= cell.shortfall.size:
                continue
            with_it = base - float(cell.shortfall[k]) + float(cell.shortfall[k + 1])
            if with_it > short_now + 1e-12 * max(1.0, short_now):
                continue  # (this interval's weighted shortfall would rise)
            opts.append(q)
            vals.append(float(cell.value[k + 1]) - float(cell.value[k]))
        if base > short_now + 1e-12 * max(1.0, short_now):
            # idle would raise it: only the queues that keep it
            opts, vals = opts[1:], vals[1:]
        if not opts:
            return None
        choices.append(opts)
        worth.append(vals)
    if not ts:
        return None

    def switch(a: int | None, b: int | None) -> float:
        return penalty if a is not None and b is not None and a != b else 0.0

    # the best path's worth ending in each choice of the interval, and where it came from
    best = list(worth[0])
    back: list[list[int]] = [[-1] * len(worth[0])]
    for i in range(1, len(ts)):
        linked = ts[i] == ts[i - 1] + 1  # (a break in between: no switch)
        row, came = [], []
        for j, choice in enumerate(choices[i]):
            scores = [
                best[k] - (switch(o, choice) if linked else 0.0)
                for k, o in enumerate(choices[i - 1])
            ]
            k = int(np.argmax(scores))
            row.append(scores[k] + worth[i][j])
            came.append(k)
        best, back = row, [*back, came]
    j = int(np.argmax(best))
    path: list[int | None] = []
    for i in range(len(ts) - 1, -1, -1):
        path.append(choices[i][j])
        j = back[i][j]
    path.reverse()
    # the current path, scored the same way (when it is among the choices)
    old = 0.0
    for i, here in enumerate(current):
        if here not in choices[i]:
            old = -math.inf
            break
        old += worth[i][choices[i].index(here)]
        if i and ts[i] == ts[i - 1] + 1:
            old -= switch(current[i - 1], here)
    new = max(best)
    if new <= old + 1e-9 * max(1.0, abs(old)):
        return None
    return dict(zip(ts, path, strict=True))


def _sum_up(got: Mapping[int, Mapping[int, int]]) -> dict[int, int]:
    n: dict[int, int] = {}
    for per_q in got.values():
        for q, k in per_q.items():
            n[q] = n.get(q, 0) + k
    return n


def _gain(
    p: AllocationProblem,
    old: Placement,
    new: Placement,
    old_caps: Mapping[int, int],
    new_caps: Mapping[int, int],
    ts: list[int],
    member_group: int | None,
    margin: Mapping[int, float] | None = None,
) -> float:
    """Value − switching of ``new`` less that of ``old`` (objective units, exact tables;
    the two differ in intervals ``ts`` only, and in ``member_group``'s cap), and −inf when
    ``new`` raises level 1: some cell's weighted shortfall in ``ts``, or some day's
    deficit (``margin``: ``old``'s :func:`daily_margin`, computed when not given)."""
    gain = 0.0
    was = margin if margin is not None else (daily_margin(p, old) if p.daily else {})
    now = dict(was)
    for t in ts:
        n_old, n_new = _staffing(old, t), _staffing(new, t)
        short_old = short_new = 0.0
        for q in set(n_old) | set(n_new):
            cell = p.tables.get((q, t))
            if cell is None:
                continue
            a, b = n_old.get(q, 0), n_new.get(q, 0)
            short_old += float(cell.shortfall[a])
            short_new += float(cell.shortfall[b])
            gain += float(cell.value[b]) - float(cell.value[a])
        if short_new > short_old + 1e-12 * max(1.0, short_old):
            return -math.inf
        if was:
            now = _margin_moved(p, now, t, n_old, n_new)
    # no day's deficit grows (the day's answered calls stay above the target, or do not
    # fall where they are below it)
    for q, m in was.items():
        if now[q] < min(m, 0.0) - 1e-12 * max(1.0, p.daily[q]):
            return -math.inf
    penalty = p.scenario.policy.switch_penalty
    if penalty > 0:
        pairs = sorted({a for t in ts for a in (t - 1, t) if 0 <= a < len(old) - 1})
        before = after = 0
        for a in pairs:
            # only the groups placed differently in a or a + 1 count
            moved = {
                g
                for b in (a, a + 1)
                for g in set(old[b]) | set(new[b])
                if old[b].get(g) != new[b].get(g) and g != member_group
            }
            for g in moved:
                before += _switch(old, old_caps, g, a)
                after += _switch(new, new_caps, g, a)
        if member_group is not None:  # its cap changed: every transition of it counts
            before += _group_switches(old, old_caps, member_group)
            after += _group_switches(new, new_caps, member_group)
        gain -= penalty * (after - before)
    return gain


def _counts(placed: Placement) -> dict[tuple[int, int, int], int]:
    return {
        (g, q, t): k
        for t, groups in enumerate(placed)
        for g, got in groups.items()
        for q, k in got.items()
        if k
    }


def _called(p: AllocationProblem, caps: Mapping[int, int]) -> dict[int, int]:
    return {g.index: caps[g.index] for g in p.groups if g.optional and caps[g.index] > 0}
