"""Monitoring: per-source DMS event rules and CloudWatch alarms, all to the alerts topic.

Alarm descriptions start with the source they belong to (``runtime.alarm_description``)
so that the Slack notifier can name the source without any lookup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import Serverless, Source
from components.naming import Naming
from functions.common import observability as obs
from functions.common.runtime import alarm_description

# Dimensions DMS publishes its replication metrics under, per replication mode. The
# serverless dimension is not confirmed by AWS's documentation: the lag alarm therefore
# treats missing data as breaching, and serverless state changes also arrive as events.
DMS_SERVERLESS_DIMENSION = "ReplicationConfigIdentifier"


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of one source's alarms and DMS event rule."""

    naming: Naming
    source: Source
    topic_arn: pulumi.Input[str]
    events_dead_letter_arn: pulumi.Input[str]
    # The DMS identifier of each replication of the source (serverless: one per table set).
    replication_identifiers: list[str]
    replication_arns: list[pulumi.Input[str]]
    validator_function_name: pulumi.Input[str]
    validator_dead_letter_queue_name: pulumi.Input[str]
    # The generation-marker writer (None for a DynamoDB source: its export converter writes the markers).
    generations_function_name: pulumi.Input[str] | None
    # The compaction's state machine (None: the source does not compact).
    compaction_state_machine_arn: pulumi.Input[str] | None = None


class Monitoring(pulumi.ComponentResource):
    """One source's DMS event rule and CloudWatch alarms, all to the alerts topic."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dms_events: aws.cloudwatch.EventRule | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:monitoring:Monitoring", name, None, opts)
        self._prefix, self._args = name, args
        self.alarms = {}
        self.dms_events = self._dms_events() if args.replication_arns else None  # a DynamoDB source has no DMS
        if args.source.cdc:
            self._cdc_lag_alarm()
            self._freshness_alarm()
        self._validator_alarms()
        if args.generations_function_name is not None:
            self._generations_alarm()
        if args.compaction_state_machine_arn is not None:
            self._compaction_alarm()
        if args.source.engine == "postgres":
            self._source_disk_alarms()
        self.register_outputs({"alarms": {k: a.name for k, a in self.alarms.items()}})

    def _alarm(self, key: str, description: str, **kwargs) -> None:
        """One alarm on the alerts topic, named and tagged for its source."""
        naming, source = self._args.naming, self._args.source
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._prefix}-{key}",
            name=naming.name(source.name, key),
            alarm_description=alarm_description(source.name, description),
            alarm_actions=[self._args.topic_arn],
            ok_actions=[self._args.topic_arn],
            tags=naming.tags(source.name),
            opts=pulumi.ResourceOptions(parent=self),
            **kwargs,
        )

    def _dms_events(self) -> aws.cloudwatch.EventRule:
        """DMS events of this replication to the alerts topic (undeliverable: the dead-letter queue)."""
        name, args = self._prefix, self._args
        naming, source = args.naming, args.source
        tags = naming.tags(source.name)
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{name}-dms-events",
            name=naming.name(source.name, "dms-events"),
            description=f"DMS task, replication and instance events of {source.name}",
            event_pattern=pulumi.Output.json_dumps({"source": ["aws.dms"], "resources": args.replication_arns}),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-dms-events-to-alerts",
            rule=rule.name,
            arn=args.topic_arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=86400, maximum_retry_attempts=185
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=args.events_dead_letter_arn),
            opts=child,
        )
        return rule

    def _cdc_lag_alarm(self) -> None:
        """One alarm per replication: cdc-lag for ``tables``, cdc-lag-set<n> for each added set."""
        for table_set, identifier in enumerate(self._args.replication_identifiers):
            self._cdc_lag_alarm_of(identifier, "cdc-lag" if table_set == 0 else f"cdc-lag-set{table_set + 1}")

    def _cdc_lag_alarm_of(self, identifier: str, key: str) -> None:
        source = self._args.source
        self._alarm(
            key,
            f"DMS CDC lag of {identifier} (source + target latency) above {source.cdc_lag_alarm_seconds} s for "
            "5 minutes, or no lag reported at all (replication stopped, or not publishing under this dimension)",
            comparison_operator="GreaterThanThreshold",
            threshold=source.cdc_lag_alarm_seconds,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            # A stopped replication publishes nothing: silence must alarm, not hide.
            treat_missing_data="breaching",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="lag", expression="source + target", label="CDC lag (s)", return_data=True
                ),
                *metric_inputs(
                    "AWS/DMS",
                    dms_dimensions(source, identifier),
                    {"source": "CDCLatencySource", "target": "CDCLatencyTarget"},
                    period=60,
                    stat="Maximum",
                ),
            ],
        )

    def _freshness_alarm(self) -> None:
        naming, source = self._args.naming, self._args.source
        period = 3600 if source.freshness_alarm_minutes >= 60 else 900
        self._alarm(
            "freshness",
            f"no file of {source.name} passed validation for {source.freshness_alarm_minutes} minutes",
            namespace=obs.VALIDATOR_METRICS_NAMESPACE,
            metric_name=obs.FILES_PASSED,
            dimensions={"Environment": naming.environment, "Source": source.name},
            statistic="Sum",
            period=period,
            evaluation_periods=math.ceil(source.freshness_alarm_minutes * 60 / period),
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",  # no invocation publishes nothing at all
        )

    def _validator_alarms(self) -> None:
        args = self._args
        lambda_dims = {"FunctionName": args.validator_function_name}
        self._alarm(
            "validator-errors",
            "the validator Lambda raised errors (files stay in landing and are retried)",
            **above_zero("AWS/Lambda", "Errors", lambda_dims, "Sum"),
        )
        self._alarm(
            "validator-throttles",
            "the validator Lambda is throttled",
            **above_zero("AWS/Lambda", "Throttles", lambda_dims, "Sum"),
        )
        self._alarm(
            "validator-dlq",
            "the validator's dead-letter queue holds events that could not be processed",
            **queue_not_empty(args.validator_dead_letter_queue_name),
        )

    def _generations_alarm(self) -> None:
        """The marker writer failed: reloads stay invisible in the current-state views until it succeeds."""
        self._alarm(
            "generations-errors",
            "the generation-marker writer raised errors (DMS refused the statistics, or a marker could not "
            "be written): a completed load stays invisible in the current-state views until it succeeds",
            **above_zero("AWS/Lambda", "Errors", {"FunctionName": self._args.generations_function_name}, "Sum"),
        )

    def _compaction_alarm(self) -> None:
        """A failed compaction run: the views keep their last watermark (right, but reading more) until
        a run succeeds; a rebuild cut off by the workgroup's scan limit fails every run until raised."""
        self._alarm(
            "compaction-failed",
            "a compaction run of the Iceberg state tables failed or timed out (the current-state views stay "
            "right but read more each hour; see the execution in Step Functions)",
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    # A sum of series keeps only the timestamps all of them have: fill the gaps first.
                    id="ended_badly",
                    expression="FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)",
                    label="runs ended badly",
                    return_data=True,
                ),
                *metric_inputs(
                    "AWS/States",
                    {"StateMachineArn": self._args.compaction_state_machine_arn},
                    {"failed": "ExecutionsFailed", "timedout": "ExecutionsTimedOut", "aborted": "ExecutionsAborted"},
                    period=300,
                    stat="Sum",
                ),
            ],
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",  # no run in the period publishes nothing
        )

    def _source_disk_alarms(self) -> None:
        """A slot that does not advance keeps WAL until the source's disk is full: watch the slot, the
        transaction logs and (RDS instances; Aurora's volume grows on its own) the free storage."""
        source = self._args.source
        if source.rds_instance_identifier:
            self._slot_lag_alarm()
        if dimensions := transaction_logs_dimensions(source):
            self._transaction_logs_alarm(dimensions)
        if source.rds_instance_identifier and not source.is_aurora:
            self._free_storage_alarm()

    def _transaction_logs_alarm(self, dimensions: dict[str, str]) -> None:
        source = self._args.source
        where = " ".join(f"{k}={v}" for k, v in dimensions.items())
        self._alarm(
            "transaction-logs",
            f"transaction logs (WAL) on {where} take more than {source.transaction_logs_alarm_mb} MB of disk "
            "(a replication slot that does not advance keeps them), or no TransactionLogsDiskUsage is reported "
            "(wrong identifier, or the database is gone)",
            namespace="AWS/RDS",
            metric_name="TransactionLogsDiskUsage",
            dimensions=dimensions,
            statistic="Maximum",
            period=300,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=source.transaction_logs_alarm_mb * 1024 * 1024,  # the metric is in bytes
            # Aurora reports -1 while it keeps no transaction logs: below any threshold, never alarms.
            treat_missing_data="breaching",  # a wrong identifier or a deleted source must not look healthy
        )

    def _free_storage_alarm(self) -> None:
        source = self._args.source
        self._alarm(
            "free-storage",
            f"free storage of DB instance {source.rds_instance_identifier} below {source.free_storage_alarm_mb} MB, "
            "or no FreeStorageSpace reported (wrong identifier, or the instance is gone)",
            namespace="AWS/RDS",
            metric_name="FreeStorageSpace",
            dimensions={"DBInstanceIdentifier": source.rds_instance_identifier},
            statistic="Minimum",
            period=300,
            evaluation_periods=3,
            comparison_operator="LessThanThreshold",
            threshold=source.free_storage_alarm_mb * 1024 * 1024,  # the metric is in bytes
            treat_missing_data="breaching",  # a wrong identifier or a deleted source must not look healthy
        )

    def _slot_lag_alarm(self) -> None:
        source = self._args.source
        self._alarm(
            "slot-lag",
            f"replication slot on {source.rds_instance_identifier} retains more than "
            f"{source.replication_slot_lag_alarm_mb} MB of WAL",
            namespace="AWS/RDS",
            metric_name="OldestReplicationSlotLag",
            dimensions={"DBInstanceIdentifier": source.rds_instance_identifier},
            statistic="Maximum",
            period=300,
            evaluation_periods=3,
            comparison_operator="GreaterThanThreshold",
            threshold=source.replication_slot_lag_alarm_mb * 1024 * 1024,
            treat_missing_data="breaching",  # a wrong instance identifier must not look healthy
        )


def transaction_logs_dimensions(source: Source) -> dict[str, str] | None:
    """Where AWS/RDS reports the source's TransactionLogsDiskUsage, or None when nothing identifies it.

    RDS for PostgreSQL reports it per DB instance. Aurora PostgreSQL reports it per instance too, on
    the writer only ("Primary for Aurora PostgreSQL"); AWS advises alarming on Aurora through the
    cluster's WRITER role rather than one instance, whose role changes on failover."""
    if source.rds_cluster_identifier:
        return {"DBClusterIdentifier": source.rds_cluster_identifier, "Role": "WRITER"}
    if source.rds_instance_identifier:
        return {"DBInstanceIdentifier": source.rds_instance_identifier}
    return None


def metric_inputs(
    namespace: str, dimensions: dict, metrics: dict[str, str], *, period: int, stat: str
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The metrics a metric-math alarm combines, by query id (none returned as the alarm's value)."""
    return [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=namespace, metric_name=metric, dimensions=dimensions, period=period, stat=stat
            ),
        )
        for query_id, metric in metrics.items()
    ]


def above_zero(namespace: str, metric: str, dimensions: dict, statistic: str) -> dict:
    """Alarm arguments: any datapoint above zero in five minutes; silence is fine."""
    return {
        "namespace": namespace,
        "metric_name": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "period": 300,
        "evaluation_periods": 1,
        "comparison_operator": "GreaterThanThreshold",
        "threshold": 0,
        "treat_missing_data": "notBreaching",
    }


def queue_not_empty(queue_name: pulumi.Input[str]) -> dict:
    """Alarm arguments for a dead-letter queue: one message is one too many."""
    return above_zero("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum")


def dms_dimensions(source: Source, identifier: str) -> dict[str, str]:
    """The CloudWatch dimensions DMS reports a replication's metrics under."""
    if isinstance(source.replication, Serverless):
        return {DMS_SERVERLESS_DIMENSION: identifier}
    # replication.py sets the task's resource identifier, which is what DMS reports.
    return {"ReplicationInstanceIdentifier": identifier, "ReplicationTaskIdentifier": identifier}
