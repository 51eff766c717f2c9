"""Current-state views: one Trino text per table, deployed as an Athena view and run by the
sandbox through sqlglot's DuckDB translation."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from cloudbridge import dmsfiles
from cloudbridge.metadata import committed
from components import views
from components.workspace import metadata_root
from functions.common import generations
from functions.common.metadata import TableMetadata

VIEW = "aws:glue/catalogTable:CatalogTable"


def metadata_of(source):
    return committed(metadata_root(), source)


def test_every_table_has_its_view_in_the_athena_encoding(plan):
    databases = {r.given["name"]: r for r in plan.of_type("aws:glue/catalogDatabase:CatalogDatabase")}
    found = 0
    for resource in plan.of_type(VIEW):
        given = resource.given
        if given.get("tableType") != "VIRTUAL_VIEW":
            continue
        found += 1
        database = given["databaseName"]
        source = databases[database].given["parameters"]["cloudbridge:source"]
        changes = given["name"].removesuffix(views.VIEW_SUFFIX)
        meta = next(m for m in metadata_of(source).values() if f"{m.schema}__{m.table}" == changes)
        assert given["parameters"] == {"presto_view": "true", "comment": "Presto View"}
        assert given["viewExpandedText"] == "/* Presto View */"
        encoded = views.decode_view(given["viewOriginalText"])
        assert encoded["originalSql"] == views.current_state_sql(meta, database, changes)
        assert (encoded["catalog"], encoded["schema"]) == ("awsdatacatalog", database)
        assert [c["name"] for c in encoded["columns"]] == [c.name for c in meta.columns]  # DMS columns hidden
        assert [c["name"] for c in given["storageDescriptor"]["columns"]] == [c.name for c in meta.columns]
    # One database per source in each region it is catalogued in (the DR region's too).
    assert found == sum(
        len(metadata_of(d.given["parameters"]["cloudbridge:source"]))
        for d in plan.of_type("aws:glue/catalogDatabase:CatalogDatabase")
    )


@pytest.mark.parametrize("table", sorted(metadata_of("sales")))
def test_the_sql_parses_as_trino_and_reads_only_its_changes_table(table):
    meta = metadata_of("sales")[table]
    sql = views.current_state_sql(meta, "cb_dev_sales", f"{meta.schema}__{meta.table}")
    tree = sqlglot.parse_one(sql, read="trino", error_level=ErrorLevel.RAISE)
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    sources = {(t.db, t.name) for t in tree.find_all(exp.Table) if t.name not in ctes}
    assert sources == {("cb_dev_sales", f"{meta.schema}__{meta.table}")}
    assert [s.alias_or_name for s in tree.selects] == [c.name for c in meta.columns]


def test_a_table_without_an_ordering_column_gets_no_view_and_says_why():
    meta = metadata_of("sales")["public.orders"]
    plain = TableMetadata.from_dict(
        {**meta.to_dict(), "dmsColumns": {**meta.to_dict()["dmsColumns"], "changeSequence": None}}
    )
    with pytest.raises(views.NoOrderingColumnError, match="names no change-sequence column"):
        views.view_table_input(plain, "db", "public__orders")


def _current(meta, files, generations=True):
    """The translated view over parquet files standing in for the Glue table, each row with
    the "$path" of its file as Athena and Spectrum give it."""
    paths = ", ".join(f"'{f}'" for f in files)
    with duckdb.connect() as db:
        db.execute('create schema "cb"')
        db.execute(
            f'create view "cb"."{meta.schema}__{meta.table}" as select * exclude (filename), filename as "$path" '
            f"from read_parquet([{paths}], union_by_name=true, filename=true)"
        )
        return db.execute(
            views.duckdb_sql(meta, "cb", f"{meta.schema}__{meta.table}", generations=generations)
        ).fetchall()


def _seq(moment: str, n: int) -> str:
    return moment + f"{n:019d}"


# One products row, as the sample schema's metadata describes it.
PRODUCT = {
    "product_id": 1,
    "sku": "a",
    "name": "v1",
    "unit_price": None,
    "weight_kg": None,
    "stock": 1,
    "released_on": None,
}


def test_a_reload_replaces_the_earlier_load_and_only_later_changes_apply(tmp_path: Path):
    """Generation rule: the newest marked generation (by its start, not by arrival) counts:
    earlier loads and changes committed before it began are ignored; an unmarked reload is
    not visible yet."""
    meta = metadata_of("sales")["public.products"]
    row = dict(PRODUCT)
    first = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    reload = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    files = {
        # first load: 1, 2, 3 (two files)
        "2024/01/01/LOAD00000001-aa.parquet": dmsfiles.dms_table(
            meta, "load", [row, {**row, "product_id": 2}], timestamps=[dmsfiles.dms_timestamp(first)] * 2),
        "2024/01/01/LOAD00000002-ab.parquet": dmsfiles.dms_table(
            meta, "load", [{**row, "product_id": 3}], timestamps=[dmsfiles.dms_timestamp(first)]),
        # before the reload: 3 renamed, 5 inserted (both in the reload's snapshot too, or truncated away)
        "2024/01/01/20240101-120000000-ac.parquet": dmsfiles.dms_table(
            meta, "cdc", [{**row, "product_id": 3, "name": "old change"}, {**row, "product_id": 5}], ops=["U", "I"],
            timestamps=[dmsfiles.dms_timestamp(first.replace(hour=12))] * 2,
            positions=[_seq("20240101120000", 1), _seq("20240101120000", 2)]),
        # the reload (the source lost 2 and 5 to an uncaptured TRUNCATE-and-refill): 1, 3
        "2024/01/02/LOAD00000001-ba.parquet": dmsfiles.dms_table(
            meta, "load", [{**row, "name": "reloaded"}, {**row, "product_id": 3, "name": "reloaded"}],
            timestamps=[dmsfiles.dms_timestamp(reload)] * 2),
        # after the reload: 3 updated, 6 inserted
        "2024/01/02/20240102-120000000-bb.parquet": dmsfiles.dms_table(
            meta, "cdc", [{**row, "product_id": 3, "name": "after"}, {**row, "product_id": 6}], ops=["U", "I"],
            timestamps=[dmsfiles.dms_timestamp(reload.replace(hour=12))] * 2,
            positions=[_seq("20240102120000", 3), _seq("20240102120000", 4)]),
    }  # fmt: skip
    marker = generations.marker_table(meta, reload, reload + timedelta(minutes=1))
    files["2024/01/02/GENERATION-20240102-100000000000.parquet"] = marker
    paths = []
    for key, table in files.items():
        path = tmp_path / "public" / "products" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        dmsfiles.write(table, str(path))
        paths.append(path)
    expected = {1: "reloaded", 3: "after", 6: "v1"}
    for order in (paths, paths[::-1]):  # the file (arrival) order does not matter
        assert {r[0]: r[2] for r in _current(meta, order)} == expected
    union = {r[0]: r[2] for r in _current(meta, paths, generations=False)}
    assert {2, 5} <= set(union), "a plain union of both loads resurrects rows the reload dropped"
    unmarked = [p for p in paths if "GENERATION-" not in p.name]
    before = {1: "v1", 2: "v1", 3: "after", 5: "v1", 6: "v1"}  # the first load and every change
    assert {r[0]: r[2] for r in _current(meta, unmarked)} == before, "a reload shows only once complete"


def test_a_change_committed_between_the_read_and_the_first_load_row_is_kept(tmp_path: Path):
    """DMS stamps full-load rows when written, after the read: a change committed in
    between is not in the snapshot and its CDC row is older than every load row. The
    generation starts at the load's start (table statistics), so the change applies."""
    meta = metadata_of("sales")["public.products"]
    row = dict(PRODUCT)
    started = datetime(2024, 1, 2, 10, 0, 0, 250000, tzinfo=UTC)  # FullLoadStartTime; the read follows
    committed_at = started + timedelta(milliseconds=300)  # after the read, before the first row is written
    written = started + timedelta(seconds=2)
    files = {
        "LOAD00000001-aa.parquet": dmsfiles.dms_table(
            meta, "load", [row], timestamps=[dmsfiles.dms_timestamp(written)]),
        "20240102-100003000-ab.parquet": dmsfiles.dms_table(
            meta, "cdc", [{**row, "name": "window"}, {**row, "product_id": 2}], ops=["U", "I"],
            timestamps=[dmsfiles.dms_timestamp(committed_at)] * 2,
            positions=[dmsfiles.change_sequence(committed_at, 1), dmsfiles.change_sequence(committed_at, 2)]),
        "GENERATION-x.parquet": generations.marker_table(meta, started, written + timedelta(seconds=1)),
    }  # fmt: skip
    paths = []
    for name, table in files.items():
        paths.append(tmp_path / "public" / "products" / "2024" / "01" / "02" / name)
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        dmsfiles.write(table, str(paths[-1]))
    assert {r[0]: r[2] for r in _current(meta, paths)} == {1: "window", 2: "v1"}
    old_rule_start = dmsfiles.dms_timestamp(written)  # the first load row's stamp: the window falls before it
    assert dmsfiles.dms_timestamp(committed_at) < old_rule_start


def test_latest_change_wins_full_load_first_and_deletes_vanish(tmp_path: Path):
    """The translated view over DMS-shaped files: the semantics the sandbox relies on."""
    meta = metadata_of("sales")["public.products"]
    row = {**PRODUCT, "name": "first"}
    load = dmsfiles.dms_table(meta, "load", [row, {**row, "product_id": 2}, {**row, "product_id": 3}])
    cdc = dmsfiles.dms_table(
        meta, "cdc",
        [{**row, "name": "second"}, {**row, "product_id": 2}, {**row, "product_id": 4, "name": "new"}],
        ops=["U", "D", "I"],
        positions=["2024010100000000" + "0000000000000000002", "2024010100000000" + "0000000000000000001",
                   "2024010100000000" + "0000000000000000003"],
    )  # fmt: skip
    for name, table in (("LOAD00000001-aa.parquet", load), ("cdc.parquet", cdc)):
        dmsfiles.write(table, str(tmp_path / name))
    by_id = {r[0]: r for r in _current(meta, sorted(tmp_path.glob("*.parquet")))}
    assert sorted(by_id) == [1, 3, 4]  # 2 deleted
    assert by_id[1][2] == "second" and by_id[3][2] == "first" and by_id[4][2] == "new"


def test_one_enforced_encrypted_pinned_athena_workgroup_per_environment(plan, stack):
    from cloudbridge.plan import read_stack_config

    [workgroup] = [w for w in plan.of_type("aws:athena/workgroup:Workgroup") if plan.region_of(w) == plan.home_region]
    config = workgroup.given["configuration"]
    assert workgroup.given["name"] == f"cb-{stack}-analytics"
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["engineVersion"]["selectedEngineVersion"] == "Athena engine version 3"
    limit_gb = (read_stack_config(stack).get("cloudbridge:analytics") or {}).get("bytesScannedCutoffPerQueryGb", 100)
    assert config["bytesScannedCutoffPerQuery"] == limit_gb * 1024**3
    results = config["resultConfiguration"]
    key = plan.named("key", "aws:kms/key:Key").inputs["arn"]
    assert results["encryptionConfiguration"] == {"encryptionOption": "SSE_KMS", "kmsKeyArn": key}
    bucket = plan.named("analytics-results", "aws:s3/bucket:Bucket").given["bucket"]
    assert results["outputLocation"] == f"s3://{bucket}/"
    lifecycle = {r["id"]: r for r in plan.named("analytics-results-lifecycle").given["rules"]}
    assert lifecycle["expire-objects"]["expiration"]["days"] == 30
