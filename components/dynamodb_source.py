"""DynamoDbCapture: a DynamoDB source's full loads and changes, landed as DMS-shaped parquet.

In a DynamoDB source's pipeline it takes the place of the DMS replication (docs/dynamodb.md):

* per table, read by name (``aws.dynamodb.getTable``; the deploy refuses a table without point-in-time
  recovery or a NEW_AND_OLD_IMAGES stream), an **event source mapping** from its stream to the stream
  converter (``functions/dynamodb_stream``): from the trim horizon, batches of ``streamBatchSize``,
  bisected on a function error, partial batch failures reported, ``streamMaximumRetryAttempts`` and
  ``streamMaximumRecordAgeSeconds``, and an SQS **on-failure destination** for what it gives up on;
* per table, once the mapping exists, a full **export** (``aws.dynamodb.TableExport``:
  ExportTableToPointInTime, DYNAMODB_JSON, SSE-KMS) into the source's export bucket, whose
  ``manifest-summary.json`` invokes the export converter (``functions/dynamodb_export``): LOAD files
  into landing, then the generation marker in raw history;
* the alarms of both: the stream's IteratorAge, the on-failure queue's depth, converter errors.

Everything after landing is the pipeline's: validator, raw history, catalog, views, alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.config import DynamoDbSource
from components.function import LambdaFunction, LambdaFunctionArgs
from components.monitoring import above_zero, queue_not_empty
from components.packaging import POWERTOOLS, build_bundle
from components.replication import SourceScope
from components.storage import SecureBucket, SecureBucketArgs
from functions.common import dynamodb as ddb
from functions.common.dynamodb_env import DynamoDbEnv
from functions.common.runtime import TAG_PURPOSE, alarm_description

STREAM_TIMEOUT_SECONDS = 300
STREAM_MEMORY_MB = 1024
EXPORT_ROLE = "dynamodb-export"  # the export converter: its function name, and the ARN its role may invoke
EXPORT_TIMEOUT_SECONDS = 900  # the most Lambda allows: a large table's LOAD files, then the validator's wait
EXPORT_MEMORY_MB = 3008
EXPORT_RETENTION_DAYS = 7  # the export's own files, once converted
ON_FAILURE_RETENTION_SECONDS = 14 * 24 * 3600
VIEW_TYPE = "NEW_AND_OLD_IMAGES"
EXPORT_FORMAT = "DYNAMODB_JSON"  # what the export converter reads


@dataclass(frozen=True)
class DynamoDbCaptureArgs:
    """Inputs of one DynamoDB source's capture."""

    scope: SourceScope
    landing_bucket_name: pulumi.Input[str]
    landing_bucket_arn: pulumi.Input[str]
    raw_history_bucket_name: pulumi.Input[str]
    raw_history_bucket_arn: pulumi.Input[str]
    metadata_bucket_name: pulumi.Input[str]
    metadata_bucket_arn: pulumi.Input[str]
    alerts_topic_arn: pulumi.Input[str]
    layers: Sequence[str]
    log_retention_days: int
    retain_data: bool = False


def table_arn(scope: SourceScope, table: str) -> str:
    """A DynamoDB table's ARN in the stack's account and region."""
    return f"arn:aws:dynamodb:{scope.naming.region}:{scope.naming.account_id}:table/{table}"


def checked_stream(table: str, described: aws.dynamodb.AwaitableGetTableResult) -> str:
    """The table's stream ARN, after the prerequisites the capture relies on (ValueError naming the fix)."""
    problems = []
    if not described.stream_enabled or not described.stream_arn:
        problems.append(f"no stream: enable one with StreamViewType {VIEW_TYPE}")
    elif described.stream_view_type != VIEW_TYPE:
        problems.append(f"its stream is {described.stream_view_type}: the converter needs {VIEW_TYPE}")
    pitr = described.point_in_time_recovery
    if not (pitr and pitr.enabled):
        problems.append("point-in-time recovery is off: ExportTableToPointInTime needs it")
    if problems:
        raise ValueError(f"DynamoDB table {table}: " + "; ".join(problems) + " (docs/dynamodb.md, 'Prerequisites')")
    return described.stream_arn


def export_completed(table: str, status: str | None) -> str | None:
    """The export's status, once it is not FAILED (ValueError naming the fix)."""
    if status == "FAILED":
        raise ValueError(
            f"the export of DynamoDB table {table} FAILED (see DescribeExport's FailureMessage): no load generation; "
            "re-anchor it with pulumi up --replace on its TableExport (docs/dynamodb.md, 'Re-anchoring a table')"
        )
    return status


class DynamoDbCapture(pulumi.ComponentResource):
    """A DynamoDB source's stream mappings, exports, converters, on-failure queue and alarms."""

    export_bucket: SecureBucket
    failures: aws.sqs.Queue
    stream_converter: LambdaFunction
    export_converter: LambdaFunction
    mappings: dict[str, aws.lambda_.EventSourceMapping]
    exports: dict[str, aws.dynamodb.TableExport]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    # Where the pipeline expects a replication's: a DynamoDB source has none.
    identifier: str | None = None
    identifiers: list[str] = []
    arns: list[str] = []
    statistics_arns: list[str] = []

    def __init__(self, name: str, args: DynamoDbCaptureArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:pipeline:DynamoDbCapture", name, None, opts)
        self._prefix, self._args = name, args
        self._source: DynamoDbSource = args.scope.source  # type: ignore[assignment]
        self._tags = args.scope.naming.tags(self._source.name)
        self.export_bucket = self._export_bucket()
        self.failures = self._failure_queue()
        streams = {table: self._stream_arn(table) for table in self._source.tables}
        self.stream_converter = self._stream_converter(list(streams.values()))
        self.export_converter = self._export_converter()
        notification = self._export_notification()
        self.mappings = {t: self._mapping(t, arn) for t, arn in streams.items()} if self._source.cdc else {}
        self.exports = {t: self._export(t, notification) for t in self._source.tables}
        self.alarms = {}
        self._alarms()
        self.register_outputs(
            {
                # The provider's wait ends at COMPLETED or FAILED alike (table_export.go,
                # waitTableExportCreated): a failed export must fail the deploy instead.
                "exports": {
                    t: e.export_status.apply(lambda s, t=t: export_completed(t, s)) for t, e in self.exports.items()
                },
                "export_bucket": self.export_bucket.name,
                "on_failure_queue": self.failures.url,
                "stream_converter": self.stream_converter.function.name,
                "export_converter": self.export_converter.function.name,
            }
        )

    # --- buckets, queue, tables ------------------------------------------------------------

    def _export_bucket(self) -> SecureBucket:
        naming = self._args.scope.naming
        return SecureBucket(
            f"{self._prefix}-export",
            SecureBucketArgs(
                bucket_name=naming.bucket(self._source.name, "export"),
                kms_key_arn=self._args.scope.kms_key_arn,
                tags={**self._tags, TAG_PURPOSE: "export"},
                expire_after_days=EXPORT_RETENTION_DAYS,  # converted within minutes; a new export re-anchors
                retain_on_delete=False,  # nothing here that raw history does not hold once converted
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _failure_queue(self) -> aws.sqs.Queue:
        """The stream mappings' on-failure destination and the export converter's dead-letter queue:
        each message describes records (or an export) that did not land — lost unless acted on."""
        naming, child = self._args.scope.naming, pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{self._prefix}-failure-queue",
            name=naming.name(self._source.name, "dynamodb-failures"),
            kms_master_key_id=self._args.scope.kms_key_arn,
            message_retention_seconds=ON_FAILURE_RETENTION_SECONDS,
            tags=self._tags,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{self._prefix}-failure-queue-policy",
            queue_url=queue.url,
            policy=iam.document([iam.deny_insecure_transport("DenyInsecureTransport", ["sqs:*"], [queue.arn])]),
            opts=child,
        )
        return queue

    def _stream_arn(self, table: str) -> pulumi.Output[str]:
        """The table's latest stream, read at deploy time, once its prerequisites hold."""
        described = aws.dynamodb.get_table_output(name=table, opts=pulumi.InvokeOptions(parent=self))
        return described.apply(lambda d: checked_stream(table, d))

    # --- the converters ----------------------------------------------------------------------

    def _function(self, role: str, description: str, **kwargs) -> LambdaFunction:
        naming, args = self._args.scope.naming, self._args
        function_name = naming.name(self._source.name, role)
        return LambdaFunction(
            f"{self._prefix}-{role.removeprefix('dynamodb-')}-converter",
            LambdaFunctionArgs(
                function_name=function_name,
                description=description,
                account_id=naming.account_id,
                kms_key_arn=args.scope.kms_key_arn,
                log_group_name=naming.lambda_log_group(function_name),
                log_retention_days=args.log_retention_days,
                layers=args.layers,  # pyarrow, as the validator's
                tags=self._tags,
                **kwargs,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _environment(self) -> dict[str, pulumi.Input[str]]:
        naming, args = self._args.scope.naming, self._args
        return {
            DynamoDbEnv.ENVIRONMENT: naming.environment,
            DynamoDbEnv.SOURCE: self._source.name,
            DynamoDbEnv.LANDING_BUCKET: args.landing_bucket_name,
            DynamoDbEnv.METADATA_BUCKET: args.metadata_bucket_name,
            DynamoDbEnv.PARTITION: self._source.raw_history_partition,
        }

    def _stream_converter(self, stream_arns: list[pulumi.Output[str]]) -> LambdaFunction:
        return self._function(
            "dynamodb-stream",
            f"Writes the DynamoDB stream batches of {self._source.name} as parquet into landing",
            bundle=build_bundle("dynamodb_stream", ("common", "validator", "dynamodb_stream"), vendored=POWERTOOLS),
            handler="functions.dynamodb_stream.handler.handler",
            statements=self._stream_statements(stream_arns),
            environment=self._environment(),
            timeout_seconds=STREAM_TIMEOUT_SECONDS,
            memory_mb=STREAM_MEMORY_MB,
        )

    def _stream_statements(self, stream_arns: list[pulumi.Output[str]]) -> list[dict]:
        """What the mapping's polling (the function's role) and the converter's calls need
        (tests/lambdas/test_dynamodb_least_privilege.py proves it)."""
        args = self._args
        streams = [pulumi.Output.concat(table_arn(args.scope, t), "/stream/*") for t in self._source.tables]
        return [
            # The event source mapping reads the streams with the function's role (Lambda guide,
            # "Execution role permissions" for DynamoDB); ListStreams takes no resource.
            iam.statement(
                "ReadTableStreams",
                ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                streams,
            ),
            iam.statement(
                "ListTableStreams",
                ["dynamodb:ListStreams"],
                ["*"],  # IAM has no resource for ListStreams: narrowed to the stack's region
                condition={"StringEquals": {"aws:RequestedRegion": args.scope.naming.region}},
            ),
            iam.statement(
                "WriteLandingFiles",
                ["s3:PutObject"],
                [pulumi.Output.concat(args.landing_bucket_arn, f"/{ddb.SCHEMA}/*")],
            ),
            *self._metadata_statements(),
            # The mapping sends what it gives up on to the on-failure queue with the function's role.
            iam.statement("SendToOnFailureQueue", ["sqs:SendMessage"], [self.failures.arn]),
            iam.statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [args.scope.kms_key_arn]),
        ]

    def _metadata_statements(self) -> list[dict]:
        args = self._args
        return [
            iam.statement(
                "ReadTableMetadata", ["s3:GetObject"], [pulumi.Output.concat(args.metadata_bucket_arn, "/*")]
            ),
            # A table without metadata answers 404 (its files then land undeclared), not 403.
            iam.statement("ListMetadataBucket", ["s3:ListBucket"], [args.metadata_bucket_arn]),
        ]

    def _export_converter(self) -> LambdaFunction:
        args = self._args
        return self._function(
            EXPORT_ROLE,
            f"Writes the DynamoDB table exports of {self._source.name} as LOAD files, then their generation markers",
            bundle=build_bundle("dynamodb_export", ("common", "validator", "dynamodb_export"), vendored=POWERTOOLS),
            handler="functions.dynamodb_export.handler.handler",
            statements=self._export_statements(),
            environment={
                **self._environment(),
                DynamoDbEnv.EXPORT_BUCKET: self.export_bucket.name,
                DynamoDbEnv.RAW_HISTORY_BUCKET: args.raw_history_bucket_name,
                DynamoDbEnv.GLUE_DATABASE: args.scope.naming.glue_database(self._source.name),
            },
            timeout_seconds=EXPORT_TIMEOUT_SECONDS,
            memory_mb=EXPORT_MEMORY_MB,
            dead_letter_queue_arn=self.failures.arn,  # after Lambda's two retries of the S3 event
        )

    def _export_statements(self) -> list[dict]:
        args, naming = self._args, self._args.scope.naming
        glue = f"arn:aws:glue:{naming.region}:{naming.account_id}"
        database = naming.glue_database(self._source.name)
        landing = pulumi.Output.concat(args.landing_bucket_arn, f"/{ddb.SCHEMA}/*")
        return [
            iam.statement("ReadExports", ["s3:GetObject"], [pulumi.Output.concat(self.export_bucket.arn, "/*")]),
            # GetObject is the HEAD that sees a LOAD file still in landing; ListBucket makes a
            # validated one (gone) answer 404 rather than 403.
            iam.statement("WriteAndWatchLoadFiles", ["s3:GetObject", "s3:PutObject"], [landing]),
            iam.statement("ListLanding", ["s3:ListBucket"], [args.landing_bucket_arn]),
            *self._metadata_statements(),
            # Markers (dynamodb/<table>/<day>/GENERATION-…) are put only if absent (If-None-Match):
            # no read of raw history needed.
            iam.statement(
                "WriteGenerationMarkers",
                ["s3:PutObject"],
                [pulumi.Output.concat(args.raw_history_bucket_arn, f"/{ddb.SCHEMA}/*")],
            ),
            iam.statement(
                "RegisterMarkerPartitions",
                ["glue:BatchCreatePartition"],
                [f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/*"],
            ),
            # An export too large for one invocation goes on in the next: the function invokes itself.
            iam.statement(
                "ContinueLargeExports",
                ["lambda:InvokeFunction"],
                [f"arn:aws:lambda:{naming.region}:{naming.account_id}:function:{self._export_function_name}"],
            ),
            # The Lambda service puts failed invocations on the dead-letter queue with this role.
            iam.statement("SendToDeadLetterQueue", ["sqs:SendMessage"], [self.failures.arn]),
            iam.statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [args.scope.kms_key_arn]),
        ]

    @property
    def _export_function_name(self) -> str:
        return self._args.scope.naming.name(self._source.name, EXPORT_ROLE)

    # --- wiring --------------------------------------------------------------------------------

    def _export_notification(self) -> aws.s3.BucketNotification:
        """The export bucket's summary manifests invoke the export converter (asynchronously)."""
        child = pulumi.ResourceOptions(parent=self)
        permission = aws.lambda_.Permission(
            f"{self._prefix}-export-invoke",
            action="lambda:InvokeFunction",
            function=self.export_converter.function.name,
            principal="s3.amazonaws.com",
            source_arn=self.export_bucket.arn,
            source_account=self._args.scope.naming.account_id,
            opts=child,
        )
        return aws.s3.BucketNotification(
            f"{self._prefix}-export-events",
            bucket=self.export_bucket.bucket.id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=self.export_converter.function.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_suffix="manifest-summary.json",
                )
            ],
            # S3 tests the destination when the notification is put.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )

    def _mapping(self, table: str, stream_arn: pulumi.Output[str]) -> aws.lambda_.EventSourceMapping:
        source = self._source
        return aws.lambda_.EventSourceMapping(
            f"{self._prefix}-{ddb.lake_table(table)}-stream",
            event_source_arn=stream_arn,
            function_name=self.stream_converter.function.arn,
            # Everything the stream still holds (24 hours): the export that follows starts later.
            starting_position="TRIM_HORIZON",
            batch_size=source.stream_batch_size,
            maximum_batching_window_in_seconds=source.stream_batching_window_seconds,
            parallelization_factor=1,  # one batch per shard at a time: the shard's order, end to end
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            maximum_retry_attempts=source.stream_maximum_retry_attempts,
            maximum_record_age_in_seconds=source.stream_maximum_record_age_seconds,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.failures.arn
                )
            ),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _export(self, table: str, notification: aws.s3.BucketNotification) -> aws.dynamodb.TableExport:
        """A full export of the table, started once its stream is mapped (so the stream holds every
        change after the export time) and the converter is listening. Replacing it re-anchors the
        table: a new export, a new load generation (docs/dynamodb.md, 'Re-anchoring a table')."""
        after = [notification, *([self.mappings[table]] if table in self.mappings else [])]
        minutes = self._source.export_timeout_minutes
        return aws.dynamodb.TableExport(
            f"{self._prefix}-{ddb.lake_table(table)}-export",
            table_arn=table_arn(self._args.scope, table),
            s3_bucket=self.export_bucket.name,
            s3_prefix=ddb.lake_table(table),
            export_format=EXPORT_FORMAT,
            export_type="FULL_EXPORT",
            s3_sse_algorithm="KMS",
            s3_sse_kms_key_id=self._args.scope.kms_key_arn,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=after, custom_timeouts=pulumi.CustomTimeouts(create=f"{minutes}m")
            ),
        )

    # --- alarms --------------------------------------------------------------------------------

    def _alarm(self, key: str, description: str, **kwargs) -> None:
        naming, topic = self._args.scope.naming, self._args.alerts_topic_arn
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._prefix}-{key.removeprefix('dynamodb-')}",
            name=naming.name(self._source.name, key),
            alarm_description=alarm_description(self._source.name, description),
            alarm_actions=[topic],
            ok_actions=[topic],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
            **kwargs,
        )

    def _alarms(self) -> None:
        source, stream = self._source, {"FunctionName": self.stream_converter.function.name}
        if source.cdc:
            self._alarm(
                "stream-iterator-age",
                f"the DynamoDB stream converter is more than {source.iterator_age_alarm_seconds} s behind its streams "
                "(IteratorAge): records older than 24 hours are trimmed from a stream, i.e. lost",
                namespace="AWS/Lambda",
                metric_name="IteratorAge",
                dimensions=stream,
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                comparison_operator="GreaterThanThreshold",
                threshold=source.iterator_age_alarm_seconds * 1000,  # the metric is in milliseconds
                treat_missing_data="notBreaching",  # no records, no batches: nothing behind
            )
            self._alarm(
                "stream-errors",
                "the DynamoDB stream converter failed batches (retried from the failed record)",
                **above_zero("AWS/Lambda", "Errors", stream, "Sum"),
            )
        self._alarm(
            "dynamodb-failures",
            "records or exports of the DynamoDB source did not land: the on-failure queue describes them "
            "(records: re-anchor the table with a new export, docs/dynamodb.md)",
            **queue_not_empty(self.failures.name),
        )
        self._alarm(
            "export-errors",
            "the DynamoDB export converter failed (the export's LOAD files or its marker are missing: the views keep "
            "the previous generation)",
            **above_zero("AWS/Lambda", "Errors", {"FunctionName": self.export_converter.function.name}, "Sum"),
        )
