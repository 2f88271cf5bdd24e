"""The example scenarios solve to `optimal`, their plans check out, and Michelle goes where
brute force says she belongs."""

from __future__ import annotations

from pathlib import Path

import brute
import checker
import pytest
from conftest import SolveChecked
from tiny import stationary

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
EXAMPLES = sorted(SCENARIOS.glob("*.yaml"))
#: solved to optimal by its own test (tests/test_equity.py, with the value plan beside it);
#: contact-center-sla (daily minimums on every queue, switching, overtime) is issue 17's
#: target and not proven optimal yet (feasible, gap 2.3e-3 at 10 s: the switching is
#: unproven; without it, tests/test_overtime_at_floor.py proves it), so it is measured in
#: tests/benchmarks/bench_solve.py instead
SOLVED_ELSEWHERE = {"public-service", "contact-center-sla"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [p for p in EXAMPLES if p.stem not in SOLVED_ELSEWHERE],
    ids=[p.stem for p in EXAMPLES if p.stem not in SOLVED_ELSEWHERE],
)
def test_example_solves_to_optimal(path: Path, solve_checked: SolveChecked) -> None:
    _plan, report = solve_checked(stationary(path))
    assert report.status == "optimal", {k: report.summary[k] for k in ("status", "bound", "gap")}


def test_there_are_examples() -> None:
    assert SCENARIOS / "michelle.yaml" in EXAMPLES


def test_michelle_goes_where_brute_force_puts_her(solve_checked: SolveChecked) -> None:
    _plan, report = solve_checked(stationary(SCENARIOS / "michelle.yaml"))
    sc = report.scenario
    assert report.status == "optimal"
    best, by_interval = brute.placements(sc, "michelle")
    # the whole plan is optimal (every agent enumerated: 3 choices for Michelle, 2 for the others)
    assert not best.accepts(report.weighted_shortfall, report.total)

    gold_loss = 0.0
    lines = ["time   michelle   gold answered within target / shortfall: plan | she on gold"]
    for t, by_choice in by_interval.items():
        optimal = brute.optimal_choices(best, by_choice)
        placed = report.decision["michelle", t]
        assert placed in optimal, (sc.horizon.label(t), placed, optimal)
        # the scenario is built to have one answer per interval; a tie would weaken the test
        assert len(optimal) == 1, (sc.horizon.label(t), optimal)
        if placed != "gold":
            # what gold gives up for Michelle to work elsewhere, as the plan shows it
            shown = report.evaluation.rows[t, "gold"]
            alt = by_choice["gold"].evaluation.rows[t, "gold"]
            assert shown["shortfall_sl_calls"] >= alt["shortfall_sl_calls"]
            gold_loss += alt["answered_within_target"] - shown["answered_within_target"]
            lines.append(
                f"{sc.horizon.label(t)[-5:]}  {placed!s:9}  "
                f"{shown['answered_within_target']:7.3f} / {shown['shortfall_sl_calls']:6.3f} | "
                f"{alt['answered_within_target']:7.3f} / {alt['shortfall_sl_calls']:6.3f}"
            )
    assert gold_loss > 0  # she is not free: gold answers fewer calls within target
    summary_gold = report.summary["queues"]["gold"]
    assert summary_gold["weighted_shortfall"] == pytest.approx(
        report.evaluation.queues["gold"]["weighted_shortfall"], rel=checker.REL_TOL
    )
    assert summary_gold["weighted_shortfall"] > 0
    print("\n".join(lines))
