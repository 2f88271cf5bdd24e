"""The queue-figure cache: a re-run reads what it computed, bit for bit, and a broken
cache never makes a run wrong or failing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import optistaff
from optistaff import curve_cache, queueing
from optistaff.plan import plan_files

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
MICHELLE = SCENARIOS / "michelle.yaml"
INPUTS = {
    "calls": np.array([30.0, 55.0, 80.0]),
    "aht_s": np.array([300.0, 310.0, 280.0]),
    "interval_s": 900.0,
    "answer_within_s": 20.0,
    "agents": np.array([12.0, 20.0, 27.0]),
    "patience_s": 120.0,
}


def _files(plan: optistaff.Plan) -> dict[str, bytes]:
    out = dict(plan_files(plan))
    out.pop("summary.json")  # (its timing differs run to run)
    return out


def _count_computations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the cache's misses (each computed result is stored once)."""
    calls = [0]
    real = curve_cache._store

    def counted(*args: object) -> None:
        calls[0] += 1
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(curve_cache, "_store", counted)
    return calls


def test_a_second_solve_reads_every_figure_and_writes_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE", "off")
    uncached = _files(optistaff.solve(MICHELLE))
    monkeypatch.delenv("OPTISTAFF_CACHE")
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path / "cache"))
    calls = _count_computations(monkeypatch)
    first = _files(optistaff.solve(MICHELLE))
    computed = calls[0]
    assert computed > 0 and list((tmp_path / "cache").glob("*/*.npz"))
    second = _files(optistaff.solve(MICHELLE))
    assert calls[0] == computed  # nothing computed again: every figure read back
    assert first == uncached and second == uncached


def test_stored_arrays_are_the_computed_ones_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    direct = queueing.performance(**INPUTS)  # type: ignore[arg-type]
    for _ in range(2):  # a miss, then a hit
        got = curve_cache.performance(**INPUTS)  # type: ignore[arg-type]
        for name in ("service_level", "abandon_rate", "asa_s", "occupancy"):
            assert getattr(got, name).tobytes() == getattr(direct, name).tobytes(), name


@pytest.mark.parametrize(
    "change",
    [
        ("calls", np.array([30.0, 55.0, 81.0])),
        ("aht_s", np.array([300.0, 310.0, 281.0])),
        ("agents", np.array([12.0, 20.0, 28.0])),
        ("interval_s", 1800.0),
        ("answer_within_s", 30.0),
        ("patience_s", 60.0),
        ("patience_s", None),
    ],
)
def test_any_changed_input_is_computed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, object]
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    curve_cache.performance(**INPUTS)  # type: ignore[arg-type]
    changed = {**INPUTS, change[0]: change[1]}
    got = curve_cache.performance(**changed)  # type: ignore[arg-type]
    want = queueing.performance(**changed)  # type: ignore[arg-type]
    assert np.array_equal(got.service_level, want.service_level)
    assert len(list(tmp_path.glob("*/*.npz"))) == 2


def test_required_agents_are_remembered_and_keyed_by_every_standard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    base = {
        "service_level": 0.8,
        "patience_s": 120.0,
        "max_abandon_rate": None,
        "max_occupancy": None,
    }
    calls, aht = INPUTS["calls"], INPUTS["aht_s"]
    for standards in (base, {**base, "max_abandon_rate": 0.05}, {**base, "max_occupancy": 0.85}):
        for _ in range(2):
            got = curve_cache.required_agents(calls, aht, 900.0, 20.0, **standards)  # type: ignore[arg-type]
            want = queueing.required_agents(calls, aht, 900.0, 20.0, **standards)  # type: ignore[arg-type]
            assert got.dtype == np.int64 and np.array_equal(got, want), standards
    assert len(list(tmp_path.glob("*/*.npz"))) == 3


def test_an_unreadable_file_is_computed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    want = _files(optistaff.solve(MICHELLE))
    for path in tmp_path.glob("*/*.npz"):
        path.write_bytes(b"not a numpy archive")
    assert _files(optistaff.solve(MICHELLE)) == want


def test_a_cache_that_cannot_be_written_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(blocker / "cache"))  # (under a file)
    monkeypatch.setenv("OPTISTAFF_CACHE", "off")
    want = _files(optistaff.solve(MICHELLE))
    monkeypatch.delenv("OPTISTAFF_CACHE")
    assert _files(optistaff.solve(MICHELLE)) == want
    assert not list(tmp_path.glob("**/*.tmp"))


def test_the_directory_is_pruned_to_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(curve_cache, "MAX_BYTES", 3000)
    calls = np.array([30.0, 55.0, 80.0])
    for k in range(8):
        curve_cache.performance(**{**INPUTS, "calls": calls + k})  # type: ignore[arg-type]
    sizes = [p.stat().st_size for p in tmp_path.glob("*/*.npz")]
    assert 0 < sum(sizes) <= 3000 and len(sizes) < 8


def test_a_process_scans_the_directory_once_per_part_of_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan reads every file's size: at every write, a cold build's cost grew with the
    cache (2.5 s more for a 10,000-agent center's 200 tables with a thousand files
    there). A process scans at its first write, then after each MAX_BYTES / PRUNE_PARTS
    bytes it writes."""
    monkeypatch.setenv("OPTISTAFF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(curve_cache, "_unscanned", {})
    scans: list[Path] = []
    real = curve_cache._prune

    def counted(root: Path) -> None:
        scans.append(root)
        real(root)

    monkeypatch.setattr(curve_cache, "_prune", counted)
    calls = np.array([30.0, 55.0, 80.0])
    for k in range(20):
        curve_cache.performance(**{**INPUTS, "calls": calls + k})  # type: ignore[arg-type]
    assert scans == [tmp_path]  # (the first write; 20 files are far below the limit)
    written = sum(p.stat().st_size for p in tmp_path.glob("*/*.npz"))
    # a limit whose part is a quarter of what 20 writes take: about 4 scans in 20 more
    monkeypatch.setattr(curve_cache, "MAX_BYTES", curve_cache.PRUNE_PARTS * written / 4)
    for k in range(20, 40):
        curve_cache.performance(**{**INPUTS, "calls": calls + k})  # type: ignore[arg-type]
    assert 3 <= len(scans) - 1 <= 5
    assert len(list(tmp_path.glob("*/*.npz"))) == 40  # (still below the limit: none pruned)


def test_off_and_the_default_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPTISTAFF_CACHE", "off")
    assert curve_cache.directory() is None
    monkeypatch.delenv("OPTISTAFF_CACHE")
    monkeypatch.delenv("OPTISTAFF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert curve_cache.directory() == tmp_path / "optistaff"


def test_the_identity_problem_reuses_the_pooled_problems_tables() -> None:
    """A switch penalty needs both groupings of the same agents: the second reuses the
    first's tables (the same cells, the same agent counts), equal to its own."""
    from optistaff.formulation import build_problem

    scenario = optistaff.load_scenario(str(SCENARIOS / "contact-center-sla.yaml"))
    pooled = build_problem(scenario, pooled=True)
    reused = build_problem(scenario, like=pooled)
    fresh = build_problem(scenario)
    assert reused.tables is pooled.tables and reused.curves is pooled.curves
    assert reused.tables.keys() == fresh.tables.keys()
    for key, table in fresh.tables.items():
        assert np.array_equal(reused.tables[key].value, table.value), key
        assert np.array_equal(reused.tables[key].shortfall, table.shortfall), key
    assert reused.groups == fresh.groups and reused.eligible == fresh.eligible
