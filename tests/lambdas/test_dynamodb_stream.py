"""The stream converter: DynamoDB Streams records (read through moto's GetRecords, delivered as the
Lambda event source mapping delivers them) to landing parquet the real validator passes, and whose
current state equals a scan of the table. Every DynamoDB type, deletes with the old image, a
mistyped and an undeclared attribute (quarantined with the reason, then replayed), a batch failing
half-way (partial batch failures: nothing lost), and the order of one item's changes across a
shard split."""

from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbridge.sandbox import analytics
from functions.common import dynamodb as ddb
from functions.common.dynamodb_env import DynamoDbEnv
from functions.common.metadata import Column
from functions.common.runtime import REASONS_TAG, glue_table_name
from functions.dynamodb_stream import handler as stream
from tests.support import dynamodb as support
from tests.support.moto_pipeline import FAIL, LANDING, META, RAW


@pytest.fixture
def shop(pipeline):
    """The moto pipeline with a DynamoDB table ``orders`` (stream on) and its metadata published."""
    meta = support.orders_metadata()
    pipeline.publish_metadata(meta)
    arn = support.create_table()
    converter = stream.StreamConverter(stream.Settings("test", "basket", LANDING, META), pipeline.s3)
    return pipeline, meta, arn, converter


def landed(pipeline) -> list[str]:
    return [k for k in pipeline.keys(LANDING) if k.startswith("dynamodb/")]


def read(pipeline, bucket: str, key: str):
    return pq.read_table(io.BytesIO(pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def current(pipeline, meta, tmp_path: Path) -> dict[str, tuple]:
    files = analytics.download(pipeline.s3, RAW, tmp_path).get(meta.table_id, [])
    rows = analytics.current_state(meta, files, "cb", glue_table_name(meta.schema, meta.table)) if files else []
    return {row[0]: tuple(row) for row in rows}


def test_every_dynamodb_type_lands_validates_and_equals_the_table(shop, tmp_path):
    pipeline, meta, arn, converter = shop
    dynamodb = support.client("dynamodb")
    for n in range(1, 6):
        dynamodb.put_item(TableName="orders", Item=support.item(n))
    dynamodb.update_item(
        TableName="orders",
        Key={"id": {"S": "o-0002"}},
        UpdateExpression="SET qty = :q, note = :n REMOVE photo",
        ExpressionAttributeValues={":q": {"N": "42"}, ":n": {"S": "gift"}},
    )
    dynamodb.delete_item(TableName="orders", Key={"id": {"S": "o-0003"}})
    event = support.lambda_event(support.stream_records(arn), arn)

    assert converter.handle(event) == {"batchItemFailures": []}
    (key,) = landed(pipeline)
    assert re.fullmatch(r"dynamodb/orders/\d{4}/\d{2}/\d{2}/\d{8}-\d{6}-\d+-7\.parquet", key), key
    table = read(pipeline, LANDING, key)
    assert table.column_names[:2] == ["Op", "dms_commit_ts"] and table.column_names[-1] == "dms_change_seq"
    assert table.column("Op").to_pylist() == ["I"] * 5 + ["U", "D"]
    sequences = table.column("dms_change_seq").to_pylist()
    assert all(len(s) == 40 and s.isdigit() for s in sequences) and sequences == sorted(sequences)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000000", t) for t in table.column("dms_commit_ts").to_pylist()
    )
    first = table.slice(0, 1).to_pylist()[0]
    assert first["qty"] == 1 and str(first["price"]) == "1.50" and first["code"] == "001"
    assert first["photo"] == bytes([1, 1, 2]) and first["paid"] is False and first["note"] is None
    assert first["tags"] == '["a","b","t1"]' and first["scores"] == "[1,2,10.5]"
    assert first["blobs"] == '["AAE=","AQ=="]'
    assert first["address"] == '{"city":"Leeds","tags":["x",true],"zip":12}'
    assert first["lines"] == '[{"n":1,"sku":"A"},null]'
    deleted = table.slice(6, 1).to_pylist()[0]
    assert deleted["id"] == "o-0003" and deleted["qty"] == 3  # the old image

    assert pipeline.validate(key) == {"batchItemFailures": []}
    assert landed(pipeline) == [] and pipeline.keys(FAIL) == []
    assert current(pipeline, meta, tmp_path) == {
        k: (k, *v[1:]) for k, v in support.lake_rows(support.scan(), meta).items()
    }


def test_a_mistyped_attribute_is_quarantined_naming_it(shop):
    pipeline, meta, arn, converter = shop
    dynamodb = support.client("dynamodb")
    dynamodb.put_item(TableName="orders", Item=support.item(1))
    dynamodb.put_item(TableName="orders", Item=support.item(2, qty={"S": "two"}))  # declared N
    converter.handle(support.lambda_event(support.stream_records(arn), arn))
    (key,) = landed(pipeline)
    assert str(read(pipeline, LANDING, key).schema.field("qty").type) == "struct<N: string, S: string>"
    pipeline.validate(key)
    (failed,) = pipeline.keys(FAIL)
    assert pipeline.tags(FAIL, failed)[REASONS_TAG] == "TYPE_MISMATCH"
    (alert,) = pipeline.alerts()
    assert "qty" in alert["Message"] and "struct<N: string, S: string>" in alert["Message"]


def test_an_undeclared_attribute_is_quarantined_then_replayed_once_declared(shop, tmp_path):
    from dataclasses import replace

    from cloudbridge.replay import replay
    from functions.common.metadata import Column

    pipeline, meta, arn, converter = shop
    support.client("dynamodb").put_item(TableName="orders", Item=support.item(1, colour={"S": "red"}))
    converter.handle(support.lambda_event(support.stream_records(arn), arn))
    (key,) = landed(pipeline)
    pipeline.validate(key)
    (failed,) = pipeline.keys(FAIL)
    assert pipeline.tags(FAIL, failed)[REASONS_TAG] == "UNEXPECTED_COLUMNS"
    assert current(pipeline, meta, tmp_path) == {}

    declared = replace(meta, columns=(*meta.columns, Column("colour", "string", source_type="S")))
    pipeline.publish_metadata(declared)  # the operator's fix, deployed
    outcome = replay(pipeline.s3, fail_bucket=FAIL, raw_bucket=RAW, metadata_bucket=META, say=lambda line: None)
    assert outcome.replayed == 1, outcome
    assert current(pipeline, declared, tmp_path / "after")["o-0001"][-1] == "red"


def test_a_table_without_metadata_lands_and_is_quarantined_as_unknown(pipeline):
    arn = support.create_table("returns")
    support.client("dynamodb").put_item(TableName="returns", Item={"id": {"S": "r1"}, "n": {"N": "1"}})
    converter = stream.StreamConverter(stream.Settings("test", "basket", LANDING, META), pipeline.s3)
    assert converter.handle(support.lambda_event(support.stream_records(arn), arn)) == {"batchItemFailures": []}
    (key,) = landed(pipeline)
    assert key.startswith("dynamodb/returns/")
    pipeline.validate(key)
    (failed,) = pipeline.keys(FAIL)
    assert pipeline.tags(FAIL, failed)[REASONS_TAG] == "UNKNOWN_TABLE"


class Mapping:
    """The event source mapping's documented handling of one shard's batches: invoke, and on a
    partial batch failure retry from the reported record (ReportBatchItemFailures) up to
    ``retries`` times, then hand the rest to the on-failure destination."""

    def __init__(self, converter, arn, retries=2):
        self.converter, self.arn, self.retries = converter, arn, retries
        self.on_failure: list[list[str]] = []

    def deliver(self, records):
        attempts = 0
        while records:
            response = self.converter.handle(support.lambda_event(records, self.arn))
            failures = response["batchItemFailures"]
            if not failures:
                return
            at = next(
                i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == failures[0]["itemIdentifier"]
            )
            if at:
                attempts = 0  # progress: the records before it are checkpointed
            records, attempts = records[at:], attempts + 1
            if attempts > self.retries:
                self.on_failure.append([r["dynamodb"]["SequenceNumber"] for r in records])
                return


def test_a_landing_write_that_fails_retries_the_whole_batch_nothing_lost_nothing_twice(shop, monkeypatch, tmp_path):
    pipeline, meta, arn, converter = shop
    for n in range(1, 11):
        support.client("dynamodb").put_item(TableName="orders", Item=support.item(n))
    calls = []
    put = pipeline.s3.put_object

    def flaky(**kwargs):
        calls.append(kwargs["Key"])
        if len(calls) == 1:
            raise RuntimeError("S3 unavailable")
        return put(**kwargs)

    monkeypatch.setattr(converter.s3, "put_object", flaky)
    first = converter.handle(support.lambda_event(support.stream_records(arn), arn))
    records = support.stream_records(arn)
    assert first == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    mapping = Mapping(converter, arn)
    mapping.deliver(records)
    assert mapping.on_failure == [] and len(landed(pipeline)) == 1
    pipeline.validate(*landed(pipeline))
    assert sorted(current(pipeline, meta, tmp_path)) == [f"o-{n:04d}" for n in range(1, 11)]


def test_a_batch_failing_half_way_lands_the_rows_before_and_reports_the_rest(shop, tmp_path):
    pipeline, meta, arn, converter = shop
    for n in range(1, 11):
        support.client("dynamodb").put_item(TableName="orders", Item=support.item(n))
    records = support.stream_records(arn)
    del records[5]["dynamodb"]["NewImage"]  # a record the converter cannot turn into a row
    response = converter.handle(support.lambda_event(records, arn))
    assert response == {"batchItemFailures": [{"itemIdentifier": records[5]["dynamodb"]["SequenceNumber"]}]}
    (key,) = landed(pipeline)
    assert read(pipeline, LANDING, key).num_rows == 5 and key.endswith("-5.parquet")

    mapping = Mapping(converter, arn, retries=2)
    mapping.deliver(records[5:])  # Lambda retries from the reported record on, then gives up on it
    assert mapping.on_failure == [[r["dynamodb"]["SequenceNumber"] for r in records[5:]]]
    pipeline.validate(*landed(pipeline))
    landed_ids = set(current(pipeline, meta, tmp_path))
    described = {r["dynamodb"]["Keys"]["id"]["S"] for r in records[5:]}
    assert landed_ids == {f"o-{n:04d}" for n in range(1, 6)}
    assert landed_ids | described == {f"o-{n:04d}" for n in range(1, 11)}, "a record neither landed nor reported"


def test_a_bisected_retry_lands_the_same_rows_again_and_the_view_applies_them_once(shop, tmp_path):
    pipeline, meta, arn, converter = shop
    dynamodb = support.client("dynamodb")
    for n in range(1, 5):
        dynamodb.put_item(TableName="orders", Item=support.item(n))
    dynamodb.delete_item(TableName="orders", Key={"id": {"S": "o-0002"}})
    records = support.stream_records(arn)
    converter.handle(support.lambda_event(records, arn))  # written, but the invocation then timed out
    converter.handle(support.lambda_event(records[:2], arn))  # Lambda bisects and retries both halves
    converter.handle(support.lambda_event(records[2:], arn))
    assert len(landed(pipeline)) == 3
    pipeline.validate(*landed(pipeline))
    assert sorted(current(pipeline, meta, tmp_path)) == ["o-0001", "o-0003", "o-0004"]


def shard_split_records(arn):
    """One item changed three times in one second: twice in a parent shard, once in its child
    (sequence numbers from DynamoDB's DescribeStream example: the child's range starts above the
    parent's, with more digits, so as unpadded text the child's sorts first)."""
    parent, child = "820400000000000001192334", "1683700000000000001135967"

    def record(name, op_image, seq, qty):
        image = support.item(7, qty={"N": str(qty)})
        change = {"ApproximateCreationDateTime": 1_709_640_000, "SequenceNumber": seq, "Keys": {"id": image["id"]}}
        change.update({op_image: image, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        return {"eventName": name, "dynamodb": change}

    return [
        record("INSERT", "NewImage", str(int(parent) + 1), 1),
        record("MODIFY", "NewImage", str(int(parent) + 2), 2),
        record("MODIFY", "NewImage", str(int(child) + 5), 3),  # after the split: the child shard
    ]


def test_one_items_changes_keep_their_order_across_a_shard_split(shop, tmp_path):
    pipeline, meta, arn, converter = shop
    parent, child = shard_split_records(arn)[:2], shard_split_records(arn)[2:]
    assert min(r["dynamodb"]["SequenceNumber"] for r in child) < max(r["dynamodb"]["SequenceNumber"] for r in parent)
    # Lambda processes the parent shard before the child: two batches, two files; files may be
    # validated in any order.
    for batch in (parent, child):
        converter.handle(support.lambda_event(batch, arn))
    keys = landed(pipeline)
    assert len(keys) == 2
    sequences = [s for k in keys for s in read(pipeline, LANDING, k).column("dms_change_seq").to_pylist()]
    assert sorted(sequences) == [ddb.change_sequence(r["dynamodb"]["SequenceNumber"]) for r in parent + child]
    for key in reversed(keys):
        pipeline.validate(key)
    assert current(pipeline, meta, tmp_path)["o-0007"][1] == 3  # the child's change is the latest


def test_the_change_sequence_is_the_sequence_number_padded_to_forty_digits():
    assert ddb.change_sequence("1100000000017454423009") == "0" * 18 + "1100000000017454423009"
    assert len(ddb.change_sequence("9" * 40)) == 40
    for bad in ("", "12a", "1" * 41, None):
        with pytest.raises(ddb.ConversionError):
            ddb.change_sequence(bad)


def test_the_converters_environment_is_spelled_in_one_place():
    from cloudbridge.plan import PROJECT_ROOT

    names = [v for k, v in vars(DynamoDbEnv).items() if not k.startswith("_") and v not in ("",)]
    home = PROJECT_ROOT / "functions" / "common" / "dynamodb_env.py"
    for name in (DynamoDbEnv.LANDING_BUCKET, DynamoDbEnv.EXPORT_BUCKET):
        spelled = [
            str(p.relative_to(PROJECT_ROOT))
            for root in ("components", "functions", "cloudbridge", "bootstrap")
            for p in (PROJECT_ROOT / root).rglob("*.py")
            if p != home and re.search(rf"[\"']{name}[\"']", p.read_text())
        ]
        assert spelled == [], f"{name} spelled outside dynamodb_env.py: {spelled}"
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "engine,sequence,passes",
    [
        ("dynamodb", "0" * 18 + "1100000000017454423009", True),
        ("dynamodb", "2024010100000000" + "1" * 19, False),  # the DMS form is not a DynamoDB table's
        ("postgres", "0" * 18 + "1100000000017454423009", False),  # nor the other way round
    ],
)
def test_the_validator_checks_each_engines_change_sequence_form(pipeline, engine, sequence, passes):
    from dataclasses import replace

    meta = support.orders_metadata() if engine == "dynamodb" else None
    if meta is None:
        from tests.support.moto_pipeline import orders_metadata

        meta = replace(orders_metadata(), schema="dynamodb")
    pipeline.publish_metadata(meta)
    batch = ddb.Batch(meta)
    batch.add({"id": {"S": "a"}}, "I", "2024-03-05 12:00:00.000000", sequence)
    table = batch.table()
    if engine != "dynamodb":  # a DMS table's file: its own columns
        from cloudbridge import dmsfiles

        table = dmsfiles.dms_table(meta, "cdc", [{"order_id": 1}], positions=[sequence])
    key = pipeline.land(f"dynamodb/orders/2024/03/05/x-{engine}.parquet", ddb.parquet_bytes(table))
    pipeline.validate(key)
    if passes:
        assert pipeline.keys(FAIL) == []
    else:
        (failed,) = pipeline.keys(FAIL)
        assert "INVALID_CHANGE_SEQUENCE" in pipeline.tags(FAIL, failed)[REASONS_TAG]


# DynamoDB numbers: up to 38 significant digits, magnitudes 1E-130 to 1E+125.
dynamodb_numbers = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: len(d.as_tuple().digits) <= 38 and -130 <= d.adjusted() <= 125
)


@given(dynamodb_numbers, st.integers(1, 38), st.integers(0, 38), st.booleans())
def test_a_declared_number_lands_exactly_when_it_fits_and_is_refused_otherwise(number, precision, scale, plain):
    """Reference: exact fractions. decimal(p,s) holds a number when number * 10^s is a whole number
    below 10^p; it lands as that number exactly, whatever its digits (Python's default context
    keeps 28 and rounded or raised on decimal(38,s) before)."""
    scale = min(scale, precision)
    text = format(number, "f") if plain and abs(number.adjusted()) < 60 else str(number)
    column = Column("n", f"decimal({precision},{scale})", source_type="N")
    fits, value = ddb.convert({"N": text}, column)
    scaled = Fraction(number) * 10**scale
    assert fits == (scaled.denominator == 1 and abs(scaled) < 10**precision), text
    if fits:
        assert Fraction(value) == Fraction(number) and -value.as_tuple().exponent == scale
        assert pa.array([value], pa.decimal128(precision, scale))[0].as_py() == value
    whole = Fraction(number).denominator == 1 and -(2**63) <= number < 2**63
    assert ddb.convert({"N": text}, Column("n", "int64", source_type="N")) == (
        (True, int(number)) if whole else (False, None)
    )
