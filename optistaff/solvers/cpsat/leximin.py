"""The CP-SAT side of the equity objective (``policy.objective: equity``,
``models/16-equity.md``): one horizon model whose queues' service levels are linear in
the one-hot staffing literals, the sums θ_k of the k lowest of them, and the solves the
leximin strategy (:mod:`optistaff.solvers.leximin`) asks of it.

Service level of queue q over the horizon, with C_q = Σ_t λ(q,t) > 0:

    SL_q = Σ_t Σ_k a(q,t,k)·u[q,t,k] / C_q        a(q,t,k) = λ(q,t)·SL(q,t,k)

scaled by ``RESOLUTION`` R and rounded per coefficient: sl_q = Σ round(R·a/C_q)·u.
The rounding moves SL_q by at most ``rounding(q)`` = (cells of q)/(2R); every level
the strategy proves carries that error into its tolerance.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from optistaff.formulation import AllocationProblem
from optistaff.solvers.cpsat.families import (
    CpsatModel,
    build_model,
    extract_plan,
    hint_solution,
    linear_sum,
    shortfall_expr,
)
from optistaff.solvers.cpsat.runner import Runner
from optistaff.solvers.results import Counts
from optistaff.solvers.scaling import Scales

#: Service levels are scaled by R = 1e10 in the model (rounding ≤ cells/(2R) per queue:
#: 2.8e-9 for 56 intervals, under the 1e-9-relative tolerance's absolute floor below).
RESOLUTION = 10**10

#: θ_k is written over every set of k queues while there are at most this many sets
#: (all k for up to 11 queues); above, by its dual with t and d (``cumulative``).
SUBSETS = 500


@dataclass(frozen=True)
class Solved:
    """One solve's outcome: ``proven`` (within its tolerance), the objective and its
    bound in model units and every queue's sl in the plan found (None, None, {}: no
    plan found in time)."""

    proven: bool
    value: int | None
    bound: int | None
    sl: dict[int, int]


class LeximinModel:
    """The horizon model of ``problem`` (scaled by ``scales``), the service-level
    expressions, and the plan found so far as the hint of every solve (at first
    ``counts``, ``called``: ``start_shortfall`` is its scaled level 1)."""

    def __init__(
        self,
        problem: AllocationProblem,
        scales: Scales,
        counts: Counts,
        called: dict[int, int],
        runner: Runner,
    ) -> None:
        self.problem, self.runner, self.scales = problem, runner, scales
        b = build_model(problem, range(problem.n_intervals), scales)
        hint_solution(b, problem, counts, called, scales)
        assert b.hint_objectives is not None
        self.start_shortfall = b.hint_objectives[0]
        self.b: CpsatModel = b
        self.model = b.model
        self.sl: dict[int, Any] = {}
        self.constant: dict[int, int] = {}
        self.cells: dict[int, int] = {}
        calls = {q: math.fsum(problem.scenario.queues[q].forecast) for q in range(problem.n_queues)}
        terms: dict[int, list[Any]] = {}
        for tab in b.cells:
            q = tab.cell.queue
            if calls[q] <= 0:
                continue
            ints = np.rint(tab.cell.answered * (RESOLUTION / calls[q])).astype(np.int64)
            self.cells[q] = self.cells.get(q, 0) + 1
            self.constant[q] = self.constant.get(q, 0) + int(ints[0])
            if tab.literals:
                terms.setdefault(q, []).extend(
                    int(c - ints[0]) * lit
                    for c, lit in zip(ints, tab.literals, strict=True)
                    if c != ints[0]
                )
        self.queues = sorted(self.cells)
        for q in self.queues:
            self.sl[q] = linear_sum(terms.get(q, [])) + self.constant[q]
        self.best: tuple[Counts, dict[int, int]] = (dict(counts), dict(called))
        self._levels = 0
        self._theta: dict[int, Any] = {}
        self._sl_vars: dict[int, Any] = {}

    # -- what the strategy asks -----------------------------------------------------

    def start_from(self, counts: Counts, called: dict[int, int]) -> None:
        """Hint ``counts``, ``called`` (a better plan than the one hinted so far)."""
        hint_solution(self.b, self.problem, counts, called, self.scales)
        self.best = (dict(counts), dict(called))

    def shortfall_constant(self) -> float:
        """The weighted shortfall the scaled expression leaves out (objective units)."""
        return shortfall_expr(self.b, self.scales.shortfall)[1] if self.scales.shortfall else 0.0

    def hold_shortfall(self, cap: int) -> None:
        """Level 1 held: the scaled weighted shortfall ≤ ``cap`` from now on."""
        if self.scales.shortfall > 0:
            self.model.add(shortfall_expr(self.b, self.scales.shortfall)[0] <= cap)

    def rounding(self, q: int) -> float:
        """The most the model's SL of queue q can differ from the true one."""
        return self.cells.get(q, 0) / (2 * RESOLUTION)

    def cumulative(self, k: int) -> Any:
        """θ_k, the sum of the k lowest sl (``models/16-equity.md``). While there are at
        most :data:`SUBSETS` sets of k queues: z ≤ Σ_{q∈S} sl_q for every such S (θ_1:
        z ≤ sl_q), the form that only ever propagates on the staffing literals. Else at
        its maximum over t and d, k·t − Σ_q d_q with d_q ≥ t − sl_q, d_q ≥ 0 equals it
        (the dual of the k-smallest sum); there, held at a level, CP-SAT can push t and
        the d_q up a few units per round for some 1e9 rounds (:data:`LEXIMIN_TUNING`).
        New variables are hinted at the plan found so far."""
        if k in self._theta:
            return self._theta[k]
        model = self.model
        current = sorted(self.sl_of(self.best[0]).values())
        m = len(self.queues)
        if math.comb(m, k) <= SUBSETS:
            z = model.new_int_var(0, 2 * k * RESOLUTION, f"theta_{k}")
            model.add_hint(z, sum(current[:k]))
            level = self._level_vars() if k > 1 else self.sl
            for subset in itertools.combinations(self.queues, k):
                model.add(z <= linear_sum([level[q] for q in subset]))
            self._theta[k] = z
            return z
        # (the old linear propagation for the model from now on: with the new one and
        # probing off, one of the two days below still looped in the dual form)
        self.runner.tuning = {**self.runner.tuning, "new_linear_propagation": False}
        t = model.new_int_var(0, 2 * RESOLUTION, f"theta_t_{k}")
        now = self.sl_of(self.best[0])
        t_hint = current[k - 1]
        model.add_hint(t, t_hint)
        ds = []
        for q in self.queues:
            d = model.new_int_var(0, 2 * RESOLUTION + 2 * abs(self.constant[q]), f"theta_d_{k}_{q}")
            model.add(d >= t - self.sl[q])
            model.add_hint(d, max(0, t_hint - now[q]))
            ds.append(d)
        self._theta[k] = k * t - linear_sum(ds)
        return self._theta[k]

    def _level_vars(self) -> dict[int, Any]:
        """Every queue's sl as one integer variable (s_q = sl_q), so that the subset
        sums of ``cumulative`` have m terms each, not the staffing literals of k
        queues."""
        if not self._sl_vars:
            current = self.sl_of(self.best[0])
            for q in self.queues:
                v = self.model.new_int_var(-(2**40), 2**40, f"sl_{q}")
                self.model.add(v == self.sl[q])
                self.model.add_hint(v, current[q])
                self._sl_vars[q] = v
        return self._sl_vars

    def max_cumulative(self, k: int, time_limit_s: float, tol: int) -> Solved:
        """max θ_k under the levels held so far, within ``tol``."""
        self.model.maximize(self.cumulative(k))
        return self._run(time_limit_s, tol, True)

    def hold_cumulative(self, k: int, level: int) -> None:
        """θ_k ≥ ``level`` from now on."""
        self.model.add(self.cumulative(k) >= level)

    def min_cost(self, time_limit_s: float) -> Solved | None:
        """Level 3: least cost of the called-in agents plus switching (scaled by
        ``scales.value``); None when nothing costs anything."""
        p, b, scales = self.problem, self.b, self.scales
        terms: list[Any] = []
        for g, zg in b.z.items():
            c = round(scales.value * p.groups[g].cost_if_called)
            if c and not isinstance(zg, int):
                terms.append(c * zg)
        penalty = round(scales.value * p.scenario.policy.switch_penalty)
        if penalty:
            terms.extend(penalty * s for s in b.switches.values())
        if not terms:
            return None
        self.model.minimize(linear_sum(terms))
        return self._run(time_limit_s, 0, False)

    def sl_of(self, counts: Counts) -> dict[int, int]:
        """The model's (scaled, rounded) sl of every queue for ``counts``."""
        n: dict[tuple[int, int], int] = {}
        for (_g, q, t), k in counts.items():
            n[(q, t)] = n.get((q, t), 0) + k
        out = dict(self.constant)
        for tab in self.b.cells:
            q = tab.cell.queue
            if q not in out:
                continue
            calls = math.fsum(self.problem.scenario.queues[q].forecast)
            ints = np.rint(tab.cell.answered * (RESOLUTION / calls)).astype(np.int64)
            k = n.get((q, tab.cell.interval), 0)
            out[q] += int(ints[k] - ints[0])
        return out

    # -- one solve ------------------------------------------------------------------

    def _run(self, time_limit_s: float, tol: int, maximise: bool) -> Solved:
        """Solve the model as it stands; a plan found becomes the next solves' hint."""
        solver, res = self.runner.run(self.model, time_limit_s, 0.0, float(tol), None)
        if res.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Solved(False, None, None, {})
        self.best = extract_plan(self.b, solver)
        sl = {q: int(solver.value(self.sl[q])) for q in self.queues}
        self._hint(solver)
        value = round(res.objective)
        bound = math.floor(res.bound + 1e-6) if maximise else math.ceil(res.bound - 1e-6)
        proven = res.status == cp_model.OPTIMAL or abs(bound - value) <= tol
        return Solved(proven, value, bound, sl)

    def _hint(self, solver: cp_model.CpSolver) -> None:
        """Every variable of the model hinted at ``solver``'s solution (the next solve
        starts from the plan found so far)."""
        model = self.model
        model.clear_hints()
        for i in range(len(model.proto.variables)):
            var = model.get_int_var_from_proto_index(i)
            model.add_hint(var, solver.value(var))
