"""The sandbox's DynamoDB comparison (cloudbridge/sandbox/basket.py): a scan's items in the lake's
values, worked out with boto3's deserialiser rather than the converter's code, must equal what the
converter writes for the same items — and must not equal it when the converter's text is off."""

from __future__ import annotations

import json

import pytest

from cloudbridge.metadata import committed
from cloudbridge.sandbox import analytics
from cloudbridge.sandbox.basket import SOURCE, CartTraffic, basket_source, scan_rows, view_row
from cloudbridge.sandbox.run import METADATA_ROOT
from cloudbridge.sandbox.stream_mapping import json_value
from functions.common import dynamodb as ddb


@pytest.fixture
def meta():
    (table,) = committed(METADATA_ROOT, SOURCE).values()
    return table


@pytest.fixture
def items():
    traffic = CartTraffic(dynamodb=None)
    return [traffic.item() for _ in range(30)]


def converted(meta, items) -> list[tuple]:
    """The converter's rows for these items (as the view returns them: the declared columns)."""
    batch = ddb.Batch(meta)
    for item in items:
        batch.add({k: json_value(v) for k, v in item.items()}, "I", "2024-01-01 00:00:00.000000", "")
    table = batch.table()
    return [tuple(row[c.name] for c in meta.columns) for row in table.to_pylist()]


def test_the_committed_metadata_declares_every_attribute_the_traffic_writes_but_one(meta, items):
    declared = {c.name for c in meta.columns}
    written = {name for item in items for name in item}
    assert written <= declared and meta.table_id == "dynamodb.cart_items"
    assert {c.source_type for c in meta.columns} == {"S", "N", "B", "BOOL", "M", "SS", "NS", "L"}
    assert not [c for c in meta.columns if ddb.declaration_problem(c)]
    assert basket_source(2.0).tables == ["cart-items"] and ddb.lake_table("cart-items") == meta.table


def test_a_scan_equals_the_converters_rows_for_the_same_items(meta, items):
    comparison = analytics.compare(meta, scan_rows(meta, items), [view_row(meta, r) for r in converted(meta, items)])
    assert comparison.source_rows == comparison.current_rows == 30
    assert comparison.differing_keys == set()


@pytest.mark.parametrize(
    "column, wrong",
    [
        ("ratings", lambda text: json.dumps(list(reversed(json.loads(text))))),  # a set not sorted
        ("options", lambda text: text.replace('"size":', '"size":1')),  # a number changed
        ("history", lambda text: text.replace("null", '"null"')),  # NULL as a string
    ],
)
def test_a_value_the_converter_got_wrong_is_a_difference(meta, items, column, wrong):
    rows = converted(meta, items)
    at = [c.name for c in meta.columns].index(column)
    rows[0] = (*rows[0][:at], wrong(rows[0][at]), *rows[0][at + 1 :])
    comparison = analytics.compare(meta, scan_rows(meta, items), [view_row(meta, r) for r in rows])
    assert comparison.different == [(items[0]["id"]["S"],)]
