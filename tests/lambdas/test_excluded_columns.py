"""A file that still carries a column the stack excludes (excludeColumns) never reaches
raw-history: EXCLUDED_COLUMN, decided from the footer, quarantined with an alert; and the
metadata's ``excluded`` list, read and written backwards-compatibly."""

import json
from dataclasses import replace

import pyarrow as pa
import pytest

from cloudbridge import dmsfiles
from cloudbridge.replay import replay
from functions.common.metadata import Column, MetadataError, TableMetadata
from functions.validator import findings, routing
from tests.lambdas.test_validator import WHEN, cdc_file, failed, load_file, logs, rows
from tests.support.moto_pipeline import FAIL, META, RAW, orders_metadata

LOAD = "public/orders/LOAD00000001.parquet"


def carrying(*extra: Column) -> TableMetadata:
    """The orders table as a task whose remove-column rule did not apply writes it."""
    meta = orders_metadata()
    return replace(meta, columns=meta.columns + extra)


def excluding(*patterns: str) -> TableMetadata:
    """The orders table's metadata as published with ``excludeColumns`` for it."""
    return orders_metadata(excluded=patterns)


def with_cards(data):
    return [dict(r, card_number=f"4111-{i:04d}", card_cvc="123") for i, r in enumerate(data)]


@pytest.fixture
def excluded_pipeline(pipeline):
    pipeline.publish_metadata(excluding("card_%"))
    return pipeline


def test_a_full_load_file_carrying_an_excluded_column_is_quarantined_with_its_own_reason(excluded_pipeline, capsys):
    wide = carrying(Column("card_number", "string"), Column("card_cvc", "string"))
    key = excluded_pipeline.land(LOAD, load_file(metadata=wide, data=with_cards(rows(50_000))))
    reasons = failed(excluded_pipeline, key)
    # Only this reason: the columns are not also reported as unexpected.
    assert set(reasons) == {findings.EXCLUDED_COLUMN}
    assert "['card_number', 'card_cvc']" in reasons[findings.EXCLUDED_COLUMN]
    assert excluded_pipeline.keys(RAW) == []
    [line], _ = logs(capsys)
    assert line["outcome"] == "failed" and [r["code"] for r in line["reasons"]] == [findings.EXCLUDED_COLUMN]
    assert line["chunksScanned"] == 0  # decided from the footer: none of the data was read
    assert line["bytesRead"] < line["bytes"] * 0.2, line  # the footer's reads, not the file


def test_a_cdc_file_carrying_one_is_quarantined_and_alerted(excluded_pipeline):
    wide = carrying(Column("card_number", "string"))
    data = with_cards(rows(3))
    table = dmsfiles.dms_table(wide, "cdc", data, ops=["I", "U", "D"], timestamps=[dmsfiles.dms_timestamp(WHEN)] * 3)
    key = excluded_pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN), dmsfiles.to_bytes(table))
    assert set(failed(excluded_pipeline, key)) == {findings.EXCLUDED_COLUMN}
    [envelope] = excluded_pipeline.alerts()
    message = json.loads(envelope["Message"])
    assert message["tables"][0]["table"] == "public.orders"
    assert message["tables"][0]["reasons"] == {findings.EXCLUDED_COLUMN: 1}


def test_it_is_decided_whatever_else_is_wrong_with_the_file(excluded_pipeline):
    """An excluded column decides the file on its own: the rest of it is never decoded."""
    wide = carrying(Column("card_number", "string"))
    key = excluded_pipeline.land(
        dmsfiles.cdc_key("public", "orders", WHEN),
        cdc_file(["X", "I"], metadata=wide),  # an invalid Op too
    )
    assert set(failed(excluded_pipeline, key)) == {findings.EXCLUDED_COLUMN}


def test_a_nested_column_under_an_excluded_name_is_caught_by_its_top_name(excluded_pipeline):
    meta = orders_metadata()
    table = dmsfiles.dms_table(meta, "load", rows(2))
    nested = pa.array([{"number": "4111"}, {"number": "4242"}], pa.struct([("number", pa.string())]))
    key = excluded_pipeline.land(LOAD, dmsfiles.to_bytes(table.append_column("card_details", nested)))
    assert "card_details" in failed(excluded_pipeline, key)[findings.EXCLUDED_COLUMN]


def test_a_file_without_the_column_passes(excluded_pipeline):
    key = excluded_pipeline.land(LOAD, load_file(3))
    assert excluded_pipeline.validate(key) == {"batchItemFailures": []}
    assert excluded_pipeline.keys(FAIL) == [] and len(excluded_pipeline.keys(RAW)) == 1


def test_a_literal_exclusion_matches_only_its_column(pipeline):
    pipeline.publish_metadata(excluding("card_number"))
    wide = carrying(Column("card_number", "string"), Column("card_cvc", "string"))
    key = pipeline.land(LOAD, load_file(metadata=wide, data=with_cards(rows(2))))
    message = failed(pipeline, key)[findings.EXCLUDED_COLUMN]
    assert "excluded column(s) ['card_number']" in message and "card_cvc" not in message
    # Without card_number, card_cvc alone is ordinary schema drift, not an excluded column.
    narrower = carrying(Column("card_cvc", "string"))
    data = [{k: v for k, v in r.items() if k != "card_number"} for r in with_cards(rows(2))]
    key = pipeline.land("public/orders/LOAD00000002.parquet", load_file(metadata=narrower, data=data))
    pipeline.validate(key)
    reasons = json.loads(pipeline.s3.head_object(Bucket=FAIL, Key=key)["Metadata"][routing.REASONS])
    assert [r["code"] for r in reasons] == [findings.UNEXPECTED_COLUMNS] and "card_cvc" in reasons[0]["message"]


def test_replaying_the_quarantined_file_fails_again(excluded_pipeline):
    wide = carrying(Column("card_number", "string"))
    key = excluded_pipeline.land(LOAD, load_file(metadata=wide, data=with_cards(rows(2))))
    failed(excluded_pipeline, key)
    summary = replay(excluded_pipeline.s3, fail_bucket=FAIL, raw_bucket=RAW, metadata_bucket=META, say=print)
    assert (summary.replayed, summary.still_failing) == (0, 1)
    assert summary.reasons == {findings.EXCLUDED_COLUMN: 1}
    assert excluded_pipeline.keys(RAW) == []


# --- the metadata's excluded list -----------------------------------------------------------


def test_metadata_without_excluded_reads_as_before_and_writes_no_key():
    meta = orders_metadata()
    assert meta.excluded == () and '"excluded"' not in meta.to_json()
    document = meta.to_dict()
    assert "excluded" not in document
    assert TableMetadata.from_dict(document) == meta


def test_excluded_round_trips_between_the_columns_and_the_dms_columns():
    meta = excluding("card_%", "ssn")
    document = json.loads(meta.to_json())
    assert document["excluded"] == ["card_%", "ssn"]
    assert list(document) == [
        "formatVersion", "source", "engine", "schema", "table", "primaryKey", "columns", "excluded", "dmsColumns",
    ]  # fmt: skip
    assert document["formatVersion"] == 2
    assert TableMetadata.from_json(meta.to_json()) == meta
    assert meta.is_excluded("card_cvc") and meta.is_excluded("ssn") and not meta.is_excluded("ssn2")


@pytest.mark.parametrize(
    ("excluded", "words"),
    [
        (["status"], "matches ['status']"),
        (["%_id"], "matches ['order_id', 'customer_id']"),
        (["Op"], "matches ['Op']"),
        (["dms%"], "'dms_change_seq', 'dms_commit_ts'"),
        ("card_number", "must be a list"),
        ([""], "must be a list"),
        (["ssn", "ssn"], "twice"),
    ],
)
def test_excluded_that_contradicts_the_file_is_invalid_metadata(excluded, words):
    document = {**orders_metadata().to_dict(), "excluded": excluded}
    with pytest.raises(MetadataError) as info:
        TableMetadata.from_dict(document, "public/orders.json")
    assert "public/orders.json" in str(info.value) and words in str(info.value)


def test_published_metadata_contradicting_itself_is_metadata_invalid_for_the_validator(pipeline):
    document = {**orders_metadata().to_dict(), "excluded": ["status"]}
    pipeline.s3.put_object(Bucket=META, Key="public/orders.json", Body=json.dumps(document).encode())
    key = pipeline.land(LOAD, load_file(2))
    message = failed(pipeline, key)[findings.METADATA_INVALID]
    assert "public/orders.json" in message and "excluded 'status'" in message
