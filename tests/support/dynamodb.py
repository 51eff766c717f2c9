"""DynamoDB in moto for the converters' tests: a table with a stream, its records read through
GetRecords and shaped as the Lambda event source mapping delivers them (JSON: binary as base64,
ApproximateCreationDateTime in epoch seconds), the table's metadata, and a table export's files
laid out as DynamoDB documents them (moto's export writes one data file and no manifest)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from cloudbridge.sandbox import export_layout
from cloudbridge.sandbox.stream_mapping import json_value as _json_value
from cloudbridge.sandbox.stream_mapping import lambda_event, lambda_record  # noqa: F401 (the tests' names)
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


def export_files(items: list[dict[str, Any]], **layout: Any) -> dict[str, bytes]:
    """The objects of a full DYNAMODB_JSON export of boto3-typed ``items`` (S3DataExport.Output.html):
    ``_started``, the data files (gzipped JSON lines of {"Item": …}, one per "partition", an empty one
    included), ``manifest-files.json`` (JSON lines) and ``manifest-summary.json``, with their checksums
    (the sandbox's layout, cloudbridge/sandbox/export_layout.py)."""
    return export_layout.export_files([{k: _json_value(v) for k, v in i.items()} for i in items], **layout)


def decimal_text(value: Decimal) -> str:
    return format(value, "f")
