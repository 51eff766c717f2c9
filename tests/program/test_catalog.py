"""Glue tables and published metadata, from the committed metadata files."""

import json

import pytest

from cloudbridge.plan import evaluate, read_stack_config
from components.metadata_files import glue_name_clashes
from components.workspace import metadata_root
from functions.common.layout import by_name
from functions.common.metadata import Column, TableMetadata, glue_type
from tests.program.test_config import fails

TABLE = "aws:glue/catalogTable:CatalogTable"


def committed(source):
    return {
        f"{p.parent.name}.{p.stem}": TableMetadata.from_json(p.read_text())
        for p in sorted((metadata_root() / source).glob("*/*.json"))
    }


def test_one_glue_table_per_selected_table(plan, stack):
    for source in read_stack_config(stack)["cloudbridge:sources"]:
        database = f"cb_{stack}_{source['name']}"
        declared = [r.inputs for r in plan.of_type(TABLE) if r.inputs["databaseName"] == database]
        tables = {t["name"] for t in declared if t["tableType"] == "EXTERNAL_TABLE"}
        current = {t["name"] for t in declared if t["tableType"] == "VIRTUAL_VIEW"}
        expected = {t.replace(".", "__") for t in source["tables"]}
        assert tables == expected and current == {f"{t}_current" for t in expected}


def test_glue_table_matches_metadata(plans):
    plan = plans("dev")
    raw = plan.outputs["pipelines"]["sales"]["rawHistoryBucket"]
    for meta in committed("sales").values():
        table = plan.named(f"sales-catalog-{meta.schema}-{meta.table}", TABLE).inputs
        storage = table["storageDescriptor"]
        assert storage["location"] == f"s3://{raw}/{meta.schema}/{meta.table}/"
        assert (
            storage["serDeInfo"]["serializationLibrary"]
            == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        )
        assert storage["inputFormat"].endswith("MapredParquetInputFormat")
        columns = [(c["name"], c["type"]) for c in storage["columns"]]
        assert columns == [
            ("Op", "string"),
            ("dms_commit_ts", "string"),
            *[(c.name, glue_type(c.type)) for c in meta.columns],
            ("dms_change_seq", "string"),
        ]
        params = table["parameters"]
        assert params["cloudbridge:primary_key"] == ",".join(meta.primary_key)
        assert params["cloudbridge:op_column"] == "Op"
        assert params["cloudbridge:timestamp_column"] == "dms_commit_ts"
        assert params["cloudbridge:change_sequence_column"] == "dms_change_seq"
        assert params["classification"] == "parquet" and table["tableType"] == "EXTERNAL_TABLE"


def test_partition_projection_matches_the_validator_layout(plans):
    """Validated files land at <schema>/<table>/YYYY/MM/DD[/HH]/ (functions/validator/routing.py),
    by day or by hour as the source's rawHistoryPartition says."""
    plan = plans("dev")
    raw = plan.outputs["pipelines"]["sales"]["rawHistoryBucket"]
    [source] = [s for s in read_stack_config("dev")["cloudbridge:sources"] if s["name"] == "sales"]
    folders = by_name(source.get("rawHistoryPartition", "day")).projection_format
    table = plan.named("sales-catalog-public-orders", TABLE).inputs
    params = table["parameters"]
    assert table["partitionKeys"] == [{"name": "dt", "type": "string", "comment": f"{folders} folder"}]
    assert params["projection.enabled"] == "true"
    assert params["projection.dt.type"] == "date" and params["projection.dt.format"] == folders
    assert params["projection.dt.range"].endswith(",NOW")
    assert params["storage.location.template"] == f"s3://{raw}/public/orders/${{dt}}/"


def test_metadata_is_published_where_the_validator_reads_it(plans):
    plan = plans("dev")
    meta_bucket = plan.outputs["pipelines"]["sales"]["metadataBucket"]
    objects = {
        r.inputs["key"]: r.inputs
        for r in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if r.inputs["bucket"] == meta_bucket
    }
    assert set(objects) == {f"{t.replace('.', '/')}.json" for t in committed("sales")}
    orders = objects["public/orders.json"]
    assert TableMetadata.from_json(orders["content"]) == committed("sales")["public.orders"]
    assert orders["serverSideEncryption"] == "aws:kms" and orders["contentType"] == "application/json"


def test_selected_table_without_metadata_is_a_config_error(stack_config):
    config = stack_config("dev")
    config["cloudbridge:sources"][0]["tables"].append("public.refunds")
    error = fails("dev", config)
    assert error.problems == [
        (
            "cloudbridge:sources[0].tables",
            "public.refunds has no table metadata (expected metadata/sales/public/refunds.json); "
            "run `python -m cloudbridge metadata extract --stack dev --source sales`",
        )
    ]


def test_wildcards_select_committed_tables(stack_config):
    config = stack_config("dev")
    config["cloudbridge:sources"][0]["tables"] = ["public.order%"]
    plan = evaluate("dev", config)
    names = {
        r.inputs["name"]
        for r in plan.of_type(TABLE)
        if r.inputs["databaseName"] == "cb_dev_sales" and r.inputs["tableType"] == "EXTERNAL_TABLE"
    }
    assert names == {"public__orders", "public__order_lines"}
    mappings = json.loads(
        plan.named("sales-replication-config", "aws:dms/replicationConfig:ReplicationConfig").inputs["tableMappings"]
    )
    assert mappings["rules"][0]["object-locator"] == {"schema-name": "public", "table-name": "order%"}


def test_metadata_of_another_engine_is_rejected(stack_config, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(metadata_root(), tmp_path / "metadata")
    path = tmp_path / "metadata/sales/public/orders.json"
    path.write_text(path.read_text().replace('"engine": "postgres"', '"engine": "mysql"'))
    monkeypatch.setenv("CLOUDBRIDGE_METADATA_DIR", str(tmp_path / "metadata"))
    error = fails("dev", stack_config("dev"))
    assert any("metadata/sales/public/orders.json describes mysql" in m for _, m in error.problems), error.problems


def test_tables_that_would_share_a_glue_table_are_a_config_error(stack_config, tmp_path, monkeypatch):
    """Glue lower-cases names: public.Orders beside public.orders would overwrite one Glue table."""
    import shutil

    config = stack_config("dev")
    relational = [i for i, s in enumerate(config["cloudbridge:sources"]) if s["engine"] != "dynamodb"]
    if not relational:
        pytest.skip("the dev stack has no relational source (test_glue_names_that_coincide covers the rule)")
    index = relational[0]
    source = config["cloudbridge:sources"][index]
    first = next(iter(committed(source["name"]).values()))
    shutil.copytree(metadata_root(), tmp_path / "metadata")
    twin = TableMetadata.from_dict({**first.to_dict(), "table": first.table.swapcase()})  # Oracle's are upper-case
    (tmp_path / f"metadata/{source['name']}/{first.schema}/{twin.table}.json").write_text(twin.to_json())
    monkeypatch.setenv("CLOUDBRIDGE_METADATA_DIR", str(tmp_path / "metadata"))
    source["tables"] = [first.table_id, twin.table_id]
    for key in ("addedTables", "excludeColumns"):  # both must name what tables selects
        source.pop(key, None)
    error = fails("dev", config)
    glue = f"{first.schema}__{first.table}".lower()
    ids = ", ".join(m.table_id for m in sorted((first, twin), key=lambda m: (m.schema, m.table)))
    assert twin.table != first.table
    assert error.problems == [
        (
            f"cloudbridge:sources[{index}].tables",
            f"tables {ids} would share the Glue table {glue} (Glue names are lower-case, "
            "other characters than letters, digits and _ become _): select only one of them",
        )
    ]


def test_glue_names_that_coincide():
    def meta(schema, table):
        return TableMetadata("s", "postgres", schema, table, (Column("id", "int64", nullable=False),), ("id",))

    tables = (
        meta("public", "Orders"),
        meta("public", "orders"),
        meta("public", "order-lines"),
        meta("public", "order_lines"),
    )
    clashes = glue_name_clashes(tables + (meta("sales", "orders"),))
    assert [c.split(" would")[0] for c in clashes] == [
        "tables public.order-lines, public.order_lines",
        "tables public.Orders, public.orders",
    ]
    assert glue_name_clashes((meta("public", "orders"), meta("sales", "orders"))) == []
