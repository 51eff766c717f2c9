"""A small IAM policy evaluator, enough to prove what a policy document allows: explicit
Deny wins, then an Allow whose principal, action, resource and every condition match.
Conditions: String*/Arn*/Bool/Numeric* operators, policy variables in their values; a key
absent from the request context fails the condition (as in IAM, without ...IfExists)."""

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


def _condition_matches(condition: dict, context: dict[str, Any]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            actual = context[key]
            wanted = [_resolve(e, context) for e in _list(expected)]
            if operator in ("StringEquals", "ArnEquals"):
                ok = str(actual) in wanted
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(str(actual), w) for w in wanted)
            elif operator == "StringNotEquals":
                ok = str(actual) not in wanted
            elif operator == "Bool":
                ok = str(actual).lower() in [w.lower() for w in wanted]
            elif operator == "NumericLessThan":
                ok = any(float(actual) < float(w) for w in wanted)
            else:
                raise NotImplementedError(operator)
            if not ok:
                return False
    return True


def _matches(statement: dict, who: dict, action: str, resource: str, context: dict) -> bool:
    if "Principal" in statement and not _principal_matches(statement["Principal"], who):
        return False
    if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _list(statement["Action"])):
        return False
    if not any(fnmatch.fnmatchcase(resource, r) for r in _list(statement.get("Resource", "*"))):
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
