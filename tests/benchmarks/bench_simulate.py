"""Benchmark (not a test): wall time of simulating a plan, and how far the simulation and
the plan's Erlang predictions differ.

Run: ``.venv/bin/python tests/benchmarks/bench_simulate.py [NAME ...] [--replications 100]
[--seed 0] [--repeat 3]`` (default: the three contact-center scenarios). Each scenario is
solved first (not timed), then simulated ``--repeat`` times with every CPU and once with
one worker. The target for ``contact-center`` (one day, six queues, 56 quarter-hours,
100 replications) is under 30 s on a 2-core machine.

Then, per scenario: per queue the day's service level predicted vs. simulated (95 % CI),
the number of queue-intervals whose SL prediction falls outside the simulated CI, and the
largest interval gaps, split into intervals after a forecast peak (from the peak interval
on, while the forecast falls) and the others.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

import optistaff
from optistaff.simulate import METRICS, outside_counts, simulate_plan

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT = ["contact-center", "contact-center-sick", "contact-center-overtime"]


def _falling(frame: pd.DataFrame) -> pd.Series:
    """True for the queue-intervals whose forecast is below the previous interval's (after
    a peak, while calls fall): where a backlog from busier intervals can spill over."""
    flags = pd.Series(False, index=frame.index)
    for _queue, rows in frame.groupby("queue", sort=False):
        calls = rows["calls"].to_numpy()
        falling = np.r_[False, np.diff(calls) < 0]
        flags.loc[rows.index] = falling
    return flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=DEFAULT)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    for name in args.names:
        plan = optistaff.solve(SCENARIOS / f"{name}.yaml")
        calls = float(plan.staffing["calls"].sum())
        times = []
        report = None
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = simulate_plan(
                plan, replications=args.replications, seed=args.seed, workers=cpus
            )
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        serial = simulate_plan(plan, replications=args.replications, seed=args.seed, workers=1)
        serial_s = time.perf_counter() - start
        assert report is not None
        pd.testing.assert_frame_equal(report.intervals, serial.intervals)
        print(
            f"== {name}: {len(plan.scenario.queues)} queues x {plan.scenario.horizon.intervals} "
            f"intervals, {calls:,.0f} calls/day, {args.replications} replications: "
            f"{cpus} workers best {min(times):.2f} s, median {statistics.median(times):.2f} s; "
            f"1 worker {serial_s:.2f} s (same result)"
        )
        day = report.queues
        print(
            f"{'queue':18} {'SL pred':>8} {'SL sim':>8} {'95% CI':>15} {'ASA pred':>9} "
            f"{'ASA sim':>8} {'aband pred':>10} {'aband sim':>9} {'occ pred':>8} {'occ sim':>8}"
        )
        for queue, row in day.iterrows():
            print(
                f"{queue!s:18} {row.service_level_predicted:8.1%}"
                f" {row.service_level_simulated:8.1%}"
                f" {row.service_level_low:7.1%}-{row.service_level_high:6.1%}"
                f" {row.asa_s_predicted:9.1f} {row.asa_s_simulated:8.1f}"
                f" {row.abandon_rate_predicted:10.2%} {row.abandon_rate_simulated:9.2%}"
                f" {row.occupancy_predicted:8.1%} {row.occupancy_simulated:8.1%}"
                + ("  (SL outside CI)" if row.service_level_outside else "")
            )
        counts = outside_counts(report)
        total = len(report.intervals)
        print(
            "queue-intervals with the prediction outside the 95% CI: "
            + ", ".join(f"{m} {counts[m]}/{total}" for m in METRICS)
        )
        frame = report.intervals.copy()
        frame["gap"] = frame["service_level_simulated"] - frame["service_level_predicted"]
        frame["falling"] = _falling(frame)
        for label, part in (
            ("falling forecast", frame[frame["falling"]]),
            ("other", frame[~frame["falling"]]),
        ):
            gaps = part["gap"].dropna()
            outside = int(part["service_level_outside"].sum())
            print(
                f"  SL gap sim - pred, {label:16} intervals: n={len(gaps)},"
                f" mean {gaps.mean():+.3f}, mean |gap| {gaps.abs().mean():.3f},"
                f" outside CI {outside}"
            )
        print("  largest SL gaps (sim - pred):")
        top = frame.reindex(frame["gap"].abs().sort_values(ascending=False).index).head(8)
        for _, row in top.iterrows():
            print(
                f"    {row.interval_start:%H:%M} {row.queue:18} n={row.agents:<3}"
                f" calls {row.calls:5.1f}"
                f"  pred {row.service_level_predicted:6.1%}  sim {row.service_level_simulated:6.1%}"
                f"  [{row.service_level_low:.1%}, {row.service_level_high:.1%}]"
            )


if __name__ == "__main__":
    main()
