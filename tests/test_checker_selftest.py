"""The checker can fail: a hand-made plan it accepts, and corrupted copies it rejects.

The plan's numbers are computed here from closed forms (Erlang B/C for n = 1, 2; an
Erlang A queue left empty), not with the checker's code, so that a checker that
agrees with itself only would be caught.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tiny
import yaml
from checker import STAFFING_COLUMNS, check_plan_dir

from optistaff.scenario import Scenario

H = tiny.horizon(2)
DELTA = 1800.0


def build_scenario() -> Scenario:
    sales = tiny.queue(
        H,
        "sales",
        forecast=[4, 3],
        value=2,
        aht_s=360,
        answer_within_s=20,
        min_service_level=0.8,
        max_occupancy=0.9,
        daily_service_level=0.85,
    )
    billing = tiny.queue(H, "billing", forecast=[0, 6], value=1, aht_s=240, answer_within_s=30)
    support = tiny.queue(
        H,
        "support",
        forecast=[3, 2],
        value=3,
        aht_s=300,
        patience_s=120,
        max_abandon_rate=0.1,
        shortfall_weight=5,
    )
    agents = [
        tiny.agent(H, "ann", ["sales", "billing"]),
        tiny.agent(H, "bob", ["sales", "support"]),
        tiny.agent(H, "carl", ["sales"], first=1, optional=True, cost=1.5),
        tiny.agent(H, "dana", ["billing"], optional=True, cost=2.0),
    ]
    pins = [tiny.pin(H, "bob", None, 1, 2)]
    return tiny.scenario("selftest", H, [sales, billing, support], agents, pins, switch_penalty=0.5)


# -- closed forms -------------------------------------------------------------------------


def erlang_c(n: int, a: float) -> float:
    """P(wait > 0) in M/M/n, by the Erlang B recursion."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return n * b / (n - a * (1 - b))


def erlang_c_row(calls: float, aht: float, within: float, n: int) -> dict[str, Any]:
    a = calls * aht / DELTA
    c = erlang_c(n, a)
    sl = 1 - c * math.exp(-(n - a) * within / aht)
    return {
        "service_level": sl,
        "asa_s": c * aht / (n - a),
        "abandon_rate": 0.0,
        "occupancy": a / n,
        "answered_within_target": calls * sl,
        "served": calls,
    }


def required_erlang_c(calls: float, aht: float, within: float, sl: float, occ: float) -> int:
    a = calls * aht / DELTA
    n = math.floor(a) + 1
    while erlang_c_row(calls, aht, within, n)["service_level"] < sl or a > occ * n:
        n += 1
    return n


def expected_plan() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """assignments, staffing rows and summary of the hand-made plan."""
    from optistaff.queueing import required_agents

    labels = H.labels()
    assignments = [
        {"agent": "ann", "interval_start": labels[0], "queue": "sales"},
        {"agent": "ann", "interval_start": labels[1], "queue": "billing"},  # one switch
        {"agent": "bob", "interval_start": labels[0], "queue": "sales"},
        {"agent": "bob", "interval_start": labels[1], "queue": ""},  # pinned: training
        {"agent": "carl", "interval_start": labels[1], "queue": "sales"},  # called in
    ]
    sales0 = erlang_c_row(4, 360, 20, 2)
    sales1 = erlang_c_row(3, 360, 20, 1)
    billing1 = erlang_c_row(6, 240, 30, 1)
    rows: list[dict[str, Any]] = []

    def row(
        t: int, queue: str, agents: int, required: int, calls: float, aht: float, **kw: Any
    ) -> None:
        r = {"interval_start": labels[t], "queue": queue, "agents": agents}
        r.update(required_agents=required, calls=calls, aht_s=aht)
        r.update(kw)
        rows.append(r)

    def short_sl(calls: float, sl: float) -> float:
        return max(0.0, 0.8 * calls - calls * sl)

    def short_occ(calls: float, n: int, aht: float) -> float:
        return max(0.0, calls - 0.9 * n * DELTA / aht)

    empty_support = {
        "service_level": 0.0,
        "asa_s": None,
        "abandon_rate": 1.0,
        "occupancy": None,
        "answered_within_target": 0.0,
        "served": 0.0,
        "value": 0.0,
        "shortfall_sl_calls": 0.0,
        "shortfall_occupancy_calls": 0.0,
    }
    support_req = [
        int(required_agents(c, 300, DELTA, 20, patience_s=120, max_abandon_rate=0.1))
        for c in (3, 2)
    ]
    row(
        0,
        "sales",
        2,
        required_erlang_c(4, 360, 20, 0.8, 0.9),
        4.0,
        360.0,
        **sales0,
        value=2 * sales0["answered_within_target"],
        shortfall_sl_calls=short_sl(4, sales0["service_level"]),
        shortfall_abandon_calls=0.0,
        shortfall_occupancy_calls=short_occ(4, 2, 360),
    )
    row(
        0,
        "billing",
        0,
        0,
        0.0,
        240.0,
        service_level=None,
        asa_s=None,
        abandon_rate=None,
        occupancy=None,
        answered_within_target=0.0,
        served=0.0,
        value=0.0,
        shortfall_sl_calls=0.0,
        shortfall_abandon_calls=0.0,
        shortfall_occupancy_calls=0.0,
    )
    row(
        0,
        "support",
        0,
        support_req[0],
        3.0,
        300.0,
        **empty_support,
        shortfall_abandon_calls=3 * 1.0 - 0.1 * 3,
    )
    row(
        1,
        "sales",
        1,
        required_erlang_c(3, 360, 20, 0.8, 0.9),
        3.0,
        360.0,
        **sales1,
        value=2 * sales1["answered_within_target"],
        shortfall_sl_calls=short_sl(3, sales1["service_level"]),
        shortfall_abandon_calls=0.0,
        shortfall_occupancy_calls=short_occ(3, 1, 360),
    )
    row(
        1,
        "billing",
        1,
        1,
        6.0,
        240.0,
        **billing1,
        value=billing1["answered_within_target"],
        shortfall_sl_calls=0.0,
        shortfall_abandon_calls=0.0,
        shortfall_occupancy_calls=0.0,
    )
    row(
        1,
        "support",
        0,
        support_req[1],
        2.0,
        300.0,
        **empty_support,
        shortfall_abandon_calls=2 * 1.0 - 0.1 * 2,
    )

    sales_answered = sales0["answered_within_target"] + sales1["answered_within_target"]
    sales_daily = max(0.0, 0.85 * 7 - sales_answered)
    sales_short = sum(r["shortfall_sl_calls"] + r["shortfall_occupancy_calls"] for r in rows[::3])
    queues = {
        "sales": {
            "calls": 7.0,
            "answered_within_target": sales_answered,
            "service_level": sales_answered / 7,
            "served": 7.0,
            "abandon_rate": 0.0,
            "weighted_shortfall": 2 * (sales_short + sales_daily),
            "daily_shortfall": sales_daily,
            "agent_intervals": 3,
            "value": 2 * sales_answered,
        },
        "billing": {
            "calls": 6.0,
            "answered_within_target": billing1["answered_within_target"],
            "service_level": billing1["answered_within_target"] / 6,
            "served": 6.0,
            "abandon_rate": 0.0,
            "weighted_shortfall": 0.0,
            "daily_shortfall": 0.0,
            "agent_intervals": 1,
            "value": billing1["answered_within_target"],
        },
        "support": {
            "calls": 5.0,
            "answered_within_target": 0.0,
            "service_level": 0.0,
            "served": 0.0,
            "abandon_rate": 1.0,
            "weighted_shortfall": 5 * (2.7 + 1.8),
            "daily_shortfall": 0.0,
            "agent_intervals": 0,
            "value": 0.0,
        },
    }
    value = sum(q["value"] for q in queues.values())
    cost = 1.5 * 1
    shortfall = sum(q["weighted_shortfall"] for q in queues.values())
    summary = {
        "scenario": {"name": "selftest", "content_hash": build_scenario().content_hash()},
        "versions": {"optistaff": "0.1.0", "ortools": "9.15"},
        "solver": {"time_limit_s": 60.0, "mip_gap": 1e-6, "threads": 1, "seed": 0},
        "status": "optimal",
        "objective": {
            "weighted_shortfall": shortfall,
            "value": value,
            "cost": cost,
            "switching": 0.5,
            "switches": 1,
            "total": value - cost - 0.5,
        },
        "bound": value - cost - 0.5,
        "gap": 0.0,
        "called_in": ["carl"],
        "queues": queues,
        "timing": {"total_s": 0.1},
    }
    return assignments, rows, summary


def write_plan(
    directory: Path,
    scenario: Scenario,
    assignments: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    summary: dict[str, Any],
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scenario.yaml").write_text(yaml.safe_dump(scenario.to_dict(), sort_keys=False))
    (directory / "summary.json").write_text(json.dumps(summary, indent=2))

    def cell(x: Any) -> str:
        return "" if x is None else repr(x) if isinstance(x, float) else str(x)

    with (directory / "assignments.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["agent", "interval_start", "queue"])
        w.writeheader()
        w.writerows(assignments)
    with (directory / "staffing.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(STAFFING_COLUMNS))
        w.writeheader()
        w.writerows([{k: cell(r[k]) for k in STAFFING_COLUMNS} for r in rows])
    return directory


@pytest.fixture(scope="module")
def good_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assignments, rows, summary = expected_plan()
    return write_plan(tmp_path_factory.mktemp("good"), build_scenario(), assignments, rows, summary)


def test_checker_accepts_the_hand_made_plan(good_plan: Path) -> None:
    report = check_plan_dir(good_plan, expected_scenario=build_scenario())
    assert report.evaluation.switches == 1
    assert report.called_in == ("carl",)
    assert report.decision["bob", 1] is None


def test_checker_accepts_a_rounding_difference(tmp_path: Path) -> None:
    assignments, rows, summary = expected_plan()
    rows[0]["service_level"] *= 1 + 1e-12
    summary["objective"]["total"] *= 1 + 1e-12
    check_plan_dir(write_plan(tmp_path, build_scenario(), assignments, rows, summary))


Corruption = Callable[[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]], None]


def _kpi_off(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[0]["service_level"] *= 1 + 1e-6


def _asa_off(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[3]["asa_s"] *= 1 - 1e-6


def _skill_lacking(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    a[1]["queue"] = "support"  # ann has no support skill


def _pin_violated(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    a[3]["queue"] = "sales"


def _switches_wrong(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    s["objective"]["switches"] = 0


def _total_off(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    s["objective"]["total"] += 1e-6 * abs(s["objective"]["total"])


def _daily_off(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    s["queues"]["sales"]["daily_shortfall"] *= 1 + 1e-6


def _missing_row(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    del a[2]  # bob at 08:00 is available: his row must be there


def _uncalled_works(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    a.append({"agent": "dana", "interval_start": H.label(0), "queue": ""})


def _called_in_wrong(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    s["called_in"] = []


def _double_row(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    a.append({"agent": "ann", "interval_start": H.label(0), "queue": "billing"})


def _required_wrong(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[0]["required_agents"] += 1


def _null_expected(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[1]["service_level"] = 0.0  # λ = 0: service level is null


def _number_expected(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[4]["asa_s"] = None


def _rows_swapped(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[0], r[1] = r[1], r[0]


def _cost_missing(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    s["objective"]["cost"] = 0.0
    s["objective"]["total"] += 1.5


def _shortfall_off(a: list[dict[str, Any]], r: list[dict[str, Any]], s: dict[str, Any]) -> None:
    r[2]["shortfall_abandon_calls"] = 3 * 1.0 - 0.05 * 3  # wrong cap


CORRUPTIONS: list[tuple[Corruption, str]] = [
    (_kpi_off, "staffing.csv:2 (2026-01-05 08:00, sales) service_level"),
    (_asa_off, "(2026-01-05 08:30, sales) asa_s"),
    (_skill_lacking, "ann placed on 'support' in interval 1 without that skill"),
    (_pin_violated, "pin bob -> None in interval 1 violated"),
    (_switches_wrong, "objective.switches: got 0, want 1"),
    (_total_off, "objective.total"),
    (_daily_off, "queues.sales.daily_shortfall"),
    (_missing_row, "bob has no row for available interval 0"),
    (_uncalled_works, "called_in"),
    (_called_in_wrong, "called_in"),
    (_double_row, "second row for ann"),
    (_required_wrong, "required_agents"),
    (_null_expected, "service_level: null expected"),
    (_number_expected, "asa_s: a number expected"),
    (_rows_swapped, "staffing.csv rows"),
    (_cost_missing, "objective.cost"),
    (_shortfall_off, "shortfall_abandon_calls"),
]


@pytest.mark.parametrize(
    ("corrupt", "message"), CORRUPTIONS, ids=[c.__name__ for c, _ in CORRUPTIONS]
)
def test_checker_rejects_a_corrupted_plan(
    tmp_path: Path, good_plan: Path, corrupt: Corruption, message: str
) -> None:
    assignments, rows, summary = expected_plan()
    corrupt(assignments, rows, summary)
    path = write_plan(tmp_path / "bad", build_scenario(), assignments, rows, summary)
    with pytest.raises(AssertionError) as info:
        check_plan_dir(path)
    assert message in str(info.value)


def test_checker_rejects_a_plan_of_another_scenario(tmp_path: Path, good_plan: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(good_plan, other)
    changed = tiny.replace_queue(build_scenario(), "sales", value=3.0)
    with pytest.raises(AssertionError, match=r"scenario\.yaml queues"):
        check_plan_dir(other, expected_scenario=changed)
