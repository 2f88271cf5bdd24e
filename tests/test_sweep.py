"""Sweeps (issue "Sweeps at scale"): the grid, the draws on common random numbers, the
seeds, the table serial and on a real Dask ``LocalCluster`` of two workers (equal), a
worker killed mid-sweep (no run lost), an interrupted sweep resumed (the same table),
and bad input.

Independent truth: the values of a range written out by hand; the absent agents
counted; the Poisson noise's mean and variance within 4 standard errors over many
draws; every run's rows against a plan solved here for the same varied scenario."""

from __future__ import annotations

import copy
import os
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optistaff
from optistaff.cli import main
from optistaff.errors import UsageError
from optistaff.loading import scenario_from_dict
from optistaff.sweep import SweepError, SweepSpec, parse_vary, run, run_sweep, tasks, varied

DAY: dict[str, Any] = {
    "name": "sweep-day",
    "horizon": {"start": "2026-12-02 08:00", "interval_minutes": 30, "intervals": 4},
    "queues": {
        "gold": {
            "value": 6,
            "aht_s": 300,
            "answer_within_s": 20,
            "patience_s": 120,
            "min_service_level": 0.8,
            "forecast": [8, 10, 12, 10],
        },
        "std": {
            "value": 2,
            "aht_s": 240,
            "answer_within_s": 60,
            "min_service_level": 0.6,
            "forecast": [6, 8, 9, 8],
        },
    },
    "agents": [
        *({"id": f"g{i}", "skills": ["gold"], "shift": "08:00-10:00"} for i in range(4)),
        *({"id": f"s{i}", "skills": ["std"], "shift": "08:00-10:00"} for i in range(3)),
        *({"id": f"m{i}", "skills": ["gold", "std"], "shift": "08:00-10:00"} for i in range(3)),
        {"id": "ot", "skills": ["gold"], "shift": "08:00-10:00", "optional": True, "cost": 5},
    ],
    "policy": {"queue_model": "stationary"},
}
SPEC = SweepSpec(
    varies=(parse_vary("forecast=0.9:1.1:0.1"), parse_vary("absence=0:0.2:0.1")),
    draws=2,
    volume_noise=True,
    seed=5,
)


def _scenario() -> optistaff.Scenario:
    return scenario_from_dict(copy.deepcopy(DAY), source_name="sweep-day.yaml")


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["solve_s"]).sort_values(["run", "queue"]).reset_index(drop=True)


# -- the grid -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        ("forecast=0.8:1.2:0.1", (0.8, 0.9, 1.0, 1.1, 1.2)),
        ("absence=0:0.1:0.05", (0.0, 0.05, 0.1)),
        ("aht=1.1", (1.1,)),
        ("forecast.gold=1:1.5:0.25", (1.0, 1.25, 1.5)),
        ("overtime=on,off", ("on", "off")),
    ],
)
def test_a_range_includes_both_ends_in_decimal_steps(spec: str, values: tuple[Any, ...]) -> None:
    assert parse_vary(spec, ["gold", "std"]).values == values


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("forecast=1.2:0.8:0.1", "descending"),
        ("forecast=0.8:1.2:0.3", "whole number of steps"),
        ("forecast=0.8:1.2:0", "step must be > 0"),
        ("forecast=nan", "finite"),
        ("forecast=0.8:inf:0.1", "finite"),
        ("volume=1.1", "unknown key"),
        ("forecast.silver=1.1", "unknown queue 'silver'"),
        ("absence=0:1:0.5", "share in [0, 1)"),
        ("overtime=maybe", "on, off or on,off"),
        ("forecast", "KEY=START:STOP:STEP"),
        ("forecast=1:2", "KEY=START:STOP:STEP or KEY=X"),
    ],
)
def test_bad_variations_say_what_is_allowed(spec: str, needle: str) -> None:
    import re

    with pytest.raises(UsageError, match=re.escape(needle)):
        parse_vary(spec, ["gold", "std"])


def test_absences_are_exact_nested_and_common_to_every_point() -> None:
    sc = _scenario()
    by_point: dict[tuple[Any, ...], dict[int, set[str]]] = {}
    for task in tasks([sc], SPEC):
        point = dict(task.point)
        present = {a.id for a in varied(task).agents}
        gone = {a.id for a in sc.agents} - present
        assert len(gone) == round(point["absence"] * 10) and "ot" not in gone
        by_point.setdefault((point["forecast"], point["absence"]), {})[task.draw] = gone
    for draw in range(2):
        for forecast in (0.9, 1.0, 1.1):
            # the same draw at every forecast factor, and nested in the share
            assert by_point[(forecast, 0.1)][draw] == by_point[(0.9, 0.1)][draw]
            assert by_point[(forecast, 0.1)][draw] <= by_point[(forecast, 0.2)][draw]
    assert by_point[(1.0, 0.2)][0] != by_point[(1.0, 0.2)][1]  # (draws differ)


def test_volume_noise_is_poisson_around_the_scaled_forecast() -> None:
    sc = _scenario()
    spec = SweepSpec(varies=(parse_vary("forecast=1.5"),), draws=600, volume_noise=True)
    calls = np.array(
        [varied(t).queue("gold").forecast for t in tasks([sc], replace_max(spec, 10_000))]
    )
    want = 1.5 * np.array(DAY["queues"]["gold"]["forecast"], dtype=float)
    assert np.all(calls == np.round(calls))
    n = len(calls)
    mean, var = calls.mean(axis=0), calls.var(axis=0, ddof=1)
    assert np.all(np.abs(mean - want) <= 4 * np.sqrt(want / n))
    # the sample variance of a Poisson law: Var(s²) ≈ (λ + 2λ²) / n
    assert np.all(np.abs(var - want) <= 4 * np.sqrt((want + 2 * want**2) / n))


def replace_max(spec: SweepSpec, cap: int) -> SweepSpec:
    from dataclasses import replace

    return replace(spec, max_runs=cap)


def test_noise_is_common_across_points_and_seeds_do_not_depend_on_order() -> None:
    sc = _scenario()
    spec = SweepSpec(varies=(parse_vary("forecast=1:2:1"),), draws=3, volume_noise=True, seed=1)
    runs = tasks([sc], spec)
    low = {t.draw: varied(t).queue("gold").forecast for t in runs if dict(t.point)["forecast"] == 1}
    high = {
        t.draw: varied(t).queue("gold").forecast for t in runs if dict(t.point)["forecast"] == 2
    }
    for draw in range(3):  # one uniform per cell, inverted at both means: never fewer calls
        assert all(h >= lo for h, lo in zip(high[draw], low[draw], strict=True))
    other = scenario_from_dict({**copy.deepcopy(DAY), "name": "other"})
    both = tasks([other, sc], spec)
    assert {t.key: t.seed for t in both if t.scenario_name == "sweep-day"} == {
        t.key: t.seed for t in runs
    }
    with pytest.raises(UsageError, match="--max-runs 6"):
        tasks([sc], replace_max(spec, 5))


def test_a_runs_rows_are_the_plan_of_its_varied_scenario() -> None:
    (task, *_rest) = [t for t in tasks([_scenario()], SPEC) if dict(t.point)["absence"] == 0.1]
    rows = run(task)
    plan = optistaff.solve(varied(task))
    assert [r["queue"] for r in rows] == ["gold", "std"]
    for row in rows:
        q = plan.summary["queues"][row["queue"]]
        assert row["status"] == "optimal" and row["reproducible"]
        assert row["service_level"] == pytest.approx(q["service_level"])
        assert row["weighted_shortfall"] == pytest.approx(q["weighted_shortfall"])
        assert row["total"] == pytest.approx(plan.objective["total"])
        assert row["agents"] == 10  # one of the ten regular agents absent


# -- serial, distributed, killed, resumed --------------------------------------------


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("sweep") / "serial"
    result = run_sweep([_scenario()], SPEC, out, workers=1)
    assert result.computed == 18 and result.failed == 0
    assert (out / "results.parquet").is_file() and (out / "results.csv").is_file()
    return result.table


@pytest.fixture(scope="module")
def cluster() -> Any:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as c:
        yield c


def test_the_distributed_table_equals_the_serial_one(
    serial: pd.DataFrame, cluster: Any, tmp_path: Path
) -> None:
    result = run_sweep([_scenario()], SPEC, tmp_path / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial))
    read = optistaff.sweep.read_results(tmp_path / "dask")
    pd.testing.assert_frame_equal(_comparable(read), _comparable(serial))


def test_an_interrupted_sweep_resumes_to_the_same_table(
    serial: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "cut"
    seen: list[int] = []

    def stop_half_way(done: int, total: int) -> None:
        seen.append(done)
        if done >= 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep([_scenario()], SPEC, out, workers=1, progress=stop_half_way)
    assert len(list((out / "runs").glob("*.json"))) == 7
    # a crash mid-write leaves a broken file: it is recomputed, not trusted
    broken = sorted((out / "runs").glob("*.json"))[0]
    broken.write_text('{"key": "')
    with pytest.raises(UsageError, match="--resume"):
        run_sweep([_scenario()], SPEC, out, workers=1)
    result = run_sweep([_scenario()], SPEC, out, workers=1, resume=True)
    assert (result.resumed, result.computed) == (6, 12)
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial))


def test_a_worker_killed_mid_sweep_loses_no_run(
    serial: pd.DataFrame, cluster: Any, tmp_path: Path
) -> None:
    from distributed import Client

    spec = SweepSpec(varies=SPEC.varies, draws=SPEC.draws, volume_noise=True, seed=5)
    killed = threading.Event()
    with Client(cluster) as client:
        pids = list(client.run(os.getpid).values())

    def kill_one(done: int, total: int) -> None:
        if done >= 3 and not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)

    result = run_sweep(
        [_scenario()],
        spec,
        tmp_path / "killed",
        scheduler=cluster.scheduler_address,
        progress=kill_one,
    )
    assert killed.is_set() and result.failed == 0
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial))


def test_a_work_limited_sweep_is_the_same_everywhere_feasible_rows_included(
    cluster: Any, tmp_path: Path
) -> None:
    # a work limit small enough that no run proves its optimum: every run ends
    # `feasible`, stopped by its work, and the tables still agree
    spec = SweepSpec(varies=SPEC.varies[:1], draws=2, volume_noise=True, seed=5, work_limit=0.002)
    one = run_sweep([_scenario()], spec, tmp_path / "serial", workers=1)
    two = run_sweep([_scenario()], spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert set(one.table["status"]) == {"feasible"} and one.table["reproducible"].all()
    pd.testing.assert_frame_equal(_comparable(two.table), _comparable(one.table))


def test_a_failed_run_is_a_row_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import optistaff.sweep as sweep

    real = sweep.varied

    def flaky(task: Any) -> Any:
        if dict(task.point)["forecast"] == 1.1 and task.draw == 1:
            raise RuntimeError("the solver crashed")
        return real(task)

    monkeypatch.setattr(sweep, "varied", flaky)
    result = run_sweep([_scenario()], SPEC, tmp_path / "failed", workers=1)
    failed = result.table[result.table["status"] == "failed"]
    assert result.failed == 3 and set(failed["error"]) == {"RuntimeError: the solver crashed"}


# -- the command -------------------------------------------------------------------


def _write_day(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(DAY))
    return path


def test_the_command_writes_the_table_and_the_plot(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = [
        "sweep",
        str(_write_day(tmp_path)),
        "--vary",
        "forecast=0.9:1.1:0.1",
        "--draws",
        "2",
        "--workers",
        "1",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "6 runs (6 computed" in result.output and "optimal 6" in result.output
    table = pd.read_parquet(out / "results.parquet")
    assert sorted(table["forecast"].unique()) == [0.9, 1.0, 1.1]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0 and "0 computed, 6 from before" in again.output


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--vary", "forecast=1.2:0.8:0.1"], 2, "descending"),
        (["--vary", "speed=1"], 2, "unknown key"),
        (["--vary", "forecast=1", "--vary", "forecast=1.1"], 2, "given twice"),
        (["--draws", "0"], 2, "draws"),
        (["--draws", "3000"], 2, "--max-runs 3000"),
        (["--scheduler", "tcp://127.0.0.1:9"], 1, "cannot reach the Dask scheduler"),
    ],
)
def test_bad_sweeps_are_one_message_and_write_nothing(
    tmp_path: Path, args: list[str], code: int, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optistaff.sweep as sweep

    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 2.0)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(_write_day(tmp_path)), *args, "-o", str(out)])
    assert result.exit_code == code, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_worker_of_another_version_is_refused(cluster: Any, tmp_path: Path) -> None:
    from distributed import Client

    import optistaff.sweep as sweep

    with Client(cluster) as client:
        client.run(lambda: setattr(__import__("optistaff"), "__version__", "0.0.0-other"))
        try:
            with pytest.raises(SweepError, match="another optistaff version"):
                run_sweep([_scenario()], SPEC, tmp_path / "v", scheduler=cluster.scheduler_address)
        finally:
            client.run(lambda: setattr(__import__("optistaff"), "__version__", sweep.__version__))
    assert not (tmp_path / "v").exists()


def test_a_simulated_run_carries_the_simulators_figures() -> None:
    from dataclasses import replace

    from optistaff.simulate import simulate_plan

    spec = replace(SPEC, simulate=30)
    task = tasks([_scenario()], spec)[4]
    rows = run(task)
    plan = optistaff.solve(varied(task))
    report = simulate_plan(plan, replications=30, seed=task.seed % (2**31 - 1), workers=1)
    for row in rows:
        want = report.queues.loc[row["queue"]]
        assert row["service_level_simulated"] == pytest.approx(want["service_level_simulated"])
        assert row["abandon_rate_simulated"] == pytest.approx(want["abandon_rate_simulated"])
