"""Benchmark (not a test): the whole ``optistaff solve`` command on the M center, where
every tenth of a second goes, against a general MIP solver per interval (HiGHS).

Run::

    .venv/bin/pip install -e ".[bench]"   # (highspy, the reference)
    .venv/bin/python tests/benchmarks/bench_startup.py [--repeat 5] [--tightness 0.85,1.10]

Cases: ``optistaff generate --agents 300 --queues 10 --intervals 56 --tightness T``
(seed 0, no coupling), ``queue_model: stationary``. For each:

* the command, ``optistaff solve SCENARIO -o DIR -q`` through the installed console
  script in a fresh process (start-up, imports, reading, tables, search, naming,
  evaluation, writing, printing, exit), wall time: with an empty queue-figure cache
  (``cold``: the first run of a scenario, and of the install: no bytecode yet), then
  ``--repeat`` times with the cache filled (``warm``: any later run of the same queues),
  and with the cache off; Python writes and reads its bytecode as on a planner's machine
  (``_python_env``);
* the reference (``highs_reference.py``): per interval one HiGHS model, ordered one-hot
  staffing binaries on the precomputed curves (curves not timed), HiGHS defaults, one
  thread, ``mip_rel_gap`` 1e-9, in its own process (importing highspy after OR-Tools can
  fail); both encodings of the staffing (one-hot and ordered increments) are run and
  the faster counts; its weighted shortfall and value must equal the plan's (the
  contract's tolerances);
* ratios side by side: the reference's seconds over the command's warm median (the
  whole command), and over the plan's own solve time (``summary.json`` timing.solve_s).

Then, for the first case, where the warm command's time goes: the interpreter alone,
each top-level import (``-X importtime``), each step of the solve (timed in-process
around the pipeline's functions), and the exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
REFERENCE = HERE / "highs_reference.py"
LEVEL1_TOL = (1e-9, 1e-7)  # relative, absolute (models/00-contract.md)


def generate(out: Path, tightness: float) -> Path:
    from optistaff.generate import CenterSpec, write_center

    path = write_center(CenterSpec(300, 10, 56, tightness=tightness, seed=0), out, overwrite=True)
    text = path.read_text()
    path.write_text(re.sub(r"^policy:\n", "policy:\n  queue_model: stationary\n", text, flags=re.M))
    return path


def command(scenario: Path, out: Path, env: dict[str, str]) -> float:
    exe = BIN / "optistaff"
    started = time.perf_counter()
    subprocess.run(
        [str(exe), "solve", str(scenario), "-o", str(out), "-q"],
        check=True,
        capture_output=True,
        env=env,
    )
    return time.perf_counter() - started


def reference(scenario: Path, work: Path) -> dict[str, Any]:
    data = work / "intervals.pkl"
    subprocess.run([sys.executable, str(REFERENCE), "export", str(scenario), str(data)], check=True)
    runs = []
    for encoding in ("one-hot", "increments"):
        done = subprocess.run(
            [sys.executable, str(REFERENCE), "solve", str(data), encoding],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"]) | {"all": runs}


def agree(plan: dict[str, Any], ref: dict[str, Any]) -> bool:
    s_plan, s_ref = plan["weighted_shortfall"], ref["weighted_shortfall"]
    tol = max(LEVEL1_TOL[0] * abs(s_ref), LEVEL1_TOL[1])
    v_plan, v_ref = plan["value"], ref["value"]
    return abs(s_plan - s_ref) <= tol and abs(v_plan - v_ref) <= max(1e-6 * abs(v_ref), 1e-6)


# --------------------------------------------------------------------------------------
# where the time goes (one warm run, in-process, in a subprocess of its own)
# --------------------------------------------------------------------------------------

PHASES = (
    ("optistaff.loading", "load_scenario"),
    ("optistaff.pipeline", "build_problem"),
    ("optistaff.solvers.decomposition", "solve_allocation"),
    ("optistaff.pipeline", "disaggregate"),
    ("optistaff.pipeline", "keep_agents_in_place"),
    ("optistaff.pipeline", "fill_idle"),
    ("optistaff.pipeline", "evaluate"),
    ("optistaff.pipeline", "_assignment_table"),
)


def phases_job(scenario: str, out: str) -> None:
    """(subprocess) Time the command's steps by wrapping the pipeline's functions."""
    import importlib

    begun = time.perf_counter()
    import optistaff.cli.solve  # noqa: F401  (the command's imports)
    from optistaff import plan as plan_module
    from optistaff.cli import main

    imported = time.perf_counter()
    spent: dict[str, float] = {}

    def wrap(owner: Any, name: str, label: str) -> None:
        real = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)

    for module, name in PHASES:
        wrap(importlib.import_module(module), name, name)
    wrap(plan_module.Plan, "write", "write the plan")
    t = time.perf_counter()
    with contextlib.suppress(SystemExit):
        main(["solve", scenario, "-o", out, "-q"], standalone_mode=False)
    ran = time.perf_counter() - t
    print(json.dumps({"imports": imported - begun, "command": ran, "steps": spent}))


def breakdown(scenario: Path, out: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    bare = time.perf_counter() - t
    rows.append(("interpreter start and exit (python -c pass)", bare))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "from optistaff.cli import main; import optistaff.cli.solve; "
         "import optistaff.pipeline, optistaff.solvers.decomposition"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    own: dict[str, float] = {}  # each module's own import time, by top-level package
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| ( *)(\S+)$", line)
        if m:
            root = m.group(3).split(".")[0]
            own[root] = own.get(root, 0.0) + int(m.group(1)) / 1e6
    big = sorted(((k, v) for k, v in own.items() if v >= 0.01), key=lambda kv: -kv[1])
    rows += [(f"import {name}", seconds) for name, seconds in big]
    rows.append(("import (every other package)", sum(v for v in own.values() if v < 0.01)))
    job = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--phases", str(scenario), str(out)],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    got = json.loads(job.stdout.strip().splitlines()[-1])
    steps = got["steps"]
    for name, seconds in steps.items():
        rows.append((f"solve step: {name}", seconds))
    unlisted = got["command"] - sum(steps.values())
    rows.append(("solve steps not listed (views, printing, checks)", unlisted))
    t = time.perf_counter()
    command(scenario, out, env)
    whole = time.perf_counter() - t
    rows.append(("the whole command, this run", whole))
    rest = whole - sum(s for _n, s in rows[:-1])
    rows.append(("unaccounted (exit, in-process imports differ)", rest))
    return rows


def _python_env(work: Path) -> dict[str, str]:
    """The commands' environment as on a planner's machine: Python writes the bytecode
    of the modules it imports (the cold run) and reads it after (the warm runs), into a
    cache of its own under ``work``. (A machine that sets PYTHONDONTWRITEBYTECODE
    compiles optistaff's sources at every start: ~0.08 s more here.)"""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tightness", default="0.85,0.95,1.10")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; warm runs: {args.repeat}")
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    header = (
        f"{'case':<10}{'cold':>7}{'warm':>7}{'off':>7}{'solve':>7}"
        f"{'HiGHS':>7}{'whole':>7}{'solve':>7}  agree"
    )
    lines = [header, f"{'':<10}{'s':>7}{'s':>7}{'s':>7}{'s':>7}{'s':>7}{'×':>7}{'×':>7}"]
    first: Path | None = None
    try:
        for tight in (float(x) for x in args.tightness.split(",")):
            case = work / f"M-{tight:.2f}"
            scenario = generate(case, tight)
            first = first or scenario
            out = case / "plan"
            cache = case / "cache"
            env = dict(_python_env(work), OPTISTAFF_CACHE_DIR=str(cache))
            env.pop("OPTISTAFF_CACHE", None)
            cold = command(scenario, out, env)
            warm = [command(scenario, out, env) for _ in range(args.repeat)]
            off_env = dict(env, OPTISTAFF_CACHE="off")
            off = [command(scenario, out, off_env) for _ in range(args.repeat)]
            summary = json.loads((out / "summary.json").read_text())
            ref = reference(scenario, case)
            w, o = statistics.median(warm), statistics.median(off)
            solve_s = summary["timing"]["solve_s"]
            ok = agree(summary["objective"], ref) and summary["status"] == "optimal"
            lines.append(
                f"M {tight:<8.2f}{cold:7.2f}{w:7.2f}{o:7.2f}{solve_s:7.2f}{ref['seconds']:7.2f}"
                f"{ref['seconds'] / w:7.2f}{ref['seconds'] / solve_s:7.1f}  {'yes' if ok else 'NO'}"
            )
            print(lines[-1], flush=True)
            encodings = ", ".join(f"{r['encoding']} {r['seconds']:.2f} s" for r in ref["all"])
            print(f"    HiGHS {encodings}; warm runs {', '.join(f'{x:.2f}' for x in warm)}")
        print()
        print("\n".join(lines))
        print(
            "cold: empty queue-figure cache; warm: median of the runs with it filled; off: "
            "cache off; solve: the plan's timing.solve_s (warm); HiGHS: the faster "
            "encoding; ×: HiGHS s / warm command s, HiGHS s / solve s; agree: same level 1 "
            "and level 2 within the contract's tolerances, plan optimal"
        )
        if first is not None:
            print(f"\nwhere the warm command's time goes ({first.parent.name}):")
            env = dict(_python_env(work), OPTISTAFF_CACHE_DIR=str(first.parent / "cache"))
            for name, seconds in breakdown(first, first.parent / "plan", env):
                print(f"  {name:<52}{seconds:7.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--phases":
        phases_job(sys.argv[2], sys.argv[3])
    else:
        main()
