"""The time-varying optimiser (``optistaff/solvers/carry_over.py``,
``models/13-carry-over.md``) against the enumeration of every staffing sequence
(``tests/tv_brute.py``), its honest status, and its faces (``solve`` and ``compare``
with ``--queue-model``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from checker import check_plan_dir
from click.testing import CliRunner
from tv_brute import TruthTV, capacities, claims_hold, random_tiny, truth

import optistaff
from optistaff.cli import main
from optistaff.pipeline import evaluate_plan
from optistaff.scenario import Scenario
from optistaff.solvers import carry_over

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _small_seeds(count: int, most_pairs: int = 3000) -> list[int]:
    """The first ``count`` seeds whose enumeration has at most ``most_pairs`` staffing
    pairs (a fast test: every plan is also checked against the dense reference by
    conftest's hook, ~4 s each; the benchmark runs 200 seeds of every size)."""
    out: list[int] = []
    seed = 0
    while len(out) < count:
        sc = random_tiny(seed)
        caps = capacities(sc)
        pairs = int(np.prod([a + c + 1 for a, _b, c in caps]))
        if len(sc.queues) == 2:
            pairs *= int(np.prod([b + c + 1 for _a, b, c in caps]))
        if pairs <= most_pairs:
            out.append(seed)
        seed += 1
    return out


SEEDS = _small_seeds(10)


def _varying(sc: Scenario) -> Scenario:
    return replace(sc, policy=replace(sc.policy, queue_model="time_varying", threads=1))


def _hit(plan: optistaff.Plan, best: TruthTV) -> bool:
    o = plan.summary["objective"]
    s, total = float(o["weighted_shortfall"]), float(o["total"])
    tie = s <= best.min_shortfall + max(1e-9 * best.min_shortfall, 1e-7)
    return tie and total >= best.total - max(1e-6 * abs(best.total), 1e-6)


@pytest.fixture(scope="module")
def truths() -> dict[int, TruthTV]:
    return {seed: truth(_varying(random_tiny(seed))) for seed in SEEDS}


#: Seeds whose plans the conftest hook also checks against the dense reference (~4 s a
#: plan); the others' figures are ``evaluate``'s, which the enumeration uses too and
#: which ``test_time_varying.py`` pins against that reference.
CHECKED_SEEDS = 3


def test_the_optimiser_finds_the_enumerated_optimum(
    truths: dict[int, TruthTV], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every small seed: the plan's reported objective (``evaluate``'s formulas, not the
    search's) is the optimum over every staffing sequence, and nothing it claims is
    contradicted by the truth."""
    from optistaff import pipeline

    hooks = list(pipeline.PLAN_HOOKS)
    misses = []
    for k, (seed, best) in enumerate(truths.items()):
        monkeypatch.setattr(pipeline, "PLAN_HOOKS", hooks if k < CHECKED_SEEDS else [])
        plan = optistaff.solve(_varying(random_tiny(seed)))
        assert claims_hold(dict(plan.summary), best) == []
        if not _hit(plan, best):
            misses.append((seed, plan.summary["objective"], best))
    assert misses == []


def test_the_enumeration_sees_what_the_stationary_plan_misses(
    truths: dict[int, TruthTV], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fixed point and the local search turned off the optimiser returns the
    stationary optimum: the enumeration must find it wanting on some seed (the test
    above can fail)."""
    from optistaff import pipeline

    monkeypatch.setattr(carry_over, "FIXED_POINT_ROUNDS", 0)
    monkeypatch.setattr(carry_over, "SEARCH_WORK", 0)
    monkeypatch.setattr(pipeline, "PLAN_HOOKS", [])  # (plans made worse on purpose)
    missed = next(
        (
            seed
            for seed, best in truths.items()
            if not _hit(optistaff.solve(_varying(random_tiny(seed))), best)
        ),
        None,
    )
    assert missed is not None, "the stationary optimum is the time-varying one on every seed"


def test_false_claims_are_caught(truths: dict[int, TruthTV]) -> None:
    """An ``optimal`` on a worse plan, a bound below the optimum and a shortfall bound
    above S* are each reported by :func:`claims_hold`."""
    best = next(iter(truths.values()))
    worse = {
        "status": "optimal",
        "objective": {"weighted_shortfall": best.min_shortfall, "total": best.total - 1.0},
    }
    assert claims_hold(worse, best)
    right = {
        "status": "optimal",
        "objective": {"weighted_shortfall": best.min_shortfall, "total": best.total},
    }
    assert claims_hold(right, best) == []
    assert claims_hold({**right, "status": "feasible", "bound": best.total - 1.0}, best)
    assert claims_hold({**right, "shortfall_bound": best.min_shortfall + 1.0}, best)


def test_a_time_varying_plan_is_deterministic_and_checked(tmp_path: Path) -> None:
    sc = optistaff.load_scenario(str(SCENARIOS / "michelle.yaml"))
    sc = replace(sc, policy=replace(sc.policy, queue_model="time_varying"))
    a = optistaff.solve(sc).write(tmp_path / "a")
    b = optistaff.solve(sc).write(tmp_path / "b")
    for name in ("staffing.csv", "assignments.csv", "scenario.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    check_plan_dir(a)
    summary = json.loads((a / "summary.json").read_text())
    assert summary["status"] == "feasible" and summary["bound"] is None


def test_the_time_varying_plan_is_no_worse_under_its_model() -> None:
    """On michelle: the time-varying plan's time-varying objective is at least the
    stationary plan's, evaluated under the time-varying model (the strategy keeps its
    start when nothing beats it)."""
    sc = optistaff.load_scenario(str(SCENARIOS / "michelle.yaml"))
    stationary = evaluate_plan(optistaff.solve(sc), "time_varying").summary["objective"]
    varying = optistaff.solve(_varying(sc)).summary["objective"]
    s0, s1 = stationary["weighted_shortfall"], varying["weighted_shortfall"]
    assert s1 <= s0 + max(1e-9 * s0, 1e-7)
    if s1 >= s0 - max(1e-9 * s0, 1e-7):
        assert varying["total"] >= stationary["total"] - 1e-7


def test_solve_and_compare_take_a_queue_model(tmp_path: Path) -> None:
    runner = CliRunner()
    scenario = str(SCENARIOS / "michelle.yaml")
    out = tmp_path / "tv"
    res = runner.invoke(
        main, ["solve", scenario, "--queue-model", "time_varying", "-o", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["queue_model"] == "time_varying"  # (stdout is JSON only)
    assert json.loads((out / "summary.json").read_text())["queue_model"] == "time_varying"
    stationary = tmp_path / "st"
    res = runner.invoke(
        main, ["solve", scenario, "--queue-model", "stationary", "-o", str(stationary)]
    )
    assert res.exit_code == 0, res.output
    assert "queue_model" not in json.loads((stationary / "summary.json").read_text())
    res = runner.invoke(
        main, ["compare", str(stationary), str(out), "--queue-model", "time_varying", "--json"]
    )
    assert res.exit_code == 0, res.output
    compared = json.loads(res.output)
    assert "warning" not in compared  # both under one model: no mixed-model warning
    assert [p["queue_model"] for p in compared["plans"]] == ["time_varying"] * 2
    res = runner.invoke(main, ["compare", str(stationary), str(out), "--json"])
    assert "warning" in json.loads(res.output)  # (without the option they mix)
    res = runner.invoke(main, ["solve", scenario, "--queue-model", "bogus"])
    assert res.exit_code == 2
    assert "Invalid value for '--queue-model'" in res.output
    assert "Traceback" not in res.output


def test_the_faces_say_why_a_time_varying_plan_is_not_proven(tmp_path: Path) -> None:
    """solve and compare name the time-varying search as the reason for ``feasible``,
    explain the optimiser of its what-ifs, never a time limit that was not reached."""
    runner = CliRunner()
    scenario = str(SCENARIOS / "michelle.yaml")
    out = tmp_path / "tv"
    res = runner.invoke(main, ["solve", scenario, "--queue-model", "time_varying", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "the time-varying search's best plan" in res.output
    assert "time limit" not in res.output
    res = runner.invoke(main, ["compare", scenario, str(out), "--queue-model", "time_varying"])
    assert res.exit_code == 0, res.output
    assert "the time-varying search's best plan" in res.output
    assert "time limit reached" not in res.output
    res = runner.invoke(main, ["explain", str(out)])
    assert res.exit_code == 0, res.output
    # (its what-ifs are the stationary optimiser's plans with time-varying figures)
    assert "choose plans by the stationary model" in res.output
    assert "hit the time limit" not in res.output
