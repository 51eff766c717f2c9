"""What the deploy and preview roles of one environment may do, and who may assume them, as plain policy data.

The deploy role manages exactly what CloudBridge declares: resources whose names start
with ``cb-<env>-`` (``cb_<env>_`` in Glue), the two account-wide DMS roles, and the
Pulumi state. Actions are listed one by one (no wildcards); a resource of ``*`` appears
only where AWS offers nothing narrower, in ``UNSCOPED`` with the reason and, where AWS
supports one, a condition. The preview role reads; it writes only Pulumi's lock objects
and the drift alert, cannot assume other roles and cannot read secret values.
"""

from __future__ import annotations

from typing import Any

from bootstrap.config import GITHUB_OIDC_HOST
from bootstrap.deploy_policy import deploy_statements
from bootstrap.scope import Scope, statement

__all__ = ["GITHUB_OIDC_HOST", "UNSCOPED", "github_subject", "github_trust", "preview_statements"]

# Actions AWS authorises only on "*" (no resource-level permissions), each with why it is needed.
UNSCOPED = {
    "ec2:DescribeSecurityGroups": "reading security groups; Describe* has no resource-level permissions",
    "ec2:DescribeSecurityGroupRules": "reading security group rules",
    "ec2:DescribeVpcEndpoints": "reading VPC endpoints",
    "ec2:DescribeVpcs": "the provider reads the VPC of a security group",
    "ec2:DescribeSubnets": "DMS subnet groups and interface endpoints name subnets",
    "ec2:DescribeRouteTables": "gateway endpoints name route tables",
    "ec2:DescribePrefixLists": "the S3 prefix list of the gateway endpoint",
    "ec2:DescribeNetworkInterfaces": "deleting an interface endpoint waits for its interfaces",
    "ec2:CreateVpcEndpoint": "creating an endpoint in the configured VPC (conditioned on the VPC below)",
    "dms:DescribeEndpoints": "DMS Describe* calls filter, they do not take a resource",
    "dms:DescribeReplicationInstances": "as above",
    "dms:DescribeReplicationTasks": "as above",
    "dms:DescribeReplicationSubnetGroups": "as above",
    "dms:DescribeReplicationConfigs": "as above",
    "dms:DescribeCertificates": "as above",
    "dms:DescribeConnections": "as above",
    "dms:CreateReplicationSubnetGroup": "DMS authorises subnet-group creation on *",
    "kms:CreateKey": "a key has no ARN before it exists (conditioned on its environment tag)",
    "kms:ListAliases": "listing aliases takes no resource",
    "logs:DescribeLogGroups": "listing log groups takes no resource",
    "lambda:CreateEventSourceMapping": "authorised on * (conditioned on the function below)",
    "lambda:GetEventSourceMapping": "event source mappings have no name to scope by",
    "lambda:UpdateEventSourceMapping": "as above (conditioned on the function)",
    "lambda:DeleteEventSourceMapping": "as above (conditioned on the function)",
    "lambda:ListEventSourceMappings": "listing takes no resource",
    "sts:GetCallerIdentity": "the provider checks the account (allowed_account_ids)",
    "glue:GetDatabases": "listing takes the catalog only",
    "redshift-serverless:CreateNamespace": "its ARN holds an id AWS assigns (conditioned on the environment tag)",
    "redshift-serverless:CreateWorkgroup": "as above (conditioned on the environment tag)",
}


def preview_statements(scope: Scope) -> list[dict[str, Any]]:
    """Read what a preview (and its in-memory refresh) reads — the deploy role's read
    actions on the same resources — and write only the state locks and the drift alert."""
    own = {"PulumiState", "PulumiSecretsAndState", "PublishTableMetadata"}
    statements = []
    for granted in deploy_statements(scope):
        if granted["Sid"] in own:
            continue
        reads = [a for a in granted["Action"] if a.split(":", 1)[1].startswith(READ_VERBS)]
        if reads:
            statements.append({**granted, "Sid": f"Read{granted['Sid']}", "Action": reads})
    p = scope.prefix
    return statements + [
        statement("ReadPublishedMetadata", ["s3:GetObject", "s3:GetObjectTagging"], [f"arn:aws:s3:::{p}*-meta-*/*"]),
        statement(
            "ReadState",
            ["s3:GetObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*"],
        ),
        # Pulumi's self-managed backend takes a lock for a preview: its only write.
        statement(
            "StateLocks", ["s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{scope.state_bucket}/.pulumi/locks/*"]
        ),
        # Loading a stack decrypts its data key; the stacks hold no secret values to reveal.
        statement("LoadStacks", ["kms:Decrypt", "kms:DescribeKey"], [scope.state_key_arn]),
        statement("DriftAlert", ["sns:Publish"], [scope.arn("sns", f"{p}alerts")]),
    ]


READ_VERBS = ("Get", "List", "Describe")


def github_subject(repository: str, github_environment: str) -> str:
    """The ``sub`` claim of a GitHub Actions token of a job that runs in ``github_environment``.

    A job bound to an environment gets this subject whatever triggered it, and GitHub lets
    it run only under that environment's protection rules: trusting the subject is
    trusting the environment's rules. A pull-request job with no environment gets
    ``repo:<repository>:pull_request`` and is trusted by no role."""
    return f"repo:{repository}:environment:{github_environment}"


def github_trust(provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Trust for GitHub Actions' OIDC tokens of exactly these subjects, for AWS STS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC_HOST}:sub": subjects,
                    }
                },
            }
        ],
    }
