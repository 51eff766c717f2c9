"""The sandbox's event source mapping (cloudbridge/sandbox/stream_mapping.py) on moto's DynamoDB
Streams: records read through GetRecords, delivered in stream order in batches, a partial batch
failure retried from the reported record, a raising function bisected, what is given up on
described (not lost silently), and a parent shard read to its end before its child."""

from __future__ import annotations

import pytest
from moto import mock_aws

from cloudbridge.sandbox.stream_mapping import StreamMapping
from tests.support import dynamodb as support


@pytest.fixture
def table(monkeypatch):
    credentials = {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": support.REGION}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        arn = support.create_table()
        dynamodb = support.client("dynamodb")
        for n in range(1, 8):
            dynamodb.put_item(TableName="orders", Item=support.item(n))
        dynamodb.update_item(
            TableName="orders",
            Key={"id": {"S": "o-0002"}},
            UpdateExpression="SET qty = :q",
            ExpressionAttributeValues={":q": {"N": "20"}},
        )
        dynamodb.delete_item(TableName="orders", Key={"id": {"S": "o-0003"}})
        yield arn


class Function:
    """A function recording its events; ``fail`` decides, per invocation, what it answers."""

    def __init__(self, fail=lambda records, call: None):
        self.events: list[list[dict]] = []
        self.fail = fail

    def __call__(self, event, context):
        records = event["Records"]
        self.events.append(records)
        failed = self.fail(records, len(self.events))
        if failed == "raise":
            raise RuntimeError("timed out")
        return {"batchItemFailures": [] if failed is None else [{"itemIdentifier": failed}]}


def mapping(arn, function, described=None, **settings):
    settings = {"batch_size": 4, "window": 60.0, "max_retries": 2, **settings}
    sink = described if described is not None else []
    return StreamMapping(support.client("dynamodbstreams"), arn, function, on_failure=sink.append, **settings)


def sequences(records):
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def test_every_record_is_delivered_once_in_stream_order_in_lambdas_event_shape(table):
    function = Function()
    stream = mapping(table, function)
    stream.poll()  # 9 records read: two full batches of 4; the 9th waits for its window
    assert [len(e) for e in function.events] == [4, 4]
    stream.drain()
    assert [len(e) for e in function.events] == [4, 4, 1]
    delivered = [r for e in function.events for r in e]
    assert sequences(delivered) == sequences(support.stream_records(table))
    assert [r["eventName"] for r in delivered] == ["INSERT"] * 7 + ["MODIFY", "REMOVE"]
    first = delivered[0]
    assert first["eventSourceARN"] == table and isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    assert first["dynamodb"]["NewImage"]["photo"] == {"B": "AQEC"}, "binary travels as base64"
    assert delivered[-1]["dynamodb"]["OldImage"]["id"] == {"S": "o-0003"}
    assert stream.stats.records == 9 and stream.stats.batches == 3 and stream.stats.retries == 0


def test_a_partial_batch_failure_is_retried_from_the_reported_record(table):
    def fail(records, call):
        return records[2]["dynamodb"]["SequenceNumber"] if call == 1 else None

    function = Function(fail)
    stream = mapping(table, function, batch_size=9)
    stream.drain()
    first, retry = function.events
    assert sequences(retry) == sequences(first[2:]), "not retried from the reported record on"
    assert stream.stats.retries == 1 and stream.stats.given_up == []


def test_what_keeps_failing_is_described_on_the_on_failure_queue_after_the_retries(table):
    records = support.stream_records(table)
    stuck = records[5]["dynamodb"]["SequenceNumber"]

    def fail(batch, call):
        return stuck if stuck in sequences(batch) else None

    described = []
    function = Function(fail)
    stream = mapping(table, function, described, batch_size=9, max_retries=2)
    stream.drain()
    first, *retries = function.events
    assert len(retries) == 2 and all(sequences(r)[0] == stuck for r in retries), "two retries from the record"
    (message,) = described
    info = message["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == stuck and info["endSequenceNumber"] == sequences(records)[-1]
    assert info["batchSize"] == 4 and info["streamArn"] == table
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_a_function_error_retries_the_batch_in_halves(table):
    function = Function(lambda records, call: "raise" if call == 1 else None)
    stream = mapping(table, function, batch_size=8)
    stream.poll()
    assert [len(e) for e in function.events] == [8, 4, 4]
    assert stream.stats.errors == ["RuntimeError: timed out"] and stream.stats.given_up == []


class SplitStream:
    """A stream client whose shard split: the parent holds two records, the child one."""

    def __init__(self, parent_records, child_records):
        self.shards = {"parent": list(parent_records), "child": list(child_records)}
        self.reads: list[str] = []

    def describe_stream(self, **request):
        shards = [{"ShardId": "child", "ParentShardId": "parent"}, {"ShardId": "parent"}]  # listed child first
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, **request):
        return {"ShardIterator": request["ShardId"]}

    def get_records(self, **request):
        shard = request["ShardIterator"]
        self.reads.append(shard)
        records, self.shards[shard] = self.shards[shard][: request["Limit"]], []
        return {"Records": records}  # a closed shard read to its end: no NextShardIterator


def test_a_parent_shard_is_delivered_before_its_child(table):
    records = support.stream_records(table)
    streams = SplitStream(records[:2], records[2:3])
    function = Function()
    stream = StreamMapping(streams, table, function, batch_size=10, window=60, max_retries=1, on_failure=print)
    stream.poll()
    assert streams.reads == ["parent"] and [len(e) for e in function.events] == [2]
    stream.poll()
    assert streams.reads == ["parent", "child"] and [len(e) for e in function.events] == [2, 1]
