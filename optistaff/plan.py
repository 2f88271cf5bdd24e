"""The plan: tidy DataFrames, and the plan directory (write atomically, read and verify).

A plan directory holds ``scenario.yaml`` (the resolved scenario), ``summary.json``,
``staffing.csv`` and ``assignments.csv`` (docs/formats.md). ``summary.json`` also records
the sha256 of the three other files, so :func:`read_plan` refuses a directory whose
files do not belong together.

Writing is atomic: the files are written and fsynced in a fresh sibling directory,
which then replaces the old plan in one step (``renameat2(RENAME_EXCHANGE)`` on
Linux; elsewhere two renames, with the old plan kept under a ``.old`` name until the
new one is in place, which :func:`read_plan` falls back to). A staging directory
left by a writer killed mid-write (SIGKILL) is removed by the next write to the same
plan once its writer's process is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import io
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, overload

import yaml

from optistaff.errors import PlanError, PlanWriteError, ScenarioError
from optistaff.plan_schema import (
    ASSIGNMENT_COLUMNS,
    STAFFING_COLUMNS,
    TIME_VARYING_COLUMNS,
    Objective,
    PlanSummary,
)
from optistaff.scenario import Scenario
from optistaff.solvers import SolveStatus
from optistaff.tables import DATE_FORMAT as DATE_FORMAT
from optistaff.tables import Table

if TYPE_CHECKING:  # (imported where a DataFrame is made: optistaff.tables)
    import pandas as pd

FILES = ("scenario.yaml", "summary.json", "staffing.csv", "assignments.csv")


class _Frame:
    """A plan's table: given as a DataFrame or as a :class:`~optistaff.tables.Table` (the
    pipeline's rows), read as a DataFrame, made from the rows on first access (pandas is
    not imported by a command that never reads one: ``optistaff.tables``)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, plan: None, owner: type | None = None) -> _Frame: ...
    @overload
    def __get__(self, plan: Plan, owner: type | None = None) -> pd.DataFrame: ...
    def __get__(self, plan: Plan | None, owner: type | None = None) -> pd.DataFrame | _Frame:
        if plan is None:  # (the dataclass asks for a default: there is none)
            raise AttributeError(self.slot[1:])
        value = plan.__dict__[self.slot]
        if isinstance(value, Table):
            value = plan.__dict__[self.slot] = value.frame()
        return cast("pd.DataFrame", value)

    def __set__(self, plan: Plan, value: pd.DataFrame | Table) -> None:
        plan.__dict__[self.slot] = value


@dataclass(frozen=True, repr=False)
class Plan:
    """A solved (or read) plan.

    ``staffing``: one row per (interval_start, queue), columns
    :data:`~optistaff.plan_schema.STAFFING_COLUMNS`; ``assignments``: one row per (agent,
    interval_start) with ``queue`` (NA when unassigned), columns
    :data:`~optistaff.plan_schema.ASSIGNMENT_COLUMNS`; ``summary``: the content of
    summary.json (:class:`~optistaff.plan_schema.PlanSummary`).
    """

    scenario: Scenario
    status: SolveStatus
    summary: PlanSummary
    staffing: _Frame = _Frame()
    assignments: _Frame = _Frame()

    @property
    def objective(self) -> Objective:
        """Objective parts: weighted_shortfall, value, cost, switching, switches, total."""
        return self.summary["objective"]

    @property
    def queues(self) -> pd.DataFrame:
        """Per-queue totals (one row per queue, index ``queue``)."""
        import pandas as pd

        frame = pd.DataFrame.from_dict(self.summary["queues"], orient="index")
        frame.index.name = "queue"
        return frame

    @property
    def called_in(self) -> list[str]:
        return self.summary["called_in"]

    def __repr__(self) -> str:
        """One line (the dataclass's own repr prints every table: ~60 KB)."""
        sc, obj = self.scenario, self.objective
        model = self.summary.get("queue_model", "stationary")
        return (
            f"<Plan {sc.name!r}: {self.status}, {model}; weighted shortfall "
            f"{obj['weighted_shortfall']:,.3f}, total {obj['total']:,.3f}; "
            f"{len(sc.agents)} agents, {len(sc.queues)} queues, "
            f"{sc.horizon.intervals} intervals>"
        )

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write the plan directory atomically; returns its path."""
        return write_plan_files(Path(directory), plan_files(self))


# -- serialising -----------------------------------------------------------------------


def staffing_csv(plan: Plan) -> str:
    """staffing.csv's text."""
    return _csv(plan.__dict__["_staffing"])


def assignments_csv(plan: Plan) -> str:
    """assignments.csv's text."""
    return _csv(plan.__dict__["_assignments"])


def _csv(table: pd.DataFrame | Table) -> str:
    """A table's CSV text: from the rows when no DataFrame was made (the same bytes)."""
    if isinstance(table, Table):
        return table.csv()
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n", date_format=DATE_FORMAT)
    return buf.getvalue()


# libyaml's emitter (shipped in PyYAML's wheels) is ~3x faster on big rosters; the
# pure-Python one is the fallback where PyYAML was built without it.
_YAML_DUMPER: type[yaml.SafeDumper] | type[yaml.CSafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML, written with libyaml's emitter where PyYAML has it.

    Both emitters give the same bytes for plain names (every scenario in ``scenarios/``)
    and both reload to an equal scenario; they differ in style only for exotic text —
    mapping keys of around 128 characters or more (``? key``; libyaml counts UTF-8
    bytes), characters outside the Basic Multilingual Plane such as emoji (libyaml
    writes ``\\U0001F600``), and the folding of long double-quoted strings. The choice
    is fixed per installation, so the same input gives identical files on one machine;
    two machines agree byte for byte on such names only if both have (or both lack)
    libyaml.
    """
    return yaml.dump(
        scenario.to_dict(),
        Dumper=_YAML_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def plan_files(plan: Plan, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The four files of a plan (and ``extra`` ones, e.g. a replan's actions.csv), as
    bytes; summary.json records the others' hashes."""
    files = {
        "scenario.yaml": scenario_yaml(plan.scenario).encode(),
        "staffing.csv": staffing_csv(plan).encode(),
        "assignments.csv": assignments_csv(plan).encode(),
        **(extra or {}),
    }
    summary = plan.summary.copy()
    summary["files"] = {name: _sha256(data) for name, data in sorted(files.items())}
    timing = summary.pop("timing", None)
    if timing is not None:
        summary["timing"] = timing  # keep the only varying block last
    files["summary.json"] = (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode()
    return files


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- atomic writing --------------------------------------------------------------------

_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_plan_files(directory: Path, files: dict[str, bytes]) -> Path:
    """Replace ``directory`` with exactly ``files``, atomically (see module docstring)."""
    directory = directory.absolute()
    parent = directory.parent
    try:
        if directory.exists() and not directory.is_dir():
            raise PlanWriteError(f"{directory}: exists and is not a directory")
        if (
            directory.is_dir()
            and any(directory.iterdir())
            and not (directory / "summary.json").exists()
        ):
            raise PlanWriteError(
                f"{directory}: exists and is not a plan directory (no summary.json); "
                "choose another output directory"
            )
        parent.mkdir(parents=True, exist_ok=True)
        _sweep_debris(parent, directory.name)
        prefix = f".{directory.name}.new-{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        raise PlanWriteError(_write_failure(directory, exc)) from exc
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(staging)
        if directory.exists():
            if _exchange(staging, directory):
                _fsync_dir(parent)
                shutil.rmtree(staging, ignore_errors=True)
                # a portable writer killed before its cleanup left an .old copy
                shutil.rmtree(parent / f".{directory.name}.old", ignore_errors=True)
                return directory
            old = parent / f".{directory.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.rename(directory, old)
            os.rename(staging, directory)
            _fsync_dir(parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, directory)
            _fsync_dir(parent)
            # a writer killed between its two renames left the old plan as .old, where
            # read_plan found it until now
            shutil.rmtree(parent / f".{directory.name}.old", ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PlanWriteError(_write_failure(directory, exc)) from exc
    except BaseException:  # Ctrl-C (KeyboardInterrupt) or any other error: no debris
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def write_file_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write one file (a report, an export) atomically: a complete file or none. The
    bytes go to a hidden temporary file beside it (opened with "x": never clobbering one),
    then replace the target in one rename; on any failure the temporary file goes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as fh:  # umask applies
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _sweep_debris(parent: Path, name: str) -> None:
    """Remove the staging directories of earlier writes to ``name`` whose process is gone
    (killed with SIGKILL mid-write: no ``finally`` ran). A staging directory's name
    carries its writer's process id; one whose writer still runs is left alone."""
    for stale in parent.glob(f".{name}.new-*"):
        pid_text = stale.name[len(f".{name}.new-") :].split("-", 1)[0]
        if not pid_text.isdigit() or not stale.is_dir():
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(stale, ignore_errors=True)
        except OSError:  # alive but not ours (EPERM): leave it
            continue


def _write_failure(directory: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "; free some space (the previous plan there, if any, is unchanged)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "; choose a directory you can write to with -o"
    return f"cannot write the plan to {directory}: {reason}{hint}"


# -- reading ---------------------------------------------------------------------------


def read_plan(directory: str | os.PathLike[str]) -> Plan:
    """Read a plan directory, checking that its files belong together."""
    import pandas as pd

    from optistaff.loading import load_scenario

    path = Path(directory)
    if not path.is_dir():
        old = path.parent / f".{path.name}.old"
        if old.is_dir():  # a crash between the two renames of a non-Linux write
            path = old
        else:
            raise PlanError(f"{directory}: no plan directory here")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise PlanError(f"{directory}: not a complete plan (missing {', '.join(missing)})")
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path / 'summary.json'}: unreadable ({exc})") from exc
    recorded = summary.get("files", {}) if isinstance(summary, dict) else {}
    for name in FILES:
        if name == "summary.json":
            continue
        try:
            actual = _sha256((path / name).read_bytes())
        except OSError as exc:
            raise PlanError(f"{path / name}: unreadable ({exc.strerror or exc})") from exc
        if recorded.get(name) != actual:
            raise PlanError(
                f"{path / name}: does not match summary.json (the plan's files were edited "
                "or mixed from different plans); solve again"
            )
    try:
        scenario = load_scenario(path / "scenario.yaml")
    except ScenarioError as exc:
        raise PlanError(f"{path / 'scenario.yaml'}: invalid resolved scenario:\n{exc}") from exc
    if isinstance(summary, dict):
        # the model of the plan's figures is the scenario's: a plan written before the
        # default became time_varying has no queue_model in scenario.yaml, and is stationary
        model: Any = summary.get("queue_model", "stationary")
        if model in ("stationary", "time_varying") and scenario.policy.queue_model != model:
            scenario = replace(scenario, policy=replace(scenario.policy, queue_model=model))
    named = summary.get("scenario")
    recorded_hash = named.get("content_hash") if isinstance(named, dict) else None
    if recorded_hash != scenario.content_hash():
        raise PlanError(
            f"{path / 'summary.json'}: its scenario content hash does not match scenario.yaml "
            "(the plan's files were edited or mixed from different plans); solve again"
        )
    try:
        status = SolveStatus(summary["status"])
    except (KeyError, ValueError) as exc:
        raise PlanError(f"{path / 'summary.json'}: no valid status ({exc})") from exc
    staffing = read_staffing_csv(path / "staffing.csv")
    assignments = pd.read_csv(
        path / "assignments.csv", dtype={"agent": str, "queue": str}, keep_default_na=False
    )
    _check_columns(path / "assignments.csv", assignments, ASSIGNMENT_COLUMNS)
    # (pandas' string dtype with NA for an unassigned interval, as the solve's own frame)
    queue = assignments["queue"].astype("string")
    assignments["queue"] = queue.mask(queue == "")
    assignments["interval_start"] = pd.to_datetime(
        assignments["interval_start"], format=DATE_FORMAT
    )
    return Plan(
        scenario=scenario,
        status=status,
        summary=cast(PlanSummary, summary),  # its files, scenario and status checked above
        staffing=staffing,
        assignments=assignments,
    )


def read_staffing_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    staffing = pd.read_csv(path, dtype={"queue": str})
    columns = TIME_VARYING_COLUMNS if "unanswered_at_end_calls" in staffing else STAFFING_COLUMNS
    _check_columns(path, staffing, columns)
    staffing["interval_start"] = pd.to_datetime(staffing["interval_start"], format=DATE_FORMAT)
    staffing["required_agents"] = staffing["required_agents"].astype("Int64")
    return staffing


def _check_columns(path: Path, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    if tuple(frame.columns) != columns:
        raise PlanError(
            f"{path}: columns {', '.join(map(str, frame.columns))}; a plan's {path.name} has "
            f"{', '.join(columns)}"
        )
