"""What the deploy and preview roles of one environment may do, and who may assume them, as plain policy data.

The deploy role manages exactly what CloudBridge declares: resources whose names start
with ``cb-<env>-`` (``cb_<env>_`` in Glue), the two account-wide DMS roles, and the
Pulumi state. Actions are listed one by one (no wildcards); a resource of ``*`` appears
only where AWS offers nothing narrower, in ``UNSCOPED`` with the reason and, where AWS
supports one, a condition. The preview role reads; it writes only Pulumi's lock objects
and the drift alert, cannot assume other roles and cannot read secret values.

Who may assume them is bound to the workflow, not only to the GitHub environment: the
repository's OIDC subject template (``SUBJECT_CLAIM_KEYS``, set once per repository with
the ``gh api`` command in docs/deploying.md) puts the run's ref and the workflow file that
defines the job into every token's ``sub``, and each role trusts exact subjects.
"""

from __future__ import annotations

from typing import Any

from bootstrap.config import GITHUB_OIDC_HOST
from bootstrap.deploy_policy import deploy_statements
from bootstrap.scope import TAG, Scope, statement

__all__ = [
    "GITHUB_OIDC_HOST",
    "SUBJECT_CLAIM_KEYS",
    "UNSCOPED",
    "deploy_subjects",
    "deploy_trust",
    "github_subject",
    "github_trust",
    "preview_statements",
    "preview_subjects",
    "preview_trust",
]

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
        # The alerts topic is encrypted with the stack's own key (components/platform.py), whose
        # policy delegates to the account's IAM: a publisher needs these two on it, through SNS
        # only. Its ARN is unknown here (the program creates it), so the environment tag the
        # program puts on it (and only the deploy role of this environment may set) scopes it.
        statement(
            "DriftAlertKey",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [scope.arn("kms", "key/*")],
            {
                "StringEquals": {
                    "kms:ViaService": f"sns.{scope.region}.amazonaws.com",
                    f"aws:ResourceTag/{TAG}": scope.environment,
                }
            },
        ),
    ]


READ_VERBS = ("Get", "List", "Describe")


# GitHub's OIDC subject template for the repository (docs/deploying.md, "Trust bound to the
# workflow"): every token's ``sub`` becomes
#   repo:<owner>/<name>:<context>:ref:<the run's ref>:job_workflow_ref:<workflow file>@<its ref>
# where <context> is ``environment:<name>`` for a job bound to an environment. ``ref`` is the
# ref the run was started for (``refs/pull/<n>/merge`` for a pull request): with it, a pull
# request that calls the deployment workflow of main (``uses: <owner>/<name>/...@main``) is still
# a pull request's run, and checks out the pull request's code, so it is refused too.
SUBJECT_CLAIM_KEYS = ("repo", "context", "ref", "job_workflow_ref")
MAIN = "refs/heads/main"
PULL_REQUEST_REFS = "refs/pull/*/merge"  # StringLike: every pull request's merge ref
WORKFLOWS = ".github/workflows"
DEPLOY_WORKFLOW = "pulumi-up.yml"  # the reusable deployment deploy.yml calls once per stack
PREVIEW_WORKFLOW = "preview.yml"
DRIFT_WORKFLOW = "drift.yml"


def github_subject(
    repository: str,
    github_environment: str,
    ref: str,
    workflow: str,
    workflow_ref: str | None = None,
    repo_claim: str | None = None,
) -> str:
    """The ``sub`` claim, under ``SUBJECT_CLAIM_KEYS``, of a job bound to ``github_environment``
    in a run for ``ref``, the job defined by ``workflow`` of this repository at ``workflow_ref``
    (the run's ref unless given: a workflow of the run itself, or one it calls with ``$/``).
    ``repo_claim`` is the ``repo`` claim when it is not the name (immutable subject claims)."""
    defined_by = f"{repository}/{WORKFLOWS}/{workflow}@{ref if workflow_ref is None else workflow_ref}"
    repo = repo_claim or repository
    return f"repo:{repo}:environment:{github_environment}:ref:{ref}:job_workflow_ref:{defined_by}"


def deploy_subjects(repository: str, github_environment: str, repo_claim: str | None = None) -> list[str]:
    """The one subject the deploy role trusts (``StringEquals``): the reusable deployment
    ``pulumi-up.yml`` as it is on main, in a run of main, in the stack's gated environment.
    A pull request's run (its own workflows, or main's deployment called from one), another
    branch, another workflow of main and another environment all carry another subject."""
    return [github_subject(repository, github_environment, MAIN, DEPLOY_WORKFLOW, repo_claim=repo_claim)]


def preview_subjects(repository: str, github_environment: str, repo_claim: str | None = None) -> list[str]:
    """The subjects the preview role trusts (``StringLike``): ``preview.yml`` in any pull
    request's run, and ``drift.yml`` in a run of main (the schedule, or by hand from main), in
    the stack's ``preview-<env>`` environment. Pinning the file does not fence off pull-request
    code (a pull request may rewrite preview.yml): the role's read-only policy does that. It
    keeps every other workflow, and every branch push, out of the role."""
    return [
        github_subject(repository, github_environment, PULL_REQUEST_REFS, PREVIEW_WORKFLOW, repo_claim=repo_claim),
        github_subject(repository, github_environment, MAIN, DRIFT_WORKFLOW, repo_claim=repo_claim),
    ]


def deploy_trust(
    provider_arn: str, repository: str, github_environment: str, repo_claim: str | None = None
) -> dict[str, Any]:
    """The deploy role's trust: exactly ``deploy_subjects``."""
    return github_trust(provider_arn, deploy_subjects(repository, github_environment, repo_claim))


def preview_trust(
    provider_arn: str, repository: str, github_environment: str, repo_claim: str | None = None
) -> dict[str, Any]:
    """The preview role's trust: ``preview_subjects``, the pull request's number left open."""
    return github_trust(provider_arn, preview_subjects(repository, github_environment, repo_claim), like=True)


def github_trust(provider_arn: str, subjects: list[str], like: bool = False) -> dict[str, Any]:
    """Trust for GitHub Actions' OIDC tokens of these subjects (patterns with ``like``), for AWS STS."""
    host = GITHUB_OIDC_HOST
    condition: dict[str, Any] = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}
    if like:
        condition["StringLike"] = {f"{host}:sub": subjects}
    else:
        condition["StringEquals"][f"{host}:sub"] = subjects
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }
