"""The Slack notifier: message formatting, delivery with retries, secret handling."""

import json
import logging

import boto3
import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from cloudbridge.sandbox.webhook import WebhookSink
from functions.slack_alerts import formatting, handler
from functions.slack_alerts.formatting import Context, render

CTX = Context(environment="dev", account="111111111111")

# Real payload shapes, as CloudWatch, EventBridge and the validator publish them.
ALARM = {
    "AlarmName": "cb-dev-sales-cdc-lag",
    "AlarmDescription": "[cloudbridge:source=sales] DMS CDC lag (source + target latency) above 900 s",
    "AWSAccountId": "111111111111",
    "AlarmConfigurationUpdatedTimestamp": "2026-11-20T09:00:00.000+0000",
    "NewStateValue": "ALARM",
    "NewStateReason": (
        "Threshold Crossed: 3 out of the last 3 datapoints [1260.0 (24/11/26 18:03:00)] "
        "were greater than the threshold (900.0)."
    ),
    "StateChangeTime": "2026-11-24T18:05:00.123+0000",
    "Region": "EU (London)",
    "AlarmArn": "arn:aws:cloudwatch:eu-west-2:111111111111:alarm:cb-dev-sales-cdc-lag",
    "OldStateValue": "OK",
    "OKActions": ["arn:aws:sns:eu-west-2:111111111111:cb-dev-alerts"],
    "AlarmActions": ["arn:aws:sns:eu-west-2:111111111111:cb-dev-alerts"],
    "InsufficientDataActions": [],
    "Trigger": {
        "Period": 60,
        "EvaluationPeriods": 3,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 900.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {"Expression": "source + target", "Id": "lag", "Label": "CDC lag", "ReturnData": True},
            {
                "Id": "source",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "cb-dev-sales", "name": "ReplicationTaskIdentifier"}],
                        "MetricName": "CDCLatencySource",
                        "Namespace": "AWS/DMS",
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": False,
            },
        ],
    },
}
OK_ALARM = {
    **ALARM,
    "AlarmName": "cb-dev-sales-validator-dlq",
    "AlarmDescription": "[cloudbridge:source=sales] validator dead-letter queue holds messages",
    "NewStateValue": "OK",
    "OldStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 1 datapoint [0.0] was not greater than the threshold (0.0).",
    "Trigger": {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "Statistic": "MAXIMUM",
        "Dimensions": [{"value": "cb-dev-sales-validator-dlq", "name": "QueueName"}],
        "Period": 300,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.0,
    },
}
DMS_FAILED = {
    "version": "0",
    "id": "7a2b4c1e-0000-4000-8000-000000000000",
    "detail-type": "DMS Replication Task State Change",
    "source": "aws.dms",
    "account": "111111111111",
    "time": "2026-11-24T18:00:00Z",
    "region": "eu-west-2",
    "resources": ["arn:aws:dms:eu-west-2:111111111111:task:cb-dev-billing"],
    "detail": {
        "type": "REPLICATION_TASK",
        "category": "Failure",
        "eventType": "REPLICATION_TASK_FAILED",
        "eventId": "DMS-EVENT-0078",
        "resourceLink": "https://console.aws.amazon.com/dms/v2/home?region=eu-west-2#taskDetails/cb-dev-billing",
        "detailMessage": "Last Error Query execution or fetch failure. Stop Reason FATAL_ERROR Error Level FATAL",
    },
}
VALIDATION = {
    "type": "cloudbridge.validation_failures",
    "environment": "dev",
    "source": "sales",
    "failedFiles": 4,
    "tables": [
        {
            "table": "public.orders",
            "files": 3,
            "reasons": {"UNEXPECTED_COLUMNS": 3},
            "examples": [
                {
                    "key": "public/orders/2026/11/24/20261124-180000000.parquet",
                    "destination": "s3://cb-dev-sales-fail-111111111111-eu-west-2/public/orders/2026/11/24/20261124-180000000.parquet",
                    "reasons": [
                        {
                            "code": "UNEXPECTED_COLUMNS",
                            "message": "cdc file has columns not in the metadata: ['discount']",
                        }
                    ],
                }
            ],
        },
        {"table": "public.refunds", "files": 1, "reasons": {"UNKNOWN_TABLE": 1}, "examples": []},
    ],
}


def texts(payload) -> str:
    """Every piece of visible text of a payload."""
    return json.dumps(payload, ensure_ascii=False)


def check_limits(payload):
    assert len(payload["text"]) <= formatting.TEXT_LIMIT
    assert 0 < len(payload["blocks"]) <= formatting.MAX_BLOCKS
    for block in payload["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= formatting.HEADER_LIMIT
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= formatting.SECTION_LIMIT
            for field in block.get("fields", []):
                assert len(field["text"]) <= formatting.FIELD_LIMIT
            assert "text" in block or block.get("fields")


def test_alarm_with_metric_math():
    kind, payload = render("ALARM: cb-dev-sales-cdc-lag", json.dumps(ALARM), CTX)
    check_limits(payload)
    body = texts(payload)
    assert kind == "alarm"
    assert payload["blocks"][0]["text"]["text"] == "[dev] ALARM: cb-dev-sales-cdc-lag"
    assert "source + target" in body and "GreaterThanThreshold 900.0" in body
    assert "1260.0" in body  # the reason
    assert "env *dev*" in body and "111111111111" in body and "source *sales*" in body
    assert (
        "https://eu-west-2.console.aws.amazon.com/cloudwatch/home?region=eu-west-2#alarmsV2:alarm/cb-dev-sales-cdc-lag"
        in body
    )


def test_ok_alarm_with_a_single_metric():
    kind, payload = render(None, json.dumps(OK_ALARM), CTX)
    body = texts(payload)
    assert kind == "alarm" and ":white_check_mark:" in payload["text"] and "is *OK* (was ALARM)" in body
    assert "AWS/SQS ApproximateNumberOfMessagesVisible (QueueName=cb-dev-sales-validator-dlq)" in body


def test_dms_task_failure_event():
    kind, payload = render(None, json.dumps(DMS_FAILED), CTX)
    check_limits(payload)
    body = texts(payload)
    assert kind == "dms-event"
    assert payload["blocks"][0]["text"]["text"] == "[dev] DMS replication task failed: cb-dev-billing"
    assert "DMS-EVENT-0078" in body and "FATAL_ERROR" in body and "source *billing*" in body
    assert "open in DMS" in body


@pytest.mark.parametrize(
    "event_type,event_id",
    [
        ("REPLICATION_TASK_STOPPED", "DMS-EVENT-0079"),
        ("REPLICATION_TASK_STARTED", "DMS-EVENT-0069"),
        ("REPLICATION_TASK_READING_PAUSED", "DMS-EVENT-0091"),
    ],
)
def test_other_dms_events(event_type, event_id):
    event = {
        **DMS_FAILED,
        "detail": {**DMS_FAILED["detail"], "category": "StateChange", "eventType": event_type, "eventId": event_id},
    }
    kind, payload = render(None, json.dumps(event), CTX)
    assert kind == "dms-event" and event_id in texts(payload)
    assert event_type.replace("_", " ").lower() in payload["blocks"][0]["text"]["text"]


def test_serverless_replication_state_change():
    event = {
        **DMS_FAILED,
        "detail-type": "DMS Replication State Change",
        "resources": ["arn:aws:dms:eu-west-2:111111111111:replication-config:cb-dev-sales"],
        "detail": {"type": "REPLICATION_STATE_CHANGE", "category": "StateChange", "eventType": "REPLICATION_FAILED"},
    }
    kind, payload = render(None, json.dumps(event), CTX)
    check_limits(payload)
    assert kind == "dms-event" and "cb-dev-sales" in payload["blocks"][0]["text"]["text"]
    assert "source *sales*" in texts(payload)


def test_validator_failure_summary():
    kind, payload = render("CloudBridge dev: 4 file(s) of sales failed validation", json.dumps(VALIDATION), CTX)
    check_limits(payload)
    body = texts(payload)
    assert kind == "validation-failures"
    assert payload["blocks"][0]["text"]["text"] == "[dev] 4 file(s) of sales failed validation"
    assert "*public.orders*: 3 file(s) — UNEXPECTED_COLUMNS ×3" in body
    assert "public.refunds" in body and "discount" in body and "source *sales*" in body


def test_drift_check_failure():
    message = {
        "type": "cloudbridge.drift",
        "environment": "prod",
        "run": "https://github.com/acme/cloudbridge/actions/runs/42",
    }
    kind, payload = render("CloudBridge prod: infrastructure drift", json.dumps(message), CTX)
    check_limits(payload)
    assert kind == "drift" and "actions/runs/42" in texts(payload)


def test_unknown_json_is_posted_readably():
    kind, payload = render("Something new", json.dumps({"hello": "world", "n": 1}), CTX)
    assert kind == "unknown"
    assert payload["blocks"][0]["text"]["text"] == "[dev] Something new"
    assert '"hello": "world"' in payload["blocks"][1]["text"]["text"]


def test_plain_text_is_posted_not_dropped():
    kind, payload = render(None, "disk <full> & more", CTX)
    assert kind == "text" and "disk <full> & more" in texts(payload)


def test_long_texts_are_cut_to_slack_limits():
    huge = {**ALARM, "AlarmName": "x" * 400, "NewStateReason": "r" * 10_000}
    check_limits(render(None, json.dumps(huge), CTX)[1])
    many = {**VALIDATION, "tables": [dict(VALIDATION["tables"][0], table=f"s.t{i}") for i in range(300)]}
    check_limits(render(None, json.dumps(many), CTX)[1])
    check_limits(render("s" * 500, "m" * 50_000, CTX)[1])


def test_mrkdwn_is_escaped():
    event = {**DMS_FAILED, "detail": {**DMS_FAILED["detail"], "detailMessage": "<!channel> a & b"}}
    body = texts(render(None, json.dumps(event), CTX)[1])
    assert "&lt;!channel&gt; a &amp; b" in body and "<!channel>" not in body


# --- delivery -------------------------------------------------------------------------------

SECRET_NAME = "cloudbridge/slack-webhook"


@pytest.fixture
def secret(aws):
    def create(value):
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        return client, client.create_secret(Name=SECRET_NAME, SecretString=value)["ARN"]

    return create


def notifier(secrets, arn):
    return handler.Notifier(secrets, arn, CTX, interval=FixedValueRetryIntervalCalculator(0))


def sns_event(message, subject=None):
    return {
        "Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Subject": subject, "Message": message}}]
    }


def test_posts_to_the_webhook_read_once_from_secrets_manager(secret, monkeypatch):
    with WebhookSink() as sink:
        secrets, arn = secret(json.dumps({"url": sink.url}))
        calls = []
        real = secrets.get_secret_value
        monkeypatch.setattr(secrets, "get_secret_value", lambda **kw: calls.append(kw) or real(**kw))
        n = notifier(secrets, arn)
        assert n.handle(sns_event(json.dumps(ALARM)))["kinds"] == ["alarm"]
        assert n.handle(sns_event(json.dumps(DMS_FAILED)))["kinds"] == ["dms-event"]
    assert len(sink.posts) == 2 and sink.paths[0] == "/services/T000/B000/XXXXsecretXXXX"
    assert sink.posts[0]["blocks"][0]["text"]["text"] == "[dev] ALARM: cb-dev-sales-cdc-lag"
    assert len(calls) == 1, "the secret is read once per container"


def test_rate_limit_is_retried(secret):
    with WebhookSink(script=[429, 429]) as sink:
        n = notifier(*secret(sink.url))
        n.handle(sns_event(json.dumps(VALIDATION)))
    assert len(sink.posts) == 3 and sink.posts[0] == sink.posts[2]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(secret, status):
    with WebhookSink(script=[status, status]) as sink:
        notifier(*secret(sink.url)).handle(sns_event("hello"))
    assert len(sink.posts) == 3


def test_exhausted_retries_fail_the_invocation_so_the_dlq_keeps_the_alert(secret):
    with WebhookSink(script=[500] * 20) as sink:
        n = notifier(*secret(sink.url))
        with pytest.raises(handler.SlackDeliveryError, match="HTTP 500 after 4 retries"):
            n.handle(sns_event(json.dumps(ALARM)))
    assert len(sink.posts) == handler.RETRIES + 1


@pytest.mark.parametrize("status", [403, 404])
def test_a_bad_webhook_is_reported_clearly_without_retrying(secret, status):
    with WebhookSink(script=[status]) as sink:
        secrets, arn = secret(sink.url)
        with pytest.raises(handler.SlackDeliveryError) as info:
            notifier(secrets, arn).handle(sns_event("hello"))
    assert len(sink.posts) == 1
    assert f"HTTP {status}" in str(info.value) and arn in str(info.value)
    assert sink.url not in str(info.value) and "XXXXsecretXXXX" not in str(info.value)


def test_unreachable_slack_fails_after_retries(secret):
    with WebhookSink() as sink:
        url = sink.url
    secrets, arn = secret(url)  # the server is gone: connection refused
    with pytest.raises(handler.SlackDeliveryError, match="unreachable") as info:
        notifier(secrets, arn).handle(sns_event("hello"))
    assert "XXXXsecretXXXX" not in str(info.value)


def test_secret_must_hold_a_webhook_url(secret):
    secrets, arn = secret("not-a-url")
    with pytest.raises(handler.SlackDeliveryError, match="does not hold an https webhook URL") as info:
        notifier(secrets, arn).handle(sns_event("hello"))
    assert "not-a-url" not in str(info.value)


def test_the_webhook_url_never_reaches_the_logs(secret, capsys, caplog):
    with WebhookSink(script=[429, 500]) as sink, WebhookSink(script=[404]) as bad:
        secrets, arn = secret(sink.url)
        _, bad_arn = secrets, secrets.create_secret(Name="bad-webhook", SecretString=bad.url)["ARN"]
        caplog.clear()
        capsys.readouterr()
        caplog.set_level(logging.DEBUG)  # even at DEBUG, from every logger
        notifier(secrets, arn).handle(sns_event(json.dumps(ALARM)))
        with pytest.raises(handler.SlackDeliveryError):
            notifier(secrets, bad_arn).handle(sns_event("x"))
    out = capsys.readouterr()
    everything = out.out + out.err + caplog.text
    assert "slack_posted" in everything
    assert "XXXXsecretXXXX" not in everything and "/services/" not in everything


def test_lambda_entry_point_reads_its_settings_from_the_environment(secret, monkeypatch):
    with WebhookSink() as sink:
        secrets, arn = secret(sink.url)
        monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", arn)
        monkeypatch.setenv("CLOUDBRIDGE_ENVIRONMENT", "prod")
        monkeypatch.setenv("CLOUDBRIDGE_ACCOUNT_ID", "333333333333")
        monkeypatch.setattr(handler, "_notifier", None)
        assert handler.handler(sns_event(json.dumps(VALIDATION)), None)["posted"] == 1
    assert "account `333333333333`" in texts(sink.posts[0]) and "[prod]" in sink.posts[0]["text"]
