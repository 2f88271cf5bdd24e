"""Benchmark (not a test): how long the time-varying figures of a plan take.

Run::

    .venv/bin/python tests/benchmarks/bench_time_varying.py [--cases ...]

Each case's plan is solved first (the stationary optimiser, not timed); then its
assignment is re-evaluated under the time-varying model with
:func:`optistaff.pipeline.evaluate_plan`, three times in one process (the median is
printed; the first run of a fresh process also loads numba's cached machine code, which
is printed separately as ``cold``, measured in a subprocess: interpreter start-up not
included, the import of optistaff and the first evaluation included), with one and two
threads side by side. The issue's targets: contact-center ≤ 0.3 s, L (2,000 agents, 30
queues, 96 quarter-hours) ≤ 5 s, this 2-core machine.

Cases: the example scenarios; M = ``optistaff generate --agents 300 --queues 10
--intervals 56 --tightness 0.85`` (seed 0); L-short / L-surplus = 2,000 agents, 30
queues, 96 intervals at tightness 0.85 / 1.10 (the scale benchmark's L cases).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TARGETS = {"contact-center": 0.3, "L-short": 5.0, "L-surplus": 5.0}
GENERATED = {
    "M": (300, 10, 56, 0.85),
    "L-short": (2000, 30, 96, 0.85),
    "L-surplus": (2000, 30, 96, 1.10),
}


def scenario_path(name: str, work: Path) -> Path:
    if name in ("contact-center", "contact-center-sick", "michelle"):
        return ROOT / "scenarios" / f"{name}.yaml"
    from optistaff.generate import CenterSpec, write_center

    agents, queues, intervals, tightness = GENERATED[name]
    spec = CenterSpec(agents, queues, intervals, tightness=tightness, seed=0)
    return write_center(spec, work / name / "center", overwrite=True)


COLD = """
import sys, time, json
t0 = time.perf_counter()
import optistaff
from optistaff.pipeline import evaluate_plan
plan = optistaff.read_plan(sys.argv[1])
t1 = time.perf_counter()
evaluate_plan(plan, "time_varying")
t2 = time.perf_counter()
print(json.dumps({"import_read_s": t1 - t0, "evaluate_s": t2 - t1}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="contact-center,contact-center-sick,M,L-short,L-surplus")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import optistaff
    from optistaff import time_varying
    from optistaff.pipeline import evaluate_plan

    print("time-varying evaluation of a solved plan (seconds; median of in-process runs)")
    header = f"{'case':20s} {'queues':>6s} {'cells':>6s} {'1 thread':>9s} {'2 threads':>10s}"
    print(header + f" {'cold (2)':>9s} {'target':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.cases.split(","):
            sc = optistaff.load_scenario(str(scenario_path(name, work)))
            sc = replace(sc, policy=replace(sc.policy, queue_model="stationary"))
            plan = optistaff.solve(sc, threads=2)
            times = {}
            for threads in (1, 2):
                p = replace(plan, scenario=replace(sc, policy=replace(sc.policy, threads=threads)))
                runs = []
                for _ in range(args.repeat):
                    time_varying.forget()  # (time the evaluation, not the memo)
                    t0 = time.perf_counter()
                    evaluate_plan(p, "time_varying")
                    runs.append(time.perf_counter() - t0)
                times[threads] = statistics.median(runs)
            directory = plan.write(work / name / "plan")
            cold = json.loads(
                subprocess.run(
                    [sys.executable, "-c", COLD, str(directory)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            target = TARGETS.get(name)
            verdict = "-" if target is None else ("met" if times[2] <= target else "MISSED")
            cells = len(sc.queues) * sc.horizon.intervals
            print(
                f"{name:20s} {len(sc.queues):6d} {cells:6d} {times[1]:9.2f} {times[2]:10.2f} "
                f"{cold['evaluate_s']:9.2f} {'' if target is None else f'≤{target:g}':>7s}"
                f" {verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
