"""Queue figures remembered on disk, keyed by their inputs: a re-run does not recompute them.

The stationary figures of a queue (:func:`optistaff.queueing.performance`) and its
required agents (:func:`optistaff.queueing.required_agents`) are deterministic functions
of their input arrays. Building a plan's tables is most of a solve's set-up (Erlang A's
integrals for every agent count of every interval: 0.3-0.5 s on a 300-agent center),
and planners solve the same queues again and again (per shift, after a change of one
queue, in sweeps). Each result is stored once under the SHA-256 of its inputs' bytes,
shapes and dtypes, of the function's name and of :data:`FORMULA_VERSION`; a later call
with the same inputs reads the stored arrays back (bit for bit what the computation
gave, so nothing downstream can tell the difference).

Where: ``$OPTISTAFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/optistaff``, else
``~/.cache/optistaff``. ``OPTISTAFF_CACHE=off`` turns it off (the test suite runs that
way; its own tests turn it on in a temporary directory). Writes are atomic (a temporary
file renamed into place), a file that cannot be read is computed again, a directory
that cannot be written is skipped silently: the cache can make a run faster, never
wrong or failing. When the directory grows over :data:`MAX_BYTES`, the least recently
written files are removed: a process looks at the directory's size at its first write
and again after every :data:`MAX_BYTES` / :data:`PRUNE_PARTS` bytes it writes (a scan
reads every file's size: scanning at every write made a cold build of a 10,000-agent
center's 200 tables take 2.5 s more with a thousand files there, and more as it grows),
so a process leaves the directory at most that much over its limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from optistaff import queueing

#: Part of every key: change it whenever a formula of optistaff.queueing changes a result.
FORMULA_VERSION = "queueing-2"
#: Size the directory is pruned to (least recently written files first).
MAX_BYTES = 512 * 2**20
#: A process scans the directory again after writing MAX_BYTES / PRUNE_PARTS bytes.
PRUNE_PARTS = 16

# bytes this process has written under each cache directory since it last scanned it
_unscanned: dict[Path, int] = {}

Arrays = dict[str, npt.NDArray[np.generic]]


def directory() -> Path | None:
    """The cache directory, or None when the cache is off."""
    if os.environ.get("OPTISTAFF_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    explicit = os.environ.get("OPTISTAFF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "optistaff"


def performance(
    calls: npt.ArrayLike,
    aht_s: npt.ArrayLike,
    interval_s: float,
    answer_within_s: float,
    agents: npt.ArrayLike,
    patience_s: float | None = None,
) -> queueing.Performance:
    """:func:`optistaff.queueing.performance` of one queue (scalars Δ, τ, patience;
    arrays of calls, AHT, agents of one shape), remembered."""
    c, h, n = (np.asarray(v, dtype=np.float64) for v in (calls, aht_s, agents))

    def compute() -> Arrays:
        perf = queueing.performance(c, h, interval_s, answer_within_s, n, patience_s=patience_s)
        return {k: np.asarray(v, dtype=np.float64) for k, v in vars(perf).items()}

    scalars = (float(interval_s), float(answer_within_s), _patience(patience_s))
    got = _remembered("performance", (c, h, n), scalars, compute)
    f64 = {k: np.asarray(v, dtype=np.float64) for k, v in got.items()}
    return queueing.Performance(
        service_level=f64["service_level"],
        abandon_rate=f64["abandon_rate"],
        asa_s=f64["asa_s"],
        occupancy=f64["occupancy"],
    )


def required_agents(
    calls: npt.ArrayLike,
    aht_s: npt.ArrayLike,
    interval_s: float,
    answer_within_s: float,
    *,
    service_level: float | None,
    patience_s: float | None,
    max_abandon_rate: float | None,
    max_occupancy: float | None,
) -> npt.NDArray[np.int64]:
    """:func:`optistaff.queueing.required_agents` of one queue's intervals, remembered."""
    c, h = (np.asarray(v, dtype=np.float64) for v in (calls, aht_s))

    def compute() -> Arrays:
        out = queueing.required_agents(
            c,
            h,
            interval_s,
            answer_within_s,
            service_level=service_level,
            patience_s=patience_s,
            max_abandon_rate=max_abandon_rate,
            max_occupancy=max_occupancy,
        )
        return {"n": np.asarray(out, dtype=np.int64)}

    scalars = (
        float(interval_s),
        float(answer_within_s),
        _patience(patience_s),
        *(np.nan if v is None else float(v) for v in (service_level, max_abandon_rate)),
        np.nan if max_occupancy is None else float(max_occupancy),
    )
    got = _remembered("required_agents", (c, h), scalars, compute)
    return got["n"].astype(np.int64)


def _patience(patience_s: float | None) -> float:
    return np.inf if patience_s is None else float(patience_s)


def _key(kind: str, arrays: tuple[npt.NDArray[np.generic], ...], scalars: tuple[float, ...]) -> str:
    digest = hashlib.sha256(f"{FORMULA_VERSION}|{kind}|{scalars!r}".encode())
    for a in arrays:
        digest.update(f"|{a.dtype.str}{a.shape}|".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def _remembered(
    kind: str,
    arrays: tuple[npt.NDArray[np.generic], ...],
    scalars: tuple[float, ...],
    compute: Callable[[], Arrays],
) -> Arrays:
    root = directory()
    if root is None:
        return compute()
    key = _key(kind, arrays, scalars)
    path = root / key[:2] / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, EOFError):
        pass  # (not there, or unreadable: compute it)
    out = compute()
    _store(root, path, out)
    return out


def _store(root: Path, path: Path, arrays: Arrays) -> None:
    """Write atomically; any failure (read-only, full disk) leaves the cache as it was."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
            written = f.tell()
        os.replace(tmp, path)
        tmp = None
        first = root not in _unscanned
        since = _unscanned.get(root, 0) + written
        if first or since >= MAX_BYTES / PRUNE_PARTS:
            _prune(root)  # (the first write of the process, or enough since the last scan)
            since = 0
        _unscanned[root] = since
    except OSError:
        # a directory that cannot be written is skipped and the run goes on (the
        # temporary file is removed below; test_a_cache_that_cannot_be_written_is_skipped)
        return
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _prune(root: Path) -> None:
    """Remove the least recently written files while the directory is over MAX_BYTES."""
    files = []
    for p in root.glob("*/*.npz"):
        with contextlib.suppress(OSError):  # (removed meanwhile by another process)
            st = p.stat()
            files.append((st.st_mtime, st.st_size, p))
    total = sum(size for _m, size, _p in files)
    for _mtime, size, p in sorted(files):
        if total <= MAX_BYTES:
            break
        with contextlib.suppress(OSError):
            p.unlink()
            total -= size
