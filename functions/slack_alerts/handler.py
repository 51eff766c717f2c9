"""Slack notifier Lambda entry point: SNS records to Slack incoming-webhook posts."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_webhook_url: str | None = None


def _webhook() -> str:
    """The webhook URL, read once per container by ARN; never logged."""
    global _webhook_url
    if _webhook_url is None:
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SLACK_WEBHOOK_SECRET_ARN"])
        value = secret["SecretString"].strip()
        _webhook_url = json.loads(value)["url"] if value.startswith("{") else value
    return _webhook_url


def format_message(subject: str | None, message: str) -> dict[str, Any]:
    environment = os.environ.get("CLOUDBRIDGE_ENVIRONMENT", "?")
    account = os.environ.get("CLOUDBRIDGE_ACCOUNT_ID", "?")
    title = (subject or "CloudBridge alert")[:150]
    return {
        "text": f"[{environment}] {title}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"[{environment}] {title}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{message[:2900]}```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"account {account}"}]},
        ],
    }


def _post(payload: dict[str, Any], attempts: int = 4) -> None:
    body = json.dumps(payload).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(_webhook(), data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10):
                return
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                raise RuntimeError(f"Slack rejected the message: HTTP {exc.code}") from None
            if attempt == attempts - 1:
                raise RuntimeError(f"Slack still failing after {attempts} attempts: HTTP {exc.code}") from None
        time.sleep(min(2**attempt, 8))


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event.get("Records", []):
        sns = record["Sns"]
        _post(format_message(sns.get("Subject"), sns.get("Message", "")))
        logger.info(json.dumps({"posted": sns.get("MessageId")}))
