"""Sweeps: a grid of what-ifs times random draws, every run solved, one tidy table.

``optistaff sweep SCENARIO… --vary forecast=0.9:1.2:0.1 --vary absence=0:0.1:0.05
--draws 20 -o DIR`` (the contract of the format is ``docs/formats.md``, *Sweeps*; the
method ``models/15-sweeps.md``):

* **Grid**: the cartesian product of every ``--vary`` (both ends included, decimal
  steps), per scenario. **Draws**: ``--draws N`` random draws per grid point — an
  absence draw takes exactly round(p·N) of the non-optional agents (the first of one
  random order of them per draw: the same draws at every grid point, nested in p), and
  ``--volume-noise`` draws each interval's calls from a Poisson law around the scaled
  forecast by inverting its CDF at one uniform per (draw, queue, interval), so grid
  points compare on common random numbers.
* **Seeds** come from (scenario hash, draw, sweep seed) and the run's own seed from
  (scenario hash, grid point, draw, sweep seed): never from the order of submission.
* **Runs** are independent tasks carrying their resolved scenario (plain data, not a
  path); each is solved single-threaded with the given time limit (and simulated
  with ``--simulate R``) and returns its rows. The client writes each run's rows
  atomically under ``DIR/runs/`` as it finishes, keyed by everything the run depends
  on; ``--resume`` skips the runs already written.
* **Where**: in this process (``workers=1``), on a Dask ``LocalCluster`` this module
  starts and stops, or on an existing scheduler (its address). A worker whose
  optistaff version differs is refused before anything runs.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from optistaff import __version__
from optistaff.errors import OptistaffError, UsageError
from optistaff.scenario import Scenario

#: Above this many runs a sweep needs ``max_runs`` (``--max-runs``) raised to its size.
MAX_RUNS = 2_000
#: Values one ``--vary`` may take.
MAX_VALUES = 1_000
#: A Dask worker that dies while running a task (its process ended) has the task
#: retried on another worker this many times before the run fails (Dask's
#: ``distributed.scheduler.allowed-failures``, set by this module).
ALLOWED_FAILURES = 3
#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT_S = 10.0

VARY_KEYS = ("forecast", "aht", "absence", "overtime")


class SweepError(OptistaffError):
    """A sweep could not run where it was asked to (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Vary:
    """One ``--vary``: a key (``forecast``, ``forecast.QUEUE``, ``aht``, ``absence``,
    ``overtime``) and its values, in order."""

    key: str
    values: tuple[Any, ...]
    spec: str = ""  # as written (``KEY=START:STOP:STEP``)

    @property
    def column(self) -> str:
        """The column of the results table that holds this variation's value."""
        return self.key.replace(".", "_")


def _decimal(text: str, spec: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UsageError(f"--vary {spec}: {text!r} is not a number") from None
    if not value.is_finite():
        raise UsageError(f"--vary {spec}: {text!r} is not a finite number")
    return value


def parse_vary(spec: str, queue_ids: Iterable[str] = ()) -> Vary:
    """``KEY=START:STOP:STEP`` (both ends included: ``0.8:1.2:0.1`` is 5 values), a
    single value ``KEY=X``, or for ``overtime`` ``on``, ``off`` or ``on,off``;
    UsageError with what is allowed otherwise."""
    key, sep, rest = spec.partition("=")
    key, rest = key.strip(), rest.strip()
    allowed = "forecast, forecast.QUEUE, aht, absence, overtime"
    if not sep or not rest:
        raise UsageError(f"--vary {spec!r}: must be KEY=START:STOP:STEP (keys: {allowed})")
    base, dot, queue = key.partition(".")
    if base not in VARY_KEYS or (dot and base != "forecast"):
        raise UsageError(f"--vary {spec!r}: unknown key {key!r} (keys: {allowed})")
    queues = list(queue_ids)
    if dot and queues and queue not in queues:
        raise UsageError(f"--vary {spec!r}: unknown queue {queue!r} (queues: {', '.join(queues)})")
    if base == "overtime":
        values = [v.strip() for v in rest.split(",")]
        if (
            not values
            or any(v not in ("on", "off") for v in values)
            or len(set(values)) < len(values)
        ):
            raise UsageError(f"--vary {spec!r}: overtime takes on, off or on,off")
        return Vary(key, tuple(values), spec)
    parts = rest.split(":")
    if len(parts) == 1:
        numbers = [_decimal(parts[0], spec)]
    elif len(parts) == 3:
        start, stop, step = (_decimal(p, spec) for p in parts)
        if step <= 0:
            raise UsageError(f"--vary {spec!r}: the step must be > 0")
        if stop < start:
            raise UsageError(
                f"--vary {spec!r}: a descending range (start {start} > stop {stop}); "
                "write it ascending"
            )
        count = (stop - start) / step
        if count != count.to_integral_value():
            raise UsageError(
                f"--vary {spec!r}: ({stop} − {start}) is not a whole number of steps of "
                f"{step} (both ends are included)"
            )
        if count + 1 > MAX_VALUES:
            raise UsageError(f"--vary {spec!r}: {count + 1} values, at most {MAX_VALUES}")
        numbers = [start + i * step for i in range(int(count) + 1)]
    else:
        raise UsageError(f"--vary {spec!r}: must be KEY=START:STOP:STEP or KEY=X")
    lo, hi = (Decimal(0), Decimal(1)) if base == "absence" else (Decimal("0.01"), Decimal(100))
    bad = [n for n in numbers if not lo <= n <= hi]
    if bad or (base == "absence" and numbers[-1] >= 1):
        what = "a share in [0, 1)" if base == "absence" else f"a factor in [{lo}, {hi}]"
        raise UsageError(f"--vary {spec!r}: {key} must be {what}, got {bad[0] if bad else 1}")
    return Vary(key, tuple(float(n) for n in numbers), spec)


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep: what varies, how many draws, the solve settings."""

    varies: tuple[Vary, ...] = ()
    draws: int = 1
    volume_noise: bool = False
    seed: int = 0
    time_limit_s: float | None = None
    #: a deterministic work limit per run (``optistaff.solvers.clock``) instead of seconds
    work_limit: float | None = None
    simulate: int = 0
    max_runs: int = MAX_RUNS

    def points(self) -> list[tuple[Any, ...]]:
        """The grid points: one value per variation (one point with none)."""
        return list(itertools.product(*(v.values for v in self.varies)))

    def settings(self) -> dict[str, Any]:
        """What every run depends on besides its scenario, point and draw."""
        return {
            "volume_noise": self.volume_noise,
            "seed": self.seed,
            "time_limit_s": self.time_limit_s,
            "work_limit": self.work_limit,
            "simulate": self.simulate,
            "version": __version__,
        }


@dataclass(frozen=True)
class Task:
    """One run: the resolved scenario as plain data (workers need no file), the grid
    point, the draw, and what the run is keyed by."""

    key: str
    scenario_name: str
    scenario_hash: str
    scenario: dict[str, Any]
    point: tuple[tuple[str, Any], ...]
    draw: int
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)


def _seed(*parts: Any) -> int:
    """A 63-bit seed from ``parts`` (sha256 of their JSON: stable across processes)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> 1


def run_key(
    scenario_hash: str, point: Sequence[tuple[str, Any]], draw: int, settings: Mapping[str, Any]
) -> str:
    """The file name of a run: a digest of everything its rows depend on."""
    blob = json.dumps([scenario_hash, list(point), draw, dict(settings)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def tasks(scenarios: Sequence[Scenario], spec: SweepSpec) -> list[Task]:
    """Every run of the sweep, scenario by scenario, draw by draw, point by point;
    UsageError when there are more than ``spec.max_runs``."""
    points = spec.points()
    count = len(scenarios) * len(points) * spec.draws
    if count > spec.max_runs:
        raise UsageError(
            f"the sweep has {count:,} runs, more than {spec.max_runs:,}: pass --max-runs "
            f"{count} to run it anyway (or fewer values or draws)"
        )
    out = []
    settings = spec.settings()
    for sc in scenarios:
        data = sc.to_dict()
        digest = sc.content_hash()
        # draw by draw: the runs of one draw share their random day, and one after
        # another on a worker they reuse the time-varying figures of every queue-day
        # they leave alone (time_varying's memo)
        for draw, point in itertools.product(range(spec.draws), points):
            named = tuple((v.key, value) for v, value in zip(spec.varies, point, strict=True))
            out.append(
                Task(
                    key=run_key(digest, named, draw, settings),
                    scenario_name=sc.name,
                    scenario_hash=digest,
                    scenario=data,
                    point=named,
                    draw=draw,
                    seed=_seed(digest, list(named), draw, spec.seed),
                    settings=settings,
                )
            )
    return out


# -- one run ----------------------------------------------------------------------------


def varied(task: Task) -> Scenario:
    """The task's scenario with its grid point and draw applied (see the module
    docstring), validated like any scenario."""
    import numpy as np

    from optistaff.loading import scenario_from_dict

    data = json.loads(json.dumps(task.scenario))
    settings = task.settings
    point = dict(task.point)
    draw_seed = _seed(task.scenario_hash, task.draw, settings.get("seed", 0))
    rng = np.random.default_rng(draw_seed)
    for qid, entry in data["queues"].items():
        factor = float(point.get("forecast", 1.0)) * float(point.get(f"forecast.{qid}", 1.0))
        entry["forecast"] = [float(x) * factor for x in entry["forecast"]]
        aht = float(point.get("aht", 1.0))
        if aht != 1.0:
            raw = entry["aht_s"]
            entry["aht_s"] = [x * aht for x in raw] if isinstance(raw, list) else raw * aht
    if settings.get("volume_noise"):
        from scipy.stats import poisson

        for qid in sorted(data["queues"]):  # (a fixed order: the draws do not depend on it)
            entry = data["queues"][qid]
            u = rng.random(len(entry["forecast"]))
            mean = np.asarray(entry["forecast"], dtype=float)
            entry["forecast"] = [
                float(x) for x in np.where(mean > 0, poisson.ppf(u, np.maximum(mean, 1e-12)), 0.0)
            ]
    regular = [a["id"] for a in data["agents"] if not a.get("optional")]
    order = list(rng.permutation(len(regular)))
    share = float(point.get("absence", 0.0))
    gone = {regular[i] for i in order[: round(share * len(regular))]}
    if point.get("overtime") == "off":
        gone |= {a["id"] for a in data["agents"] if a.get("optional")}
    if gone:
        data["agents"] = [a for a in data["agents"] if a["id"] not in gone]
        data["pins"] = [p for p in data.get("pins", []) if p["agent"] not in gone]
    data["policy"]["threads"] = 1
    data["policy"]["seed"] = task.seed % (2**31 - 1)
    if settings.get("time_limit_s") is not None:
        data["policy"]["time_limit_s"] = float(settings["time_limit_s"])
    return scenario_from_dict(data, source_name=f"<sweep {task.scenario_name}>")


def run(task: Task) -> list[dict[str, Any]]:
    """Solve one task (and simulate it with ``settings.simulate`` replications): one row
    per queue with the variation, the draw, the status, the objective parts and the
    queue's figures; a run that fails is one row with ``status: failed`` and the error."""
    began = time.perf_counter()
    base: dict[str, Any] = {
        "scenario": task.scenario_name,
        "scenario_hash": task.scenario_hash,
        **{k.replace(".", "_"): v for k, v in task.point},
        "draw": task.draw,
        "seed": task.seed,
        "run": task.key,
    }
    try:
        from optistaff.pipeline import solve

        scenario = varied(task)
        work_limit = task.settings.get("work_limit")
        plan = solve(scenario, work_limit=None if work_limit is None else float(work_limit))
        report = None
        if task.settings.get("simulate"):
            from optistaff.simulate import simulate_plan

            report = simulate_plan(
                plan,
                replications=int(task.settings["simulate"]),
                seed=task.seed % (2**31 - 1),
                workers=1,
            )
    except Exception as exc:
        return [
            {
                **base,
                "status": "failed",
                "error": f"{type(exc).__name__}: {exc}",
                "solve_s": time.perf_counter() - began,
            }
        ]
    obj = plan.objective
    hours = scenario.horizon.interval_minutes / 60.0
    shared = {
        **base,
        "status": str(plan.status),
        "reproducible": str(plan.status) == "optimal" or "work_limit" in plan.summary["solver"],
        "gap": plan.summary.get("gap"),
        "weighted_shortfall_total": float(obj["weighted_shortfall"]),
        "value_total": float(obj["value"]),
        "cost": float(obj["cost"]),
        "switches": int(obj["switches"]),
        "total": float(obj["total"]),
        "agents": len(scenario.agents),
        "called_in": len(plan.called_in),
        "solve_s": time.perf_counter() - began,
        "error": "",
    }
    rows = []
    for qid, q in plan.summary["queues"].items():
        row = {
            **shared,
            "queue": qid,
            "calls": float(q["calls"]),
            "service_level": q["service_level"],
            "abandon_rate": q["abandon_rate"],
            "shortfall_calls": float(q["shortfall_calls"]),
            "weighted_shortfall": float(q["weighted_shortfall"]),
            "agent_hours": q["agent_intervals"] * hours,
        }
        if report is not None:
            sims = report.queues
            for col in ("service_level_simulated", "abandon_rate_simulated"):
                row[col] = float(sims[col].astype(float).loc[qid])
        rows.append(row)
    return rows


def worker_version() -> str:
    """This process's optistaff version (a worker is asked before the sweep runs)."""
    import optistaff

    return optistaff.__version__


# -- the client ---------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What a sweep wrote: the table (one row per run and queue), where, and the runs
    that were computed now, taken from a previous run (``resume``), or failed."""

    table: Any  # pandas.DataFrame
    directory: Path
    computed: int
    resumed: int
    failed: int


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_run(directory: Path, task: Task, rows: list[dict[str, Any]]) -> None:
    blob = json.dumps({"key": task.key, "rows": rows}, allow_nan=True, default=str)
    _write_atomically(directory / "runs" / f"{task.key}.json", blob.encode())


def _load_run(directory: Path, key: str) -> list[dict[str, Any]] | None:
    path = directory / "runs" / f"{key}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # (missing, or left half-written by a crash: recomputed)
    rows = data.get("rows") if isinstance(data, dict) else None
    return rows if isinstance(rows, list) and data.get("key") == key else None


Progress = Callable[[int, int], None]


def run_sweep(
    scenarios: Sequence[Scenario],
    spec: SweepSpec,
    directory: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    local: LocalWorkers | None = None,
) -> SweepResult:
    """Run every task of the sweep and write the results under ``directory`` (see the
    module docstring). ``workers=1`` runs in this process; otherwise a Dask
    ``LocalCluster`` of ``workers`` processes (default: the cores) is started and
    stopped here (or ``local``, one the caller started early and closes), or
    ``scheduler`` names an existing one. ``progress(done, total)``
    is called as runs finish."""
    out = Path(directory)
    all_tasks = tasks(scenarios, spec)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "sweep.json").exists():
        raise UsageError(f"-o {out}: exists and is not a sweep directory (no sweep.json)")
    if out.is_dir() and (out / "sweep.json").exists() and not resume:
        raise UsageError(f"-o {out}: holds a sweep already; --resume it or choose another")
    definition = _definition(scenarios, spec, len(all_tasks))
    done_rows: dict[str, list[dict[str, Any]]] = {}
    todo: list[Task] = []
    for task in all_tasks:
        rows = _load_run(out, task.key) if resume else None
        if rows is None:
            todo.append(task)
        else:
            done_rows[task.key] = rows
    resumed = len(done_rows)
    total = len(all_tasks)

    def ready() -> None:
        """Called once the workers are there (nothing is written before)."""
        (out / "runs").mkdir(parents=True, exist_ok=True)
        _write_atomically(out / "sweep.json", (json.dumps(definition, indent=2) + "\n").encode())
        if progress is not None:
            progress(resumed, total)

    def finished(task: Task, rows: list[dict[str, Any]]) -> None:
        _save_run(out, task, rows)
        done_rows[task.key] = rows
        if progress is not None:
            progress(len(done_rows), total)

    if not todo:
        ready()
    elif workers == 1 and scheduler is None:
        ready()
        for task in todo:
            finished(task, run(task))
    else:
        _run_dask(todo, finished, ready, workers=workers, scheduler=scheduler, local=local)
    table = _table([done_rows[t.key] for t in all_tasks], spec)
    _write_results(out, table, definition)
    failed = sum(1 for rows in done_rows.values() if rows and rows[0].get("status") == "failed")
    return SweepResult(table, out, len(todo), resumed, failed)


def _definition(scenarios: Sequence[Scenario], spec: SweepSpec, runs: int) -> dict[str, Any]:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "scenarios": [
            {"name": s.name, "content_hash": s.content_hash(), "input_hash": s.input_hash}
            for s in scenarios
        ],
        "vary": {v.key: list(v.values) for v in spec.varies},
        "draws": spec.draws,
        "runs": runs,
        "settings": spec.settings(),
        "versions": {
            "optistaff": __version__,
            "ortools": version("ortools"),
            "dask": version("dask"),
            "distributed": version("distributed"),
        },
    }


def dask_settings() -> dict[str, Any]:
    """The Dask settings of a sweep's cluster and client."""
    import dask

    environ = {
        k: v
        for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
        if k != "MALLOC_TRIM_THRESHOLD_"
    }
    return {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # Dask's nanny makes glibc return freed memory at once (MALLOC_TRIM_THRESHOLD_);
        # a solve allocates and frees many small arrays, and ran 40 % slower with it
        "distributed.nanny.pre-spawn-environ": environ,
        # a run holds the GIL for seconds: the worker's sampling profiler (every 10 ms),
        # its event-loop tick monitor (20 ms) and system monitor (500 ms) only take the
        # GIL from it (measured: runs 12 % slower on 2 workers with them)
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "5s",
    }


class LocalWorkers:
    """A Dask ``LocalCluster`` of ``count`` worker processes (one thread each), started
    in the background as soon as this is made, each worker importing optistaff's
    solver as it starts: the command's own reading of the scenarios overlaps the
    workers' start-up. :meth:`cluster` waits for it; :meth:`close` stops it."""

    def __init__(self, count: int | None = None) -> None:
        import threading

        self.count = count or os.cpu_count() or 1
        self._cluster: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="optistaff-cluster", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            import dask
            from distributed import LocalCluster

            with dask.config.set(dask_settings()):
                self._cluster = LocalCluster(
                    n_workers=self.count,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                    memory_limit=0,  # (no memory monitor polling every 100 ms)
                    preload=["optistaff.pipeline"],
                )
        except BaseException as exc:
            self._error = exc

    def cluster(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise SweepError(f"could not start the local Dask cluster: {self._error}")
        return self._cluster

    def close(self) -> None:
        self._thread.join()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _run_dask(
    todo: Sequence[Task],
    finished: Callable[[Task, list[dict[str, Any]]], None],
    ready: Callable[[], None],
    *,
    workers: int | None,
    scheduler: str | None,
    local: LocalWorkers | None = None,
) -> None:
    try:
        import dask
        from distributed import Client, as_completed
    except ImportError as exc:
        raise UsageError(
            "sweeping on several workers needs Dask: pip install 'optistaff[sweep]' "
            "(or --workers 1 to run in this process)"
        ) from exc
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    owned: LocalWorkers | None = None
    with dask.config.set(dask_settings()):
        try:
            if address is None:
                if local is None:
                    local = owned = LocalWorkers(workers)
                client = Client(local.cluster())
            else:
                try:
                    client = Client(address, timeout=CONNECT_TIMEOUT_S)
                except (OSError, TimeoutError) as exc:
                    raise SweepError(
                        f"cannot reach the Dask scheduler at {address} ({exc}); is it running?"
                    ) from exc
            with client:
                _check_versions(client)
                ready()
                by_key = {t.key: t for t in todo}
                futures = [
                    client.submit(run, t, key=f"optistaff-run-{t.key}", pure=False) for t in todo
                ]
                for future in as_completed(futures):
                    task = by_key[future.key.removeprefix("optistaff-run-")]
                    try:
                        rows = future.result()
                    except Exception as exc:
                        rows = [
                            {
                                "scenario": task.scenario_name,
                                "scenario_hash": task.scenario_hash,
                                **{k.replace(".", "_"): v for k, v in task.point},
                                "draw": task.draw,
                                "seed": task.seed,
                                "run": task.key,
                                "status": "failed",
                                "error": f"{type(exc).__name__}: {exc}",
                            }
                        ]
                    finished(task, rows)
        finally:
            if owned is not None:
                owned.close()


def _check_versions(client: Any) -> None:
    """Refuse workers of another optistaff version (their rows would not be this one's)."""
    versions = client.run(worker_version)
    if not versions:
        raise SweepError("the Dask scheduler has no worker")
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        named = ", ".join(f"{w}: {v}" for w, v in sorted(other.items()))
        raise SweepError(
            f"workers run another optistaff version than this one ({__version__}): {named}"
        )


def _table(runs: Sequence[list[dict[str, Any]]], spec: SweepSpec) -> Any:
    import pandas as pd

    rows = [row for rows in runs for row in rows]
    frame = pd.DataFrame(rows)
    front = ["scenario", *[v.column for v in spec.varies], "draw", "queue", "status"]
    columns = [c for c in front if c in frame] + [c for c in frame if c not in front]
    return frame[columns]


def _write_results(out: Path, table: Any, definition: Mapping[str, Any]) -> None:
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    _write_atomically(out / "results.csv", buf.getvalue().encode())
    from importlib.util import find_spec

    if find_spec("pyarrow") is not None:  # (the sweep extra; without it, CSV only)
        pbuf = io.BytesIO()
        table.to_parquet(pbuf, index=False)
        _write_atomically(out / "results.parquet", pbuf.getvalue())
    summary = dict(definition)
    statuses = table.drop_duplicates("run")["status"].value_counts().to_dict()
    summary["statuses"] = {str(k): int(v) for k, v in statuses.items()}
    _write_atomically(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())


def plot(table: Any, spec: SweepSpec, path: str | os.PathLike[str]) -> Path | None:
    """Each figure (service level per queue, weighted shortfall, total) against the
    first variation: the median over draws with its 10-90 % band; None with no
    variation."""
    import numpy as np
    from matplotlib.figure import Figure

    if not spec.varies:
        return None
    x = spec.varies[0].column
    ok = table[table["status"] != "failed"]
    figures = [
        ("service_level", "service level (%)", 100.0),
        ("weighted_shortfall_total", "weighted shortfall", 1.0),
        ("total", "total value", 1.0),
    ]
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    for i, (col, label, scale) in enumerate(figures):
        ax = fig.add_subplot(1, len(figures), i + 1)
        if col == "service_level":
            for qid in ok["queue"].unique():
                part = ok[ok["queue"] == qid].groupby(x)[col]
                xs = np.array(sorted(part.groups))
                med = part.median().reindex(xs).to_numpy(dtype=float) * scale
                lo = part.quantile(0.1).reindex(xs).to_numpy(dtype=float) * scale
                hi = part.quantile(0.9).reindex(xs).to_numpy(dtype=float) * scale
                (line,) = ax.plot(xs, med, marker="o", label=str(qid))
                ax.fill_between(xs, lo, hi, alpha=0.15, color=line.get_color())
            ax.legend(fontsize=7)
        else:
            per_run = ok.drop_duplicates("run")
            part = per_run.groupby(x)[col]
            xs = np.array(sorted(part.groups))
            med = part.median().reindex(xs).to_numpy(dtype=float)
            ax.plot(xs, med, marker="o")
            ax.fill_between(
                xs,
                part.quantile(0.1).reindex(xs).to_numpy(dtype=float),
                part.quantile(0.9).reindex(xs).to_numpy(dtype=float),
                alpha=0.2,
            )
        ax.set_xlabel(spec.varies[0].key)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle("median over draws, band 10-90 %")
    target = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _write_atomically(target, buf.getvalue())
    return target


def read_results(directory: str | os.PathLike[str]) -> Any:
    """A sweep's table (its results.parquet, else results.csv) as a pandas DataFrame."""
    import pandas as pd

    path = Path(directory)
    if (path / "results.parquet").is_file():
        return pd.read_parquet(path / "results.parquet")
    if (path / "results.csv").is_file():
        return pd.read_csv(path / "results.csv")
    raise UsageError(f"{directory}: no sweep results here (results.parquet or results.csv)")
