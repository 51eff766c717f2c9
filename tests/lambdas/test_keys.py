"""Identifying schema, table and kind from a landing key."""

import pytest

from functions.common.keys import UnrecognizedKeyError, decode_event_key, parse_key


@pytest.mark.parametrize(
    "key,schema,table,kind,partition",
    [
        ("public/orders/LOAD00000001.parquet", "public", "orders", "load", None),
        ("public/orders/LOAD0000000A.parquet", "public", "orders", "load", None),
        ("public/orders/LOAD000001FF.parquet", "public", "orders", "load", None),
        ("public/orders/20221023-013830913.parquet", "public", "orders", "cdc", None),
        ("public/orders/2022/10/23/20221023-013830913.parquet", "public", "orders", "cdc", "2022/10/23"),
        ("Sales Schema/Order=Lines/LOAD00000002.parquet", "Sales Schema", "Order=Lines", "load", None),
        # CDC names vary with DMS settings and versions: anything but LOAD<8 hex> is CDC.
        ("public/orders/2022/10/23/20221023-0138309.parquet", "public", "orders", "cdc", "2022/10/23"),
        ("public/orders/20221023-013830913123.parquet", "public", "orders", "cdc", None),
        ("public/orders/load00000001.parquet", "public", "orders", "cdc", None),
        ("public/orders/LOAD0000001.parquet", "public", "orders", "cdc", None),
    ],
)
def test_dms_keys(key, schema, table, kind, partition):
    parsed = parse_key(key)
    assert (parsed.schema, parsed.table, parsed.kind, parsed.partition) == (schema, table, kind, partition)
    assert parsed.table_id == f"{schema}.{table}"


def test_bucket_folder_is_stripped():
    parsed = parse_key("dms/sales/public/orders/2024/01/31/20240131-235959999.parquet", bucket_folder="dms/sales")
    assert (parsed.schema, parsed.table, parsed.partition) == ("public", "orders", "2024/01/31")
    with pytest.raises(UnrecognizedKeyError, match="outside the bucket folder"):
        parse_key("public/orders/LOAD00000001.parquet", bucket_folder="dms/sales")


def test_same_table_in_two_schemas_does_not_collide():
    a, b = parse_key("sales/orders/LOAD00000001.parquet"), parse_key("archive/orders/LOAD00000001.parquet")
    assert a.table_id != b.table_id


@pytest.mark.parametrize(
    "key",
    [
        "orders/LOAD00000001.parquet",  # no schema
        "public/orders/notes.txt",  # not parquet
        "public/orders/2022/10/LOAD00000001.parquet",  # full load is never date-partitioned
        "public/orders/2022/10/20221023-013830913.parquet",  # incomplete date folders
        "public//orders/LOAD00000001.parquet",
    ],
)
def test_other_keys_are_rejected_with_the_key_named(key):
    with pytest.raises(UnrecognizedKeyError) as info:
        parse_key(key)
    assert repr(key) in str(info.value)


def test_event_keys_are_url_decoded():
    assert (
        decode_event_key("Sales+Schema/Order%3DLines/LOAD00000002.parquet")
        == "Sales Schema/Order=Lines/LOAD00000002.parquet"
    )
    assert decode_event_key("a%2Bb/t/LOAD00000001.parquet") == "a+b/t/LOAD00000001.parquet"
