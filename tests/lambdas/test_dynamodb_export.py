"""The export converter on a recorded DynamoDB table export (manifest-summary.json, manifest-files.json,
gzipped DYNAMODB_JSON data files, an empty partition's file: tests/fixtures/dynamodb_export, laid out
as DynamoDB documents its exports): LOAD files the real validator passes, counted against both
manifests, the generation's marker written only once every LOAD file has left landing, and with
the stream's changes of the export's second applied again on top — the table as it is."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cloudbridge.sandbox import analytics
from functions.common import dynamodb as ddb
from functions.common import generations
from functions.common.runtime import glue_table_name
from functions.dynamodb_export import handler as export
from functions.dynamodb_stream import handler as stream
from tests.support import dynamodb as support
from tests.support.moto_pipeline import GLUE_DATABASE, LANDING, META, RAW, REGION

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dynamodb_export"
EXPORT_BUCKET = "export"
SUMMARY = "exports/AWSDynamoDB/01700000000000-a1b2c3d4/manifest-summary.json"
EXPORT_TIME = datetime(2024, 3, 5, 12, 0, 7, 250000, tzinfo=UTC)  # the recorded summary's exportTime


class Clock:
    """A clock the converter's wait advances (no real sleeping); ``during_wait`` runs at each poll."""

    def __init__(self, during_wait=lambda: None):
        self.now, self.during_wait, self.polls = 0.0, during_wait, 0

    def sleep(self, seconds):
        self.now += seconds
        self.polls += 1
        self.during_wait()


@pytest.fixture
def recorded(pipeline):
    """The moto pipeline with an export bucket holding the recorded export, and the table's metadata."""
    pipeline.s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(p for p in FIXTURE.rglob("*") if p.is_file()):
        pipeline.s3.put_object(Bucket=EXPORT_BUCKET, Key=path.relative_to(FIXTURE).as_posix(), Body=path.read_bytes())
    meta = support.orders_metadata()
    pipeline.publish_metadata(meta)
    return pipeline, meta


def converter(pipeline, clock):
    settings = export.Settings("test", "basket", EXPORT_BUCKET, LANDING, RAW, META, GLUE_DATABASE)
    return export.ExportConverter(settings, pipeline.s3, pipeline.glue, sleep=clock.sleep, clock=lambda: clock.now)


def validator_takes_landing(pipeline):
    keys = [k for k in pipeline.keys(LANDING) if k.startswith("dynamodb/")]
    if keys:
        pipeline.validate(*keys)


def view(pipeline, meta, tmp_path):
    files = analytics.download(pipeline.s3, RAW, tmp_path)[meta.table_id]
    return {
        r[0]: tuple(r) for r in analytics.current_state(meta, files, "cb", glue_table_name(meta.schema, meta.table))
    }


def test_the_recorded_export_becomes_a_validated_marked_generation(recorded, tmp_path):
    pipeline, meta = recorded
    clock = Clock(lambda: validator_takes_landing(pipeline))
    event = {"Records": [pipeline.s3_record(SUMMARY, EXPORT_BUCKET)]}
    export._converter = converter(pipeline, clock)
    (outcome,) = export.handler(event, None)

    assert outcome["items"] == 7 and outcome["files"] == ["dynamodb/orders/LOAD00000001.parquet"]
    assert clock.polls >= 1, "the marker was written before the LOAD files were validated"
    marker = generations.marker_key(meta, EXPORT_TIME, EXPORT_TIME)
    assert outcome["marker"] == marker and marker in pipeline.keys(RAW)
    start, end = (
        pq.read_table(io.BytesIO(pipeline.s3.get_object(Bucket=RAW, Key=marker)["Body"].read()))
        .column("dms_commit_ts")
        .to_pylist()
    )
    assert (start, end) == ("2024-03-05 12:00:07.000000", "2024-03-05 12:00:09.000000")  # floored; ceil + 1 s
    load = [k for k in pipeline.keys(RAW) if "/LOAD00000001-" in k]
    rows = pq.read_table(io.BytesIO(pipeline.s3.get_object(Bucket=RAW, Key=load[0])["Body"].read()))
    assert set(rows.column("Op").to_pylist()) == {"I"} and set(rows.column("dms_change_seq").to_pylist()) == {""}
    assert set(rows.column("dms_commit_ts").to_pylist()) == {"2024-03-05 12:00:07.250000"}
    expected = support.lake_rows([support.item(n) for n in range(1, 8)], meta)
    assert view(pipeline, meta, tmp_path) == {k: (k, *v[1:]) for k, v in expected.items()}
    assert pipeline.partitions(meta)["2024/03/05"] == f"s3://{RAW}/dynamodb/orders/2024/03/05/"  # the marker's day

    again = converter(pipeline, Clock(lambda: validator_takes_landing(pipeline))).convert(SUMMARY, 60)
    assert again["marker"] is None, "a redelivered summary wrote the marker twice"


def test_the_changes_of_the_exports_second_are_applied_again_on_top(recorded, tmp_path):
    """The stream stamps changes to the second; the generation starts at the export time floored to
    it, so changes of that second, before the export (in it already) or after (not in it), apply."""
    pipeline, meta = recorded
    export._converter = converter(pipeline, Clock(lambda: validator_takes_landing(pipeline)))
    export.handler({"Records": [pipeline.s3_record(SUMMARY, EXPORT_BUCKET)]}, None)
    second = int(EXPORT_TIME.replace(microsecond=0).timestamp())

    def change(name, n, qty, at, seq, image="NewImage"):
        body = {"ApproximateCreationDateTime": at, "SequenceNumber": seq, image: support.item(n, qty={"N": str(qty)})}
        return {"eventName": name, "dynamodb": body}

    records = [
        change("MODIFY", 1, 900, second - 60, "100000000000000000101"),  # before the export: in it, ignored
        change("MODIFY", 2, 2, second, "100000000000000000102"),  # 12:00:07.1, before: in it, applied again
        change("REMOVE", 3, 3, second, "100000000000000000103", image="OldImage"),  # before: applied again
        change("MODIFY", 4, 44, second, "100000000000000000104"),  # 12:00:07.6, after: not in it, applied
        change("INSERT", 8, 8, second + 1, "100000000000000000105"),  # after
    ]
    arn = "arn:aws:dynamodb:eu-west-2:123456789012:table/orders/stream/2024-03-01T00:00:00.000"
    table_now = {n: support.item(n) for n in range(1, 8) if n != 3}
    table_now[4] = support.item(4, qty={"N": "44"})
    table_now[8] = support.item(8)
    stream.StreamConverter(stream.Settings("test", "basket", LANDING, META), pipeline.s3).handle(
        support.lambda_event(records, arn)
    )
    validator_takes_landing(pipeline)
    assert view(pipeline, meta, tmp_path) == {
        k: (k, *v[1:]) for k, v in support.lake_rows(list(table_now.values()), meta).items()
    }


def test_the_marker_waits_for_the_validator_and_is_not_written_without_it(recorded):
    pipeline, meta = recorded
    clock = Clock()  # nothing takes the LOAD files from landing
    with pytest.raises(export.ExportError, match="still in landing"):
        converter(pipeline, clock).convert(SUMMARY, seconds_left=60)
    assert not [k for k in pipeline.keys(RAW) if generations.MARKER_PREFIX in k]
    assert clock.now <= 60


def test_a_count_the_manifests_do_not_confirm_fails_the_conversion(recorded):
    pipeline, _ = recorded
    files = "exports/AWSDynamoDB/01700000000000-a1b2c3d4/manifest-files.json"
    body = (
        pipeline.s3.get_object(Bucket=EXPORT_BUCKET, Key=files)["Body"]
        .read()
        .replace(b'"itemCount": 4', b'"itemCount": 5')
    )
    pipeline.s3.put_object(Bucket=EXPORT_BUCKET, Key=files, Body=body)
    with pytest.raises(export.ExportError, match="its manifest entry says 5"):
        converter(pipeline, Clock()).convert(SUMMARY, 60)


def test_only_summary_manifests_start_a_conversion():
    keys = ["p/AWSDynamoDB/x/manifest-summary.json", "p/AWSDynamoDB/x/data/a.json.gz", "p/AWSDynamoDB/x/_started"]
    event = {"Records": [{"s3": {"object": {"key": k}}} for k in keys]}
    assert export.summary_keys(event) == ["p/AWSDynamoDB/x/manifest-summary.json"]


def test_moto_exports_data_in_the_same_dynamodb_json_lines(pipeline):
    """moto writes one data file and no manifest: its lines are what the converter reads."""
    import gzip

    support.create_table()
    dynamodb = support.client("dynamodb")
    for n in range(1, 4):
        dynamodb.put_item(TableName="orders", Item=support.item(n))
    pipeline.s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    table_arn = dynamodb.describe_table(TableName="orders")["Table"]["TableArn"]
    arn = dynamodb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=EXPORT_BUCKET, S3Prefix="exports", ExportFormat="DYNAMODB_JSON"
    )["ExportDescription"]["ExportArn"]
    assert dynamodb.describe_export(ExportArn=arn)["ExportDescription"]["ExportStatus"] in ("IN_PROGRESS", "COMPLETED")
    (key,) = [k for k in pipeline.keys(EXPORT_BUCKET) if "/data/" in k]
    body = gzip.decompress(pipeline.s3.get_object(Bucket=EXPORT_BUCKET, Key=key)["Body"].read())
    items = list(ddb.items_of(body.splitlines()))
    batch = ddb.Batch(support.orders_metadata())
    for entry in items:
        batch.add(entry, "I", "2024-03-05 12:00:07.000000", "")
    assert sorted(batch.table().column("id").to_pylist()) == ["o-0001", "o-0002", "o-0003"]
