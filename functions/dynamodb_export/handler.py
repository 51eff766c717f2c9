"""Export converter: a finished DynamoDB table export to a load generation in the lake.

``ExportTableToPointInTime`` (the program's ``aws.dynamodb.TableExport``, docs/dynamodb.md) writes,
under ``<prefix>/AWSDynamoDB/<ExportId>/``, gzipped DynamoDB JSON data files (JSON lines of
``{"Item": …}``), ``manifest-files.json`` (JSON lines naming each data file and its item count) and
``manifest-summary.json`` (the export's ARN, table, ``exportTime``, item count and format) — the
export bucket's notification for that summary invokes this function (S3 → Lambda, asynchronously:
two retries, then the on-failure queue).

It writes the items, in manifest order, as ``dynamodb/<table>/LOAD<hex>.parquet`` into landing
(``Op`` I, the commit time = the export time, empty change sequence: DMS's full-load shape), checks
their count against both manifests, waits until the validator has taken every one of those files
from landing, then writes the generation's marker into raw history (``functions/common/
generations.py``; START = the export time floored to the second, the stream's precision, so the
changes of that second are applied again on top of the export: harmless with full images). So the
views switch to the new export only once all of it has been validated, as after a DMS reload.

Re-invoked for the same export (S3 delivers at least once, Lambda retries), it writes the same
files and the same marker (put only if absent).
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

from functions.common import dynamodb as ddb
from functions.common import generations
from functions.common import observability as obs
from functions.common.dynamodb_env import DynamoDbEnv
from functions.common.layout import Layout, by_name
from functions.common.metadata import MetadataError, TableMetadata
from functions.validator.metadata_store import MetadataStore
from functions.validator.partitions import Partitions
from functions.validator.routing import not_found, precondition_failed

LOG = obs.logger("cloudbridge-dynamodb-export")
lambda_keys = obs.LambdaKeys()

SUMMARY = "manifest-summary.json"
LOAD_ROWS = 50_000  # items per LOAD file (memory: the batch holds its items until written)
POLL_SECONDS = 5


class ExportError(RuntimeError):
    """The export cannot be converted as it is (a broken or unexpected export): the invocation fails."""


@dataclass(frozen=True)
class Settings:
    """The export converter's settings, from its environment."""

    environment: str
    source: str
    export_bucket: str
    landing_bucket: str
    raw_history_bucket: str
    metadata_bucket: str
    glue_database: str = ""

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
            export_bucket=env[DynamoDbEnv.EXPORT_BUCKET],
            landing_bucket=env[DynamoDbEnv.LANDING_BUCKET],
            raw_history_bucket=env[DynamoDbEnv.RAW_HISTORY_BUCKET],
            metadata_bucket=env[DynamoDbEnv.METADATA_BUCKET],
            glue_database=env.get(DynamoDbEnv.GLUE_DATABASE, ""),
            partition=env.get(DynamoDbEnv.PARTITION, "day"),
        )


@dataclass(frozen=True)
class Export:
    """What an export's summary manifest says, and where its files are."""

    arn: str
    table: str
    time: Any  # datetime: the point in time the export reflects
    item_count: int | None
    files_manifest: str  # key of manifest-files.json
    base: str  # the export's key prefix ("<prefix>/" or ""), before AWSDynamoDB/

    def key(self, manifest_key: str) -> str:
        """A key the manifests give, in the bucket (with the export's prefix, whether or not it is written)."""
        return manifest_key if manifest_key.startswith(self.base) else self.base + manifest_key


def read_export(s3: Any, bucket: str, summary_key: str) -> Export:
    """The export a summary manifest describes; ExportError when it is not a full DynamoDB JSON export."""
    summary = json.loads(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())
    if summary.get("outputFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        raise ExportError(f"{summary_key}: outputFormat {summary.get('outputFormat')}, expected DYNAMODB_JSON")
    if summary.get("exportType", "FULL_EXPORT") != "FULL_EXPORT":
        raise ExportError(f"{summary_key}: exportType {summary.get('exportType')}, expected FULL_EXPORT")
    marker = summary_key.find("AWSDynamoDB/")
    base = summary_key[:marker] if marker >= 0 else ""
    files = summary.get("manifestFilesS3Key") or summary_key.rsplit("/", 1)[0] + "/manifest-files.json"
    export = Export(
        arn=str(summary.get("exportArn", "")),
        table=str(summary.get("tableArn", "")).rsplit("/", 1)[-1],
        time=ddb.moment(summary["exportTime"]),
        item_count=summary.get("itemCount"),
        files_manifest="",
        base=base,
    )
    return Export(**{**export.__dict__, "files_manifest": export.key(files)})


def data_files(s3: Any, bucket: str, export: Export) -> list[tuple[str, int | None]]:
    """(key, item count) of each data file, in the files manifest's order."""
    body = s3.get_object(Bucket=bucket, Key=export.files_manifest)["Body"].read().decode()
    entries = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entries.append((export.key(entry["dataFileS3Key"]), entry.get("itemCount")))
        except (ValueError, KeyError, TypeError):
            raise ExportError(f"{export.files_manifest} line {number} is not a data file entry") from None
    return entries


class ExportConverter:
    """One source's export converter (clients and the metadata cache live with the container)."""

    def __init__(
        self,
        settings: Settings,
        s3: Any,
        glue: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings, self.s3, self.sleep, self.clock = settings, s3, sleep, clock
        self.metadata = MetadataStore(s3, settings.metadata_bucket)
        self.partitions = Partitions(glue, settings.glue_database, settings.raw_history_bucket) if glue else None

    def convert(self, summary_key: str, seconds_left: float) -> dict[str, Any]:
        """One finished export: LOAD files, counted, validated, then the marker."""
        export = read_export(self.s3, self.settings.export_bucket, summary_key)
        meta, known = self._metadata(export.table)
        keys, items = self._load_files(export, meta)
        if export.item_count is not None and items != int(export.item_count):
            raise ExportError(f"{export.arn}: {items} items in its data files, its summary says {export.item_count}")
        record = {
            "event": "cloudbridge.dynamodb.export",
            "source": self.settings.source,
            "table": export.table,
            "exportArn": export.arn,
            "exportTime": ddb.commit_text(export.time),
            "items": items,
            "files": keys,
        }
        if not known:  # its files are quarantined (UNKNOWN_TABLE); no generation without metadata
            LOG.error(record["event"], extra={**record, "outcome": "no metadata: no marker"})
            return {**record, "marker": None}
        self._wait_until_validated(keys, seconds_left)
        marker = self._marker(meta, export)
        LOG.info(record["event"], extra={**record, "outcome": "converted", "marker": marker})
        return {**record, "marker": marker}

    def _metadata(self, table: str) -> tuple[TableMetadata, bool]:
        try:
            meta = self.metadata.get(ddb.SCHEMA, ddb.lake_table(table))
        except MetadataError as exc:
            LOG.error("cloudbridge.dynamodb.metadata", extra={"table": table, "reason": str(exc)})
            meta = None
        if meta is None:
            return ddb.unknown_table(self.settings.source, table), False
        return meta, True

    def _load_files(self, export: Export, meta: TableMetadata) -> tuple[list[str], int]:
        """Every item as LOAD rows, ``LOAD_ROWS`` a file; (keys written, items)."""
        stamp = ddb.commit_text(export.time)
        keys: list[str] = []
        batch, items = ddb.Batch(meta), 0
        for key, expected in data_files(self.s3, self.settings.export_bucket, export):
            raw = self.s3.get_object(Bucket=self.settings.export_bucket, Key=key)["Body"].read()
            count = 0
            for item in ddb.items_of(gzip.decompress(raw).splitlines()):
                batch.add(item, "I", stamp, "")
                count += 1
                if len(batch) == LOAD_ROWS:
                    keys.append(self._put(export.table, len(keys) + 1, batch))
                    batch = ddb.Batch(meta)
            if expected is not None and count != int(expected):
                raise ExportError(f"{key}: {count} items, its manifest entry says {expected}")
            items += count
        if len(batch):
            keys.append(self._put(export.table, len(keys) + 1, batch))
        return keys, items

    def _put(self, table: str, number: int, batch: ddb.Batch) -> str:
        key = ddb.load_key(table, number)
        self.s3.put_object(Bucket=self.settings.landing_bucket, Key=key, Body=ddb.parquet_bytes(batch.table()))
        return key

    def _wait_until_validated(self, keys: list[str], seconds_left: float) -> None:
        """Until the validator has taken each file from landing (to raw history or fail)."""
        deadline = self.clock() + seconds_left
        waiting = list(keys)
        while waiting:
            waiting = [key for key in waiting if self._in_landing(key)]
            if not waiting:
                return
            if self.clock() + POLL_SECONDS > deadline:
                raise ExportError(
                    f"{len(waiting)} LOAD file(s) still in landing, e.g. {waiting[0]}: marker not written"
                )
            self.sleep(POLL_SECONDS)

    def _in_landing(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.settings.landing_bucket, Key=key)
        except ClientError as exc:
            if not_found(exc):
                return False
            raise
        return True

    def _marker(self, meta: TableMetadata, export: Export) -> str | None:
        """The generation's marker in raw history (once); None when it was there already."""
        key = generations.marker_key(meta, export.time, export.time, self.settings.layout)
        body = generations.marker_bytes(meta, export.time, export.time)
        try:
            self.s3.put_object(Bucket=self.settings.raw_history_bucket, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as exc:
            if not precondition_failed(exc):
                raise
            return None
        if self.partitions is not None:
            self.partitions.try_ensure(key)
        return key


_converter: ExportConverter | None = None


def summary_keys(event: dict[str, Any]) -> list[str]:
    """The summary manifests an S3 event announces (keys arrive URL-encoded)."""
    keys = [unquote_plus(r["s3"]["object"]["key"]) for r in event.get("Records", []) if "s3" in r]
    return [k for k in keys if k.endswith("/" + SUMMARY) or k == SUMMARY]


def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """The Lambda entry point (the export bucket's ObjectCreated event for manifest-summary.json)."""
    global _converter
    lambda_keys(LOG, context)
    if _converter is None:
        settings = Settings.from_env()
        glue = boto3.client("glue") if settings.glue_database else None
        _converter = ExportConverter(settings, boto3.client("s3"), glue)
    remaining = getattr(context, "get_remaining_time_in_millis", lambda: 900_000)() / 1000
    return [_converter.convert(key, max(0.0, remaining - 30)) for key in summary_keys(event)]
