"""DisasterRecovery: the system of record replicated to a second region, and usable there.

Per source, S3 Cross-Region Replication copies the raw-history and metadata buckets (and the
fail bucket with ``replicateFail``) into buckets of the DR region, versioned and encrypted under
a key of that region; one replication role does exactly what S3 replication does (read the
source versions, write the replicas, decrypt with the source key and encrypt with the replica
key, each through S3 and for these buckets only). The DR region gets what a failover needs and
Glue does not replicate: a Glue database per source with the change tables and current-state
views over the replicas, an Athena workgroup, and its own alerts topic, key and Slack notifier
with the replication alarms, which live there because S3 publishes replication metrics in the
destination's region. Objects written before replication began are copied by S3 Batch
Replication (``python -m cloudbridge dr backfill``), through a role and a reports bucket declared
here. Decisions and the runbook: docs/disaster-recovery.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.alerts import SlackAlerts, SlackAlertsArgs
from components.analytics import Analytics, AnalyticsArgs
from components.catalog import Catalog, CatalogArgs
from components.config import DisasterRecovery as DisasterRecoveryConfig
from components.naming import Naming
from components.packaging import LambdaBundle
from components.platform import _key_policy
from components.storage import SecureBucket, SecureBucketArgs
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata
from functions.common.runtime import TAG_PURPOSE, alarm_description

# Replication Time Control: 15 minutes is the one value S3 takes for the threshold and the event.
RTC_MINUTES = 15
BACKFILL_REPORTS_DAYS = 30  # Batch Replication manifests and completion reports are kept this long
S3_REPLICATION = "s3.amazonaws.com"
S3_BATCH_OPERATIONS = "batchoperations.s3.amazonaws.com"
# The replication metrics S3 publishes (namespace AWS/S3, by SourceBucket, DestinationBucket, RuleId).
REPLICATION_METRICS = "AWS/S3"


@dataclass(frozen=True)
class ReplicatedBucket:
    """One primary bucket to replicate: its purpose (raw, meta, fail) and the bucket."""

    purpose: str
    bucket: SecureBucket
    expire_after_days: int | None = None  # the replica expires objects like the source (lifecycle is not replicated)


@dataclass(frozen=True)
class DrSource:
    """One source's part in the DR region: its buckets to replicate and its tables to catalog."""

    name: str
    engine: str
    tables: tuple[TableMetadata, ...]
    buckets: tuple[ReplicatedBucket, ...]
    layout: Layout = DAY  # its raw-history partitions, as in the primary region


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    """Inputs of the DR region's part of a stack."""

    naming: Naming  # the primary region's names
    config: DisasterRecoveryConfig
    sources: tuple[DrSource, ...]
    primary_key_arn: pulumi.Input[str]
    notifier_bundle: LambdaBundle
    log_retention_days: int
    retain_data: bool = False
    deletion_guard_arn: str | None = None
    noncurrent_version_days: int = 30
    bytes_scanned_cutoff_gb: int = 100
    results_expire_days: int = 30
    # The primary region's alerts topic: the failed-operations alarm is declared there too (below).
    primary_alerts_topic_arn: pulumi.Input[str] | None = None

    @property
    def dr_naming(self) -> Naming:
        """The same stack's names in the DR region."""
        return self.naming.in_region(str(self.config.region))


@dataclass(frozen=True)
class Rule:
    """One replication rule: a source bucket into its replica."""

    source: str
    purpose: str
    rule_id: str
    source_bucket: SecureBucket
    replica: SecureBucket


class DisasterRecovery(pulumi.ComponentResource):
    """Replicas of every source's system of record in the DR region, with a catalog, alerts and alarms there."""

    dr_provider: aws.Provider
    key: aws.kms.Key
    rules: list[Rule]
    replication_role: aws.iam.Role
    alerts: SlackAlerts
    catalogs: dict[str, Catalog]
    analytics: Analytics
    backfill_role: aws.iam.Role
    reports: SecureBucket

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:dr:DisasterRecovery", name, None, opts)
        self._args = args
        self.dr_provider = self._dr_provider()
        # Custom resources in the DR region name its provider; components pass it to their children.
        self._in_dr = pulumi.ResourceOptions(parent=self, provider=self.dr_provider)
        self._components_in_dr = pulumi.ResourceOptions(parent=self, providers=[self.dr_provider])
        self.key = self._key()
        self.rules = [self._rule(source, replicated) for source in args.sources for replicated in source.buckets]
        self.replication_role, role_policy = self._replication_role()
        for rule in self.rules:
            self._replicate(rule, role_policy)
        self.alerts = self._alerts()
        for rule in self.rules:
            self._alarms(rule)
        self.catalogs = {source.name: self._catalog(source) for source in args.sources}
        self.analytics = self._analytics()
        self.reports = self._reports()
        self.backfill_role = self._backfill_role()
        self.register_outputs(
            {
                "region": args.config.region,
                "alerts_topic_arn": self.alerts.topic.arn,
                "replication_role_arn": self.replication_role.arn,
                "backfill_role_arn": self.backfill_role.arn,
                "reports_bucket": self.reports.name,
            }
        )

    # --- the DR region ---------------------------------------------------------------------

    def _dr_provider(self) -> aws.Provider:
        """The DR region's provider: the same account only, the same default tags, no role assumed."""
        naming, region = self._args.naming, str(self._args.config.region)
        return aws.Provider(
            "aws-dr",
            region=region,
            allowed_account_ids=[naming.account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=naming.default_tags()),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _key(self) -> aws.kms.Key:
        """The DR region's key: replicas, the DR topic and queue, the notifier's logs (rotated, retained)."""
        args, dr = self._args, self._args.dr_naming
        key = aws.kms.Key(
            "dr-key",
            description=f"CloudBridge {dr.environment} DR ({dr.region}): replicas, alerts, logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_key_policy(dr.account_id, dr.region),
            tags=dr.tags(),
            opts=pulumi.ResourceOptions.merge(self._in_dr, pulumi.ResourceOptions(retain_on_delete=args.retain_data)),
        )
        aws.kms.Alias("dr-key-alias", name=f"alias/{dr.name('data')}", target_key_id=key.key_id, opts=self._in_dr)
        return key

    # --- replication ---------------------------------------------------------------------

    def _rule(self, source: DrSource, replicated: ReplicatedBucket) -> Rule:
        """The replica of one source bucket: versioned, under the DR key, guarded and kept like its source."""
        args, dr = self._args, self._args.dr_naming
        record = replicated.purpose in ("raw", "meta")  # the system of record carries the deletion guard
        replica = SecureBucket(
            f"{source.name}-dr-{replicated.purpose}",
            SecureBucketArgs(
                bucket_name=dr.bucket(source.name, replicated.purpose),
                kms_key_arn=self.key.arn,
                tags={**dr.tags(source.name), TAG_PURPOSE: f"{replicated.purpose}-replica"},
                versioning=True,
                expire_after_days=replicated.expire_after_days,
                noncurrent_expire_after_days=args.noncurrent_version_days,
                retain_on_delete=args.retain_data,
                guard_principal_arn=args.deletion_guard_arn if record else None,
            ),
            opts=self._components_in_dr,
        )
        rule_id = args.naming.replication_rule_id(replicated.purpose, dr.region)
        return Rule(source.name, replicated.purpose, rule_id, replicated.bucket, replica)

    def _replication_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role S3 assumes to replicate: exactly the calls S3 replication makes, on these buckets only.

        Its trust names S3 alone, as AWS documents it: S3 assumes only a role that is passed to it
        in a replication configuration, and only this account can pass its roles."""
        naming = self._args.naming
        role_name = naming.name("dr", "replication")
        role = aws.iam.Role(
            "dr-replication-role",
            name=role_name,
            description=f"S3 replication of CloudBridge {naming.environment} into {self._args.config.region}",
            assume_role_policy=iam.trust_policy(S3_REPLICATION),
            permissions_boundary=naming.permissions_boundary_arn,
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            "dr-replication-role-policy",
            role=role.id,
            name="least-privilege",
            policy=iam.document(self._replication_statements()),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, policy

    def _replication_statements(self) -> list[dict]:
        """S3 User Guide, "Setting up permissions for live replication" and "Replicating encrypted
        objects": source bucket (configuration, listing), source versions, replica writes; the source
        key to decrypt and the replica key to encrypt, through S3 of each region, for these buckets
        (with S3 Bucket Keys the encryption context is the bucket's ARN). No s3:ReplicateDelete:
        delete markers are not replicated (docs/disaster-recovery.md)."""
        args = self._args
        sources = [rule.source_bucket.arn for rule in self.rules]
        replicas = [rule.replica.arn for rule in self.rules]
        objects = lambda arns: [pulumi.Output.concat(arn, "/*") for arn in arns]  # noqa: E731
        return [
            iam.statement("ReadReplicationConfiguration", ["s3:GetReplicationConfiguration", "s3:ListBucket"], sources),
            iam.statement(
                "ReadSourceVersions",
                ["s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"],
                objects(sources),
            ),
            iam.statement("WriteReplicas", ["s3:ReplicateObject", "s3:ReplicateTags"], objects(replicas)),
            iam.statement(
                "DecryptSourceObjects",
                ["kms:Decrypt"],
                [args.primary_key_arn],
                condition=_through_s3(args.naming.region, sources),
            ),
            iam.statement(
                "EncryptReplicas",
                ["kms:Encrypt", "kms:GenerateDataKey"],
                [self.key.arn],
                condition=_through_s3(args.dr_naming.region, replicas),
            ),
        ]

    def _replicate(self, rule: Rule, role_policy: aws.iam.RolePolicy) -> aws.s3.BucketReplicationConfig:
        """One rule on the source bucket: every object (SSE-KMS included) into the replica, under the DR key."""
        config = self._args.config
        s3 = aws.s3
        destination = s3.BucketReplicationConfigRuleDestinationArgs(
            bucket=rule.replica.arn,
            storage_class="STANDARD",
            encryption_configuration=s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=self.key.arn
            ),
            **_time_control(config.replication_time_control),
        )
        return s3.BucketReplicationConfig(
            f"{rule.source}-{rule.purpose}-replication",
            bucket=rule.source_bucket.bucket.id,
            role=self.replication_role.arn,
            rules=[
                s3.BucketReplicationConfigRuleArgs(
                    id=rule.rule_id,
                    status="Enabled",
                    priority=1,
                    filter=s3.BucketReplicationConfigRuleFilterArgs(prefix=""),  # the whole bucket
                    # A delete marker in the primary must not hide the object in the replica.
                    delete_marker_replication=s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Disabled"
                    ),
                    source_selection_criteria=s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=destination,
                )
            ],
            # S3 refuses a replication configuration until both buckets are versioned, and
            # replicates nothing until the role may.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[v for v in (rule.source_bucket.versioning, rule.replica.versioning) if v] + [role_policy],
            ),
        )

    # --- alerts and alarms in the DR region ----------------------------------------------

    def _alerts(self) -> SlackAlerts:
        """The DR region's own topic, dead-letter queue and notifier: alarm actions name a topic of
        their own region, and this one still reaches Slack while the primary region is down."""
        args = self._args
        return SlackAlerts(
            "dr-alerts",
            SlackAlertsArgs(
                naming=args.dr_naming,
                kms_key_arn=self.key.arn,
                webhook_secret_arn=str(args.config.slack_webhook_secret_arn),
                bundle=args.notifier_bundle,
                log_retention_days=args.log_retention_days,
                prefix="dr",
            ),
            opts=self._components_in_dr,
        )

    def _alarms(self, rule: Rule) -> None:
        """Failed operations and latency of one rule, in the DR region, where S3 publishes the replication
        metrics, each to the topic of its region. The failed-operations alarm is declared in the primary
        region too (to its topic): S3's metrics table gives each metric's region, and this one's was not
        confirmed for this change; an alarm where the metric is not published stays OK."""
        args, dr = self._args, self._args.dr_naming
        dimensions = {
            "SourceBucket": rule.source_bucket.name,
            "DestinationBucket": rule.replica.name,
            "RuleId": rule.rule_id,
        }
        failed = ("OperationsFailedReplication", "Sum", 0, "objects failed to replicate")
        latency = ("ReplicationLatency", "Maximum", args.config.latency_alarm_seconds, "replication is late")
        alarms = [("failed", failed, self.alerts.topic.arn, self._in_dr, dr)]
        alarms.append(("latency", latency, self.alerts.topic.arn, self._in_dr, dr))
        if args.primary_alerts_topic_arn is not None:
            home = pulumi.ResourceOptions(parent=self)
            alarms.append(("failed-at-source", failed, args.primary_alerts_topic_arn, home, args.naming))
        for key, (metric, statistic, threshold, text), topic, opts, naming in alarms:
            aws.cloudwatch.MetricAlarm(
                f"{rule.source}-dr-{rule.purpose}-{key}",
                name=naming.name(rule.source, "dr", rule.purpose, "failed" if key == "failed-at-source" else key),
                alarm_description=alarm_description(
                    rule.source, f"{text} ({rule.purpose} into {dr.region}, rule {rule.rule_id})"
                ),
                namespace=REPLICATION_METRICS,
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                period=300,
                evaluation_periods=1,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[topic],
                ok_actions=[topic],
                tags=naming.tags(rule.source),
                opts=opts,
            )

    # --- queryable after a failover ------------------------------------------------------

    def _catalog(self, source: DrSource) -> Catalog:
        """The source's Glue database, change tables and views in the DR region, over the raw-history replica."""
        args = self._args
        [raw] = [rule.replica for rule in self.rules if rule.source == source.name and rule.purpose == "raw"]
        return Catalog(
            f"{source.name}-dr-catalog",
            CatalogArgs(
                naming=args.dr_naming,
                source_name=source.name,
                engine=source.engine,
                raw_history_bucket_name=raw.name,
                tables=source.tables,
                retain_database=args.retain_data,
                layout=source.layout,
            ),
            opts=self._components_in_dr,
        )

    def _analytics(self) -> Analytics:
        args = self._args
        return Analytics(
            "dr-analytics",
            AnalyticsArgs(
                naming=args.dr_naming,
                kms_key_arn=self.key.arn,
                bytes_scanned_cutoff_gb=args.bytes_scanned_cutoff_gb,
                results_expire_days=args.results_expire_days,
            ),
            opts=self._components_in_dr,
        )

    # --- Batch Replication of what existed before ----------------------------------------

    def _reports(self) -> SecureBucket:
        """Where Batch Replication writes its generated manifests and completion reports (primary region)."""
        args = self._args
        return SecureBucket(
            "dr-reports",
            SecureBucketArgs(
                bucket_name=args.naming.bucket("dr", "reports"),
                kms_key_arn=args.primary_key_arn,
                tags={**args.naming.tags(), TAG_PURPOSE: "dr-reports"},
                expire_after_days=BACKFILL_REPORTS_DAYS,
                retain_on_delete=args.retain_data,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _backfill_role(self) -> aws.iam.Role:
        """The role a Batch Replication job runs as (S3 User Guide, "Configuring an IAM role for S3 Batch
        Replication", with an S3-generated manifest): start replication of the source objects, read the
        replication configuration and generate the manifest, read and write manifests and reports."""
        args, naming = self._args, self._args.naming
        role = aws.iam.Role(
            "dr-backfill-role",
            name=naming.name("dr", "backfill"),
            description=f"S3 Batch Replication of CloudBridge {naming.environment} objects older than replication",
            assume_role_policy=iam.trust_policy(S3_BATCH_OPERATIONS),
            permissions_boundary=naming.permissions_boundary_arn,
            tags=naming.tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        sources = [rule.source_bucket.arn for rule in self.rules]
        reports = pulumi.Output.concat(self.reports.arn, "/*")
        aws.iam.RolePolicy(
            "dr-backfill-role-policy",
            role=role.id,
            name="least-privilege",
            policy=iam.document(
                [
                    iam.statement(
                        "InitiateReplication",
                        ["s3:InitiateReplication"],
                        [pulumi.Output.concat(arn, "/*") for arn in sources],
                    ),
                    iam.statement(
                        "GenerateManifests", ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"], sources
                    ),
                    iam.statement("ReadManifests", ["s3:GetObject", "s3:GetObjectVersion"], [reports]),
                    iam.statement("WriteManifestsAndReports", ["s3:PutObject"], [reports]),
                    iam.statement(
                        "ReportsKey",
                        ["kms:Decrypt", "kms:GenerateDataKey"],
                        [args.primary_key_arn],
                        condition=_through_s3(naming.region, [self.reports.arn]),
                    ),
                ]
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role


def _through_s3(region: str, buckets: list[pulumi.Input[str]]) -> dict:
    """KMS conditions: the call comes through S3 of ``region``, for an object of one of ``buckets``
    (the bucket's ARN is the encryption context with S3 Bucket Keys; an object's ARN without)."""
    contexts = [*buckets, *(pulumi.Output.concat(arn, "/*") for arn in buckets)]
    return {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": contexts},
    }


def _time_control(enabled: bool) -> dict:
    """Replication metrics always; with RTC, its 15-minute SLA and the missed-threshold event too."""
    s3 = aws.s3
    minutes = s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(minutes=RTC_MINUTES)
    if not enabled:
        return {"metrics": s3.BucketReplicationConfigRuleDestinationMetricsArgs(status="Enabled")}
    return {
        "metrics": s3.BucketReplicationConfigRuleDestinationMetricsArgs(status="Enabled", event_threshold=minutes),
        "replication_time": s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
            status="Enabled",
            time=s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=RTC_MINUTES),
        ),
    }
