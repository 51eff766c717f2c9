"""Validator Lambda: an SQS batch of S3 ObjectCreated events from the landing bucket.

For each object: identify schema/table/kind from the key, load the table's metadata
(cached per container), validate the parquet file with ranged reads, copy it to
raw-history (pass) or fail (with its reasons), then delete it from landing. One JSON log
line per file, EMF metrics per batch, one SNS alert per batch for the files that failed.
Records whose processing raised are reported back as partial batch failures, so SQS
redelivers only them and, after maxReceiveCount, parks them in the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig

from functions.common import observability as obs
from functions.common.keys import UnrecognizedKeyError, decode_event_key, parse_key
from functions.common.layout import Layout, by_name
from functions.common.metadata import MetadataError
from functions.common.runtime import ValidatorEnv
from functions.validator import checks, findings, routing
from functions.validator.alerts import FailureAlerts
from functions.validator.metadata_store import MetadataStore
from functions.validator.partitions import Partitions
from functions.validator.s3file import ObjectSource

# The decoding children are forked from this process: importing pyarrow here, once per
# container (cold start), spares every child its ~0.3 s import. Nothing parses with it here.
checks.preload_reader()

# Files of one batch validated at once. Each holds about one window being decoded
# (checks.WINDOW_BYTES, also in the memory it shares with its decoding child) and
# checks.PREFETCH_BYTES being fetched, plus the child: memory stays bounded.
FILE_WORKERS = 3


@dataclass
class Settings:
    """The validator's settings, from its environment."""

    source: str
    environment: str
    raw_history_bucket: str
    fail_bucket: str
    metadata_bucket: str
    alerts_topic_arn: str
    bucket_folder: str = ""
    validation_mode: str = "statistics"  # or "full": decode every page of every column
    glue_database: str = ""  # where raw-history partitions are registered ("" = nowhere)
    partition: str = "day"  # the source's raw-history layout: day or hour (functions/common/layout.py)

    @property
    def layout(self) -> Layout:
        """The source's raw-history partition layout."""
        return by_name(self.partition)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the Lambda environment (names in functions/common/runtime.py)."""
        env = os.environ
        return cls(
            source=env[ValidatorEnv.SOURCE],
            environment=env[ValidatorEnv.ENVIRONMENT],
            raw_history_bucket=env[ValidatorEnv.RAW_HISTORY_BUCKET],
            fail_bucket=env[ValidatorEnv.FAIL_BUCKET],
            metadata_bucket=env[ValidatorEnv.METADATA_BUCKET],
            alerts_topic_arn=env[ValidatorEnv.ALERTS_TOPIC_ARN],
            bucket_folder=env.get(ValidatorEnv.BUCKET_FOLDER, ""),
            validation_mode=env.get(ValidatorEnv.VALIDATION_MODE, "statistics"),
            glue_database=env.get(ValidatorEnv.GLUE_DATABASE, ""),
            partition=env.get(ValidatorEnv.PARTITION, "day"),
        )

    def __post_init__(self) -> None:
        by_name(self.partition)  # an unknown layout fails the cold start, naming the variable
        if self.validation_mode not in checks.MODES:
            raise ValueError(f"VALIDATION_MODE must be one of {checks.MODES}, not {self.validation_mode!r}")


@dataclass
class FileOutcome:
    """What happened to one landing object, as logged."""

    key: str
    outcome: str  # passed | failed | absent | skipped
    table: str = ""
    kind: str = ""
    findings: list[dict[str, str]] = field(default_factory=list)
    rows: int = 0
    size: int = 0
    bytes_read: int = 0
    needed_bytes: int = 0
    requests: int = 0
    chunks_scanned: int = 0
    destination: str = ""
    copied: bool = False
    duration_ms: float = 0.0
    pending_delete: routing.LandingObject | None = None

    def log_record(self, settings: Settings) -> dict[str, Any]:
        """The ``cloudbridge.validated`` log line of this file."""
        return {
            "event": "cloudbridge.validated",
            "source": settings.source,
            "key": self.key,
            "table": self.table,
            "kind": self.kind,
            "outcome": self.outcome,
            "reasons": self.findings,
            "rows": self.rows,
            "bytes": self.size,
            "bytesRead": self.bytes_read,
            "bytesNeeded": self.needed_bytes,
            "getRequests": self.requests,
            "chunksScanned": self.chunks_scanned,
            "destination": self.destination,
            "copied": self.copied,
            "durationMs": round(self.duration_ms, 1),
        }


LOG = obs.logger("cloudbridge-validator")
lambda_keys = obs.LambdaKeys()


def emit(record: dict[str, Any]) -> None:
    """One structured log line (Powertools Logger): the record's keys at the top level."""
    if "_aws" in record:  # an EMF blob: CloudWatch reads it as metrics only when it is the whole line
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        sys.stdout.flush()
        return
    LOG.info(record.get("event", "cloudbridge"), extra=record)


class Validator:
    """Validates the files of SQS batches and routes each to raw-history or the fail bucket."""

    def __init__(self, settings: Settings, s3: Any, sns: Any, metadata: MetadataStore | None = None, glue: Any = None):
        self.settings, self.s3 = settings, s3
        self.alerts = FailureAlerts(settings, s3, sns)
        self.metadata = metadata or MetadataStore(s3, settings.metadata_bucket)
        self.partitions = (
            Partitions(glue, settings.glue_database, settings.raw_history_bucket)
            if glue is not None and settings.glue_database
            else None
        )
        self.transfer = TransferConfig(
            multipart_threshold=routing.MULTIPART_THRESHOLD, multipart_chunksize=routing.MULTIPART_THRESHOLD
        )

    # --- one file -----------------------------------------------------------------

    def check(self, bucket: str, key: str) -> FileOutcome:
        """Validate and copy one landing object; the delete is left to the caller."""
        started = time.perf_counter()
        result = FileOutcome(key=key, outcome="absent")
        head = routing.head(self.s3, bucket, key)
        if head is None:  # moved by an earlier delivery of the same event
            result.duration_ms = (time.perf_counter() - started) * 1000
            return result
        obj = routing.LandingObject(bucket, key, head["ContentLength"], head["ETag"], head["LastModified"])
        result.size = obj.size

        file_key = None
        try:
            file_key = parse_key(key, self.settings.bucket_folder, self.settings.layout)
            result.table, result.kind = file_key.table_id, file_key.kind
        except UnrecognizedKeyError as exc:
            found = [findings.Finding(findings.UNRECOGNIZED_KEY, str(exc))]
        if file_key is not None:
            try:
                table_metadata = self.metadata.get(file_key.schema, file_key.table)
            except MetadataError as exc:
                found = [findings.Finding(findings.METADATA_INVALID, str(exc))]
            else:
                source = ObjectSource(self.s3, bucket, key, obj.size, etag=obj.etag)
                verdict = checks.validate(source, file_key, table_metadata, self.settings.validation_mode)
                found = verdict.findings
                result.rows, result.chunks_scanned = verdict.rows, verdict.chunks_scanned
                result.bytes_read, result.requests = source.bytes_read, source.requests
                result.needed_bytes = verdict.needed_bytes

        result.findings = [f.to_dict() for f in found]
        if found:
            result.outcome, target, dest_key = "failed", self.settings.fail_bucket, routing.fail_key(obj)
        else:
            result.outcome = "passed"
            target, dest_key = (
                self.settings.raw_history_bucket,
                routing.raw_history_key(file_key, obj, self.settings.layout),
            )
        result.destination = f"s3://{target}/{dest_key}"
        result.copied = routing.copy_to(
            self.s3,
            obj,
            target,
            dest_key,
            outcome=result.outcome,
            findings=result.findings,
            transfer_config=self.transfer,
        )
        if result.outcome == "passed":
            self._register_partition(dest_key)
        result.pending_delete = obj
        result.duration_ms = (time.perf_counter() - started) * 1000
        return result

    def _register_partition(self, raw_key: str) -> None:
        error = self.partitions.try_ensure(raw_key) if self.partitions else None
        if error:
            source = self.settings.source
            emit({"event": "cloudbridge.partition_failed", "source": source, "key": raw_key, "error": error})

    # --- one batch ------------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """One SQS batch: files validated concurrently, one alert, per-message failures reported."""
        failures: list[dict[str, str]] = []
        done: list[tuple[str, list[FileOutcome]]] = []
        records = event.get("Records", [])
        # Files are validated concurrently; an object announced twice in the batch is
        # validated once and answers for every message that named it.
        objects: dict[tuple[str, str], Any] = {}
        with ThreadPoolExecutor(max_workers=FILE_WORKERS, thread_name_prefix="validate") as workers:
            parsed = []
            for record in records:
                message_id = record.get("messageId", "?")
                try:
                    wanted = s3_objects(record)
                except Exception as exc:  # a malformed message: retried, then dead-lettered
                    failures.append(self._record_failed(message_id, exc))
                    continue
                for obj in wanted:
                    if obj not in objects:
                        objects[obj] = workers.submit(self.check, *obj)
                parsed.append((message_id, wanted))
            for message_id, wanted in parsed:
                try:
                    done.append((message_id, [objects[obj].result() for obj in wanted]))
                except Exception as exc:  # reported per record: SQS retries it, then dead-letters it
                    failures.append(self._record_failed(message_id, exc))

        outcomes = list({id(o): o for _, files in done for o in files}.values())
        alert_error = None
        failed, unclaimed = self.alerts.claim(outcomes)
        if failed:
            try:
                self.alerts.publish(failed)
            except Exception as exc:  # keep the failed files in landing until the alert is out
                self.alerts.release(failed)
                alert_error = exc
                emit(
                    {
                        "event": "cloudbridge.alert_failed",
                        "source": self.settings.source,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )

        for message_id, files in done:
            try:
                if alert_error and any(o.outcome == "failed" for o in files):
                    raise RuntimeError("validation-failure alert not published") from alert_error
                for outcome in files:
                    if id(outcome) in unclaimed:  # only this message is retried; its file stays in landing
                        raise RuntimeError("validation-failure alert not claimed") from unclaimed[id(outcome)]
                for outcome in files:
                    if outcome.pending_delete is not None:
                        routing.delete_landing(self.s3, outcome.pending_delete)
                    emit(outcome.log_record(self.settings))
            except Exception as exc:
                failures.append(self._record_failed(message_id, exc))

        self.metrics(outcomes)
        return {"batchItemFailures": failures}

    def _record_failed(self, message_id: str, exc: Exception) -> dict[str, str]:
        emit(
            {
                "event": "cloudbridge.record_failed",
                "source": self.settings.source,
                "messageId": message_id,
                "error": f"{type(exc).__name__}: {exc}",
            }
        )
        return {"itemIdentifier": message_id}

    def metrics(self, outcomes: list[FileOutcome]) -> None:
        """CloudWatch embedded metric format (Powertools): one line per batch."""
        from aws_lambda_powertools.metrics import MetricUnit

        metrics = obs.batch_metrics(self.settings.environment, self.settings.source)
        metrics.add_metric(
            name=obs.FILES_PASSED, unit=MetricUnit.Count, value=sum(o.outcome == "passed" for o in outcomes)
        )
        metrics.add_metric(
            name=obs.FILES_FAILED, unit=MetricUnit.Count, value=sum(o.outcome == "failed" for o in outcomes)
        )
        metrics.add_metric(name=obs.ROWS_VALIDATED, unit=MetricUnit.Count, value=sum(o.rows for o in outcomes))
        metrics.add_metric(name=obs.BYTES_READ, unit=MetricUnit.Bytes, value=sum(o.bytes_read for o in outcomes))
        emit(metrics.serialize_metric_set())


def s3_objects(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, decoded key) of each S3 record in one SQS message."""
    body = json.loads(record["body"])
    if body.get("Event") == "s3:TestEvent":  # sent once when the notification is set up
        return []
    objects = []
    for s3_record in body["Records"]:
        if not s3_record.get("eventName", "").startswith("ObjectCreated:"):
            continue
        objects.append((s3_record["s3"]["bucket"]["name"], decode_event_key(s3_record["s3"]["object"]["key"])))
    return objects


_validator: Validator | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (clients and caches live as long as the container)."""
    global _validator
    lambda_keys(LOG, context)
    if _validator is None:  # clients and metadata cache live as long as the container
        _validator = Validator(Settings.from_env(), boto3.client("s3"), boto3.client("sns"), glue=boto3.client("glue"))
    return _validator.handle(event)
