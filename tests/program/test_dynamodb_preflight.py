"""``python -m cloudbridge preflight`` on a DynamoDB source: each table's existence, stream view type
point-in-time recovery and environment tag, from DescribeTable, DescribeContinuousBackups and
ListTagsOfResource (moto, and a Stubber
for the exact calls), with the command that fixes each failure; exit 1 while anything blocks."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cloudbridge import cli, dynamodb_preflight, preflight, stackfile
from tests.support import dynamodb as support

STREAM = "arn:aws:dynamodb:eu-west-2:111111111111:table/orders/stream/2024-01-01T00:00:00.000"
ENTRY = {"name": "basket", "engine": "dynamodb", "tables": ["orders"]}


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield


def run(monkeypatch, capsys, entry=ENTRY):
    monkeypatch.setattr(stackfile, "source_entry", lambda stack, source: entry)
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: support.client(service))
    code = preflight.main(["--source", entry["name"], "--stack", "dev"])
    return code, capsys.readouterr().out


def test_a_ready_table_passes(aws, monkeypatch, capsys):
    support.create_table()
    code, out = run(monkeypatch, capsys)
    assert code == cli.OK, out
    assert "PASS  orders stream: NEW_AND_OLD_IMAGES" in out and "PASS  orders point-in-time recovery: ENABLED" in out
    assert "PASS  orders tagged for dev: cloudbridge:environment=dev" in out
    assert "4 checks: 0 blocking failure(s)" in out


def test_a_table_not_tagged_for_the_environment_fails_with_the_fix(aws, monkeypatch, capsys):
    support.create_table(environment=None)
    code, out = run(monkeypatch, capsys)
    assert code == cli.FINDINGS
    assert "FAIL  orders tagged for dev: no cloudbridge:environment tag" in out and "tag-resource" in out


def test_a_table_without_point_in_time_recovery_fails_with_the_fix(aws, monkeypatch, capsys):
    support.create_table(pitr=False)
    code, out = run(monkeypatch, capsys)
    assert code == cli.FINDINGS
    assert "FAIL  orders point-in-time recovery: DISABLED" in out
    assert "update-continuous-backups --table-name orders" in out


def test_a_stream_of_another_view_type_fails_with_the_fix(aws, monkeypatch, capsys):
    support.create_table(view="KEYS_ONLY")
    code, out = run(monkeypatch, capsys)
    assert code == cli.FINDINGS
    assert "the stream carries KEYS_ONLY" in out and "StreamEnabled=false" in out


def test_a_missing_table_fails_naming_the_region(aws, monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {**ENTRY, "tables": ["nope"]})
    assert code == cli.FINDINGS and "no table nope in eu-west-2" in out


def test_the_calls_are_exactly_describe_table_continuous_backups_and_tags():
    client = boto3.client("dynamodb", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_table",
        {
            "Table": {
                "TableName": "orders",
                "TableStatus": "ACTIVE",
                "TableArn": STREAM.split("/stream/")[0],
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                "LatestStreamArn": STREAM,
            }
        },
        {"TableName": "orders"},
    )
    stubber.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"},
            }
        },
        {"TableName": "orders"},
    )
    stubber.add_response(
        "list_tags_of_resource",
        {"Tags": [{"Key": "cloudbridge:environment", "Value": "dev"}]},
        {"ResourceArn": STREAM.split("/stream/")[0]},
    )
    with stubber:
        checks = dynamodb_preflight.table_checks(client, "orders", "dev")
    stubber.assert_no_pending_responses()
    assert [c.ok for c in checks] == [True, True, True, True]
