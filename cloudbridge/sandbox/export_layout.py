"""A DynamoDB table export laid out as AWS writes it, on moto.

moto implements ``ExportTableToPointInTime`` (DYNAMODB_JSON) but writes one ``data/<uuid>.gz`` file
and no manifest. ``export_table`` asks moto for the export, reads the items it wrote, and lays them
out as DynamoDB documents its exports (docs/dynamodb.md, "Full load: the export"): under
``<prefix>/AWSDynamoDB/<ExportId>/``, an empty ``_started``, the items spread over several gzipped
data files (JSON lines of ``{"Item": …}``) plus an empty one (an empty partition writes one),
``manifest-files.json`` (JSON lines: each data file's key and item count), and
``manifest-summary.json`` last — its creation is what invokes the export converter. A test and demo
tool: nothing of it is deployed.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SUMMARY = "manifest-summary.json"


def export_files(
    items: list[dict[str, Any]],
    *,
    table_arn: str,
    export_time: str,
    prefix: str = "exports",
    export_id: str = "01700000000000-a1b2c3d4",
    files: int = 2,
    bucket: str = "export",
) -> dict[str, bytes]:
    """The objects of a full DYNAMODB_JSON export of ``items`` (typed values as JSON carries them:
    binary as base64), by key, in the order DynamoDB writes them (the summary last)."""
    base = f"{prefix}/AWSDynamoDB/{export_id}/"
    out = {base + "_started": b""}
    chunks = [items[i::files] for i in range(files)] + [[]]  # an empty partition writes an empty file
    manifest = []
    for n, chunk in enumerate(chunks):
        key = f"AWSDynamoDB/{export_id}/data/{n:04d}example{n}.json.gz"
        lines = "".join(json.dumps({"Item": i}) + "\n" for i in chunk)
        out[f"{prefix}/{key}"] = gzip.compress(lines.encode(), mtime=0)
        manifest.append({"itemCount": len(chunk), "md5Checksum": "x==", "etag": "e-1", "dataFileS3Key": key})
    out[base + "manifest-files.json"] = "".join(json.dumps(m) + "\n" for m in manifest).encode()
    out[base + "manifest-files.checksum"] = b"0"
    summary = {
        "version": "2020-06-30",
        "exportArn": f"{table_arn}/export/{export_id}",
        "startTime": export_time,
        "endTime": export_time,
        "tableArn": table_arn,
        "tableId": "12345a12-abcd-123a-ab12-1234abc12345",
        "exportTime": export_time,
        "s3Bucket": bucket,
        "s3Prefix": prefix,
        "s3SseAlgorithm": "KMS",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"AWSDynamoDB/{export_id}/manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": len(items),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    out[base + SUMMARY] = json.dumps(summary, indent=3).encode()
    out[base + "manifest-summary.checksum"] = b"0"
    return out


@dataclass(frozen=True)
class TableExport:
    """One export as laid out: what the sandbox reports."""

    export_arn: str
    export_time: datetime
    items: int
    data_files: int  # with items (the empty partition's file not counted)
    summary_key: str
    keys: tuple[str, ...]


def export_table(
    dynamodb: Any, s3: Any, table_arn: str, bucket: str, prefix: str, *, files: int = 3, timeout: float = 30.0
) -> TableExport:
    """Export the table through moto (full, DYNAMODB_JSON) and lay out what it wrote as AWS does."""
    before = _keys(s3, bucket, prefix)
    # AWS's default export time is the request's; moto reads the table just after it, so a change
    # between the two is in the export and in the stream (applied again: harmless with full images).
    export_time = datetime.now(UTC)
    arn = dynamodb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=bucket, S3Prefix=prefix, ExportFormat="DYNAMODB_JSON", ExportType="FULL_EXPORT"
    )["ExportDescription"]["ExportArn"]
    _wait_completed(dynamodb, arn, timeout)
    (written,) = [k for k in _keys(s3, bucket, prefix) - before if "/data/" in k]  # moto: one data file
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=written)["Body"].read())
    items = [json.loads(line)["Item"] for line in body.splitlines() if line.strip()]
    s3.delete_object(Bucket=bucket, Key=written)  # replaced by the documented layout
    # An export ID as AWS forms them (milliseconds, then 8 hex digits), in its ARN and folder.
    export_id = f"{int(export_time.timestamp() * 1000):014d}-{arn.rsplit('/', 1)[-1][-8:]}"
    stamp = export_time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    objects = export_files(
        items, table_arn=table_arn, export_time=stamp, prefix=prefix, export_id=export_id, files=files, bucket=bucket
    )
    for key, data in objects.items():  # the summary last, as DynamoDB writes it
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    summary = next(k for k in objects if k.endswith(SUMMARY))
    return TableExport(
        export_arn=f"{table_arn}/export/{export_id}",
        export_time=export_time,
        items=len(items),
        data_files=min(files, len(items)),
        summary_key=summary,
        keys=tuple(objects),
    )


def _keys(s3: Any, bucket: str, prefix: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def _wait_completed(dynamodb: Any, arn: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = dynamodb.describe_export(ExportArn=arn)["ExportDescription"]
        if described["ExportStatus"] == "COMPLETED":
            return
        if described["ExportStatus"] == "FAILED" or time.monotonic() > deadline:
            raise RuntimeError(f"export {arn}: {described['ExportStatus']} {described.get('FailureMessage') or ''}")
        time.sleep(0.05)
