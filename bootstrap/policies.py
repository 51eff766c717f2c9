"""What the deploy and preview roles of one account may do, as plain policy data.

The deploy role manages exactly what CloudBridge declares: resources whose names start
with ``cb-<env>-`` (``cb_<env>_`` in Glue), the two account-wide DMS roles, and the
Pulumi state. Actions are listed one by one (no wildcards); a resource of ``*`` appears
only where AWS offers nothing narrower, in ``UNSCOPED`` with the reason and, where AWS
supports one, a condition. The preview role reads; it writes only Pulumi's lock objects
and the drift alert, cannot assume other roles and cannot read secret values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.common.runtime import NAME_PREFIX, TAG_ENVIRONMENT

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
TAG = TAG_ENVIRONMENT  # the program's default tag on everything it creates

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


@dataclass(frozen=True)
class Scope:
    """The account, region, environment and state location a deploy or preview role is scoped to."""

    account: str
    region: str
    environment: str
    state_bucket: str
    state_key_arn: str

    @property
    def prefix(self) -> str:
        """The name prefix of everything this environment's program creates (``cb-<env>-``)."""
        return f"{NAME_PREFIX}-{self.environment}-"

    @property
    def tagged(self) -> dict[str, Any]:
        """Condition: the resource carries this environment's tag."""
        return {"StringEquals": {f"aws:ResourceTag/{TAG}": self.environment}}

    @property
    def requested(self) -> dict[str, Any]:
        """Condition: the request tags what it creates with this environment."""
        return {"StringEquals": {f"aws:RequestTag/{TAG}": self.environment}}

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        """An ARN in this scope's region and account (either left empty where the service's ARNs have none)."""
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


def _statement(sid: str, actions: list[str], resources: list[str], condition: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        out["Condition"] = condition
    return out


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
        _statement("WhoAmI", ["sts:GetCallerIdentity"], ["*"]),
    ]


def _storage_and_state(scope: Scope) -> list[dict[str, Any]]:
    """The program's buckets and table metadata; Pulumi's state and its key."""
    p = scope.prefix
    return [
        _statement("Buckets", BUCKET_ACTIONS, [f"arn:aws:s3:::{p}*"]),
        _statement(
            "PublishTableMetadata",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
            [f"arn:aws:s3:::{p}*-meta-*/*"],
        ),
        _statement(
            "PulumiState",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*"],
        ),
        _statement(
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
        _statement(
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
        _statement(
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
        _statement(
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
        _statement(
            "RedshiftServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{scope.account}:role/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift"],
            {"StringEquals": {"iam:AWSServiceName": "redshift.amazonaws.com"}},
        ),
        _statement(
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
        _statement(
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
        _statement("RunWarehouseSql", ["lambda:InvokeFunction"], [scope.arn("lambda", f"function:{p}warehouse-sql")]),
        _statement(
            "UseTheValidatorLayer", ["lambda:GetLayerVersion"], [scope.arn("lambda", "layer:*:*", account=False)]
        ),
        _statement(
            "EventSourceMappingsOfOwnFunctions",
            ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"],
            ["*"],
            {"ArnLike": {"lambda:FunctionArn": functions}},
        ),
        _statement(
            "ReadEventSourceMappings", ["lambda:GetEventSourceMapping", "lambda:ListEventSourceMappings"], ["*"]
        ),
    ]


def _messaging(scope: Scope) -> list[dict[str, Any]]:
    """Queues and topics of this environment."""
    p = scope.prefix
    return [
        _statement(
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
        _statement(
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
        _statement("CreateTaggedKeys", ["kms:CreateKey", "kms:TagResource"], ["*"], scope.requested),
        _statement(
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
        _statement(
            "Aliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            [scope.arn("kms", f"alias/{p}*"), scope.arn("kms", "key/*")],
        ),
        _statement("ListAliases", ["kms:ListAliases"], ["*"]),
    ]


def _monitoring(scope: Scope) -> list[dict[str, Any]]:
    """Log groups, alarms and event rules of this environment."""
    p = scope.prefix
    return [
        _statement(
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
        _statement("ListLogGroups", ["logs:DescribeLogGroups"], ["*"]),
        _statement(
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
        _statement(
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
        _statement(
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
        _statement("ListDatabases", ["glue:GetDatabases"], [scope.arn("glue", "catalog")]),
        _statement(
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
        _statement(
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
        _statement("CreateSubnetGroups", ["dms:CreateReplicationSubnetGroup"], ["*"], scope.requested),
        _statement(
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
        _statement(
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
        _statement("CreateEndpoints", ["ec2:CreateVpcEndpoint"], ["*"], scope.requested),
        _statement(
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


def preview_statements(scope: Scope) -> list[dict[str, Any]]:
    """Read what a preview (and its in-memory refresh) reads — the deploy role's read
    actions on the same resources — and write only the state locks and the drift alert."""
    own = {"PulumiState", "PulumiSecretsAndState", "PublishTableMetadata"}
    statements = []
    for statement in deploy_statements(scope):
        if statement["Sid"] in own:
            continue
        reads = [a for a in statement["Action"] if a.split(":", 1)[1].startswith(READ_VERBS)]
        if reads:
            statements.append({**statement, "Sid": f"Read{statement['Sid']}", "Action": reads})
    p = scope.prefix
    return statements + [
        _statement("ReadPublishedMetadata", ["s3:GetObject", "s3:GetObjectTagging"], [f"arn:aws:s3:::{p}*-meta-*/*"]),
        _statement(
            "ReadState",
            ["s3:GetObject", "s3:ListBucket"],
            [f"arn:aws:s3:::{scope.state_bucket}", f"arn:aws:s3:::{scope.state_bucket}/*"],
        ),
        # Pulumi's self-managed backend takes a lock for a preview: its only write.
        _statement(
            "StateLocks", ["s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{scope.state_bucket}/.pulumi/locks/*"]
        ),
        # Loading a stack decrypts its data key; the stacks hold no secret values to reveal.
        _statement("LoadStacks", ["kms:Decrypt", "kms:DescribeKey"], [scope.state_key_arn]),
        _statement("DriftAlert", ["sns:Publish"], [scope.arn("sns", f"{p}alerts")]),
    ]


READ_VERBS = ("Get", "List", "Describe")


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


def _warehouse_statements(scope: Scope) -> list[dict[str, Any]]:
    """The optional Redshift Serverless warehouse: its ARNs carry ids AWS assigns, so it is
    scoped by the environment tag. Its SQL runs in the program's own function (invoked, not
    run by this role), so this role never reads the warehouse's admin secret."""
    serverless = [scope.arn("redshift-serverless", "namespace/*"), scope.arn("redshift-serverless", "workgroup/*")]
    return [
        _statement(
            "CreateTaggedWarehouse",
            [
                "redshift-serverless:CreateNamespace",
                "redshift-serverless:CreateWorkgroup",
                "redshift-serverless:TagResource",
            ],
            ["*"],
            scope.requested,
        ),  # fmt: skip
        _statement(
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
