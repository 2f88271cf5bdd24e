"""Faults: a crash while writing a plan, Ctrl-C during a solve, a full disk and an
unwritable output directory. Each one keeps the promise of docs/formats.md: the plan
directory holds the complete old plan or the complete new one, nothing partial is
left, and the user gets one clear message with the documented exit code (1 for a
run-time failure, 130 for an interrupt), never a traceback."""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import optistaff
import optistaff.plan as plan_module
from optistaff.cli import main
from optistaff.errors import PlanWriteError
from optistaff.loading import load_scenario
from optistaff.plan import FILES, plan_files, read_plan, write_plan_files
from optistaff.plan_schema import PlanSummary

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
MICHELLE = SCENARIOS / "michelle.yaml"


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """Plan A (michelle) and plan B (michelle without pete): different files throughout."""
    a = optistaff.solve(MICHELLE)
    scenario = load_scenario(MICHELLE)
    b = optistaff.solve(
        type(scenario)(**{**scenario.__dict__, "agents": scenario.agents[:3] + scenario.agents[4:]})
    )
    assert a.summary["objective"] != b.summary["objective"]
    return a, b


def _summary(directory: Path) -> PlanSummary:
    summary = read_plan(directory).summary
    summary.pop("timing", None)
    return summary


def _only_the_plan(parent: Path, name: str) -> None:
    """Nothing but the plan directory (no staging or .old debris) next to it."""
    assert sorted(p.name for p in parent.iterdir()) == [name]


# -- crash mid-write: SIGKILL at seeded moments ----------------------------------------


def _slow_writer(target: str, files: dict[str, bytes], conn: Connection, exchange: bool) -> None:
    """Child process: write ``files`` over ``target`` slowly, reporting every step (each
    fsync and rename) to the parent, which kills it with SIGKILL at a moment it chooses."""
    real_fsync, real_rename = os.fsync, os.rename

    def step(name: str) -> None:
        conn.send(name)
        time.sleep(0.03)

    def fsync(fd: int) -> None:
        real_fsync(fd)
        step("fsync")

    def rename(a: Any, b: Any) -> None:
        real_rename(a, b)
        step("rename")

    os.fsync = fsync  # type: ignore[assignment]  # (this process only)
    os.rename = rename  # type: ignore[assignment]
    if not exchange:  # the portable path: two renames, the old plan kept as .old
        plan_module._exchange = lambda a, b: False
    conn.send("ready")
    write_plan_files(Path(target), files)
    conn.send("done")


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_crash_mid_write_leaves_the_old_plan_or_the_new_one(
    tmp_path: Path, two_plans: tuple[Any, Any], exchange: bool
) -> None:
    plan_a, plan_b = two_plans
    files_b = plan_files(plan_b)
    reference = tmp_path / "reference"
    want_a = _summary(plan_a.write(reference / "a"))
    want_b = _summary(plan_b.write(reference / "b"))
    rng = random.Random(20261123 + exchange)
    context = multiprocessing.get_context("fork")
    # kill after k reported steps (every phase: writing files, the swap, cleaning up),
    # then after a random pause inside the next step; last, let one write finish
    moments = [*range(9), *(rng.randrange(9) for _ in range(5)), 99]
    outcomes: dict[str, int] = {"A": 0, "B": 0, "debris": 0}
    for trial, k in enumerate(moments):
        parent = tmp_path / f"t{trial}"
        target = parent / "plan"
        plan_a.write(target)
        here, there = context.Pipe()
        child = context.Process(target=_slow_writer, args=(str(target), files_b, there, exchange))
        child.start()
        assert here.poll(30) and here.recv() == "ready"
        steps = 0
        finished = False
        while steps < k and here.poll(10):
            message = here.recv()
            if message == "done":
                finished = True
                break
            steps += 1
        if not finished:
            time.sleep(rng.uniform(0, 0.03))
        child.kill()  # SIGKILL: no cleanup, no finally
        child.join(10)
        assert child.exitcode in (-signal.SIGKILL, 0)
        got = _summary(target)  # verifies every file's sha256 against summary.json
        assert got in (want_a, want_b), f"trial {trial} (k={k}): a mixed plan"
        # what read_plan read: the plan directory, or (killed between the two renames of
        # the portable path) the old plan under its .old name
        visible = target if target.exists() else parent / ".plan.old"
        assert not exchange or visible == target
        assert sorted(p.name for p in visible.iterdir()) == sorted(FILES)
        outcomes["A" if got == want_a else "B"] += 1
        outcomes["debris"] += len(list(parent.iterdir())) > 1
        # the next write over a crashed one still works, is complete, and clears the
        # crashed writer's debris (its process is gone)
        plan_b.write(target)
        assert _summary(target) == want_b
        assert sorted(p.name for p in parent.iterdir()) == ["plan"], trial
    print(f"crash mid-write ({'renameat2' if exchange else 'two renames'}): {outcomes}")
    assert outcomes["A"] and outcomes["B"], outcomes  # kills landed before and after the swap
    assert outcomes["debris"], outcomes  # and some in the middle of writing


# -- Ctrl-C ----------------------------------------------------------------------------


def _slow_scenario(directory: Path) -> Path:
    """A scenario that takes far longer than this test waits: 600 agents on 6 queues over
    a day of quarter-hours, Erlang A, with a switch penalty."""
    queues = {
        f"q{i}": {
            "value": 1 + i,
            "aht_s": 300,
            "answer_within_s": 20,
            "patience_s": 120,
            "min_service_level": 0.8,
            "forecast": [round(250 * (0.8 + 0.4 * ((t * (i + 3)) % 7) / 7), 1) for t in range(96)],
        }
        for i in range(6)
    }
    lines = ["id,skills,shift"]
    for a in range(600):
        lines.append(f"a{a},q{a % 6};q{(a * 5 + 1) % 6},00:00-00:00")
    (directory / "roster.csv").write_text("\n".join(lines) + "\n")
    import yaml

    path = directory / "slow.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "horizon": {"start": "2026-11-23 00:00", "interval_minutes": 15, "intervals": 96},
                "queues": queues,
                "agents": [{"file": "roster.csv"}],
                "policy": {"switch_penalty": 0.1, "time_limit_s": 300},
            }
        )
    )
    return path


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def test_debris_of_a_live_writer_is_left_alone(tmp_path: Path, two_plans: tuple[Any, Any]) -> None:
    """Another process writing the same plan right now keeps its staging directory."""
    plan_a, _ = two_plans
    live = tmp_path / f".plan.new-{os.getppid()}-x"
    live.mkdir()
    (live / "staffing.csv").write_text("partial")
    plan_a.write(tmp_path / "plan")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".plan.new-" + live.name[10:], "plan"]
    )


def test_ctrl_c_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    scenario = _slow_scenario(work)
    out = work / "plans" / "slow"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cli = [sys.executable, "-c", "from optistaff.cli import main; main()"]
    proc = subprocess.Popen(
        [*cli, "solve", str(scenario), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=work,
    )
    # wait until the solve is under way: the command runs (past imports) once the
    # scenario is read, and the queueing tables of this scenario alone take seconds
    deadline = time.monotonic() + 60
    started = time.monotonic()
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(f"/proc/{proc.pid}") and _cpu_seconds(proc.pid) > 2.0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the solve ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    stopped_in = time.monotonic() - interrupted
    text = stderr.decode()
    print(
        f"Ctrl-C after {interrupted - started:.1f} s: exit {proc.returncode} in {stopped_in:.2f} s"
    )
    assert proc.returncode == 130, text
    assert "interrupted" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert not out.exists()
    assert not (work / "plans").exists() or not list((work / "plans").iterdir())
    assert sorted(p.name for p in work.iterdir() if p.name != "plans") == [
        "roster.csv",
        "slow.yaml",
    ]
    assert stdout == b""


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


_INTERRUPT_AT_IMPORT = """
import importlib.abc, sys

class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "optistaff.pipeline":  # Ctrl-C while the heavy modules load
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
from optistaff.cli import main
main(sys.argv[1:])
"""


def test_ctrl_c_while_the_modules_load_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """The package imports pandas and the solver on first use, inside the command, so a
    Ctrl-C during those ~0.8 s is the same clean exit as during the search."""
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_AT_IMPORT, "solve", str(MICHELLE), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 130, proc.stderr
    assert "interrupted: nothing was written" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_ctrl_c_while_writing_leaves_the_old_plan(
    tmp_path: Path, two_plans: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """KeyboardInterrupt between two files of the new plan: exit 130, old plan intact,
    no staging directory left behind."""
    plan_a, _ = two_plans
    out = tmp_path / "plan"
    want = _summary(plan_a.write(out))
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = CliRunner().invoke(main, ["solve", str(MICHELLE), "-o", str(out)])
    monkeypatch.undo()
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output
    assert "Traceback" not in result.output
    assert _summary(out) == want
    _only_the_plan(tmp_path, "plan")


# -- full disk, unwritable directory ---------------------------------------------------


@pytest.mark.parametrize("where", ["write", "fsync", "mkdtemp"])
def test_a_full_disk_is_a_clear_error_and_the_old_plan_stays(
    tmp_path: Path, two_plans: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    plan_a, _ = two_plans
    out = tmp_path / "plan"
    want = _summary(plan_a.write(out))
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise full

    if where == "write":
        real_open = open

        def opener(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            handle = real_open(file, mode, *args, **kwargs)
            if "w" in mode and ".new-" in str(file) and str(file).endswith(".csv"):
                handle.write = fail  # type: ignore[method-assign]  # disk full at the CSVs
            return handle

        monkeypatch.setattr("builtins.open", opener)
    elif where == "fsync":
        monkeypatch.setattr(os, "fsync", fail)
    else:
        monkeypatch.setattr(plan_module.tempfile, "mkdtemp", fail)
    result = CliRunner().invoke(main, ["solve", str(MICHELLE), "-o", str(out)])
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert f"error: cannot write the plan to {out}: No space left on device" in result.output
    assert "free some space" in result.output
    assert "Traceback" not in result.output
    assert _summary(out) == want
    _only_the_plan(tmp_path, "plan")


def test_a_permission_denied_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EACCES (simulated: these tests may run as root, who may write anywhere)."""

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(plan_module.tempfile, "mkdtemp", denied)
    out = tmp_path / "locked" / "plan"
    result = CliRunner().invoke(main, ["solve", str(MICHELLE), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "cannot write the plan" in result.output and "Permission denied" in result.output
    assert "choose a directory you can write to" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_a_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = CliRunner().invoke(main, ["solve", str(MICHELLE), "-o", str(locked / "plan")])
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 1, result.output
    assert "Permission denied" in result.output
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "not-a-plan", "under-a-file"])
def test_an_output_path_that_is_not_a_plan_directory(tmp_path: Path, kind: str) -> None:
    """-o naming a file, a directory holding other things, or a path under a file."""
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("precious")
    elif kind == "not-a-plan":
        out.mkdir()
        (out / "notes.txt").write_text("precious")
    else:
        (tmp_path / "blocker").write_text("precious")
        out = tmp_path / "blocker" / "plan"
    result = CliRunner().invoke(main, ["solve", str(MICHELLE), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output
    precious = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.read_text() for p in precious] == ["precious"]


def test_write_plan_files_raises_plan_write_error_only(tmp_path: Path) -> None:
    """The library API (not only the CLI) turns OS failures into PlanWriteError."""
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(PlanWriteError, match="cannot write the plan"):
        write_plan_files(tmp_path / "blocker" / "plan", {"summary.json": b"{}"})
