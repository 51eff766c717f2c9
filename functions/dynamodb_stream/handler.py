"""Stream converter: one DynamoDB Streams batch to one parquet file in the landing bucket.

The Lambda event source mapping of each table's stream (components/dynamodb_source.py) invokes it
with a batch of one shard's records, in stream order. Each record becomes a DMS-shaped row
(``functions/common/dynamodb.py``): ``Op`` from ``eventName`` (INSERT I, MODIFY U, REMOVE D with
the old image), the commit time from ``ApproximateCreationDateTime`` (DynamoDB rounds it down to
the second), the change sequence from ``SequenceNumber``. The file goes to
``dynamodb/<table>/YYYY/MM/DD/`` in landing; from there the validator takes it like any DMS file.

Partial batch failures (``ReportBatchItemFailures``): a record that cannot become a row (no image:
the stream does not carry NEW_AND_OLD_IMAGES) ends the file before it, and its sequence number is
reported, so Lambda retries from that record on (and, past the mapping's retries or maximum record
age, sends the batch's description to the on-failure queue). A file that cannot be written reports
the batch's first record: nothing is checkpointed that is not in landing. A retried batch is written
again under the same key (same first record and size) or, bisected, as a smaller file holding the
same rows with the same change sequences: the current-state rule applies either once.

A table without metadata still lands (every attribute undeclared): the validator quarantines its
files as ``UNKNOWN_TABLE`` and replays them once the metadata is published.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from functions.common import dynamodb as ddb
from functions.common import observability as obs
from functions.common.dynamodb_env import DynamoDbEnv
from functions.common.layout import Layout, by_name
from functions.common.metadata import MetadataError, TableMetadata
from functions.validator.metadata_store import MetadataStore

LOG = obs.logger("cloudbridge-dynamodb-stream")
lambda_keys = obs.LambdaKeys()


@dataclass(frozen=True)
class Settings:
    """The stream converter's settings, from its environment."""

    environment: str
    source: str
    landing_bucket: str
    metadata_bucket: str

    partition: str = "day"  # the source's raw-history layout: day or hour (functions/common/layout.py)

    def __post_init__(self) -> None:
        by_name(self.partition)  # an unknown layout fails the cold start, naming the variable

    @property
    def layout(self) -> Layout:
        """The source's raw-history partition layout."""
        return by_name(self.partition)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the Lambda environment (names in functions/common/dynamodb_env.py)."""
        env = os.environ
        return cls(
            environment=env[DynamoDbEnv.ENVIRONMENT],
            source=env[DynamoDbEnv.SOURCE],
            landing_bucket=env[DynamoDbEnv.LANDING_BUCKET],
            metadata_bucket=env[DynamoDbEnv.METADATA_BUCKET],
            partition=env.get(DynamoDbEnv.PARTITION, "day"),
        )


def add_record(batch: ddb.Batch, record: dict[str, Any]) -> None:
    """One stream record as a row of ``batch``; ConversionError when it cannot be one."""
    op = ddb.OPS.get(record.get("eventName", ""))
    if op is None:
        raise ddb.ConversionError(f"eventName {record.get('eventName')!r} is not INSERT, MODIFY or REMOVE")
    change = record.get("dynamodb") or {}
    image_name = "OldImage" if op == "D" else "NewImage"
    image = change.get(image_name)
    if image is None:
        raise ddb.ConversionError(
            f"{record['eventName']} record without {image_name}: the stream's view type must be NEW_AND_OLD_IMAGES "
            f"(it is {change.get('StreamViewType')})"
        )
    if "ApproximateCreationDateTime" not in change:
        raise ddb.ConversionError("record without ApproximateCreationDateTime")
    # DynamoDB rounds the time down to the second (StreamRecord); so does this, whatever gives it.
    stamp = ddb.commit_text(ddb.moment(change["ApproximateCreationDateTime"]).replace(microsecond=0))
    batch.add(image, op, stamp, ddb.change_sequence(change.get("SequenceNumber", "")))


class StreamConverter:
    """One source's stream converter (clients and the metadata cache live with the container)."""

    def __init__(self, settings: Settings, s3: Any, metadata: MetadataStore | None = None):
        self.settings, self.s3 = settings, s3
        self.metadata = metadata or MetadataStore(s3, settings.metadata_bucket)

    def table_metadata(self, table: str) -> TableMetadata:
        """The table's published metadata, or one declaring nothing (unknown or unusable metadata)."""
        try:
            meta = self.metadata.get(ddb.SCHEMA, ddb.lake_table(table))
        except MetadataError as exc:
            LOG.error("cloudbridge.dynamodb.metadata", extra={"table": table, "reason": str(exc)})
            meta = None
        return meta or ddb.unknown_table(self.settings.source, table)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """One batch: its rows in one landing file; the first record not written, if any, reported."""
        records = event.get("Records") or []
        if not records:
            return {"batchItemFailures": []}
        table = ddb.stream_table(records[0].get("eventSourceARN", ""))
        batch, failed, reason = ddb.Batch(self.table_metadata(table)), None, ""
        for record in records:
            try:
                if ddb.stream_table(record.get("eventSourceARN", "")) != table:
                    raise ddb.ConversionError("a record of another table in the batch")
                add_record(batch, record)
            except (ddb.ConversionError, KeyError, TypeError, ValueError) as exc:
                failed, reason = record, f"{type(exc).__name__}: {exc}"
                break
        key = None
        if len(batch):
            try:
                key = self._write(table, batch, records[0])
            except Exception as exc:  # S3 refused or failed: nothing of this batch is checkpointed
                failed, reason, key = records[0], f"landing write failed: {type(exc).__name__}: {exc}", None
        return self._outcome(table, batch, key, failed, reason)

    def _write(self, table: str, batch: ddb.Batch, first: dict[str, Any]) -> str:
        change = first["dynamodb"]
        key = ddb.cdc_key(
            table,
            ddb.moment(change["ApproximateCreationDateTime"]),
            change["SequenceNumber"],
            len(batch),
            self.settings.layout,
        )
        self.s3.put_object(Bucket=self.settings.landing_bucket, Key=key, Body=ddb.parquet_bytes(batch.table()))
        return key

    def _outcome(
        self, table: str, batch: ddb.Batch, key: str | None, failed: dict[str, Any] | None, reason: str
    ) -> dict[str, Any]:
        record = {
            "event": "cloudbridge.dynamodb.stream",
            "source": self.settings.source,
            "table": table,
            "rows": len(batch) if key else 0,
            "key": key,
        }
        if failed is None:
            LOG.info(record["event"], extra={**record, "outcome": "landed"})
            return {"batchItemFailures": []}
        sequence = (failed.get("dynamodb") or {}).get("SequenceNumber", "")
        LOG.error(record["event"], extra={**record, "outcome": "retry", "failedAt": sequence, "reason": reason})
        return {"batchItemFailures": [{"itemIdentifier": sequence}]}


_converter: StreamConverter | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (a DynamoDB Streams event from the event source mapping)."""
    global _converter
    lambda_keys(LOG, context)
    if _converter is None:
        _converter = StreamConverter(Settings.from_env(), boto3.client("s3"))
    return _converter.handle(event)
