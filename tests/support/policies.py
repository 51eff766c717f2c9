"""Policy documents a stack declares, and what makes one broader than it needs to be.

Used by the program's tests (on the fixture stacks) and by the stack-agnostic checks
that run on a team's own stacks (tests/support/stack_checks.py).
"""

import json
import re

# Every resource type whose input is a policy document, and that input.
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:kms/key:Key": "policy",
}
IDENTITY_POLICIES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"}
RESOURCE_POLICIES = {
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
}
ARN = re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[^*]+$")


def as_list(value):
    return value if isinstance(value, list) else [value]


def scoped(resource: str) -> bool:
    """An ARN naming specific resources: one trailing '/*' (objects) or ':*' (log streams) at most."""
    for suffix in ("/*", ":*"):
        if resource.endswith(suffix):
            resource = resource[: -len(suffix)]
            break
    return bool(ARN.match(resource))


def only_on_star(action: str) -> bool:
    """IAM authorises the action on "*" alone (no resource-level permissions)."""
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":")
    data = get_action_data(service, name) or {}
    return bool(data.get(service)) and all(d["resource_arn_format"] == "*" for d in data[service])


def policy_problems(type_: str, document: dict) -> list[str]:
    """What makes a policy document broader than it needs to be."""
    problems = []
    for stmt in document["Statement"]:
        sid = stmt.get("Sid", "?")
        if stmt["Effect"] != "Allow":
            continue  # a broad Deny only narrows access
        for action in as_list(stmt["Action"]):
            if "*" in action:
                problems.append(f"{sid}: wildcard action {action!r}")
        resources = as_list(stmt.get("Resource", []))
        if type_ in IDENTITY_POLICIES:
            # "*" only where AWS offers nothing narrower, and then narrowed by a condition.
            star_ok = bool(stmt.get("Condition")) and all(only_on_star(a) for a in as_list(stmt["Action"]))
            problems += [
                f"{sid}: unscoped resource {r!r}" for r in resources if not scoped(r) and not (r == "*" and star_ok)
            ]
        if type_ in RESOURCE_POLICIES or type_ == "aws:kms/key:Key":
            principal = stmt.get("Principal", {})
            if principal == "*" or "*" in as_list(principal.get("AWS", [])):
                problems.append(f"{sid}: anonymous principal")
            if "Service" in principal and not stmt.get("Condition"):
                problems.append(f"{sid}: service principal without a source condition (confused deputy)")
        if type_ in RESOURCE_POLICIES:
            problems += [f"{sid}: resource {r!r} is not this resource" for r in resources if not scoped(r)]
        if type_ == "aws:iam/role:Role" and as_list(stmt["Action"]) != ["sts:AssumeRole"]:
            problems.append(f"{sid}: trust policy grants {stmt['Action']}")
    return problems


def documents(plan):
    for r in plan.resources:
        key = POLICY_INPUTS.get(r.type)
        if key and key in r.inputs:
            yield r, json.loads(r.inputs[key])


# Findings that are right for these documents, each with the reason.
PARLIAMENT_ACCEPTED = {
    ("aws:kms/key:Key", "RESOURCE_STAR"): "in a key policy, Resource '*' means this key and nothing else",
    ("aws:kms/key:Key", "MISMATCHED_TYPE"): "ArnLike on the logs encryption context is what AWS documents",
    ("aws:s3/bucketPolicy:BucketPolicy", "UNKNOWN_CONDITION_FOR_ACTION"): "a Deny over s3:*: actions "
    "without s3:TlsVersion just don't match it",
    ("aws:s3/bucketPolicy:BucketPolicy", "MISMATCHED_TYPE"): "IAM reads the string 1.2 as a number for "
    "NumericLessThan; parliament's parser fails on a JSON number there",
}
TRUST_POLICY = "aws:iam/role:Role"  # parliament lints permissions; trust policies have no Resource by design


def parliament_problems(plan) -> list[str]:
    """parliament's findings on every permissions document, less the accepted ones."""
    from parliament import analyze_policy_string

    problems = []
    for resource, document in documents(plan):
        if resource.type == TRUST_POLICY:
            continue
        analysis = analyze_policy_string(json.dumps(document), ignore_private_auditors=True)
        for finding in analysis.findings:
            if (resource.type, finding.issue) not in PARLIAMENT_ACCEPTED:
                problems.append(f"{resource.name}: {finding.issue} {str(finding.detail)[:160]}")
    return problems


def least_privilege_problems(plan) -> list[str]:
    """Every broad grant in every policy document the plan declares."""
    return [f"{r.name}: {p}" for r, doc in documents(plan) for p in policy_problems(r.type, doc)]
