"""The environment's permissions boundary and the deploy role's guardrails.

The boundary (``cb-<env>-boundary``, an IAM managed policy) is what any role the program
creates may ever do: the union of the program's role policies, each scoped to the
environment's own names, plus what DMS's two service roles do through their AWS managed
policies. Every role the deploy role creates must carry it (``deploy_policy``: the
``iam:PermissionsBoundary`` condition), so whatever the deploy role writes into a role's
policy, the role can do no more than this. It can do nothing in IAM, and nothing with the
Pulumi state or its key.

The guardrails are the deploy role's explicit denials, kept apart from the grants: a
second inline policy on the deploy role (the preview role copies the grants' reads, never
these). Explicit denials win over any grant.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.scope import TAG, Scope, statement
from components.naming import permissions_boundary_arn, permissions_boundary_name
from functions.common.runtime import TAG_MANAGED_BY


def boundary_arn(scope: Scope) -> str:
    """The ARN of the environment's permissions boundary."""
    return permissions_boundary_arn(scope.account, scope.environment)


def own_buckets(scope: Scope) -> str:
    """The program's bucket names: ``cb-<env>-<source>-<purpose>-<account>-<region>``."""
    return f"arn:aws:s3:::{scope.prefix}*-{scope.account}-{scope.region}"


def own_buckets_everywhere(scope: Scope) -> list[str]:
    """The program's buckets in each of its regions (the DR region's replicas too)."""
    return [own_buckets(scope.in_region(region)) for region in scope.regions]


def in_every_region(scope: Scope, service: str, resource: str) -> list[str]:
    """An ARN pattern of the scope's account in each of its regions."""
    return [scope.in_region(region).arn(service, resource) for region in scope.regions]


def deny(
    sid: str, actions: list[str], resources: list[str], condition: dict | None = None, *, not_action: bool = False
):
    """One Deny statement (``NotAction`` when ``not_action``: everything but ``actions``)."""
    out: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "NotAction" if not_action else "Action": sorted(actions)}
    out["Resource"] = resources
    if condition:
        out["Condition"] = condition
    return out


# What DMS's service roles do (AWS managed policies AmazonDMSVPCManagementRole and
# AmazonDMSCloudWatchLogsRole): the network interfaces of its instances, and its task logs.
DMS_NETWORK = [
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeDhcpOptions", "ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:ModifyNetworkInterfaceAttribute",
]  # fmt: skip
DMS_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:PutRetentionPolicy"]
GLUE_READS = ["glue:BatchGetPartition", "glue:GetDatabase", "glue:GetDatabases", "glue:GetPartition",
              "glue:GetPartitions", "glue:GetTable", "glue:GetTables"]  # fmt: skip


def boundary_statements(scope: Scope) -> list[dict[str, Any]]:
    """The ceiling of every role the program creates, scoped to this environment."""
    p, env = scope.prefix, scope.environment
    glue = [scope.arn("glue", "catalog"), scope.arn("glue", f"database/cb_{env}_*"),
            scope.arn("glue", f"table/cb_{env}_*/*")]  # fmt: skip
    return [
        statement("ReadCatalogs", GLUE_READS, glue),
        statement("RegisterPartitions", ["glue:BatchCreatePartition"], glue),
        *_bucket_ceiling(scope),
        statement(
            "UseKeysOfThisAccount",
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            in_every_region(scope, "kms", "key/*"),
        ),  # fmt: skip
        statement(
            "ReadSecretsOfThisAccount",
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            in_every_region(scope, "secretsmanager", "secret:*"),
        ),  # fmt: skip
        statement(
            "OwnQueues",
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            in_every_region(scope, "sqs", f"{p}*"),
        ),  # fmt: skip
        statement("OwnTopics", ["sns:Publish"], in_every_region(scope, "sns", f"{p}*")),
        *_compaction_ceiling(scope, glue, own_buckets(scope)),
        # The generation-marker writers read their own replication's table statistics.
        statement(
            "ReadOwnReplicationStatistics",
            ["dms:DescribeReplicationTableStatistics", "dms:DescribeTableStatistics"],
            [scope.arn("dms", f"replication-config:{p}*"), scope.arn("dms", f"task:{p}*")],
        ),  # fmt: skip
        statement(
            "OwnFunctionLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            in_every_region(scope, "logs", f"log-group:/aws/lambda/{p}*"),
        ),  # fmt: skip
        statement(
            "WarehouseSql",
            ["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"],
            [scope.arn("redshift-serverless", "workgroup/*")],
            {"StringEquals": {f"aws:ResourceTag/{TAG}": env}},
        ),  # fmt: skip
        statement(
            "WarehouseSqlResults",
            ["redshift-data:CancelStatement", "redshift-data:DescribeStatement"],
            ["*"],
            {"StringEquals": {"aws:RequestedRegion": scope.region}},
        ),  # fmt: skip
        *_replication_ceiling(scope),
        *_dms_ceiling(scope),
        *_dynamodb_ceiling(scope),
    ]


def _dynamodb_ceiling(scope: Scope) -> list[dict[str, Any]]:
    """A DynamoDB source's stream converter: its event source mappings read the tables' streams with the
    function's role (Lambda developer guide, DynamoDB "Execution role permissions"). Streams carry no tag
    IAM can test: any table's stream of this account and region, read only; ListStreams takes no resource.
    Its export converter hands a large export's conversion on to itself: the environment's functions only."""
    return [
        statement(
            "ReadTableStreams",
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            [scope.arn("dynamodb", "table/*/stream/*")],
        ),
        statement(
            "ListTableStreams", ["dynamodb:ListStreams"], ["*"], {"StringEquals": {"aws:RequestedRegion": scope.region}}
        ),
        # An export too large for one invocation: the export converter invokes itself for the next link.
        statement("InvokeOwnFunctions", ["lambda:InvokeFunction"], [scope.arn("lambda", f"function:{scope.prefix}*")]),
    ]


def _bucket_ceiling(scope: Scope) -> list[dict[str, Any]]:
    """The program's buckets and their objects, in every region (the DR region's replicas too)."""
    buckets = own_buckets_everywhere(scope)
    return [
        statement("ListOwnBuckets", ["s3:GetBucketLocation", "s3:ListBucket"], buckets),
        statement(
            "OwnObjects",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
            [f"{b}/*" for b in buckets],
        ),
    ]


def _replication_ceiling(scope: Scope) -> list[dict[str, Any]]:
    """With a DR region: what S3 replication and S3 Batch Replication do as the program's roles
    (components/dr.py): read the primary's versions and replicate them into the DR region's buckets
    only (never into a bucket of another account or environment), and start Batch Replication of the
    primary's objects with a manifest the job generates (read, write) in the program's buckets."""
    if not scope.dr_region:
        return []
    primary, replicas = own_buckets(scope), own_buckets(scope.in_region(scope.dr_region))
    return [
        statement(
            "ReadForReplication",
            [
                "s3:GetObjectVersion",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionTagging",
                "s3:InitiateReplication",
            ],
            [f"{primary}/*"],
        ),  # fmt: skip
        statement(
            "ReplicationConfigurationAndManifests",
            ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
            [primary],
        ),
        statement("ReplicateIntoTheDrRegion", ["s3:ReplicateObject", "s3:ReplicateTags"], [f"{replicas}/*"]),
    ]


def break_glass_trust(account: str) -> dict[str, Any]:
    """The break-glass role's trust: people of this account an administrator allows to assume it, with MFA."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }


def break_glass_statements(scope: Scope) -> list[dict[str, Any]]:
    """What only the break-glass role may do to the program's buckets in every region (components/storage.py's
    deletion guard denies it to everyone else): delete a bucket or object versions, and lift the guard."""
    buckets = own_buckets_everywhere(scope)
    return [
        statement(
            "DeleteOrUnguardTheSystemOfRecord",
            [
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetBucketPolicy",
                "s3:GetBucketVersioning",
                "s3:GetLifecycleConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketPolicy",
                "s3:PutBucketVersioning",
                "s3:PutLifecycleConfiguration",
            ],
            buckets,
        ),  # fmt: skip
        statement("DeleteObjectVersions", ["s3:DeleteObjectVersion"], [f"{b}/*" for b in buckets]),
    ]


def _compaction_ceiling(scope: Scope, glue: list[str], buckets: str) -> list[dict[str, Any]]:
    """What the compaction's roles do (components/compaction.py): Athena queries in the environment's
    workgroups, the state tables and views in its catalogs (created, committed to, dropped), the
    multipart writes of Iceberg files into its buckets, and the schedules starting its state machines."""
    p = scope.prefix
    return [
        statement(
            "CompactionQueries",
            [
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StartQueryExecution",
                "athena:StopQueryExecution",
            ],
            [scope.arn("athena", f"workgroup/{p}*")],
        ),  # fmt: skip
        statement("CompactionCatalog", ["athena:GetDataCatalog"], [scope.arn("athena", "datacatalog/AwsDataCatalog")]),
        statement("CompactionTables", ["glue:CreateTable", "glue:DeleteTable", "glue:UpdateTable"], glue),
        statement("CompactionUploads", ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], [f"{buckets}/*"]),
        statement("CompactionListUploads", ["s3:ListBucketMultipartUploads"], [buckets]),
        statement("StartCompactions", ["states:StartExecution"], [scope.arn("states", f"stateMachine:{p}*")]),
    ]


def _dms_ceiling(scope: Scope) -> list[dict[str, Any]]:
    """What DMS's service roles do, and what no program role may ever do."""
    return [
        statement("DmsNetworkInterfaces", DMS_NETWORK, ["*"], {"StringEquals": {"aws:RequestedRegion": scope.region}}),
        statement("DmsTaskLogs", DMS_LOGS, [scope.arn("logs", "log-group:dms-*")]),
        statement(
            "DmsListsLogGroups",
            ["logs:DescribeLogGroups"],
            ["*"],
            {"StringEquals": {"aws:RequestedRegion": scope.region}},
        ),  # fmt: skip
        deny("NothingInIam", ["iam:*", "sts:AssumeRole", "organizations:*", "account:*"], ["*"]),
        deny(
            "NotThePulumiState",
            ["s3:*", "kms:*"],  # the services these resources belong to: every action on them
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*", scope.state_key_arn],
        ),  # fmt: skip
    ]


def guardrail_statements(scope: Scope) -> list[dict[str, Any]]:
    """The deploy role's explicit denials: no role without the boundary, the boundary
    itself untouchable, and the Pulumi state key used for the state only."""
    return [*_role_guardrails(scope), *_key_guardrails(scope)]


def _role_guardrails(scope: Scope) -> list[dict[str, Any]]:
    """No role without the boundary; the boundary itself untouchable; DMS's roles trust DMS."""
    boundary = boundary_arn(scope)
    return [
        deny(
            "EveryRoleCarriesTheBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
            ],
            ["*"],
            {"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
        ),  # fmt: skip
        deny("TheBoundaryStays", ["iam:DeleteRolePermissionsBoundary"], ["*"]),
        deny(
            "TheBoundaryIsNotTheDeployRolesToEdit",
            [
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            [boundary],
        ),  # fmt: skip
        deny(
            "DmsRolesTrustDmsOnly",
            ["iam:UpdateAssumeRolePolicy"],
            [
                f"arn:aws:iam::{scope.account}:role/dms-vpc-role",
                f"arn:aws:iam::{scope.account}:role/dms-cloudwatch-logs-role",
            ],
        ),  # fmt: skip
    ]


def _key_guardrails(scope: Scope) -> list[dict[str, Any]]:
    """The state key for the state only; only the program's own keys (in every region) and warehouse may be
    (un)tagged."""
    keys = in_every_region(scope, "kms", "key/*")
    return [
        # The state key: state and secrets are encrypted and decrypted through it, nothing more.
        deny(
            "StateKeyForStateOnly",
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            [scope.state_key_arn],
            not_action=True,
        ),  # fmt: skip
        # Tags decide which keys are the program's: only keys it created may be (un)tagged.
        deny(
            "TagOnlyOwnKeysByEnvironment",
            ["kms:TagResource", "kms:UntagResource"],
            keys,
            {"StringNotEquals": {f"aws:ResourceTag/{TAG}": scope.environment}},
        ),  # fmt: skip
        deny(
            "TagOnlyOwnKeysByManager",
            ["kms:TagResource", "kms:UntagResource"],
            keys,
            {"StringNotEquals": {f"aws:ResourceTag/{TAG_MANAGED_BY}": "pulumi"}},
        ),  # fmt: skip
        deny(
            "TagOnlyOwnWarehouse",
            ["redshift-serverless:TagResource", "redshift-serverless:UntagResource"],
            [scope.arn("redshift-serverless", "namespace/*"), scope.arn("redshift-serverless", "workgroup/*")],
            {"StringNotEquals": {f"aws:ResourceTag/{TAG}": scope.environment}},
        ),
    ]


def document(statements: list[dict[str, Any]]) -> str:
    """A policy document of ``statements`` as JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class DeployGuardrails(pulumi.ComponentResource):
    """The environment's permissions boundary and the deploy role's explicit denials."""

    boundary: aws.iam.Policy

    def __init__(self, name: str, scope: pulumi.Output[Scope], deploy_role: aws.iam.Role, tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):  # fmt: skip
        super().__init__("cloudbridge:bootstrap:DeployGuardrails", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        environment = scope.apply(lambda s: s.environment)
        self.boundary = aws.iam.Policy(
            "boundary",
            name=environment.apply(permissions_boundary_name),
            description="CloudBridge: what any role the program creates may ever do (its permissions boundary)",
            policy=scope.apply(lambda s: document(boundary_statements(s))),
            tags=tags,
            opts=keep,
        )
        aws.iam.RolePolicy(
            "deploy-role-guardrails",
            role=deploy_role.id,
            name="cloudbridge-guardrails",
            policy=scope.apply(lambda s: document(guardrail_statements(s))),
            opts=keep,
        )
        self.register_outputs({"boundary_arn": self.boundary.arn})
