"""Level 2's ceiling with the switches priced (optistaff.solvers.value_ceiling,
``models/11-daily-lagrangian.md`` "Switching priced"), against brute force.

Random tiny days with a switch penalty (daily minimums, optional agents, pins): brute
force's lexicographic optimum x* (value − cost − switching, exhaustive over every
agent's queue in every interval) is below every ceiling the rounds report, whether
level 1 is priced (S_cap: the level-1 rounds' best plan) or each interval is held at
x*'s own shortfall (the at-the-floor form, with x*'s overtime called in). The
multipliers start tight at x* itself and step towards its total, so the rounds press
the ceiling against the optimum as hard as they can. A hand-made day shows that the
pricing does lower the ceiling below the best value regardless of switching.

Shown to fail (each by editing ``_Switches``): without the constant P·Σβ|g| the
ceiling falls below the optimum; so it does with β allowed up to 3 in the projection,
or with a_q allowed above β.
"""

from __future__ import annotations

import time
from dataclasses import replace

import brute
import numpy as np
import tiny
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from optistaff.formulation import AllocationProblem, build_problem
from optistaff.scenario import Scenario
from optistaff.solvers import daily_lagrangian, scaling, value_ceiling
from optistaff.solvers.optional_agents import fewer


def _counts(
    scenario: Scenario, p: AllocationProblem, truth: brute.Optimum
) -> tuple[dict[tuple[int, int, int], int], dict[int, int]]:
    """Brute force's decision as counts of ``p``'s groups, and its called-in counts."""
    group_of = {a: g.index for g in p.groups for a in g.members}
    qidx = {q.id: i for i, q in enumerate(scenario.queues)}
    counts: dict[tuple[int, int, int], int] = {}
    for (aid, t), q in truth.decision.items():
        if q is not None:
            key = (group_of[aid], qidx[q], t)
            counts[key] = counts.get(key, 0) + 1
    called: dict[int, int] = {}
    for aid in truth.called_in:
        called[group_of[aid]] = called.get(group_of[aid], 0) + 1
    return counts, called


def _interval_shortfall(
    p: AllocationProblem, counts: dict[tuple[int, int, int], int], scale: float
) -> dict[int, int]:
    """Each interval's scaled shortfall less its n = 0 value (ΔS, as the searches round
    it), of the staffing ``counts`` make."""
    n: dict[tuple[int, int], int] = {}
    for (_g, q, t), k in counts.items():
        n[(q, t)] = n.get((q, t), 0) + k
    out = dict.fromkeys(range(p.n_intervals), 0)
    for (q, t), cell in p.tables.items():
        if cell.max_agents > 0:
            s = np.rint(cell.shortfall * scale).astype(np.int64)
            out[t] += int(s[n.get((q, t), 0)] - s[0])
    return out


def _ceilings(
    p: AllocationProblem,
    scales: scaling.Scales,
    s_cap: int,
    cost: float,
    counts: dict[tuple[int, int, int], int],
    target: float,
    *,
    required: set[int],
    caps: dict[int, int] | None = None,
) -> list[float]:
    """Every ceiling the rounds report (objective units)."""
    constant = sum(scaling.interval_constants(p, t, scales)[1] for t in range(p.n_intervals))
    rounds = value_ceiling.ceiling_rounds(
        p,
        scales.shortfall,
        scales.value,
        constant,
        s_cap,
        cost,
        threads=1,
        deadline=time.monotonic() + 20,
        required=required,
        switching=counts,
        rounds_at_most=60,
        caps=caps,
        target=target,
    )
    return [got.ceiling for got in rounds]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=tiny.tiny_scenarios(allow_price=False), data=st.data())
def test_the_ceiling_with_switching_priced_is_above_brute_forces_optimum(
    scenario: Scenario, data: st.DataObject
) -> None:
    penalty = data.draw(st.sampled_from([0.2, 1.0, 5.0]))
    scenario = tiny.stationary(
        replace(scenario, policy=replace(scenario.policy, switch_penalty=penalty))
    )
    identity = build_problem(scenario)
    if not any(len(g.skills) > 1 for g in identity.groups):
        reject()  # nobody can switch
    scales = scaling.choose_scales(identity)
    if scales.shortfall <= 0:
        reject()
    try:
        truth = brute.optimum(scenario)
    except brute.TooBig:
        reject()
    counts, called = _counts(scenario, identity, truth)
    slack = (len(identity.tables) + len(identity.daily) + 1) / scales.value
    slack += brute.total_tolerance(truth.total)
    tol = int(np.ceil(0.5e-7 * scales.shortfall))
    checked = 0

    # level 1 priced: x*'s level 1 is at most any plan's, here x*'s own
    tables = daily_lagrangian.daily_tables(identity, scales.shortfall, scales.value)
    if tables.rhs:
        s_cap = daily_lagrangian.level1(tables, daily_lagrangian.staffing(counts)) + tol
        got = _ceilings(identity, scales, s_cap, 0.0, counts, truth.total, required=set())
        assert got
        assert all(truth.total <= c + slack for c in got), (truth.total, got)
        checked += 1

    # each interval held at x*'s own shortfall, x*'s overtime called in and paid whole
    optional = [g for g in identity.groups if g.optional]
    cut = {g.index: called.get(g.index, 0) for g in optional}
    on = fewer(identity, cut)
    caps = _interval_shortfall(identity, counts, scales.shortfall)
    cost = sum(g.cost_if_called * cut[g.index] for g in optional)
    got = _ceilings(
        on, scales, 0, cost, counts, truth.total, required={g.index for g in optional}, caps=caps
    )
    assert got
    assert all(truth.total <= c + slack for c in got), (truth.total, got)
    checked += 1
    assert checked >= 1


def test_pricing_the_switches_lowers_the_ceiling_towards_the_optimum() -> None:
    """At 5 per switch the optimum keeps r on b (it gives up less than 5 of value): the
    best value regardless of switching is above it by that loss, and the priced ceiling
    closes at least half of that (and stays above the optimum). Without the switches'
    prices the same rounds stay at the best value regardless of switching."""
    scenario = tiny.forced_switch_day(5.0)
    identity = build_problem(scenario)
    scales = scaling.choose_scales(identity)
    truth = brute.optimum(scenario)
    free = brute.optimum(replace(scenario, policy=replace(scenario.policy, switch_penalty=0.0)))
    assert truth.evaluation.switches == 0
    loss = free.total - truth.total
    assert 0.5 < loss < 5.0
    counts, _called = _counts(scenario, identity, truth)
    caps = _interval_shortfall(identity, counts, scales.shortfall)
    got = _ceilings(identity, scales, 0, 0.0, counts, truth.total, required=set(), caps=caps)
    slack = 1e-6 * abs(truth.total) + 10 / scales.value
    assert all(truth.total <= c + slack for c in got)
    assert min(got) <= truth.total + loss / 2, (min(got), truth.total, free.total)
    constant = sum(scaling.interval_constants(identity, t, scales)[1] for t in range(2))
    unpriced = value_ceiling.priced_ceiling(
        identity,
        scales.shortfall,
        scales.value,
        constant,
        0,
        0.0,
        threads=1,
        deadline=time.monotonic() + 20,
        caps=caps,
    )
    assert unpriced is not None
    assert abs(unpriced.ceiling - free.total) <= slack, (unpriced.ceiling, free.total)
