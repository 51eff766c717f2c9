"""The roles the program attaches allow every AWS call the functions make — and nothing
the calls do not need — proven from recorded calls, not from moto's IAM emulation.

moto's IAM enforcement cannot prove this: it maps CopyObject, UploadPartCopy and
CreateMultipartUpload all to s3:PutObject and ignores tagging and KMS. Instead every call
the validator and notifier make in these moto runs is recorded (botocore event hooks),
mapped to the IAM actions AWS's service authorization reference and the S3/KMS/SNS guides
document for it (``CALL_ACTIONS``), and checked against the policy documents the Pulumi
program itself attaches to those roles.
"""

import fnmatch
import json
from decimal import Decimal

import boto3
import pytest

from cloudbridge import dmsfiles
from cloudbridge.plan import evaluate
from functions.slack_alerts import handler as notifier_handler
from functions.validator import routing
from tests.support.moto_pipeline import FAIL, GLUE_DATABASE, LANDING, META, RAW, orders_metadata

# Per call: (action, which resource) pairs. "object"/"bucket" are the call's own Bucket/Key,
# "source" the CopySource, "key" the account's KMS key (every bucket and the topic use it).
CALL_ACTIONS = {
    # HEAD needs GetObject; ListBucket turns "absent" into 404 instead of 403.
    ("s3", "HeadObject"): [("s3:GetObject", "object"), ("s3:ListBucket", "bucket")],
    ("s3", "GetObject"): [("s3:GetObject", "object"), ("kms:Decrypt", "key")],
    ("s3", "PutObject"): [("s3:PutObject", "object"), ("kms:GenerateDataKey", "key")],
    ("s3", "DeleteObject"): [("s3:DeleteObject", "object")],
    # A copy reads the source and writes the destination; tags given with it need
    # PutObjectTagging on the destination; SSE-KMS on both sides needs Decrypt + GenerateDataKey.
    ("s3", "CopyObject"): [
        ("s3:GetObject", "source"), ("s3:PutObject", "object"), ("kms:Decrypt", "key"), ("kms:GenerateDataKey", "key"),
    ],
    # Multipart uploads under SSE-KMS need both GenerateDataKey and Decrypt (S3 user guide).
    ("s3", "CreateMultipartUpload"): [
        ("s3:PutObject", "object"), ("kms:GenerateDataKey", "key"), ("kms:Decrypt", "key"),
    ],
    ("s3", "UploadPartCopy"): [
        ("s3:GetObject", "source"), ("s3:PutObject", "object"), ("kms:Decrypt", "key"), ("kms:GenerateDataKey", "key"),
    ],
    ("s3", "CompleteMultipartUpload"): [("s3:PutObject", "object"), ("kms:Decrypt", "key")],
    ("s3", "AbortMultipartUpload"): [("s3:AbortMultipartUpload", "object")],
    # s3transfer tags a multipart copy after completing it, naming the new version in a
    # versioned bucket: that takes PutObjectVersionTagging (added below when VersionId is set).
    ("s3", "PutObjectTagging"): [("s3:PutObjectTagging", "object")],
    # Publishing to a KMS-encrypted topic (SNS developer guide).
    ("sns", "Publish"): [("sns:Publish", "topic"), ("kms:GenerateDataKey", "key"), ("kms:Decrypt", "key")],
    ("secretsmanager", "GetSecretValue"): [("secretsmanager:GetSecretValue", "secret")],
    # Glue authorizes a partition write on the catalog, the database and the table (Glue developer guide).
    # Both resource-level: the replication task, or the serverless replication config.
    ("dms", "DescribeTableStatistics"): [("dms:DescribeTableStatistics", "statistics")],
    ("dms", "DescribeReplicationTableStatistics"): [("dms:DescribeReplicationTableStatistics", "statistics")],
    # A function invoking a function (itself): InvokeFunction on the function (Lambda's service
    # authorization reference: resource type "function").
    ("lambda", "Invoke"): [("lambda:InvokeFunction", "function")],
    ("glue", "BatchCreatePartition"): [
        ("glue:BatchCreatePartition", "catalog"), ("glue:BatchCreatePartition", "database"),
        ("glue:BatchCreatePartition", "table"),
    ],
}  # fmt: skip
# Granted but not called by the handler code, each for a stated reason.
NOT_CALLED_BY_CODE = {
    "sqs:ChangeMessageVisibility": "the Lambda event source mapping polls the queue with the function's role",
    "sqs:DeleteMessage": "the Lambda event source mapping deletes processed messages",
    "sqs:GetQueueAttributes": "the Lambda event source mapping reads the queue",
    "sqs:ReceiveMessage": "the Lambda event source mapping receives the batches",
    "logs:CreateLogStream": "the Lambda runtime writes the function's logs",
    "logs:PutLogEvents": "the Lambda runtime writes the function's logs",
    "s3:AbortMultipartUpload": "s3transfer aborts a failed multipart copy (not exercised when copies succeed)",
}

NOTIFIER_NOT_CALLED_BY_CODE = {
    **{k: v for k, v in NOT_CALLED_BY_CODE.items() if k.startswith("logs:")},
    "sqs:SendMessage": "the Lambda service puts failed invocations on the function's dead-letter queue",
    "kms:GenerateDataKey": "that dead-letter queue is KMS-encrypted",
    "kms:Decrypt": "that dead-letter queue is KMS-encrypted",
}


class Recorder:
    """Every API call made through the given clients, with its parameters."""

    def __init__(self, *clients):
        self.calls, self.on = [], False
        for client in clients:
            client.meta.events.register("before-parameter-build", self._record)

    def _record(self, params, model, **_):
        if self.on:
            self.calls.append((model.service_model.service_name, model.name, dict(params)))

    def during(self, fn, *args):
        self.on = True
        try:
            return fn(*args)
        finally:
            self.on = False


def _needs(calls, arns):
    """(action, resource ARN, call) for every recorded call."""
    services = {"sns": "sns", "s3": "s3", "secretsmanager": "secretsmanager", "glue": "glue", "dms": "dms",
                "lambda": "lambda"}  # fmt: skip
    out = []
    for service, operation, params in calls:
        mapping = CALL_ACTIONS.get((services[service], operation))
        assert mapping is not None, f"{service}:{operation} is called but has no documented IAM actions here"
        for action, which in mapping:
            if which == "object":
                resource = f"arn:aws:s3:::{arns[params['Bucket']]}/{params['Key']}"
            elif which == "bucket":
                resource = f"arn:aws:s3:::{arns[params['Bucket']]}"
            elif which in ("catalog", "database", "table"):
                prefix = arns["key"].split(":key/")[0].replace(":kms:", ":glue:")
                database = arns[params["DatabaseName"]]
                resource = {
                    "catalog": f"{prefix}:catalog",
                    "database": f"{prefix}:database/{database}",
                    "table": f"{prefix}:table/{database}/{params.get('TableName', '')}",
                }[which]
            elif which == "function":  # by name, in the account and region of the stack's key
                prefix = arns["key"].split(":key/")[0].replace(":kms:", ":lambda:")
                resource = f"{prefix}:function:{params['FunctionName']}"
            elif which == "source":
                bucket, key = _copy_source(params["CopySource"])
                resource = f"arn:aws:s3:::{arns[bucket]}/{key}"
            else:
                resource = arns[which]
            if operation == "PutObjectTagging" and params.get("VersionId"):
                out.append(("s3:PutObjectVersionTagging", resource, operation))
            if operation in ("CopyObject", "CreateMultipartUpload", "PutObject") and params.get("Tagging"):
                out.append(("s3:PutObjectTagging", f"arn:aws:s3:::{arns[params['Bucket']]}/{params['Key']}", operation))
            out.append((action, resource, operation))
    return out


def _copy_source(value):
    """CopySource as given ({"Bucket", "Key"}) or as botocore serialises it ("bucket/key")."""
    from urllib.parse import unquote

    if isinstance(value, dict):
        return value["Bucket"], value["Key"]
    bucket, _, key = unquote(value.split("?")[0]).lstrip("/").partition("/")
    return bucket, key


def _allows(statement, action, resource):
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return (
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatch.fnmatchcase(resource, r) for r in resources)
    )


def _check(policy, needs):
    statements = policy["Statement"]
    denied = sorted({(a, r, op) for a, r, op in needs if not any(_allows(s, a, r) for s in statements)})
    used = set()
    for action, resource, _ in needs:
        for i, statement in enumerate(statements):
            if _allows(statement, action, resource):
                for granted in statement["Action"]:
                    if fnmatch.fnmatchcase(action.lower(), granted.lower()):
                        used.add((i, granted))
    unused = sorted({a for i, s in enumerate(statements) for a in s["Action"] if (i, a) not in used})
    return denied, unused


@pytest.fixture(scope="module")
def dev_plan():
    return evaluate("dev")


def _policy(plan, name):
    return json.loads(plan.named(f"{name}-role-policy", "aws:iam/rolePolicy:RolePolicy").given["policy"])


def test_the_validator_role_allows_exactly_what_its_calls_need(pipeline, dev_plan, monkeypatch):
    recorder = Recorder(pipeline.s3, pipeline.sns, pipeline.glue)
    # Every path: a pass, a fail (copy, marker, alert), a file above the multipart threshold
    # copied into the versioned raw-history bucket, a redelivery, an unknown table, and an
    # alert that could not be published (its marker released).
    monkeypatch.setattr(routing, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    pipeline.validator.transfer = type(pipeline.validator.transfer)(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    meta = orders_metadata()
    rows = [
        {"order_id": i, "customer_id": 1, "amount": Decimal("1.00"), "status": f"s-{i:012d}", "paid": True}
        for i in range(1, 300_001)
    ]
    big = dmsfiles.to_bytes(dmsfiles.dms_table(meta, "load", rows), row_group_length=10_000)
    assert len(big) > 5 * 1024 * 1024  # above the threshold: a multipart copy
    keys = [
        pipeline.land(
            "public/orders/LOAD00000001.parquet", dmsfiles.to_bytes(dmsfiles.dms_table(meta, "load", rows[:5]))
        ),
        pipeline.land("public/orders/LOAD00000002.parquet", big),
        pipeline.land("public/orders/2024/03/05/20240305-134512345.parquet", b"not parquet but long enough"),
        pipeline.land("public/refunds/LOAD00000001.parquet", b"PAR1 and nothing else"),
    ]
    assert recorder.during(pipeline.validate, *keys) == {"batchItemFailures": []}
    assert recorder.during(pipeline.validate, keys[0]) == {"batchItemFailures": []}  # redelivered: already moved
    failing = pipeline.land("public/orders/2024/03/05/20240305-134599999.parquet", b"still not parquet at all")
    monkeypatch.setattr(
        pipeline.validator.alerts, "publish", lambda failed: (_ for _ in ()).throw(RuntimeError("SNS down"))
    )
    assert recorder.during(pipeline.validate, failing)["batchItemFailures"]
    operations = {op for _, op, _ in recorder.calls}
    assert {
        "CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload", "CopyObject", "Publish",
        "BatchCreatePartition",
    } <= operations  # fmt: skip

    outputs = dev_plan.outputs["pipelines"]["sales"]
    arns = {
        LANDING: outputs["landingBucket"], RAW: outputs["rawHistoryBucket"], FAIL: outputs["failBucket"],
        META: outputs["metadataBucket"], "topic": dev_plan.outputs["alertsTopicArn"],
        "key": dev_plan.named("key", "aws:kms/key:Key").inputs["arn"],
        GLUE_DATABASE: dev_plan.named("sales-validator", "aws:lambda/function:Function").given["environment"][
            "variables"
        ]["GLUE_DATABASE"],
    }  # fmt: skip
    denied, unused = _check(_policy(dev_plan, "sales-validator"), _needs(recorder.calls, arns))
    assert denied == [], f"the validator's role lacks: {denied}"
    assert set(unused) <= set(NOT_CALLED_BY_CODE), (
        f"granted but never needed: {sorted(set(unused) - set(NOT_CALLED_BY_CODE))}"
    )


MARKER_WRITER_NOT_CALLED_BY_CODE = {
    **{k: v for k, v in NOT_CALLED_BY_CODE.items() if k.startswith("logs:")},
    "s3:ListBucket": "GetObject of a table without metadata answers 404 (unknown table, skipped) only with "
    "ListBucket on the bucket, 403 without it (S3 GetObject reference)",
}


@pytest.mark.parametrize("source", ["sales", "billing"])  # dev: serverless, instance
def test_the_marker_writers_role_allows_exactly_what_its_calls_need(pipeline, dev_plan, source):
    from botocore.stub import Stubber

    from functions.generation_marker import handler as marker

    variables = dev_plan.named(f"{source}-generations", "aws:lambda/function:Function").given["environment"][
        "variables"
    ]
    arn = variables[marker.GenerationsEnv.STATISTICS_ARN]
    settings = marker.Settings("dev", source, RAW, META, arn, GLUE_DATABASE)
    dms = boto3.client("dms", region_name="eu-west-2")
    stubber = Stubber(dms)
    operation, field = (
        ("describe_replication_table_statistics", "ReplicationTableStatistics")
        if settings.serverless
        else ("describe_table_statistics", "TableStatistics")
    )
    from datetime import UTC, datetime

    completed = {
        "SchemaName": "public", "TableName": "orders", "TableState": "Table completed",
        "FullLoadStartTime": datetime(2026, 3, 5, 10, tzinfo=UTC),
        "FullLoadEndTime": datetime(2026, 3, 5, 11, tzinfo=UTC),
    }  # fmt: skip
    unknown = {**completed, "TableName": "ghost"}
    for _ in range(2):  # the marker written, then found written already
        stubber.add_response(operation, {field: [completed, unknown]})
    stubber.activate()
    recorder = Recorder(dms, pipeline.s3, pipeline.glue)
    writer = marker.MarkerWriter(settings, dms, pipeline.s3, pipeline.glue)
    assert len(recorder.during(writer.poll)["written"]) == 1
    assert recorder.during(writer.poll)["written"] == []
    operations = {op for _, op, _ in recorder.calls}
    assert {"PutObject", "GetObject", "BatchCreatePartition"} <= operations

    outputs = dev_plan.outputs["pipelines"][source]
    arns = {
        RAW: outputs["rawHistoryBucket"], META: outputs["metadataBucket"], "statistics": arn,
        "key": dev_plan.named("key", "aws:kms/key:Key").inputs["arn"], GLUE_DATABASE: variables["GLUE_DATABASE"],
    }  # fmt: skip
    denied, unused = _check(_policy(dev_plan, f"{source}-generations"), _needs(recorder.calls, arns))
    assert denied == [], f"the marker writer's role lacks: {denied}"
    assert set(unused) <= set(MARKER_WRITER_NOT_CALLED_BY_CODE), unused


def test_the_notifier_role_allows_exactly_what_its_calls_need(aws, dev_plan):
    secrets = boto3.client("secretsmanager", region_name="eu-west-2")
    arn = secrets.create_secret(Name="webhook", SecretString="https://hooks.slack.com/services/T/B/x")["ARN"]
    recorder = Recorder(secrets)
    recorder.during(notifier_handler.read_webhook_url, secrets, arn)
    webhook = dev_plan.named("slack-notifier", "aws:lambda/function:Function").given["environment"]["variables"][
        "SLACK_WEBHOOK_SECRET_ARN"
    ]
    recorded = [(s, op, {**p, "SecretId": webhook}) for s, op, p in recorder.calls]
    denied, unused = _check(_policy(dev_plan, "slack-notifier"), _needs(recorded, {"secret": webhook}))
    assert denied == [] and recorded
    assert set(unused) <= set(NOTIFIER_NOT_CALLED_BY_CODE), unused


def test_every_mapped_action_is_a_real_iam_action():
    from policy_sentry.querying.actions import get_action_data

    for mapping in CALL_ACTIONS.values():
        for action, _ in mapping:
            service, name = action.split(":")
            assert get_action_data(service, name), action
