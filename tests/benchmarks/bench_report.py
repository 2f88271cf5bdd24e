"""Benchmark (not a test): how long the HTML report takes to build, and its peak memory.

Run::

    .venv/bin/python tests/benchmarks/bench_report.py [--cases contact-center,L]

Each case's plan is solved first (stationary, not timed); then ``optistaff report`` runs
in a fresh process (interpreter start-up, imports and reading the plan included), its
wall time and peak resident memory printed side by side (Linux: /proc). The issue's
target: ≤ 10 s and ≤ 300 MB for 2,000 agents × 30 queues × 96 intervals (L).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# peak memory from /proc's VmHWM (this process's own peak): getrusage's ru_maxrss would
# inherit the forking parent's size, and the parent has just solved a 2,000-agent center
CHILD = """
import sys, time
t0 = time.perf_counter()
from optistaff.cli import main
try:
    main(["report", sys.argv[1], "-o", sys.argv[2]], standalone_mode=False)
finally:
    with open("/proc/self/status") as fh:
        kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(f"{time.perf_counter() - t0:.2f} {kb / 1024:.0f}", file=sys.stderr)
"""
GENERATED = {"M": (300, 10, 56, 0.85), "L": (2000, 30, 96, 0.85)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="contact-center,M,L")
    parser.add_argument("--keep", type=Path, default=None, help="copy the reports here")
    args = parser.parse_args()
    import optistaff
    from optistaff.generate import CenterSpec, write_center

    print(f"{'case':16s} {'agents':>6s} {'seconds':>8s} {'peak MB':>8s}  target")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.cases.split(","):
            if name in GENERATED:
                a, q, t, tight = GENERATED[name]
                path = write_center(CenterSpec(a, q, t, tightness=tight, seed=0), work / name)
            else:
                path = ROOT / "scenarios" / f"{name}.yaml"
            sc = optistaff.load_scenario(str(path))
            sc = replace(sc, policy=replace(sc.policy, queue_model="stationary", threads=2))
            plan_dir = optistaff.solve(sc).write(work / name / "plan")
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(plan_dir), str(work / f"{name}.html")],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds, rss = out.stderr.strip().splitlines()[-1].split()
            wall = time.perf_counter() - start
            if args.keep is not None:
                import shutil

                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(work / f"{name}.html", args.keep / f"{name}.html")
            target = "≤10 s, ≤300 MB" if name == "L" else ""
            met = ""
            if name == "L":
                met = " met" if float(seconds) <= 10 and float(rss) <= 300 else " MISSED"
            print(
                f"{name:16s} {len(sc.agents):6d} {float(seconds):8.2f} {float(rss):8.0f}  "
                f"{target}{met} (process {wall:.1f} s)"
            )


if __name__ == "__main__":
    main()
