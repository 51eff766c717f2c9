"""The stack-agnostic checks: what must hold for ANY valid stack, a team's own included.

The program's behaviour is tested on the stacks the tests own (tests/fixtures/stacks).
A team's own ``Pulumi.<stack>.yaml`` files — their accounts, region, repository and
sources — are checked only by these named checks, which expect nothing of the values a
team chooses (tests/stacks runs them on the repository's stacks; README, "Tests"):

config     the stack file validates and the program evaluates (every table has metadata)
contract   every value sent to AWS is one AWS accepts (tests/support/aws_contract.py)
policies   no wildcard action or unscoped resource, and nothing parliament flags unexplained
tags       every resource carries the project, environment and managed-by tags; a source's
           resources carry its name
retention  outside dev, buckets, key and Glue databases outlive their declarations
data-safety  outside dev, the stack keeps its data (cloudbridge:retainData is not turned off) and its
           raw history and metadata carry the deletion guard (dataProtection.deletionGuard)
urns       no recorded resource that holds data would be deleted (urns/<stack>.urns)
bootstrap  the bootstrap stacks (bootstrap/Pulumi.<stack>.yaml): tests/support/bootstrap_checks.py
           (config, trust, policies, names, program)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cloudbridge import urns
from cloudbridge.plan import Plan, evaluate
from components.naming import TAG_ENVIRONMENT, TAG_MANAGED_BY, TAG_PROJECT
from components.workspace import using
from functions.common.runtime import TAG_SOURCE
from tests.support import aws_contract
from tests.support.policies import least_privilege_problems, parliament_problems

PIPELINE = "cloudbridge:pipeline:ExtractionPipeline"


def holds_data(resource) -> bool:
    """A bucket, key or Glue database whose deletion loses history: outside dev it must be retained."""
    return urns.retainable(resource.type, resource.name)


def contract(plan: Plan) -> list[str]:
    """Values AWS would reject."""
    return [str(f) for f in aws_contract.check_plan(plan).findings]


def policies(plan: Plan) -> list[str]:
    """Broad grants and unexplained parliament findings."""
    return least_privilege_problems(plan) + parliament_problems(plan)


def tags(plan: Plan) -> list[str]:
    """Each provider's default tags (the DR region's too) name the project and the stack; a source's
    resources name it."""
    problems = []
    for provider in plan.of_type("pulumi:providers:aws"):
        default = json.loads(provider.inputs["defaultTags"])["tags"]
        problems += [
            f"{provider.name}: default tag {k} missing" for k in (TAG_PROJECT, TAG_MANAGED_BY) if not default.get(k)
        ]
        if default.get(TAG_ENVIRONMENT) != plan.stack:
            problems.append(f"{provider.name}: default tag {TAG_ENVIRONMENT} is not the stack name {plan.stack}")
    for pipeline in plan.of_type(PIPELINE):
        for r in plan.descendants(pipeline.urn):
            if "tags" in r.inputs and (r.inputs["tags"] or {}).get(TAG_SOURCE) != pipeline.name:
                problems.append(f"{r.type} {r.name}: tag {TAG_SOURCE} is not {pipeline.name}")
    return problems


def retention(plan: Plan) -> list[str]:
    """Outside dev, what holds data is retained when its declaration goes."""
    if plan.stack == "dev":
        return []
    return [
        f"{r.type} {r.name} would be deleted with its declaration (cloudbridge:retainData is off)"
        for r in plan.resources
        if holds_data(r) and not r.retain_on_delete
    ]


def data_safety(plan: Plan) -> list[str]:
    """Outside dev, a pull request cannot quietly drop what keeps the system of record: the stack file
    turning retainData or the deletion guard off is a finding (the program exports what it decided)."""
    if plan.stack == "dev":
        return []
    decided = plan.outputs.get("dataProtection") or {}
    problems = []
    if not decided.get("retainData"):
        problems.append(
            f"Pulumi.{plan.stack}.yaml turns cloudbridge:retainData off: removing a source would delete its raw "
            "history, metadata, key and catalog (remove the key, or set it to true)"
        )
    if not decided.get("deletionGuard"):
        problems.append(
            f"Pulumi.{plan.stack}.yaml turns cloudbridge:dataProtection.deletionGuard off: any principal allowed "
            "S3 could delete raw-history versions or the buckets (docs/disaster-recovery.md, 'The deletion guard')"
        )
    return problems


def urn_guard(plan: Plan) -> list[str]:
    """No resource recorded in urns/<stack>.urns that holds data would be deleted."""
    _, message = urns.guard(plan.stack, plan)
    return [message] if message else []


PLAN_CHECKS: dict[str, Callable[[Plan], list[str]]] = {
    "contract": contract,
    "policies": policies,
    "tags": tags,
    "retention": retention,
    "data-safety": data_safety,
    "urns": urn_guard,
}


def evaluate_in(folder: Path, stack: str, program: Path | None = None) -> Plan:
    """A stack of ``folder`` (a repository's stack files and metadata) evaluated under mocks."""
    with using(folder):
        return evaluate(stack, program=program)
