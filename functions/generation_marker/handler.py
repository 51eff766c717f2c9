"""Generation-marker writer: on a schedule, DMS's table statistics to generation markers.

Every few minutes (an EventBridge schedule) it reads the source's table statistics —
``DescribeTableStatistics`` of the replication task (instance mode) or
``DescribeReplicationTableStatistics`` of the replication config (serverless), both paged
with ``Marker`` — and writes a marker into raw history for each table whose full load is
complete (``functions/common/generations.write_markers``: put only if absent, so each
load's marker is written once), then registers the marker's date partition like the
validator does. The current-state views use a reload only once its marker exists
(docs/analytics.md).

Errors:
* throttling and other transient DMS/S3 answers: logged, the invocation succeeds, and the
  next schedule polls again (a marker written later is the same marker);
* deterministic ones (access denied, the replication not found or its ARN invalid): logged
  with the reason and raised, so the function's Errors alarm fires; the schedule is the
  only retry, one poll per period, never a loop;
* a table without usable metadata (unknown table, no change-sequence column): logged with
  the reason, skipped; the other tables still get their markers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from functions.common import generations
from functions.common import observability as obs
from functions.common.layout import Layout, by_name
from functions.common.metadata import MetadataError, TableMetadata, metadata_key
from functions.common.runtime import GenerationsEnv
from functions.validator.partitions import Partitions

LOG = obs.logger("cloudbridge-generations")
lambda_keys = obs.LambdaKeys()

PAGE_SIZE = 500  # DMS allows 20..500 records per page
# Error codes that say the request can never succeed as configured.
DETERMINISTIC = {
    "AccessDenied",
    "AccessDeniedException",
    "AccessDeniedFault",
    "ResourceNotFoundFault",
    "InvalidParameterValueException",
    "InvalidParameterCombinationException",
    "ValidationException",
}


class RefusedError(RuntimeError):
    """DMS or S3 refused the poll for a reason another poll will not change."""


@dataclass(frozen=True)
class Settings:
    """The marker writer's settings, from its environment."""

    environment: str
    source: str
    raw_history_bucket: str
    metadata_bucket: str
    # A replication task's ARN, or the replication configs' (one per table set), comma-separated.
    statistics_arn: str
    glue_database: str = ""  # where raw-history partitions are registered ("" = nowhere)
    partition: str = "day"  # the source's raw-history layout: day or hour (functions/common/layout.py)

    def __post_init__(self) -> None:
        by_name(self.partition)  # an unknown layout fails the cold start, naming the variable

    @property
    def layout(self) -> Layout:
        """The source's raw-history partition layout (where markers go)."""
        return by_name(self.partition)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the Lambda environment (names in functions/common/runtime.py)."""
        env = os.environ
        return cls(
            environment=env[GenerationsEnv.ENVIRONMENT],
            source=env[GenerationsEnv.SOURCE],
            raw_history_bucket=env[GenerationsEnv.RAW_HISTORY_BUCKET],
            metadata_bucket=env[GenerationsEnv.METADATA_BUCKET],
            statistics_arn=env[GenerationsEnv.STATISTICS_ARN],
            glue_database=env.get(GenerationsEnv.GLUE_DATABASE, ""),
            partition=env.get(GenerationsEnv.PARTITION, "day"),
        )

    @property
    def statistics_arns(self) -> list[str]:
        """Each replication whose statistics are read: a task, or one config per table set."""
        return [arn for arn in self.statistics_arn.split(",") if arn]

    @property
    def serverless(self) -> bool:
        """Whether the ARNs are serverless replication configs' (else a task's)."""
        return ":replication-config:" in self.statistics_arn


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def table_statistics(dms: Any, settings: Settings) -> list[dict[str, Any]]:
    """Every table's statistics over the source's replications, all pages, in the instance
    API's shape (``TableStatistics``). Table sets select disjoint tables (the config refuses
    overlaps), so a table appears once."""
    return [entry for arn in settings.statistics_arns for entry in _statistics_of(dms, arn)]


def _statistics_of(dms: Any, arn: str) -> list[dict[str, Any]]:
    """One replication's table statistics, all pages."""
    if ":replication-config:" in arn:
        call, arn_name, field = (
            dms.describe_replication_table_statistics,
            "ReplicationConfigArn",
            "ReplicationTableStatistics",
        )
    else:
        call, arn_name, field = dms.describe_table_statistics, "ReplicationTaskArn", "TableStatistics"
    tables: list[dict[str, Any]] = []
    request: dict[str, Any] = {arn_name: arn, "MaxRecords": PAGE_SIZE}
    while True:
        page = call(**request)
        tables += page.get(field, [])
        if not page.get("Marker"):
            return tables
        request["Marker"] = page["Marker"]


class MarkerWriter:
    """One source's marker writer (clients and the tables' metadata live with the container)."""

    def __init__(self, settings: Settings, dms: Any, s3: Any, glue: Any | None = None):
        self.settings, self.dms, self.s3 = settings, dms, s3
        self.partitions = Partitions(glue, settings.glue_database, settings.raw_history_bucket) if glue else None
        self._skipped: set[str] = set()  # tables whose reason was logged already (per container)

    def poll(self) -> dict[str, Any]:
        """One poll: statistics → markers → partitions; what happened, as logged."""
        try:
            statistics = {"TableStatistics": table_statistics(self.dms, self.settings)}
            completed = generations.completed_loads(statistics)
            written = generations.write_markers(
                self.s3, self.settings.raw_history_bucket, self._metadata(completed), statistics, self.settings.layout
            )
        except (ClientError, BotoCoreError) as exc:
            return self._failed(exc)
        unregistered = {key: why for key in written if (why := self._register(key))}
        result = {
            "event": "cloudbridge.generations",
            "source": self.settings.source,
            "outcome": "polled",
            "tables": len(statistics["TableStatistics"]),
            "completed": len(completed),
            "written": written,
            "partitionsNotRegistered": unregistered,
        }
        LOG.info(result["event"], extra=result)
        return result

    def _failed(self, exc: Exception) -> dict[str, Any]:
        code = error_code(exc)
        record = {
            "event": "cloudbridge.generations",
            "source": self.settings.source,
            "statisticsArn": self.settings.statistics_arn,
            "errorCode": code,
            "reason": f"{type(exc).__name__}: {exc}",
        }
        if code in DETERMINISTIC:
            LOG.error("cloudbridge.generations", extra={**record, "outcome": "refused"})
            raise RefusedError(record["reason"]) from exc
        # Throttling, a replication not yet started, a network blip: the next schedule polls again.
        LOG.warning("cloudbridge.generations", extra={**record, "outcome": "deferred"})
        return {**record, "outcome": "deferred", "written": []}

    def _metadata(self, completed: list[dict[str, Any]]) -> dict[str, TableMetadata]:
        """The metadata of the completed tables (a table without usable metadata is skipped)."""
        tables = {}
        for entry in completed:
            schema, table = entry.get("SchemaName", ""), entry.get("TableName", "")
            meta, why = self._read_metadata(schema, table)
            if meta is not None and meta.dms.change_sequence:
                tables[meta.table_id] = meta
                continue
            why = why or "no change-sequence column: its loads cannot be marked"
            if f"{schema}.{table}" not in self._skipped:  # logged once per container
                self._skipped.add(f"{schema}.{table}")
                LOG.error(
                    "cloudbridge.generations.skipped",
                    extra={"source": self.settings.source, "table": f"{schema}.{table}", "reason": why},
                )
        return tables

    def _read_metadata(self, schema: str, table: str) -> tuple[TableMetadata | None, str]:
        key = metadata_key(schema, table)
        try:
            body = self.s3.get_object(Bucket=self.settings.metadata_bucket, Key=key)["Body"].read()
            return TableMetadata.from_json(body, f"s3://{self.settings.metadata_bucket}/{key}"), ""
        except ClientError as exc:
            if error_code(exc) not in ("NoSuchKey", "404", "NotFound"):
                raise
            return None, f"unknown table: no metadata at s3://{self.settings.metadata_bucket}/{key}"
        except MetadataError as exc:
            return None, f"metadata unusable: {exc}"

    def _register(self, key: str) -> str | None:
        """Why the marker's date partition is not registered, or None (registered or not asked)."""
        return self.partitions.try_ensure(key) if self.partitions is not None else None


_writer: MarkerWriter | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (the scheduled event carries nothing the poll needs)."""
    global _writer
    lambda_keys(LOG, context)
    if _writer is None:
        settings = Settings.from_env()
        glue = boto3.client("glue") if settings.glue_database else None
        _writer = MarkerWriter(settings, boto3.client("dms"), boto3.client("s3"), glue)
    return _writer.poll()
