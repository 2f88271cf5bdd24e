"""Benchmark (not a test): do a plan's figures say what the day delivers?

Run::

    .venv/bin/python tests/benchmarks/bench_fidelity.py [--replications 60] [--cases ...]

For each case a plan is solved (the stationary optimiser; ``--optimise-by
time_varying``: the time-varying one, ``models/13-carry-over.md``), its figures are computed under
both queue models (``stationary``: the plan as solved; ``time_varying``:
:func:`optistaff.pipeline.evaluate_plan`), and the same assignment is simulated
``--replications`` times by :func:`optistaff.simulate.simulate_plan` (busy agents finish
their call when staffing drops; handle times drawn at arrival from the arrival interval's
AHT; 95 % intervals). Printed per case and model, side by side:

* the share of (queue, interval) cells with calls whose predicted service level lies more
  than one SL point outside the simulation's 95 % interval (the issue's target: ≤ 5 %),
  and the cells more than 5 points outside;
* the worst cells (predicted, simulated [interval]);
* the day totals per queue: predicted SL against the simulated interval ± 1 point.

Cases:

* ``contact-center``, ``contact-center-sick``: the example scenarios;
* ``peak-short``: a generated center (``optistaff.generate``: 300 agents, 10 queues, 56
  quarter-hours, tightness 0.85, seed 3: short at its double-peaked day's peak) whose
  forecast is raised by 60 % for one hour at the afternoon peak (a sharp spike);
* ``peak-spike``: a generated center (120 agents, 6 queues, 48 quarter-hours, tightness
  0.95, seed 5) with every queue's calls doubled for two intervals and halved after it
  (a burst followed by a lull: the backlog carries over).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]

import optistaff  # noqa: E402
from optistaff.generate import CenterSpec, write_center  # noqa: E402
from optistaff.pipeline import evaluate_plan  # noqa: E402
from optistaff.plan import Plan  # noqa: E402
from optistaff.scenario import Queue, Scenario  # noqa: E402
from optistaff.simulate import simulate_plan  # noqa: E402


def _spike(scenario: Scenario, start: int, length: int, factor: float, after: float) -> Scenario:
    """Every queue's forecast × ``factor`` in intervals [start, start + length), × ``after``
    in the same number of intervals after that."""
    queues: list[Queue] = []
    for q in scenario.queues:
        f = list(q.forecast)
        for t in range(start, min(start + length, len(f))):
            f[t] *= factor
        for t in range(start + length, min(start + 2 * length, len(f))):
            f[t] *= after
        queues.append(replace(q, forecast=tuple(f)))
    return replace(scenario, queues=tuple(queues))


def case_scenario(name: str, work: Path) -> Scenario:
    if name in ("contact-center", "contact-center-sick"):
        return optistaff.load_scenario(str(ROOT / "scenarios" / f"{name}.yaml"))
    if name == "peak-short":
        path = write_center(
            CenterSpec(300, 10, 56, tightness=0.85, seed=3), work / name / "center", overwrite=True
        )
        sc = optistaff.load_scenario(str(path))
        peak = int(np.argmax(np.sum([q.forecast for q in sc.queues], axis=0)))
        return _spike(sc, max(peak - 2, 0), 4, 1.6, 1.0)
    if name == "peak-spike":
        path = write_center(
            CenterSpec(120, 6, 48, tightness=0.95, seed=5), work / name / "center", overwrite=True
        )
        sc = optistaff.load_scenario(str(path))
        peak = int(np.argmax(np.sum([q.forecast for q in sc.queues], axis=0)))
        return _spike(sc, max(peak - 1, 0), 2, 2.0, 0.5)
    raise SystemExit(f"unknown case {name!r}")


def outside_by(pred: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """How far (SL points, ≥ 0) each prediction lies outside its interval."""
    return 100.0 * np.maximum(np.maximum(low - pred, pred - high), 0.0)


def compare(plans: dict[str, Plan], replications: int, seed: int) -> dict[str, object]:
    base = plans["stationary"]
    t0 = time.perf_counter()
    report = simulate_plan(base, replications=replications, seed=seed)
    sim_s = time.perf_counter() - t0
    rows = report.intervals
    have = rows["calls"].to_numpy() > 0
    low = rows["service_level_low"].to_numpy()
    high = rows["service_level_high"].to_numpy()
    simulated = rows["service_level_simulated"].to_numpy()
    out: dict[str, object] = {"sim_s": sim_s, "cells": int(have.sum())}
    for model, plan in plans.items():
        st = plan.staffing.set_index(["interval_start", "queue"])
        key = pd.MultiIndex.from_arrays([rows["interval_start"], rows["queue"]])
        pred = st.loc[key, "service_level"].to_numpy(dtype=np.float64)
        dist = outside_by(pred, low, high)
        ok = have & ~np.isnan(pred) & ~np.isnan(low)
        over1 = ok & (dist > 1.0)
        over5 = ok & (dist > 5.0)
        worst = np.argsort(-np.where(ok, dist, -1))[:3]
        day = []
        qtab = report.queues
        ids = [q.id for q in plan.scenario.queues]
        day_low = qtab["service_level_low"].reindex(ids).to_numpy(dtype=np.float64)
        day_high = qtab["service_level_high"].reindex(ids).to_numpy(dtype=np.float64)
        day_sim = qtab["service_level_simulated"].reindex(ids).to_numpy(dtype=np.float64)
        for qi, q in enumerate(plan.scenario.queues):
            tot = plan.summary["queues"][q.id]
            p = tot["service_level"]
            lo, hi, sim = float(day_low[qi]), float(day_high[qi]), float(day_sim[qi])
            miss = 0.0 if p is None else 100 * max(lo - p, p - hi, 0.0)
            day.append((q.id, p, sim, lo, hi, miss))
        out[model] = {
            "share": over1.sum() / max(ok.sum(), 1),
            "over1": int(over1.sum()),
            "over5": int(over5.sum()),
            "max": float(np.max(np.where(ok, dist, 0.0))),
            "worst": [
                (
                    str(rows["queue"].iloc[i]),
                    pd.Timestamp(rows["interval_start"].iloc[i]).strftime("%H:%M"),
                    pred[i],
                    simulated[i],
                    low[i],
                    high[i],
                )
                for i in worst
                if ok[i] and dist[i] > 0
            ],
            "day": day,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cases", default="contact-center,contact-center-sick,peak-short,peak-spike"
    )
    parser.add_argument(
        "--optimise-by",
        choices=["stationary", "time_varying"],
        default="stationary",
        help="the model the plans are optimised by (both models' figures are checked)",
    )
    args = parser.parse_args()
    print(
        f"fidelity: plans optimised by {args.optimise_by}; "
        f"{args.replications} replications, seed {args.seed}; "
        "SL cells with calls more than 1 (5) point(s) outside the simulated 95 % interval"
    )
    wall = time.perf_counter()
    summary: list[tuple[str, str, float, int, int, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            sc = case_scenario(name, Path(tmp))
            if args.optimise_by == "time_varying":
                sc = replace(sc, policy=replace(sc.policy, queue_model="time_varying"))
                tv = optistaff.solve(sc, time_limit_s=60, threads=2)
                t0 = time.perf_counter()
                plan = evaluate_plan(tv, "stationary")
                tv_s = time.perf_counter() - t0
            else:
                sc = replace(sc, policy=replace(sc.policy, queue_model="stationary"))
                plan = optistaff.solve(sc, time_limit_s=60, threads=2)
                t0 = time.perf_counter()
                tv = evaluate_plan(plan, "time_varying")
                tv_s = time.perf_counter() - t0
            res = compare({"stationary": plan, "time_varying": tv}, args.replications, args.seed)
            print(
                f"\n== {name}: {len(sc.agents)} agents, {len(sc.queues)} queues, "
                f"{sc.horizon.intervals} intervals; {res['cells']} cells with calls; "
                f"time-varying evaluation {tv_s:.2f} s, simulation {res['sim_s']:.1f} s"
            )
            for model in ("stationary", "time_varying"):
                r = res[model]
                assert isinstance(r, dict)
                print(
                    f"  {model:13s} outside >1 pt: {r['over1']:3d} ({100 * r['share']:5.1f} %)"
                    f"   >5 pt: {r['over5']:3d}   largest {r['max']:5.1f} pt"
                )
                for q, at, p, s, lo, hi in r["worst"]:
                    print(
                        f"      {q} {at}: predicted {100 * p:5.1f} %, simulated {100 * s:5.1f} % "
                        f"[{100 * lo:5.1f}, {100 * hi:5.1f}]"
                    )
                misses = [d for d in r["day"] if d[5] > 1.0]
                line = ", ".join(
                    f"{q} {100 * p:.1f} % vs {100 * s:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
                    for q, p, s, lo, hi, _ in misses
                )
                print(
                    f"      day totals off by > 1 pt: {len(misses)}" + (f": {line}" if line else "")
                )
                summary.append(
                    (name, model, 100 * r["share"], r["over1"], r["over5"], r["max"], tv_s)
                )
    print("\nsummary (share of cells > 1 pt outside; target <= 5 %, none > 5 pt)")
    print(f"{'case':22s} {'stationary':>12s} {'time-varying':>14s}")
    by_case: dict[str, dict[str, tuple[float, int]]] = {}
    for name, model, share, _o1, o5, _mx, _tv in summary:
        by_case.setdefault(name, {})[model] = (share, o5)
    for name, models in by_case.items():
        s_share, s_over5 = models["stationary"]
        v_share, v_over5 = models["time_varying"]
        print(
            f"{name:22s} {s_share:8.1f} % ({s_over5})  {v_share:8.1f} % ({v_over5})"
            f"  {'met' if v_share <= 5 and v_over5 == 0 else 'MISSED'}"
        )
    print(f"\nbenchmark wall time {time.perf_counter() - wall:.0f} s")
    sys.stdout.flush()
    _ = math.inf


if __name__ == "__main__":
    main()
