"""AWS's API models as botocore ships them, and what they say about one value."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session


@cache
def api_model(service: str):
    """The botocore service model of ``service`` (enums, ranges, lengths, patterns)."""
    return botocore.session.get_session().get_service_model(service)


def member(shape, name: str):
    """A structure member by case-insensitive name (provider camelCase vs API PascalCase)."""
    members = getattr(shape, "members", {}) or {}
    for key, value in members.items():
        if key.lower() == name.lower():
            return key, value
    return None


def check_value(shape, value: Any) -> list[str]:
    """What is wrong with ``value`` for the API shape ``shape``: type, enum, lengths, pattern, range."""
    if value is None:
        return []
    kind, meta = shape.type_name, shape.metadata
    problems = []
    if kind == "string":
        if not isinstance(value, str):
            return [f"the API wants a string ({shape.name})"]
        if shape.enum and value not in shape.enum:
            problems.append(f"not one of the API's {shape.name} values {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"shorter than {meta['min']} characters ({shape.name})")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"longer than {meta['max']} characters ({shape.name})")
        pattern = meta.get("pattern")
        if pattern:
            try:
                if not re.fullmatch(pattern, value, re.S):
                    problems.append(f"does not match the API pattern {pattern!r} ({shape.name})")
            except re.error:
                pass  # a Java-only construct: the length and enum checks still apply
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"the API wants an integer ({shape.name})"]
        if "min" in meta and value < meta["min"]:
            problems.append(f"below the API minimum {meta['min']} ({shape.name})")
        if "max" in meta and value > meta["max"]:
            problems.append(f"above the API maximum {meta['max']} ({shape.name})")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append("the API wants a boolean")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append("the API wants a number")
    elif kind == "list":
        if not isinstance(value, list):
            return ["the API wants a list"]
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"fewer than {meta['min']} items")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"more than {meta['max']} items")
        for item in value:
            problems += check_value(shape.member, item)
    return problems


def model_checks(shape) -> list[str]:
    """What the API model itself constrains for a member: ``enum``, ``range``, ``pattern`` or
    ``length`` (each with its bounds); empty when the model gives only a type."""
    if shape.type_name == "list":
        inner = model_checks(shape.member)
        return [f"each item: {c}" for c in inner]
    if shape.type_name == "map":
        keys, values = model_checks(shape.key), model_checks(shape.value)
        return [f"each key: {c}" for c in keys] + [f"each value: {c}" for c in values]
    meta = shape.metadata
    checks = []
    if getattr(shape, "enum", None):
        checks.append(f"enum {list(shape.enum)}")
    bounds = f"{meta.get('min', '')}..{meta.get('max', '')}"
    if shape.type_name in ("integer", "long") and ("min" in meta or "max" in meta):
        checks.append(f"range {bounds}")
    if meta.get("pattern"):
        checks.append("pattern")
    if shape.type_name == "string" and ("min" in meta or "max" in meta):
        checks.append(f"length {bounds}")
    return checks
