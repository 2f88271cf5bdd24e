"""Benchmark (not a test): wall time of solving every example scenario.

Run: ``.venv/bin/python tests/benchmarks/bench_solve.py [--repeat N] [--time-limit S]
[NAME ...]``. Prints, per scenario, the status, the objective, the gap and the best /
median wall time of N solves (the target for ``contact-center.yaml`` is under 10 s on a
2-core machine; issue 17's for ``contact-center-sla``: optimal at gap ≤ 1e-4 in ≤ 10 s,
``--time-limit 10 contact-center-sla``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import optistaff
import optistaff.pipeline  # (loaded on first use otherwise: not timed)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=None, help="default: the policy's")
    parser.add_argument(
        "names", nargs="*", default=[p.stem for p in sorted(SCENARIOS.glob("*.yaml"))]
    )
    args = parser.parse_args()
    print(
        f"{'scenario':28} {'status':9} {'agents':>6} {'weighted shortfall':>19} {'total':>12} "
        f"{'gap':>9} {'best s':>7} {'median s':>9}"
    )
    for name in args.names:
        scenario = optistaff.load_scenario(str(SCENARIOS / f"{name}.yaml"))
        # (the exact stationary optimiser; bench_carry_over.py times the time-varying one)
        scenario = replace(scenario, policy=replace(scenario.policy, queue_model="stationary"))
        times = []
        plan = None
        for _ in range(args.repeat):
            start = time.perf_counter()
            plan = optistaff.solve(scenario, time_limit_s=args.time_limit)
            times.append(time.perf_counter() - start)
        assert plan is not None
        obj = plan.objective
        print(
            f"{name:28} {plan.status!s:9} {len(scenario.agents):>6} "
            f"{obj['weighted_shortfall']:>19.6f} {obj['total']:>12.4f} "
            f"{'-' if plan.summary['gap'] is None else format(plan.summary['gap'], '.1e'):>9} "
            f"{min(times):>7.2f} {statistics.median(times):>9.2f}"
        )


if __name__ == "__main__":
    main()
