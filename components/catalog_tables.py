"""Glue table definitions from table metadata, as plain data (no Pulumi).

Used by the Catalog component and by the local sandbox (boto3 ``create_table``), so the
deployed catalog and the sandbox's are the same definition.
"""

from __future__ import annotations

from typing import Any

from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata, glue_type
from functions.common.runtime import PARQUET_INPUT, PARQUET_OUTPUT, PARQUET_SERDE, PARTITION_KEY


def columns(meta: TableMetadata) -> list[dict[str, str]]:
    """DMS columns as every file of the table holds them: Op, timestamp, data, change sequence."""
    cols = [(meta.dms.op, "string", "I/U/D")] if meta.dms.op_in_full_load else []
    cols.append((meta.dms.timestamp, "string", "DMS commit (CDC) or load time, yyyy-MM-dd HH:mm:ss.SSSSSS"))
    cols += [(c.name, glue_type(c.type), c.source_type) for c in meta.columns]
    if meta.dms.change_sequence:
        cols.append(
            (meta.dms.change_sequence, "string", "DMS change sequence: orders changes; empty for full-load rows")
        )
    return [{"name": n, "type": t, "comment": c} for n, t, c in cols]


def parameters(meta: TableMetadata, location_template: Any, layout: Layout = DAY) -> dict[str, Any]:
    """Table parameters: what the table is, and partition projection over the source's
    partitions, YYYY/MM/DD or YYYY/MM/DD/HH (``layout``)."""
    return {
        "classification": "parquet",
        "EXTERNAL": "TRUE",
        "cloudbridge:source_table": meta.table_id,
        "cloudbridge:primary_key": ",".join(meta.primary_key),
        "cloudbridge:op_column": meta.dms.op,
        "cloudbridge:timestamp_column": meta.dms.timestamp,
        "cloudbridge:change_sequence_column": meta.dms.change_sequence or "",
        "projection.enabled": "true",
        f"projection.{PARTITION_KEY}.type": "date",
        f"projection.{PARTITION_KEY}.format": layout.projection_format,
        f"projection.{PARTITION_KEY}.range": f"{layout.projection_start},NOW",
        f"projection.{PARTITION_KEY}.interval": "1",
        f"projection.{PARTITION_KEY}.interval.unit": layout.projection_unit,
        "storage.location.template": location_template,
    }


def partition_keys(layout: Layout = DAY) -> list[dict[str, str]]:
    """The one partition key: the date (or hour) folders."""
    return [{"name": PARTITION_KEY, "type": "string", "comment": f"{layout.projection_format} folder"}]


def location(bucket: str, meta: TableMetadata) -> str:
    """The table's raw-history prefix, as an S3 URI."""
    return f"s3://{bucket}/{meta.schema}/{meta.table}/"


def table_input(name: str, bucket: str, meta: TableMetadata, engine: str, layout: Layout = DAY) -> dict[str, Any]:
    """The whole definition in Glue API shape (boto3 ``glue.create_table(TableInput=…)``)."""
    where = location(bucket, meta)
    return {
        "Name": name,
        "Description": description(meta, engine),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters(meta, where + "${" + PARTITION_KEY + "}/", layout),
        "PartitionKeys": [
            {"Name": k["name"], "Type": k["type"], "Comment": k["comment"]} for k in partition_keys(layout)
        ],
        "StorageDescriptor": {
            "Location": where,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
            "Columns": [{"Name": c["name"], "Type": c["type"], "Comment": c["comment"]} for c in columns(meta)],
        },
    }


def description(meta: TableMetadata, engine: str) -> str:
    """The Glue description of a table's change history."""
    return f"{engine} {meta.table_id}: every validated change, one row per DMS record"
