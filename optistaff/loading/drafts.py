"""Drafts: each file's sections checked and merged along the ``extends`` chain (queues
and agents by id, other keys by replacement), then its ``changes`` applied in the order
listed. A draft still holds each queue's fields as written; resolving them against the
horizon is :mod:`optistaff.loading.resolve`'s part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from optistaff._yaml import parse_yaml
from optistaff.errors import Problem
from optistaff.loading.csv_tables import read_table
from optistaff.loading.limits import MAX_AGENTS, MAX_PINS, MAX_QUEUES, MAX_YAML_NODES
from optistaff.loading.problems import (
    At,
    Context,
    Source,
    allowed_hint,
    format_key,
    join_display,
    show,
    suggest,
    too_many_agents,
    under,
    unknown_key,
    where_text,
)
from optistaff.loading.schema import (
    AgentModel,
    FileRef,
    HorizonModel,
    InitialStateModel,
    PinModel,
    PolicyModel,
    id_text,
    is_finite,
    is_number,
    validate,
)

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "extends",
    "changes",
    "horizon",
    "queues",
    "agents",
    "pins",
    "initial_state",
    "policy",
)
CHANGE_KINDS = ("remove_agents", "add_agents", "absent", "scale_forecast", "set")
ROSTER_COLUMNS = ("id", "skills", "shift", "breaks", "optional", "cost", "absent")
ROSTER_REQUIRED = ("id", "skills", "shift")


@dataclass
class QueueDraft:
    """A queue's fields as written, merged along ``extends`` and ``changes``."""

    at: At  # queues.<id> where the queue was (last) defined
    fields: dict[str, Any]
    origins: dict[str, At]  # where each field was last written
    broken: bool = False  # entry not a mapping (already reported)
    forecast_scale: float = 1.0


@dataclass
class AgentDraft:
    """An agent's checked entry and where it was written; a child's entry with the same
    id replaces it wholesale."""

    model: AgentModel
    at: At  # agents[i] in a YAML file, or a roster CSV row


@dataclass
class Draft:
    """A scenario's sections as merged so far, before resolution against the horizon."""

    horizon: HorizonModel | None = None
    horizon_at: At | None = None
    queues: dict[str, QueueDraft] = field(default_factory=dict)
    agents: dict[str, AgentDraft] = field(default_factory=dict)
    pins: list[tuple[PinModel, At]] = field(default_factory=list)
    policy: PolicyModel | None = None
    policy_at: At | None = None
    initial_state: InitialStateModel | None = None
    initial_state_at: At | None = None
    given: set[str] = field(default_factory=set)  # sections present somewhere
    broken: set[str] = field(default_factory=set)  # sections with reported errors
    name: str | None = None
    description: str = ""
    root: At | None = None


# --------------------------------------------------------------------------------------
# Files and the extends chain
# --------------------------------------------------------------------------------------


def load_file(
    path: Path, display: str, ctx: Context, chain: tuple[str, ...], naming: At | None
) -> Draft | None:
    """The draft of the scenario file at ``path``, on top of its parents' (None after
    reported problems). ``chain``: the files that extend it (resolved path, display name),
    to find a cycle; ``naming``: where its name was written, if anywhere."""
    resolved = str(path.resolve())
    if resolved in chain:
        names = [*chain[chain.index(resolved) + 1 :: 2], display]
        ctx.error(naming or At(display), "extends cycle: " + " -> ".join(names))
        return None
    raw = ctx.read(path, display, naming)
    if raw is None:
        return None
    text = ctx.decode(raw, display)
    if text is None:
        return None
    nodes = _expanded_yaml_nodes(text) if "&" in text and "*" in text else 0
    if nodes > MAX_YAML_NODES:
        ctx.error(
            naming or At(display),
            f"its YAML aliases expand to more than {MAX_YAML_NODES:,} values "
            "(limit MAX_YAML_NODES); write the data out instead of nesting aliases",
        )
        return None
    parsed = parse_yaml(text)
    for yp in parsed.problems:
        ctx.problems.append(Problem(display, yp.line, format_key(yp.key), yp.message))
    source = Source(display, path.resolve().parent, parsed.lines)
    if parsed.problems and parsed.data is None:
        return None
    return draft_from_data(parsed.data, source, ctx, chain=(*chain, resolved, display))


def _expanded_yaml_nodes(text: str) -> int:
    """How many nodes the YAML document has once every alias is expanded (0 when it
    does not parse: the parser reports that). Linear in the document's size."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 0
    if root is None:
        return 0
    infinite = 2**62  # a node that contains itself (a recursive alias)
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # post-order without recursion: a node's size is 1 + its children's sizes
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children), infinite)
            continue
        if id(node) in open_nodes:
            return infinite
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return infinite
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes.get(id(root), 0)


def draft_from_data(
    data: Any, source: Source, ctx: Context, chain: tuple[str, ...]
) -> Draft | None:
    """The draft of one document's data (a parsed file, or a dict), on top of its
    parent's when it ``extends`` one, with its ``changes`` applied."""
    root = At(source.display, (), source)
    if data is None:
        ctx.error(root, "empty scenario file (expected keys horizon, queues, agents, ...)")
        return None
    if not isinstance(data, dict):
        ctx.error(root, f"the top level must be a mapping of keys (horizon, ...), got {show(data)}")
        return None
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            ctx.error(root.at(key), unknown_key(key, TOP_LEVEL_KEYS))

    draft = Draft()
    if "extends" in data:
        written = data["extends"]
        ext_at = root.at("extends")
        if not isinstance(written, str) or not written.strip():
            ctx.error(ext_at, f"must be the path of a scenario file, got {show(written)}")
            draft.broken.update(("horizon", "queues", "agents"))
        else:
            parent = load_file(
                source.base_dir / written,
                join_display(source.display, written),
                ctx,
                chain,
                ext_at,
            )
            if parent is None:
                # the parent's problems are reported; do not pile "missing" on top
                draft.broken.update(("horizon", "queues", "agents"))
            else:
                draft = parent
    elif "changes" in data:
        ctx.error(root.at("changes"), "only allowed together with 'extends'")

    draft.root = root
    draft.name = None
    draft.description = ""
    if "name" in data:
        name = data["name"]
        if isinstance(name, str) and name.strip():
            draft.name = name.strip()
        else:
            ctx.error(root.at("name"), f"must be a non-empty string, got {show(name)}")
    if "description" in data:
        description = data["description"]
        if isinstance(description, str):
            draft.description = description.strip()
        elif description is not None:
            ctx.error(root.at("description"), f"must be a string, got {show(description)}")

    if "horizon" in data:
        _merge_horizon(data["horizon"], root.at("horizon"), draft, ctx)
    if "queues" in data:
        _merge_queues(data["queues"], root.at("queues"), draft, ctx)
    if "agents" in data:
        draft.given.add("agents")
        entries = _parse_agent_entries(data["agents"], root.at("agents"), ctx)
        if entries is None:
            draft.broken.add("agents")
        else:
            for entry in entries:
                draft.agents[entry.model.id] = entry  # a child entry replaces wholesale
    if "pins" in data:
        _merge_pins(data["pins"], root.at("pins"), draft, ctx)
    if "initial_state" in data:  # replaces the parent's wholesale
        draft.initial_state_at = root.at("initial_state")
        draft.initial_state = None
        if data["initial_state"] is not None:
            draft.initial_state = validate(
                InitialStateModel,
                data["initial_state"],
                ctx,
                lambda loc: root.at("initial_state", *loc),
            )
            if draft.initial_state is None:
                draft.broken.add("initial_state")
    if "policy" in data:
        draft.policy_at = root.at("policy")
        if data["policy"] is None:
            draft.policy = None
        else:
            draft.policy = validate(
                PolicyModel, data["policy"], ctx, lambda loc: root.at("policy", *loc)
            )
            if draft.policy is None:
                draft.broken.add("policy")
    if "changes" in data and "extends" in data:
        _apply_changes(data["changes"], root.at("changes"), draft, ctx)
    return draft


def _merge_horizon(value: Any, at: At, draft: Draft, ctx: Context) -> None:
    draft.given.add("horizon")
    draft.horizon_at = at
    draft.horizon = validate(HorizonModel, value, ctx, under(at))
    if draft.horizon is None:
        draft.broken.add("horizon")
    else:
        draft.broken.discard("horizon")


def _merge_queues(value: Any, at: At, draft: Draft, ctx: Context) -> None:
    draft.given.add("queues")
    if not isinstance(value, dict):
        ctx.error(at, f"must be a mapping of queue id to queue, got {show(value)}")
        draft.broken.add("queues")
        return
    if len(value) > MAX_QUEUES:
        ctx.error(
            at, f"{len(value):,} queues; optistaff plans at most {MAX_QUEUES:,} (limit MAX_QUEUES)"
        )
        draft.broken.add("queues")
        return
    for qid, entry in value.items():
        qat = at.at(qid)
        if isinstance(entry, dict):
            origins = {name: qat.at(name) for name in entry}
            draft.queues[qid] = QueueDraft(qat, dict(entry), origins)
        else:
            ctx.error(qat, f"must be a mapping of queue fields, got {show(entry)}")
            draft.queues[qid] = QueueDraft(qat, {}, {}, broken=True)


def _merge_pins(value: Any, at: At, draft: Draft, ctx: Context) -> None:
    draft.given.add("pins")
    draft.pins = []
    if value is None:
        return
    if not isinstance(value, list):
        ctx.error(at, f"must be a list of pins, got {show(value)}")
        draft.broken.add("pins")
        return
    if len(value) > MAX_PINS:
        ctx.error(at, f"{len(value):,} pins; at most {MAX_PINS:,} (limit MAX_PINS)")
        draft.broken.add("pins")
        return
    for i, entry in enumerate(value):
        pat = at.at(i)
        pin = validate(PinModel, entry, ctx, under(pat))
        if pin is None:
            draft.broken.add("pins")
        else:
            draft.pins.append((pin, pat))


# --------------------------------------------------------------------------------------
# Agents: inline entries and roster CSV files
# --------------------------------------------------------------------------------------


def _parse_agent_entries(value: Any, at: At, ctx: Context) -> list[AgentDraft] | None:
    """Inline agents and ``{file: roster.csv}`` entries, in order; ids unique within."""
    if not isinstance(value, list):
        ctx.error(at, f"must be a list of agents (or {{file: roster.csv}}), got {show(value)}")
        return None
    if len(value) > MAX_AGENTS:
        ctx.error(at, too_many_agents(len(value)))
        return None
    out: list[AgentDraft] = []
    for i, entry in enumerate(value):
        eat = at.at(i)
        if isinstance(entry, dict) and "file" in entry:
            ref = validate(FileRef, entry, ctx, under(eat))
            if ref is not None:
                roster = _read_roster(ref.file, eat.at("file"), ctx)
                if roster is None:
                    return None
                out.extend(roster)
            continue
        model = validate(AgentModel, entry, ctx, under(eat))
        if model is not None:
            out.append(AgentDraft(model, eat))
    unique: list[AgentDraft] = []
    first: dict[str, AgentDraft] = {}
    for entry in out:
        agent_id = entry.model.id
        if agent_id in first:
            where = first[agent_id].at
            ctx.error(
                entry.at.at("id"),
                f"duplicate agent id '{agent_id}' (first defined at {where_text(where)})",
            )
            continue
        first[agent_id] = entry
        unique.append(entry)
    if len(unique) > MAX_AGENTS:
        ctx.error(at, too_many_agents(len(unique)))
        return None
    return unique


def _read_roster(written: str, at: At, ctx: Context) -> list[AgentDraft] | None:
    """The roster's agents ([] after reported problems; None when it has too many)."""
    table = read_table(ctx, written, at)
    if table is None:
        return []
    header = At(table.display, line=table.header_line)
    if len(table.rows) > MAX_AGENTS:
        ctx.error(header, too_many_agents(len(table.rows)))
        return None
    ok = True
    for column in table.columns:
        if column not in ROSTER_COLUMNS:
            ctx.error(
                header.at(column), "unknown roster column" + allowed_hint(column, ROSTER_COLUMNS)
            )
            ok = False
    for column in ROSTER_REQUIRED:
        if column not in table.columns:
            ctx.error(
                header.at(column), f"missing roster column (columns: {', '.join(ROSTER_COLUMNS)})"
            )
            ok = False
    if not ok:
        return []
    out: list[AgentDraft] = []
    for line, row in table.rows:
        rat = At(table.display, line=line)
        data: dict[str, Any] = {
            "id": row["id"],
            "skills": _split_list(row["skills"]),
            "shift": row["shift"],
        }
        if "breaks" in row:
            data["breaks"] = _split_list(row["breaks"])
        if "absent" in row:
            data["absent"] = _split_list(row["absent"])
        if "optional" in row:
            flag = _parse_flag(row["optional"])
            if flag is None:
                ctx.error(
                    rat.at("optional"),
                    f"must be true/false/yes/no/1/0 or empty, got {row['optional']!r}",
                )
                continue
            data["optional"] = flag
        if row.get("cost"):
            try:
                data["cost"] = float(row["cost"])
            except ValueError:
                ctx.error(rat.at("cost"), f"must be a number, got {row['cost']!r}")
                continue
        model = validate(AgentModel, data, ctx, under(rat))
        if model is not None:
            out.append(AgentDraft(model, rat))
    return out


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _parse_flag(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0", ""):
        return False
    return None


# --------------------------------------------------------------------------------------
# changes, in the order listed
# --------------------------------------------------------------------------------------


def _apply_changes(value: Any, at: At, draft: Draft, ctx: Context) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        ctx.error(
            at, f"must be a mapping of changes ({', '.join(CHANGE_KINDS)}), got {show(value)}"
        )
        return
    for kind, spec in value.items():
        cat = at.at(kind)
        if kind == "remove_agents":
            _change_remove_agents(spec, cat, draft, ctx)
        elif kind == "add_agents":
            entries = _parse_agent_entries(spec, cat, ctx)
            if entries is None:
                draft.broken.add("agents")
            for entry in entries or []:
                agent_id = entry.model.id
                if agent_id in draft.agents:
                    ctx.error(
                        entry.at.at("id"),
                        f"agent '{agent_id}' already exists "
                        f"({where_text(draft.agents[agent_id].at)}); remove it first",
                    )
                else:
                    draft.agents[agent_id] = entry
        elif kind == "absent":
            _change_absent(spec, cat, draft, ctx)
        elif kind == "scale_forecast":
            _change_scale_forecast(spec, cat, draft, ctx)
        elif kind == "set":
            _change_set(spec, cat, draft, ctx)
        else:
            ctx.error(cat, "unknown change" + allowed_hint(kind, CHANGE_KINDS))


def _change_remove_agents(spec: Any, at: At, draft: Draft, ctx: Context) -> None:
    if not isinstance(spec, list):
        ctx.error(at, f"must be a list of agent ids, got {show(spec)}")
        return
    for i, raw_id in enumerate(spec):
        agent_id = id_text(raw_id)
        if not isinstance(agent_id, str) or not agent_id:
            ctx.error(at.at(i), f"must be an agent id, got {show(raw_id)}")
            continue
        if agent_id not in draft.agents:
            ctx.error(at.at(i), f"unknown agent '{agent_id}'{suggest(agent_id, draft.agents)}")
            continue
        del draft.agents[agent_id]
        kept = []
        for pin, pat in draft.pins:
            if pin.agent == agent_id:
                ctx.warn(
                    at.at(i),
                    f"agent '{agent_id}' removed: pin {pin.from_}-{pin.to} "
                    f"({where_text(pat)}) dropped",
                )
            else:
                kept.append((pin, pat))
        draft.pins = kept


def _change_absent(spec: Any, at: At, draft: Draft, ctx: Context) -> None:
    """``absent: {AGENT: ["10:40-", "14:00-15:00"]}``: times each agent is away, added to
    the agent's own (resolved with the agent: docs/scenario-rules.md, *Absences*)."""
    if not isinstance(spec, dict):
        ctx.error(at, f"must be a mapping of agent id to a list of times, got {show(spec)}")
        return
    for raw_id, times in spec.items():
        agent_id = id_text(raw_id)
        aat = at.at(str(raw_id))
        if not isinstance(agent_id, str) or agent_id not in draft.agents:
            ctx.error(aat, f"unknown agent '{raw_id}'{suggest(str(raw_id), draft.agents)}")
            continue
        if isinstance(times, str):
            times = [times]
        if not isinstance(times, list) or not all(isinstance(x, str) for x in times):
            ctx.error(aat, f"must be a list of times 'HH:MM-HH:MM' or 'HH:MM-', got {show(times)}")
            continue
        entry = draft.agents[agent_id]
        entry.model = entry.model.model_copy(update={"absent": [*entry.model.absent, *times]})


def _change_scale_forecast(spec: Any, at: At, draft: Draft, ctx: Context) -> None:
    if not isinstance(spec, dict):
        ctx.error(at, f"must be a mapping of queue id to factor, got {show(spec)}")
        return
    for qid, factor in spec.items():
        fat = at.at(qid)
        if qid not in draft.queues:
            ctx.error(fat, f"unknown queue '{qid}'{suggest(qid, draft.queues)}")
        elif not is_number(factor) or not is_finite(factor):
            ctx.error(fat, f"must be a finite number, got {show(factor)}")
        elif factor < 0:
            ctx.error(fat, f"must be >= 0, got {show(factor)}")
        else:
            draft.queues[qid].forecast_scale *= float(factor)


def _change_set(spec: Any, at: At, draft: Draft, ctx: Context) -> None:
    if not isinstance(spec, dict):
        ctx.error(at, f"must be a mapping of queue id to {{field: value}}, got {show(spec)}")
        return
    for qid, fields in spec.items():
        qat = at.at(qid)
        if qid not in draft.queues:
            ctx.error(qat, f"unknown queue '{qid}'{suggest(qid, draft.queues)}")
            continue
        if not isinstance(fields, dict):
            ctx.error(qat, f"must be a mapping of queue fields, got {show(fields)}")
            continue
        queue = draft.queues[qid]
        for name, new in fields.items():
            queue.fields[name] = new
            queue.origins[name] = qat.at(name)
            if name == "forecast":
                queue.forecast_scale = 1.0
