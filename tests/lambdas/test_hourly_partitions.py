"""A source partitioned by hour (``rawHistoryPartition: hour``): every writer of raw-history
keys puts files in yyyy/MM/dd/HH folders, the validator registers those partitions, and a
file under the other layout's folders is quarantined, never stored where the projection
cannot see it."""

from datetime import UTC, datetime

import pytest

from cloudbridge import dmsfiles
from cloudbridge.replay import replay
from functions.common import dynamodb as ddb
from functions.common import generations
from functions.common.keys import UnrecognizedKeyError, parse_key
from functions.common.layout import DAY, HOUR, by_name, partition_of
from functions.validator import findings, routing
from functions.validator.handler import Settings
from tests.lambdas.test_replay import quarantine_unknown_table
from tests.lambdas.test_validator import WHEN, cdc_file, load_file
from tests.support.moto_pipeline import FAIL, LANDING, META, RAW, Pipeline, orders_metadata


@pytest.fixture
def hourly(aws):
    p = Pipeline(HOUR)
    p.publish_metadata(orders_metadata())
    return p


def test_layouts_name_their_folders_projection_and_dms_sequence():
    assert (DAY.folder(WHEN), HOUR.folder(WHEN)) == ("2024/03/05", "2024/03/05/13")
    assert (DAY.projection_format, HOUR.projection_format) == ("yyyy/MM/dd", "yyyy/MM/dd/HH")
    assert (DAY.projection_unit, HOUR.projection_unit) == ("DAYS", "HOURS")
    assert (DAY.dms_sequence, HOUR.dms_sequence) == ("YYYYMMDD", "YYYYMMDDHH")
    assert HOUR.of_stamp("20240305-134512345.parquet") == "2024/03/05/13"
    assert DAY.of_stamp("20240305-134512345.parquet") == "2024/03/05"
    assert HOUR.of_stamp("notes.parquet") is None and HOUR.of_stamp("20240305.parquet") is None
    with pytest.raises(ValueError, match="one of \\['day', 'hour'\\], not 'minute'"):
        by_name("minute")


def test_a_raw_history_key_tells_its_partition_in_either_layout():
    assert partition_of("public/orders/2024/03/05/f.parquet") == ("public", "orders", "2024/03/05")
    assert partition_of("public/orders/2024/03/05/13/f.parquet") == ("public", "orders", "2024/03/05/13")
    with pytest.raises(ValueError, match="not <schema>/<table>/<yyyy/MM/dd"):
        partition_of("public/orders/2024/03/f.parquet")


def test_landing_keys_in_the_other_layout_are_refused_only_when_the_layout_is_known():
    daily, hourly = "public/orders/2024/03/05/x.parquet", "public/orders/2024/03/05/13/x.parquet"
    assert parse_key(hourly).partition == "2024/03/05/13"  # no layout given: either parses
    assert parse_key(hourly, layout=HOUR).partition == "2024/03/05/13"
    assert parse_key(daily, layout=DAY).partition == "2024/03/05"
    with pytest.raises(UnrecognizedKeyError, match="not the source's hour partitions"):
        parse_key(daily, layout=HOUR)
    with pytest.raises(UnrecognizedKeyError, match="not the source's day partitions"):
        parse_key(hourly, layout=DAY)


def test_a_cdc_file_in_hour_folders_keeps_its_hour_and_registers_that_partition(hourly):
    key = hourly.land(dmsfiles.cdc_key("public", "orders", WHEN, layout=HOUR), cdc_file(["I", "U"]))
    assert key == "public/orders/2024/03/05/13/20240305-134512345.parquet"
    assert hourly.validate(key)["batchItemFailures"] == []
    [moved] = hourly.keys(RAW)
    assert moved.startswith("public/orders/2024/03/05/13/20240305-134512345-")
    assert hourly.partitions(orders_metadata()) == {"2024/03/05/13": f"s3://{RAW}/public/orders/2024/03/05/13/"}


def test_files_without_date_folders_are_dated_to_the_hour(hourly):
    cdc = hourly.land(dmsfiles.cdc_key("public", "orders", WHEN, partitioned=False), cdc_file(["I"]))
    load = hourly.land("public/orders/LOAD00000001.parquet", load_file(3))
    hourly.validate(cdc)
    hourly.validate(load)
    by_name_ = {k.split("/")[-1].split("-")[0]: k for k in hourly.keys(RAW)}
    assert by_name_["20240305"].startswith("public/orders/2024/03/05/13/")  # the hour its name says
    landed = hourly.s3.head_object(Bucket=RAW, Key=by_name_["LOAD00000001"])["LastModified"]
    assert by_name_["LOAD00000001"].startswith(f"public/orders/{HOUR.folder(landed)}/")  # the hour it landed


def test_a_day_folder_file_at_an_hourly_source_is_quarantined_naming_the_layout(hourly):
    key = hourly.land(dmsfiles.cdc_key("public", "orders", WHEN), cdc_file(["I"]))  # day folders
    assert hourly.validate(key)["batchItemFailures"] == []
    assert hourly.keys(RAW) == [] and hourly.keys(LANDING) == [] and hourly.keys(FAIL) == [key]
    reasons = hourly.reasons(key)
    assert list(reasons) == [findings.UNRECOGNIZED_KEY] and "rawHistoryPartition" in reasons[findings.UNRECOGNIZED_KEY]


def test_an_hour_folder_file_at_a_daily_source_is_quarantined(pipeline):
    key = pipeline.land(dmsfiles.cdc_key("public", "orders", WHEN, layout=HOUR), cdc_file(["I"]))
    pipeline.validate(key)
    assert pipeline.keys(RAW) == [] and pipeline.keys(FAIL) == [key]
    assert list(pipeline.reasons(key)) == [findings.UNRECOGNIZED_KEY]


def test_markers_and_dynamodb_files_go_to_the_hour_they_belong_to():
    started, ended = datetime(2024, 3, 5, 12, 59, 58, tzinfo=UTC), datetime(2024, 3, 5, 14, 0, 1, tzinfo=UTC)
    assert generations.marker_key(orders_metadata(), started, ended, HOUR) == (
        "public/orders/2024/03/05/14/GENERATION-20240305-125958000000.parquet"
    )
    assert generations.marker_key(orders_metadata(), started, ended).startswith("public/orders/2024/03/05/GEN")
    assert ddb.cdc_key("cart-items", WHEN, "100", 2, HOUR) == (
        "dynamodb/cart_items/2024/03/05/13/20240305-134512-100-2.parquet"
    )
    assert parse_key(ddb.cdc_key("cart-items", WHEN, "100", 2, HOUR), layout=HOUR).kind == "cdc"


def test_an_unknown_layout_in_the_environment_fails_the_cold_start():
    with pytest.raises(ValueError, match="not 'hours'"):
        Settings("s", "dev", RAW, FAIL, "meta", "arn:aws:sns:eu-west-2:123456789012:t", partition="hours")


def test_a_replayed_file_of_an_hourly_source_lands_where_its_first_pass_would(hourly):
    """cloudbridge replay with the source's layout: the hour folders the validator would pick."""
    key = "public/orders/2024/03/05/13/20240305-134512345.parquet"
    arrived = quarantine_unknown_table(hourly, key)
    load = quarantine_unknown_table(hourly, "public/orders/LOAD00000003.parquet")
    hourly.publish_metadata(orders_metadata())
    summary = replay(hourly.s3, fail_bucket=FAIL, raw_bucket=RAW, metadata_bucket=META, say=print, layout=HOUR)
    assert (summary.replayed, summary.still_failing) == (2, 0)
    expected = sorted(routing.raw_history_key(parse_key(o.key, layout=HOUR), o, HOUR) for o in (arrived, load))
    assert hourly.keys(RAW) == expected
    assert expected[0].startswith("public/orders/2024/03/05/13/20240305-134512345-")
    assert expected[1].startswith(f"public/orders/{HOUR.folder(load.last_modified)}/LOAD00000003-")


def test_replay_reads_the_layout_from_the_stack_file(tmp_path, monkeypatch):
    from cloudbridge import plan, stackfile

    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text("config:\n  cloudbridge:sources:\n    - name: a\n      rawHistoryPartition: hour\n    - name: b\n")
    monkeypatch.setattr(plan, "stack_file", lambda name: tmp_path / f"Pulumi.{name}.yaml")
    monkeypatch.setattr(stackfile, "stack_file", lambda name: tmp_path / f"Pulumi.{name}.yaml")
    assert (stackfile.source_layout("x", "a"), stackfile.source_layout("x", "b")) == (HOUR, DAY)
    stack.write_text("config:\n  cloudbridge:sources:\n    - name: a\n      rawHistoryPartition: minute\n")
    with pytest.raises(stackfile.StackFileError, match="Pulumi.x.yaml, source 'a': rawHistoryPartition"):
        stackfile.source_layout("x", "a")
