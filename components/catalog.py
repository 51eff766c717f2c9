"""Catalog: the Glue database of one source and a table per source table, from metadata.

Tables read the validated parquet in raw-history, ``<schema>/<table>/YYYY/MM/DD/``, with
partition projection on the date folders: no crawler, no partition maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import Naming
from functions.common.metadata import TableMetadata, glue_type

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_KEY = "dt"
PROJECTION_START = "2020/01/01"


@dataclass(frozen=True)
class CatalogArgs:
    naming: Naming
    source_name: str
    engine: str
    raw_history_bucket_name: pulumi.Input[str]
    tables: tuple[TableMetadata, ...]


def glue_columns(meta: TableMetadata) -> list[aws.glue.CatalogTableStorageDescriptorColumnArgs]:
    """DMS columns as they appear in every file (Op, timestamp, data, stream position)."""
    columns = [(meta.dms.op, "string", "I/U/D")] if meta.dms.op_in_full_load else []
    columns.append((meta.dms.timestamp, "string", "DMS commit (CDC) or load time, yyyy-MM-dd HH:mm:ss.SSSSSS"))
    columns += [(c.name, glue_type(c.type), c.source_type) for c in meta.columns]
    columns.append((meta.dms.stream_position, "string", "DMS stream position: orders changes"))
    return [aws.glue.CatalogTableStorageDescriptorColumnArgs(name=n, type=t, comment=c or None) for n, t, c in columns]


class Catalog(pulumi.ComponentResource):
    database: aws.glue.CatalogDatabase
    tables: dict[str, aws.glue.CatalogTable]

    def __init__(self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:catalog:Catalog", name, None, opts)
        naming = args.naming
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=naming.glue_database(args.source_name),
            description=f"Validated change history of the {args.engine} source {args.source_name!r} (CloudBridge)",
            location_uri=pulumi.Output.concat("s3://", args.raw_history_bucket_name, "/"),
            parameters={"cloudbridge:source": args.source_name, "cloudbridge:engine": args.engine},
            tags=naming.tags(args.source_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.tables = {}
        for meta in args.tables:
            location = pulumi.Output.concat("s3://", args.raw_history_bucket_name, f"/{meta.schema}/{meta.table}/")
            self.tables[meta.table_id] = aws.glue.CatalogTable(
                f"{name}-{meta.schema}-{meta.table}",
                name=naming.glue_table(meta.schema, meta.table),
                database_name=self.database.name,
                description=f"{args.engine} {meta.table_id}: every validated change, one row per DMS record",
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "parquet",
                    "EXTERNAL": "TRUE",
                    "cloudbridge:source_table": meta.table_id,
                    "cloudbridge:primary_key": ",".join(meta.primary_key),
                    "cloudbridge:op_column": meta.dms.op,
                    "cloudbridge:timestamp_column": meta.dms.timestamp,
                    "cloudbridge:stream_position_column": meta.dms.stream_position,
                    "projection.enabled": "true",
                    f"projection.{PARTITION_KEY}.type": "date",
                    f"projection.{PARTITION_KEY}.format": "yyyy/MM/dd",
                    f"projection.{PARTITION_KEY}.range": f"{PROJECTION_START},NOW",
                    f"projection.{PARTITION_KEY}.interval": "1",
                    f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
                    "storage.location.template": pulumi.Output.concat(location, "${", PARTITION_KEY, "}/"),
                },
                partition_keys=[
                    aws.glue.CatalogTablePartitionKeyArgs(
                        name=PARTITION_KEY, type="string", comment="yyyy/MM/dd folder"
                    )
                ],
                storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                    location=location,
                    input_format=PARQUET_INPUT,
                    output_format=PARQUET_OUTPUT,
                    ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                        serialization_library=PARQUET_SERDE, parameters={"serialization.format": "1"}
                    ),
                    columns=glue_columns(meta),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"database": self.database.name, "tables": sorted(self.tables)})
