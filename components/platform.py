"""Platform: what one AWS account shares across its pipelines.

KMS key, the account-wide DMS service roles, the DMS subnet group, the alerts topic with
its Slack notifier, and the Lambda code bundles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.alerts import SlackAlerts, SlackAlertsArgs
from components.analytics import Analytics, AnalyticsArgs
from components.config import ExistingEndpoints
from components.naming import Naming
from components.network import VpcEndpoints, VpcEndpointsArgs
from components.packaging import POWERTOOLS, LambdaBundle, build_bundle

# Exact names DMS looks up; they are account-wide (docs/dms.md, "Service roles").
DMS_VPC_ROLE = "dms-vpc-role"
DMS_LOGS_ROLE = "dms-cloudwatch-logs-role"
DMS_VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
DMS_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"

# Key administration delegated to the account's IAM, spelled out instead of "kms:*".
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom",
    "kms:ReEncryptTo", "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)  # fmt: skip
# Services that encrypt with the key on our behalf (log groups, S3→SQS, SNS→SQS, alarms/events→SNS).
KEY_USER_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com")


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of the per-account platform."""

    naming: Naming
    vpc_id: str
    subnet_ids: Sequence[str]
    route_table_ids: Sequence[str]
    existing_endpoints: ExistingEndpoints | None
    manage_dms_service_roles: bool
    slack_webhook_secret_arn: str
    log_retention_days: int
    retain_data: bool = False
    bytes_scanned_cutoff_gb: int = 100
    results_expire_days: int = 30
    # Some source compacts its tables: the analytics get the Iceberg state bucket.
    state_tables: bool = False


class Platform(pulumi.ComponentResource):
    """What every source shares: KMS key, DMS roles and subnets, endpoints, alerts, analytics."""

    key: aws.kms.Key
    subnet_group: aws.dms.ReplicationSubnetGroup
    endpoints: VpcEndpoints
    alerts: SlackAlerts
    analytics: Analytics
    validator_bundle: LambdaBundle
    notifier_bundle: LambdaBundle

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:platform:Platform", name, None, opts)
        self._args = args
        self.validator_bundle = build_bundle("validator", ("common", "validator"), vendored=POWERTOOLS)
        self.notifier_bundle = build_bundle(
            "slack_alerts", ("common", "slack_alerts"), vendored=("slack_sdk", *POWERTOOLS)
        )
        self.key = self._key()
        self.subnet_group = self._subnet_group(self._dms_service_roles())
        self.endpoints = self._endpoints()
        self.alerts = self._alerts()
        self.analytics = self._analytics()
        self.register_outputs(
            {
                "kms_key_arn": self.key.arn,
                "subnet_group_id": self.subnet_group.replication_subnet_group_id,
                "alerts_topic_arn": self.alerts.topic.arn,
            }
        )

    def _key(self) -> aws.kms.Key:
        """The stack's one KMS key (rotated) and its alias."""
        args, naming = self._args, self._args.naming
        key = aws.kms.Key(
            "key",
            description=f"CloudBridge {naming.environment}: landing, history, queues, topics, logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_key_policy(naming.account_id, naming.region),
            tags=naming.tags(),
            # Deleting the key would make every object and message it encrypted unreadable.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_data),
        )
        aws.kms.Alias(
            "key-alias",
            name=f"alias/{naming.name('data')}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _dms_service_roles(self) -> list[pulumi.Resource]:
        """dms-vpc-role and dms-cloudwatch-logs-role, unless the account has them already."""
        naming, attachments = self._args.naming, []
        if not self._args.manage_dms_service_roles:
            return attachments
        for role_name, policy_arn in ((DMS_VPC_ROLE, DMS_VPC_POLICY), (DMS_LOGS_ROLE, DMS_LOGS_POLICY)):
            role = aws.iam.Role(
                role_name,
                name=role_name,
                assume_role_policy=iam.trust_policy("dms.amazonaws.com"),
                permissions_boundary=naming.permissions_boundary_arn,
                tags=naming.tags(),
                opts=pulumi.ResourceOptions(parent=self),
            )
            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{role_name}-policy",
                    role=role.name,
                    policy_arn=policy_arn,
                    opts=pulumi.ResourceOptions(parent=role),
                )
            )
        return attachments

    def _subnet_group(self, service_roles: list[pulumi.Resource]) -> aws.dms.ReplicationSubnetGroup:
        naming = self._args.naming
        return aws.dms.ReplicationSubnetGroup(
            "dms-subnets",
            replication_subnet_group_id=naming.name("dms"),
            replication_subnet_group_description=f"CloudBridge {naming.environment} DMS subnets",
            subnet_ids=list(self._args.subnet_ids),
            tags=naming.tags(),
            # Creating the subnet group fails until dms-vpc-role's attachment exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=service_roles),
        )

    def _endpoints(self) -> VpcEndpoints:
        args = self._args
        return VpcEndpoints(
            "vpc-endpoints",
            VpcEndpointsArgs(
                naming=args.naming,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                route_table_ids=args.route_table_ids,
                existing=args.existing_endpoints,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alerts(self) -> SlackAlerts:
        args = self._args
        return SlackAlerts(
            "alerts",
            SlackAlertsArgs(
                naming=args.naming,
                kms_key_arn=self.key.arn,
                webhook_secret_arn=args.slack_webhook_secret_arn,
                bundle=self.notifier_bundle,
                log_retention_days=args.log_retention_days,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _analytics(self) -> Analytics:
        args = self._args
        return Analytics(
            "analytics",
            AnalyticsArgs(
                naming=args.naming,
                kms_key_arn=self.key.arn,
                bytes_scanned_cutoff_gb=args.bytes_scanned_cutoff_gb,
                results_expire_days=args.results_expire_days,
                state_tables=args.state_tables,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _key_policy(account: str, region: str) -> pulumi.Output[str]:
    root = f"arn:aws:iam::{account}:root"
    return iam.document(
        [
            iam.statement("AccountAdministersKeyThroughIam", KEY_ADMIN_ACTIONS, ["*"], principal={"AWS": root}),
            # DescribeKey carries no encryption context, so it cannot share the statement
            # conditioned on the log group's context: it would never be allowed.
            iam.statement(
                "CloudWatchLogsDescribesKey",
                ["kms:DescribeKey"],
                ["*"],
                principal={"Service": f"logs.{region}.amazonaws.com"},
                condition={"StringEquals": {"aws:SourceAccount": account}},
            ),
            iam.statement(
                "CloudWatchLogsEncryptsLogGroups",
                [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                ["*"],
                principal={"Service": f"logs.{region}.amazonaws.com"},
                condition={
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:*"}
                },
            ),
            iam.statement(
                "ServicesDeliverEncryptedMessages",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                ["*"],
                principal={"Service": list(KEY_USER_SERVICES)},
                condition={"StringEquals": {"aws:SourceAccount": account}},
            ),
        ]
    )
