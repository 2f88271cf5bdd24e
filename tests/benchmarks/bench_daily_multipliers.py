"""Benchmark (not a test): the daily minimums' Lagrangian rounds (``models/11``) with the
two ways of moving the multipliers, side by side from the same start.

Run::

    .venv/bin/python tests/benchmarks/bench_daily_multipliers.py [--seconds 4,12]

Cases: contact-center-sla (stationary) and the generated L-short and XL-short coupled
centers (``optistaff generate --agents 2000 --queues 30 --intervals 96 --tightness 0.85
--coupling``; XL: 10,000 agents, 100 queues). For each, step 1 of the decomposition runs
once (its plan and per-interval bounds are captured where ``solve_allocation`` hands them
to ``daily_lagrangian.improve``); then ``improve`` runs from them with
``MULTIPLIERS = "box"`` (box-step cutting planes) and ``"polyak"`` (projected subgradient),
each with the same time, one after the other, two threads. Printed per run: rounds, the
best plan's weighted shortfall and the bound (calls, objective units), and the gap
between them (calls and relative).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def stationary(path: Path) -> Path:
    text = path.read_text()
    if "queue_model:" not in text:
        path.write_text(
            re.sub(r"^policy:\n", "policy:\n  queue_model: stationary\n", text, flags=re.M)
        )
    return path


def generated(out: Path, agents: int, queues: int) -> Path:
    from optistaff.generate import CenterSpec, write_center

    spec = CenterSpec(agents, queues, 96, tightness=0.85, coupling=True, seed=0)
    return stationary(write_center(spec, out, overwrite=True))


def capture(path: Path) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The arguments step 1 hands to ``improve`` (the decomposition stops right there)."""
    from dataclasses import replace

    from optistaff.formulation import build_problem
    from optistaff.loading import load_scenario
    from optistaff.solvers import daily_lagrangian, decomposition

    scenario = load_scenario(path)
    scenario = replace(
        scenario, policy=replace(scenario.policy, queue_model="stationary", time_limit_s=600.0)
    )
    problem = build_problem(scenario, pooled=True)
    got: dict[str, Any] = {}

    class Captured(Exception):
        pass

    def grab(*a: Any, **k: Any) -> Any:
        got["args"], got["kwargs"] = a, k
        raise Captured

    real = daily_lagrangian.improve
    daily_lagrangian.improve = grab
    try:
        decomposition.solve_allocation(problem, time_limit_s=600.0, mip_gap=1e-6, threads=2, seed=0)
    except Captured:
        pass
    finally:
        daily_lagrangian.improve = real
    return problem, got["args"], got["kwargs"]


def run(case: str, path: Path, seconds: list[float]) -> None:
    from optistaff.solvers import daily_lagrangian, scaling

    problem, args, kwargs = capture(path)
    scales = scaling.choose_scales(problem)
    const = sum(
        scaling.interval_constants(problem, t, scales)[0] for t in range(problem.n_intervals)
    )
    for limit in seconds:
        for method in ("box", "polyak"):
            daily_lagrangian.MULTIPLIERS = method
            start = time.monotonic()
            out = daily_lagrangian.improve(*args, **{**kwargs, "deadline": start + limit})
            took = time.monotonic() - start
            plan = out.level1 / scales.shortfall + const
            bound = None if out.bound is None else out.bound / scales.shortfall + const
            gap = "-" if bound is None else f"{plan - bound:10.2f} {((plan - bound) / plan):8.1e}"
            shown = "-" if bound is None else f"{bound:12.3f}"
            print(
                f"{case:<20} {limit:5.0f} {method:<7} {took:6.1f} {out.rounds:6d} "
                f"{plan:12.3f} {shown:>12} {gap:>19}",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", default="4,12")
    ap.add_argument("--cases", default="contact-center-sla,L-short,XL-short")
    opts = ap.parse_args()
    seconds = [float(x) for x in opts.seconds.split(",") if x]
    print(
        f"{'case':<20} {'limit':>5} {'method':<7} {'took':>6} {'rounds':>6} "
        f"{'plan S':>12} {'bound':>12} {'gap calls':>10} {'rel':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for case in opts.cases.split(","):
            if case == "contact-center-sla":
                path = ROOT / "scenarios" / "contact-center-sla.yaml"
            elif case == "L-short":
                path = generated(Path(tmp) / case, 2000, 30)
            elif case == "XL-short":
                path = generated(Path(tmp) / case, 10000, 100)
            else:
                sys.exit(f"unknown case {case!r}")
            run(case, path, seconds)


if __name__ == "__main__":
    main()
