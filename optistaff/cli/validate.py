"""``optistaff validate SCENARIO``: every problem at once, or a one-screen summary.

Exit 0 when the scenario is valid (warnings are printed but do not fail it); exit 2
with one line per problem (file:line key: message) when it is not.
"""

from __future__ import annotations

from collections import Counter

import click
from rich.console import Console
from rich.table import Table

from optistaff.errors import ScenarioError
from optistaff.loading import check_scenario
from optistaff.scenario import Queue, Scenario


@click.command(name="validate")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
def command(scenario: str) -> None:
    """Check a scenario file (and its parents and side files) and summarise it."""
    result, problems = check_scenario(scenario)
    warnings = [p for p in problems if p.severity == "warning"]
    if result is None:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        raise ScenarioError(problems)
    print_summary(result, Console())


def _standards(queue: Queue) -> str:
    parts = []
    if queue.min_service_level is not None:
        parts.append(f"SL≥{queue.min_service_level:.0%}@{queue.answer_within_s:g}s")
    if queue.daily_service_level is not None:
        parts.append(f"day≥{queue.daily_service_level:.0%}")
    if queue.max_abandon_rate is not None:
        parts.append(f"abandon≤{queue.max_abandon_rate:.0%}")
    if queue.max_occupancy is not None:
        parts.append(f"occ≤{queue.max_occupancy:.0%}")
    return ", ".join(parts) or "-"


def print_summary(scenario: Scenario, console: Console) -> None:
    """The valid scenario on one screen: horizon, queues, agents, pins, policy, warnings."""
    h = scenario.horizon
    console.print(f"[bold green]valid[/] scenario [bold]{scenario.name}[/]")
    if scenario.description:
        console.print(scenario.description, style="dim")
    console.print(
        f"horizon {h.start:%Y-%m-%d %H:%M} → {h.end:%Y-%m-%d %H:%M} (exclusive), "
        f"{h.intervals} intervals of {h.interval_minutes} min"
    )
    table = Table(
        title=f"queues (SL: answered within answer_within_s; {h.interval_minutes}-min load)",
        title_justify="left",
    )
    table.add_column("queue", no_wrap=True)
    for column in ("value", "calls", "AHT s", "peak Erl", "model"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("standards")
    for q in scenario.queues:
        calls = sum(q.forecast)
        mean_aht = (
            sum(c * a for c, a in zip(q.forecast, q.aht_s, strict=True)) / calls
            if calls
            else sum(q.aht_s) / len(q.aht_s)
        )
        peak = max(c * a / h.interval_s for c, a in zip(q.forecast, q.aht_s, strict=True))
        model = f"A {q.patience_s:g}s" if q.patience_s is not None else "C"
        table.add_row(
            q.id,
            f"{q.value:g}",
            f"{calls:,.0f}",
            f"{mean_aht:.0f}",
            f"{peak:.1f}",
            model,
            _standards(q),
        )
    console.print(table)
    agents = scenario.agents
    optional = sum(a.optional for a in agents)
    profiles = Counter(tuple(sorted(a.skills)) for a in agents)
    multi = sum(len(a.skills) > 1 for a in agents)
    console.print(
        f"agents {len(agents)} ({optional} optional), {len(profiles)} skill profiles, "
        f"{multi} multi-skilled ({multi / len(agents):.0%}), "
        f"{sum(a.available_intervals for a in agents)} agent-intervals available"
    )
    console.print(f"pins {len(scenario.pins)}")
    p = scenario.policy
    price = "none" if p.shortfall_price is None else f"{p.shortfall_price:g}"
    console.print(
        f"policy objective={p.objective} switch_penalty={p.switch_penalty:g} "
        f"shortfall_price={price} time_limit_s={p.time_limit_s:g} mip_gap={p.mip_gap:g} "
        f"threads={p.threads} seed={p.seed} queue_model={p.queue_model}"
    )
    state = scenario.initial_state
    if state is not None:
        present = ", ".join(
            f"{q} {st.waiting} waiting + {st.in_service} in service" for q, st in state.queues
        )
        console.print(f"initial state at {scenario.horizon.label(state.at)}: {present}")
    if scenario.warnings:
        console.print(f"[yellow]{len(scenario.warnings)} warning(s):[/]")
        for warning in scenario.warnings:
            console.print(f"  {warning}", markup=False)
