"""The generation-marker writer (functions/generation_marker): DMS's table statistics
(botocore Stubber, both APIs: moto has neither) to markers in a moto raw-history bucket."""

from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from functions.common import generations
from functions.generation_marker import handler as marker
from tests.support.moto_pipeline import GLUE_DATABASE, META, RAW, REGION, orders_metadata

TASK_ARN = "arn:aws:dms:eu-west-2:111111111111:task:cb-test-sales"
CONFIG_ARN = "arn:aws:dms:eu-west-2:111111111111:replication-config:cb-test-sales"
MODES = {
    "instance": (TASK_ARN, "describe_table_statistics", "ReplicationTaskArn", "TableStatistics"),
    "serverless": (
        CONFIG_ARN, "describe_replication_table_statistics", "ReplicationConfigArn", "ReplicationTableStatistics",
    ),
}  # fmt: skip
START, END = datetime(2026, 3, 5, 10, 0, 1, 250000, UTC), datetime(2026, 3, 5, 10, 7, 30, 1, UTC)


def entry(state="Table completed", start=START, end=END, table="orders"):
    stats = {"SchemaName": "public", "TableName": table, "TableState": state, "FullLoadRows": 10}
    if start:
        stats["FullLoadStartTime"] = start
    if end and state == "Table completed":
        stats["FullLoadEndTime"] = end
    return stats


class Dms:
    """A stubbed DMS client answering one mode's statistics call."""

    def __init__(self, mode):
        self.arn, self.operation, self.arn_name, self.field = MODES[mode]
        self.client = boto3.client("dms", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def answers(self, *pages):
        """One poll's pages (each a list of table statistics), chained by Marker."""
        for i, tables in enumerate(pages):
            expected = {self.arn_name: self.arn, "MaxRecords": marker.PAGE_SIZE, **({"Marker": f"m{i}"} if i else {})}
            response = {self.field: tables, **({"Marker": f"m{i + 1}"} if i + 1 < len(pages) else {})}
            self.stubber.add_response(self.operation, response, expected)

    def refuses(self, code, message="not authorized"):
        self.stubber.add_client_error(
            self.operation, service_error_code=code, service_message=message, http_status_code=400
        )


@pytest.fixture(params=sorted(MODES))
def mode(request):
    return request.param


def writer(pipeline, dms):
    settings = marker.Settings(
        environment="test", source="sales", raw_history_bucket=RAW, metadata_bucket=META,
        statistics_arn=dms.arn, glue_database=GLUE_DATABASE,
    )  # fmt: skip
    return marker.MarkerWriter(settings, dms.client, pipeline.s3, pipeline.glue)


def markers(pipeline):
    return [k for k in pipeline.versions(RAW) if generations.MARKER_PREFIX in k]


def test_a_completed_load_gets_its_marker_once(pipeline, mode):
    dms = Dms(mode)
    dms.answers([entry()], [entry(table="unlisted", state="Before load", end=None)])  # two pages
    dms.answers([entry()])
    w = writer(pipeline, dms)
    first = w.poll()
    key = generations.marker_key(orders_metadata(), START, END)
    assert first["written"] == [key] and first["tables"] == 2 and first["completed"] == 1
    assert w.poll()["written"] == []  # already there: not put again
    assert markers(pipeline) == [key]  # one version only in the versioned bucket
    body = pipeline.s3.get_object(Bucket=RAW, Key=key)["Body"].read()
    rows = pq.read_table(__import__("io").BytesIO(body)).to_pylist()
    assert [(r["dms_change_seq"], r["dms_commit_ts"]) for r in rows] == [
        ("START", "2026-03-05 10:00:01.000000"),
        ("END", "2026-03-05 10:07:32.000000"),
    ]
    assert pipeline.partitions(orders_metadata()) == {"2026/03/05": f"s3://{RAW}/public/orders/2026/03/05/"}
    dms.stubber.assert_no_pending_responses()


def test_a_load_in_progress_writes_nothing(pipeline, mode):
    dms = Dms(mode)
    dms.answers([entry(state="Table is being loaded", end=None)])
    assert writer(pipeline, dms).poll()["written"] == []
    assert markers(pipeline) == []


def test_a_later_reload_gets_a_second_marker(pipeline, mode):
    dms = Dms(mode)
    reload_start, reload_end = datetime(2026, 3, 7, 9, 0, 0, tzinfo=UTC), datetime(2026, 3, 7, 9, 5, 0, tzinfo=UTC)
    dms.answers([entry()])
    dms.answers([entry(state="Table is being loaded", start=reload_start, end=None)])
    dms.answers([entry(start=reload_start, end=reload_end)])
    w = writer(pipeline, dms)
    assert len(w.poll()["written"]) == 1
    assert w.poll()["written"] == []
    second = w.poll()["written"]
    assert second == [generations.marker_key(orders_metadata(), reload_start, reload_end)]
    assert len(markers(pipeline)) == 2
    assert set(pipeline.partitions(orders_metadata())) == {"2026/03/05", "2026/03/07"}


def test_access_denied_is_logged_with_its_reason_and_raised_once(pipeline, mode, capsys):
    dms = Dms(mode)
    dms.refuses("AccessDeniedException")
    with pytest.raises(marker.RefusedError, match="not authorized"):
        writer(pipeline, dms).poll()
    dms.stubber.assert_no_pending_responses()  # one call: no retry loop inside the poll
    out = capsys.readouterr().out
    assert '"outcome":"refused"' in out.replace(" ", "") and "AccessDeniedException" in out
    assert markers(pipeline) == []


def test_throttling_is_left_to_the_next_schedule(pipeline, mode):
    dms = Dms(mode)
    dms.refuses("ThrottlingException", "Rate exceeded")
    dms.answers([entry()])
    w = writer(pipeline, dms)
    result = w.poll()
    assert result["outcome"] == "deferred" and result["errorCode"] == "ThrottlingException"
    assert len(w.poll()["written"]) == 1  # the next tick


def test_an_unknown_table_is_skipped_with_its_reason_and_the_others_marked(pipeline, mode, capsys):
    dms = Dms(mode)
    dms.answers([entry(table="ghost"), entry()])
    dms.answers([entry(table="ghost"), entry()])
    w = writer(pipeline, dms)
    assert len(w.poll()["written"]) == 1
    w.poll()
    out = capsys.readouterr().out
    assert out.count("unknown table: no metadata") == 1  # logged once per container
    assert markers(pipeline) == [generations.marker_key(orders_metadata(), START, END)]


def test_settings_come_from_the_environment(monkeypatch):
    from functions.common.runtime import GenerationsEnv

    for name, value in {
        GenerationsEnv.ENVIRONMENT: "test", GenerationsEnv.SOURCE: "sales", GenerationsEnv.RAW_HISTORY_BUCKET: RAW,
        GenerationsEnv.METADATA_BUCKET: META, GenerationsEnv.STATISTICS_ARN: CONFIG_ARN,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = marker.Settings.from_env()
    assert settings.statistics_arns == [CONFIG_ARN] and settings.glue_database == ""


def test_every_table_set_of_a_serverless_source_is_polled(pipeline):
    """A source with addedTables has one config per table set: a table completed in the second
    config gets its marker like one in the first."""
    second = CONFIG_ARN + "-set2"
    dms = Dms("serverless")
    dms.answers([entry(table="unlisted", state="Before load", end=None)])
    dms.stubber.add_response(
        "describe_replication_table_statistics",
        {"ReplicationTableStatistics": [entry()]},
        {"ReplicationConfigArn": second, "MaxRecords": marker.PAGE_SIZE},
    )
    settings = marker.Settings(
        environment="test", source="sales", raw_history_bucket=RAW, metadata_bucket=META,
        statistics_arn=f"{CONFIG_ARN},{second}", glue_database=GLUE_DATABASE,
    )  # fmt: skip
    result = marker.MarkerWriter(settings, dms.client, pipeline.s3, pipeline.glue).poll()
    dms.stubber.assert_no_pending_responses()
    assert result["tables"] == 2 and result["written"] == [generations.marker_key(orders_metadata(), START, END)]
