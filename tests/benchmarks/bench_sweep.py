"""Benchmark (not a test): the speed-up of a sweep on 2 Dask workers over 1 worker.

Run::

    .venv/bin/python tests/benchmarks/bench_sweep.py [--queue-model time_varying]

A 40-run sweep of contact-center (absence 0 to 10 % in 5 steps × 8 draws, with volume
noise: every run a different day) runs as the
whole command in a fresh process, once with ``--workers 1`` (in this process, no
cluster) and once with ``--workers 2`` (a LocalCluster started and stopped by the
command): start-up, the cluster, imports on the workers and writing included. The two
tables must be equal (solve time aside); the target is a speed-up ≥ 1.8×. The two are
alternated ``--repeat`` times (this VM's speed drifts by ±25 % over minutes) and the
best of each is compared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue-model", default="time_varying")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, alternated")
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("optistaff"))
    seconds: dict[int, list[float]] = {1: [], 2: []}
    tables: dict[int, pd.DataFrame] = {}
    busy: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, workers in enumerate([1, 2] * args.repeat):
            out = Path(tmp) / f"w{workers}-{k}"
            began = time.perf_counter()
            subprocess.run(
                [
                    exe,
                    "sweep",
                    str(ROOT / "scenarios/contact-center.yaml"),
                    "--vary",
                    "absence=0:0.1:0.025",
                    "--draws",
                    "8",
                    "--queue-model",
                    args.queue_model,
                    "--workers",
                    str(workers),
                    "-q",
                    "-o",
                    str(out),
                ],
                check=True,
                capture_output=True,
            )
            seconds[workers].append(time.perf_counter() - began)
            table = pd.read_parquet(out / "results.parquet")
            busy[workers] = float(table.drop_duplicates("run")["solve_s"].sum())
            tables[workers] = (
                table.drop(columns=["solve_s"]).sort_values(["run", "queue"]).reset_index(drop=True)
            )
    pd.testing.assert_frame_equal(tables[1], tables[2])
    one, two = min(seconds[1]), min(seconds[2])
    ratio = one / two
    print(f"contact-center, 40 runs, {args.queue_model} (seconds, whole command)")
    for workers in (1, 2):
        print(f"  {workers} worker(s): " + " ".join(f"{x:.1f}" for x in seconds[workers]))
    print(f"{'1 worker':>10}{'2 workers':>11}{'speed-up':>10}  target (best of each)")
    verdict = "met" if ratio >= 1.8 else "MISSED"
    print(f"{one:10.1f}{two:11.1f}{ratio:9.2f}×  ≥1.8× {verdict}")
    print("tables equal: yes")
    print(
        f"seconds inside the runs (Σ solve_s): 1 worker {busy[1]:.1f}, 2 workers {busy[2]:.1f} "
        f"(the rest is start-up, the cluster, imports on the workers and writing)"
    )


if __name__ == "__main__":
    main()
