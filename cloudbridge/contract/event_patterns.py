"""The grammar of EventBridge event patterns, as the EventBridge user guide documents it.

A pattern is a JSON object whose leaves are non-empty arrays of values; a value is a
string, number, boolean, null or one content filter (prefix, suffix, anything-but,
numeric, exists, equals-ignore-case, cidr, wildcard); ``$or`` holds alternative patterns.
Sources: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
"""

from __future__ import annotations

from typing import Any

SOURCE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
FILTERS = {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "cidr", "wildcard"}
NUMERIC_OPERATORS = {"<", "<=", "=", ">", ">="}
# Top-level fields of every event (the event structure reference).
EVENT_FIELDS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def check_event_pattern(doc: Any) -> list[tuple[str, str]]:
    """Problems of an event pattern, as (path, message)."""
    if not isinstance(doc, dict) or not doc:
        return [("", "an event pattern is a non-empty JSON object")]
    problems = [(key, "not a field of an event") for key in doc if key not in EVENT_FIELDS and key != "$or"]
    return problems + _object(doc, "")


def _object(doc: dict, at: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, value in doc.items():
        where = f"{at}.{key}" if at else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                problems.append((where, "$or takes a list of at least two patterns"))
                continue
            for i, alternative in enumerate(value):
                problems += (
                    _object(alternative, f"{where}[{i}]")
                    if isinstance(alternative, dict)
                    else [(f"{where}[{i}]", "not a pattern object")]
                )
        elif isinstance(value, dict):
            problems += _object(value, where)
        elif isinstance(value, list):
            problems += _leaf(value, where)
        else:
            problems.append((where, f"a match value must be inside an array ({SOURCE})"))
    return problems


def _leaf(values: list, at: str) -> list[tuple[str, str]]:
    if not values:
        return [(at, "an empty array matches nothing")]
    problems = []
    for i, value in enumerate(values):
        if isinstance(value, dict):
            problems += [(f"{at}[{i}]", m) for m in _filter(value)]
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            problems.append((f"{at}[{i}]", "not a string, number, boolean, null or content filter"))
    return problems


def _filter(value: dict) -> list[str]:
    if len(value) != 1 or next(iter(value)) not in FILTERS:
        return [f"a content filter is one of {sorted(FILTERS)}"]
    ((name, argument),) = value.items()
    if name == "exists" and not isinstance(argument, bool):
        return ["exists takes true or false"]
    if name == "numeric":
        if not isinstance(argument, list) or len(argument) % 2 or not argument:
            return ["numeric takes operator/number pairs"]
        pairs = zip(argument[::2], argument[1::2], strict=True)
        if any(op not in NUMERIC_OPERATORS or not isinstance(n, (int, float)) for op, n in pairs):
            return [f"numeric operators are {sorted(NUMERIC_OPERATORS)}, each followed by a number"]
    if name in ("prefix", "suffix", "cidr", "wildcard", "equals-ignore-case") and not isinstance(argument, (str, dict)):
        return [f"{name} takes a string"]
    return []
