"""A general MIP solver on the per-interval problem: the reference of ``bench_startup.py``.

Deliberately written as a modeller would with HiGHS, not with optistaff's solvers. The
uncoupled day splits per interval (models/07-decomposition.md), so per interval t one
HiGHS model:

* y[g,q] ≥ 0 integer, for every group g of identical agents available in t (the pooled
  groups of ``build_problem(..., pooled=True)``) and skill q with calls in t;
  Σ_q y[g,q] ≤ |g|;
* ordered one-hot staffing binaries u[q,k], k = 0..N_q: Σ_k u[q,k] = 1 and
  Σ_g y[g,q] = Σ_k k·u[q,k], so each cell's tabulated figures are exact at integer n
  (no concavity needed);
* lexicographic: minimise S = Σ shortfall_q(k)·u[q,k]; then maximise V = Σ value_q(k)·
  u[q,k] with S ≤ S* + max(1e-9·|S*|, 1e-7) (the contract's level-1 tolerance).

HiGHS defaults, one thread, ``mip_rel_gap`` 1e-9. The curves are computed by optistaff
beforehand (``export`` below, in the optistaff process) and not timed: the timed part is
building the models and solving them. Run in its own process: importing ``highspy``
after OR-Tools in one process can fail (a symbol clash), so this module imports no
optistaff and no OR-Tools in ``solve``.
"""

from __future__ import annotations

import itertools
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any


def export(scenario_path: str, out: str) -> None:
    """(optistaff's process) Write each interval's groups and cell tables to ``out``."""
    import optistaff
    from optistaff.formulation import build_problem

    scenario = optistaff.load_scenario(scenario_path)
    if scenario.pins or scenario.policy.shortfall_price is not None:
        raise SystemExit("the reference supports no pins and no shortfall_price")
    problem = build_problem(scenario, pooled=True)
    if problem.couples_intervals:
        raise SystemExit("the reference is per interval: an uncoupled scenario only")
    intervals = []
    for t in range(problem.n_intervals):
        cells = {
            q: (problem.tables[(q, t)].shortfall.tolist(), problem.tables[(q, t)].value.tolist())
            for q in range(problem.n_queues)
            if (q, t) in problem.tables
        }
        groups = [
            (g.size, [q for q in g.skills if q in cells])
            for g in problem.groups
            if g.available[t] and any(q in cells for q in g.skills)
        ]
        intervals.append({"groups": groups, "cells": cells})
    Path(out).write_bytes(pickle.dumps(intervals))


def _interval_model(h: Any, data: dict[str, Any], encoding: str) -> tuple[Any, Any, float, float]:
    """Build one interval's model into ``h``; return the S and V coefficients and their
    constants. ``encoding``: ``one-hot`` (u[q,k]: n = k) or ``increments`` (δ[q,k]: n ≥ k,
    δ_k ≥ δ_k+1, figures f(0) + Σ_k (f(k) − f(k−1))·δ_k)."""
    import numpy as np

    inf = 1e30
    cells: dict[int, tuple[list[float], list[float]]] = data["cells"]
    col = 0
    y: dict[tuple[int, int], int] = {}
    lo: list[float] = []
    hi: list[float] = []
    for gi, (size, skills) in enumerate(data["groups"]):
        for q in skills:
            y[(gi, q)] = col
            lo.append(0.0)
            hi.append(float(size))
            col += 1
    u: dict[int, list[int]] = {}
    for q, (short, _value) in cells.items():
        u[q] = list(range(col, col + len(short)))
        lo += [0.0] * len(short)
        hi += [1.0] * len(short)
        col += len(short)
    cost_s = np.zeros(col)
    cost_v = np.zeros(col)
    const_s = const_v = 0.0
    for q, (short, value) in cells.items():
        if encoding == "one-hot":
            cost_s[u[q]] = short
            cost_v[u[q]] = value
        else:  # δ_0 is fixed at 1 (n ≥ 0): its column carries f(0)
            cost_s[u[q]] = np.diff(short, prepend=0.0)
            cost_v[u[q]] = np.diff(value, prepend=0.0)
    h.addVars(col, np.array(lo), np.array(hi))
    h.changeColsIntegrality(col, np.arange(col, dtype=np.int32), np.ones(col, dtype=np.uint8))
    rows: list[tuple[float, float, list[int], list[float]]] = []
    for gi, (size, skills) in enumerate(data["groups"]):
        if skills:
            rows.append((-inf, float(size), [y[(gi, q)] for q in skills], [1.0] * len(skills)))
    for q, idx in u.items():
        staffed = [y[(gi, q)] for gi, (_s, skills) in enumerate(data["groups"]) if q in skills]
        if encoding == "one-hot":
            rows.append((1.0, 1.0, idx, [1.0] * len(idx)))
            ks = [-float(k) for k in range(len(idx))]
            rows.append((0.0, 0.0, staffed + idx, [1.0] * len(staffed) + ks))
        else:
            rows.append((1.0, 1.0, [idx[0]], [1.0]))
            for a, b in itertools.pairwise(idx[1:]):
                rows.append((0.0, inf, [a, b], [1.0, -1.0]))
            ones = [-1.0] * (len(idx) - 1)
            rows.append((0.0, 0.0, staffed + idx[1:], [1.0] * len(staffed) + ones))
    for lower, upper, index, value in rows:
        h.addRow(lower, upper, len(index), np.array(index, dtype=np.int32), np.array(value))
    return cost_s, cost_v, const_s, const_v


def solve(path: str, encoding: str = "one-hot") -> dict[str, Any]:
    """(its own process) Solve every interval lexicographically; seconds and objectives."""
    import highspy
    import numpy as np

    intervals = pickle.loads(Path(path).read_bytes())
    started = time.perf_counter()
    build_s = 0.0
    total_s = total_v = 0.0
    statuses: set[str] = set()
    for data in intervals:
        t0 = time.perf_counter()
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_rel_gap", 1e-9)
        cost_s, cost_v, _cs, _cv = _interval_model(h, data, encoding)
        n = cost_s.size
        cols = np.arange(n, dtype=np.int32)
        h.changeColsCost(n, cols, cost_s)
        build_s += time.perf_counter() - t0
        h.run()
        statuses.add(h.modelStatusToString(h.getModelStatus()))
        s_star = h.getInfo().objective_function_value
        nz = np.flatnonzero(cost_s)
        tol = max(1e-9 * abs(s_star), 1e-7)
        h.addRow(-1e30, s_star + tol, nz.size, nz.astype(np.int32), cost_s[nz])
        h.changeColsCost(n, cols, -cost_v)
        h.run()
        statuses.add(h.modelStatusToString(h.getModelStatus()))
        x = np.array(h.getSolution().col_value)
        total_s += float(cost_s @ x)
        total_v += float(cost_v @ x)
    return {
        "seconds": time.perf_counter() - started,
        "build_s": build_s,
        "weighted_shortfall": total_s,
        "value": total_v,
        "statuses": sorted(statuses),
        "encoding": encoding,
        "highspy": highspy.__version__ if hasattr(highspy, "__version__") else "",
    }


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(solve(sys.argv[2], *sys.argv[3:])))
