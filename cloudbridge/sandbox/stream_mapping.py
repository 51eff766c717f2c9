"""Lambda's event source mapping for a DynamoDB stream, locally: moto serves the Streams API
(``DescribeStream``, ``GetShardIterator``, ``GetRecords``) but runs no mapping without Docker.

``lambda_event`` shapes records read through ``GetRecords`` as the mapping hands them to the
function (JSON: binary as base64, ``ApproximateCreationDateTime`` in epoch seconds, the stream's
ARN as ``eventSourceARN``). ``StreamMapping`` polls one stream as the deployed mapping is configured
(components/dynamodb_source.py; docs/dynamodb.md, "Changes: the stream"): every shard from the trim
horizon, a parent shard read to its end before its children; batches of up to ``batch_size`` records
of one shard, invoked once full or ``window`` seconds after their first record was read; a partial
batch failure (``ReportBatchItemFailures``) retried from the reported record, an invocation that
raises retried in halves (``BisectBatchOnFunctionError``), each batch at most ``max_retries`` times
more, then its description — not its records — sent to the on-failure destination. A test and demo
tool: nothing of it is deployed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GET_RECORDS_LIMIT = 1000  # the most GetRecords returns at once


def json_value(value: dict[str, Any]) -> dict[str, Any]:
    """A typed value as boto3 gives it (binary as bytes) as it travels in JSON (binary as base64)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {k: json_value(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [json_value(v) for v in inner]}
    return {kind: inner}


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as the event source mapping delivers it to the function (JSON)."""
    change = dict(record["dynamodb"])
    when = change["ApproximateCreationDateTime"]
    change["ApproximateCreationDateTime"] = when.timestamp() if isinstance(when, datetime) else when
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = {k: json_value(v) for k, v in change[image].items()}
    out = {k: v for k, v in record.items() if k != "dynamodb"}
    out["dynamodb"] = change
    out["eventSourceARN"] = stream_arn
    return json.loads(json.dumps(out, default=str))


def lambda_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """GetRecords records as one invocation's event."""
    return {"Records": [lambda_record(r, stream_arn) for r in records]}


@dataclass
class _Shard:
    """One shard as the mapping follows it."""

    shard_id: str
    parent: str | None
    iterator: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)  # read, not yet delivered (Lambda-shaped)
    since: float = 0.0  # when the oldest pending record was read
    ended: bool = False  # GetRecords gave no next iterator: read to its end


@dataclass
class MappingStats:
    """What the mapping did: for the sandbox's report."""

    records: int = 0  # read through GetRecords
    invocations: int = 0
    batches: int = 0  # batches of records delivered (each retried one counts once)
    retries: int = 0  # invocations again after a partial failure or an error
    shards: int = 0
    errors: list[str] = field(default_factory=list)  # the function's errors (Lambda's Errors metric)
    given_up: list[dict[str, Any]] = field(default_factory=list)  # descriptions sent to the on-failure queue


class StreamMapping(threading.Thread):
    """One DynamoDB stream's event source mapping, invoking ``handler`` in this process."""

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        handler: Callable[[dict, Any], Any],
        *,
        batch_size: int,
        window: float,
        max_retries: int,
        on_failure: Callable[[dict[str, Any]], None],
        poll_seconds: float = 0.2,
        name: str = "stream-mapping",
    ):
        super().__init__(name=name, daemon=True)
        self.streams, self.arn, self.handler = streams, stream_arn, handler
        self.batch_size, self.window, self.max_retries = batch_size, window, max_retries
        self.on_failure, self.poll_seconds = on_failure, poll_seconds
        self.shards: dict[str, _Shard] = {}
        self.stats = MappingStats()
        self.stop_event, self._lock = threading.Event(), threading.Lock()

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stop_event.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception as exc:  # the mapping keeps polling; a reader error is recorded
                self.stats.errors.append(f"poll: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        """No scheduled poll after this returns."""
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout=30)

    def drain(self) -> None:
        """Stop polling on schedule, then read and deliver everything the stream holds now."""
        self.stop()
        while self.poll(flush=True):
            pass

    def poll(self, flush: bool = False) -> int:
        """One round: new shards found, each readable shard read once, due batches invoked; the
        records read."""
        with self._lock:
            self._discover()
            read = 0
            for shard in self._readable():
                read += self._read(shard)
                self._invoke_due(shard, flush)
            return read

    def _discover(self) -> None:
        described = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]
        for shard in described["Shards"]:
            if shard["ShardId"] not in self.shards:
                self.shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))
                self.stats.shards += 1

    def _readable(self) -> list[_Shard]:
        """Shards not read to their end whose parent is (or is no longer in the stream)."""
        out = []
        for shard in self.shards.values():
            parent = self.shards.get(shard.parent or "")
            if not shard.ended and (parent is None or (parent.ended and not parent.pending)):
                out.append(shard)
        return out

    def _read(self, shard: _Shard) -> int:
        if shard.iterator is None:
            shard.iterator = self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        page = self.streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
        records = page.get("Records", [])
        if records and not shard.pending:
            shard.since = time.monotonic()
        shard.pending += [lambda_record(r, self.arn) for r in records]
        shard.iterator = page.get("NextShardIterator")
        shard.ended = shard.iterator is None
        self.stats.records += len(records)
        return len(records)

    def _due(self, shard: _Shard, flush: bool) -> bool:
        """Whether the shard's pending records make a batch now: full, its window passed, or the shard read out."""
        if not shard.pending:
            return False
        full, waited = len(shard.pending) >= self.batch_size, time.monotonic() - shard.since >= self.window
        return flush or shard.ended or full or waited

    def _invoke_due(self, shard: _Shard, flush: bool) -> None:
        while self._due(shard, flush):
            batch, shard.pending = shard.pending[: self.batch_size], shard.pending[self.batch_size :]
            shard.since = time.monotonic()
            self._deliver(shard.shard_id, batch)

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """One batch until it is in, retried as Lambda retries it; what is given up on is described."""
        self.stats.batches += 1
        queue, attempts = [batch], 0
        while queue:
            records = queue.pop(0)
            failed_at, raised = self._invoke(records)
            if failed_at is None:
                continue
            # Progress (records before the reported one are in) starts the count again.
            attempts = 1 if failed_at else attempts + 1
            if attempts > self.max_retries:
                self._give_up(shard_id, records[failed_at:])
                continue
            self.stats.retries += 1
            if raised and len(records) > 1:  # bisected on a function error
                half = len(records) // 2
                queue[:0] = [records[:half], records[half:]]
            else:  # from the first record the function reported
                queue.insert(0, records[failed_at:])

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[int | None, bool]:
        """(index of the first record to retry or None, whether the function raised)."""
        self.stats.invocations += 1
        try:
            response = self.handler({"Records": records}, None) or {}
        except Exception as exc:
            self.stats.errors.append(f"{type(exc).__name__}: {exc}")
            return 0, True
        reported = [f.get("itemIdentifier") for f in response.get("batchItemFailures") or []]
        if not reported:
            return None, False
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        known = [sequences.index(s) for s in reported if s in sequences]
        # An identifier that names no record of the batch fails the whole batch (Lambda guide).
        return (min(known) if len(known) == len(reported) else 0), False

    def _give_up(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        """The on-failure destination's record for a stream batch: where the records are, not them."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        description = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": self.max_retries + 1},
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self.arn,
            },
        }
        self.stats.given_up.append(description)
        self.on_failure(description)


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")
