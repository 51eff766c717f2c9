"""Catalog: the Glue database describing one source's validated tables."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import Naming


@dataclass(frozen=True)
class CatalogArgs:
    naming: Naming
    source_name: str
    engine: str
    raw_history_bucket_name: pulumi.Input[str]


class Catalog(pulumi.ComponentResource):
    database: aws.glue.CatalogDatabase

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
        self.register_outputs({"database": self.database.name})
