"""ExtractionPipeline: everything one source database needs, from DMS to the catalog."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.catalog import Catalog, CatalogArgs
from components.compaction import Compaction, CompactionArgs, compactable
from components.config import DynamoDbSource, Source
from components.dynamodb_source import DynamoDbCapture, DynamoDbCaptureArgs
from components.function import LambdaFunction, LambdaFunctionArgs
from components.generations import GenerationMarkers, GenerationMarkersArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.packaging import LambdaBundle
from components.replication import Replication, ReplicationArgs, SourceScope
from components.storage import SecureBucket, SecureBucketArgs
from functions.common import layout
from functions.common.metadata import TableMetadata, metadata_key
from functions.common.runtime import ALERT_MARKERS, TAG_PURPOSE, ValidatorEnv

VALIDATOR_TIMEOUT_SECONDS = 300
VALIDATOR_MEMORY_MB = 1024
MAX_RECEIVE_COUNT = 5  # then the event goes to the dead-letter queue
FAIL_RETENTION_DAYS = 90


@dataclass(frozen=True)
class PipelineArgs:
    """Inputs of one source's extraction pipeline."""

    scope: SourceScope
    alerts_topic_arn: pulumi.Input[str]
    alerts_dead_letter_arn: pulumi.Input[str]
    validator_bundle: LambdaBundle
    validator_layers: tuple[str, ...]
    tables: tuple[TableMetadata, ...]
    log_retention_days: int
    retain_data: bool = False
    # The deletion guard of raw-history and metadata: the break-glass role's ARN, or None (off).
    deletion_guard_arn: str | None = None
    # How long superseded versions of raw-history and metadata objects are kept.
    noncurrent_version_days: int = 30
    # What the compaction's queries need in place first: the analytics workgroup and state bucket.
    analytics_resources: tuple[pulumi.Resource, ...] = ()


def compacts(source, tables: tuple[TableMetadata, ...]) -> bool:
    """The source keeps Iceberg state tables: compaction on, and some table has a current-state view."""
    return source.compaction.enabled and bool(compactable(tables))


def file_span_seconds(source: Source | DynamoDbSource) -> int:
    """How long one landed file's changes can span: DMS closes a CDC file after its batch
    interval, the stream converter writes a batch after its batching window."""
    if isinstance(source, DynamoDbSource):
        return source.stream_batching_window_seconds
    return source.cdc_max_batch_interval_seconds


class ExtractionPipeline(pulumi.ComponentResource):
    """Everything one source needs: buckets, replication, validator, catalog, alarms."""

    landing: SecureBucket
    raw_history: SecureBucket
    fail: SecureBucket
    metadata: SecureBucket
    replication: Replication | DynamoDbCapture  # a DynamoDB source's capture takes DMS's place
    queue: aws.sqs.Queue
    dead_letter_queue: aws.sqs.Queue
    validator: LambdaFunction
    generations: GenerationMarkers | None  # None for DynamoDB: its export converter writes the markers
    catalog: Catalog
    compaction: Compaction | None  # None: compaction off, or no table with a current-state view
    monitoring: Monitoring

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:pipeline:ExtractionPipeline", name, None, opts)
        self._prefix, self._args = name, args
        self._tags = args.scope.naming.tags(args.scope.source.name)
        keep = args.retain_data
        # The system of record: guarded against deletion, superseded versions kept for recovery.
        record = dict(
            versioning=True,
            retain_on_delete=keep,
            guard_principal_arn=args.deletion_guard_arn,
            noncurrent_expire_after_days=args.noncurrent_version_days,
        )
        self.landing = self._bucket("landing")  # no versioning: DMS target; holds files only until validated
        self.raw_history = self._bucket("raw", **record)
        self.fail = self._bucket("fail", versioning=True, expire_after_days=FAIL_RETENTION_DAYS, retain_on_delete=keep)
        self.metadata = self._bucket("meta", **record)
        dynamodb = args.scope.source.engine == "dynamodb"
        self.replication = self._dynamodb() if dynamodb else self._replication()
        # landing ObjectCreated:* → SQS (with DLQ) → validator Lambda (partial batch failures)
        self.dead_letter_queue = self._dead_letter_queue()
        self.queue = self._landing_events()
        self.validator = self._validator()
        self._validator_events()
        self.catalog = self._catalog()
        self.compaction = self._compaction() if compacts(args.scope.source, args.tables) else None
        self._publish_metadata()
        self.generations = None if dynamodb else self._generations()
        self.monitoring = self._monitoring()
        self.register_outputs(
            {
                "landing_bucket": self.landing.name,
                "raw_history_bucket": self.raw_history.name,
                "fail_bucket": self.fail.name,
                "metadata_bucket": self.metadata.name,
                "validator_queue_url": self.queue.url,
                "glue_database": self.catalog.database.name,
                "replication_identifier": self.replication.identifier,
            }
        )

    # --- storage and replication ---------------------------------------------------------

    def _bucket(self, purpose: str, **kwargs) -> SecureBucket:
        naming, source = self._args.scope.naming, self._args.scope.source
        return SecureBucket(
            f"{self._prefix}-{purpose}",
            SecureBucketArgs(
                bucket_name=naming.bucket(source.name, purpose),
                kms_key_arn=self._args.scope.kms_key_arn,
                tags={**self._tags, TAG_PURPOSE: purpose},
                **kwargs,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _replication(self) -> Replication:
        args = self._args
        return Replication(
            f"{self._prefix}-replication",
            ReplicationArgs(
                scope=args.scope,
                landing_bucket_name=self.landing.name,
                landing_bucket_arn=self.landing.arn,
                log_retention_days=args.log_retention_days,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _dynamodb(self) -> DynamoDbCapture:
        """A DynamoDB source's exports and streams, into landing (components/dynamodb_source.py)."""
        args = self._args
        return DynamoDbCapture(
            f"{self._prefix}-dynamodb",
            DynamoDbCaptureArgs(
                scope=args.scope,
                landing_bucket_name=self.landing.name,
                landing_bucket_arn=self.landing.arn,
                raw_history_bucket_name=self.raw_history.name,
                raw_history_bucket_arn=self.raw_history.arn,
                metadata_bucket_name=self.metadata.name,
                metadata_bucket_arn=self.metadata.arn,
                alerts_topic_arn=args.alerts_topic_arn,
                layers=args.validator_layers,
                log_retention_days=args.log_retention_days,
                retain_data=args.retain_data,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    # --- landing events to the validator -------------------------------------------------

    def _dead_letter_queue(self) -> aws.sqs.Queue:
        name, args, child = self._prefix, self._args, pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-validator-dlq",
            name=args.scope.naming.name(args.scope.source.name, "validator-dlq"),
            kms_master_key_id=args.scope.kms_key_arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=self._tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-validator-dlq-policy",
            queue_url=queue.url,
            policy=iam.document([iam.deny_insecure_transport("DenyInsecureTransport", ["sqs:*"], [queue.arn])]),
            opts=child,
        )
        return queue

    def _landing_events(self) -> aws.sqs.Queue:
        """The validator's queue, fed by the landing bucket's ObjectCreated events only."""
        name, args, child = self._prefix, self._args, pulumi.ResourceOptions(parent=self)
        naming = args.scope.naming
        queue = aws.sqs.Queue(
            f"{name}-validator-queue",
            name=naming.name(args.scope.source.name, "validator"),
            kms_master_key_id=args.scope.kms_key_arn,
            # AWS guidance for Lambda event sources: at least 6x the function timeout.
            visibility_timeout_seconds=6 * VALIDATOR_TIMEOUT_SECONDS,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
            tags=self._tags,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-validator-queue-policy",
            queue_url=queue.url,
            policy=iam.document(
                [
                    iam.statement(
                        "AllowLandingBucketEvents",
                        ["sqs:SendMessage"],
                        [queue.arn],
                        principal={"Service": "s3.amazonaws.com"},
                        condition={
                            "ArnEquals": {"aws:SourceArn": self.landing.arn},
                            "StringEquals": {"aws:SourceAccount": naming.account_id},
                        },
                    ),
                    iam.deny_insecure_transport("DenyInsecureTransport", ["sqs:*"], [queue.arn]),
                ]
            ),
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-landing-events",
            bucket=self.landing.bucket.id,
            queues=[aws.s3.BucketNotificationQueueArgs(queue_arn=queue.arn, events=["s3:ObjectCreated:*"])],
            # S3 tests the destination when the notification is put.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
        return queue

    # --- the validator -------------------------------------------------------------------

    def _validator(self) -> LambdaFunction:
        args, naming, source = self._args, self._args.scope.naming, self._args.scope.source
        function_name = naming.name(source.name, "validator")
        return LambdaFunction(
            f"{self._prefix}-validator",
            LambdaFunctionArgs(
                function_name=function_name,
                description=f"Validates DMS parquet files of {source.name} and routes them to raw-history or fail",
                bundle=args.validator_bundle,
                handler="functions.validator.handler.handler",
                account_id=naming.account_id,
                kms_key_arn=args.scope.kms_key_arn,
                log_group_name=naming.lambda_log_group(function_name),
                log_retention_days=args.log_retention_days,
                statements=self._validator_statements(),
                environment={
                    ValidatorEnv.ENVIRONMENT: naming.environment,
                    ValidatorEnv.SOURCE: source.name,
                    ValidatorEnv.RAW_HISTORY_BUCKET: self.raw_history.name,
                    ValidatorEnv.FAIL_BUCKET: self.fail.name,
                    ValidatorEnv.METADATA_BUCKET: self.metadata.name,
                    ValidatorEnv.ALERTS_TOPIC_ARN: args.alerts_topic_arn,
                    ValidatorEnv.VALIDATION_MODE: source.validation,
                    ValidatorEnv.GLUE_DATABASE: naming.glue_database(source.name),
                    ValidatorEnv.PARTITION: source.raw_history_partition,
                },
                layers=args.validator_layers,
                timeout_seconds=VALIDATOR_TIMEOUT_SECONDS,
                memory_mb=VALIDATOR_MEMORY_MB,
                tags=self._tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _validator_statements(self) -> list[dict]:
        """What the validator may do: exactly what its calls need (tests/lambdas proves it)."""
        args, naming = self._args, self._args.scope.naming
        glue = f"arn:aws:glue:{naming.region}:{naming.account_id}"
        glue_database = naming.glue_database(args.scope.source.name)
        landing_objects = pulumi.Output.concat(self.landing.arn, "/*")
        raw_objects = pulumi.Output.concat(self.raw_history.arn, "/*")
        fail_objects = pulumi.Output.concat(self.fail.arn, "/*")
        return [
            iam.statement(
                "ConsumeLandingQueue",
                ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                [self.queue.arn],
            ),
            iam.statement("ReadAndRemoveLandingObjects", ["s3:DeleteObject", "s3:GetObject"], [landing_objects]),
            # GetObject: the HEAD that finds an earlier attempt's copy. Copies carry their
            # outcome as tags; a multipart copy (above 64 MiB) is tagged afterwards on its
            # new version in these versioned buckets, which takes PutObjectVersionTagging.
            iam.statement(
                "WriteValidatedObjects",
                ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
                [raw_objects, fail_objects],
            ),
            # An alert marker is removed again when its alert could not be published.
            iam.statement(
                "ReleaseAlertMarkers", ["s3:DeleteObject"], [pulumi.Output.concat(self.fail.arn, f"/{ALERT_MARKERS}*")]
            ),
            # ListBucket turns a missing object into 404 rather than 403 (already moved).
            iam.statement(
                "ListPipelineBuckets",
                ["s3:ListBucket"],
                [self.landing.arn, self.raw_history.arn, self.fail.arn, self.metadata.arn],
            ),
            iam.statement("ReadTableMetadata", ["s3:GetObject"], [pulumi.Output.concat(self.metadata.arn, "/*")]),
            iam.statement("PublishValidationFailures", ["sns:Publish"], [args.alerts_topic_arn]),
            # Each raw-history date partition is registered once, for readers that
            # ignore partition projection (Redshift Spectrum).
            iam.statement(
                "RegisterRawHistoryPartitions",
                ["glue:BatchCreatePartition"],
                [f"{glue}:catalog", f"{glue}:database/{glue_database}", f"{glue}:table/{glue_database}/*"],
            ),
            # SSE-KMS objects and the encrypted topic: read (Decrypt) and write (GenerateDataKey).
            iam.statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [args.scope.kms_key_arn]),
        ]

    def _validator_events(self) -> None:
        aws.lambda_.EventSourceMapping(
            f"{self._prefix}-validator-events",
            event_source_arn=self.queue.arn,
            function_name=self.validator.function.arn,
            batch_size=10,
            maximum_batching_window_in_seconds=5,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=10),
            opts=pulumi.ResourceOptions(parent=self),
        )

    # --- catalog, metadata, monitoring ---------------------------------------------------

    def _catalog(self) -> Catalog:
        args = self._args
        return Catalog(
            f"{self._prefix}-catalog",
            CatalogArgs(
                naming=args.scope.naming,
                source_name=args.scope.source.name,
                engine=args.scope.source.engine,
                raw_history_bucket_name=self.raw_history.name,
                tables=args.tables,
                retain_database=args.retain_data,
                compacted=compacts(args.scope.source, args.tables),
                layout=layout.by_name(args.scope.source.raw_history_partition),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _compaction(self) -> Compaction:
        """The source's Iceberg state tables and their scheduled runs (docs/analytics.md, "Compaction")."""
        args, source = self._args, self._args.scope.source
        return Compaction(
            f"{self._prefix}-compaction",
            CompactionArgs(
                naming=args.scope.naming,
                source_name=source.name,
                config=source.compaction,
                # A CDC-only replication (cdcStart) loads nothing: no generation marker to wait for.
                cdc_only=getattr(source, "cdc_start", None) is not None,
                tables=args.tables,
                kms_key_arn=args.scope.kms_key_arn,
                raw_history_bucket_arn=self.raw_history.arn,
                layout=layout.by_name(source.raw_history_partition),
                file_span_seconds=file_span_seconds(source),
            ),
            # The first run's CREATE TABLE and view update need the database, its tables and views.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.catalog, *args.analytics_resources]),
        )

    def _publish_metadata(self) -> None:
        """The validator reads each table's metadata from here (functions/validator)."""
        args = self._args
        for meta in args.tables:
            aws.s3.BucketObjectv2(
                f"{self._prefix}-metadata-{meta.schema}-{meta.table}",
                bucket=self.metadata.name,
                key=metadata_key(meta.schema, meta.table),
                content=meta.to_json(),
                content_type="application/json",
                server_side_encryption="aws:kms",
                kms_key_id=args.scope.kms_key_arn,
                tags=self._tags,
                # Under the deletion guard no version may be deleted: a table's metadata stays when the
                # table leaves the config (the validator reads only what DMS writes).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.deletion_guard_arn is not None),
            )

    def _generations(self) -> GenerationMarkers:
        """The scheduled writer of this source's load-generation markers (docs/analytics.md)."""
        args = self._args
        return GenerationMarkers(
            f"{self._prefix}-generations",
            GenerationMarkersArgs(
                scope=args.scope,
                statistics_arns=self.replication.statistics_arns,
                raw_history_bucket_name=self.raw_history.name,
                raw_history_bucket_arn=self.raw_history.arn,
                metadata_bucket_name=self.metadata.name,
                metadata_bucket_arn=self.metadata.arn,
                layers=args.validator_layers,
                log_retention_days=args.log_retention_days,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _monitoring(self) -> Monitoring:
        args = self._args
        return Monitoring(
            f"{self._prefix}-monitoring",
            MonitoringArgs(
                naming=args.scope.naming,
                source=args.scope.source,
                topic_arn=args.alerts_topic_arn,
                events_dead_letter_arn=args.alerts_dead_letter_arn,
                replication_identifiers=self.replication.identifiers,
                replication_arns=self.replication.arns,
                validator_function_name=self.validator.function.name,
                validator_dead_letter_queue_name=self.dead_letter_queue.name,
                generations_function_name=self.generations.function.function.name if self.generations else None,
                compaction_state_machine_arn=self.compaction.state_machine.arn if self.compaction else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
