"""Plans side by side: what changes between a baseline and its variants.

Every figure is taken from a plan's own ``summary.json`` (objective parts and per-queue
totals), so ``compare`` can never disagree with the plans it shows; the only derived
figure, agent-hours, is ``agent_intervals × interval_minutes / 60`` (agent-intervals
placed on queues, as counted in ``assignments.csv``). Deltas are against the first plan.

>>> from optistaff.compare import compare, load_plans
>>> comparison = compare(load_plans(["a.yaml", "b.yaml"]))   # doctest: +SKIP
>>> comparison.table                                          # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from optistaff.errors import UsageError
from optistaff.plan import Plan
from optistaff.plan_schema import is_queue_figure


@dataclass(frozen=True)
class Metric:
    """One compared figure: its key, how a person reads it, and which way is better
    (``+1`` higher is better, ``-1`` lower is better, ``0`` neither)."""

    key: str
    label: str
    better: int
    kind: str = "number"  # "number", "count", "fraction", "hours"


OVERALL: tuple[Metric, ...] = (
    Metric("total", "total value", +1),
    Metric("weighted_shortfall", "weighted shortfall", -1),
    Metric("value", "value", +1),
    Metric("cost", "cost", -1),
    Metric("switches", "switches", -1, "count"),
    Metric("agent_hours", "agent-hours used", 0, "hours"),
    Metric("called_in", "agents called in", 0, "count"),
    # the spread of the queues' horizon service levels (what an equity plan is about)
    Metric("lowest_sl", "lowest queue SL", +1, "fraction"),
    Metric("highest_sl", "highest queue SL", 0, "fraction"),
    Metric("sl_spread", "SL spread (high − low)", -1, "fraction"),
)
PER_QUEUE: tuple[Metric, ...] = (
    Metric("service_level", "SL", +1, "fraction"),
    Metric("abandon_rate", "abandon", -1, "fraction"),
    Metric("shortfall_calls", "shortfall (calls)", -1),
    Metric("weighted_shortfall", "weighted shortfall", -1),
    Metric("agent_hours", "agent-hours", 0, "hours"),
)
ALL_QUEUES = ""  # the ``queue`` label of the overall rows
#: The rest of the day, from a re-plan's effective time E (when a compared plan is a
#: re-plan): interval figures summed over the intervals from E (a daily standard's
#: shortfall is the day's, so it is not in them).
REST_OVERALL: tuple[Metric, ...] = (
    Metric("rest_weighted_shortfall", "w. shortfall from E", -1),
    Metric("rest_value", "value from E", +1),
    Metric("rest_agent_hours", "agent-hours from E", 0, "hours"),
)
REST_PER_QUEUE: tuple[Metric, ...] = (
    Metric("rest_service_level", "SL from E", +1, "fraction"),
    Metric("rest_shortfall_calls", "shortfall from E", -1),
)


@dataclass(frozen=True)
class Comparison:
    """Plans side by side.

    ``table``: one row per (queue, metric) — ``queue`` is ``""`` for the overall figures —
    and one column per plan label; ``deltas``: the same shape, each column minus the first
    (NaN where a figure is missing, e.g. a queue one plan does not have).
    """

    labels: tuple[str, ...]
    plans: tuple[Plan, ...]
    table: pd.DataFrame
    deltas: pd.DataFrame
    sources: tuple[str, ...] = field(default=())
    #: the re-plan's effective time E (``YYYY-MM-DD HH:MM``) when a plan is a re-plan:
    #: the rows ``…from E`` are the rest of the day
    since: str | None = None

    @property
    def queue_ids(self) -> list[str]:
        """Every queue of any plan, in order of first appearance."""
        return [q for q in dict.fromkeys(q for q, _m in self.rows()) if q]

    def tidy(self) -> pd.DataFrame:
        """Long form: one row per (plan, queue, metric) with ``value`` and ``delta``."""
        rows = []
        for i, label in enumerate(self.labels):
            for queue, metric in self.rows():
                rows.append(
                    {
                        "plan": label,
                        "source": self.sources[i] if self.sources else "",
                        "status": str(self.plans[i].status),
                        "queue": queue,
                        "metric": metric,
                        "value": self.value(queue, metric, label),
                        "delta": self.delta(queue, metric, label),
                    }
                )
        return pd.DataFrame(rows)

    def rows(self) -> list[tuple[str, str]]:
        """The (queue, metric) rows, in order."""
        return [(str(q), str(m)) for q, m in self.table.index]

    def value(self, queue: str, metric: str, label: str) -> float:
        """One figure (NaN where the plan lacks it)."""
        return float(cast(float, self.table.at[(queue, metric), label]))

    def delta(self, queue: str, metric: str, label: str) -> float:
        """One figure minus the first plan's (NaN where either lacks it)."""
        return float(cast(float, self.deltas.at[(queue, metric), label]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per plan its figures and deltas (``null`` where missing)."""
        out: dict[str, Any] = {"baseline": self.labels[0], "plans": []}
        warning = mixed_models_warning(self)
        if warning is not None:
            out["warning"] = warning
        if self.since is not None:
            out["since"] = self.since  # the rows "rest_…": the rest of the day from then
        for i, label in enumerate(self.labels):
            plan = self.plans[i]
            entry: dict[str, Any] = {
                "label": label,
                "source": self.sources[i] if self.sources else None,
                "scenario": plan.scenario.name,
                "status": str(plan.status),
                "queue_model": plan.summary.get("queue_model", "stationary"),
                "called_in": list(plan.called_in),
            }
            for what, get in (("values", self.value), ("deltas", self.delta)):
                overall: dict[str, Any] = {}
                queues: dict[str, dict[str, Any]] = {}
                for queue, metric in self.rows():
                    clean = _json_number(get(queue, metric, label))
                    if queue == ALL_QUEUES:
                        overall[metric] = clean
                    else:
                        queues.setdefault(queue, {})[metric] = clean
                entry[what] = {**overall, "queues": queues}
            out["plans"].append(entry)
        return out


def _json_number(value: Any) -> float | int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value) if abs(value) < 2**53 else float(value)
    return float(value)


def plan_figures(plan: Plan) -> dict[tuple[str, str], float]:
    """The compared figures of one plan, straight from its summary.json."""
    hours = plan.scenario.horizon.interval_minutes / 60.0
    obj = plan.summary["objective"]
    queues = plan.summary["queues"]
    figures: dict[tuple[str, str], float] = {
        (ALL_QUEUES, "total"): float(obj["total"]),
        (ALL_QUEUES, "weighted_shortfall"): float(obj["weighted_shortfall"]),
        (ALL_QUEUES, "value"): float(obj["value"]),
        (ALL_QUEUES, "cost"): float(obj["cost"]),
        (ALL_QUEUES, "switches"): float(obj["switches"]),
        (ALL_QUEUES, "agent_hours"): sum(q["agent_intervals"] for q in queues.values()) * hours,
        (ALL_QUEUES, "called_in"): float(len(plan.called_in)),
    }
    levels = [float(q["service_level"]) for q in queues.values() if q["service_level"] is not None]
    if levels:
        figures[ALL_QUEUES, "lowest_sl"] = min(levels)
        figures[ALL_QUEUES, "highest_sl"] = max(levels)
        figures[ALL_QUEUES, "sl_spread"] = max(levels) - min(levels)
    for qid, totals in queues.items():
        for metric in PER_QUEUE:
            key = metric.key
            if key == "agent_hours":
                figures[qid, key] = totals["agent_intervals"] * hours
            elif is_queue_figure(key):
                raw = totals[key]
                figures[qid, key] = math.nan if raw is None else float(raw)
            else:  # pragma: no cover - every PER_QUEUE key is one of the two
                raise KeyError(key)
    return figures


def effective_time(plans: Sequence[Plan]) -> str | None:
    """The effective time E of the first re-plan among ``plans`` (None: none is)."""
    for plan in plans:
        block = plan.summary.get("replan")
        if isinstance(block, dict) and isinstance(block.get("effective"), str):
            return str(block["effective"])
    return None


def rest_of_day_figures(plan: Plan, since: str) -> dict[tuple[str, str], float]:
    """The figures of ``plan`` over its intervals from ``since`` (``YYYY-MM-DD HH:MM``),
    from its staffing.csv: per queue SL (answered within target / calls) and shortfall
    in calls (the interval standards'), overall the weighted shortfall, the value and
    the agent-hours."""
    frame = plan.staffing
    start = pd.Timestamp(since)
    rest = frame[pd.to_datetime(frame["interval_start"]) >= start]
    hours = plan.scenario.horizon.interval_minutes / 60.0
    short = (
        rest["shortfall_sl_calls"]
        + rest["shortfall_abandon_calls"]
        + rest["shortfall_occupancy_calls"]
    )
    weights = {q.id: q.weight for q in plan.scenario.queues}
    figures: dict[tuple[str, str], float] = {
        (ALL_QUEUES, "rest_weighted_shortfall"): float(
            (short * rest["queue"].map(weights).astype(float)).sum()
        ),
        (ALL_QUEUES, "rest_value"): float(rest["value"].sum()),
        (ALL_QUEUES, "rest_agent_hours"): float(rest["agents"].sum()) * hours,
    }
    for qid, part in rest.groupby("queue", sort=False):
        calls = float(part["calls"].sum())
        answered = float(part["answered_within_target"].sum())
        figures[str(qid), "rest_service_level"] = answered / calls if calls > 0 else math.nan
        figures[str(qid), "rest_shortfall_calls"] = float(short[part.index].sum())
    return figures


def compare(
    plans: Sequence[Plan],
    labels: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    since: str | None = None,
) -> Comparison:
    """Put ``plans`` side by side; deltas against the first. Labels default to the
    scenario names (made unique with ``#2``, ``#3``…). With ``since`` (default: the
    effective time of a re-plan among them) the rest of the day from then is compared
    too (:func:`rest_of_day_figures`)."""
    if len(plans) < 1:
        raise UsageError("compare needs at least one plan")
    labels = unique_labels([p.scenario.name for p in plans] if labels is None else labels)
    if len(labels) != len(plans):
        raise UsageError(f"{len(labels)} labels for {len(plans)} plans")
    since = effective_time(plans) if since is None else since
    per_plan = [plan_figures(p) for p in plans]
    if since is not None:
        for figures, plan in zip(per_plan, plans, strict=True):
            figures.update(rest_of_day_figures(plan, since))
    queue_ids: list[str] = []
    for plan in plans:
        for qid in plan.scenario.queue_ids:
            if qid not in queue_ids:
                queue_ids.append(qid)
    overall = OVERALL + (REST_OVERALL if since is not None else ())
    per_queue = PER_QUEUE + (REST_PER_QUEUE if since is not None else ())
    index = [(ALL_QUEUES, m.key) for m in overall]
    index += [(q, m.key) for q in queue_ids for m in per_queue]
    multi = pd.MultiIndex.from_tuples(index, names=["queue", "metric"])
    table = pd.DataFrame(
        {
            label: [fig.get(key, math.nan) for key in index]
            for label, fig in zip(labels, per_plan, strict=True)
        },
        index=multi,
    )
    deltas = table.sub(table[labels[0]], axis=0)
    return Comparison(
        labels=tuple(labels),
        plans=tuple(plans),
        table=table,
        deltas=deltas,
        sources=tuple(sources) if sources is not None else (),
        since=since,
    )


def trade_off_lines(comparison: Comparison) -> list[str]:
    """For each plan chosen by another objective than the first plan's (a value plan
    against an equity plan): what the one costs in value and buys in equality."""
    first = comparison.plans[0]
    base = first.scenario.policy.objective
    ref = comparison.labels[0]
    figures = dict(zip(comparison.labels, map(plan_figures, comparison.plans), strict=True))

    def delta(key: str, label: str) -> float:
        return figures[label].get((ALL_QUEUES, key), math.nan) - figures[ref].get(
            (ALL_QUEUES, key), math.nan
        )

    out = []
    for label, plan in zip(comparison.labels[1:], comparison.plans[1:], strict=True):
        objective = plan.scenario.policy.objective
        if objective == base:
            continue
        dv, dl, ds = delta("value", label), delta("lowest_sl", label), delta("sl_spread", label)
        old_value = figures[ref][ALL_QUEUES, "value"]
        share = f" ({100 * dv / old_value:+.1f} %)" if old_value else ""
        out.append(
            f"{label} ({objective}) against {ref} ({base}): value "
            f"{dv:+,.2f}{share}, lowest queue SL {100 * dl:+.1f} pts, spread {100 * ds:+.1f} pts"
        )
    return out


def mixed_models_warning(comparison: Comparison) -> str | None:
    """A warning when the plans' figures come from different queue models (their deltas
    then mix the models' difference with the plans')."""
    from optistaff.plan_schema import queue_model_of

    models = [queue_model_of(p.summary) for p in comparison.plans]
    if len(set(models)) < 2:
        return None
    named = ", ".join(
        f"{label}: {model.replace('_', '-')}"
        for label, model in zip(comparison.labels, models, strict=True)
    )
    return (
        f"the plans' figures come from different queue models ({named}); the deltas mix "
        "the difference of the models with that of the plans (re-evaluate one with "
        "'optistaff evaluate PLAN --queue-model ...' to compare like with like)"
    )


def unique_labels(names: Sequence[str]) -> list[str]:
    """``names`` with repeats made unique: ``a, a, b`` → ``a, a#2, b``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def load_plan(
    source: str | os.PathLike[str],
    *,
    time_limit_s: float | None = None,
    progress: Callable[[Any], None] | None = None,
) -> Plan:
    """A plan directory is read; a scenario file is solved (nothing is written)."""
    from optistaff.pipeline import solve
    from optistaff.plan import read_plan

    path = Path(source)
    if path.is_dir():
        return read_plan(path)
    if path.is_file():
        return solve(path, time_limit_s=time_limit_s, progress=progress)
    raise UsageError(f"{source}: no such scenario file or plan directory")


def load_plans(
    sources: Sequence[str | os.PathLike[str]], *, time_limit_s: float | None = None
) -> list[Plan]:
    """:func:`load_plan` for each source, in order."""
    return [load_plan(s, time_limit_s=time_limit_s) for s in sources]


# -- formatting ------------------------------------------------------------------------


def metric_for(queue: str, key: str) -> Metric:
    for metric in (OVERALL + REST_OVERALL) if queue == ALL_QUEUES else (PER_QUEUE + REST_PER_QUEUE):
        if metric.key == key:
            return metric
    raise KeyError(key)


def format_value(metric: Metric, value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    if metric.kind == "fraction":
        return f"{100 * value:.1f}%"
    if metric.kind == "count":
        return f"{value:,.0f}"
    if metric.kind == "hours":
        return f"{value:,.2f}"
    return f"{value:,.2f}"


def format_delta(metric: Metric, delta: float) -> str:
    if delta is None or math.isnan(delta):
        return "-"
    if abs(delta) < 1e-9:
        return "="
    if metric.kind == "fraction":
        return f"{100 * delta:+.1f} pt"
    if metric.kind == "count":
        return f"{delta:+,.0f}"
    if metric.kind == "hours":
        return f"{delta:+,.2f}"
    return f"{delta:+,.2f}"


def delta_style(metric: Metric, delta: float) -> str:
    """``"green"`` where the delta is an improvement, ``"red"`` where it is worse."""
    if delta is None or math.isnan(delta) or abs(delta) < 1e-9 or metric.better == 0:
        return ""
    return "green" if delta * metric.better > 0 else "red"
