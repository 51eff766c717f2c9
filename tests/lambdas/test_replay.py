"""python -m cloudbridge replay: the quarantine re-validated in place after a fix."""

import threading

import boto3

from cloudbridge import dmsfiles
from cloudbridge.replay import main, replay
from cloudbridge.stackfile import source_buckets
from functions.common.keys import parse_key
from functions.validator import routing
from tests.support.moto_pipeline import FAIL, LANDING, META, RAW, REGION, orders_metadata

CDC = "public/orders/2024/03/05/20240305-134512345.parquet"
LOAD = "public/orders/LOAD00000003.parquet"


def run(pipeline, **kw):
    lines = []
    summary = replay(pipeline.s3, fail_bucket=FAIL, raw_bucket=RAW, metadata_bucket=META, say=lines.append, **kw)
    return summary, lines


def quarantine_unknown_table(pipeline, key, rows=20):
    """A file whose table's metadata was not yet published: quarantined as UNKNOWN_TABLE."""
    pipeline.s3.delete_object(Bucket=META, Key="public/orders.json")
    kind = "load" if "LOAD" in key else "cdc"
    pipeline.land(key, dmsfiles.to_bytes(dmsfiles.synthetic_table(orders_metadata(), kind, rows, op="IUD")))
    arrived = pipeline.s3.head_object(Bucket=LANDING, Key=key)
    pipeline.validator.metadata._ttl = 0  # the validator sees the metadata appear at once
    assert pipeline.validate(key) == {"batchItemFailures": []}
    assert key in pipeline.keys(FAIL)
    return routing.LandingObject(LANDING, key, arrived["ContentLength"], arrived["ETag"], arrived["LastModified"])


def test_a_fixed_file_lands_exactly_where_a_first_pass_would(pipeline):
    arrived = {key: quarantine_unknown_table(pipeline, key) for key in (CDC, LOAD)}
    pipeline.publish_metadata(orders_metadata())  # the fix
    summary, lines = run(pipeline)
    assert (summary.replayed, summary.still_failing) == (2, 0)
    expected = sorted(routing.raw_history_key(parse_key(k), obj) for k, obj in arrived.items())
    assert pipeline.keys(RAW) == expected  # same key as a first-time pass
    assert pipeline.keys(FAIL) == []  # current versions gone; the versioned bucket keeps history
    assert len(lines) == 2 and all(line.startswith("replayed") for line in lines)
    copied = pipeline.s3.head_object(Bucket=RAW, Key=expected[0])["Metadata"]
    assert copied[routing.SOURCE_ETAG] in {o.etag for o in arrived.values()}
    # Twice: nothing left to do.
    again, _ = run(pipeline)
    assert (again.seen, again.replayed) == (0, 0) and len(pipeline.versions(RAW)) == 2


def test_a_still_failing_file_gets_its_reasons_as_tags_without_a_new_version(pipeline):
    quarantine_unknown_table(pipeline, CDC)
    before = pipeline.s3.list_object_versions(Bucket=FAIL, Prefix=CDC)["Versions"]
    summary, lines = run(pipeline)  # metadata still missing
    assert (summary.replayed, summary.still_failing) == (0, 1) and summary.reasons == {"UNKNOWN_TABLE": 1}
    assert pipeline.tags(FAIL, CDC)["cloudbridge-reasons"] == "UNKNOWN_TABLE"
    assert "cloudbridge-replayed" in pipeline.tags(FAIL, CDC)
    assert pipeline.s3.list_object_versions(Bucket=FAIL, Prefix=CDC)["Versions"] == before
    assert lines == [f"still failing  {CDC}: UNKNOWN_TABLE"]


def test_dry_run_changes_nothing(pipeline):
    quarantine_unknown_table(pipeline, CDC)
    pipeline.publish_metadata(orders_metadata())
    summary, lines = run(pipeline, dry_run=True)
    assert summary.replayed == 1 and lines[0].startswith("would replay")
    assert pipeline.keys(FAIL) == [CDC] and pipeline.keys(RAW) == []


def test_concurrent_replays_move_each_file_once(pipeline):
    for i in range(4):
        quarantine_unknown_table(pipeline, f"public/orders/2024/03/05/20240305-13451234{i}.parquet")
    pipeline.publish_metadata(orders_metadata())
    results, errors = [], []

    def one():
        try:
            results.append(run(pipeline)[0])
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(pipeline.keys(RAW)) == 4 and pipeline.keys(FAIL) == []
    assert sum(r.replayed for r in results) >= 4  # a file seen by both is copied once, to the same key


def test_filters_by_table_and_date(pipeline):
    from datetime import UTC, datetime, timedelta

    quarantine_unknown_table(pipeline, CDC)
    pipeline.publish_metadata(orders_metadata())
    other, _ = run(pipeline, table="public.customers")
    assert other.seen == 0
    future, _ = run(pipeline, since=datetime.now(UTC) + timedelta(days=1))
    assert (future.seen, future.skipped, future.replayed) == (1, 1, 0)


def test_the_command_exits_1_while_files_still_fail(aws, capsys):
    buckets = source_buckets("dev", "sales")  # the fixture stack's names, in its region
    s3 = boto3.client("s3", region_name=REGION)
    for purpose in ("fail", "raw", "meta"):
        s3.create_bucket(Bucket=buckets[purpose], CreateBucketConfiguration={"LocationConstraint": REGION})
    assert main(["--source", "sales"]) == 0  # nothing quarantined
    s3.put_object(Bucket=buckets["fail"], Key="not-a-dms-key.parquet", Body=b"PAR1")
    assert main(["--source", "sales", "--dry-run"]) == 1
    assert "1 quarantined file(s) seen: 0 would be replayed, 1 still failing" in capsys.readouterr().out
