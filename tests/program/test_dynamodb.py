"""A DynamoDB source (issue #28): its config, and what the program deploys for it — the landing,
validator, raw history, catalog and monitoring every source gets, no DMS, and in DMS's place the
stream mappings, exports, converters, on-failure queue and alarms of components/dynamodb_source.py."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from cloudbridge.plan import _FakeAws, evaluate, read_stack_config
from components.config import ConfigError
from components.stack_config import parse_stack_config
from components.workspace import metadata_root
from tests.program.test_config import raw
from tests.program.test_stacks import pipeline_resources
from tests.support import aws_contract
from tests.support import dynamodb as support
from tests.support.policies import least_privilege_problems

NAME = "basket"
SOURCE = {"name": NAME, "engine": "dynamodb", "tables": ["orders", "cart-items"]}


def with_source(source=None):
    config = copy.deepcopy(read_stack_config("dev"))
    config["cloudbridge:sources"].append(copy.deepcopy(source or SOURCE))
    return config


def write_metadata(metadata_dir, tables=("orders", "cart_items")):
    folder = metadata_dir / NAME / "dynamodb"
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        meta = support.orders_metadata(source=NAME)
        (folder / f"{table}.json").write_text(meta.__class__(**{**meta.__dict__, "table": table}).to_json())


@pytest.fixture(scope="module")
def metadata_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metadata") / "metadata"
    shutil.copytree(metadata_root(), folder)
    write_metadata(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOUDBRIDGE_METADATA_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def plan(metadata_dir):
    return evaluate("dev", with_source())


# --- config --------------------------------------------------------------------------------


def test_a_dynamodb_source_needs_a_name_and_tables_only():
    config = parse_stack_config("dev", raw(with_source()))
    source = config.sources[-1]
    assert source.engine == "dynamodb" and source.lake_tables == ["orders", "cart_items"]
    assert source.table_patterns == [("dynamodb", "orders"), ("dynamodb", "cart_items")]
    assert (source.stream_batch_size, source.stream_maximum_retry_attempts, source.cdc) == (500, 10, True)


@pytest.mark.parametrize(
    "change,key,words",
    [
        ({"host": "db.example"}, "cloudbridge:sources[3].host", "unknown key"),
        (
            {"replication": {"mode": "serverless", "maxCapacityUnits": 2}},
            "cloudbridge:sources[3].replication",
            "unknown",
        ),
        ({"tables": ["ab"]}, "cloudbridge:sources[3].tables", "DynamoDB table names"),
        ({"tables": ["a.b-c", "a_b_c"]}, "cloudbridge:sources[3].tables", "repeat"),
        ({"tables": []}, "cloudbridge:sources[3].tables", "at least 1"),
        ({"streamMaximumRecordAgeSeconds": 30}, "cloudbridge:sources[3].streamMaximumRecordAgeSeconds", "60"),
        ({"streamBatchSize": 20000}, "cloudbridge:sources[3].streamBatchSize", "10000"),
        ({"engine": "dynamo"}, "cloudbridge:sources[3].engine", "postgres"),
    ],
)
def test_a_wrong_dynamodb_source_is_refused_naming_the_key(change, key, words):
    config = with_source({**SOURCE, **change})
    with pytest.raises(ConfigError) as info:
        parse_stack_config("dev", raw(config))
    matching = [m for k, m in info.value.problems if k == key]
    assert matching and any(words.lower() in m.lower() for m in matching), info.value.problems


def test_a_misdeclared_attribute_is_a_config_error_naming_the_file(metadata_dir, tmp_path):
    folder = tmp_path / "metadata"
    shutil.copytree(metadata_dir, folder)
    path = folder / NAME / "dynamodb" / "orders.json"
    data = json.loads(path.read_text())
    data["columns"][1]["type"] = "bool"  # qty: sourceType N
    path.write_text(json.dumps(data))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOUDBRIDGE_METADATA_DIR", str(folder))
        with pytest.raises(ConfigError) as info:
            evaluate("dev", with_source())
    assert any("orders.json" in m and "qty" in m and "N" in m for _, m in info.value.problems), info.value.problems


# --- what is deployed ------------------------------------------------------------------------


def test_the_pipeline_is_every_sources_without_dms(plan):
    declared = pipeline_resources(plan, NAME)
    types = [r.type for r in declared]
    assert not [t for t in types if t.startswith("aws:dms/")]
    assert types.count("aws:s3/bucket:Bucket") == 5  # landing, raw, fail, meta, and the exports
    assert types.count("aws:lambda/function:Function") == 3  # validator, stream and export converters
    assert types.count("aws:dynamodb/tableExport:TableExport") == 2
    assert types.count("aws:lambda/eventSourceMapping:EventSourceMapping") == 3  # landing queue, two streams
    assert "aws:cloudwatch/eventRule:EventRule" not in types  # no DMS events, no marker schedule
    views = sorted(r.given["name"] for r in declared if r.given.get("tableType") == "VIRTUAL_VIEW")
    assert views == ["dynamodb__cart_items_current", "dynamodb__orders_current"]
    assert plan.outputs["pipelines"][NAME]["replication"] is None


def test_each_stream_is_mapped_with_partial_failures_bisection_and_an_on_failure_queue(plan):
    mapping = plan.named(f"{NAME}-dynamodb-cart_items-stream").given
    queue = plan.named(f"{NAME}-dynamodb-failure-queue", "aws:sqs/queue:Queue")
    assert mapping["eventSourceArn"] == (
        "arn:aws:dynamodb:eu-west-2:111111111111:table/cart-items/stream/2024-01-01T00:00:00.000"
    )
    assert mapping["functionName"].endswith(":function:cb-dev-basket-dynamodb-stream")
    assert mapping["startingPosition"] == "TRIM_HORIZON"
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (500, 5)
    assert (mapping["maximumRetryAttempts"], mapping["maximumRecordAgeInSeconds"]) == (10, 21600)
    assert mapping["parallelizationFactor"] == 1
    assert mapping["destinationConfig"]["onFailure"]["destinationArn"] == queue.inputs["arn"]


def test_each_table_is_exported_after_its_stream_is_mapped(plan):
    export = plan.named(f"{NAME}-dynamodb-cart_items-export", "aws:dynamodb/tableExport:TableExport")
    given = export.given
    assert given["tableArn"] == "arn:aws:dynamodb:eu-west-2:111111111111:table/cart-items"
    assert (given["exportFormat"], given["exportType"], given["s3SseAlgorithm"]) == (
        "DYNAMODB_JSON", "FULL_EXPORT", "KMS"
    )  # fmt: skip
    assert given["s3Bucket"] == "cb-dev-basket-export-111111111111-eu-west-2" and given["s3Prefix"] == "cart_items"
    assert given["s3SseKmsKeyId"] == plan.named("key", "aws:kms/key:Key").inputs["arn"]
    mapping = plan.named(f"{NAME}-dynamodb-cart_items-stream")
    notification = plan.named(f"{NAME}-dynamodb-export-events")
    assert {mapping.urn, notification.urn} <= set(export.dependencies)


def test_the_export_converter_hears_only_summary_manifests(plan):
    notification = plan.named(f"{NAME}-dynamodb-export-events").given
    (target,) = notification["lambdaFunctions"]
    assert target["events"] == ["s3:ObjectCreated:*"] and target["filterSuffix"] == "manifest-summary.json"
    assert target["lambdaFunctionArn"].endswith(":function:cb-dev-basket-dynamodb-export")
    permission = plan.named(f"{NAME}-dynamodb-export-invoke").given
    assert permission["principal"] == "s3.amazonaws.com" and permission["sourceAccount"] == "111111111111"
    function = plan.named(f"{NAME}-dynamodb-export-converter", "aws:lambda/function:Function").given
    assert function["deadLetterConfig"]["targetArn"] == plan.named(f"{NAME}-dynamodb-failure-queue").inputs["arn"]


def test_the_alarms_watch_iterator_age_the_failures_and_both_converters(plan):
    alarms = {r.given["name"]: r.given for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    age = alarms["cb-dev-basket-stream-iterator-age"]
    assert (age["metricName"], age["threshold"]) == ("IteratorAge", 3_600_000)
    assert alarms["cb-dev-basket-dynamodb-failures"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert {"cb-dev-basket-stream-errors", "cb-dev-basket-export-errors"} <= set(alarms)
    assert {"cb-dev-basket-freshness", "cb-dev-basket-validator-errors", "cb-dev-basket-validator-dlq"} <= set(alarms)
    assert "cb-dev-basket-cdc-lag" not in alarms and "cb-dev-basket-generations-errors" not in alarms


def test_every_value_sent_to_aws_is_one_aws_accepts(plan):
    report = aws_contract.check_plan(plan)
    assert not report.findings, "\n".join(map(str, report.findings))


def test_the_roles_are_least_privilege(plan):
    assert least_privilege_problems(plan) == []


def test_the_deploy_refuses_a_table_without_its_prerequisites(metadata_dir, monkeypatch):
    call = _FakeAws.call

    def no_stream(self, args):
        answer = call(self, args)
        return {**answer, "streamViewType": "KEYS_ONLY", "pointInTimeRecovery": {"enabled": False}} if answer else {}

    monkeypatch.setattr(_FakeAws, "call", no_stream)
    with pytest.raises(Exception) as info:
        evaluate("dev", with_source())
    message = str(info.value)
    assert "KEYS_ONLY" in message and "NEW_AND_OLD_IMAGES" in message and "point-in-time recovery" in message


def test_an_export_only_source_maps_no_stream(metadata_dir):
    plan = evaluate("dev", with_source({**SOURCE, "cdc": False}))
    types = [r.type for r in pipeline_resources(plan, NAME)]
    assert types.count("aws:lambda/eventSourceMapping:EventSourceMapping") == 1  # the validator's only
    assert types.count("aws:dynamodb/tableExport:TableExport") == 2


def test_the_new_resources_paths_are_all_covered_by_the_contract_check(plan):
    from cloudbridge.contract import coverage

    text = coverage.render(aws_contract.check_plan(plan).coverage)
    assert coverage.problems(text) == []
    export_paths = [line.split()[1] for line in text.splitlines() if line.startswith(EXPORT)]
    assert {"tableArn", "s3Bucket", "s3SseKmsKeyId", "exportFormat", "exportType", "s3SseAlgorithm"} <= set(
        export_paths
    )
    assert "destinationConfig.onFailure.destinationArn  [rule]" in text
    assert "lambdaFunctions.lambdaFunctionArn  [rule]" in text


def test_an_export_format_aws_does_not_take_is_caught(metadata_dir, monkeypatch):
    from components import dynamodb_source

    monkeypatch.setattr(dynamodb_source, "EXPORT_FORMAT", "JSON")
    findings = aws_contract.check_plan(evaluate("dev", with_source())).findings
    assert any(f.argument == "exportFormat" and f.resource == f"{NAME}-dynamodb-orders-export" for f in findings)


EXPORT = "aws:dynamodb/tableExport:TableExport"


def test_the_plan_shows_each_export_and_stream_mapping(plan):
    from cloudbridge.plan_cli import describe

    lines = [line.strip() for line in describe(plan)]
    assert (
        "export cart-items: FULL_EXPORT DYNAMODB_JSON, KMS -> s3://cb-dev-basket-export-111111111111-eu-west-2/cart_items"
        in lines
    )
    assert (
        "stream cart-items: TRIM_HORIZON, batch 500, retries 10, max age 21600 s, bisect True, on failure -> "
        "cb-dev-basket-dynamodb-failures" in lines
    )
    assert "queue mapping cb-dev-basket-validator: batch 10" in lines
