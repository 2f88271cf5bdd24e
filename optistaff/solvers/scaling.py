"""Integer scales of the objectives (``models/06-objective.md``), solver-neutral.

CP-SAT and the interval search work on integers: every objective coefficient is the
exact float figure times a power-of-ten scale, rounded. The scale is chosen so that
the roundings of a whole objective cost at most ``WANTED_ERROR`` (well inside the
contract's tolerances, ``models/00-contract.md``), capped so that the scaled objective
and every coefficient stay where CP-SAT's arithmetic is exact. Both backends use the
same scales and the same n = 0 constants, so they rank plans identically. The plan's
reported objective is always recomputed from the assignment with the exact formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optistaff.formulation import AllocationProblem

# An integer objective of at most this magnitude keeps CP-SAT's int64 arithmetic and
# its LP (doubles) comfortably exact.
MAX_SCALED = 1e15
# Largest integer coefficient given to CP-SAT. CP-SAT 9.15's presolve returned wrong
# optima on models whose linear constraints had coefficients near 1e10 (reproduced in
# tests/test_solver_numerics.py); 2**30 keeps well clear of that.
MAX_COEFFICIENT = float(2**30)
# Wanted absolute rounding error of a whole objective, in objective units.
WANTED_ERROR = 1e-8


def choose_scale(upper_bound: float, n_terms: int, max_coefficient: float) -> float:
    """The scale that makes ``n_terms`` roundings cost at most ``WANTED_ERROR`` in total
    (a power of ten), capped so that ``upper_bound`` × scale stays below ``MAX_SCALED``
    and no coefficient exceeds ``MAX_COEFFICIENT`` (``models/06-objective.md``)."""
    wanted = 10.0 ** math.ceil(math.log10(max(1.0, 0.5 * max(n_terms, 1) / WANTED_ERROR)))
    cap = min(MAX_SCALED / max(upper_bound, 1.0), MAX_COEFFICIENT / max(max_coefficient, 1e-12))
    return max(min(wanted, cap), 1.0)


@dataclass(frozen=True)
class Magnitudes:
    """Upper bounds of the two objectives, their largest coefficients, and the number of
    rounded terms: what the scales are chosen from."""

    shortfall: float
    value: float
    shortfall_coefficient: float
    value_coefficient: float
    terms: int


def objective_magnitudes(p: AllocationProblem, ts: Sequence[int]) -> Magnitudes:
    """The magnitudes of the objectives over intervals ``ts``: each cell's largest
    shortfall and |value|, daily targets, every optional agent's cost and a switch per
    agent and interval (upper bounds), and the largest coefficient of each."""
    block = set(ts)
    cells = [c for (q, t), c in p.tables.items() if t in block]
    short = sum(float(np.max(c.shortfall)) for c in cells)
    short += sum(p.scenario.queues[q].weight * target for q, target in p.daily.items())
    value = sum(float(np.max(np.abs(c.value))) for c in cells)
    value += sum(g.cost_if_called * g.size for g in p.groups if g.optional)
    value += p.scenario.policy.switch_penalty * sum(g.size for g in p.groups) * len(ts)
    short_coef = max(
        [float(np.max(np.abs(c.shortfall - c.shortfall[0]))) for c in cells]
        + [
            p.scenario.queues[c.queue].weight * float(np.max(c.answered))
            for c in cells
            if c.queue in p.daily
        ]
        + [1.0]
    )
    value_coef = max(
        [float(np.max(np.abs(c.value - c.value[0]))) for c in cells]
        + [g.cost_if_called for g in p.groups if g.optional]
        + [p.scenario.policy.switch_penalty, 1e-12]
    )
    return Magnitudes(short, value, short_coef, value_coef, len(cells) + len(p.daily) + 1)


@dataclass(frozen=True)
class Scales:
    """Integer scales of the two objectives (``models/06-objective.md``)."""

    shortfall: float
    value: float


def choose_scales(p: AllocationProblem) -> Scales:
    """The scales of problem ``p`` (with a shortfall price, one objective: the shortfall
    scale is the value scale times the price)."""
    m = objective_magnitudes(p, range(p.n_intervals))
    price = p.scenario.policy.shortfall_price
    if price is not None:
        value = choose_scale(
            m.value + price * m.shortfall,
            m.terms,
            max(m.value_coefficient, price * m.shortfall_coefficient),
        )
        return Scales(shortfall=value * price, value=value)
    return Scales(
        choose_scale(m.shortfall, m.terms, m.shortfall_coefficient),
        choose_scale(m.value, m.terms, m.value_coefficient),
    )


def interval_constants(p: AllocationProblem, t: int, scales: Scales) -> tuple[float, float]:
    """The n = 0 constants of interval t's objectives (objective units), as
    ``shortfall_expr`` and ``value_expr`` count them for a one-interval model."""
    short = value = 0.0
    for q in range(p.n_queues):
        cell = p.tables.get((q, t))
        if cell is None:
            continue
        if cell.max_agents == 0:
            short += float(cell.shortfall[0])
            value += float(cell.value[0])
            continue
        if scales.shortfall > 0:
            short += float(np.rint(cell.shortfall[0] * scales.shortfall)) / scales.shortfall
        value += float(np.rint(cell.value[0] * scales.value)) / scales.value
    return short, value
