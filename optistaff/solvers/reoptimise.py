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

#: (group, interval) -> {queue: members}
Placement = dict[tuple[int, int], dict[int, int]]


def by_group(counts: Mapping[tuple[int, int, int], int]) -> Placement:
    """``counts`` ((group, queue, interval) -> members) indexed by (group, interval)."""
    out: Placement = {}
    for (g, q, t), k in counts.items():
        if k:
            out.setdefault((g, t), {})[q] = out.get((g, t), {}).get(q, 0) + k
    return out


def group_switches(a: Mapping[int, int], b: Mapping[int, int], cap: int) -> int:
    """The least switches of a group of ``cap`` working members between two consecutive
    intervals where it works ``a`` then ``b`` (queue -> members): Σ_q max(a_q, b_q) − cap,
    at least 0 (``models/02-aggregation.md``)."""
    total = sum(max(a.get(q, 0), b.get(q, 0)) for q in set(a) | set(b))
    return max(0, total - cap)


def switches_around(
    placed: Placement, caps: Mapping[int, int], groups: set[int], ts: set[int]
) -> int:
    """The least switches of ``groups`` over the transitions into and out of ``ts``."""
    pairs = {(t - 1, t) for t in ts} | {(t, t + 1) for t in ts}
    total = 0
    for g in groups:
        for a, b in pairs:
            got_a, got_b = placed.get((g, a)), placed.get((g, b))
            if got_a and got_b:
                total += group_switches(got_a, got_b, caps[g])
    return total


def floors(
    p: AllocationProblem, data: interval_search.IntervalData, n: np.ndarray
) -> np.ndarray | None:
    """Per cell of ``data``: the least staffing that keeps the cell's weighted shortfall at
    most its shortfall with ``n`` (and, on a queue with a daily minimum, n itself). None
    when some shortfall table rises with n (the floor would not be a box)."""
    out = np.zeros(len(data.queues), dtype=np.int64)
    for c, q in enumerate(data.queues):
        cell = p.tables[(q, data.t)]
        s = cell.shortfall
        if s.size > 1 and bool(np.any(np.diff(s) > 0)):
            return None
        k = int(n[c])
        if q in p.daily:
            out[c] = k
        else:
            out[c] = int(np.argmax(s <= s[k]))  # (s falls: the first such n)
    return out


def resolve_interval(
    p: AllocationProblem,
    placed: Placement,
    caps: Mapping[int, int],
    t: int,
    scales: Scales,
    deadline: float,
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
    cell_of = {q: c for c, q in enumerate(data.queues)}
    n = np.zeros(len(data.queues), dtype=np.int64)
    for (_g, tt), got in placed.items():
        if tt == t:
            for q, k in got.items():
                if q in cell_of:
                    n[cell_of[q]] += k
    least = floors(p, data, n)
    if least is None:
        return None
    penalty = round(p.scenario.policy.switch_penalty * scales.value)
    price = np.zeros(data.edge_group.size, dtype=np.int64)
    if penalty > 0:
        for e in range(data.edge_group.size):
            g = data.groups[int(data.edge_group[e])]
            q = data.queues[int(data.edge_cell[e])]
            for nb in (t - 1, t + 1):
                there = placed.get((g, nb))
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
    placed = by_group(counts)
    # (an optional group's members at work: those called in)
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    released = 0
    for g in p.groups:
        if not g.optional or g.called_in_by_pin or g.pinned:
            continue
        while caps[g.index] > 0:
            if clock.now() >= deadline or (stop is not None and stop()):
                return _counts(placed), _called(p, caps), released
            new_caps = dict(caps)
            new_caps[g.index] -= 1
            ts = sorted(
                t
                for (gg, t), got in placed.items()
                if gg == g.index and sum(got.values()) > new_caps[g.index]
            )
            trial = dict(placed)
            ok = True
            for t in ts:
                got = resolve_interval(p, trial, new_caps, t, scales, deadline)
                if got is None:
                    ok = False
                    break
                for key in [k for k in trial if k[1] == t]:
                    del trial[key]
                for gg, per_q in got.items():
                    trial[(gg, t)] = per_q
            if not ok:
                break
            gain = _gain(p, placed, trial, caps, new_caps, set(ts), g.index)
            if gain + g.cost_if_called <= 1e-9 * max(1.0, g.cost_if_called):
                break
            placed, caps = trial, new_caps
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
    placed = by_group(counts)
    caps = {g.index: called.get(g.index, 0) if g.optional else g.size for g in p.groups}
    changed = 0
    for _ in range(passes):
        before = changed
        for t in range(p.n_intervals):
            if clock.now() >= deadline or (stop is not None and stop()):
                return _counts(placed), changed
            got = resolve_interval(p, placed, caps, t, scales, deadline)
            if got is None:
                continue
            trial = {k: v for k, v in placed.items() if k[1] != t}
            for g, per_q in got.items():
                trial[(g, t)] = per_q
            if _gain(p, placed, trial, caps, caps, {t}, None) > 1e-9:
                placed = trial
                changed += 1
        if changed == before:
            break
    return _counts(placed), changed


def _gain(
    p: AllocationProblem,
    old: Placement,
    new: Placement,
    old_caps: Mapping[int, int],
    new_caps: Mapping[int, int],
    ts: set[int],
    member_group: int | None,
) -> float:
    """Value − switching of ``new`` less that of ``old`` (objective units, exact tables),
    and −inf when ``new`` raises level 1 anywhere in ``ts``."""
    gain = 0.0
    for t in ts:
        n_old: dict[int, int] = {}
        n_new: dict[int, int] = {}
        for (_g, tt), got in old.items():
            if tt == t:
                for q, k in got.items():
                    n_old[q] = n_old.get(q, 0) + k
        for (_g, tt), got in new.items():
            if tt == t:
                for q, k in got.items():
                    n_new[q] = n_new.get(q, 0) + k
        short_old = short_new = 0.0
        for q in set(n_old) | set(n_new):
            cell = p.tables.get((q, t))
            if cell is None:
                continue
            a, b = n_old.get(q, 0), n_new.get(q, 0)
            short_old += float(cell.shortfall[a])
            short_new += float(cell.shortfall[b])
            if q in p.daily and float(cell.answered[b]) < float(cell.answered[a]):
                return -math.inf
            gain += float(cell.value[b]) - float(cell.value[a])
        if short_new > short_old + 1e-12 * max(1.0, short_old):
            return -math.inf
    penalty = p.scenario.policy.switch_penalty
    if penalty > 0:
        groups = {g for (g, t) in old if t in ts} | {g for (g, t) in new if t in ts}
        before = switches_around(old, old_caps, groups, ts)
        after = switches_around(new, new_caps, groups, ts)
        if member_group is None:
            return gain - penalty * (after - before)
        # the member's group: its cap changed, so every transition of it counts again
        whole = set(range(p.n_intervals))
        before += switches_around(old, old_caps, {member_group}, whole) - switches_around(
            old, old_caps, {member_group}, ts
        )
        after += switches_around(new, new_caps, {member_group}, whole) - switches_around(
            new, new_caps, {member_group}, ts
        )
        gain -= penalty * (after - before)
    return gain


def _counts(placed: Placement) -> dict[tuple[int, int, int], int]:
    return {(g, q, t): k for (g, t), got in placed.items() for q, k in got.items() if k}


def _called(p: AllocationProblem, caps: Mapping[int, int]) -> dict[int, int]:
    return {g.index: caps[g.index] for g in p.groups if g.optional and caps[g.index] > 0}
