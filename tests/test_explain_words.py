"""``explain`` in words first: the sentences are built from the explanation's own
numbers (checked against its tables here), and say what a zero-cost move means."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny import stationary

import optistaff
from optistaff.cli import main
from optistaff.explain import agent_story, explain_agent, explain_interval, interval_story
from optistaff.plan import Plan

MICHELLE = Path(__file__).resolve().parent.parent / "scenarios" / "michelle.yaml"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return optistaff.solve(stationary(MICHELLE))


def test_the_agent_story_says_where_why_and_what_moves_cost(plan: Plan) -> None:
    ex = explain_agent(plan, "michelle")
    text = " ".join(agent_story(ex))
    for row in ex.timeline.itertuples(index=False):
        assert f"{row.queue} {row[0]}–{row[1]}" in text
    assert "a platinum call answered within target is worth 10, against 6 on gold" in text
    for move in ex.moves.to_dict("records"):
        rise = float(move["weighted_shortfall_increase"])
        assert f"would rise by {rise:,.2f} and the total fall by {move['total_loss']:,.2f}" in text
    assert "platinum's min SL" in text  # it binds where she works


def test_a_move_that_costs_nothing_is_called_so(plan: Plan) -> None:
    ex = explain_agent(plan, "michelle")
    free = ex.moves.copy()
    free["weighted_shortfall_increase"] = 0.0
    free["total_loss"] = 0.0
    text = " ".join(agent_story(replace(ex, moves=free)))
    assert "costs nothing: an equally good plan exists" in text
    assert "would rise" not in text


def test_the_interval_story_names_the_short_queues_and_the_best_extra_agent(plan: Plan) -> None:
    ex = explain_interval(plan, "09:30")
    text = " ".join(interval_story(ex))
    assert ex.one_more_agent is not None
    best = ex.one_more_agent.iloc[0]
    assert f"by {best['weighted_shortfall_reduction']:,.2f} (placed on {best['placed_on']})" in text
    for row in ex.staffing.to_dict("records"):
        short = row["shortfall_sl_calls"] + row["shortfall_abandon_calls"]
        short += row["shortfall_occupancy_calls"]
        weight = plan.scenario.queue(row["queue"]).weight
        if short * weight > 1e-6:
            assert f"{row['queue']} ({short * weight:,.2f})" in text


def test_the_words_come_first_in_the_cli_and_in_json(plan: Plan, tmp_path: Path) -> None:
    directory = plan.write(tmp_path / "m")
    result = CliRunner().invoke(main, ["explain", str(directory), "--agent", "michelle"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("michelle works platinum") < out.index("where michelle works")
    result = CliRunner().invoke(main, ["explain", str(directory), "--json"])
    import json

    assert json.loads(result.stdout)["summary"][0].startswith("In ")


def test_a_zero_service_level_is_explained(plan: Plan) -> None:
    ex = explain_interval(plan, "09:30", one_more_agent=False)
    text = " ".join(interval_story(ex))
    zero = [r for r in ex.staffing.to_dict("records") if r["service_level"] == 0.0]
    assert zero  # (gold: Erlang C with no more agents than its load, in this plan)
    for row in zero:
        load = row["calls"] * row["aht_s"] / plan.scenario.horizon.interval_s
        assert f"{row['queue']} shows SL 0 %: its {row['agents']} agents are no more than" in text
        assert f"offered load of {load:,.2f} Erlangs" in text
    assert all(
        f"{r['queue']} shows SL 0 %" not in text
        for r in ex.staffing.to_dict("records")
        if r["service_level"] > 0
    )


def test_moves_are_tried_per_block_of_the_agents_day() -> None:
    import tiny

    from optistaff.scenario import Pin

    h = tiny.horizon(4)
    queues = [
        tiny.queue(h, "a", forecast=[3, 3, 0.1, 0.1], value=2.0),
        tiny.queue(h, "b", forecast=[0.1, 0.1, 3, 3], value=1.0),
    ]
    sc = tiny.stationary(tiny.scenario("blocks", h, queues, [tiny.agent(h, "x", ["a", "b"])]))
    plan = optistaff.solve(sc)
    ex = explain_agent(plan, "x")
    assert list(ex.timeline["queue"]) == ["a", "b"]  # two blocks: a, then b
    blocks = sorted(set(ex.moves["intervals"]))
    assert blocks == ["08:00–09:00", "09:00–10:00"]
    assert len(ex.moves) == 4  # per block: the other queue, and unassigned
    # each row is the re-solve with x pinned there for that block only (independently)
    row = ex.moves[(ex.moves["queue"] == "a") & (ex.moves["intervals"] == "09:00–10:00")].iloc[0]
    pinned = optistaff.solve(replace(sc, pins=(Pin("x", "a", 2, 4, "09:00", "10:00"),)))
    assert row["total_loss"] == pytest.approx(ex.base.total - pinned.objective["total"], abs=1e-9)
    text = " ".join(agent_story(ex))
    assert "Moved block by block: on b in 08:00–09:00" in text
