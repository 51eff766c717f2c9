"""The sandbox's DynamoDB source: ``basket``, one table ``cart-items``, on the same moto server.

What docs/dynamodb.md describes, end to end. The table's owner creates it (a stream with
``NEW_AND_OLD_IMAGES``, point-in-time recovery on, tagged ``cloudbridge:environment=<env>``) and
the preflight's own checks (cloudbridge/dynamodb_preflight.py) must pass. The source gets its
buckets, validator queue and Glue database as any source, its committed metadata
(``metadata/basket/dynamodb/cart_items.json`` under the sandbox's metadata root) published, and an
export bucket whose ``manifest-summary.json`` reaches the real export converter. The full load is a
table export laid out as AWS writes it (export_layout.py); the converter's LOAD files go through
the validator before it marks the generation. Then the stream: puts, updates and deletes, and from
mid-traffic an attribute the metadata does not declare, read through the Streams API by the event
source mapping's stand-in (stream_mapping.py) and handed in batches to the real stream converter.
From landing, the real validator (a container of its own: this source's settings) takes over;
the files carrying the undeclared attribute are quarantined, then the operator's loop: the
attribute declared in the metadata, published, the quarantine replayed. The table's current state
(the deployed view's SQL over the validated parquet) must then equal a scan of the table.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from boto3.dynamodb.types import Binary, TypeDeserializer

from cloudbridge.dynamodb_preflight import table_checks
from cloudbridge.metadata import committed
from cloudbridge.sandbox import analytics
from cloudbridge.sandbox.aws import LocalAws, Resources
from cloudbridge.sandbox.export_layout import SUMMARY, export_table
from cloudbridge.sandbox.report import count_objects, data_objects, quarantine_state, unregistered_days
from cloudbridge.sandbox.runners import S3Invocations, SqsEventSource
from cloudbridge.sandbox.stream_mapping import StreamMapping
from components.config import DynamoDbSource
from components.naming import Naming
from functions.common import dynamodb as ddb
from functions.common.metadata import Column, TableMetadata
from functions.common.runtime import TAG_ENVIRONMENT
from functions.dynamodb_export import handler as export_function
from functions.dynamodb_stream import handler as stream_function
from functions.validator import handler as validator_function

SOURCE = "basket"
TABLE = "cart-items"
# What the traffic starts writing mid-run, and the operator then declares (by hand: there is no
# metadata extract for DynamoDB).
UNDECLARED = Column("gift_message", "string", source_type="S")
UNDECLARED_FROM = 0.5  # the share of the traffic after which gifts carry it
OPERATIONS_PER_SECOND = 4.0
SEED_ITEMS = 60
# The export converter waits for the validator, polling every 5 s in AWS; here, like the marker
# writer's schedule, often enough not to hold the run up.
EXPORT_POLL_SECONDS = 0.2
# The export converter's timeout (900 s in AWS): it converts 60 items here. The converter gives up
# waiting for the validator 30 s before it, so a stuck validator fails the invocation within a minute.
EXPORT_TIMEOUT_SECONDS = 60.0
SKUS = ("tea-01", "mug-02", "pot-03", "cup-04", "jar-05")
TAGS = ("new", "sale", "eco", "bulk", "gift")


def basket_source(batch_window: float) -> DynamoDbSource:
    """The sandbox's DynamoDB source as a stack's ``cloudbridge:sources`` entry (validated like one);
    its batching window the DMS stand-in's batch interval in whole seconds."""
    return DynamoDbSource.model_validate(
        {
            "name": SOURCE,
            "engine": "dynamodb",
            "tables": [TABLE],
            "streamBatchSize": 100,
            "streamBatchingWindowSeconds": max(1, round(batch_window)),
            "streamMaximumRetryAttempts": 2,
        }
    )


class CartTraffic:
    """Puts, updates and deletes on the table, every DynamoDB type the metadata declares; once
    ``undeclared`` is set, gifts carry an attribute the metadata does not declare."""

    def __init__(self, dynamodb: Any, table: str = TABLE, seed: int = 28):
        self.dynamodb, self.table, self.rng = dynamodb, table, random.Random(seed)
        self.next_id, self.live = 1, []
        self.counts: Counter = Counter()
        self.undeclared = False
        self.kept: set[str] = set()  # never deleted: the first item carrying the undeclared attribute

    @property
    def operations(self) -> int:
        """Puts, updates and deletes so far (the seed not counted)."""
        return self.counts["puts"] + self.counts["updates"] + self.counts["deletes"]

    def item(self, gift: bool | None = None) -> dict[str, Any]:
        """A new cart item (typed values as boto3 takes them)."""
        rng, n = self.rng, self.next_id
        self.next_id += 1
        gift = rng.random() < 0.4 if gift is None else gift
        options = {"colour": {"S": rng.choice(("red", "green", "blue"))}, "size": {"N": str(rng.randint(36, 46))}}
        item = {
            "id": {"S": f"cart-{n:05d}"},
            "customer": {"S": f"c-{rng.randint(1, 40):03d}"},
            "sku": {"S": rng.choice(SKUS)},
            "qty": {"N": str(rng.randint(1, 5))},
            "price": {"N": f"{rng.randint(100, 9999) / 100:.2f}"},
            "gift": {"BOOL": gift},
            "options": {"M": {**options, "engraved": {"BOOL": rng.random() < 0.2}}},
            "tags": {"SS": rng.sample(TAGS, 2)},
            "ratings": {"NS": [str(rng.randint(1, 3)), "4.5", "10"]},
            "history": {"L": [{"S": "added"}, {"N": str(n)}, {"M": {"via": {"S": "web"}}}, {"NULL": True}]},
            "thumbnail": {"B": bytes([n % 256, 7, 7])},
        }
        note = rng.random()
        if note < 0.5:  # else no note at all: a missing attribute is a null, like NULL
            item["note"] = {"S": "leave at the door"} if note < 0.3 else {"NULL": True}
        if self.undeclared and gift:
            item[UNDECLARED.name] = {"S": "happy birthday"}
        return item

    def put(self, gift: bool | None = None, keep: bool = False) -> None:
        """A new item (with ``keep``, one never deleted)."""
        item = self.item(gift)
        self.dynamodb.put_item(TableName=self.table, Item=item)
        if keep:
            self.kept.add(item["id"]["S"])
        else:
            self.live.append(item["id"])
        self.counts["puts"] += 1
        self.counts["undeclared"] += UNDECLARED.name in item

    def update(self) -> None:
        """An existing item changed: quantity, price and tags; sometimes its note removed."""
        key = self.rng.choice(self.live)
        values = {":one": {"N": "1"}, ":price": {"N": f"{self.rng.randint(100, 9999) / 100:.2f}"}}
        values[":tags"] = {"SS": self.rng.sample(TAGS, 3)}
        expression = "SET qty = qty + :one, price = :price, tags = :tags"
        if self.undeclared and self.rng.random() < 0.3:
            expression += f", {UNDECLARED.name} = :message"
            values[":message"] = {"S": "with love"}
            self.counts["undeclared"] += 1
        if self.rng.random() < 0.2:
            expression += " REMOVE note"
        self.dynamodb.update_item(
            TableName=self.table, Key={"id": key}, UpdateExpression=expression, ExpressionAttributeValues=values
        )
        self.counts["updates"] += 1

    def delete(self) -> None:
        """An existing item deleted."""
        key = self.live.pop(self.rng.randrange(len(self.live)))
        self.dynamodb.delete_item(TableName=self.table, Key={"id": key})
        self.counts["deletes"] += 1

    def step(self) -> None:
        """One operation: mostly puts and updates, some deletes."""
        draw = self.rng.random()
        if len(self.live) < 10 or draw < 0.45:
            self.put()
        elif draw < 0.85:
            self.update()
        else:
            self.delete()


# --- the comparison: a scan of the table in the lake's values, converted independently -------

_DESERIALIZER = TypeDeserializer()


def _plain(value: Any) -> Any:
    """A deserialised value as the lake's JSON text holds it: sets as sorted lists (numbers by
    value), binary as base64."""
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode()
    if isinstance(value, set):
        items = [_plain(v) for v in value]
        return sorted(items, key=lambda v: (0, v, "") if isinstance(v, Decimal) else (1, 0, v))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    """Equal JSON values as equal text (numbers as their exact decimal text)."""
    return json.dumps(value, sort_keys=True, default=str)


def lake_value(column: Column, typed: dict[str, Any] | None) -> Any:
    """What the current state must hold for one attribute, by the metadata's declaration (boto3's
    own deserialiser, not the converter's code)."""
    if typed is None or "NULL" in typed:
        return None
    value = _DESERIALIZER.deserialize(typed)
    if column.source_type in ddb.JSON_TYPES:
        return _canonical(_plain(value))
    if column.type == "int64":
        return int(value)
    if column.type == "binary":
        return bytes(value.value)
    return str(value) if column.type == "string" else value


def scan_rows(meta: TableMetadata, items: list[dict[str, Any]]) -> list[tuple]:
    """The table's items as rows of the declared columns."""
    return [tuple(lake_value(c, item.get(c.name)) for c in meta.columns) for item in items]


def view_row(meta: TableMetadata, row: tuple) -> tuple:
    """A current-state row with its JSON text parsed, compared as values (not as text)."""
    out = []
    for column, value in zip(meta.columns, row, strict=True):
        if column.source_type in ddb.JSON_TYPES and value is not None:
            value = _canonical(json.loads(value, parse_float=Decimal, parse_int=Decimal))
        out.append(value)
    return tuple(out)


def scan(dynamodb: Any, table: str = TABLE) -> list[dict[str, Any]]:
    """Every item of the table."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


# --- the source in the sandbox -----------------------------------------------------------------


class Basket:
    """The sandbox's DynamoDB source, phase by phase, in the order the sandbox calls them."""

    def __init__(
        self,
        aws: LocalAws,
        naming: Naming,
        environment: str,
        metadata_root: Path,
        say: Callable[[str], None],
        batch_window: float,
    ):
        self.aws, self.naming, self.environment, self.say = aws, naming, environment, say
        self.source = basket_source(batch_window)
        (self.meta,) = committed(metadata_root, SOURCE).values()
        misdeclared = [f"{c.name}: {why}" for c in self.meta.columns if (why := ddb.declaration_problem(c))]
        if misdeclared:
            raise ValueError(f"{metadata_root}/{SOURCE}: {'; '.join(misdeclared)}")
        self.dynamodb, self.s3, self.sqs = aws.client("dynamodb"), aws.client("s3"), aws.client("sqs")
        self.traffic = CartTraffic(self.dynamodb)
        self.validated: set[str] = set()
        self.export_outcome: dict[str, Any] = {}
        self.quarantine: tuple[Counter, Counter] = (Counter(), Counter())
        self.named: list[str] = []
        self.replayed: Any = None

    # --- start ---------------------------------------------------------------------------------

    def start(self, stack: contextlib.ExitStack, alerts: Resources, scale: float) -> None:
        """The table, its source's resources and functions, the full load through an export, the mapping."""
        self._create_table(max(10, int(SEED_ITEMS * scale)))
        self.preflight = table_checks(self.dynamodb, TABLE, self.environment)
        failing = [c.line() for c in self.preflight if not c.ok]
        if failing:
            raise RuntimeError(f"DynamoDB table {TABLE} is not ready: {'; '.join(failing)}")
        self._provision(alerts)
        self._start_functions(stack)
        self._full_load()
        self._start_mapping(stack)

    def _create_table(self, items: int) -> None:
        """The table as its owner sets it up for CloudBridge (docs/dynamodb.md, 'Prerequisites'), seeded."""
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            Tags=[{"Key": TAG_ENVIRONMENT, "Value": self.environment}],
        )
        self.dynamodb.update_continuous_backups(
            TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        for _ in range(items):
            self.traffic.put()
        self.seeded = self.traffic.counts["puts"]
        self.traffic.counts.clear()
        self.description = self.dynamodb.describe_table(TableName=TABLE)["Table"]

    def _provision(self, alerts: Resources) -> None:
        """The source's buckets, validator queue and Glue database (the environment's alerts), its
        metadata published; the export bucket announcing summaries; the on-failure queue."""
        self.res = self.aws.provision(self.naming, SOURCE, ddb.ENGINE, [self.meta], "", alerts=alerts)
        self.export_bucket = self.naming.bucket(SOURCE, "export")
        self.export_queue, export_queue_arn = self.aws.queue(self.naming.name(SOURCE, "export-events"))
        self.on_failure_queue, _ = self.aws.queue(self.naming.name(SOURCE, "dynamodb-failures"))
        self.aws.export_bucket(self.export_bucket, export_queue_arn, SUMMARY)

    def _start_functions(self, stack: contextlib.ExitStack) -> None:
        """This source's validator, stream converter and export converter: the real code, each a
        container of its own with this source's settings (the sandbox's environment variables
        are the relational source's), behind its event source."""
        res, env, s3, glue = self.res, self.environment, self.aws.client("s3"), self.aws.client("glue")
        validator = validator_function.Validator(
            validator_function.Settings(
                source=SOURCE,
                environment=env,
                raw_history_bucket=res.raw_history,
                fail_bucket=res.fail,
                metadata_bucket=res.metadata,
                alerts_topic_arn=res.topic_arn,
                glue_database=res.glue_database,
            ),
            s3,
            self.aws.client("sns"),
            glue=glue,
        )
        stream_function._converter = stream_function.StreamConverter(
            stream_function.Settings(env, SOURCE, res.landing, res.metadata), s3
        )
        export_function._converter = export_function.ExportConverter(
            export_function.Settings(
                env, SOURCE, self.export_bucket, res.landing, res.raw_history, res.metadata, res.glue_database
            ),
            s3,
            glue,
            sleep=lambda _seconds: time.sleep(EXPORT_POLL_SECONDS),
        )
        stack.callback(_forget_containers)
        self.validator = SqsEventSource(
            self.aws.client("sqs"),
            res.validator_queue,
            lambda event, context: validator.handle(event),  # the handler's body, this container's validator
            name="validator-basket",
            on_done=self._done,
        )
        self.exports = S3Invocations(
            self.aws.client("sqs"),
            self.export_queue,
            export_function.handler,
            name="export-converter",
            dead_letter=self._on_failure,
            timeout=EXPORT_TIMEOUT_SECONDS,
        )
        for thread in (self.validator, self.exports):
            thread.start()
            stack.callback(thread.stop)

    def _done(self, messages: list[dict], failed: set[str]) -> None:
        for message in messages:
            if message["MessageId"] not in failed:
                self.validated.update(key for _, key in validator_function.s3_objects({"body": message["Body"]}))

    def _on_failure(self, description: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.on_failure_queue, MessageBody=json.dumps(description))

    def _full_load(self) -> None:
        """The export, laid out as AWS writes it; its summary invokes the export converter, which
        returns once its LOAD files are validated and the generation is marked."""
        self.export = export_table(
            self.dynamodb, self.s3, self.description["TableArn"], self.export_bucket, ddb.lake_table(TABLE)
        )
        deadline = time.monotonic() + (1 + S3Invocations.RETRIES) * EXPORT_TIMEOUT_SECONDS
        while not (self.exports.results or self.exports.dead_lettered) and time.monotonic() < deadline:
            time.sleep(0.05)
        outcomes = [o for result in self.exports.results for o in result]
        self.export_outcome = outcomes[0] if outcomes else {"error": self.exports.errors[:1]}
        self.say(
            f"DynamoDB {TABLE}: exported {self.export.items} items into {self.export.data_files} data files "
            f"(+ manifests) → {len(self.export_outcome.get('files', []))} LOAD file(s) validated, "
            f"generation {'marked' if self.export_outcome.get('marker') else 'NOT marked'}"
        )

    def _start_mapping(self, stack: contextlib.ExitStack) -> None:
        source = self.source
        self.mapping = StreamMapping(
            self.aws.client("dynamodbstreams"),
            self.description["LatestStreamArn"],
            stream_function.handler,
            batch_size=source.stream_batch_size,
            window=source.stream_batching_window_seconds,
            max_retries=source.stream_maximum_retry_attempts,
            on_failure=self._on_failure,
            name="dynamodb-stream-mapping",
        )
        self.mapping.start()
        stack.callback(self.mapping.stop)

    # --- traffic, drain, the operator's loop ---------------------------------------------------

    def step(self, fraction: float, seconds: float) -> None:
        """The table's traffic up to ``seconds`` into it; from ``UNDECLARED_FROM`` of it on, the
        undeclared attribute (first on a gift put at once)."""
        if fraction >= UNDECLARED_FROM and not self.traffic.undeclared:
            self.traffic.undeclared = True
            self.traffic.put(gift=True, keep=True)  # so the table ends with the attribute, whatever follows
            self.say(f"DynamoDB traffic: gifts now carry {UNDECLARED.name}, which the metadata does not declare")
        while self.traffic.operations < seconds * OPERATIONS_PER_SECOND:
            self.traffic.step()

    def drain(self) -> None:
        """The mapping delivers what the stream still holds (its window not waited for)."""
        self.mapping.drain()

    def remaining(self) -> int:
        """Files in landing and messages on the validator's queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.res.validator_queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return count_objects(self.s3, self.res.landing) + sum(int(v) for v in attributes.values())

    def declare_and_replay(self) -> None:
        """The operator's loop: read what the quarantine names, declare it, publish, replay."""
        res = self.res
        self.quarantine = quarantine_state(self.s3, res.fail)
        self.named = self._undeclared_in_quarantine()
        self.say(
            f"DynamoDB schema: {sum(self.quarantine[0].values())} file(s) quarantined "
            f"{dict(self.quarantine[1])} carrying {', '.join(self.named) or 'nothing undeclared'}; "
            f"declaring {UNDECLARED.name} ({UNDECLARED.source_type} → {UNDECLARED.type}) and publishing …"
        )
        self.meta = replace(self.meta, columns=(*self.meta.columns, UNDECLARED))
        self.aws.publish_tables(res, self.naming, [self.meta], ddb.ENGINE)
        self.replayed = self.aws.replay_quarantine(res)
        self.say(f"DynamoDB replay: {self.replayed.replayed} replayed, {self.replayed.still_failing} still failing")

    def _undeclared_in_quarantine(self) -> list[str]:
        """The columns of the quarantined files that the metadata does not declare."""
        declared = {c.name for c in self.meta.columns} | self.meta.dms.names()
        found: set[str] = set()
        for obj in data_objects(self.s3, self.res.fail):
            body = self.s3.get_object(Bucket=self.res.fail, Key=obj["Key"])["Body"].read()
            found.update(set(pq.read_schema(io.BytesIO(body)).names) - declared)
        return sorted(found)

    # --- the comparison and the report -----------------------------------------------------------

    def compare(self, scratch: Path) -> analytics.Comparison:
        """The table's current state (the view's SQL over its validated parquet) against a scan of it."""
        files = analytics.download(self.s3, self.res.raw_history, scratch).get(self.meta.table_id, [])
        changes = self.naming.glue_table(self.meta.schema, self.meta.table)
        current = analytics.current_state(self.meta, files, self.res.glue_database, changes) if files else []
        self.items = scan(self.dynamodb)
        self.comparison = analytics.compare(
            self.meta, scan_rows(self.meta, self.items), [view_row(self.meta, r) for r in current]
        )
        return self.comparison

    def to_dict(self, drained: bool) -> dict[str, Any]:
        """This source's part of the sandbox report, with its verdict."""
        res, stats = self.res, self.mapping.stats
        by_table, reasons = self.quarantine
        failed = sum(by_table.values())
        replayed = self.replayed.replayed if self.replayed else 0
        still = count_objects(self.s3, res.fail)
        passed = count_objects(self.s3, res.raw_history) - replayed
        report = {
            "source": SOURCE,
            "table": TABLE,
            "lakeTable": self.meta.table_id,
            "preflight": [c.line() for c in self.preflight],
            "export": self._export_dict(),
            "stream": {
                "records": stats.records,
                "batches": stats.batches,
                "invocations": stats.invocations,
                "retries": stats.retries,
                "shards": stats.shards,
                "errors": stats.errors[:5],
                "onFailure": len(stats.given_up),
            },
            "traffic": {"seeded": self.seeded, **{k: self.traffic.counts[k] for k in ("puts", "updates", "deletes")}},
            "undeclared": {
                "attribute": UNDECLARED.name,
                "written": self.traffic.counts["undeclared"],
                "itemsCarrying": sum(1 for item in self.items if UNDECLARED.name in item),
            },
            "files": {
                "landed": len(self.validated),
                "passed": passed,
                "failed": failed,
                "failedReasons": dict(reasons),
                "quarantineNames": self.named,
                "replayed": replayed,
                "stillQuarantined": still,
                "drained": drained,
            },
            "handlerErrors": {"validator": self.validator.errors[:5]} if self.validator.errors else {},
            "unregisteredPartitions": unregistered_days(self.aws.client("glue"), self.s3, res),
        }
        report["ok"] = self._ok(report)
        return report

    def _export_dict(self) -> dict[str, Any]:
        outcome = self.export_outcome
        return {
            "arn": self.export.export_arn,
            "exportTime": self.export.export_time.isoformat(),
            "items": self.export.items,
            "dataFiles": self.export.data_files,
            "objects": [
                key.rsplit(f"/{self.export.export_arn.rsplit('/', 1)[-1]}/", 1)[-1] for key in self.export.keys
            ],
            "loadFiles": outcome.get("files", []),
            "marker": outcome.get("marker"),
            "errors": self.exports.errors[:5],
        }

    def _ok(self, report: dict[str, Any]) -> bool:
        files, export, stream, traffic = report["files"], report["export"], report["stream"], report["traffic"]
        every_change = traffic["seeded"] + traffic["puts"] + traffic["updates"] + traffic["deletes"]
        identical = not self.comparison.differing_keys and self.comparison.source_rows > 0
        quarantined = files["failed"] >= 1 and files["failedReasons"] == {"UNEXPECTED_COLUMNS": files["failed"]}
        return (
            identical
            and quarantined
            and files["quarantineNames"] == [UNDECLARED.name]
            and files["replayed"] == files["failed"]
            and files["stillQuarantined"] == 0
            and files["landed"] == files["passed"] + files["failed"]
            and files["drained"]
            and bool(export["marker"])
            and export["items"] == self.seeded
            and not export["errors"]
            and stream["records"] == every_change
            and not stream["errors"]
            and stream["onFailure"] == 0
            and not report["handlerErrors"]
            and not report["unregisteredPartitions"]
            and all(c.ok for c in self.preflight)
        )


def _forget_containers() -> None:
    """The converters' cached containers go with the run (a next run in this process starts anew)."""
    stream_function._converter = None
    export_function._converter = None
