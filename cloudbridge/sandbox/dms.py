"""A local stand-in for DMS: full load, then CDC from a real logical replication slot.

Writes parquet into the landing bucket exactly as docs/dms.md describes: LOAD<hex>
files for the full load, ``YYYYMMDD-HHMMSSmmm`` CDC files under ``YYYY/MM/DD/`` folders,
``Op`` first (in full load too), the commit timestamp as a string, the change sequence
($AR_H_CHANGE_SEQ: empty in full load), DMS's type mapping and timestamp unit, RowGroupLength rows a
group; CDC files are closed by
interval (CdcMaxBatchInterval) or size (rows), and on a change of a table's columns,
which DMS writes through (HandleSourceTableAltered) for the validator to catch.

Loads behave as DMS documents them: a table's full load starts (its FullLoadStartTime),
reads the table, then writes rows stamped with the time each file is written (after the
read, so a change committed in between is in no snapshot and older than every load row);
changes to a table committed while it loads are cached and written as CDC once its load
ends (FullLoadEndTime, TableState "Table completed"). ``describe_table_statistics`` answers
like DMS's DescribeTableStatistics, from which the generation markers are written.

Table mappings: given the task's table-mappings document (the one the program builds,
components/dms_settings.py), the stand-in captures the tables its selection rules select and
drops every column a ``remove-column`` transformation rule names (``%`` wildcards) from the
full load and from every change, a column added later included (cloudbridge/sandbox/mappings.py).

Operations, as the DMS API drives them: ``reload_tables`` is ReloadTables /
ReloadReplicationTables (the task keeps running; each table gets a new full load — a new
generation — next to the old one, TargetTablePrepMode DO_NOTHING); ``reload_target`` is
StartReplication(Task) with ``reload-target`` on a stopped or failed task: a fresh slot,
created before any table is read, then a new full load of every table while CDC runs from
that slot; ``stop`` is StopReplication, ``resume`` StartReplication with resume-processing.
Each operation is also split into its synchronous acceptance (``check_reload``,
``accept_reload_target``: what DMS refuses at once) and its loads (``load_tables``,
``run_reload_target``), which cloudbridge/sandbox/dms_api.py runs in the background behind a
boto3-shaped client, as DMS does. While a table loads its statistics say so (``Before load``,
``Full load``, ``Table is being reloaded``), and a load that fails leaves it in ``Table error``.
When the slot disappears under CDC the task fails as DMS's does (a fatal error,
``describe_replication`` says so, ``on_event`` gets the EventBridge event); changes read but
not yet written are lost with it. A broken connection alone is retried.

A test and demo tool: it is never part of a Lambda or of the Pulumi program.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import MAX_PREC, Context, Decimal
from typing import Any

import psycopg
import pyarrow as pa

from cloudbridge import dmsfiles
from cloudbridge.sandbox.decoding import Change, parse_change, parse_commit, python_value
from cloudbridge.sandbox.mappings import TableMappings
from functions.common.dms import ROW_GROUP_LENGTH
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata, arrow_type
from functions.common.typemap import SourceType, UnsupportedTypeError, map_type

_MS = timedelta(milliseconds=1)
LOAD_SEQUENCE = ""  # full-load rows carry no change sequence: they sort before every change
FULL_LOAD_ROWS_PER_FILE = 100_000
# How the stand-in's connections show in pg_stat_activity: the CDC reader (what holds the slot)
# and the full loads.
READER_APPLICATION = "cloudbridge-dms-cdc"
LOAD_APPLICATION = "cloudbridge-dms-load"
RUNNING, STARTING, FAILED = "running", "starting", "failed"
STOPPING, STOPPED = "stopping", "stopped"
# TableState values of DescribeTableStatistics.
BEFORE_LOAD, FULL_LOAD, RELOADING = "Before load", "Full load", "Table is being reloaded"
COMPLETED, TABLE_ERROR = "Table completed", "Table error"
MAX_RECONNECTS = 10  # consecutive broken connections before the task fails
SANDBOX_REPLICATION_ARN = "arn:aws:dms:eu-west-2:123456789012:replication-config:cb-sandbox-sales"


class InvalidResourceStateError(RuntimeError):
    """What DMS answers (InvalidResourceStateFault) to an operation the task's state does not allow."""


def to_arrow_value(portable: str, value: Any) -> Any:
    """A Python value as DMS writes it for that portable type."""
    if value is None:
        return None
    if portable.startswith("decimal("):
        scale = arrow_type(portable).scale
        # Python's default context keeps 28 digits; numeric(38,s) holds more (DMS writes them all).
        return Decimal(value).quantize(Decimal(1).scaleb(-scale), context=Context(prec=MAX_PREC))
    if portable.startswith("timestamp("):
        if value.tzinfo is not None:  # timestamptz: DMS writes the UTC instant
            value = value.astimezone(UTC).replace(tzinfo=None)
        if portable == "timestamp(ms)":  # ParquetTimestampInMillisecond truncates
            value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        return value
    if portable == "time(ms)":
        return value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=None)
    if portable == "string" and not isinstance(value, str):
        return str(value)
    return value


def select_list(meta: TableMetadata, names: Iterable[str] | None = None) -> str:
    """Columns as the load reads them (all of them, or those ``names``): string-typed ones as
    Postgres prints them (which is what logical decoding emits too), so full load and CDC agree
    value for value."""
    parts = []
    wanted = None if names is None else set(names)
    for column in meta.columns:
        if wanted is not None and column.name not in wanted:
            continue
        quoted = '"' + column.name.replace('"', '""') + '"'
        parts.append(f"{quoted}::text" if column.type == "string" else quoted)
    return ", ".join(parts)


def portable_of_new_column(pg_type: str, where: str) -> str:
    """A column the metadata does not know (a schema change): DMS's mapping of its type."""
    name = pg_type.upper()
    try:
        return map_type("postgres", SourceType(name, is_array=name.endswith("[]")), where).type
    except UnsupportedTypeError:
        return "string"  # enums and other user types: DMS writes their text


@dataclass
class LandedFile:
    """One file the stand-in wrote to the landing bucket: key, table, load or CDC, rows, first commit."""

    key: str
    table: str
    kind: str
    rows: int
    first_commit: datetime | None


@dataclass
class _Buffer:
    columns: dict[str, str]  # name → portable type, in file order
    rows: list[dict[str, Any]] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    commits: list[datetime] = field(default_factory=list)
    opened: float = 0.0


class DmsStandIn:
    """Does what DMS does against a local Postgres: a full load, then CDC from a logical slot, written as DMS writes
    parquet to S3."""

    def __init__(
        self,
        conninfo: str,
        s3: Any,
        bucket: str,
        tables: list[TableMetadata],
        *,
        slot: str = "cloudbridge",
        cdc_max_batch_interval: float = 60.0,
        cdc_max_rows: int = 100_000,
        row_group_length: int = ROW_GROUP_LENGTH,
        clock: Callable[[], float] = time.monotonic,
        table_mappings: dict[str, Any] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        replication_arn: str = SANDBOX_REPLICATION_ARN,
        layout: Layout = DAY,
    ):
        self.conninfo, self.s3, self.bucket, self.slot = conninfo, s3, bucket, slot
        # The task's table mappings (None: every table given, every column).
        self.mappings = TableMappings(table_mappings) if table_mappings is not None else None
        self.tables = {
            (t.schema, t.table): t for t in tables if self.mappings is None or self.mappings.selects(t.schema, t.table)
        }
        self.cdc_max_batch_interval, self.cdc_max_rows = cdc_max_batch_interval, cdc_max_rows
        self.row_group_length, self.clock = row_group_length, clock
        self.on_event, self.replication_arn = on_event, replication_arn
        self.layout = layout  # the endpoint's DatePartitionSequence: day or hour folders
        self.files: list[LandedFile] = []
        self.changes_captured = 0
        self.changes_lost = 0  # read from the slot, not yet written when the task failed
        self.state, self.failure = RUNNING, None
        self.event_errors: list[str] = []  # events on_event could not take
        self._reconnects = 0
        self._kept_columns: dict[tuple[str, str], dict[str, str]] = {}
        self._sequence = 0  # the task-wide change counter of $AR_H_CHANGE_SEQ
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._last_name: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()
        self._connection: psycopg.Connection | None = None
        self._loading: set[tuple[str, str]] = set()  # tables whose changes are cached, not written
        self._cdc_lock = threading.Lock()  # one CDC poll at a time; StopReplication waits for it
        self.statistics: dict[tuple[str, str], dict[str, Any]] = {}
        self.start_type = "start-replication"  # the last StartReplicationType
        self.load_errors: list[str] = []  # loads that failed (their tables are in Table error)
        # Runs in each ReloadTables load after the read, before the first row is written, when
        # the caller gives none (how the scenario reaches that window through the DMS API).
        self.during_reload: Callable[[], Any] | None = None

    # --- set-up ------------------------------------------------------------------------

    def connection(self) -> psycopg.Connection:
        """The stand-in's replication connection, opened on first use (and again after it broke)."""
        if self._connection is not None and self._connection.closed:
            self._connection = None
        if self._connection is None:
            self._connection = psycopg.connect(self.conninfo, autocommit=True, application_name=READER_APPLICATION)
        return self._connection

    def removed_columns(self, schema: str, table: str, columns: Iterable[str]) -> list[str]:
        """The columns, of those given, that the table mappings' remove-column rules drop."""
        return self.mappings.removed(schema, table, columns) if self.mappings else []

    def _kept(self, meta: TableMetadata) -> dict[str, str]:
        """The table's columns as its files carry them (removed ones left out): name → portable type."""
        key = (meta.schema, meta.table)
        if key not in self._kept_columns:
            removed = set(self.removed_columns(meta.schema, meta.table, (c.name for c in meta.columns)))
            self._kept_columns[key] = {c.name: c.type for c in meta.columns if c.name not in removed}
        return dict(self._kept_columns[key])

    def create_slot(self) -> str:
        """The slot is created before the full load, so no change falls between the two."""
        row = (
            self.connection()
            .execute("select lsn::text from pg_create_logical_replication_slot(%s, 'test_decoding')", (self.slot,))
            .fetchone()
        )
        return row[0]

    def drop_slot(self) -> None:
        """Drop the replication slot; a slot already gone is not an error."""
        try:
            self.connection().execute("select pg_drop_replication_slot(%s)", (self.slot,))
        except psycopg.Error:
            pass

    def close(self) -> None:
        """Close the replication connection."""
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None

    # --- full load ---------------------------------------------------------------------

    def full_load(self) -> int:
        """Every table's full load from one consistent snapshot; returns the rows loaded."""
        started = datetime.now(UTC)
        with psycopg.connect(self.conninfo, application_name=LOAD_APPLICATION) as connection:
            connection.execute("set transaction isolation level repeatable read")
            return sum(self._load(connection, meta, started) for _, meta in sorted(self.tables.items()))

    def reload_tables(
        self, tables: Iterable[tuple[str, str]], during_load: Callable[[], Any] | None = None
    ) -> dict[str, int]:
        """ReloadTables (ReloadReplicationTables): while the task runs, each table is read again
        and written as full-load files numbered from LOAD00000001 again, each row stamped when
        written — a new load generation; TargetTablePrepMode DO_NOTHING, so nothing earlier is
        removed. CDC carries on, the table's own changes cached until its load ends.
        ``during_load`` runs after each read and before its first row is written (the window a
        change can fall into: in no snapshot, older than every load row). Rows loaded per table."""
        return self.load_tables(self.check_reload(tables), during_load)

    def check_reload(self, tables: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """What ReloadTables refuses at once (a table the mappings do not select: ValueError; a task
        not running: InvalidResourceStateError); else each table is marked as being reloaded."""
        keys = [(schema, table) for schema, table in tables]
        unknown = [f"{s}.{t}" for s, t in keys if (s, t) not in self.tables]
        if unknown:
            raise ValueError(f"ReloadTables: {', '.join(unknown)} not in the task's table mappings")
        with self._lock:
            if self.state != RUNNING:
                raise InvalidResourceStateError(f"ReloadTables: the task is {self.state}, not running")
            for key in keys:
                self._table_state(key, RELOADING)
        return keys

    def load_tables(self, keys: list[tuple[str, str]], during_load: Callable[[], Any] | None = None) -> dict[str, int]:
        """The reloads ``check_reload`` accepted, one after the other (``during_reload`` unless
        ``during_load`` is given). Rows loaded per table."""
        return self._load_each(keys, during_load or self.during_reload, reloaded=True)

    def reload_target(self) -> dict[str, int]:
        """StartReplication with reload-target, on a stopped or failed task (after its slot was
        lost): a new slot first, so every change from then on is captured; then each table's new
        full load (its own FullLoadStartTime, read after the slot exists) while CDC runs from the
        new slot, each table's changes cached until its load ends. A change committed while
        there was no slot is in the new snapshots. Rows loaded per table."""
        self.accept_reload_target()
        return self.run_reload_target()

    def accept_reload_target(self) -> None:
        """What StartReplication reload-target refuses at once (a running or stopping task);
        else the task is starting and every table waits for its load."""
        with self._lock:
            if self.state in (RUNNING, STOPPING):
                raise InvalidResourceStateError(
                    f"StartReplication reload-target: the task is {self.state}; stop it first"
                )
            self.state, self.start_type = STARTING, "reload-target"
            for key in self.tables:
                self._table_state(key, BEFORE_LOAD)

    def run_reload_target(self) -> dict[str, int]:
        """The restart ``accept_reload_target`` accepted: a new slot, then every table's load."""
        try:
            self.close()
            self.drop_slot()  # a slot left behind by the old task is of no use: its position is not the new snapshot's
            self.create_slot()
        except Exception as exc:  # the restart fails as a whole: no slot, no load
            with self._lock:
                for key in self.tables:
                    self._table_state(key, TABLE_ERROR)
            self.fail(f"reload-target: {type(exc).__name__}: {str(exc).strip()}")
            raise
        with self._lock:
            self._loading.update(self.tables)  # cached from now until each table's load ends
            self.state, self.failure, self._reconnects = RUNNING, None, 0
        return self._load_each(sorted(self.tables), None, reloaded=False)

    def _table_state(self, key: tuple[str, str], state: str) -> None:
        """Set a table's TableState (under ``_lock``), its other statistics as they were."""
        schema, table = key
        entry = self.statistics.setdefault(key, {"SchemaName": schema, "TableName": table})
        entry["TableState"] = state

    def _load_each(
        self, keys: list[tuple[str, str]], during_load: Callable[[], Any] | None, reloaded: bool
    ) -> dict[str, int]:
        """One full load per table, each from its own snapshot, started when its load starts; a
        table whose load fails is left in Table error and the others still load (the first
        failure is raised once every table has had its turn)."""
        loaded, failures = {}, []
        for key in keys:
            started = datetime.now(UTC)
            meta = self.tables[key]
            try:
                with psycopg.connect(self.conninfo, application_name=LOAD_APPLICATION) as connection:
                    connection.execute("set transaction isolation level repeatable read")
                    loaded[meta.table_id] = self._load(connection, meta, started, during_load, reloaded=reloaded)
            except Exception as exc:
                failures.append(exc)
                with self._lock:
                    self._table_state(key, TABLE_ERROR)
                    self._loading.discard(key)
                    self.load_errors.append(f"{meta.table_id}: {type(exc).__name__}: {str(exc).strip()}")
        if failures:
            raise failures[0]
        return loaded

    def _load(
        self,
        connection: psycopg.Connection,
        meta: TableMetadata,
        started: datetime,
        during_load: Callable[[], Any] | None = None,
        reloaded: bool = False,
    ) -> int:
        key = (meta.schema, meta.table)
        with self._lock:
            self._loading.add(key)  # from the load's start, its changes are cached
            entry = self.statistics.setdefault(key, {"SchemaName": meta.schema, "TableName": meta.table})
            entry.pop("FullLoadEndTime", None)
            entry |= {"TableState": RELOADING if reloaded else FULL_LOAD, "FullLoadStartTime": started,
                      "FullLoadRows": 0, "FullLoadReloaded": reloaded}  # fmt: skip
        columns = self._kept(meta)  # what the remove-column rules leave
        query = f'select {select_list(meta, columns)} from "{meta.schema}"."{meta.table}"'
        loaded = number = 0
        with connection.cursor(name=f"load_{meta.schema}_{meta.table}") as cursor:
            cursor.execute(query)
            chunk = cursor.fetchmany(FULL_LOAD_ROWS_PER_FILE)  # the snapshot is taken: the table is read
            if during_load is not None:
                during_load()
            while chunk:
                number += 1
                rows = [dict(zip(columns, values, strict=True)) for values in chunk]
                stamp = dmsfiles.dms_timestamp(datetime.now(UTC))  # when written, after the read
                buffer = _Buffer(columns=columns, rows=rows, ops=["I"] * len(rows), stamps=[stamp] * len(rows))
                buffer.positions = [LOAD_SEQUENCE] * len(rows)
                self._write(meta, buffer, dmsfiles.load_key(meta.schema, meta.table, number), "load")
                loaded += len(rows)
                chunk = cursor.fetchmany(FULL_LOAD_ROWS_PER_FILE)
        self._finish_load(key, meta, started, loaded, reloaded)
        return loaded

    def _finish_load(self, key: tuple[str, str], meta: TableMetadata, started: datetime, rows: int, reloaded: bool):
        """The load ended: table statistics say so, and the cached changes are written."""
        with self._lock:
            self.statistics[key] = {
                "SchemaName": meta.schema, "TableName": meta.table, "FullLoadRows": rows,
                "FullLoadStartTime": started, "FullLoadEndTime": datetime.now(UTC),
                "FullLoadReloaded": reloaded, "TableState": COMPLETED,
            }  # fmt: skip
            self._loading.discard(key)

    def describe_table_statistics(self) -> dict[str, Any]:
        """DescribeTableStatistics as DMS answers it, for the tables loaded so far."""
        with self._lock:
            return {"TableStatistics": [dict(v) for _, v in sorted(self.statistics.items())]}

    # --- CDC ---------------------------------------------------------------------------

    def poll(self) -> int:
        """Drain the slot once, buffer its changes, close the files that are due."""
        rows = (
            self.connection()
            .execute(
                "select lsn::text, data from pg_logical_slot_get_changes(%s, NULL, NULL, 'include-timestamp', 'on')",
                (self.slot,),
            )
            .fetchall()
        )
        pending: list[Change] = []
        for _lsn, data in rows:
            change = parse_change(data)
            if change is not None:
                pending.append(change)
                continue
            committed = parse_commit(data)
            if committed is not None:
                self._apply(pending, committed)
                pending = []
        self.flush()
        return len(rows)

    def _apply(self, changes: list[Change], committed: datetime) -> None:
        stamp = dmsfiles.dms_timestamp(committed)
        for change in changes:
            key = (change.schema, change.table)
            meta = self.tables.get(key)
            if meta is None or change.action == "TRUNCATE":
                continue  # not selected; DMS does not capture TRUNCATE
            known = self._kept(meta)
            buffer = self._buffers.get(key)
            columns = dict(buffer.columns) if buffer else dict(known)
            unknown = [name for name in change.columns if name not in columns]  # removed, or a schema change
            removed = self.removed_columns(change.schema, change.table, unknown) if unknown else []
            new = [name for name in unknown if name not in removed]
            if new:
                if buffer and buffer.rows:
                    self._close(key)  # a file never mixes two column sets
                for name in new:
                    columns[name] = portable_of_new_column(change.columns[name].type, f"{meta.table_id}.{name}")
                buffer = None
            if buffer is None:
                buffer = self._buffers[key] = _Buffer(columns=columns, opened=self.clock())
            values = {name: python_value(v) for name, v in change.columns.items()}
            buffer.rows.append({name: values.get(name) for name in buffer.columns})
            buffer.ops.append({"INSERT": "I", "UPDATE": "U", "DELETE": "D"}[change.action])
            buffer.stamps.append(stamp)
            self._sequence += 1
            buffer.positions.append(dmsfiles.change_sequence(committed, self._sequence))
            buffer.commits.append(committed)
            self.changes_captured += 1

    def flush(self, force: bool = False) -> None:
        """Close the CDC files whose batch interval or row limit is reached (all open ones when ``force``)."""
        now = self.clock()
        with self._lock:
            loading = set(self._loading)
        for key, buffer in list(self._buffers.items()):
            if key in loading:
                continue  # cached until the table's load ends
            due = now - buffer.opened >= self.cdc_max_batch_interval or len(buffer.rows) >= self.cdc_max_rows
            if buffer.rows and (force or due):
                self._close(key)

    def _close(self, key: tuple[str, str]) -> None:
        buffer = self._buffers.pop(key)
        meta = self.tables[key]
        moment = datetime.now(UTC)
        previous = self._last_name.get(key)
        if previous and moment.replace(microsecond=moment.microsecond // 1000 * 1000) <= previous:
            moment = previous.replace(microsecond=previous.microsecond // 1000 * 1000) + _MS
        self._last_name[key] = moment
        self._write(meta, buffer, dmsfiles.cdc_key(key[0], key[1], moment, layout=self.layout), "cdc")

    # --- files -------------------------------------------------------------------------

    def _write(self, meta: TableMetadata, buffer: _Buffer, key: str, kind: str) -> None:
        fields = [pa.field(meta.dms.op, pa.string()), pa.field(meta.dms.timestamp, pa.string(), nullable=False)]
        fields += [pa.field(name, arrow_type(portable)) for name, portable in buffer.columns.items()]
        if meta.dms.change_sequence:
            fields.append(pa.field(meta.dms.change_sequence, pa.string()))
        arrays = [pa.array(buffer.ops, pa.string()), pa.array(buffer.stamps, pa.string())]
        for name, portable in buffer.columns.items():
            arrays.append(
                pa.array([to_arrow_value(portable, row.get(name)) for row in buffer.rows], arrow_type(portable))
            )
        if meta.dms.change_sequence:
            arrays.append(pa.array(buffer.positions, pa.string()))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        body = dmsfiles.to_bytes(table, row_group_length=self.row_group_length)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        with self._lock:
            self.files.append(
                LandedFile(
                    key,
                    meta.table_id,
                    kind,
                    len(buffer.rows),
                    min(buffer.commits) if buffer.commits else None,
                )
            )

    # --- the task's state -----------------------------------------------------------------

    def run(self, stop: threading.Event, poll_interval: float = 0.2) -> None:
        """Continuous CDC until ``stop`` (while the task runs: a failed task reads nothing until
        ``reload_target``); then the open files are closed."""
        while not stop.is_set():
            self.step()
            stop.wait(poll_interval)
        self.step()
        self.flush(force=True)

    def step(self) -> None:
        """One CDC poll, if the task runs. The slot gone is fatal, as for DMS; a broken
        connection is retried (reconnecting) up to MAX_RECONNECTS times in a row."""
        with self._cdc_lock:
            with self._lock:
                if self.state != RUNNING:
                    return
            try:
                self.poll()
                self._reconnects = 0
            except psycopg.errors.UndefinedObject as exc:  # replication slot "…" does not exist
                self.fail(f"the replication slot is gone: {str(exc).strip()}")
            except psycopg.OperationalError as exc:  # the connection was closed or terminated
                self.close()
                self._reconnects += 1
                if self._reconnects > MAX_RECONNECTS:
                    self.fail(f"lost the source connection {self._reconnects} times in a row: {str(exc).strip()}")

    def stop(self) -> None:
        """StopReplication on a running task: the poll under way ends, the changes read are
        written, the connection is closed; the slot stays (resume-processing reads on from it)."""
        with self._lock:
            if self.state != RUNNING:
                raise InvalidResourceStateError(f"StopReplication: the task is {self.state}, not running")
            self.state = STOPPING
        with self._cdc_lock:
            self.flush(force=True)
            self.close()
            with self._lock:
                self.state = STOPPED

    def resume(self) -> None:
        """StartReplication resume-processing on a stopped or failed task: CDC reads on from its
        slot (a slot that is gone fails it again)."""
        with self._lock:
            if self.state not in (STOPPED, FAILED):
                raise InvalidResourceStateError(f"StartReplication resume-processing: the task is {self.state}")
            self.state, self.failure, self._reconnects = RUNNING, None, 0
            self.start_type = "resume-processing"

    def fail(self, reason: str) -> None:
        """The task stops with a fatal error: nothing more is read or written; changes read but not
        yet written are lost with it (recovered by ``reload_target``)."""
        with self._lock:
            self.state, self.failure = FAILED, reason
            lost = sum(len(b.rows) for b in self._buffers.values())
            self._buffers.clear()
            self.changes_lost += lost
        self.close()
        if self.on_event is not None:
            try:
                self.on_event(self.failure_event(reason))
            except Exception as exc:  # the alert is lost, not the task's state
                self.event_errors.append(f"{type(exc).__name__}: {exc}")

    def describe_replication(self) -> dict[str, Any]:
        """The replication as DescribeReplications shows it: its status and, once failed, why."""
        with self._lock:
            answer: dict[str, Any] = {
                "ReplicationConfigIdentifier": self.replication_arn.rsplit(":", 1)[-1],
                "ReplicationConfigArn": self.replication_arn,
                "ReplicationType": "full-load-and-cdc",
                "Status": self.state,
                "StartReplicationType": self.start_type,
            }
            if self.failure:
                answer |= {"StopReason": "FATAL_ERROR", "FailureMessages": [self.failure]}
            return answer

    def failure_event(self, reason: str) -> dict[str, Any]:
        """The EventBridge event DMS sends when a replication fails (what the program's
        aws.dms rule forwards to the alerts topic)."""
        _, _, _, region, account, _ = self.replication_arn.split(":", 5)
        identifier = self.replication_arn.rsplit(":", 1)[-1]
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "DMS Replication State Change",
            "source": "aws.dms",
            "account": account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [self.replication_arn],
            "detail": {
                "type": "REPLICATION_STATE_CHANGE",
                "category": "Failure",
                "eventType": "REPLICATION_FAILED",
                "detailMessage": f"Last Error {reason} Stop Reason FATAL_ERROR Error Level FATAL",
                "resourceLink": f"https://console.aws.amazon.com/dms/v2/home?region={region}#replications/{identifier}",
            },
        }
