"""Benchmark (not a test): the time-varying optimiser against the truth and the
stationary plans.

Run::

    .venv/bin/python tests/benchmarks/bench_carry_over.py [--tiny 200] [--cases ...]

1. **Tiny scenarios** (``tests/tv_brute.py``: ≤ 4 agents, ≤ 2 queues, ≤ 6 intervals,
   seeds 0..N−1): the optimiser's plan (``queue_model: time_varying``, one thread)
   against the enumeration of every staffing sequence under the time-varying model.
   A hit is level 1 within max(1e-9·S*, 1e-7) and the total within 1e-6 relative; the
   loss is (truth − plan) / |truth| of the total where level 1 ties. Every ``optimal``
   claimed and every bound reported is checked against the truth.
2. **Example and generated centers**: the stationary plan and the time-varying plan,
   each evaluated under both models, side by side, with the whole solve's time.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

GENERATED = {"M": (300, 10, 56, 0.85), "L": (2000, 30, 96, 0.85)}
TARGET_S = {"contact-center": 10.0, "M": 10.0, "L": 120.0}


def tiny(count: int) -> None:
    from tv_brute import random_tiny, truth

    import optistaff

    hits = 0
    worst = 0.0
    claims = bad_claims = bounds = bad_bounds = 0
    level1_miss = 0
    t_opt = t_truth = 0.0
    misses = []
    for seed in range(count):
        sc = random_tiny(seed)
        sc = replace(sc, policy=replace(sc.policy, queue_model="time_varying", threads=1))
        t0 = time.perf_counter()
        plan = optistaff.solve(sc)
        t1 = time.perf_counter()
        best = truth(sc)
        t2 = time.perf_counter()
        t_opt += t1 - t0
        t_truth += t2 - t1
        o = plan.summary["objective"]
        s, total = float(o["weighted_shortfall"]), float(o["total"])
        tie = s <= best.min_shortfall + max(1e-9 * best.min_shortfall, 1e-7)
        hit = tie and total >= best.total - max(1e-6 * abs(best.total), 1e-6)
        loss = 0.0 if hit else (best.total - total) / max(abs(best.total), 1e-9)
        if not tie:
            level1_miss += 1
            loss = float("inf")
        hits += hit
        worst = max(worst, loss)
        if not hit:
            misses.append((seed, s, best.min_shortfall, total, best.total))
        if plan.status == "optimal":
            claims += 1
            bad_claims += not hit
        bound = plan.summary.get("bound")
        if bound is not None:
            bounds += 1
            bad_bounds += float(bound) < best.total - 1e-6 * abs(best.total)
    print(f"tiny scenarios: {count}")
    print(f"  optimum found          {hits}/{count} = {hits / count:.1%}   (target ≥ 95 %)")
    print(f"  level 1 missed         {level1_miss}")
    print(f"  worst loss of total    {worst:.3%}   (target ≤ 0.5 %)")
    print(f"  'optimal' claimed      {claims}, of which wrong {bad_claims}")
    print(f"  bounds reported        {bounds}, of which invalid {bad_bounds}")
    print(f"  time: optimiser {t_opt:.1f} s, enumeration {t_truth:.1f} s")
    for seed, s, s_star, total, best_total in misses[:10]:
        print(
            f"  miss seed {seed}: S {s:.6g} vs {s_star:.6g}; total {total:.6g} vs {best_total:.6g}"
        )


def centers(names: list[str], work: Path) -> None:
    import optistaff
    from optistaff import time_varying
    from optistaff.generate import CenterSpec, write_center
    from optistaff.pipeline import evaluate_plan

    print()
    print("plans under both models (weighted shortfall / total; solve seconds, threads=2)")
    head = f"{'case':20s} {'plan':11s} {'stationary figures':>24s} {'time-varying figures':>24s}"
    print(head + f" {'solve s':>8s} {'target':>7s}")
    for name in names:
        if name in GENERATED:
            agents, queues, intervals, tightness = GENERATED[name]
            spec = CenterSpec(agents, queues, intervals, tightness=tightness, seed=0)
            path = write_center(spec, work / name, overwrite=True)
        else:
            path = ROOT / "scenarios" / f"{name}.yaml"
        sc = optistaff.load_scenario(str(path))
        rows = {}
        for model in ("stationary", "time_varying"):
            s = replace(sc, policy=replace(sc.policy, queue_model=model, threads=2))
            time_varying.forget()  # (a solve as in a fresh command)
            t0 = time.perf_counter()
            plan = optistaff.solve(s)
            took = time.perf_counter() - t0
            other = evaluate_plan(plan, "time_varying" if model == "stationary" else "stationary")
            a, b = (plan, other) if model == "stationary" else (other, plan)
            rows[model] = (a.summary["objective"], b.summary["objective"], took, plan.status)
        for model, (st, tv, took, status) in rows.items():
            target = TARGET_S.get(name) if model == "time_varying" else None
            verdict = "" if target is None else ("met" if took <= target else "MISSED")
            print(
                f"{name:20s} {model:11s} "
                f"{st['weighted_shortfall']:11.2f} / {st['total']:10.2f} "
                f"{tv['weighted_shortfall']:11.2f} / {tv['total']:10.2f} "
                f"{took:8.1f} {'' if target is None else f'≤{target:g}':>7s} {verdict} ({status})",
                flush=True,
            )
        st_tv = rows["stationary"][1]["weighted_shortfall"]
        tv_tv = rows["time_varying"][1]["weighted_shortfall"]
        if st_tv > 0:
            print(f"{'':20s} time-varying shortfall: {100 * (tv_tv - st_tv) / st_tv:+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", type=int, default=200)
    parser.add_argument("--cases", default="contact-center,contact-center-sick,M")
    args = parser.parse_args()
    import tempfile

    if args.tiny:
        tiny(args.tiny)
    if args.cases:
        with tempfile.TemporaryDirectory() as tmp:
            centers(args.cases.split(","), Path(tmp))


if __name__ == "__main__":
    main()
