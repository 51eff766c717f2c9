"""The DynamoDB converters' roles allow every call they make and nothing more, proven from
recorded calls as the validator's are (tests/lambdas/test_least_privilege.py): every path of each
converter in moto — a stream batch with a table's metadata and one without, a batch whose landing
write fails; an export converted, waited for and marked, then redelivered; an export converted by
two invocations, the first invoking the function for the second — is recorded and mapped
to the IAM actions AWS documents for it, and checked against the policies the program attaches to
the two roles (the dev stack with a DynamoDB source added)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloudbridge.plan import evaluate
from components.workspace import metadata_root
from functions.dynamodb_export import handler as export
from functions.dynamodb_stream import handler as stream
from tests.lambdas.test_dynamodb_export import EXPORT_BUCKET, FIXTURE, SUMMARY, Clock, validator_takes_landing
from tests.lambdas.test_least_privilege import NOT_CALLED_BY_CODE, Recorder, _check, _needs
from tests.program.test_dynamodb import NAME, with_source, write_metadata
from tests.support import dynamodb as support
from tests.support.moto_pipeline import GLUE_DATABASE, LANDING, META, RAW, REGION

LOGS = {k: v for k, v in NOT_CALLED_BY_CODE.items() if k.startswith("logs:")}
STREAM_NOT_CALLED_BY_CODE = {
    **LOGS,
    "dynamodb:DescribeStream": "the event source mapping reads the stream with the function's role",
    "dynamodb:GetRecords": "the event source mapping reads the stream with the function's role",
    "dynamodb:GetShardIterator": "the event source mapping reads the stream with the function's role",
    "dynamodb:ListStreams": "the event source mapping lists the streams with the function's role",
    "sqs:SendMessage": "the event source mapping sends what it gives up on to the on-failure queue",
    "s3:ListBucket": "GetObject of a table without metadata answers 404 (its files land undeclared) only with it",
}
EXPORT_NOT_CALLED_BY_CODE = {
    **LOGS,
    "lambda:InvokeFunction": "(on itself) only an export too large for one invocation is continued by the next",
    "sqs:SendMessage": "the Lambda service puts an invocation that failed its retries on the dead-letter queue",
    "s3:ListBucket": "(on the metadata bucket) a table without metadata answers 404, not 403, only with it",
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metadata") / "metadata"
    shutil.copytree(metadata_root(), folder)
    write_metadata(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOUDBRIDGE_METADATA_DIR", str(folder))
        return evaluate("dev", with_source())


def policy(plan, role: str) -> dict:
    return json.loads(plan.named(f"{NAME}-dynamodb-{role}-converter-role-policy").given["policy"])


def variables(plan, role: str) -> dict:
    function = plan.named(f"{NAME}-dynamodb-{role}-converter", "aws:lambda/function:Function")
    return function.given["environment"]["variables"]


def arns(plan) -> dict:
    outputs = plan.outputs["pipelines"][NAME]
    return {
        LANDING: outputs["landingBucket"], RAW: outputs["rawHistoryBucket"], META: outputs["metadataBucket"],
        EXPORT_BUCKET: variables(plan, "export")["DYNAMODB_EXPORT_BUCKET"],
        "key": plan.named("key", "aws:kms/key:Key").inputs["arn"], GLUE_DATABASE: outputs["glueDatabase"],
    }  # fmt: skip


def test_the_stream_converters_role_allows_exactly_what_its_calls_need(pipeline, plan, monkeypatch):
    pipeline.publish_metadata(support.orders_metadata())
    arn = support.create_table()
    support.client("dynamodb").put_item(TableName="orders", Item=support.item(1))
    unknown = support.create_table("returns")
    support.client("dynamodb").put_item(TableName="returns", Item={"id": {"S": "r"}})
    converter = stream.StreamConverter(stream.Settings("dev", NAME, LANDING, META), pipeline.s3)
    recorder = Recorder(pipeline.s3)
    recorder.during(converter.handle, support.lambda_event(support.stream_records(arn), arn))
    recorder.during(converter.handle, support.lambda_event(support.stream_records(unknown), unknown))
    assert {op for _, op, _ in recorder.calls} == {"GetObject", "PutObject"}
    denied, unused = _check(policy(plan, "stream"), _needs(recorder.calls, arns(plan)))
    assert denied == [], f"the stream converter's role lacks: {denied}"
    assert set(unused) <= set(STREAM_NOT_CALLED_BY_CODE), sorted(set(unused) - set(STREAM_NOT_CALLED_BY_CODE))


def test_the_export_converters_role_allows_exactly_what_its_calls_need(pipeline, plan):
    import boto3

    pipeline.s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(p for p in Path(FIXTURE).rglob("*") if p.is_file()):
        pipeline.s3.put_object(Bucket=EXPORT_BUCKET, Key=path.relative_to(FIXTURE).as_posix(), Body=path.read_bytes())
    pipeline.publish_metadata(support.orders_metadata())
    # The converter's own clients: the validator (the pipeline's clients) takes the files meanwhile.
    s3, glue = boto3.client("s3", region_name=REGION), boto3.client("glue", region_name=REGION)
    settings = export.Settings("dev", NAME, EXPORT_BUCKET, LANDING, RAW, META, GLUE_DATABASE)
    clock = Clock(lambda: validator_takes_landing(pipeline))
    converter = export.ExportConverter(settings, s3, glue, sleep=clock.sleep, clock=lambda: clock.now)
    recorder = Recorder(s3, glue)
    assert recorder.during(converter.convert, SUMMARY, 120)["marker"]
    assert recorder.during(converter.convert, SUMMARY, 120)["marker"] is None  # redelivered: marked already
    operations = {op for _, op, _ in recorder.calls}
    assert {"GetObject", "PutObject", "HeadObject", "BatchCreatePartition"} <= operations, operations
    denied, unused = _check(policy(plan, "export"), _needs(recorder.calls, arns(plan)))
    assert denied == [], f"the export converter's role lacks: {denied}"
    assert set(unused) <= set(EXPORT_NOT_CALLED_BY_CODE), sorted(set(unused) - set(EXPORT_NOT_CALLED_BY_CODE))


def test_a_chained_export_invokes_its_own_function_and_nothing_else(pipeline, plan, monkeypatch):
    import boto3
    from botocore.stub import ANY, Stubber

    pipeline.s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(p for p in Path(FIXTURE).rglob("*") if p.is_file()):
        pipeline.s3.put_object(Bucket=EXPORT_BUCKET, Key=path.relative_to(FIXTURE).as_posix(), Body=path.read_bytes())
    pipeline.publish_metadata(support.orders_metadata())
    monkeypatch.setattr(export, "LOAD_ROWS", 2)  # the recorded export's 7 items: four LOAD files
    name = plan.named(f"{NAME}-dynamodb-export-converter", "aws:lambda/function:Function").inputs["name"]
    s3, glue = boto3.client("s3", region_name=REGION), boto3.client("glue", region_name=REGION)
    lambda_ = boto3.client("lambda", region_name=REGION)
    stub = Stubber(lambda_)
    stub.add_response("invoke", {"StatusCode": 202}, {"FunctionName": name, "InvocationType": "Event", "Payload": ANY})
    stub.activate()
    settings = export.Settings("dev", NAME, EXPORT_BUCKET, LANDING, RAW, META, GLUE_DATABASE)
    clock = Clock(lambda: validator_takes_landing(pipeline))
    invoke = export.invoke_self(name, lambda_)
    converter = export.ExportConverter(settings, s3, glue, sleep=clock.sleep, clock=lambda: clock.now, invoke=invoke)
    recorder = Recorder(s3, glue, lambda_)
    first = recorder.during(converter.convert, SUMMARY, 1)  # no time left after the first data file
    assert first["continued"]["start"] == 3 and first["marker"] is None
    summary, resume = export.Resume.of(first["continued"])
    assert recorder.during(converter.convert, summary, 600, resume)["marker"]
    stub.assert_no_pending_responses()
    assert ("lambda", "Invoke") in {(service, op) for service, op, _ in recorder.calls}
    denied, unused = _check(policy(plan, "export"), _needs(recorder.calls, arns(plan)))
    assert denied == [], f"the export converter's role lacks: {denied}"
    assert set(unused) <= set(EXPORT_NOT_CALLED_BY_CODE), sorted(set(unused) - set(EXPORT_NOT_CALLED_BY_CODE))
