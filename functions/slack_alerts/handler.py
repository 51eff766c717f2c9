"""Slack notifier Lambda: each SNS record becomes one Block Kit post to the webhook.

The webhook URL is read from Secrets Manager by ARN once per container and never
logged. slack-sdk's webhook client retries 429 (honouring Retry-After), 5xx and
connection errors with backoff; when the retries are exhausted the invocation fails,
so Lambda's retries and then the dead-letter queue keep the alert. A 4xx other than
429 means the webhook itself is wrong: that is said plainly, without the URL.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import boto3
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from functions.common import observability as obs
from functions.common.runtime import NotifierEnv
from functions.slack_alerts.formatting import Context, render

RETRIES = 4

# slack-sdk logs request URLs at DEBUG, botocore logs response bodies (the secret) at
# DEBUG: whatever the function's log level, neither may get that far.
_sdk_logger = logging.getLogger("cloudbridge.slack_sdk")
_sdk_logger.setLevel(logging.WARNING)
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)


class SlackDeliveryError(RuntimeError):
    """The alert could not be delivered; the message never contains the webhook URL."""


class ServerErrorRetryHandler(RetryHandler):
    """Retries every 5xx (slack-sdk's own handler covers only 500 and 503)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is not None and 500 <= response.status_code < 600


def webhook_client(url: str, interval: RetryIntervalCalculator | None = None, retries: int = RETRIES) -> WebhookClient:
    """A Slack webhook client that retries rate limits, server errors and connection errors."""
    interval = interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return WebhookClient(
        url,
        timeout=10,
        logger=_sdk_logger,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
            ConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=interval),
        ],
    )


def read_webhook_url(secrets: Any, secret_arn: str) -> str:
    """The webhook URL from its secret (Powertools Parameters, through the given client)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    value = str(SecretsProvider(boto3_client=secrets).get(secret_arn, max_age=0)).strip()
    if value.startswith("{"):
        value = json.loads(value).get("url", "")
    # https only; plain http just for a sink on this machine (the local sandbox, tests).
    if not (value.startswith("https://") or re.match(r"^http://(127\.0\.0\.1|localhost)[:/]", value)):
        raise SlackDeliveryError(f"secret {secret_arn} does not hold an https webhook URL")
    return value


class Notifier:
    """Posts SNS alert messages to Slack; the webhook URL is read once per container."""

    def __init__(
        self, secrets: Any, secret_arn: str, context: Context, interval: RetryIntervalCalculator | None = None
    ):
        self._secrets, self._secret_arn, self.context, self._interval = secrets, secret_arn, context, interval
        self._client: WebhookClient | None = None

    def client(self) -> WebhookClient:
        """The webhook client, created on first use."""
        if self._client is None:  # once per container
            self._client = webhook_client(read_webhook_url(self._secrets, self._secret_arn), self._interval)
        return self._client

    def post(self, subject: str | None, message: str, message_id: str = "") -> str:
        """Render and post one message; returns its kind."""
        kind, payload = render(subject, message, self.context)
        client = self.client()
        try:
            response = client.send_dict(payload)
        except Exception as exc:  # connection errors after retries
            raise SlackDeliveryError(f"Slack unreachable after {RETRIES} retries ({type(exc).__name__})") from None
        if response.status_code == 200:
            log({"event": "cloudbridge.slack_posted", "kind": kind, "messageId": message_id})
            return kind
        if response.status_code == 429 or response.status_code >= 500:
            raise SlackDeliveryError(f"Slack still answering HTTP {response.status_code} after {RETRIES} retries")
        # 4xx: the webhook is revoked or wrong; retrying will not help, the DLQ keeps the alert.
        raise SlackDeliveryError(
            f"Slack rejected the webhook (HTTP {response.status_code}: {response.body[:100]!r}); "
            f"check the URL stored in {self._secret_arn}"
        )

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Post every SNS record of one invocation."""
        kinds = []
        for record in event.get("Records", []):
            sns = record.get("Sns", {})
            kinds.append(self.post(sns.get("Subject"), sns.get("Message", ""), sns.get("MessageId", "")))
        return {"posted": len(kinds), "kinds": kinds}


LOG = obs.logger("cloudbridge-slack-notifier")
lambda_keys = obs.LambdaKeys()


def log(record: dict[str, Any]) -> None:
    """One structured log line (Powertools Logger): the record's keys at the top level."""
    LOG.info(record.get("event", "cloudbridge"), extra=record)


_notifier: Notifier | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    global _notifier
    lambda_keys(LOG, context)
    if _notifier is None:
        _notifier = Notifier(
            boto3.client("secretsmanager"),
            os.environ[NotifierEnv.SLACK_WEBHOOK_SECRET_ARN],
            Context(environment=os.environ[NotifierEnv.ENVIRONMENT], account=os.environ[NotifierEnv.ACCOUNT_ID]),
        )
    return _notifier.handle(event)
