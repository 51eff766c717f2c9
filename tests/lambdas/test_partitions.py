"""Raw-history date partitions are registered in Glue as files pass (for readers that
ignore partition projection, such as Redshift Spectrum), once, and never at a file's cost."""

import json
from datetime import UTC, datetime, timedelta

from cloudbridge import dmsfiles
from tests.lambdas.test_validator import cdc_file
from tests.support.moto_pipeline import RAW, orders_metadata

DAY = datetime(2024, 3, 5, 13, 45, 12, tzinfo=UTC)


def land_cdc(pipeline, moment, ops=("I", "U")):
    return pipeline.land(dmsfiles.cdc_key("public", "orders", moment), cdc_file(list(ops)))


def events(capsys, name):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


def test_passing_files_register_their_date_partition_once(pipeline):
    keys = [
        land_cdc(pipeline, DAY),
        land_cdc(pipeline, DAY + timedelta(minutes=1)),
        land_cdc(pipeline, DAY + timedelta(days=1)),
    ]
    assert pipeline.validate(*keys) == {"batchItemFailures": []}
    assert pipeline.partitions(orders_metadata()) == {
        "2024/03/05": f"s3://{RAW}/public/orders/2024/03/05/",
        "2024/03/06": f"s3://{RAW}/public/orders/2024/03/06/",
    }
    # every raw-history key lies under its partition's location
    for key in pipeline.keys(RAW):
        assert any(f"s3://{RAW}/{key}".startswith(loc) for loc in pipeline.partitions(orders_metadata()).values())
    calls = pipeline.validator.partitions.calls
    pipeline.validate(land_cdc(pipeline, DAY + timedelta(minutes=2)))
    assert pipeline.validator.partitions.calls == calls, "a known partition costs no Glue call"


def test_a_partition_another_container_registered_is_fine(pipeline, capsys):
    other = type(pipeline.validator)(
        pipeline.settings, pipeline.s3, pipeline.sns, pipeline.metadata_store, glue=pipeline.glue
    )
    other.handle({"Records": [pipeline.sqs_record(land_cdc(pipeline, DAY))]})
    pipeline.validate(land_cdc(pipeline, DAY + timedelta(minutes=1)))
    assert list(pipeline.partitions(orders_metadata())) == ["2024/03/05"]
    assert events(capsys, "cloudbridge.partition_failed") == []


def test_failed_files_register_nothing(pipeline):
    pipeline.validate(land_cdc(pipeline, DAY, ops=("I", "X")))
    assert pipeline.partitions(orders_metadata()) == {}


def test_a_table_missing_from_glue_costs_the_file_nothing_and_is_retried(pipeline, capsys):
    meta = orders_metadata()
    pipeline.glue.delete_table(DatabaseName=pipeline.settings.glue_database, Name="public__orders")
    first = land_cdc(pipeline, DAY)
    assert pipeline.validate(first) == {"batchItemFailures": []}
    assert len(pipeline.keys(RAW)) == 1, "the file passed and is stored"
    [failure] = events(capsys, "cloudbridge.partition_failed")
    assert failure["key"].startswith("public/orders/2024/03/05/") and "EntityNotFound" in failure["error"]
    pipeline.publish_metadata(meta)  # the next deploy creates the table
    pipeline.validate(land_cdc(pipeline, DAY + timedelta(minutes=1)))
    assert list(pipeline.partitions(meta)) == ["2024/03/05"], "a failed registration is not remembered as done"


def test_a_replayed_file_registers_its_partition(pipeline):
    from cloudbridge.replay import replay
    from functions.validator.partitions import Partitions
    from tests.support.moto_pipeline import FAIL, META

    refunds = orders_metadata(table="refunds")
    key = pipeline.land(dmsfiles.cdc_key("public", "refunds", DAY), cdc_file(["I"], metadata=refunds))
    pipeline.validate(key)  # no metadata yet: quarantined
    assert pipeline.keys(FAIL) == [key]
    pipeline.publish_metadata(refunds)
    partitions = Partitions(pipeline.glue, pipeline.settings.glue_database, RAW)
    summary = replay(
        pipeline.s3, fail_bucket=FAIL, raw_bucket=RAW, metadata_bucket=META, say=lambda _: None, partitions=partitions
    )
    assert summary.replayed == 1
    assert pipeline.partitions(refunds) == {"2024/03/05": f"s3://{RAW}/public/refunds/2024/03/05/"}
