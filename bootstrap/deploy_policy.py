"""The deploy role's statements, one builder per family of resources the program manages.

Each builder scopes its actions to this environment's names (``cb-<env>-``) or, where
ARNs carry ids AWS assigns, to the environment tag; ``policies.UNSCOPED`` lists and
explains every action that must stay on ``*``.
"""

from __future__ import annotations

from typing import Any

from bootstrap.scope import Scope, statement

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


def deploy_statements(scope: Scope) -> list[dict[str, Any]]:
    """Everything `pulumi up` of one environment needs, each part scoped to that environment."""
    return [
        *_storage_and_state(scope),
        *_iam(scope),
        *_service_linked_roles(scope),
        *_functions(scope),
        *_messaging(scope),
        *_keys(scope),
        *_warehouse_statements(scope),
        *_monitoring(scope),
        *_analytics(scope),
        *_replication(scope),
        *_network(scope),
        statement("WhoAmI", ["sts:GetCallerIdentity"], ["*"]),
    ]


def _storage_and_state(scope: Scope) -> list[dict[str, Any]]:
    """The program's buckets and table metadata; Pulumi's state and its key."""
    p = scope.prefix
    return [
        statement("Buckets", BUCKET_ACTIONS, [f"arn:aws:s3:::{p}*"]),
        statement(
            "PublishTableMetadata",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
            [f"arn:aws:s3:::{p}*-meta-*/*"],
        ),
        statement(
            "PulumiState",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*"],
        ),
        statement(
            "PulumiSecretsAndState",
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            [scope.state_key_arn],
        ),
    ]


def _iam(scope: Scope) -> list[dict[str, Any]]:
    """Roles of this environment (and DMS's own), passed only to their services."""
    roles = [f"arn:aws:iam::{scope.account}:role/{scope.prefix}*", f"arn:aws:iam::{scope.account}:role/dms-vpc-role",
             f"arn:aws:iam::{scope.account}:role/dms-cloudwatch-logs-role"]  # fmt: skip
    return [
        statement(
            "Roles",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRoleTags",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
            ],
            roles,
        ),  # fmt: skip
        statement(
            "AttachOnlyTheDmsServicePolicies",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            roles[1:],
            {
                "ArnEquals": {
                    "iam:PolicyARN": [
                        "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
                        "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
                    ]
                }
            },
        ),
        statement(
            "PassRolesToTheirServices",
            ["iam:PassRole"],
            roles,
            {
                "StringEquals": {
                    "iam:PassedToService": [
                        "lambda.amazonaws.com",
                        "dms.amazonaws.com",
                        "redshift.amazonaws.com",
                        "redshift-serverless.amazonaws.com",
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
    """Lambda functions of this environment, their event sources and the validator layer."""
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
        statement(
            "UseTheValidatorLayer", ["lambda:GetLayerVersion"], [scope.arn("lambda", "layer:*:*", account=False)]
        ),
        statement(
            "EventSourceMappingsOfOwnFunctions",
            ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"],
            ["*"],
            {"ArnLike": {"lambda:FunctionArn": functions}},
        ),
        statement("ReadEventSourceMappings", ["lambda:GetEventSourceMapping", "lambda:ListEventSourceMappings"], ["*"]),
    ]


def _messaging(scope: Scope) -> list[dict[str, Any]]:
    """Queues and topics of this environment."""
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
                "sns:Unsubscribe",
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
            ],
            [scope.arn("sns", f"{p}*")],
        ),  # fmt: skip
    ]


def _keys(scope: Scope) -> list[dict[str, Any]]:
    """KMS keys tagged with this environment, and their aliases."""
    p = scope.prefix
    return [
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
                "kms:UntagResource",
                "kms:ScheduleKeyDeletion",
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:UpdateKeyDescription",
            ],
            [scope.arn("kms", "key/*")],
            scope.tagged,
        ),  # fmt: skip
        statement(
            "Aliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            [scope.arn("kms", f"alias/{p}*"), scope.arn("kms", "key/*")],
        ),
        statement("ListAliases", ["kms:ListAliases"], ["*"]),
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
                "glue:GetTags",
                "glue:TagResource",
                "glue:UntagResource",
            ],
            [
                scope.arn("glue", "catalog"),
                scope.arn("glue", f"database/cb_{env}_*"),
                scope.arn("glue", f"table/cb_{env}_*/*"),
            ],
        ),  # fmt: skip
        statement("ListDatabases", ["glue:GetDatabases"], [scope.arn("glue", "catalog")]),
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


def _replication(scope: Scope) -> list[dict[str, Any]]:
    """DMS endpoints, instances, tasks, configs and subnet groups of this environment."""
    return [
        statement(
            "Replication",
            [
                "dms:CreateEndpoint",
                "dms:DeleteEndpoint",
                "dms:ModifyEndpoint",
                "dms:CreateReplicationInstance",
                "dms:DeleteReplicationInstance",
                "dms:ModifyReplicationInstance",
                "dms:CreateReplicationTask",
                "dms:DeleteReplicationTask",
                "dms:ModifyReplicationTask",
                "dms:StartReplicationTask",
                "dms:StopReplicationTask",
                "dms:CreateReplicationConfig",
                "dms:DeleteReplicationConfig",
                "dms:ModifyReplicationConfig",
                "dms:StartReplication",
                "dms:StopReplication",
                "dms:DescribeReplications",
                "dms:DeleteReplicationSubnetGroup",
                "dms:ModifyReplicationSubnetGroup",
                "dms:ImportCertificate",
                "dms:DeleteCertificate",
                "dms:AddTagsToResource",
                "dms:RemoveTagsFromResource",
                "dms:ListTagsForResource",
            ],
            [scope.arn("dms", "*")],
        ),  # fmt: skip
        statement("CreateSubnetGroups", ["dms:CreateReplicationSubnetGroup"], ["*"], scope.requested),
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


def _network(scope: Scope) -> list[dict[str, Any]]:
    """Security groups and VPC endpoints in the configured VPC."""
    return [
        statement(
            "SecurityGroupsAndEndpoints",
            [
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:ModifyVpcEndpoint",
                "ec2:DeleteVpcEndpoints",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            [
                scope.arn("ec2", "security-group/*"),
                scope.arn("ec2", "vpc-endpoint/*"),
                scope.arn("ec2", "vpc/*"),
                scope.arn("ec2", "subnet/*"),
                scope.arn("ec2", "route-table/*"),
            ],
        ),  # fmt: skip
        statement("CreateEndpoints", ["ec2:CreateVpcEndpoint"], ["*"], scope.requested),
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
                "redshift-serverless:UntagResource",
            ],
            serverless,
            scope.tagged,
        ),  # fmt: skip
    ]
