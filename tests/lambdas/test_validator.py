"""The validator against moto S3/SNS/SQS with parquet files written exactly like DMS."""

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloudbridge import dmsfiles
from functions.common.runtime import ALERT_MARKERS
from functions.validator import findings, routing
from functions.validator import footer as pf
from tests.support.moto_pipeline import FAIL, LANDING, META, RAW, Pipeline, orders_metadata

WHEN = datetime(2024, 3, 5, 13, 45, 12, 345000, tzinfo=UTC)


def rows(n, start=1, **override):
    out = []
    for i in range(start, start + n):
        row = {
            "order_id": i,
            "customer_id": i % 97,
            "amount": Decimal(i % 1000) / 100 + Decimal("1.25"),
            "status": ["new", "paid", "shipped"][i % 3],
            "paid": i % 2 == 0,
            "ordered_on": date(2024, 3, 1),
            "created_at": datetime(2024, 3, 1, 12, 0, 0),
        }
        row.update(override)
        out.append(row)
    return out


def load_file(n=5, *, metadata=None, **kwargs):
    meta = metadata or orders_metadata()
    write_args = {k: kwargs.pop(k) for k in ("row_group_length", "statistics") if k in kwargs}
    return dmsfiles.to_bytes(
        dmsfiles.dms_table(meta, "load", kwargs.pop("data", None) or rows(n), **kwargs), **write_args
    )


def cdc_file(ops, *, metadata=None, **kwargs):
    meta = metadata or orders_metadata()
    data = rows(len(ops))
    stamps = [dmsfiles.dms_timestamp(WHEN)] * len(ops)
    return dmsfiles.to_bytes(dmsfiles.dms_table(meta, "cdc", data, ops=ops, timestamps=stamps, **kwargs))


def logs(capsys):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "cloudbridge.validated"], lines


# --- passing files ---------------------------------------------------------------------


def test_full_load_file_passes_and_moves_to_a_dated_deterministic_key(pipeline, capsys):
    key = pipeline.land("public/orders/LOAD0000000A.parquet", load_file(5))
    assert pipeline.validate(key) == {"batchItemFailures": []}
    assert pipeline.keys(LANDING) == []
    [moved] = pipeline.keys(RAW)
    head = pipeline.s3.head_object(Bucket=RAW, Key=moved)
    assert moved.startswith("public/orders/") and moved.endswith(".parquet") and "LOAD0000000A-" in moved
    stamp = head["LastModified"].strftime("%Y/%m/%d")  # landing date (the copy is as young)
    assert moved.split("/")[2:5] == stamp.split("/")
    assert head["Metadata"][routing.LANDING_KEY] == key
    assert pipeline.tags(RAW, moved) == {"cloudbridge-outcome": "passed"}
    [line], _ = logs(capsys)
    assert line["outcome"] == "passed" and line["table"] == "public.orders" and line["kind"] == "load"
    assert line["rows"] == 5 and line["reasons"] == [] and line["destination"] == f"s3://{RAW}/{moved}"
    assert 0 < line["bytesRead"] < line["bytes"] * 2 and line["durationMs"] >= 0


def test_cdc_file_in_date_folders_keeps_its_commit_date(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["I", "U", "D", "U"]))
    assert key == "public/orders/2024/03/05/20240305-134512345.parquet"
    assert pipeline.validate(key)["batchItemFailures"] == []
    [moved] = pipeline.keys(RAW)
    assert moved.startswith("public/orders/2024/03/05/20240305-134512345-")


def test_cdc_file_without_date_folders_is_dated_by_its_name(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN, partitioned=False), cdc_file(["I"]))
    pipeline.validate(key)
    assert pipeline.keys(RAW)[0].startswith("public/orders/2024/03/05/")


def _without_op_in_full_load(meta):
    """The table as a task without IncludeOpForFullLoad would write it (metadata refuses it)."""
    from dataclasses import replace

    return replace(meta, dms=replace(meta.dms, op_in_full_load=False))


def test_metadata_without_op_in_full_load_is_refused_naming_its_file(pipeline):
    """IncludeOpForFullLoad is always set: metadata saying otherwise is METADATA_INVALID, decided."""
    meta = orders_metadata()
    document = {**meta.to_dict(), "dmsColumns": {**meta.to_dict()["dmsColumns"], "opInFullLoad": False}}
    pipeline.s3.put_object(Bucket=META, Key="public/orders.json", Body=json.dumps(document).encode())
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3, metadata=_without_op_in_full_load(meta)))
    message = failed(pipeline, key)[findings.METADATA_INVALID]
    assert "public/orders.json" in message and "opInFullLoad must be true" in message


def test_boolean_written_as_string_is_quarantined_because_the_glue_boolean_cannot_read_it(pipeline):
    """The metadata accepts a string boolean, but Athena reads a parquet string column only as
    a string: what the validator passes, the catalog must read."""
    data = [dict(r, paid="true" if r["paid"] else "false") for r in rows(4)]
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(data=data, overrides={"paid": pa.string()}))
    assert "'paid' is string, metadata says bool" in failed(pipeline, key)[findings.TYPE_MISMATCH]


def test_statistics_decide_without_reading_data(pipeline, capsys):
    """PK null counts and a constant Op come from the footer: no column chunk is read."""
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(200_000, row_group_length=10_000))
    pipeline.validate(key)
    [line], _ = logs(capsys)
    assert line["outcome"] == "passed" and line["chunksScanned"] == 0
    assert line["bytesRead"] < line["bytes"] * 0.05, line
    assert line["getRequests"] <= 3


def test_mixed_op_values_are_decided_by_the_dictionary_page(pipeline, capsys):
    """Op dictionary-encoded in every page: its dictionary page bounds its values."""
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["I", "U", "D"] * 10))
    pipeline.validate(key)
    [line], _ = logs(capsys)
    assert line["outcome"] == "passed" and line["chunksScanned"] == 0


def test_scan_reads_each_row_group_in_one_get_with_its_op_dictionary(pipeline, capsys):
    """Without statistics the key and DMS columns are decoded; each row group's Op
    dictionary page rides in the same GET as its other chunks, never a GET of its own."""
    meta = orders_metadata()
    ops = ["I", "U", "D"] * 4_000
    table = dmsfiles.dms_table(meta, "cdc", rows(len(ops)), ops=ops)
    body = dmsfiles.to_bytes(table, statistics=False, row_group_length=1_000)
    assert pq.ParquetFile(io.BytesIO(body)).metadata.num_row_groups == 12
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), body)
    pipeline.validate(key)
    [line], _ = logs(capsys)
    assert line["outcome"] == "passed" and line["rows"] == 12_000 and line["chunksScanned"] > 0
    assert line["getRequests"] <= 2 + 12, line  # head + tail, then at most one GET per row group


def _bad_last_row_group() -> bytes:
    """12 row groups without statistics; row group 11 holds a null key and an Op of X."""
    ops = ["I", "U", "D"] * 4_000
    data = rows(len(ops))
    data[-1]["order_id"] = None
    ops[-2] = "X"
    table = dmsfiles.dms_table(orders_metadata(), "cdc", data, ops=ops)
    return dmsfiles.to_bytes(table, statistics=False, row_group_length=1_000, dictionary=False)


def _windows(body: bytes, limit: int, monkeypatch):
    from functions.validator import checks

    monkeypatch.setattr(checks, "WINDOW_BYTES", limit)
    monkeypatch.setattr(checks, "MIN_WINDOW_BYTES", limit)
    required = orders_metadata().required_columns("cdc")
    plan = checks._Plan(pf.parse(body[-65536:], len(body)), required, "Op", False)
    every = [(c.start, c.end) for cs in plan.decode.values() for c in cs]
    windows = plan.windows()
    placed = sorted((c.start, c.end) for w in windows for cs in w.decode.values() for c in cs)
    assert placed == sorted(every), "every planned chunk in exactly one window"
    return windows, len(checks.coalesce(every))


def test_windows_end_where_the_reads_have_gaps(monkeypatch):
    windows, gets = _windows(_bad_last_row_group(), 100_000, monkeypatch)
    assert len(windows) > 4 and sum(len(w.ranges()) for w in windows) == gets, "a boundary costs no GET"


@pytest.mark.parametrize("limit", [10_000, 100_000])
def test_nothing_is_lost_across_window_boundaries(pipeline, monkeypatch, limit):
    """Findings in the last row group are found whatever the windows. In both cases some row
    group's chunks are split across windows: a run one GET reads spans row groups here,
    and at 10 kB runs longer than the limit are split too."""
    body = _bad_last_row_group()
    windows, _ = _windows(body, limit, monkeypatch)
    assert any(sum(g in w.decode for w in windows) > 1 for g in range(12))
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), body)
    reasons = failed(pipeline, key)
    assert "'order_id' has 1 null(s) in row group 11" in reasons[findings.NULL_IN_REQUIRED_COLUMN]
    assert "['X'] in row group 11" in reasons[findings.INVALID_OP]


def test_mixed_plain_encoded_op_values_are_read_only_for_the_op_column(pipeline, capsys):
    meta = orders_metadata()
    table = dmsfiles.dms_table(meta, "cdc", rows(30), ops=["I", "U", "D"] * 10)
    others = [n for n in table.column_names if n != "Op"]
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), dmsfiles.to_bytes(table, dictionary=others))
    pipeline.validate(key)
    [line], _ = logs(capsys)
    assert line["outcome"] == "passed" and line["chunksScanned"] == 1


# --- failing files -----------------------------------------------------------------------


def failed(pipeline, key, capsys=None):
    result = pipeline.validate(key)
    assert result == {"batchItemFailures": []}, "a file that fails validation is not an error"
    assert pipeline.keys(LANDING) == []
    assert pipeline.keys(FAIL) == [key], "failed files keep their landing key in the fail bucket"
    head = pipeline.s3.head_object(Bucket=FAIL, Key=key)
    reasons = json.loads(head["Metadata"][routing.REASONS])
    tags = pipeline.tags(FAIL, key)
    assert tags["cloudbridge-outcome"] == "failed"
    assert tags["cloudbridge-reasons"].split() == sorted({r["code"] for r in reasons})
    return {r["code"]: r["message"] for r in reasons}


def test_schema_change_is_quarantined(pipeline):
    meta = orders_metadata()
    wider = orders_metadata(columns=meta.columns + (type(meta.columns[0])("discount", "decimal(5,2)"),))
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3, metadata=wider))
    reasons = failed(pipeline, key)
    assert set(reasons) == {findings.UNEXPECTED_COLUMNS} and "discount" in reasons[findings.UNEXPECTED_COLUMNS]


def test_missing_column_is_quarantined(pipeline):
    meta = orders_metadata()
    narrower = orders_metadata(columns=meta.columns[:-1])
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3, metadata=narrower))
    reasons = failed(pipeline, key)
    assert "created_at" in reasons[findings.MISSING_COLUMNS]


def test_op_missing_from_a_cdc_file_is_quarantined(pipeline):
    meta = orders_metadata()
    key = pipeline.land(
        dmsfiles.cdc_key("public", "orders", WHEN), load_file(3, metadata=_without_op_in_full_load(meta))
    )
    assert "'Op'" in failed(pipeline, key)[findings.MISSING_COLUMNS]


@pytest.mark.parametrize(
    "column,written,words",
    [
        ("amount", pa.decimal128(12, 3), "decimal128(12, 3)"),
        ("amount", pa.decimal128(14, 2), "decimal128(14, 2)"),
        ("created_at", pa.timestamp("ms"), "timestamp[ms]"),
        ("customer_id", pa.int64(), "int64"),
        ("status", pa.binary(), "binary"),
    ],
)
def test_exact_types_are_enforced(pipeline, column, written, words):
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3, overrides={column: written}))
    reasons = failed(pipeline, key)
    assert set(reasons) == {findings.TYPE_MISMATCH}
    assert f"'{column}'" in reasons[findings.TYPE_MISMATCH] and words in reasons[findings.TYPE_MISMATCH]


def test_boolean_as_string_is_rejected_when_metadata_does_not_allow_it(pipeline):
    meta = orders_metadata()
    strict = orders_metadata(columns=tuple(type(c)(c.name, c.type) if c.name == "paid" else c for c in meta.columns))
    pipeline.publish_metadata(strict)
    data = [dict(r, paid="true") for r in rows(2)]
    key = pipeline.land(
        "public/orders/LOAD00000001.parquet", load_file(data=data, metadata=strict, overrides={"paid": pa.string()})
    )
    assert findings.TYPE_MISMATCH in failed(pipeline, key)


def test_null_primary_key_found_by_statistics(pipeline, capsys):
    data = rows(25_000)
    data[-1]["order_id"] = None  # last row group
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(data=data, row_group_length=10_000))
    reasons = failed(pipeline, key)
    assert "row group 2" in reasons[findings.NULL_IN_REQUIRED_COLUMN]
    [line], _ = logs(capsys)
    assert line["chunksScanned"] == 0


def test_null_primary_key_found_by_reading_when_statistics_are_missing(pipeline, capsys):
    data = rows(25_000)
    data[-1]["order_id"] = None
    no_stats = ["Op", "dms_commit_ts", "customer_id", "status", "dms_stream_position"]
    key = pipeline.land(
        "public/orders/LOAD00000001.parquet", load_file(data=data, row_group_length=10_000, statistics=no_stats)
    )
    reasons = failed(pipeline, key)
    assert "'order_id' has 1 null(s) in row group 2" in reasons[findings.NULL_IN_REQUIRED_COLUMN]
    [line], _ = logs(capsys)
    assert line["chunksScanned"] == 3  # order_id in each row group, nothing else


def test_invalid_op_values(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["I", "X", "U", "E"]))
    assert "['E', 'X']" in failed(pipeline, key)[findings.INVALID_OP]


def test_invalid_constant_op_decided_by_statistics(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["Q", "Q"]))
    assert findings.INVALID_OP in failed(pipeline, key)


def test_null_op_is_a_null_in_a_required_column(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["I", None]))
    assert "'Op'" in failed(pipeline, key)[findings.NULL_IN_REQUIRED_COLUMN]


def test_file_without_rows(pipeline):
    key = pipeline.land(
        "public/orders/LOAD00000001.parquet", dmsfiles.to_bytes(dmsfiles.dms_table(orders_metadata(), "load", []))
    )
    assert set(failed(pipeline, key)) == {findings.NO_ROWS}


def test_zero_byte_file(pipeline):
    key = pipeline.land("public/orders/LOAD00000001.parquet", b"")
    assert set(failed(pipeline, key)) == {findings.EMPTY_FILE}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda data: b"id,amount\n1,2.50\n" * 10,  # CSV
        lambda data: data[: len(data) // 2],  # truncated upload
        lambda data: data[:-8] + b"\x00\x00\x00\x00PAR1",  # footer length broken
        lambda data: data[:-200] + b"\xff" * 192 + data[-8:],  # corrupt footer
        lambda data: b"PAR1",  # too small
    ],
    ids=["csv", "truncated", "footer-length", "corrupt-footer", "tiny"],
)
def test_corrupt_or_non_parquet_files(pipeline, mangle):
    key = pipeline.land("public/orders/LOAD00000001.parquet", mangle(load_file(20)))
    assert set(failed(pipeline, key)) == {findings.NOT_PARQUET}


def test_unknown_table(pipeline):
    key = pipeline.land("public/refunds/LOAD00000001.parquet", load_file(2))
    assert "public.refunds" in failed(pipeline, key)[findings.UNKNOWN_TABLE]


def test_unrecognised_key(pipeline):
    key = pipeline.land("public/orders/export.csv", b"a,b\n")
    assert "export.csv" in failed(pipeline, key)[findings.UNRECOGNIZED_KEY]


def test_same_table_name_in_two_schemas_uses_each_schemas_metadata(pipeline):
    archive = orders_metadata(schema="archive", columns=orders_metadata().columns[:3])
    pipeline.publish_metadata(archive)
    good = pipeline.land("archive/orders/LOAD00000001.parquet", load_file(2, metadata=archive))
    wrong = pipeline.land("public/orders/LOAD00000001.parquet", load_file(2, metadata=archive))
    pipeline.validate(good, wrong)
    assert [k.split("/")[0] for k in pipeline.keys(RAW)] == ["archive"]
    assert pipeline.keys(FAIL) == [wrong]


def test_url_encoded_keys_with_spaces_and_equals(pipeline):
    schema_meta = orders_metadata(schema="Sales Data", table="order=lines")
    pipeline.publish_metadata(schema_meta)
    key = pipeline.land("Sales Data/order=lines/LOAD00000001.parquet", load_file(2, metadata=schema_meta))
    record = pipeline.sqs_record(key)
    assert "Sales+Data/order%3Dlines" in record["body"]
    assert pipeline.run(record)["batchItemFailures"] == []
    assert pipeline.keys(RAW)[0].startswith("Sales Data/order=lines/")


# --- routing under redelivery and crashes ------------------------------------------------


def test_redelivered_and_duplicate_events_leave_one_copy(pipeline):
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3))
    twice = pipeline.sqs_record(key, key)  # one message announcing the key twice
    assert pipeline.run(twice, pipeline.sqs_record(key))["batchItemFailures"] == []
    assert pipeline.validate(key)["batchItemFailures"] == []  # redelivered later: already moved
    assert len(pipeline.versions(RAW)) == 1 and pipeline.keys(LANDING) == []


def test_crash_between_copy_and_delete(pipeline, monkeypatch):
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3))
    bad = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["X"]))
    real_delete = routing.delete_landing

    def crash(s3, obj):
        raise ConnectionError("Lambda timed out")

    monkeypatch.setattr(routing, "delete_landing", crash)
    record = pipeline.sqs_record(key, bad)
    assert pipeline.run(record)["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert pipeline.keys(LANDING) == sorted([key, bad]), "nothing is deleted before it is safe"

    monkeypatch.setattr(routing, "delete_landing", real_delete)
    assert pipeline.run(record)["batchItemFailures"] == []
    assert pipeline.keys(LANDING) == []
    assert len(pipeline.versions(RAW)) == 1 and pipeline.versions(FAIL) == [bad]


def test_replaced_landing_object_is_not_deleted(pipeline):
    """DMS rewrote the key after validation began: the new bytes stay for their own event."""
    key = pipeline.land("public/orders/LOAD00000001.parquet", load_file(3))
    outcome = pipeline.validator.check(LANDING, key)
    pipeline.land(key, load_file(4))
    assert routing.delete_landing(pipeline.s3, outcome.pending_delete) == "replaced"
    assert pipeline.keys(LANDING) == [key]


def test_missing_object_is_not_an_error(pipeline, capsys):
    result = pipeline.validate("public/orders/LOAD00000009.parquet")
    assert result["batchItemFailures"] == []
    [line], _ = logs(capsys)
    assert line["outcome"] == "absent"


def test_large_files_are_copied_in_parts(pipeline, monkeypatch):
    monkeypatch.setattr(routing, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    pipeline.validator.transfer = type(pipeline.validator.transfer)(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    # Unique statuses: incompressible enough to exceed the threshold with few rows.
    data = load_file(
        data=[dict(r, status=f"status-{r['order_id']:012d}") for r in rows(300_000)], row_group_length=10_000
    )
    assert len(data) > 10 * 1024 * 1024
    key = pipeline.land("public/orders/LOAD00000001.parquet", data)
    pipeline.validate(key)
    [moved] = pipeline.keys(RAW)
    head = pipeline.s3.head_object(Bucket=RAW, Key=moved)
    assert head["ContentLength"] == len(data) and "-" in head["ETag"]  # a multipart ETag
    assert head["Metadata"][routing.SOURCE_ETAG]
    assert pipeline.tags(RAW, moved) == {"cloudbridge-outcome": "passed"}


# --- batches ------------------------------------------------------------------------------


def test_partial_batch_failure_reports_only_the_broken_record(pipeline):
    good = pipeline.land("public/orders/LOAD00000001.parquet", load_file(2))
    bad = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["Z"]))
    poison = pipeline.sqs_record(body="not json")
    test_event = pipeline.sqs_record(body=json.dumps({"Event": "s3:TestEvent", "Bucket": LANDING}))
    result = pipeline.run(pipeline.sqs_record(good), poison, pipeline.sqs_record(bad), test_event)
    assert result == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert len(pipeline.keys(RAW)) == 1 and pipeline.keys(FAIL) == [bad]


def test_poison_message_ends_in_the_dead_letter_queue(pipeline):
    """With the pipeline's redrive policy, a message that always fails is parked, not looped."""
    sqs = pipeline.sqs
    dlq = sqs.create_queue(QueueName="validator-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="validator",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            "VisibilityTimeout": "0",
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{truncated")
    for _ in range(6):  # the Lambda poller: receive, invoke, delete what succeeded
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            continue
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]}
        failed_ids = {f["itemIdentifier"] for f in pipeline.run(*event["Records"])["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed_ids:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    parked = sqs.receive_message(QueueUrl=dlq).get("Messages", [])
    assert [m["Body"] for m in parked] == ["{truncated"]


# --- observability ------------------------------------------------------------------------


def test_one_alert_per_batch_grouped_by_table(pipeline):
    keys = [
        pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN.replace(second=s)), cdc_file(["X"])) for s in range(3)
    ]
    keys.append(pipeline.land("public/refunds/LOAD00000001.parquet", load_file(1)))
    keys.append(pipeline.land("public/orders/LOAD00000001.parquet", load_file(1)))
    pipeline.validate(*keys)
    [envelope] = pipeline.alerts()
    message = json.loads(envelope["Message"])
    assert message["type"] == "cloudbridge.validation_failures" and message["failedFiles"] == 4
    assert message["source"] == "sales" and message["environment"] == "test"
    tables = {t["table"]: t for t in message["tables"]}
    assert tables["public.orders"]["files"] == 3 and tables["public.orders"]["reasons"] == {findings.INVALID_OP: 3}
    assert tables["public.refunds"]["reasons"] == {findings.UNKNOWN_TABLE: 1}
    assert "4 file(s) of sales failed validation" in envelope["Subject"]


def test_no_alert_when_everything_passes(pipeline):
    pipeline.validate(pipeline.land("public/orders/LOAD00000001.parquet", load_file(1)))
    assert pipeline.alerts() == []


def test_failed_files_stay_in_landing_until_the_alert_is_published(pipeline, monkeypatch):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["X"]))
    good = pipeline.land("public/orders/LOAD00000001.parquet", load_file(1))

    def down(**kwargs):
        raise ConnectionError("SNS unavailable")

    monkeypatch.setattr(pipeline.sns, "publish", down)
    record, good_record = pipeline.sqs_record(key), pipeline.sqs_record(good)
    assert pipeline.run(record, good_record)["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert pipeline.keys(LANDING) == [key]
    monkeypatch.undo()
    assert pipeline.run(record)["batchItemFailures"] == []
    assert pipeline.keys(LANDING) == [] and len(pipeline.alerts()) == 1


def test_an_alert_that_cannot_be_claimed_retries_only_its_own_message(pipeline, monkeypatch):
    """An S3 error on a failed file's alert marker costs that message a retry, nothing more:
    the other files of the batch are routed and their messages done."""
    from botocore.exceptions import ClientError

    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["X"]))
    good = pipeline.land("public/orders/LOAD00000001.parquet", load_file(1))
    put = pipeline.s3.put_object

    def flaky(**kwargs):
        if kwargs["Key"].startswith(ALERT_MARKERS):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "PutObject")
        return put(**kwargs)

    monkeypatch.setattr(pipeline.s3, "put_object", flaky)
    record, good_record = pipeline.sqs_record(key), pipeline.sqs_record(good)
    assert pipeline.run(record, good_record)["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert pipeline.keys(LANDING) == [key], "the passing file is done; the failing one waits for its alert"
    assert pipeline.alerts() == []
    monkeypatch.undo()
    assert pipeline.run(record)["batchItemFailures"] == []
    assert pipeline.keys(LANDING) == [] and len(pipeline.alerts()) == 1


def test_log_lines_carry_level_service_request_id_and_cold_start(pipeline, capsys):
    from functions.validator import handler as module

    context = type("Context", (), {"aws_request_id": "req-1"})()
    module.lambda_keys.cold = True
    module.lambda_keys(module.LOG, context)
    pipeline.validate(pipeline.land("public/orders/LOAD00000001.parquet", load_file(2)))
    [line], _ = logs(capsys)
    assert line["level"] == "INFO" and line["service"] == "cloudbridge-validator"
    assert line["function_request_id"] == "req-1" and line["cold_start"] is True
    module.lambda_keys(module.LOG, context)
    pipeline.validate(pipeline.land("public/orders/LOAD00000002.parquet", load_file(2)))
    [line], _ = logs(capsys)
    assert line["cold_start"] is False


def test_emf_metrics_per_batch(pipeline, capsys):
    pipeline.validate(
        pipeline.land("public/orders/LOAD00000001.parquet", load_file(7)),
        pipeline.land("public/orders/LOAD00000002.parquet", b""),
    )
    _, lines = logs(capsys)
    [emf] = [line for line in lines if "_aws" in line]
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "CloudBridge/Validator"
    assert directive["Dimensions"] == [["Environment", "Source"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"FilesPassed", "FilesFailed", "RowsValidated", "BytesRead"}
    # EMF values as Powertools writes them: one datapoint each, as a list
    assert (emf["FilesPassed"], emf["FilesFailed"], emf["RowsValidated"]) == ([1], [1], [7])
    assert emf["Source"] == "sales" and emf["BytesRead"][0] > 0
    assert "service" not in emf, "no extra dimension: the alarms match Environment and Source exactly"


def test_metadata_is_fetched_once_per_table_and_never_listed(pipeline, monkeypatch):
    calls = []
    real = pipeline.s3.list_objects_v2
    monkeypatch.setattr(pipeline.s3, "list_objects_v2", lambda **kw: calls.append(kw) or real(**kw))
    keys = [pipeline.land(f"public/orders/LOAD{n:08X}.parquet", load_file(1)) for n in range(1, 6)]
    pipeline.validate(*keys)
    pipeline.validate(pipeline.land("public/orders/LOAD00000010.parquet", load_file(1)))
    assert pipeline.metadata_store.fetches == 1 and calls == []


def test_metadata_cache_expires_so_deploys_are_picked_up(aws):
    from functions.validator.metadata_store import MetadataStore

    p = Pipeline()
    now = [0.0]
    store = MetadataStore(p.s3, "metadata", ttl=300, clock=lambda: now[0])
    assert store.get("public", "orders") is None
    p.publish_metadata(orders_metadata())
    assert store.get("public", "orders") is None  # cached miss
    now[0] = 301
    assert store.get("public", "orders") == orders_metadata()
    assert store.fetches == 2


# --- large files --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_row_file_is_streamed_with_bounded_memory(pipeline, capsys):
    """Statistics cannot decide the PK here (DMS wrote none for it), so the validator must
    read that one column row group by row group: memory stays at about one row group."""
    n = 1_050_000
    table = dmsfiles.synthetic_table(orders_metadata(), "load", n, null_at={"order_id": n - 1})
    no_pk_stats = [c for c in table.column_names if c != "order_id"]
    data = dmsfiles.to_bytes(table, statistics=no_pk_stats)
    del table
    key = pipeline.land("public/orders/LOAD00000001.parquet", data)

    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        reasons = failed(pipeline, key)
    finally:
        pa.set_memory_pool(previous)
    assert f"'order_id' has 1 null(s) in row group {(n - 1) // 10_000}" in reasons[findings.NULL_IN_REQUIRED_COLUMN]
    [line], _ = logs(capsys)
    assert line["rows"] == n and line["chunksScanned"] == -(-n // 10_000)  # every row group, one column
    # Exactly the footer and the key column's chunks, never the file.
    assert line["bytesRead"] <= 1.1 * line["bytesNeeded"] and line["bytesNeeded"] < len(data) / 4, line
    assert pool.max_memory() < 1024 * 1024, pool.max_memory()  # the parent decodes nothing: children do


@pytest.mark.parametrize(
    ("kind", "positions", "words"),
    [
        ("cdc", ["1", "2", "3"], "'1'"),  # a number cast to text: no longer sorts as the change order
        ("cdc", ["2024010100000000" + "1" * 19, "", "2024010100000000" + "2" * 19], "''"),
        ("load", ["2024010100000000" + "1" * 19] * 3, "empty in full-load rows"),
    ],
)
def test_a_change_sequence_not_in_dms_format_is_quarantined(pipeline, kind, positions, words):
    """The views compare the change sequence as text: only DMS's fixed-width format sorts right."""
    name = dmsfiles.cdc_key("public", "orders", WHEN) if kind == "cdc" else "public/orders/LOAD00000001.parquet"
    body = cdc_file(["I"] * 3, positions=positions) if kind == "cdc" else load_file(3, positions=positions)
    key = pipeline.land(name, body)
    assert words in failed(pipeline, key)[findings.INVALID_CHANGE_SEQUENCE]
