"""IAM helpers: policy documents and service roles with one inline, scoped policy.

Policies are built as plain dicts (values may be Outputs) and serialised with
``Output.json_dumps`` so that ARNs of other resources can be referenced directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import environment_of, permissions_boundary_arn

Statement = Mapping[str, Any]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any],
    *,
    effect: str = "Allow",
    principal: Mapping[str, Any] | None = None,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One IAM policy statement (actions sorted, for stable diffs)."""
    stmt: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        stmt["Principal"] = principal
    stmt["Action"] = sorted(actions)
    stmt["Resource"] = list(resources)
    if condition:
        stmt["Condition"] = condition
    return stmt


def document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A policy document of ``statements``, serialised when its Outputs resolve."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust_policy(service: str | Sequence[str], source_account: str | None = None) -> pulumi.Output[str]:
    """A role trust policy for ``service``, limited to one account when given."""
    stmt: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:  # confused-deputy guard
        stmt["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document([stmt])


def deny_insecure_transport(sid: str, actions: Sequence[str], resources: Sequence[Any]) -> dict[str, Any]:
    """Denies every request that does not use TLS."""
    return statement(
        sid,
        actions,
        resources,
        effect="Deny",
        principal={"AWS": "*"},
        condition={"Bool": {"aws:SecureTransport": "false"}},
    )


def service_role(
    name: str,
    *,
    role_name: str,
    service: str | Sequence[str],
    statements: Sequence[Statement],
    account_id: str,
    parent: pulumi.Resource,
    tags: Mapping[str, str],
    description: str,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role trusted by ``service`` with exactly ``statements`` as its permissions, bounded by
    its environment's permissions boundary (the deploy role creates no role without it).

    Returns the policy too: whatever uses the role must depend on it, or the first run
    can happen before the permissions exist."""
    role = aws.iam.Role(
        name,
        name=role_name,
        description=description,
        assume_role_policy=trust_policy(service, account_id),
        permissions_boundary=permissions_boundary_arn(account_id, environment_of(role_name)),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        name="least-privilege",
        policy=document(statements),
        opts=pulumi.ResourceOptions(parent=role),
    )
    return role, policy


def log_statements(log_group_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """Write access to exactly one log group (its streams)."""
    return [
        statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [pulumi.Output.concat(log_group_arn, ":*")],
        )
    ]
