"""Catalog: the Glue database of one source and a table per source table, from metadata.

Tables read the validated parquet in raw-history, ``<schema>/<table>/YYYY/MM/DD/``, with
partition projection on the date folders: no crawler, no partition maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import catalog_tables as defs
from components import views
from components.naming import Naming
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata
from functions.common.runtime import TAG_SOURCE


@dataclass(frozen=True)
class CatalogArgs:
    """Inputs of one source's Glue database."""

    naming: Naming
    source_name: str
    engine: str
    raw_history_bucket_name: pulumi.Input[str]
    tables: tuple[TableMetadata, ...]
    retain_database: bool = False
    # The source's compaction rewrites each view's text after every run (components/compaction.py):
    # the deploy leaves that text alone once the view exists.
    compacted: bool = False
    # The source's raw-history partitions (rawHistoryPartition): the projection's format and unit.
    layout: Layout = DAY


class Catalog(pulumi.ComponentResource):
    """One source's Glue database: a change table and a current-state view per table."""

    database: aws.glue.CatalogDatabase
    tables: dict[str, aws.glue.CatalogTable]

    def __init__(self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:catalog:Catalog", name, None, opts)
        self._prefix, self._args = name, args
        naming = args.naming
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=naming.glue_database(args.source_name),
            description=f"Validated change history of the {args.engine} source {args.source_name!r} (CloudBridge)",
            location_uri=pulumi.Output.concat("s3://", args.raw_history_bucket_name, "/"),
            parameters={TAG_SOURCE: args.source_name, "cloudbridge:engine": args.engine},
            tags=naming.tags(args.source_name),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_database),
        )
        self.tables = {meta.table_id: self._changes_table(meta) for meta in args.tables}
        self.views: dict[str, aws.glue.CatalogTable] = {}
        for meta in args.tables:
            view = self._current_state_view(meta)
            if view is not None:
                self.views[meta.table_id] = view
        self.register_outputs({"database": self.database.name, "tables": sorted(self.tables)})

    def _changes_table(self, meta: TableMetadata) -> aws.glue.CatalogTable:
        """The table's change history: parquet under its raw-history prefix, one partition a day (or hour)."""
        args = self._args
        location = pulumi.Output.concat("s3://", args.raw_history_bucket_name, f"/{meta.schema}/{meta.table}/")
        template = pulumi.Output.concat(location, "${", defs.PARTITION_KEY, "}/")
        return aws.glue.CatalogTable(
            f"{self._prefix}-{meta.schema}-{meta.table}",
            name=args.naming.glue_table(meta.schema, meta.table),
            database_name=self.database.name,
            description=defs.description(meta, args.engine),
            table_type="EXTERNAL_TABLE",
            parameters=defs.parameters(meta, template, args.layout),
            partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(**k) for k in defs.partition_keys(args.layout)],
            storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                location=location,
                input_format=defs.PARQUET_INPUT,
                output_format=defs.PARQUET_OUTPUT,
                ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                    serialization_library=defs.PARQUET_SERDE, parameters={"serialization.format": "1"}
                ),
                columns=[
                    aws.glue.CatalogTableStorageDescriptorColumnArgs(
                        name=c["name"], type=c["type"], comment=c["comment"] or None
                    )
                    for c in defs.columns(meta)
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _current_state_view(self, meta: TableMetadata) -> aws.glue.CatalogTable | None:
        """The table as it is now, as an Athena view; None (with a warning) without ordering."""
        naming = self._args.naming
        changes = naming.glue_table(meta.schema, meta.table)
        try:
            view = views.view_table_input(
                meta, naming.glue_database(self._args.source_name), changes, compacted=self._args.compacted
            )
        except views.NoOrderingColumnError as exc:
            pulumi.log.warn(f"no current-state view: {exc}", resource=self)
            return None
        sd = view["StorageDescriptor"]
        return aws.glue.CatalogTable(
            f"{self._prefix}-{meta.schema}-{meta.table}-current",
            name=view["Name"],
            database_name=self.database.name,
            description=view["Description"],
            table_type=view["TableType"],
            parameters=view["Parameters"],
            view_original_text=view["ViewOriginalText"],
            view_expanded_text=view["ViewExpandedText"],
            storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
                ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                    name=sd["SerdeInfo"]["Name"], serialization_library=sd["SerdeInfo"]["SerializationLibrary"]
                ),
                columns=[
                    aws.glue.CatalogTableStorageDescriptorColumnArgs(name=c["Name"], type=c["Type"])
                    for c in sd["Columns"]
                ],
            ),
            # With compaction the view's text is the compaction's: after the first deploy (the full
            # view), only a change of anything else (columns, description) writes the full text again,
            # until the next run. Turning compaction off changes the description, so the full view
            # comes back.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.tables[meta.table_id]],
                ignore_changes=["viewOriginalText"] if self._args.compacted else None,
            ),
        )
