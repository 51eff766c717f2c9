"""A small IAM policy evaluator, enough to prove what a policy document allows: explicit
Deny wins, then an Allow whose principal, action, resource and every condition match.

Action/NotAction, Resource/NotResource; conditions: String*, Arn*, Bool, Numeric*, Null,
their ``...IfExists`` forms and the ``ForAllValues:``/``ForAnyValue:`` set prefixes, with
policy variables in their values. As in IAM: a key absent from the request context fails
a positive operator and satisfies a negated one (``StringNotEquals``, ``ArnNotLike``, ...);
``...IfExists`` makes an absent key match; ``ForAllValues`` matches an absent key,
``ForAnyValue`` does not."""

from __future__ import annotations

import fnmatch
import re
from typing import Any


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, who: dict[str, str]) -> bool:
    if principal == "*":
        return True
    for kind, values in principal.items():
        if kind in who and any(v == "*" or v == who[kind] for v in _list(values)):
            return True
    return False


def _resolve(value: Any, context: dict[str, Any]) -> str:
    """Policy variables (``${aws:userid}``) take their value from the request context; one
    the context lacks matches nothing."""
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(context.get(m.group(1), "\x00unresolved")), str(value))


def _number(value: Any) -> float:
    return float(value)


_POSITIVE = {
    "StringEquals": lambda a, w: a == w,
    "StringEqualsIgnoreCase": lambda a, w: a.lower() == w.lower(),
    "StringLike": lambda a, w: fnmatch.fnmatchcase(a, w),
    "ArnEquals": lambda a, w: a == w,
    "ArnLike": lambda a, w: fnmatch.fnmatchcase(a, w),
    "Bool": lambda a, w: a.lower() == w.lower(),
    "NumericEquals": lambda a, w: _number(a) == _number(w),
    "NumericLessThan": lambda a, w: _number(a) < _number(w),
    "NumericLessThanEquals": lambda a, w: _number(a) <= _number(w),
    "NumericGreaterThan": lambda a, w: _number(a) > _number(w),
    "NumericGreaterThanEquals": lambda a, w: _number(a) >= _number(w),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _test(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    """One operator on one key (set prefixes and IfExists included)."""
    quantifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    present = key in context
    if operator == "Null":  # "true": the key is absent
        return any(str(e).lower() == ("false" if present else "true") for e in _list(expected))
    if not present:
        if quantifier == "ForAllValues" or if_exists:
            return True
        return operator in _NEGATED and quantifier != "ForAnyValue"
    wanted = [_resolve(e, context) for e in _list(expected)]
    negated = operator in _NEGATED
    compare = _POSITIVE.get(_NEGATED.get(operator, operator))
    if compare is None:
        raise NotImplementedError(operator)
    values = [str(v) for v in _list(context[key])]

    def one(value: str) -> bool:
        hit = any(compare(value, w) for w in wanted)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(one(v) for v in values)
    if quantifier == "ForAnyValue":
        return any(one(v) for v in values)
    return one(values[0]) if len(values) == 1 else any(one(v) for v in values)


def _condition_matches(condition: dict, context: dict[str, Any]) -> bool:
    return all(
        _test(operator, key, expected, context)
        for operator, tests in condition.items()
        for key, expected in tests.items()
    )


def _any_match(value: str, patterns: Any, case: bool = True) -> bool:
    if case:
        return any(fnmatch.fnmatchcase(value, p) for p in _list(patterns))
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _list(patterns))


def _matches(statement: dict, who: dict, action: str, resource: str, context: dict) -> bool:
    if "Principal" in statement and not _principal_matches(statement["Principal"], who):
        return False
    if "NotAction" in statement:
        if _any_match(action, statement["NotAction"], case=False):
            return False
    elif not _any_match(action, statement["Action"], case=False):
        return False
    if "NotResource" in statement:
        if _any_match(resource, statement["NotResource"]):
            return False
    elif not _any_match(resource, statement.get("Resource", "*")):
        return False
    return _condition_matches(statement.get("Condition", {}), context)


def decide(policy: dict, who: dict[str, str], action: str, resource: str, context: dict | None = None) -> str:
    """ "allow", "deny" (explicit) or "implicit" (nothing allows it)."""
    context = context or {}
    statements = _list(policy["Statement"])
    if any(s["Effect"] == "Deny" and _matches(s, who, action, resource, context) for s in statements):
        return "deny"
    if any(s["Effect"] == "Allow" and _matches(s, who, action, resource, context) for s in statements):
        return "allow"
    return "implicit"


def decide_all(policies: list[dict], action: str, resource: str, context: dict | None = None) -> str:
    """One principal's identity policies together (their statements are one set)."""
    merged = {"Statement": [s for p in policies for s in _list(p["Statement"])]}
    return decide(merged, {}, action, resource, context)


def decide_bounded(identity: list[dict], boundary: dict, action: str, resource: str, context: dict | None = None):
    """A role with a permissions boundary: allowed only where both its policies and the boundary allow."""
    first = decide_all(identity, action, resource, context)
    if first != "allow":
        return first
    return decide(boundary, {}, action, resource, context)
