"""Benchmark (not a test): exact day plans at scale, against the straightforward model.

Run (the full benchmark; about 30 minutes on a 2-core machine, most of it the time limits of
the coupled and XL cases and the straightforward model)::

    .venv/bin/python tests/benchmarks/bench_scale.py

Subsets: ``--sizes S,M`` (sizes), ``--coupling off|on|both``, ``--tightness 0.85,1.10``,
``--straightforward S,M`` (sizes also solved with the straightforward model, ``""`` for
none), ``--no-scaling`` / ``--quick`` (scaling sweep 500, 1,000, 2,000 agents only).

Cases (``optistaff generate``, seed 0): S = 50 agents, 4 queues, 32 intervals;
M = 300, 10, 56; L = 2,000, 30, 96; XL = 10,000, 100, 96 (15-minute intervals), each
in a shortage (tightness 0.85) and a surplus (1.10) variant, without and with coupling
(daily minimums, switch penalty, optional agents). Each case is solved in its own
subprocess (so the peak RSS, ``ru_maxrss``, is that case's: loading, tables, solve and
plan writing), with a time limit per size, and its plan is written to a temporary
directory and checked by ``tests/checker.check_plan_dir`` in another subprocess. A case
that fails (a loader limit, a crash, a timeout of the subprocess) is reported as such.

The straightforward model (``straightforward.py``: one binary per agent × queue ×
interval, ordered increments, one horizon model) solves the S and M cases with the same
thread count; the benchmark prints the time ratio (a lower bound, ``>``, when the
straightforward model stops at its time limit) and whether both optima agree within
the contract's tolerances (level 1: max(1e-9·S, 1e-7); level 2: mip_gap relative, 1e-6
absolute floor), both objectives recomputed by the checker's own arithmetic.

The scaling sweep solves 500 → 10,000 agents at 30 queues, 96 intervals, 40 skill
profiles (tightness 0.95, no coupling) and fits time ∝ agents^k.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent

SIZES: dict[str, tuple[int, int, int]] = {
    "S": (50, 4, 32),
    "M": (300, 10, 56),
    "L": (2000, 30, 96),
    "XL": (10000, 100, 96),
}
TIME_LIMIT_S = {"S": 20.0, "M": 30.0, "L": 60.0, "XL": 180.0}
STRAIGHT_LIMIT_S = {"S": 60.0, "M": 120.0, "L": 300.0, "XL": 600.0}
TARGETS = {  # the targets, seconds
    ("M", False): 1.0,
    ("L", False): 5.0,
    ("L", True): 30.0,
    ("XL", False): 180.0,
    ("XL", True): 180.0,
}
# the policy.mip_gap each case runs with: the issue's "proven gap <= 1e-6 unless
# stated"; L with coupling and XL state 1e-4
MIP_GAP = {("L", True): 1e-4, ("XL", False): 1e-4, ("XL", True): 1e-4}
SWEEP = (500, 1000, 2000, 5000, 10000)
QUICK_SWEEP = (500, 1000, 2000)
SLACK_S = 120.0  # subprocess timeout beyond the case's time limit


# --------------------------------------------------------------------------------------
# one case, in a subprocess
# --------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_optistaff(job: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import replace

    import optistaff
    import optistaff.pipeline  # (the package loads it on first use: not timed)

    t0 = time.perf_counter()
    started = time.monotonic()
    scenario = optistaff.load_scenario(job["scenario"])
    # (the exact stationary optimiser's benchmark: issue targets are for that model)
    scenario = replace(scenario, policy=replace(scenario.policy, queue_model="stationary"))
    if job.get("mip_gap") is not None:
        scenario = replace(scenario, policy=replace(scenario.policy, mip_gap=job["mip_gap"]))
    t1 = time.perf_counter()
    plan = optistaff.solve(
        scenario, time_limit_s=job["time_limit_s"], threads=job["threads"], started=started
    )
    t2 = time.perf_counter()
    plan.write(job["plan"])
    t3 = time.perf_counter()
    summary = plan.summary
    return {
        "load_s": t1 - t0,
        "solve_s": t2 - t1,
        "write_s": t3 - t2,
        "total_s": t3 - t0,
        "rss_mb": _peak_rss_mb(),
        "status": summary["status"],
        "gap": summary["gap"],
        "decomposition": summary["solver"]["decomposition"],
        "timing": summary["timing"],
        "objective": summary["objective"],
    }


def run_straightforward(job: dict[str, Any]) -> dict[str, Any]:
    sys.path[:0] = [str(HERE), str(TESTS)]
    from checker import decision_problems, evaluate
    from straightforward import solve_straightforward

    import optistaff

    scenario = optistaff.load_scenario(job["scenario"])
    res = solve_straightforward(scenario, time_limit_s=job["time_limit_s"], threads=job["threads"])
    rss = _peak_rss_mb()
    problems = decision_problems(scenario, res.decision, res.called_in)
    ev = evaluate(scenario, res.decision, res.called_in)
    return {
        "solve_s": res.wall_s,
        "level1_s": res.level1_s,
        "level2_s": res.level2_s,
        "variables": res.variables,
        "rss_mb": rss,
        "status": res.status,
        "problems": problems[:5],
        "objective": {"weighted_shortfall": ev.weighted_shortfall, "total": ev.total},
        "rounding": {"shortfall": res.rounding_shortfall, "value": res.rounding_value},
    }


def run_check(job: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(TESTS))
    from checker import check_plan_dir

    t0 = time.perf_counter()
    try:
        check_plan_dir(job["plan"])
        ok, message = True, ""
    except AssertionError as exc:
        ok, message = False, str(exc).splitlines()[0]
    return {"ok": ok, "message": message, "check_s": time.perf_counter() - t0}


RUNNERS = {"optistaff": run_optistaff, "straightforward": run_straightforward, "check": run_check}


def in_subprocess(kind: str, job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run one job in a fresh interpreter; its last stdout line is the JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", kind, json.dumps(job)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"subprocess timeout after {timeout_s:.0f} s"}
    wall = time.perf_counter() - started
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:160]}", "wall_s": wall}
    result: dict[str, Any] = json.loads(lines[-1])
    result["wall_s"] = wall
    return result


# --------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------


def generate(
    out: Path, agents: int, queues: int, intervals: int, tightness: float, coupling: bool, **kw: Any
) -> tuple[Path, float]:
    from optistaff.generate import CenterSpec, write_center

    t0 = time.perf_counter()
    spec = CenterSpec(
        agents, queues, intervals, tightness=tightness, coupling=coupling, seed=0, **kw
    )
    path = write_center(spec, out, overwrite=True)
    return path, time.perf_counter() - t0


def agree(a: dict[str, float], b: dict[str, float], rounding: dict[str, float]) -> str:
    """Do two lexicographic optima agree (the contract's tolerances)? 'yes', 'yes (rounding)'
    when only within the straightforward model's integer rounding, else 'NO'."""
    s_a, s_b = a["weighted_shortfall"], b["weighted_shortfall"]
    tol1 = max(1e-9 * min(s_a, s_b), 1e-7)
    v_a, v_b = a["total"], b["total"]
    tol2 = max(1e-6 * max(abs(v_a), abs(v_b)), 1e-6)
    if abs(s_a - s_b) <= tol1 and abs(v_a - v_b) <= tol2:
        return "yes"
    if abs(s_a - s_b) <= tol1 + rounding["shortfall"] and abs(v_a - v_b) <= (
        tol2 + rounding["value"]
    ):
        return "yes (rounding)"
    return "NO"


def _fmt_gap(gap: float | None) -> str:
    return "-" if gap is None else f"{gap:.1e}"


def run_cases(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    sizes = [s for s in args.sizes.split(",") if s]
    tightnesses = [float(x) for x in args.tightness.split(",") if x]
    couplings = {"off": [False], "on": [True], "both": [False, True]}[args.coupling]
    straight = {s for s in args.straightforward.split(",") if s}
    rows = []
    header = (
        f"{'case':<22} {'agents':>6} {'gen s':>6} {'load s':>6} {'solve s':>8} {'total s':>8} "
        f"{'RSS MB':>7} "
        f"{'status':<9} {'gap':>8} {'method':<26} {'checker':<8} {'target':<12}"
    )
    print(header)
    print("-" * len(header), flush=True)
    for size in sizes:
        agents, queues, intervals = SIZES[size]
        for coupling in couplings:
            for tightness in tightnesses:
                name = f"{size}-{'short' if tightness < 1 else 'surplus'}-{tightness:g}" + (
                    "-coupled" if coupling else ""
                )
                case_dir = work / name
                path, gen_s = generate(
                    case_dir / "center", agents, queues, intervals, tightness, coupling
                )
                limit = TIME_LIMIT_S[size]
                job = {
                    "scenario": str(path),
                    "plan": str(case_dir / "plan"),
                    "time_limit_s": limit,
                    "threads": args.threads,
                    "mip_gap": MIP_GAP.get((size, coupling)),
                }
                res = in_subprocess("optistaff", job, limit + SLACK_S)
                row: dict[str, Any] = {"case": name, "size": size, "coupling": coupling}
                row["optistaff"] = res
                if "error" in res:
                    print(f"{name:<22} {agents:>6} {gen_s:>6.1f}  FAILED: {res['error']}")
                    rows.append(row)
                    continue
                check = in_subprocess("check", job, 1800.0)
                row["check"] = check
                checked = "pass" if check.get("ok") else ("FAIL" if "ok" in check else "ERROR")
                target = TARGETS.get((size, coupling))
                met = "-"
                if target is not None:
                    # end to end (load, solve, write), with the case's mip_gap proven
                    ok = res["total_s"] <= target and res["status"] == "optimal"
                    if size == "XL":
                        ok = ok and res["rss_mb"] <= 4096
                    met = f"{'met' if ok else 'MISSED'} ≤{target:g}s"
                print(
                    f"{name:<22} {agents:>6} {gen_s:>6.1f} {res['load_s']:>6.2f} "
                    f"{res['solve_s']:>8.2f} {res['total_s']:>8.2f} {res['rss_mb']:>7.0f} "
                    f"{res['status']:<9} "
                    f"{_fmt_gap(res['gap']):>8} {res['decomposition']:<26} {checked:<8} {met:<12}",
                    flush=True,
                )
                obj = res["objective"]
                print(
                    f"    weighted shortfall {obj['weighted_shortfall']:.9g}, "
                    f"total {obj['total']:.9g}"
                )
                if check.get("message"):
                    print(f"    checker: {check['message']}")
                if "error" in check:
                    print(f"    checker: {check['error']}")
                if size in straight:
                    s_limit = STRAIGHT_LIMIT_S[size]
                    s_job = dict(job, time_limit_s=s_limit)
                    sres = in_subprocess("straightforward", s_job, s_limit + SLACK_S)
                    row["straightforward"] = sres
                    if "error" in sres:
                        print(f"    straightforward: FAILED: {sres['error']}")
                    else:
                        bound = "" if sres["status"] == "optimal" else ">"
                        ratio = sres["solve_s"] / max(res["total_s"], 1e-9)
                        verdict = agree(res["objective"], sres["objective"], sres["rounding"])
                        if sres["status"] != "optimal" and verdict == "NO":
                            # no proven optimum to compare with: say which plan is better
                            s_o = res["objective"]["weighted_shortfall"]
                            s_s = sres["objective"]["weighted_shortfall"]
                            better = s_o < s_s - 1e-7 or (
                                s_o <= s_s + 1e-7
                                and res["objective"]["total"] >= sres["objective"]["total"] - 1e-6
                            )
                            verdict = "unproven (straightforward stopped at its limit; " + (
                                "optistaff's plan as good or better)"
                                if better
                                else "optistaff WORSE)"
                            )
                        if sres["problems"]:
                            verdict += f"; straightforward plan INVALID: {sres['problems'][0]}"
                        row["ratio"] = ratio
                        print(
                            f"    straightforward: {sres['solve_s']:.2f} s "
                            f"(level 1 {sres['level1_s']:.1f} s, level 2 {sres['level2_s']:.1f} s; "
                            f"{sres['variables']:,} variables; {sres['rss_mb']:.0f} MB) "
                            f"{sres['status']}; ratio {bound}{ratio:.1f}×; optima agree: {verdict}"
                        )
                        print(
                            f"      shortfall {res['objective']['weighted_shortfall']:.9g} vs "
                            f"{sres['objective']['weighted_shortfall']:.9g}; total "
                            f"{res['objective']['total']:.9g} vs {sres['objective']['total']:.9g}",
                            flush=True,
                        )
                rows.append(row)
    return rows


def run_sweep(args: argparse.Namespace, work: Path) -> None:
    counts = QUICK_SWEEP if args.quick else SWEEP
    print("\nscaling: 30 queues, 96 intervals, 40 profiles, tightness 0.95, no coupling")
    points = []
    for agents in counts:
        path, _ = generate(
            work / f"sweep-{agents}" / "center", agents, 30, 96, 0.95, False, profiles=40
        )
        job = {
            "scenario": str(path),
            "plan": str(work / f"sweep-{agents}" / "plan"),
            "time_limit_s": 180.0,
            "threads": args.threads,
        }
        res = in_subprocess("optistaff", job, 180.0 + SLACK_S)
        if "error" in res:
            print(f"  {agents:>6} agents: FAILED: {res['error']}", flush=True)
            continue
        points.append((agents, res["total_s"]))
        print(
            f"  {agents:>6} agents: {res['total_s']:7.2f} s  {res['rss_mb']:6.0f} MB  "
            f"{res['status']}  (build {res['timing']['build_s']:.2f} s)",
            flush=True,
        )
    if len(points) >= 2:
        (a0, t0), (a1, t1) = points[0], points[-1]
        k = math.log(t1 / t0) / math.log(a1 / a0)
        line = "  ".join(f"{a}:{t:.2f}s" for a, t in points)
        print(
            f"scaling line: {line}  → time ∝ agents^{k:.2f} "
            f"({'about linear' if k <= 1.2 else 'super-linear'})"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--job":
        result = RUNNERS[sys.argv[2]](json.loads(sys.argv[3]))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="S,M,L,XL")
    parser.add_argument("--tightness", default="0.85,1.10")
    parser.add_argument("--coupling", choices=("off", "on", "both"), default="both")
    parser.add_argument("--straightforward", default="S,M")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--quick", action="store_true", help="scaling sweep up to 2,000 agents")
    parser.add_argument("--keep", type=Path, default=None, help="keep files in this directory")
    args = parser.parse_args()
    from importlib.metadata import version

    print(
        f"optistaff scale benchmark: {os.cpu_count()} CPUs, threads={args.threads}, "
        f"OR-Tools {version('ortools')}, Python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory(prefix="optistaff-bench-") as tmp:
        work = args.keep if args.keep is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        run_cases(args, work)
        if args.scaling:
            run_sweep(args, work)
        print(f"\nbenchmark wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
