"""The plots draw what the plan says: heatmap cells are placed − required, the SL lines are
staffing.csv's service levels, the timeline has one bar per agent run, the shortfall bars
and the comparison bars are the summaries' totals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import optistaff
from optistaff import plotting
from optistaff.plan import Plan

matplotlib.use("Agg")

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return optistaff.solve(SCENARIOS / "michelle.yaml")


def _ax() -> Axes:
    return Figure(figsize=(8, 4)).add_subplot()


def test_every_plot_draws_on_the_given_axis_or_a_new_figure(plan: Plan) -> None:
    for draw in (
        plotting.staffing_heatmap,
        plotting.service_level_plot,
        plotting.agent_timeline,
        plotting.shortfall_by_queue,
    ):
        ax = _ax()
        assert draw(plan, ax=ax) is ax
        own = draw(plan)
        assert isinstance(own.figure, Figure) and own.get_title()
        own.figure.savefig(__import__("io").BytesIO(), format="png")
    for draw_many in (plotting.compare_plans, plotting.compare_objectives):
        ax = _ax()
        assert draw_many([plan, plan], ax=ax) is ax


def test_heatmap_cells_are_placed_minus_required(plan: Plan) -> None:
    ax = plotting.staffing_heatmap(plan)
    image = ax.get_images()[0]
    array = image.get_array()
    assert array is not None
    cells = np.ma.filled(array, np.nan)
    s = plan.staffing
    for qi, q in enumerate(plan.scenario.queue_ids):
        rows = s[s["queue"] == q]
        want = rows["agents"].to_numpy(float) - rows["required_agents"].to_numpy(float)
        np.testing.assert_array_equal(cells[qi], want)
    assert (cells < 0).any()  # michelle falls short
    texts = {t.get_text() for t in ax.texts}
    assert "4/6" in texts  # annotated placed/required on a small plan


def test_service_level_lines_are_the_staffing_values(plan: Plan) -> None:
    ax = plotting.service_level_plot(plan)
    for q in plan.scenario.queue_ids:
        (patch,) = [p for p in ax.patches if p.get_label() == q]
        want = 100 * plan.staffing[plan.staffing["queue"] == q]["service_level"].to_numpy(float)
        values, _edges, _baseline = patch.get_data()  # type: ignore[attr-defined]
        np.testing.assert_allclose(values, want)
    # the minimums are drawn as dashed lines at 80 % and 70 %
    levels = sorted(
        float(seg[0][1])
        for c in ax.collections
        for seg in c.get_segments()  # type: ignore[attr-defined]
    )
    assert levels == [70.0, 80.0]


def test_timeline_has_one_bar_per_run(plan: Plan) -> None:
    ax = plotting.agent_timeline(plan)
    bars = [c for c in ax.collections]
    # every agent works one queue all morning; priya and greg have a break: two runs each
    runs = sum(len(c.get_paths()) for c in bars)
    assert runs == len(plan.scenario.agents) + 2
    assert [t.get_text() for t in ax.get_yticklabels()] == [a.id for a in plan.scenario.agents]


def test_shortfall_bars_add_up_to_the_summary(plan: Plan) -> None:
    ax = plotting.shortfall_by_queue(plan)
    totals: dict[int, float] = {}
    for bar in ax.patches:
        y = round(bar.get_y() + bar.get_height() / 2)  # type: ignore[attr-defined]
        totals[y] = totals.get(y, 0.0) + bar.get_width()  # type: ignore[attr-defined]
    for qi, q in enumerate(plan.scenario.queue_ids):
        assert totals[qi] == pytest.approx(plan.summary["queues"][q]["shortfall_calls"])
    weighted = plotting.shortfall_by_queue(plan, weighted=True)
    assert f"{plan.objective['weighted_shortfall']:,.1f}" in weighted.get_title()


def test_compare_bars_are_the_summaries(plan: Plan) -> None:
    sick_sc = replace(
        plan.scenario, agents=tuple(a for a in plan.scenario.agents if a.id != "paul")
    )
    sick = optistaff.solve(sick_sc)
    ax = plotting.compare_plans([plan, sick], labels=["base", "sick"])
    heights = [b.get_height() for b in ax.patches]  # type: ignore[attr-defined]
    queues = plan.scenario.queue_ids
    levels = [p.summary["queues"][q]["service_level"] for p in (plan, sick) for q in queues]
    want = [100 * sl for sl in levels if sl is not None]
    assert len(want) == len(levels)
    np.testing.assert_allclose(heights, want)
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["base", "sick"]
    with pytest.raises(ValueError, match="metric must be one of"):
        plotting.compare_plans([plan], metric="nonsense")


def test_a_large_timeline_is_one_mesh_grouped_by_profile(tmp_path: Path) -> None:
    from optistaff.generate import CenterSpec, write_center

    path = write_center(CenterSpec(200, 30, 24, tightness=0.9, seed=3), tmp_path / "c")
    sc = optistaff.load_scenario(str(path))
    plan = optistaff.solve(replace(sc, policy=replace(sc.policy, queue_model="stationary")))
    assert len(plan.scenario.agents) > plotting.TIMELINE_BARS_UP_TO
    order, codes = plotting.timeline_rows(plan, [a.id for a in plan.scenario.agents])
    skills = {a.id: a.skills for a in plan.scenario.agents}
    seen: list[tuple[str, ...]] = []
    for agent_id in order:  # every profile one contiguous block
        if not seen or seen[-1] != skills[agent_id]:
            assert skills[agent_id] not in seen
            seen.append(skills[agent_id])
    # the codes are the assignments, read here straight from the plan's table
    qidx = {q: i for i, q in enumerate(plan.scenario.queue_ids)}
    starts = [pd.Timestamp(ts) for ts in plan.scenario.horizon.interval_starts()]
    want = np.zeros_like(codes)
    row = {a: i for i, a in enumerate(order)}
    for agent, ts, queue in plan.assignments.itertuples(index=False):
        want[row[agent], starts.index(pd.Timestamp(ts))] = 1 if pd.isna(queue) else 2 + qidx[queue]
    assert (codes == want).all()
    ax = plotting.agent_timeline(plan)
    assert len(ax.collections) == 1  # one mesh, not a bar per run
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(seen) and labels[0].endswith(
        f"({sum(skills[a] == seen[0] for a in order)})"
    )
    colors = plotting.queue_colors(plan)
    assert len(set(colors.values())) == 30


def test_forty_distinct_colors() -> None:
    assert len(set(plotting.distinct_colors(40))) == 40


def test_the_occupancy_heatmap_is_the_staffing_tables_occupancy(plan: Plan) -> None:
    ax = plotting.occupancy_heatmap(plan)
    (image,) = ax.get_images()
    array = image.get_array()
    assert array is not None
    shown = np.ma.filled(array, np.nan)
    for qi, q in enumerate(plan.scenario.queue_ids):
        rows = plan.staffing[plan.staffing["queue"] == q]
        want = 100 * rows["occupancy"].astype(float).to_numpy()
        assert np.allclose(shown[qi], want, equal_nan=True)


def test_the_service_level_heatmap_is_sl_minus_the_minimum(plan: Plan) -> None:
    ax = plotting.service_level_heatmap(plan)
    (image,) = ax.get_images()
    array = image.get_array()
    assert array is not None
    shown = np.ma.filled(array, np.nan)
    for qi, q in enumerate(plan.scenario.queues):
        rows = plan.staffing[plan.staffing["queue"] == q.id]
        sl = rows["service_level"].astype(float).to_numpy()
        want = (
            np.full_like(sl, np.nan)
            if q.min_service_level is None
            else 100 * (sl - q.min_service_level)
        )
        assert np.allclose(shown[qi], want, equal_nan=True)
