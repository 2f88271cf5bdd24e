"""Benchmark (not a test): is ``--time-limit`` honoured, and what comes back at the limit?

Run: ``.venv/bin/python tests/benchmarks/bench_time_limit.py [--repeat N] [--limits 1 2]
[SCENARIO]``. For each limit, solves the scenario (default: the largest example,
``scenarios/contact-center-overtime.yaml``) N times through the real command,
``optistaff solve SCENARIO --time-limit S -o DIR --json``, in a fresh process, and
prints the wall time of the whole command (the installed console script in a fresh
process: start-up, imports, loading, tables, search, naming, evaluation, writing,
exit), the fixed work the command's warning reports when the search had little of the
limit (everything but the search), how far the wall time is over the limit (or over
that fixed work, when the limit is below it), and the status, objective, bound and gap
of the plan written. The promise: ``over`` stays under 1 s.

XL (the issue's example), after ``optistaff generate --agents 10000 --queues 100
--intervals 96 --tightness 0.85 -o /tmp/xl/center.yaml``::

    .venv/bin/python tests/benchmarks/bench_time_limit.py /tmp/xl/center.yaml \
        --repeat 1 --limits 10 30 180
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "contact-center-overtime.yaml"


def run_once(scenario: Path, limit: float, out: Path) -> tuple[float, dict, float | None]:
    """The installed console script, as a planner runs it; wall time, summary.json, and
    the fixed work the command's warning reports (None: no warning)."""
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "optistaff"),
            "solve",
            "--queue-model",
            "stationary",
            str(scenario),
            "--time-limit",
            str(limit),
            "-o",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"exit {done.returncode}: {done.stderr}")
    said = re.search(r"took (\d+(?:\.\d+)?) s", " ".join(done.stderr.split()))
    return wall, json.loads(done.stdout), None if said is None else float(said.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limits", type=float, nargs="+", default=[1.0])
    args = parser.parse_args()
    print(f"scenario: {args.scenario.name}")
    print(
        f"{'limit s':>7} {'wall s':>7} {'fixed s':>7} {'over s':>7} {'status':9} "
        f"{'total':>12} {'bound':>12} {'gap':>9} {'decomposition':24}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for limit in args.limits:
            overs = []
            for i in range(args.repeat):
                out = Path(tmp) / f"plan-{limit}-{i}"
                wall, summary, fixed = run_once(args.scenario, limit, out)
                # the promise: within a second of the limit, or of the fixed work the
                # warning reports when the limit is below it
                target = max(limit, fixed or 0.0)
                overs.append(wall - target)
                bound = summary["bound"]
                gap = summary["gap"]
                print(
                    f"{limit:>7.2f} {wall:>7.2f} {'-' if fixed is None else f'{fixed:.1f}':>7} "
                    f"{wall - target:>7.2f} {summary['status']:9} "
                    f"{summary['objective']['total']:>12.3f} "
                    f"{'-' if bound is None else f'{bound:.3f}':>12} "
                    f"{'-' if gap is None else f'{gap:.2e}':>9} "
                    f"{summary['solver']['decomposition']:24}"
                )
            print(
                f"  limit {limit:g} s: the command over max(limit, fixed work) by "
                f"{min(overs):.2f} s best, {statistics.median(overs):.2f} s median, "
                f"{max(overs):.2f} s worst ({'within' if max(overs) <= 1.0 else 'NOT within'} "
                "a second)"
            )


if __name__ == "__main__":
    main()
