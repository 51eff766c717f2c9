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

An export too large for one invocation (15 minutes) is converted by a chain of them: when the time
left after a data file would not cover another, the function invokes itself asynchronously with
where to go on (``CONTINUATION``: the next LOAD file's number) and returns. LOAD file ``n`` always
holds the items ``(n-1)*LOAD_ROWS + 1 …`` in manifest order, whichever invocation writes it: an
invocation stops only at the end of a data file (its count checked), drops its partial LOAD file,
and the next one reads on from the data file holding that file's first item, skipping the data
files before it by their manifest counts (each read and checked by an earlier invocation); each
link writes at least one LOAD file, so the chain always moves on. So a
chained conversion writes byte for byte the files one invocation would, and a redelivered summary
or a retried link rewrites the same files. Waiting for the validator goes on the same way, at most
``MAX_WAITS`` times. Only an export whose files manifest gives every data file's count can be
continued; one data file must still fit in one invocation.
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
CONTINUATION = "cloudbridgeExportContinuation"  # the event a link of a chained conversion gets
MAX_WAITS = 3  # invocations that may go on waiting for the validator after the conversion's own
RESERVE_SECONDS = 60  # left for the wait and the marker when deciding whether to read another data file


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


@dataclass(frozen=True)
class Resume:
    """Where a link of a chained conversion goes on: the next LOAD file to write, or, once every
    file is written (``items`` known), the wait for the validator (``waits`` links spent on it)."""

    start: int = 1
    items: int | None = None
    waits: int = 0

    def payload(self, summary_key: str) -> dict[str, Any]:
        """The event that invokes the next link."""
        body = {"summary": summary_key, "start": self.start, "items": self.items, "waits": self.waits}
        return {CONTINUATION: body}

    @classmethod
    def of(cls, body: dict[str, Any]) -> tuple[str, Resume]:
        """(summary key, where to go on) from a continuation event's body; ExportError when malformed."""
        try:
            resume = cls(int(body["start"]), None if body.get("items") is None else int(body["items"]),
                         int(body.get("waits", 0)))  # fmt: skip
            summary = str(body["summary"])
        except (KeyError, TypeError, ValueError):
            raise ExportError(f"a continuation event without summary and start: {body!r}") from None
        if resume.start < 1 or resume.waits < 0 or not summary.endswith(SUMMARY):
            raise ExportError(f"a continuation event out of range: {body!r}")
        return summary, resume


@dataclass
class _Converted:
    """What one link wrote: its LOAD keys, and either the export's totals or where to go on."""

    keys: list[str]
    items: int = 0  # every item of the export (when done)
    files: int = 0  # every LOAD file of the export (when done)
    next_start: int | None = None  # the next link's first LOAD file (when not done)


class ExportConverter:
    """One source's export converter (clients and the metadata cache live with the container).

    ``invoke`` sends the next link of a chained conversion (the function invoking itself
    asynchronously); without it an export is converted in one invocation, whatever its size."""

    def __init__(
        self,
        settings: Settings,
        s3: Any,
        glue: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        invoke: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.settings, self.s3, self.sleep, self.clock, self.invoke = settings, s3, sleep, clock, invoke
        self.metadata = MetadataStore(s3, settings.metadata_bucket)
        self.partitions = Partitions(glue, settings.glue_database, settings.raw_history_bucket) if glue else None

    def convert(self, summary_key: str, seconds_left: float, resume: Resume = Resume()) -> dict[str, Any]:
        """One finished export (or one link of its chain): LOAD files, counted, validated, then the marker."""
        deadline = self.clock() + seconds_left
        export = read_export(self.s3, self.settings.export_bucket, summary_key)
        meta, known = self._metadata(export.table)
        record = {
            "event": "cloudbridge.dynamodb.export",
            "source": self.settings.source,
            "table": export.table,
            "exportArn": export.arn,
            "exportTime": ddb.commit_text(export.time),
        }
        if resume.items is None:
            done = self._load_files(export, meta, resume.start, deadline)
            if done.next_start is not None:
                return self._go_on(summary_key, Resume(done.next_start), {**record, "files": done.keys})
            if export.item_count is not None and done.items != int(export.item_count):
                raise ExportError(
                    f"{export.arn}: {done.items} items in its data files, its summary says {export.item_count}"
                )
            items, count = done.items, done.files
        else:  # every LOAD file was written by an earlier link: only the wait is left
            items, count = resume.items, -(-resume.items // LOAD_ROWS)
        keys = [ddb.load_key(export.table, n) for n in range(1, count + 1)]
        record.update(items=items, files=keys)
        if not known:  # its files are quarantined (UNKNOWN_TABLE); no generation without metadata
            LOG.error(record["event"], extra={**record, "outcome": "no metadata: no marker"})
            return {**record, "marker": None}
        try:
            self._wait_until_validated(keys, deadline - self.clock())
        except ExportError:
            if self.invoke is None or resume.waits >= MAX_WAITS:
                raise
            return self._go_on(summary_key, Resume(count + 1, items, resume.waits + 1), record)
        marker = self._marker(meta, export)
        LOG.info(record["event"], extra={**record, "outcome": "converted", "marker": marker})
        return {**record, "marker": marker}

    def _go_on(self, summary_key: str, resume: Resume, record: dict[str, Any]) -> dict[str, Any]:
        """Hand the rest to the next link (the function, invoked asynchronously) and stop here."""
        assert self.invoke is not None
        self.invoke(resume.payload(summary_key))
        outcome = "waiting: continued" if resume.items is not None else f"continued at LOAD file {resume.start}"
        LOG.info(record["event"], extra={**record, "outcome": outcome})
        return {**record, "marker": None, "continued": resume.payload(summary_key)[CONTINUATION]}

    def _metadata(self, table: str) -> tuple[TableMetadata, bool]:
        try:
            meta = self.metadata.get(ddb.SCHEMA, ddb.lake_table(table))
        except MetadataError as exc:
            LOG.error("cloudbridge.dynamodb.metadata", extra={"table": table, "reason": str(exc)})
            meta = None
        if meta is None:
            return ddb.unknown_table(self.settings.source, table), False
        return meta, True

    def _load_files(self, export: Export, meta: TableMetadata, start: int, deadline: float) -> _Converted:
        """The items as LOAD rows, ``LOAD_ROWS`` a file, from LOAD file ``start`` on; stops after a
        data file when the time left would not cover another (and the manifest counts every file)."""
        entries = data_files(self.s3, self.settings.export_bucket, export)
        counted = all(expected is not None for _, expected in entries)
        skip = (start - 1) * LOAD_ROWS  # items that earlier links wrote
        if skip and not counted:
            raise ExportError(f"{export.files_manifest}: a data file without itemCount, the conversion cannot go on")
        stamp = ddb.commit_text(export.time)
        out, batch, number = _Converted([]), ddb.Batch(meta), start
        seen, longest = 0, 0.0  # items before the data file being read; its longest read, in seconds
        for index, (key, expected) in enumerate(entries):
            if counted and seen + int(expected) <= skip:  # wholly in earlier links' files
                seen += int(expected)
                continue
            began = self.clock()
            count = 0
            raw = self.s3.get_object(Bucket=self.settings.export_bucket, Key=key)["Body"].read()
            for item in ddb.items_of(gzip.decompress(raw).splitlines()):
                count += 1
                if seen + count <= skip:
                    continue
                batch.add(item, "I", stamp, "")
                if len(batch) == LOAD_ROWS:
                    out.keys.append(self._put(export.table, number, batch))
                    batch, number = ddb.Batch(meta), number + 1
            if expected is not None and count != int(expected):
                raise ExportError(f"{key}: {count} items, its manifest entry says {expected}")
            seen += count
            longest = max(longest, self.clock() - began)
            # Stop only once this link has written a LOAD file: the next one then starts further on.
            going_on = index + 1 < len(entries) and counted and self.invoke is not None and number > start
            if going_on and self.clock() + 2 * longest + RESERVE_SECONDS > deadline:
                out.next_start = number  # the partial LOAD file is the next link's to write
                return out
        if len(batch):
            out.keys.append(self._put(export.table, number, batch))
            number += 1
        out.items, out.files = seen, number - 1
        return out

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


def invoke_self(function_name: str, client: Any = None) -> Callable[[dict[str, Any]], None]:
    """Sends a payload to this function, asynchronously (``Event``: Lambda queues it, retries it
    twice on error, then puts it on the function's dead-letter queue)."""
    lambda_client = client or boto3.client("lambda")

    def send(payload: dict[str, Any]) -> None:
        lambda_client.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode())

    return send


def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    """The Lambda entry point: the export bucket's ObjectCreated event for manifest-summary.json, or
    the next link of a chained conversion (``CONTINUATION``)."""
    global _converter
    lambda_keys(LOG, context)
    if _converter is None:
        settings = Settings.from_env()
        glue = boto3.client("glue") if settings.glue_database else None
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")  # set by Lambda: the chain's next link is this function
        _converter = ExportConverter(settings, boto3.client("s3"), glue, invoke=invoke_self(name) if name else None)
    remaining = getattr(context, "get_remaining_time_in_millis", lambda: 900_000)() / 1000
    budget = max(0.0, remaining - 30)
    if CONTINUATION in event:
        summary, resume = Resume.of(event[CONTINUATION])
        return [_converter.convert(summary, budget, resume)]
    return [_converter.convert(key, budget) for key in summary_keys(event)]
