"""``python -m cloudbridge sandbox``: the whole pipeline on this machine, end to end.

A real PostgreSQL (logical decoding on) with the sample OLTP schema; moto in server mode
as the local AWS; a DMS stand-in doing the full load and then CDC from a replication
slot; the real validator and Slack notifier handlers driven by their event sources; a
webhook sink for Slack; DuckDB rebuilding each table's current state from the validated
change log and checking it equals the source. Everything it starts is stopped and
removed on exit, Ctrl-C included.

Mid-traffic (cloudbridge/sandbox/operations.py): the replication slot is lost and the task
recovered with ``reload --all --reanchor`` (reload-target), one table is truncated and
reloaded with ``reload --table`` (ReloadReplicationTables), and a column changes the schema.
Both reloads run the reload command's own code (cloudbridge/sandbox/command.py) against the
stand-in behind a boto3-shaped DMS client checked against botocore's model (dms_api.py) and the
local S3, following each table until its generation marker — written by the marker writer on
its schedule — is in raw history. Throughout, one personal-data column (``excludeColumns`` of
the sandbox's source, mappings.py) is dropped by the task's remove-column rule: every table must
end equal to the source minus that column, which no raw-history file may carry.

Alongside, on the same moto server, a DynamoDB source (basket.py): a table with its stream and
point-in-time recovery, its full load through a table export and the real export converter, its
changes read through the Streams API and handed in batches to the real stream converter, an
attribute the metadata does not declare quarantined and replayed once declared; it must end equal
to a scan of the table.

Compaction is on for both sources (compaction.py): their state machines run on a schedule
scaled to the minute and sweep after the replay; each table's view over state + tail must
equal the source as well.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore
import psycopg

from cloudbridge import cli, reload
from cloudbridge.localpg import LocalPostgres
from cloudbridge.metadata import committed, inspect_source
from cloudbridge.sandbox import analytics
from cloudbridge.sandbox.aws import ACCOUNT, LocalAws
from cloudbridge.sandbox.basket import Basket, scan_rows, view_row
from cloudbridge.sandbox.command import CommandRun, reload_command
from cloudbridge.sandbox.compaction import SETTINGS, Compactor, run_period
from cloudbridge.sandbox.dms import DmsStandIn
from cloudbridge.sandbox.dms_api import DmsApi
from cloudbridge.sandbox.mappings import (
    EXCLUDED_COLUMNS,
    TableMappings,
    published,
    sandbox_source,
    table_mappings,
)
from cloudbridge.sandbox.operations import (
    RELOADED_TABLE,
    Reload,
    SlotLoss,
    excluded_in_source,
    scan_exclusions,
)
from cloudbridge.sandbox.report import build_report, count_objects, quarantine_state, render, unregistered_days
from cloudbridge.sandbox.runners import Schedule, SnsSubscription, SqsEventSource
from cloudbridge.sandbox.traffic import Workload, create_schema
from cloudbridge.sandbox.webhook import WebhookSink
from components.compaction import compactable
from components.naming import Naming
from components.workspace import METADATA_DIR_ENV, environment
from functions.common import generations, layout
from functions.common.metadata import TableMetadata
from functions.common.runtime import NotifierEnv, ValidatorEnv
from functions.validator.handler import s3_objects
from functions.validator.partitions import Partitions

SOURCE = "sales"
# The sample schema's own metadata (schema.sql), not a stack's: a fork may drop or rename its sources.
METADATA_ROOT = Path(__file__).resolve().parent / "metadata"
ENVIRONMENT = "sandbox"
# The generation-marker writer's schedule (every 5 minutes in AWS): often enough that a reload
# command, polling every 0.2 s, sees its marker within a second of the load's end.
MARKER_PERIOD_SECONDS = 0.5


class Progress:
    """Prints timestamped progress lines unless quiet."""

    def __init__(self, quiet: bool):
        self.quiet, self.started = quiet, time.monotonic()

    def __call__(self, message: str) -> None:
        """Print one progress line, stamped with the seconds since the run began."""
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


@contextlib.contextmanager
def fresh_handlers(log_path: Path):
    """The real Lambda handlers, as a new container: no cached clients, and their log
    lines (CloudWatch Logs in AWS) written to ``log_path`` instead of the terminal — the
    DynamoDB converters' too."""
    from functions.dynamodb_export import handler as export
    from functions.dynamodb_stream import handler as stream
    from functions.slack_alerts import handler as notifier
    from functions.validator import handler as validator

    lock = threading.Lock()
    log = open(log_path, "a", encoding="utf-8")

    def write(record: dict[str, Any]) -> None:
        with lock:
            log.write(json.dumps(record, default=str) + "\n")
            log.flush()

    saved = (validator.emit, notifier.log)
    validator._validator, notifier._notifier = None, None
    validator.emit, notifier.log = write, write
    converters = [module.LOG.registered_handler for module in (stream, export)]
    streams = [handler.setStream(_LockedFile(log, lock)) for handler in converters]
    try:
        yield validator.handler, notifier.handler
    finally:
        validator.emit, notifier.log = saved
        validator._validator, notifier._notifier = None, None
        for handler, saved_stream in zip(converters, streams, strict=True):
            handler.setStream(saved_stream)
        log.close()


class _LockedFile:
    """A log file shared by several writers, one whole write at a time."""

    def __init__(self, file: Any, lock: threading.Lock):
        self.file, self.lock = file, lock

    def write(self, text: str) -> int:
        """Write under the lock."""
        with self.lock:
            return self.file.write(text)

    def flush(self) -> None:
        """Flush under the lock."""
        with self.lock:
            self.file.flush()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_while_progressing(remaining: Callable[[], int], stalled_after: float, cap: float) -> bool:
    """Poll ``remaining`` until it is 0; give up once it has not fallen for ``stalled_after``
    seconds (or after ``cap``): a slow machine still drains, a stuck pipeline is reported."""
    started = last_progress = time.monotonic()
    best = remaining()
    while best > 0 and time.monotonic() - last_progress < stalled_after and time.monotonic() - started < cap:
        time.sleep(0.2)
        now = remaining()
        if now < best:
            best, last_progress = now, time.monotonic()
    return best == 0 or remaining() == 0


def queue_depth(sqs: Any, url: str) -> int:
    """Messages in a queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def run(
    duration: float = 45.0,
    scale: float = 1.0,
    batch_interval: float = 2.0,
    rate: float = 25.0,
    quiet: bool = False,
    metadata_root: Path = METADATA_ROOT,
    timestamp_unit: str = "ms",
    exclude_columns: tuple[str, ...] = EXCLUDED_COLUMNS,
) -> dict[str, Any]:
    """The whole sandbox: Postgres, local AWS, DMS stand-in, traffic, validation, replay, views; the report."""
    sandbox = _Sandbox(Progress(quiet), metadata_root, timestamp_unit, exclude_columns)
    with contextlib.ExitStack() as stack:
        sandbox.start(stack, scale, batch_interval, duration)
        sandbox.traffic(duration, rate)
        sandbox.drain()
        sandbox.evolve_and_replay()
        report = sandbox.report()
    report["timestampUnit"] = timestamp_unit
    report["timestampColumns"] = {
        t.table_id: sorted(c.type for c in t.columns if c.type.startswith("timestamp")) for t in sandbox.tables
    }
    return report


class _Sandbox:
    """One run of the whole loop; each phase a method, in the order ``run`` calls them."""

    def __init__(
        self, say: Callable[[str], None], metadata_root: Path, timestamp_unit: str, exclude_columns: tuple[str, ...]
    ):
        self.say, self.timestamp_unit, self.metadata_root = say, timestamp_unit, metadata_root
        # As a source with this timestampUnit would have extracted it (ParquetTimestampInMillisecond):
        # every column of the source table, which is what DMS reads.
        self.source_tables = [t.with_timestamp_unit(timestamp_unit) for t in committed(metadata_root, SOURCE).values()]
        # The sandbox's source as a stack configures it, and the table mappings DMS gets for it.
        self.source = sandbox_source([t.table_id for t in self.source_tables], exclude_columns, timestamp_unit)
        self.mappings = table_mappings(self.source)
        self.layout = layout.by_name(self.source.raw_history_partition)  # the sales source's: by hour
        self.rules = TableMappings(self.mappings)
        self.tables = [self.publishable(t) for t in self.source_tables]
        self.naming = Naming(environment=ENVIRONMENT, account_id=ACCOUNT, region="eu-west-2")
        # What ``reload`` acts on: the source's replications and raw-history bucket, as the
        # command works them out from a stack file.
        self.target = reload.target_of(ENVIRONMENT, self.source, self.naming)
        self._marking = threading.Lock()
        self._marked: set[str] = set()
        self.validated_at: dict[str, float] = {}
        self.started = time.monotonic()
        self.transactions = 0

    def publishable(self, meta: TableMetadata) -> TableMetadata:
        """A table's metadata as published (validator, Glue, views): without the columns the
        task's remove-column rules drop."""
        removed = self.rules.removed(meta.schema, meta.table, (c.name for c in meta.columns))
        return published(meta, removed, self.source.excluded_columns(meta.schema, meta.table))

    # --- start ---------------------------------------------------------------------------

    def start(self, stack: contextlib.ExitStack, scale: float, batch_interval: float, duration: float) -> None:
        self.scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cloudbridge-sandbox-")))
        self._start_source(stack, scale)
        self._start_aws(stack)
        self.batch_interval = batch_interval
        self._start_dms(stack, batch_interval)
        self._start_runners(stack)
        self.basket = Basket(self.aws, self.naming, ENVIRONMENT, self.metadata_root, self.say, batch_interval)
        self.basket.start(stack, self.res, scale)
        self._start_compaction(stack, run_period(duration))
        loaded = self.dms.full_load()
        self.say(f"full load: {loaded} rows in {len(self.dms.files)} LOAD files")
        self.mark_generations()
        self.loaded_at = time.monotonic()
        self.stop_cdc = threading.Event()
        self.cdc = threading.Thread(target=self.dms.run, args=(self.stop_cdc,), name="dms-cdc", daemon=True)
        self.cdc.start()
        stack.callback(lambda: (self.stop_cdc.set(), self.cdc.join(timeout=30)))
        self.markers = Schedule(self.mark_generations, MARKER_PERIOD_SECONDS, name="generation-marker")
        self.markers.start()
        stack.callback(self.markers.stop)

    def _start_compaction(self, stack: contextlib.ExitStack, period: float) -> None:
        """Each source's compaction state machine on its schedule, from before the full load."""
        root = self.scratch / "compaction"
        self.compactors = {
            SOURCE: Compactor(
                self.s3,
                self.res.raw_history,
                self.res.glue_database,
                self.tables,
                root / SOURCE,
                replace(SETTINGS, layout=self.layout, file_span_seconds=math.ceil(self.batch_interval)),
            ),
            self.basket.meta.table_id: Compactor(
                self.s3, self.basket.res.raw_history, self.basket.res.glue_database, [self.basket.meta], root / "basket"
            ),
        }
        for compactor in self.compactors.values():
            stack.callback(compactor.close)
        self.compaction = Schedule(lambda: [c.tick() for c in self.compactors.values()], period, name="compaction")
        self.compaction.start()
        stack.callback(self.compaction.stop)

    def mark_generations(self) -> None:
        """The generation-marker writer's poll: DMS's table statistics say which loads are
        complete and when they started; each gets its generation marker in raw history (and its
        partition), once."""
        with self._marking:
            tables = {t.table_id: t for t in self.tables}
            statistics = {
                "TableStatistics": [
                    entry
                    for entry in generations.completed_loads(self.dms.describe_table_statistics())
                    if self._marker_key(tables, entry) not in self._marked
                ]
            }
            keys = generations.write_markers(self.s3, self.res.raw_history, tables, statistics, self.layout)
            self._marked.update(self._marker_key(tables, entry) for entry in statistics["TableStatistics"])
            for key in keys:
                self.partitions.try_ensure(key)

    def _marker_key(self, tables: dict[str, TableMetadata], entry: dict[str, Any]) -> str:
        meta = tables.get(f"{entry['SchemaName']}.{entry['TableName']}")
        if meta is None:
            return ""
        return generations.marker_key(meta, entry["FullLoadStartTime"], entry["FullLoadEndTime"], self.layout)

    def run_reload(self, tables: list[str] | None = None, reanchor: bool = False) -> CommandRun:
        """``python -m cloudbridge reload --yes`` on the sandbox's source, through the command's
        code; its lines shown as progress (the 'what happens' paragraph only in the report)."""

        def show(line: str) -> None:
            if line.strip() and not line.startswith(("what happens:", "  - ")):
                self.say(f"reload> {line}")

        return reload_command(self.target, self.api, self.s3, tables, reanchor, say=show)

    def _start_source(self, stack: contextlib.ExitStack, scale: float) -> None:
        self.say("starting PostgreSQL (wal_level=logical) …")
        self.pg = stack.enter_context(LocalPostgres(database=SOURCE))
        self.db = stack.enter_context(psycopg.connect(self.pg.conninfo, autocommit=True))
        create_schema(self.db)
        self.workload = Workload(self.db)
        self.workload.seed(customers=int(200 * scale), products=int(40 * scale), orders=int(400 * scale))
        self.say(f"sample schema loaded: {len(self.tables)} tables, {self.workload.next_order - 1} orders")
        self._preflight()

    def _preflight(self) -> None:
        """The source through ``cloudbridge preflight``'s own checks, as its stack entry configures it
        (its tables, its excludeColumns): a blocking failure stops the run before DMS starts."""
        from cloudbridge.preflight import checks_of

        patterns = [t for batch in self.source.table_sets for t in batch]
        self.preflight = checks_of(self.pg.dsn, patterns, self.source.exclude_columns, 10)
        blocking = [c.line() for c in self.preflight if not c.ok and c.blocking]
        if blocking:
            raise RuntimeError(f"source {SOURCE} is not ready for DMS: {'; '.join(blocking)}")
        self.say(f"preflight: {sum(c.ok for c in self.preflight)}/{len(self.preflight)} checks pass")

    def _start_aws(self, stack: contextlib.ExitStack) -> None:
        self.say("starting the local AWS (moto server) and the Slack webhook sink …")
        self.sink = stack.enter_context(WebhookSink())
        self.aws = stack.enter_context(LocalAws())
        res = self.res = self.aws.provision(
            self.naming, SOURCE, "postgres", self.tables, self.sink.url, layout=self.layout
        )
        self.s3, self.sqs = self.aws.client("s3"), self.aws.client("sqs")
        stack.enter_context(
            environment(
                {
                    ValidatorEnv.ENVIRONMENT: ENVIRONMENT,
                    ValidatorEnv.SOURCE: SOURCE,
                    ValidatorEnv.RAW_HISTORY_BUCKET: res.raw_history,
                    ValidatorEnv.FAIL_BUCKET: res.fail,
                    ValidatorEnv.METADATA_BUCKET: res.metadata,
                    ValidatorEnv.ALERTS_TOPIC_ARN: res.topic_arn,
                    ValidatorEnv.GLUE_DATABASE: res.glue_database,
                    ValidatorEnv.PARTITION: self.source.raw_history_partition,
                    NotifierEnv.ACCOUNT_ID: ACCOUNT,
                    NotifierEnv.SLACK_WEBHOOK_SECRET_ARN: res.webhook_secret_arn,
                    # The committed metadata the reload command reads: the sample schema's.
                    METADATA_DIR_ENV: str(self.metadata_root),
                }
            )
        )
        self.partitions = Partitions(self.aws.client("glue"), res.glue_database, res.raw_history)
        if self.target.raw_bucket != res.raw_history:
            raise RuntimeError(f"reload would look for markers in {self.target.raw_bucket}, not {res.raw_history}")
        self.lambda_log = self.scratch / "lambda-logs.jsonl"
        self.handlers = stack.enter_context(fresh_handlers(self.lambda_log))
        self.say(
            f"buckets, queues, topic, secret and Glue database {res.glue_database} ({len(self.tables)} tables) ready"
        )

    def _start_dms(self, stack: contextlib.ExitStack, batch_interval: float) -> None:
        sns, topic = self.aws.client("sns"), self.res.topic_arn

        def to_alerts(event: dict[str, Any]) -> None:  # the program's aws.dms EventBridge rule → the alerts topic
            sns.publish(TopicArn=topic, Message=json.dumps(event))

        self.dms = DmsStandIn(
            self.pg.conninfo,
            self.aws.client("s3"),
            self.res.landing,
            self.source_tables,  # DMS reads the source's tables; the mappings drop excluded columns
            cdc_max_batch_interval=batch_interval,
            table_mappings=self.mappings,
            on_event=to_alerts,
            replication_arn=self.target.replications[0].arn,  # one table set: one replication config
            layout=self.layout,
        )
        stack.callback(self.dms.close)
        self.api = DmsApi(self.dms)  # what the reload command calls, as it would call boto3's DMS client
        stack.callback(lambda: self.api.join(timeout=30))
        self.dms.create_slot()
        stack.callback(self.dms.drop_slot)

    def _start_runners(self, stack: contextlib.ExitStack) -> None:
        validator_handler, notifier_handler = self.handlers

        def record_validated(messages: list[dict], failed: set[str]) -> None:
            now = time.time()
            for message in messages:
                if message["MessageId"] in failed:
                    continue
                for _bucket, key in s3_objects({"body": message["Body"]}):
                    self.validated_at.setdefault(key, now)

        self.validator = SqsEventSource(
            self.sqs, self.res.validator_queue, validator_handler, name="validator", on_done=record_validated
        )
        self.notifier = SnsSubscription(
            self.aws.client("sqs"), self.res.notifier_queue, notifier_handler, name="notifier"
        )
        for thread in (self.validator, self.notifier):
            thread.start()
            stack.callback(thread.stop)

    # --- traffic ---------------------------------------------------------------------------

    def traffic(self, duration: float, rate: float) -> None:
        """OLTP traffic with, along the way and in this order: the slot lost and the task
        recovered (reload-target), a truncate-and-reload of one table, a schema change."""
        self.say(f"CDC running; OLTP traffic for {duration:.0f}s at ~{rate:.0f} transactions/s")
        started = time.monotonic()
        changed_at = started + duration * 0.6
        self.slot_loss = SlotLoss(started + duration * 0.2, duration * 0.05, self.loaded_at)
        self.reload = Reload(RELOADED_TABLE, started + duration * 0.3, started + duration * 0.4)
        last_report, touched = 0.0, set()
        while (elapsed := time.monotonic() - started) < duration:
            self._operations()
            if not touched and time.monotonic() >= changed_at and self.reload.done:
                with self.workload.lock:
                    touched = self.workload.schema_change()
                self.say(f"schema change: products gains a column; {len(touched)} products updated after it")
            with self.workload.lock:  # a reload's load may commit an order in its window meanwhile
                self.workload.step()
            self.basket.step(elapsed / duration, elapsed)
            self.transactions += 1
            if elapsed - last_report >= 3:
                last_report = elapsed
                self._progress()
            time.sleep(max(0.0, self.transactions / rate - (time.monotonic() - started)))
        self.slot_loss.finish(self.workload, self.dms, self.say, self.run_reload)
        self.reload.not_before(self.slot_loss.finished_at)
        self.reload.finish(self.workload, self.dms, self.say, self.run_reload)
        if not touched:
            self.workload.schema_change()

    def _operations(self) -> None:
        """The slot loss first; the table reload once the recovery's loads are well behind it."""
        args = (self.workload, self.dms, self.say, self.run_reload)
        if not self.slot_loss.done:
            self.slot_loss.step(*args)
            return
        self.reload.not_before(self.slot_loss.finished_at)
        self.reload.step(*args)

    def _progress(self) -> None:
        passed, failed = count_objects(self.s3, self.res.raw_history), count_objects(self.s3, self.res.fail)
        self.say(
            f"{self.transactions} transactions · {self.dms.changes_captured} changes captured · "
            f"{len(self.dms.files)} files landed · {passed} validated · {failed} quarantined · "
            f"{len(self.sink.posts)} alerts"
        )

    def drain(self) -> None:
        self.say("traffic stopped; draining CDC, validation and alerts …")
        self.markers.stop()
        self.mark_generations()  # a last poll: every load is marked
        self.stop_cdc.set()
        self.cdc.join(timeout=60)
        self.basket.drain()
        res, s3, sqs, basket = self.res, self.s3, self.sqs, self.basket
        self.drained = wait_while_progressing(
            lambda: count_objects(s3, res.landing) + queue_depth(sqs, res.validator_queue) + basket.remaining(),
            stalled_after=90,
            cap=900,
        )
        wait_until(lambda: queue_depth(sqs, res.notifier_queue) == 0, timeout=60)

    def evolve_and_replay(self) -> None:
        """The operator's loop after a schema change: regenerate the metadata from the live
        database, publish it (metadata bucket + Glue), replay the quarantine."""
        res = self.res
        self.quarantine = quarantine_state(self.s3, res.fail)
        self.say(f"schema evolution: {sum(self.quarantine[0].values())} file(s) quarantined; regenerating metadata …")
        extracted = evolve(self.pg.dsn, self.tables, self.timestamp_unit, self.source.exclude_columns)
        self.tables = [self.publishable(t) for t in extracted]
        self.aws.publish_tables(res, self.naming, self.tables, "postgres")
        self.replayed = self.aws.replay_quarantine(res)
        self.say(f"replay: {self.replayed.replayed} replayed, {self.replayed.still_failing} still failing")
        self.basket.declare_and_replay()
        self.compaction.stop()
        self.compactors[SOURCE].tables = self.tables
        self.compactors[self.basket.meta.table_id].tables = [self.basket.meta]
        self.say("compaction: a sweep run merges the replayed files, older than every tail …")
        for compactor in self.compactors.values():
            compactor.tick("sweep")

    # --- the comparison and the report -----------------------------------------------------

    def report(self) -> dict[str, Any]:
        res, glue = self.res, self.aws.client("glue")
        glue_tables = [t["Name"] for t in glue.get_tables(DatabaseName=res.glue_database)["TableList"]]
        unregistered = unregistered_days(glue, self.s3, res)
        self.say(f"partitions: every raw-history partition in Glue for Spectrum ({len(unregistered)} missing)")
        report = build_report(
            source=SOURCE,
            res=res,
            s3=self.s3,
            dms=self.dms,
            sink=self.sink,
            validated_at=self.validated_at,
            comparisons={
                **self._comparisons(),
                self.basket.meta.table_id: self.basket.compare(self.scratch / "basket"),
            },
            expected_differences={},  # after the replay, every table equals the source
            quarantine=self.quarantine,
            replayed=self.replayed,
            transactions=self.transactions,
            workload=self.workload,
            drained=self.drained,
            runners={
                "validator": self.validator.errors,
                "notifier": self.notifier.errors,
                "generation-marker": self.markers.errors,
            },
            seconds=time.monotonic() - self.started,
            lambda_log=self.lambda_log,
            glue_tables=glue_tables,
        )
        report["unregisteredPartitions"] = unregistered
        report["reload"] = self.reload.to_dict()
        report["slotLoss"] = self.slot_loss.to_dict(self.dms, len(self.tables))
        report["slotLoss"]["ok"] = report["slotLoss"]["ok"] and report["alerts"]["kinds"].get("dms event", 0) >= 1
        report["dmsApi"] = self._dms_api()
        report["exclusion"] = self._exclusion()
        report["preflight"] = {
            "source": SOURCE,
            "checks": [c.line() for c in self.preflight],
            "blocking": [c.name for c in self.preflight if not c.ok and c.blocking],
            "warnings": [c.name for c in self.preflight if not c.ok and not c.blocking],
            "excluded": [c.name.removesuffix(": excluded") for c in self.preflight if c.name.endswith(": excluded")],
        }
        report["dynamodb"] = self.basket.to_dict(self.drained)
        report["compaction"] = self._compacted()
        report["ok"] = (
            report["ok"]
            and not unregistered
            and report["slotLoss"]["ok"]
            and report["reload"]["ok"]
            and not report["dmsApi"]["errors"]
            and report["exclusion"]["ok"]
            and not report["preflight"]["blocking"]
            and report["dynamodb"]["ok"]
            and report["compaction"]["ok"]
        )
        return report

    def _dms_api(self) -> dict[str, Any]:
        """The DMS API calls the reload command made on the stand-in, each request checked against
        botocore's DMS model (and each answer against its output shape)."""
        calls: dict[str, int] = {}
        for name, _ in self.api.calls:
            calls[name] = calls.get(name, 0) + 1
        return {
            "model": f"botocore {botocore.__version__} dms",
            "calls": dict(sorted(calls.items())),
            "errors": list(self.api.errors) + list(self.dms.load_errors),
        }

    def _comparisons(self) -> dict[str, analytics.Comparison]:
        """DuckDB current state (the deployed view's SQL) of every table against the source
        (minus the excluded columns: the published metadata has none of them)."""
        self.say("analytics: DuckDB current state from the validated parquet vs the source …")
        self.raw_root = self.scratch / "raw"
        files = self.raw_files = analytics.download(self.s3, self.res.raw_history, self.raw_root)
        database, comparisons = self.res.glue_database, {}
        for meta in self.tables:
            changes = self.naming.glue_table(meta.schema, meta.table)
            table_files = files.get(meta.table_id, [])
            current = analytics.current_state(meta, table_files, database, changes) if table_files else []
            source = analytics.source_rows(self.db, meta)
            comparisons[meta.table_id] = analytics.compare(meta, source, current)
            # The same view without the generation rule: what a plain union of the loads would show.
            union = (
                analytics.current_state(meta, table_files, database, changes, generations=False) if table_files else []
            )
            union_differences = len(analytics.compare(meta, source, union).differing_keys)
            self.slot_loss.observe(meta, analytics.keys(meta, current), union_differences)
            if meta.table_id == RELOADED_TABLE and table_files:
                self.reload.union_differences = union_differences
                self.reload.window_older = analytics.older_than_first_load_row(
                    meta, table_files, "order_id", self.reload.window_order
                )
        return comparisons

    def _compacted(self) -> dict[str, Any]:
        """Each compacted table's view (state + tail, the last run's watermark) against the source,
        and what it read: every table must have been compacted, without a failed run."""
        self.say("analytics: the compacted views (state + tail) vs the source …")
        basket = self.basket.meta
        relational = self.compactors[SOURCE]
        checks = [(relational, m, analytics.source_rows(self.db, m), None) for m in compactable(self.tables)]
        checks.append((self.compactors[basket.table_id], basket, scan_rows(basket, self.basket.items), view_row))
        tables = {}
        for compactor, meta, source, convert in checks:
            rows = compactor.current_state(meta)
            comparison = analytics.compare(meta, source, [convert(meta, r) for r in rows] if convert else rows)
            entry = {**comparison.to_dict(), **compactor.describe(meta)}
            entry["matchesSource"] = entry["compacted"] and not comparison.differing_keys and not entry["errors"]
            tables[meta.table_id] = entry
        return {
            "runPeriodSeconds": self.compaction.period,
            "overlapSeconds": SETTINGS.overlap_seconds,
            "scheduleErrors": self.compaction.errors[:5],
            "tables": tables,
            "ok": bool(tables) and all(t["matchesSource"] for t in tables.values()) and not self.compaction.errors,
        }

    def _exclusion(self) -> dict[str, Any]:
        """The excluded column: real at the source, in no published metadata, in no raw-history file."""
        scan = scan_exclusions(self.raw_files, self.raw_root, self.source)
        at_source = excluded_in_source(self.db, self.source, [t.table_id for t in self.source_tables])
        published_with = [
            t.table_id for t in self.tables if set(at_source.get(t.table_id, ())) & {c.name for c in t.columns}
        ]
        ok = (
            all(at_source.get(t) for t in at_source)
            and bool(at_source) == bool(self.source.exclude_columns)
            and not published_with
            and scan["filesScanned"] > 0
            and not scan["filesCarryingExcluded"]
        )
        return {
            "ok": ok,
            "excludeColumns": list(self.source.exclude_columns),
            "inSource": at_source,
            "removeColumnRules": sum(1 for r in self.mappings["rules"] if r.get("rule-action") == "remove-column"),
            "publishedWithExcluded": published_with,
            **scan,
        }


def evolve(
    dsn: str, tables: list[TableMetadata], timestamp_unit: str, exclude: tuple[str, ...] | list[str] = ()
) -> list[TableMetadata]:
    """``cloudbridge metadata extract`` against the live source, for the sandbox's tables (its
    exclusions passed on where the extraction takes them; the caller drops them either way)."""
    import inspect

    options = {"exclude": list(exclude)} if "exclude" in inspect.signature(inspect_source).parameters else {}
    report = inspect_source(dsn, SOURCE, "postgres", [t.table_id for t in tables], timestamp_unit, **options)
    return sorted(report.tables, key=lambda t: t.table_id)


def positive(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {text}")
    return value


@cli.command("sandbox")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge sandbox``: run the sandbox, print the report; exit 1 unless it is OK."""
    parser = cli.parser("sandbox", __doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=positive, default=45.0, help="seconds of OLTP traffic (default 45)")
    parser.add_argument("--scale", type=positive, default=1.0, help="size of the seed data (default 1.0)")
    parser.add_argument("--rate", type=positive, default=25.0, help="transactions per second (default 25)")
    parser.add_argument(
        "--batch-interval", type=positive, default=2.0, help="CdcMaxBatchInterval of the DMS stand-in, s"
    )
    parser.add_argument(
        "--timestamp-unit", choices=("ms", "us"), default="ms", help="the source's timestampUnit (default ms)"
    )
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.report is not None:  # checked before a minute of work, not after
        folder = args.report.resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK) or args.report.is_dir():
            raise cli.CommandError(f"--report {args.report}: cannot write a file there")

    def terminate(signum, frame):  # SIGTERM cleans up like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        report = run(
            args.duration, args.scale, args.batch_interval, args.rate, args.quiet, timestamp_unit=args.timestamp_unit
        )
    except KeyboardInterrupt:
        print("\ninterrupted: everything started has been stopped and removed", file=sys.stderr)
        return 130
    print(render(report))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, default=str))
    return cli.OK if report["ok"] else cli.FINDINGS
