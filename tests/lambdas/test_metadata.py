"""The metadata model: portable types, JSON round trip, clear errors."""

import json

import pyarrow as pa
import pytest

from functions.common.metadata import Column, MetadataError, TableMetadata, arrow_type, glue_type


def orders() -> TableMetadata:
    return TableMetadata(
        source="sales",
        engine="postgres",
        schema="public",
        table="orders",
        columns=(
            Column("order_id", "int64", nullable=False, source_type="bigint"),
            Column("amount", "decimal(12,2)"),
            Column("paid", "bool", accept=("string",)),
            Column("created_at", "timestamp(us)"),
        ),
        primary_key=("order_id",),
    )


@pytest.mark.parametrize(
    "portable,arrow,glue",
    [
        ("int16", pa.int16(), "smallint"),
        ("int64", pa.int64(), "bigint"),
        ("decimal(28,6)", pa.decimal128(28, 6), "decimal(28,6)"),
        ("timestamp(us)", pa.timestamp("us"), "timestamp"),
        ("timestamp(ms)", pa.timestamp("ms"), "timestamp"),
        ("time(ms)", pa.time32("ms"), "string"),
        ("time(us)", pa.time64("us"), "string"),
        ("date", pa.date32(), "date"),
        ("bool", pa.bool_(), "boolean"),
        ("binary", pa.binary(), "binary"),
        ("float32", pa.float32(), "float"),
    ],
)
def test_portable_types_map_to_arrow_and_glue(portable, arrow, glue):
    assert arrow_type(portable) == arrow
    assert glue_type(portable) == glue


def test_json_round_trip_is_stable():
    meta = orders()
    text = meta.to_json()
    assert TableMetadata.from_json(text) == meta
    assert TableMetadata.from_json(text).to_json() == text


def test_expected_columns_depend_on_kind():
    meta = orders()
    assert list(meta.expected_columns("cdc"))[:3] == ["Op", "dms_commit_ts", "dms_change_seq"]
    # Without Op in full-load files their rows could not be told from deletes: refused, naming the file.
    no_op = {**meta.to_dict(), "dmsColumns": {**meta.to_dict()["dmsColumns"], "opInFullLoad": False}}
    with pytest.raises(MetadataError, match=r"metadata of public/orders.json: dmsColumns.opInFullLoad must be true"):
        TableMetadata.from_dict(no_op, "public/orders.json")
    # Full-load rows carry no change sequence; CDC rows always do.
    assert meta.required_columns("load") == ("Op", "order_id", "dms_commit_ts")
    assert meta.required_columns("cdc") == ("Op", "order_id", "dms_commit_ts", "dms_change_seq")


def test_a_task_without_an_ordering_column_is_describable():
    """A task set up with only TimestampColumnName: no change-sequence column at all."""
    meta = orders()
    plain = TableMetadata.from_dict(
        {**meta.to_dict(), "dmsColumns": {**meta.to_dict()["dmsColumns"], "changeSequence": None}}
    )
    assert plain.dms.change_sequence is None
    assert set(plain.expected_columns("cdc")) == {"Op", "dms_commit_ts", *(c.name for c in plain.columns)}
    assert "dms_change_seq" not in plain.expected_columns("cdc") and "dms_change_seq" not in plain.required_columns(
        "cdc"
    )
    assert TableMetadata.from_json(plain.to_json()) == plain


def test_version_1_metadata_is_still_read():
    legacy = {**orders().to_dict(), "formatVersion": 1}
    legacy["dmsColumns"] = {"op": "Op", "timestamp": "dms_commit_ts", "streamPosition": "dms_stream_position"}
    assert TableMetadata.from_dict(legacy).dms.change_sequence == "dms_stream_position"


@pytest.mark.parametrize("shape", [[], "text", 3, {"formatVersion": 2, "columns": "x"}])
def test_metadata_of_the_wrong_shape_is_a_metadata_error(shape):
    with pytest.raises(MetadataError):
        TableMetadata.from_json(json.dumps(shape), "s3://meta/public/orders.json")


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda d: d["columns"][1].update(type="decimal(40,2)"), "column 'amount'"),
        (lambda d: d["columns"][1].update(type="numeric"), "unknown portable type 'numeric'"),
        (lambda d: d.update(primaryKey=["id"]), "primary key columns ['id']"),
        (lambda d: d["columns"].append({"name": "Op", "type": "string"}), "clash"),
        (lambda d: d.pop("table"), "missing key 'table'"),
        (lambda d: d.update(formatVersion=99), "formatVersion"),
    ],
)
def test_bad_metadata_names_table_and_column(change, words):
    data = json.loads(orders().to_json())
    change(data)
    with pytest.raises(MetadataError) as info:
        TableMetadata.from_dict(data, "metadata/sales/public/orders.json")
    assert "metadata/sales/public/orders.json" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    "added,words",
    [
        ("ORDER_ID", "column 'order_id' and column 'ORDER_ID'"),
        ("op", "column 'op' and DMS column 'Op'"),
        ("DMS_COMMIT_TS", "column 'DMS_COMMIT_TS' and DMS column 'dms_commit_ts'"),
        ("dt", "column 'dt' and partition key 'dt'"),
        ("Dt", "column 'Dt' and partition key 'dt'"),
        ("_cb_rank", "column '_cb_rank' starts with '_cb_'"),
        ("_CB_Start", "column '_CB_Start' starts with '_cb_'"),
    ],
)
def test_names_athena_cannot_tell_apart_are_refused(added, words):
    """Athena lower-cases names, and the Glue table holds the DMS columns and the partition key
    too: a duplicate there makes every query of the table fail, so the metadata is refused."""
    data = json.loads(orders().to_json())
    data["columns"].append({"name": added, "type": "string"})
    with pytest.raises(MetadataError) as info:
        TableMetadata.from_dict(data, "metadata/sales/public/orders.json")
    assert words in str(info.value) and "excludeColumns" in str(info.value)


def test_names_that_differ_otherwise_are_kept():
    data = json.loads(orders().to_json())
    data["columns"] += [{"name": n, "type": "string"} for n in ("dt_local", "opcode", "cb_rank", "order id")]
    assert len(TableMetadata.from_dict(data).columns) == 8
