"""``optistaff erlang``: the queueing calculator (Erlang C, or Erlang A with --patience-s).

Either evaluates a given number of agents (``--agents K``) or finds the smallest number
meeting the standards (``--target-sl X`` and/or ``--max-abandon-rate R`` /
``--max-occupancy O``). ``--json`` prints one object; otherwise a table of agent counts
around the requirement.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from optistaff import queueing
from optistaff.cli.common import Number
from optistaff.errors import UsageError
from optistaff.loading.limits import (
    MAX_AHT_S,
    MAX_CALLS,
    MAX_CELL_AGENTS,
    MAX_OFFERED_LOAD,
    MAX_PATIENCE_S,
    MIN_AHT_S,
    MIN_PATIENCE_S,
)

_FRACTION = Number(0.0, 1.0, lo_open=True)


@click.command(name="erlang")
@click.option(
    "--calls", type=Number(0.0, MAX_CALLS), required=True, help="Calls per interval (0…1e6)."
)
@click.option(
    "--interval-minutes",
    type=Number(0.0, 24 * 60, lo_open=True, unit="min"),
    required=True,
    help="Interval length, min (at most a day).",
)
@click.option(
    "--aht-s",
    type=Number(MIN_AHT_S, MAX_AHT_S, unit="s"),
    required=True,
    help="Average handle time, seconds (1…86,400).",
)
@click.option(
    "--answer-within-s",
    type=Number(0.0, None, unit="s"),
    required=True,
    help="Service-level threshold, seconds.",
)
@click.option(
    "--patience-s",
    type=Number(MIN_PATIENCE_S, MAX_PATIENCE_S, unit="s"),
    default=None,
    help="Mean patience, seconds (Erlang A; 1…1e6).",
)
@click.option(
    "--agents",
    type=click.IntRange(min=0, max=MAX_CELL_AGENTS),
    default=None,
    help="Agents to evaluate (0…5,000).",
)
@click.option(
    "--target-sl",
    type=Number(0.0, 1.0, hi_open=True),
    default=None,
    help="Find the agents for this service level (0 <= X < 1).",
)
@click.option("--max-abandon-rate", type=_FRACTION, default=None, help="0 < R <= 1.")
@click.option("--max-occupancy", type=_FRACTION, default=None, help="0 < O <= 1.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(
    calls: float,
    interval_minutes: float,
    aht_s: float,
    answer_within_s: float,
    patience_s: float | None,
    agents: int | None,
    target_sl: float | None,
    max_abandon_rate: float | None,
    max_occupancy: float | None,
    as_json: bool,
) -> None:
    """Service level, ASA, abandonment and occupancy of one queue in one interval."""
    if agents is not None and target_sl is not None:
        raise UsageError("give either --agents K or --target-sl X, not both")
    if max_abandon_rate is not None and patience_s is None:
        raise UsageError(
            "--max-abandon-rate needs --patience-s (without it the queue is Erlang C: "
            "nobody abandons)"
        )
    standards = {
        "service_level": target_sl,
        "max_abandon_rate": max_abandon_rate,
        "max_occupancy": max_occupancy,
    }
    if agents is None and all(v is None for v in standards.values()):
        raise UsageError(
            "give --agents K to evaluate K agents, or a standard to meet "
            "(--target-sl X, --max-abandon-rate R, --max-occupancy O)"
        )
    interval_s = interval_minutes * 60.0
    load = calls * aht_s / interval_s
    if load > MAX_OFFERED_LOAD:
        raise UsageError(
            f"offered load {load:,.0f} Erlangs (--calls × --aht-s / interval) is beyond "
            f"{MAX_OFFERED_LOAD:,.0f}, the range optistaff computes exactly: check the units"
        )
    required: int | None = None
    if agents is None:
        required = int(
            queueing.required_agents(
                calls, aht_s, interval_s, answer_within_s, patience_s=patience_s, **standards
            )
        )
        chosen = required
    else:
        chosen = agents
    if as_json:
        perf = queueing.performance(calls, aht_s, interval_s, answer_within_s, chosen, patience_s)
        out: dict[str, Any] = {
            "agents": chosen,
            "service_level": _num(perf.service_level),
            "asa_s": _num(perf.asa_s),
            "abandon_rate": _num(perf.abandon_rate),
            "occupancy": _num(perf.occupancy),
        }
        if target_sl is not None:
            out["required_agents"] = required
        click.echo(json.dumps(out))
        return
    _print_table(
        calls, interval_minutes, aht_s, answer_within_s, patience_s, chosen, required is not None
    )


def _num(value: np.ndarray) -> float | None:
    x = float(value)
    return None if math.isnan(x) else x


def _print_table(
    calls: float,
    interval_minutes: float,
    aht_s: float,
    answer_within_s: float,
    patience_s: float | None,
    chosen: int,
    is_required: bool,
) -> None:
    interval_s = interval_minutes * 60.0
    load = float(queueing.offered_load(calls, aht_s, interval_s))
    model = "Erlang C" if patience_s is None else f"Erlang A, mean patience {patience_s:g} s"
    console = Console(highlight=False)
    console.print(
        f"Offered load {load:.2f} Erlangs ({calls:g} calls per {interval_minutes:g} min, "
        f"AHT {aht_s:g} s; {model}; service level = answered within {answer_within_s:g} s)"
    )
    low = max(0, chosen - 3)
    grid = np.arange(low, chosen + 6)
    perf = queueing.performance(calls, aht_s, interval_s, answer_within_s, grid, patience_s)
    table = Table()
    for title in ("agents", "service level", "ASA (s)", "abandon", "occupancy", ""):
        table.add_column(title, justify="right")
    mark = "◀ required" if is_required else "◀ chosen"
    for k, n in enumerate(grid):
        table.add_row(
            str(n),
            _pct(perf.service_level[k]),
            _fmt(perf.asa_s[k], "{:.1f}"),
            _pct(perf.abandon_rate[k]),
            _pct(perf.occupancy[k]),
            mark if n == chosen else "",
            style="bold" if n == chosen else None,
        )
    console.print(table)


def _pct(value: float) -> str:
    return _fmt(value * 100.0, "{:.1f}%")


def _fmt(value: float, pattern: str) -> str:
    return "—" if math.isnan(value) else pattern.format(value)
