"""DynamoDB in moto for the converters' tests: a table with a stream, its records read through
GetRecords and shaped as the Lambda event source mapping delivers them (JSON: binary as base64,
ApproximateCreationDateTime in epoch seconds), the table's metadata, and a table export's files
laid out as DynamoDB documents them (moto's export writes one data file and no manifest)."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from functions.common import dynamodb as ddb
from functions.common.metadata import Column, TableMetadata

REGION = "eu-west-2"
ACCOUNT = "123456789012"
# botocore sends calls naming an ARN to <account>.streams-ddb.<region>…, which moto does not serve.
NO_ACCOUNT_ENDPOINT = Config(account_id_endpoint_mode="disabled")


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, config=NO_ACCOUNT_ENDPOINT)


def orders_metadata(source: str = "basket", **changes: Any) -> TableMetadata:
    """A DynamoDB table declaring one attribute of every DynamoDB type."""
    fields = dict(
        source=source,
        engine=ddb.ENGINE,
        schema=ddb.SCHEMA,
        table="orders",
        columns=(
            Column("id", "string", nullable=False, source_type="S"),
            Column("qty", "int64", source_type="N"),
            Column("price", "decimal(10,2)", source_type="N"),
            Column("code", "string", source_type="N"),
            Column("photo", "binary", source_type="B"),
            Column("paid", "bool", source_type="BOOL"),
            Column("tags", "string", source_type="SS"),
            Column("scores", "string", source_type="NS"),
            Column("blobs", "string", source_type="BS"),
            Column("address", "string", source_type="M"),
            Column("lines", "string", source_type="L"),
            Column("note", "string", source_type="S"),
        ),
        primary_key=("id",),
    )
    fields.update(changes)
    return TableMetadata(**fields)


def item(n: int, **overrides: Any) -> dict[str, Any]:
    """An item with every declared attribute (typed values, binary as bytes as boto3 takes them)."""
    value = {
        "id": {"S": f"o-{n:04d}"},
        "qty": {"N": str(n)},
        "price": {"N": f"{n}.5"},
        "code": {"N": f"00{n}"[-3:] if n < 1000 else str(n)},
        "photo": {"B": bytes([n % 256, 1, 2])},
        "paid": {"BOOL": n % 2 == 0},
        "tags": {"SS": ["b", "a", f"t{n}"]},
        "scores": {"NS": ["2", "10.5", str(n)]},
        "blobs": {"BS": [b"\x00\x01", bytes([n % 256])]},
        "address": {"M": {"city": {"S": "Leeds"}, "zip": {"N": "12"}, "tags": {"L": [{"S": "x"}, {"BOOL": True}]}}},
        "lines": {"L": [{"M": {"sku": {"S": "A"}, "n": {"N": "1"}}}, {"NULL": True}]},
        "note": {"NULL": True},
    }
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not None}


def create_table(
    name: str = "orders", view: str = "NEW_AND_OLD_IMAGES", pitr: bool = True, environment: str | None = "dev"
) -> str:
    """A table keyed by ``id`` with a stream (tagged for ``environment``); its stream ARN."""
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        Tags=[{"Key": "cloudbridge:environment", "Value": environment}] if environment else [],
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def stream_records(stream_arn: str) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard from the trim horizon, through GetRecords."""
    streams = client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def _json_value(value: Any) -> Any:
    """A boto3 typed value as it travels in JSON (binary as base64)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {k: _json_value(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_json_value(v) for v in inner]}
    return {kind: inner}


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the event source mapping delivers it to the function (JSON)."""
    change = dict(record["dynamodb"])
    when = change["ApproximateCreationDateTime"]
    change["ApproximateCreationDateTime"] = when.timestamp() if isinstance(when, datetime) else when
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = {k: _json_value(v) for k, v in change[image].items()}
    out = {k: v for k, v in record.items() if k != "dynamodb"}
    out["dynamodb"] = change
    out["eventSourceARN"] = stream_arn
    return json.loads(json.dumps(out, default=str))


def lambda_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    return {"Records": [lambda_record(r, stream_arn) for r in records]}


def scan(name: str = "orders") -> list[dict[str, Any]]:
    pages = client("dynamodb").get_paginator("scan").paginate(TableName=name)
    return [i for page in pages for i in page["Items"]]


def lake_rows(items: list[dict[str, Any]], meta: TableMetadata) -> dict[str, tuple]:
    """What the current-state view must show for these items: key → declared values as the lake holds them."""
    rows = {}
    for entry in items:
        values = []
        for column in meta.columns:
            value = entry.get(column.name)
            values.append(None if value is None else ddb.convert(_json_value(value), column)[1])
        rows[entry["id"]["S"]] = tuple(values)
    return rows


# --- a table export, as DynamoDB writes it ----------------------------------------------------


def export_files(
    items: list[dict[str, Any]],
    *,
    table_arn: str,
    export_time: str,
    prefix: str = "exports",
    export_id: str = "01700000000000-a1b2c3d4",
    files: int = 2,
) -> dict[str, bytes]:
    """The objects of a full DYNAMODB_JSON export (S3DataExport.Output.html): ``_started``, the
    data files (gzipped JSON lines of {"Item": …}, one per "partition", an empty one included),
    ``manifest-files.json`` (JSON lines) and ``manifest-summary.json``, with their checksums."""
    base = f"{prefix}/AWSDynamoDB/{export_id}/"
    out = {base + "_started": b""}
    chunks = [items[i::files] for i in range(files)] + [[]]  # an empty partition writes an empty file
    manifest = []
    for n, chunk in enumerate(chunks):
        key = f"AWSDynamoDB/{export_id}/data/{n:04d}example{n}.json.gz"
        lines = "".join(json.dumps({"Item": {k: _json_value(v) for k, v in i.items()}}) + "\n" for i in chunk)
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
        "s3Bucket": "export",
        "s3Prefix": prefix,
        "s3SseAlgorithm": "KMS",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"AWSDynamoDB/{export_id}/manifest-files.json",
        "billedSizeBytes": 0,
        "itemCount": len(items),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    out[base + "manifest-summary.json"] = json.dumps(summary, indent=3).encode()
    out[base + "manifest-summary.checksum"] = b"0"
    return out


def decimal_text(value: Decimal) -> str:
    return format(value, "f")
