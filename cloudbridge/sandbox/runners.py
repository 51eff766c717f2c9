"""Local stand-ins for Lambda's event sources, invoking the real handlers in-process.

``SqsEventSource`` is the SQS event-source mapping: batches of up to 10 messages, the
handler's partial batch failures left on the queue (visibility timeout, then the
dead-letter queue after maxReceiveCount). ``SnsSubscription`` delivers each SNS message
as an SNS-shaped event, one per invocation, as Lambda's SNS integration does; a failed
invocation is retried from its queue. ``S3Invocations`` is a bucket notification invoking a
function asynchronously: each S3 event is the invocation's event, retried twice when it raises,
then sent to the function's dead-letter queue. ``Schedule`` is an EventBridge schedule: one call
every period (the generation-marker writer's, in seconds instead of minutes).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any


class _Poller(threading.Thread):
    def __init__(self, sqs: Any, queue_url: str, handler: Callable[[dict, Any], Any], name: str):
        super().__init__(name=name, daemon=True)
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.stop_event = threading.Event()
        self.errors: list[str] = []

    def receive(self) -> list[dict]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])

    def delete(self, message: dict) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)


class SqsEventSource(_Poller):
    """Lambda's SQS event source, locally: batches of up to 10 messages to the handler, partial failures honoured."""

    def __init__(self, *args: Any, on_done: Callable[[list[dict], set[str]], None] = lambda m, f: None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.on_done = on_done

    def drain_once(self) -> int:
        """Deliver one batch; failed messages stay on the queue; returns how many were received."""
        messages = self.receive()
        if not messages:
            return 0
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "eventSource": "aws:sqs",
                }
                for m in messages
            ]
        }
        try:
            failed = {f["itemIdentifier"] for f in self.handler(event, None).get("batchItemFailures", [])}
        except Exception as exc:  # the whole batch failed: every message comes back
            self.errors.append(f"{type(exc).__name__}: {exc}")
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                self.delete(message)
        self.on_done(messages, failed)
        return len(messages)

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stop_event.is_set():
            self.drain_once()


class SnsSubscription(_Poller):
    """An SNS topic's Lambda subscription, locally: each message delivered to the handler as SNS does."""

    def drain_once(self) -> int:
        """Deliver what is queued, one SNS event per message; returns how many were received."""
        messages = self.receive()
        for message in messages:
            envelope = json.loads(message["Body"])  # SNS → SQS envelope
            event = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "Sns": {
                            "Type": "Notification",
                            "MessageId": envelope.get("MessageId", ""),
                            "TopicArn": envelope.get("TopicArn", ""),
                            "Subject": envelope.get("Subject"),
                            "Message": envelope.get("Message", ""),
                            "Timestamp": envelope.get("Timestamp", ""),
                        },
                    }
                ]
            }
            try:
                self.handler(event, None)
            except Exception as exc:  # Lambda would retry, then dead-letter
                self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            self.delete(message)
        return len(messages)

    def run(self) -> None:
        """Poll until stopped, pausing briefly when nothing came."""
        while not self.stop_event.is_set():
            if not self.drain_once():
                time.sleep(0.05)


class S3Invocations(_Poller):
    """A bucket notification's asynchronous invocations of a function, locally: the notification
    goes to a queue; each S3 event found there is the function's event (Lambda's asynchronous
    invocation: two retries when it raises, then the event to ``dead_letter``)."""

    RETRIES = 2

    def __init__(
        self, *args: Any, dead_letter: Callable[[dict[str, Any]], None], timeout: float = 900.0, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.dead_letter, self.context = dead_letter, _Context(timeout)
        self.results: list[Any] = []  # what each successful invocation returned
        self.dead_lettered: list[dict[str, Any]] = []  # events given up on

    def drain_once(self) -> int:
        """Invoke the function for each S3 event queued; returns how many messages were received."""
        messages = self.receive()
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("Records"):  # not S3's test event, sent once when the notification is set
                self._invoke(event)
            self.delete(message)
        return len(messages)

    def _invoke(self, event: dict[str, Any]) -> None:
        for _attempt in range(1 + self.RETRIES):
            try:
                self.context.start()
                self.results.append(self.handler(event, self.context))
                return
            except Exception as exc:  # the function's Errors metric; Lambda retries
                self.errors.append(f"{type(exc).__name__}: {exc}")
        self.dead_lettered.append(event)
        self.dead_letter(event)

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stop_event.is_set():
            try:
                self.drain_once()
            except Exception as exc:  # the queue unreachable: recorded, polled again
                self.errors.append(f"{type(exc).__name__}: {exc}")
                self.stop_event.wait(1)


class _Context:
    """The Lambda context's remaining time: the function's timeout from its invocation on."""

    def __init__(self, timeout: float):
        self.timeout, self.started = timeout, time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left of a timeout that started at the last ``start``."""
        return int(max(0.0, self.timeout - (time.monotonic() - self.started)) * 1000)

    def start(self) -> None:
        """An invocation begins."""
        self.started = time.monotonic()


class Schedule(threading.Thread):
    """An EventBridge schedule, locally: ``work`` every ``period`` seconds until stopped; an
    invocation that raises is recorded and the next one runs on time."""

    def __init__(self, work: Callable[[], Any], period: float, name: str):
        super().__init__(name=name, daemon=True)
        self.work, self.period = work, period
        self.stop_event = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        """Invoke on every period until stopped."""
        while not self.stop_event.wait(self.period):
            try:
                self.work()
            except Exception as exc:  # the function's Errors metric, locally
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """No invocation after this returns."""
        self.stop_event.set()
        self.join(timeout=30)
