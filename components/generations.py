"""GenerationMarkers: one source's scheduled writer of load-generation markers.

DMS's table statistics say when each table's full load (or reload) completed; the
current-state views use a load only once its marker is in raw history (docs/analytics.md).
An EventBridge schedule invokes a small Lambda (functions/generation_marker) that reads
the statistics of this source's replication only and writes the missing markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.function import LambdaFunction, LambdaFunctionArgs
from components.packaging import POWERTOOLS, build_bundle
from components.replication import SourceScope
from functions.common.runtime import GenerationsEnv

SCHEDULE = "rate(5 minutes)"
TIMEOUT_SECONDS = 120
MEMORY_MB = 512  # pyarrow builds the marker files


@dataclass(frozen=True)
class GenerationMarkersArgs:
    """Inputs of one source's marker writer."""

    scope: SourceScope
    # The replication task's ARN (instance mode), or each replication config's (serverless:
    # one per table set).
    statistics_arns: Sequence[str]
    raw_history_bucket_name: pulumi.Input[str]
    raw_history_bucket_arn: pulumi.Input[str]
    metadata_bucket_name: pulumi.Input[str]
    metadata_bucket_arn: pulumi.Input[str]
    layers: Sequence[str]
    log_retention_days: int


class GenerationMarkers(pulumi.ComponentResource):
    """The marker writer Lambda of one source and the schedule that invokes it."""

    function: LambdaFunction
    schedule: aws.cloudwatch.EventRule

    def __init__(self, name: str, args: GenerationMarkersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:pipeline:GenerationMarkers", name, None, opts)
        self._prefix, self._args = name, args
        self._tags = args.scope.naming.tags(args.scope.source.name)
        self.function = self._function()
        self.schedule = self._schedule()
        self.register_outputs(
            {"function_name": self.function.function.name, "statistics_arns": list(args.statistics_arns)}
        )

    @property
    def serverless(self) -> bool:
        """Whether the statistics come from a serverless replication config."""
        return ":replication-config:" in self._args.statistics_arns[0]

    def _function(self) -> LambdaFunction:
        args, naming, source = self._args, self._args.scope.naming, self._args.scope.source
        function_name = naming.name(source.name, "generations")
        return LambdaFunction(
            self._prefix,
            LambdaFunctionArgs(
                function_name=function_name,
                description=f"Writes the load-generation markers of {source.name} from DMS's table statistics",
                bundle=build_bundle(
                    "generation_marker", ("common", "validator", "generation_marker"), vendored=POWERTOOLS
                ),
                handler="functions.generation_marker.handler.handler",
                account_id=naming.account_id,
                kms_key_arn=args.scope.kms_key_arn,
                log_group_name=naming.lambda_log_group(function_name),
                log_retention_days=args.log_retention_days,
                statements=self._statements(),
                environment={
                    GenerationsEnv.ENVIRONMENT: naming.environment,
                    GenerationsEnv.SOURCE: source.name,
                    GenerationsEnv.RAW_HISTORY_BUCKET: args.raw_history_bucket_name,
                    GenerationsEnv.METADATA_BUCKET: args.metadata_bucket_name,
                    GenerationsEnv.GLUE_DATABASE: naming.glue_database(source.name),
                    GenerationsEnv.PARTITION: source.raw_history_partition,
                    GenerationsEnv.STATISTICS_ARN: ",".join(args.statistics_arns),
                },
                layers=args.layers,  # pyarrow, as the validator's
                timeout_seconds=TIMEOUT_SECONDS,
                memory_mb=MEMORY_MB,
                # No dead-letter queue or on-failure destination: the input is a schedule
                # tick that carries nothing, so a failed invocation loses nothing the next
                # tick does not redo. Failures are seen through the Errors alarm
                # (components/monitoring.py), not through parked events.
                tags=self._tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _statements(self) -> list[dict]:
        """Exactly what the poll's calls need (tests/lambdas/test_least_privilege.py proves it)."""
        args, naming = self._args, self._args.scope.naming
        glue = f"arn:aws:glue:{naming.region}:{naming.account_id}"
        database = naming.glue_database(args.scope.source.name)
        action = "dms:DescribeReplicationTableStatistics" if self.serverless else "dms:DescribeTableStatistics"
        return [
            # Resource-level: this source's replication configs or task only.
            iam.statement("ReadTableStatistics", [action], list(args.statistics_arns)),
            iam.statement(
                "ReadTableMetadata", ["s3:GetObject"], [pulumi.Output.concat(args.metadata_bucket_arn, "/*")]
            ),
            # A missing metadata object answers 404 (unknown table), not 403.
            iam.statement("ListMetadataBucket", ["s3:ListBucket"], [args.metadata_bucket_arn]),
            # Markers are put only if absent (If-None-Match): no read of raw history needed.
            iam.statement(
                "WriteGenerationMarkers", ["s3:PutObject"], [pulumi.Output.concat(args.raw_history_bucket_arn, "/*")]
            ),
            iam.statement(
                "RegisterMarkerPartitions",
                ["glue:BatchCreatePartition"],
                [f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/*"],
            ),
            # SSE-KMS: metadata read (Decrypt), markers written (GenerateDataKey).
            iam.statement("UseDataKey", ["kms:Decrypt", "kms:GenerateDataKey"], [args.scope.kms_key_arn]),
        ]

    def _schedule(self) -> aws.cloudwatch.EventRule:
        naming, source = self._args.scope.naming, self._args.scope.source
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{self._prefix}-schedule",
            name=naming.name(source.name, "generations"),
            description=f"Polls DMS's table statistics of {source.name} for completed loads",
            schedule_expression=SCHEDULE,
            tags=self._tags,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{self._prefix}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._prefix}-target",
            rule=rule.name,
            arn=self.function.function.arn,
            # A tick not delivered within a period is superseded by the next one.
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=300, maximum_retry_attempts=2
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        return rule
