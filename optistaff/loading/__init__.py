"""Scenario files → a validated :class:`~optistaff.scenario.Scenario`.

This is the one boundary where input is checked; everything downstream trusts the
``Scenario`` it returns. Every problem is collected (with file, line and key path,
e.g. ``contact-center.yaml:14 queues.platinum.aht_s: must be > 0, got -30``) and
reported together in one :class:`~optistaff.errors.ScenarioError`.

The pipeline, with the module of each step:

1. read YAML with the line of every key (:mod:`optistaff._yaml`, from ``drafts``);
2. check each file's sections: pydantic models, ``extra="forbid"`` (``schema``);
3. follow ``extends`` and merge child into parent: queues and agents by id, other keys
   by replacement (``drafts``);
4. apply ``changes`` in the order listed (``drafts``);
5. resolve side files, clock times, availability and pins against the horizon, and
   check the size of what the solver would build (``resolve``, with ``csv_tables`` for
   the CSV side files and ``clock`` for times);
6. → ``Scenario`` (here, in :func:`check_scenario` and :func:`scenario_from_dict`).

Every problem is located and collected by ``problems``; the ``MAX_*`` / ``MIN_*``
limits are in ``limits`` (and re-exported here). The rules chosen where the public
formats (``docs/formats.md``) and the meaning of every number
(``models/00-contract.md``) are silent — shifts, breaks and pins in clock times,
inheritance through ``extends``, the kinds of ``changes``, the limits and why each is
what it is, ``input_hash`` — are written down in ``docs/scenario-rules.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from optistaff.errors import Problem, ScenarioError
from optistaff.loading.drafts import draft_from_data, load_file
from optistaff.loading.limits import (
    MAX_AGENT_INTERVALS,
    MAX_AGENTS,
    MAX_AHT_S,
    MAX_CALLS,
    MAX_CELL_AGENTS,
    MAX_FILE_BYTES,
    MAX_HORIZON_MINUTES,
    MAX_OFFERED_LOAD,
    MAX_PATIENCE_S,
    MAX_PINS,
    MAX_QUEUES,
    MAX_SEED,
    MAX_STATE_CALLS,
    MAX_TABLE_ENTRIES,
    MAX_THREADS,
    MAX_WORTH,
    MAX_YAML_NODES,
    MIN_AHT_S,
    MIN_CALLS,
    MIN_PATIENCE_S,
)
from optistaff.loading.problems import Context, Source
from optistaff.loading.resolve import resolve_draft
from optistaff.scenario import Scenario

__all__ = [
    "MAX_AGENTS",
    "MAX_AGENT_INTERVALS",
    "MAX_AHT_S",
    "MAX_CALLS",
    "MAX_CELL_AGENTS",
    "MAX_FILE_BYTES",
    "MAX_HORIZON_MINUTES",
    "MAX_OFFERED_LOAD",
    "MAX_PATIENCE_S",
    "MAX_PINS",
    "MAX_QUEUES",
    "MAX_SEED",
    "MAX_STATE_CALLS",
    "MAX_TABLE_ENTRIES",
    "MAX_THREADS",
    "MAX_WORTH",
    "MAX_YAML_NODES",
    "MIN_AHT_S",
    "MIN_CALLS",
    "MIN_PATIENCE_S",
    "check_scenario",
    "load_scenario",
    "scenario_from_dict",
]


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, merge and validate a scenario file (and its parents and side files).

    Raises :class:`ScenarioError` carrying every problem found. Warnings (e.g. an
    agent with no available interval, who is then ignored) are in
    ``Scenario.warnings``.
    """
    scenario, problems = check_scenario(path)
    if scenario is None:
        raise ScenarioError(problems)
    return scenario


def check_scenario(path: str | os.PathLike[str]) -> tuple[Scenario | None, list[Problem]]:
    """Like :func:`load_scenario` but returns ``(scenario or None, problems)``.

    ``problems`` holds errors and warnings (``severity == "warning"``); the scenario
    is ``None`` exactly when there is at least one error.
    """
    ctx = Context()
    given = Path(path)
    display = os.fspath(path)
    ctx.main_dir = given.resolve().parent
    draft = load_file(given, display, ctx, chain=(), naming=None)
    scenario = resolve_draft(draft, ctx, default_name=given.stem, source=given)
    if scenario is not None:
        scenario = replace(scenario, input_hash=ctx.input_hash())
    return scenario, ctx.problems


def scenario_from_dict(
    data: Mapping[str, Any], *, source_name: str = "<dict>", base_dir: Path | None = None
) -> Scenario:
    """Validate plain data in the scenario file format (e.g. ``Scenario.to_dict()``).

    ``extends`` and side files are resolved relative to ``base_dir`` (default: the
    current directory); problems name ``source_name`` and carry no line.
    """
    ctx = Context()
    base = base_dir if base_dir is not None else Path.cwd()
    ctx.main_dir = base.resolve()
    source = Source(source_name, base, {})
    draft = draft_from_data(dict(data), source, ctx, chain=())
    stem = Path(source_name).stem if not source_name.startswith("<") else "scenario"
    scenario = resolve_draft(draft, ctx, default_name=stem or "scenario", source=None)
    if scenario is None:
        raise ScenarioError(ctx.problems)
    return scenario
