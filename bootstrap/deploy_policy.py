"""The deploy role's statements, one builder per family of resources the program manages.

Each builder scopes its actions to this environment's names (``cb-<env>-``) or, where
ARNs carry ids AWS assigns, to the environment tag; ``policies.UNSCOPED`` lists and
explains every action that must stay on ``*`` (``REGION_ONLY`` here: the ones only the
region narrows). Every call the provider makes for what the program declares is in
``bootstrap/inventory.py``; tests/bootstrap/test_deploy_inventory.py proves each is allowed
and tests/bootstrap/test_attack_paths.py that the role cannot make itself more (with the
boundary and the explicit denials of ``bootstrap/boundary.py``).
"""

from __future__ import annotations

from typing import Any

from bootstrap.deploy_database import database_statements
from bootstrap.scope import TAG, Scope, statement
from components.naming import permissions_boundary_arn
from functions.common.runtime import TAG_MANAGED_BY

BUCKET_ACTIONS = [
    "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketTagging",
    "s3:PutBucketTagging", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
    "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:GetBucketNotification",
    "s3:PutBucketNotification", "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls",
    "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketLogging",
    "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
    "s3:GetBucketObjectLockConfiguration",
]  # fmt: skip


# Actions IAM authorises on "*" only that the provider calls, narrowed to the region, each with why.
REGION_ONLY = {
    "dms:DescribeReplications": "reading a serverless replication's state (IAM: no resource-level permissions)",
    "dms:ModifyReplicationSubnetGroup": "updating the subnet group (IAM authorises it on * only)",
    "sns:GetSubscriptionAttributes": "reading the notifier's subscription (IAM: * only)",
    "sns:SetSubscriptionAttributes": "its redrive policy (IAM: * only)",
    "sns:Unsubscribe": "deleting it (IAM: * only)",
}
MANAGED_BY = TAG_MANAGED_BY


def _region(scope: Scope) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": scope.region}}


def _own(scope: Scope) -> dict[str, Any]:
    """Condition: the resource is one this environment's program created (its default tags)."""
    return {"StringEquals": {f"aws:ResourceTag/{TAG}": scope.environment, f"aws:ResourceTag/{MANAGED_BY}": "pulumi"}}


def _bounded(scope: Scope) -> dict[str, Any]:
    """Condition: the role carries (or is given) this environment's permissions boundary."""
    return {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary_arn(scope.account, scope.environment)}}


def deploy_statements(scope: Scope) -> list[dict[str, Any]]:
    """Everything `pulumi up` of one environment needs, each part scoped to that environment."""
    return [
        *_storage_and_state(scope),
        *_iam(scope),
        *_service_linked_roles(scope),
        *_functions(scope),
        *_event_source_mapping_tags(scope),
        *_messaging(scope),
        *_keys(scope),
        *_warehouse_statements(scope),
        *database_statements(scope),  # provisioned sources' databases (bootstrap/deploy_database.py)
        *_monitoring(scope),
        *_analytics(scope),
        *_compaction(scope),
        *_replication(scope),
        *_manage_own_replication(scope),
        *_network(scope),
        *_manage_own_network(scope),
        *_private_dns(scope),
        *_disaster_recovery(scope),
        *_dynamodb(scope),
        statement("WhoAmI", ["sts:GetCallerIdentity"], ["*"]),
    ]


def _dynamodb(scope: Scope) -> list[dict[str, Any]]:
    """A DynamoDB source's tables (components/dynamodb_source.py): read by name; exported — only those
    tagged for this environment (cloudbridge:environment=<env>, which no grant here can set) — into this
    environment's export buckets only, the export's files written with this role's permissions."""
    tables = scope.arn("dynamodb", "table/*")
    return [
        statement(
            "ReadSourceTables",
            [
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
            ],
            [tables],
        ),
        statement(
            "ExportTablesTaggedForThisEnvironment", ["dynamodb:ExportTableToPointInTime"], [tables], scope.tagged
        ),
        statement("FollowExports", ["dynamodb:DescribeExport"], [scope.arn("dynamodb", "table/*/export/*")]),
        statement(
            "WriteExportsIntoOwnExportBuckets",
            ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"],
            [f"arn:aws:s3:::{scope.prefix}*-export-{scope.account}-{scope.region}/*"],
        ),
    ]


def _storage_and_state(scope: Scope) -> list[dict[str, Any]]:
    """The program's buckets (its own names only) and table metadata; Pulumi's state and its key."""
    buckets = f"arn:aws:s3:::{scope.prefix}*-{scope.account}-{scope.region}"
    metadata = f"arn:aws:s3:::{scope.prefix}*-meta-{scope.account}-{scope.region}"
    return [
        statement("Buckets", BUCKET_ACTIONS, [buckets]),
        # The metadata bucket is versioned: deleting a table's object deletes every version of
        # its key (the provider's deleteAllObjectVersions), in the metadata buckets only.
        statement(
            "PublishTableMetadata",
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObjectTagging",
                "s3:PutObjectTagging",
            ],
            [f"{metadata}/*"],
        ),
        statement("ListTableMetadataVersions", ["s3:ListBucketVersions"], [metadata]),
        statement(
            "PulumiState",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*"],
        ),
        # State objects are SSE-KMS under the state key (S3 asks KMS as this role), and the
        # stacks' secrets provider encrypts and decrypts with it directly.
        statement(
            "PulumiSecretsAndState",
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            [scope.state_key_arn],
        ),
    ]


def _iam(scope: Scope) -> list[dict[str, Any]]:
    """Roles of this environment (and DMS's own), always under the environment's boundary,
    passed only to their services."""
    account = scope.account
    program = f"arn:aws:iam::{account}:role/{scope.prefix}*"
    dms = [f"arn:aws:iam::{account}:role/dms-vpc-role", f"arn:aws:iam::{account}:role/dms-cloudwatch-logs-role"]
    return [
        statement(
            "ReadRoles",
            [
                "iam:GetRole",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRoleTags",
                "iam:GetRolePolicy",
            ],
            [program, *dms],
        ),  # fmt: skip
        statement(
            "RolesUnderTheBoundary",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            [program, *dms],
            _bounded(scope),
        ),  # fmt: skip
        # DMS's roles trust DMS from their creation on: only the program's own trusts change.
        statement("TrustOfProgramRoles", ["iam:UpdateAssumeRolePolicy"], [program], _bounded(scope)),
        statement("TagRoles", ["iam:TagRole", "iam:UntagRole"], [program, *dms]),
        *_attach_and_pass(scope, program, dms),
    ]


def _attach_and_pass(scope: Scope, program: str, dms: list[str]) -> list[dict[str, Any]]:
    """DMS's roles get their AWS managed policies only; roles are passed only to their services."""
    return [
        statement(
            "AttachOnlyTheDmsServicePolicies",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            dms,
            {
                **_bounded(scope),
                "ArnEquals": {
                    "iam:PolicyARN": [
                        "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
                        "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
                    ]
                },
            },
        ),
        statement(
            "PassRolesToTheirServices",
            ["iam:PassRole"],
            [program],
            {
                "StringEquals": {
                    "iam:PassedToService": [
                        "lambda.amazonaws.com",
                        "dms.amazonaws.com",
                        "redshift.amazonaws.com",
                        "redshift-serverless.amazonaws.com",
                        "states.amazonaws.com",  # the compaction state machines (components/compaction.py)
                        "scheduler.amazonaws.com",  # and the schedules that start them
                    ]
                }
            },
        ),  # fmt: skip
    ]


def _service_linked_roles(scope: Scope) -> list[dict[str, Any]]:
    """The service-linked roles DMS Serverless and Redshift need, created on first use."""
    return [
        statement(
            "RedshiftServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{scope.account}:role/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift"],
            {"StringEquals": {"iam:AWSServiceName": "redshift.amazonaws.com"}},
        ),
        statement(
            "DmsServerlessServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{scope.account}:role/aws-service-role/dms.amazonaws.com/AWSServiceRoleForDMSServerless"],
            {"StringEquals": {"iam:AWSServiceName": "dms.amazonaws.com"}},
        ),
    ]


def _functions(scope: Scope) -> list[dict[str, Any]]:
    """Lambda functions of this environment, their event sources and the layers they name."""
    p = scope.prefix
    functions = scope.arn("lambda", f"function:{scope.prefix}*")
    return [
        statement(
            "Functions",
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionConcurrency",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:ListVersionsByFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:GetPolicy",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
                "lambda:GetFunctionEventInvokeConfig",
            ],
            [functions],
        ),  # fmt: skip
        # The warehouse's SQL runs when the program invokes its function (only that one).
        statement("RunWarehouseSql", ["lambda:InvokeFunction"], [scope.arn("lambda", f"function:{p}warehouse-sql")]),
        # A layer lives in its publisher's account: AWS's SDK for pandas (AWSSDKPandas-*, one
        # AWS account per region), or this account's own.
        statement(
            "UseLayers",
            ["lambda:GetLayerVersion"],
            [f"arn:aws:lambda:{scope.region}:*:layer:AWSSDKPandas-*:*", scope.arn("lambda", "layer:*:*")],
        ),  # fmt: skip
        statement(
            "EventSourceMappingsOfOwnFunctions",
            ["lambda:CreateEventSourceMapping"],
            ["*"],
            {"ArnLike": {"lambda:FunctionArn": functions}},
        ),
        statement(
            "OwnEventSourceMappings",
            ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"],
            [scope.arn("lambda", "event-source-mapping:*")],
            {"ArnLike": {"lambda:FunctionArn": functions}},
        ),
        statement("ListEventSourceMappings", ["lambda:ListEventSourceMappings"], ["*"]),
    ]


def _event_source_mapping_tags(scope: Scope) -> list[dict[str, Any]]:
    """An event source mapping has its own tags (its ARN holds a UUID AWS assigns): read
    (resourceEventSourceMappingRead lists them), set on create and changed only with this
    environment's tag, and removed only from a mapping that carries it."""
    mappings = [scope.arn("lambda", "event-source-mapping:*")]
    env = {f"aws:RequestTag/{TAG}": scope.environment}
    return [
        statement("ReadEventSourceMappingTags", ["lambda:ListTags"], mappings),
        statement(
            "TagOwnEventSourceMappings",
            ["lambda:TagResource"],
            mappings,
            {"StringEquals": env, "StringEqualsIfExists": {f"aws:ResourceTag/{TAG}": scope.environment}},
        ),
        statement("UntagOwnEventSourceMappings", ["lambda:UntagResource"], mappings, scope.tagged),
    ]


def _messaging(scope: Scope) -> list[dict[str, Any]]:
    """Queues and topics of this environment, and subscriptions to its topics."""
    p = scope.prefix
    return [
        statement(
            "Queues",
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:TagQueue",
                "sqs:UntagQueue",
                "sqs:ListQueueTags",
            ],
            [scope.arn("sqs", f"{p}*")],
        ),  # fmt: skip
        statement(
            "Topics",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
                "sns:Subscribe",
            ],
            [scope.arn("sns", f"{p}*")],
        ),  # fmt: skip
        statement(
            "Subscriptions",
            ["sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"],
            ["*"],
            _region(scope),
        ),
    ]


def _keys(scope: Scope) -> list[dict[str, Any]]:
    """KMS keys this environment's program created (its tags), and their aliases. Tagging
    another key is denied (bootstrap/boundary.py), so the tags cannot be forged."""
    p = scope.prefix
    keys = scope.arn("kms", "key/*")
    return [
        # Tags in CreateKey are authorised on no particular key: "*" (the KMS developer guide).
        statement("CreateTaggedKeys", ["kms:CreateKey", "kms:TagResource"], ["*"], scope.requested),
        statement(
            "ManageOwnKeys",
            [
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:PutKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:EnableKeyRotation",
                "kms:ListResourceTags",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:ScheduleKeyDeletion",
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:UpdateKeyDescription",
            ],
            [keys],
            _own(scope),
        ),  # fmt: skip
        statement(
            "Aliases", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], [scope.arn("kms", f"alias/{p}*")]
        ),
        statement("AliasOwnKeys", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], [keys], _own(scope)),
        statement("ListAliases", ["kms:ListAliases"], ["*"]),
        # Reading an SSE-KMS object, the provider describes S3's AWS managed key by its alias
        # (setObjectKMSKeyID): that key, asked for by that alias only.
        statement(
            "IdentifyS3ManagedKey", ["kms:DescribeKey"], [keys], {"StringEquals": {"kms:RequestAlias": "alias/aws/s3"}}
        ),
    ]


def _monitoring(scope: Scope) -> list[dict[str, Any]]:
    """Log groups, alarms and event rules of this environment."""
    p = scope.prefix
    return [
        statement(
            "LogGroups",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:TagLogGroup",
                "logs:ListTagsLogGroup",
            ],
            [scope.arn("logs", f"log-group:/aws/lambda/{p}*"), scope.arn("logs", f"log-group:dms-*{p}*")],
        ),  # fmt: skip
        statement("ListLogGroups", ["logs:DescribeLogGroups"], ["*"]),
        statement(
            "Alarms",
            [
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ],
            [scope.arn("cloudwatch", f"alarm:{p}*")],
        ),  # fmt: skip
        statement(
            "EventRules",
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:DescribeRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:ListTargetsByRule",
                "events:TagResource",
                "events:UntagResource",
                "events:ListTagsForResource",
            ],
            [scope.arn("events", f"rule/{p}*")],
        ),  # fmt: skip
    ]


def _analytics(scope: Scope) -> list[dict[str, Any]]:
    """Glue databases and tables of this environment, and its Athena workgroup."""
    p = scope.prefix
    env = scope.environment
    return [
        statement(
            "Catalog",
            [
                "glue:CreateDatabase",
                "glue:DeleteDatabase",
                "glue:GetDatabase",
                "glue:UpdateDatabase",
                "glue:CreateTable",
                "glue:DeleteTable",
                "glue:GetTable",
                "glue:UpdateTable",
                "glue:GetPartitionIndexes",
            ],
            [
                scope.arn("glue", "catalog"),
                scope.arn("glue", f"database/cb_{env}_*"),
                scope.arn("glue", f"table/cb_{env}_*/*"),
            ],
        ),  # fmt: skip
        statement(
            "DatabaseTags",
            ["glue:GetTags", "glue:TagResource", "glue:UntagResource"],
            [scope.arn("glue", f"database/cb_{env}_*")],
        ),
        statement(
            "Workgroup",
            [
                "athena:CreateWorkGroup",
                "athena:DeleteWorkGroup",
                "athena:GetWorkGroup",
                "athena:UpdateWorkGroup",
                "athena:TagResource",
                "athena:UntagResource",
                "athena:ListTagsForResource",
            ],
            [scope.arn("athena", f"workgroup/{p}*")],
        ),  # fmt: skip
    ]


def _compaction(scope: Scope) -> list[dict[str, Any]]:
    """The compaction's state machines and schedules, by name (schedules take no tags); the deploy
    role never starts an execution."""
    p = scope.prefix
    return [
        statement(
            "StateMachines",
            [
                "states:CreateStateMachine",
                "states:DeleteStateMachine",
                "states:DescribeStateMachine",
                "states:ListStateMachineVersions",
                "states:ListTagsForResource",
                "states:TagResource",
                "states:UntagResource",
                "states:UpdateStateMachine",
            ],
            [scope.arn("states", f"stateMachine:{p}*")],
        ),  # fmt: skip
        statement(
            "Schedules",
            [
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ],
            [scope.arn("scheduler", f"schedule/default/{p}*")],
        ),
    ]


def _replication(scope: Scope) -> list[dict[str, Any]]:
    """DMS endpoints, instances, tasks, configs, certificates and subnet groups: created with
    this environment's tag, changed and deleted only while they carry it."""
    dms = scope.arn("dms", "*")
    return [
        statement(
            "CreateTaggedReplication",
            [
                "dms:CreateEndpoint",
                "dms:CreateReplicationInstance",
                "dms:CreateReplicationSubnetGroup",
                "dms:CreateReplicationConfig",
                "dms:CreateReplicationTask",
                "dms:ImportCertificate",
            ],
            ["*"],
            scope.requested,
        ),  # fmt: skip
        # An endpoint names its CA certificate (imported by this program or given by ARN).
        statement("EndpointsNameCertificates", ["dms:ModifyEndpoint"], [scope.arn("dms", "cert:*")]),
        statement("ReadReplicationTags", ["dms:ListTagsForResource"], [dms]),
        statement(
            "RegionOnlyReplication",
            ["dms:DescribeReplications", "dms:ModifyReplicationSubnetGroup"],
            ["*"],
            _region(scope),
        ),  # fmt: skip
        statement(
            "ReadReplication",
            [
                "dms:DescribeEndpoints",
                "dms:DescribeReplicationInstances",
                "dms:DescribeReplicationTasks",
                "dms:DescribeReplicationSubnetGroups",
                "dms:DescribeReplicationConfigs",
                "dms:DescribeCertificates",
                "dms:DescribeConnections",
            ],
            ["*"],
        ),  # fmt: skip
    ]


def _manage_own_replication(scope: Scope) -> list[dict[str, Any]]:
    """DMS resources are changed and deleted only while they carry this environment's tag."""
    dms = scope.arn("dms", "*")
    return [
        statement(
            "ManageOwnReplication",
            [
                "dms:DeleteEndpoint",
                "dms:ModifyEndpoint",
                "dms:DeleteReplicationInstance",
                "dms:ModifyReplicationInstance",
                "dms:DeleteReplicationTask",
                "dms:ModifyReplicationTask",
                "dms:StartReplicationTask",
                "dms:StopReplicationTask",
                "dms:DeleteReplicationConfig",
                "dms:ModifyReplicationConfig",
                "dms:StartReplication",
                "dms:StopReplication",
                "dms:DeleteReplicationSubnetGroup",
                "dms:DeleteCertificate",
                "dms:AddTagsToResource",
                "dms:RemoveTagsFromResource",
            ],
            [dms],
            scope.tagged,
        ),  # fmt: skip
    ]


def _network(scope: Scope) -> list[dict[str, Any]]:
    """Security groups and VPC endpoints: created with this environment's tag, changed and
    deleted only while they carry it. (The VPC is the program's config, which the bootstrap
    does not read: it may be any VPC of the account's region.)"""
    ec2 = lambda kind: scope.arn("ec2", f"{kind}/*")  # noqa: E731
    return [
        statement(
            "CreateTaggedGroupsEndpointsAndRules",
            [
                "ec2:CreateSecurityGroup",
                "ec2:CreateVpcEndpoint",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
            ],
            [ec2("security-group"), ec2("vpc-endpoint"), ec2("security-group-rule")],
            scope.requested,
        ),  # fmt: skip
        statement(
            "TagOnCreate",
            ["ec2:CreateTags"],
            [ec2("security-group"), ec2("vpc-endpoint"), ec2("security-group-rule")],
            {
                "StringEquals": {
                    "ec2:CreateAction": [
                        "CreateSecurityGroup",
                        "CreateVpcEndpoint",
                        "AuthorizeSecurityGroupIngress",
                        "AuthorizeSecurityGroupEgress",
                    ]
                }
            },
        ),  # fmt: skip
        statement(
            "InTheAccountsNetwork",
            ["ec2:CreateSecurityGroup", "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint"],
            [ec2("vpc"), ec2("subnet"), ec2("route-table"), ec2("security-group")],
        ),  # fmt: skip
        statement(
            "ReadNetwork",
            [
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeRouteTables",
                "ec2:DescribePrefixLists",
                "ec2:DescribeNetworkInterfaces",
            ],
            ["*"],
        ),  # fmt: skip
    ]


def _manage_own_network(scope: Scope) -> list[dict[str, Any]]:
    """Security groups, their rules and VPC endpoints are changed only while they carry this environment's tag."""
    ec2 = lambda kind: scope.arn("ec2", f"{kind}/*")  # noqa: E731
    return [
        statement(
            "ManageOwnGroupsAndEndpoints",
            [
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:ModifySecurityGroupRules",
                "ec2:ModifyVpcEndpoint",
                "ec2:DeleteVpcEndpoints",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            [ec2("security-group"), ec2("vpc-endpoint"), ec2("security-group-rule")],
            _own(scope),
        ),  # fmt: skip
        # A separate ingress rule may be tagged just after AuthorizeSecurityGroupIngress (no
        # TagSpecifications): only an untagged rule, only with this environment's tags.
        statement(
            "TagNewRules",
            ["ec2:CreateTags"],
            [ec2("security-group-rule")],
            {
                "StringEquals": {f"aws:RequestTag/{TAG}": scope.environment, f"aws:RequestTag/{MANAGED_BY}": "pulumi"},
                "Null": {f"aws:ResourceTag/{TAG}": "true"},
            },
        ),
        # Deleting a security group first deletes the network interfaces DMS left in it
        # (deleteLingeringENIs): only a detached interface can be deleted.
        statement("RemoveLingeringInterfaces", ["ec2:DeleteNetworkInterface"], [ec2("network-interface")]),
    ]


# What the program declares in the DR region (components/dr.py): replica and report buckets, a key and
# its alias, the alerts topic, dead-letter queue and notifier with its logs, alarms, the Glue catalog and
# the Athena workgroup. The same grants as in the stack's region (by Sid), scoped to the DR region.
DR_REGION_GRANTS = (
    "Buckets", "ManageOwnKeys", "Aliases", "AliasOwnKeys", "Queues", "Topics", "Subscriptions", "Functions",
    "LogGroups", "Alarms", "Catalog", "DatabaseTags", "Workgroup",
)  # fmt: skip
REPLICATION_ROLE = "dr-replication"  # cb-<env>-dr-replication, components/dr.py


def _disaster_recovery(scope: Scope) -> list[dict[str, Any]]:
    """With a DR region (bootstrap drRegion): the program's grants there, the replication configuration
    of its own raw-history, metadata and fail buckets, and its replication role passed to S3 alone."""
    if not scope.dr_region:
        return []
    dr = scope.in_region(scope.dr_region)
    builders = (_keys, _messaging, _monitoring, _analytics, _functions)
    in_dr = [
        {**granted, "Sid": f"{granted['Sid']}InDrRegion"}
        for granted in [statement("Buckets", BUCKET_ACTIONS, [f"arn:aws:s3:::{dr.prefix}*-{dr.account}-{dr.region}"])]
        + [s for build in builders for s in build(dr)]
        if granted["Sid"] in DR_REGION_GRANTS
    ]
    sources = [
        f"arn:aws:s3:::{scope.prefix}*-{purpose}-{scope.account}-{scope.region}" for purpose in ("raw", "meta", "fail")
    ]
    return in_dr + [
        # PutBucketReplication, and DeleteBucketReplication (authorised as s3:PutReplicationConfiguration).
        statement("ReplicateOwnRecords", ["s3:PutReplicationConfiguration"], sources),
        # S3 assumes the role a replication configuration names: only that role, only to S3.
        statement(
            "PassTheReplicationRoleToS3",
            ["iam:PassRole"],
            [f"arn:aws:iam::{scope.account}:role/{scope.prefix}{REPLICATION_ROLE}"],
            {"StringEquals": {"iam:PassedToService": "s3.amazonaws.com"}},
        ),
    ]


def _private_dns(scope: Scope) -> list[dict[str, Any]]:
    """Creating the Secrets Manager interface endpoint with private DNS: EC2 associates the VPC
    with the endpoint's managed private hosted zone (an id AWS assigns) as the caller. Only VPCs
    of this region (Route 53's route53:VPCs, "VPCId=<vpc-id>,VPCRegion=<region>"; absent, it
    does not narrow)."""
    return [
        statement(
            "PrivateDnsOfInterfaceEndpoints",
            ["route53:AssociateVPCWithHostedZone"],
            ["arn:aws:route53:::hostedzone/*"],
            {"ForAllValues:StringLike": {"route53:VPCs": [f"VPCId=vpc-*,VPCRegion={scope.region}"]}},
        )
    ]


def _warehouse_statements(scope: Scope) -> list[dict[str, Any]]:
    """The optional Redshift Serverless warehouse: its ARNs carry ids AWS assigns, so it is
    scoped by the environment tag. Its SQL runs in the program's own function (invoked, not
    run by this role), so this role never reads the warehouse's admin secret."""
    serverless = [scope.arn("redshift-serverless", "namespace/*"), scope.arn("redshift-serverless", "workgroup/*")]
    return [
        statement(
            "CreateTaggedWarehouse",
            [
                "redshift-serverless:CreateNamespace",
                "redshift-serverless:CreateWorkgroup",
                "redshift-serverless:TagResource",
            ],
            ["*"],
            scope.requested,
        ),  # fmt: skip
        statement(
            "ManageOwnWarehouse",
            [
                "redshift-serverless:GetNamespace",
                "redshift-serverless:UpdateNamespace",
                "redshift-serverless:DeleteNamespace",
                "redshift-serverless:GetWorkgroup",
                "redshift-serverless:UpdateWorkgroup",
                "redshift-serverless:DeleteWorkgroup",
                "redshift-serverless:ListTagsForResource",
                "redshift-serverless:TagResource",
                "redshift-serverless:UntagResource",
            ],
            serverless,
            scope.tagged,
        ),  # fmt: skip
    ]
