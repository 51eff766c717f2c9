"""Logs and metrics of the Lambda functions, through AWS Lambda Powertools.

Logger writes one JSON line per record with level, timestamp, service, the Lambda request
id and a cold-start marker (``lambda_keys``); EphemeralMetrics builds the CloudWatch
embedded-metric-format (EMF) blob of one batch, with no state shared between batches.
The metric names and namespace below are what the alarms watch (components/monitoring.py).
Powertools is vendored into each function's archive (components/packaging.py).
"""

from __future__ import annotations

import sys
from typing import Any

VALIDATOR_METRICS_NAMESPACE = "CloudBridge/Validator"
FILES_PASSED = "FilesPassed"
FILES_FAILED = "FilesFailed"
ROWS_VALIDATED = "RowsValidated"
BYTES_READ = "BytesRead"


class _Stdout:
    """Whatever ``sys.stdout`` is when a line is written (the Lambda runtime's, or a test's)."""

    def write(self, text: str) -> int:
        """Write to the current standard output."""
        return sys.stdout.write(text)

    def flush(self) -> None:
        """Flush the current standard output."""
        sys.stdout.flush()


def logger(service: str) -> Any:
    """A Powertools Logger for ``service`` that writes JSON lines to standard output."""
    from aws_lambda_powertools import Logger

    return Logger(service=service, stream=_Stdout())


def batch_metrics(environment: str, source: str) -> Any:
    """A metric set for one batch, dimensioned as the alarms expect (Environment, Source)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics(namespace=VALIDATOR_METRICS_NAMESPACE)
    metrics.add_dimension(name="Environment", value=environment)
    metrics.add_dimension(name="Source", value=source)
    return metrics


class LambdaKeys:
    """Adds the request id and whether this is the container's first invocation to every line."""

    def __init__(self) -> None:
        self.cold = True

    def __call__(self, log: Any, context: Any) -> None:
        """Powertools' logger hook: stamp the request id and cold-start flag, then clear the flag."""
        log.append_keys(function_request_id=getattr(context, "aws_request_id", None), cold_start=self.cold)
        self.cold = False
