"""One alert per failed file: the validation-failure message and its de-duplication.

A file can be delivered more than once (S3 and SQS deliver at least once, and a retried
batch validates its files again), concurrently too. The first invocation to create the
file's marker in the fail bucket (a conditional put: ``If-None-Match: *``) sends its
alert; the others see the marker and stay silent. A marker is removed again when the
alert could not be published, so the retry sends it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from botocore.exceptions import ClientError

from functions.common.runtime import ALERT_MARKERS
from functions.validator import routing


class FailureAlerts:
    """Claims, publishes and (when publishing failed) releases the alerts for failed files."""

    def __init__(self, settings: Any, s3: Any, sns: Any):
        self.settings, self.s3, self.sns = settings, s3, sns

    def _marker(self, outcome: Any) -> str:
        token = routing.etag_token(outcome.pending_delete.etag) if outcome.pending_delete else "none"
        return f"{ALERT_MARKERS}{outcome.key}/{token}"

    def claim(self, outcomes: list[Any]) -> tuple[list[Any], dict[int, Exception]]:
        """The failed files this invocation alerts for, and those whose claim could not be
        made (an S3 error): their messages are retried, the rest of the batch is not."""
        claimed, unclaimed = [], {}
        for outcome in outcomes:
            if outcome.outcome != "failed":
                continue
            try:
                if self._claim_one(outcome):
                    claimed.append(outcome)
            except Exception as exc:
                unclaimed[id(outcome)] = exc
        return claimed, unclaimed

    def _claim_one(self, outcome: Any) -> bool:
        """One alert per failed file, however often (or concurrently) it is delivered: the
        first invocation to create the file's marker in the fail bucket sends it."""
        try:
            self.s3.put_object(Bucket=self.settings.fail_bucket, Key=self._marker(outcome), Body=b"", IfNoneMatch="*")
        except ClientError as exc:
            if (
                routing.precondition_failed(exc)
                or exc.response.get("Error", {}).get("Code") == "ConditionalRequestConflict"
            ):
                return False
            raise
        return True

    def release(self, outcomes: list[Any]) -> None:
        """Remove the markers of alerts that did not go out."""
        for outcome in outcomes:  # the alert did not go out: let the retry send it
            try:
                self.s3.delete_object(Bucket=self.settings.fail_bucket, Key=self._marker(outcome))
            except ClientError:
                pass

    def publish(self, failed: list[Any]) -> None:
        """One SNS message for all the batch's failed files, grouped by table."""
        by_table: dict[str, list[Any]] = defaultdict(list)
        for outcome in failed:
            by_table[outcome.table or "(unrecognised key)"].append(outcome)
        tables = []
        for table, files in sorted(by_table.items()):
            reasons = Counter(f["code"] for o in files for f in o.findings)
            tables.append(
                {
                    "table": table,
                    "files": len(files),
                    "reasons": dict(reasons.most_common()),
                    "examples": [
                        {"key": o.key, "destination": o.destination, "reasons": o.findings[:3]} for o in files[:3]
                    ],
                }
            )
        message = {
            "type": "cloudbridge.validation_failures",
            "environment": self.settings.environment,
            "source": self.settings.source,
            "failedFiles": len(failed),
            "tables": tables,
        }
        subject = (
            f"CloudBridge {self.settings.environment}: {len(failed)} file(s) of {self.settings.source} "
            "failed validation"
        )
        self.sns.publish(TopicArn=self.settings.alerts_topic_arn, Subject=subject[:100], Message=json.dumps(message))
