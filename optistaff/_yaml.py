"""YAML reading that remembers where every key was written.

:func:`parse_yaml` composes the node tree with PyYAML's safe loader (keeping the
marks) and converts it to plain Python data plus a map from key path to 1-based
line, so that validation can say ``contact-center.yaml:14 queues.platinum.aht_s``.

Two YAML 1.1 surprises are neutralised, because scenario files are full of clock
times: a plain scalar that YAML would read as a sexagesimal number (``10:30`` ->
630) or as a timestamp/date is kept as the text that was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]

_MAX_DEPTH = 50


@dataclass
class YamlProblem:
    """A problem found while reading YAML: 1-based line (or None), key path, message."""

    line: int | None
    key: KeyPath
    message: str


@dataclass
class ParsedYaml:
    """Plain data, the line of every key path, and the problems met on the way."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document into plain data with a line for every key path.

    Syntax errors, duplicate keys, non-scalar keys and unknown tags become problems
    (never exceptions). An empty document gives ``None``.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or str(exc)
        if exc.context:
            what = f"{exc.context}, {what}"
        return ParsedYaml(None, problems=[YamlProblem(line, (), f"YAML syntax error: {what}")])
    except yaml.YAMLError as exc:
        return ParsedYaml(None, problems=[YamlProblem(None, (), f"YAML syntax error: {exc}")])
    result = ParsedYaml(None)
    if node is None:
        return result
    result.data = _convert(node, (), result, _Constructor(), 0)
    return result


class _Constructor(yaml.constructor.SafeConstructor):
    """SafeLoader's scalar constructors, used node by node (no document-level state)."""


def _convert(
    node: yaml.Node, key: KeyPath, out: ParsedYaml, constructor: _Constructor, depth: int
) -> Any:
    if depth > _MAX_DEPTH:
        out.problems.append(
            YamlProblem(node.start_mark.line + 1, key, "nested too deeply (recursive alias?)")
        )
        return None
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                out.problems.append(YamlProblem(line, key, "keys must be plain strings"))
                continue
            name = str(key_node.value)
            if key_node.tag == "tag:yaml.org,2002:merge":
                out.problems.append(
                    YamlProblem(line, key, "YAML merge keys ('<<') are not supported")
                )
                continue
            if name in mapping:
                out.problems.append(
                    YamlProblem(line, (*key, name), "duplicate key (each key may appear once)")
                )
                continue
            out.lines[(*key, name)] = line
            mapping[name] = _convert(value_node, (*key, name), out, constructor, depth + 1)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        for i, item in enumerate(node.value):
            out.lines[(*key, i)] = item.start_mark.line + 1
            items.append(_convert(item, (*key, i), out, constructor, depth + 1))
        return items
    assert isinstance(node, yaml.ScalarNode)
    tag = node.tag
    if tag == "tag:yaml.org,2002:timestamp":
        return node.value
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
        return node.value  # a clock time like 10:30, not the sexagesimal number 630
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        out.problems.append(YamlProblem(node.start_mark.line + 1, key, f"cannot read: {problem}"))
        return None
