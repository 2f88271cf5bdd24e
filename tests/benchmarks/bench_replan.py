"""Benchmark (not a test): the issue's intraday emergency on contact-center, timed.

Run::

    .venv/bin/python tests/benchmarks/bench_replan.py [--runs 3]

At 10:40 three agents (a001-a003) have gone home, platinum calls run 15 % over forecast
(``scenarios/contact-center-actuals.csv``) and 14 platinum_sales calls wait. The day's
plan is solved first under each queue model (not timed); then the whole command
``optistaff replan PLAN --at 10:40 --absent … --actuals … --waiting … -o DIR`` runs in a
fresh process (interpreter start-up, imports, reading the plan, the solve, the actions'
effects and writing included), ``--runs`` times per model, its wall times printed side
by side with the targets: ≤ 5 s stationary, ≤ 15 s time-varying. The last run's action
list (its first rows) is printed after.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"stationary": 5.0, "time_varying": 15.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("optistaff"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("stationary", "time_varying"):
            old = Path(tmp) / f"old-{model}"
            subprocess.run(
                [
                    exe,
                    "solve",
                    str(ROOT / "scenarios/contact-center.yaml"),
                    "--queue-model",
                    model,
                    "-q",
                    "-o",
                    str(old),
                ],
                check=True,
                capture_output=True,
            )
            times = []
            out = ""
            for k in range(args.runs):
                new = Path(tmp) / f"new-{model}-{k}"
                began = time.perf_counter()
                done = subprocess.run(
                    [
                        exe,
                        "replan",
                        str(old),
                        "--at",
                        "10:40",
                        "--absent",
                        "a001,a002,a003",
                        "--actuals",
                        str(ROOT / "scenarios/contact-center-actuals.csv"),
                        "--waiting",
                        "platinum_sales=14",
                        "-q",
                        "-o",
                        str(new),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                times.append(time.perf_counter() - began)
                out = done.stdout
            rows.append((model, times, out))
    print("optistaff replan on contact-center at 10:40 (seconds, whole command)")
    print(f"{'model':<14}{'runs':>28}{'median':>9}{'target':>9}")
    for model, times, _out in rows:
        runs = " ".join(f"{t:.2f}" for t in times)
        med = statistics.median(times)
        verdict = "met" if med <= TARGETS[model] else "MISSED"
        print(f"{model:<14}{runs:>28}{med:>9.2f}{'≤' + str(TARGETS[model]):>7} {verdict}")
    for model, _times, out in rows:
        print(f"\n--- {model}: the last run's output ---")
        print(out.rstrip())


if __name__ == "__main__":
    main()
