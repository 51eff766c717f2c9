"""``python -m cloudbridge metadata extract|diff`` on a DynamoDB source: each table's attributes from a
sample of its items (moto), declared as the converter lands them and checked by the converter's
own conversion; an attribute of two types refused; drift against the committed files."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from cloudbridge import cli, dynamodb_metadata, metadata
from functions.common import dynamodb as ddb
from functions.common.metadata import Column, TableMetadata
from tests.support import dynamodb as support

ENTRY = {"name": "basket", "engine": "dynamodb", "tables": ["orders"]}


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield


def run(monkeypatch, capsys, tmp_path, command="extract", entry=ENTRY, *extra):
    monkeypatch.setattr(metadata, "source_entry", lambda stack, source: entry)
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: support.client(service))
    code = metadata.main([command, "--source", entry["name"], "--metadata-dir", str(tmp_path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def put(*items, table="orders"):
    client = support.client("dynamodb")
    for item in items:
        client.put_item(TableName=table, Item=item)


def written(tmp_path, table="orders") -> TableMetadata:
    path = tmp_path / "basket" / "dynamodb" / f"{table}.json"
    return TableMetadata.from_json(path.read_text(), str(path))


def test_extract_declares_every_attribute_as_the_converter_lands_it(aws, monkeypatch, capsys, tmp_path):
    support.create_table()
    put(*(support.item(n) for n in range(1, 31)))
    code, out, err = run(monkeypatch, capsys, tmp_path)
    assert code == cli.OK, err
    meta = written(tmp_path)
    declared = {c.name: (c.type, c.source_type, c.nullable) for c in meta.columns}
    assert declared == {
        "id": ("string", "S", False),
        "qty": ("int64", "N", True),
        "price": ("decimal(38,1)", "N", True),  # n.5: one decimal place, the widest precision
        "code": ("int64", "N", True),
        "photo": ("binary", "B", True),
        "paid": ("bool", "BOOL", True),
        "tags": ("string", "SS", True),
        "scores": ("string", "NS", True),
        "blobs": ("string", "BS", True),
        "address": ("string", "M", True),
        "lines": ("string", "L", True),
    }
    assert [c.name for c in meta.columns][0] == "id" and meta.primary_key == ("id",)
    assert (meta.source, meta.engine, meta.schema, meta.table) == ("basket", "dynamodb", "dynamodb", "orders")
    assert all(ddb.declaration_problem(c) is None for c in meta.columns)
    # note: NULL in every item, so nothing says what it is; the operator is told
    assert "dynamodb.orders.note: only NULL in the sample, not declared" in err
    assert "dynamodb.orders: 30 item(s) sampled" in err
    # every sampled value lands in its declared column (the converter's own judgement)
    for item in support.scan():
        columns = {c.name: c for c in meta.columns}
        assert all(ddb.convert(v, columns[k])[0] for k, v in item.items() if k in columns)
    # unchanged table, unchanged file: extracting again writes nothing
    assert run(monkeypatch, capsys, tmp_path)[1].strip() == "metadata unchanged"


def test_an_attribute_of_two_types_is_refused_and_nothing_is_written(aws, monkeypatch, capsys, tmp_path):
    support.create_table()
    put(support.item(1), support.item(2, qty={"S": "two"}), support.item(3, Op={"S": "x"}))
    code, out, err = run(monkeypatch, capsys, tmp_path)
    assert code == cli.FINDINGS
    assert "dynamodb.orders.qty: N in 2 item(s), S in 1 item(s)" in err and "TYPE_MISMATCH" in err
    assert "dynamodb.orders.Op: named as a column the converter adds" in err
    assert not (tmp_path / "basket").exists()


def test_attribute_names_athena_cannot_tell_apart_are_refused(aws, monkeypatch, capsys, tmp_path):
    """DynamoDB keeps Qty and qty apart, Athena lower-cases them; dt would double the partition key."""
    support.create_table()
    put(support.item(1, Qty={"N": "3"}), support.item(2, dt={"S": "2026-12-06"}))
    code, out, err = run(monkeypatch, capsys, tmp_path)
    assert code == cli.FINDINGS
    assert "dynamodb.orders: column 'Qty' and column 'qty'" in err
    assert "dynamodb.orders: column 'dt' and partition key 'dt'" in err
    assert not (tmp_path / "basket").exists()


def test_a_composite_key_comes_first_partition_key_first_and_an_empty_table_keeps_its_key(
    aws, monkeypatch, capsys, tmp_path
):
    client = support.client("dynamodb")
    client.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "at", "KeyType": "RANGE"}, {"AttributeName": "user", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "user", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    code, out, err = run(monkeypatch, capsys, tmp_path, "extract", {**ENTRY, "tables": ["events"]})
    assert code == cli.OK, err
    meta = written(tmp_path, "events")
    assert meta.primary_key == ("user", "at")
    # no item to say whether the numbers are whole: their exact text
    assert [(c.name, c.type, c.source_type, c.nullable) for c in meta.columns] == [
        ("user", "string", "S", False),
        ("at", "string", "N", False),
    ]
    assert "dynamodb.events.at: numbers declared string (exact text)" in err


def test_the_sample_is_bounded(aws, monkeypatch, capsys, tmp_path):
    support.create_table()
    put(*(support.item(n) for n in range(1, 21)))
    code, out, err = run(monkeypatch, capsys, tmp_path, "extract", ENTRY, "--sample", "7")
    assert code == cli.OK and "dynamodb.orders: 7 item(s) sampled" in err
    assert run(monkeypatch, capsys, tmp_path, "extract", ENTRY, "--sample", "0")[0] == cli.USAGE


def test_diff_lists_undeclared_attributes_and_values_the_declaration_cannot_hold(aws, monkeypatch, capsys, tmp_path):
    support.create_table()
    put(*(support.item(n) for n in range(1, 6)))
    assert run(monkeypatch, capsys, tmp_path)[0] == cli.OK
    code, out, err = run(monkeypatch, capsys, tmp_path, "diff")
    assert code == cli.OK and "no drift: 1 table(s) of basket" in out

    put(support.item(6, price={"N": "6.125"}, gift={"S": "a card"}), support.item(7, qty={"N": "7.5"}))
    code, out, err = run(monkeypatch, capsys, tmp_path, "diff")
    assert code == cli.FINDINGS
    assert json.loads(out)["drift"] == [
        "dynamodb.orders.gift: attribute not declared (S in 1 item(s))",
        "dynamodb.orders.price: 1 N sampled value(s) the declaration (N as decimal(38,1)) cannot hold",
        "dynamodb.orders.qty: 1 N sampled value(s) the declaration (N as int64) cannot hold",
    ]


def test_diff_names_tables_added_or_dropped_and_a_changed_key():
    committed = {
        "dynamodb.orders": TableMetadata("basket", "dynamodb", "dynamodb", "orders", (), ("id",)),
        "dynamodb.old": TableMetadata("basket", "dynamodb", "dynamodb", "old", (), ("id",)),
    }
    key = {
        "KeySchema": [{"AttributeName": "sku", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "sku", "AttributeType": "S"}],
    }
    samples = [dynamodb_metadata.Sample("orders", key, []), dynamodb_metadata.Sample("cart-items", key, [])]
    assert dynamodb_metadata.drift(committed, samples) == [
        "dynamodb.orders: primary key ['id'] -> ['sku']",
        "dynamodb.cart_items: new table, no committed metadata",
        "dynamodb.old: table no longer in the source's tables",
    ]


# Numbers as DynamoDB holds them: up to 38 significant digits, any scale it allows.
numbers = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: len(d.as_tuple().digits) <= 38 and -130 < d.adjusted() < 126
)


@given(st.lists(numbers, min_size=1, max_size=20))
def test_a_proposed_number_declaration_holds_every_sampled_number_and_is_the_narrowest(values):
    texts = [format(v, "f") if abs(v.adjusted()) < 60 else str(v) for v in values]
    portable = dynamodb_metadata.number_type(texts)
    column = Column("n", portable, source_type="N")
    assert ddb.declaration_problem(column) is None
    assert all(ddb.convert({"N": t}, column)[0] for t in texts), portable
    whole = all(v == v.to_integral_value() and -(2**63) <= v < 2**63 for v in values)
    assert (portable == "int64") == whole
    if portable.startswith("decimal("):  # the smallest scale that holds them
        scale = int(portable[:-1].split(",")[1])
        assert scale == max(
            next(s for s in range(200) if (Fraction(Decimal(t)) * 10**s).denominator == 1) for t in texts
        )
