"""The operations the sandbox's scenario runs mid-traffic, as an operator would with DMS.

* ``SlotLoss``: the replication slot is dropped under CDC (its reader terminated first); the
  DMS stand-in fails as DMS does; traffic goes on, with an order deleted and one created while
  there is none; then the recovery: ``cloudbridge reload --all --reanchor`` — the command's own
  code (cloudbridge/sandbox/command.py) on the stand-in's DMS API — restarts the replication with
  reload-target (a new slot, then a new load generation of every table) and follows every table
  until its generation marker is in raw history. Nothing may be lost (changes without a slot are
  in the new snapshots) and nothing may come back (a row deleted without a slot stays deleted:
  the old generation no longer counts).
* ``Reload``: one table truncated on the source (DMS does not capture TRUNCATE), then reloaded
  while the task runs by ``cloudbridge reload --table`` (ReloadReplicationTables, followed until
  its marker is in raw history): a new generation of that table only.

Both commands run in the background while traffic goes on; the generation-marker writer runs on
its own schedule meanwhile (cloudbridge/sandbox/run.py), and each command waits for its markers.
* ``scan_exclusions``: every parquet file of raw history read for its columns: no file of a
  table may carry a column the source's ``excludeColumns`` keeps out of the lake.

Timing (docs/analytics.md, limits): a generation starts at FullLoadStartTime floored to the
second, so an uncaptured change (TRUNCATE, a delete without a slot) needs more than a second
before the next load starts, and two loads of one table need two seconds between them; like
an operator, who acts minutes later, the scenario keeps those distances.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from cloudbridge.sandbox.command import CommandRun
from cloudbridge.sandbox.dms import FAILED, READER_APPLICATION, DmsStandIn
from cloudbridge.sandbox.mappings import like
from components.config import Source

# A table reloaded mid-run, after a TRUNCATE on the source that DMS does not capture: its
# current state must come from the reload plus the changes after it, not from both loads.
RELOADED_TABLE = "public.order_lines"
TRUNCATE_TO_RELOAD_SECONDS = 1.5  # an uncaptured change more than a second before the next load starts
LOADS_APART_SECONDS = 2.0  # two loads of one table at least two seconds apart
FAILURE_TIMEOUT_SECONDS = 15.0  # how long the stand-in may take to notice its slot is gone

Say = Callable[[str], None]
# ``python -m cloudbridge reload --yes`` on the sandbox's source: ``--table`` each of the tables
# given, or ``--all`` (with ``--reanchor`` when asked) — cloudbridge/sandbox/command.py.
Command = Callable[..., CommandRun]


def lose_slot(db: psycopg.Connection, slot: str, attempts: int = 100) -> None:
    """What loses a slot in real life (a failover without slot sync, a DBA's cleanup, a
    max_slot_wal_keep_size overrun), done by hand: the slot's reader is terminated (its active
    walsender, and the stand-in's CDC connection), then the slot is dropped — retried while a
    reconnecting reader holds it again."""
    for _ in range(attempts):
        db.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s "
            "and pid <> pg_backend_pid()",
            (READER_APPLICATION,),
        )
        db.execute(
            "select pg_terminate_backend(active_pid) from pg_replication_slots "
            "where slot_name = %s and active_pid is not null",
            (slot,),
        )
        try:
            db.execute("select pg_drop_replication_slot(%s)", (slot,))
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(0.05)
    raise RuntimeError(f"replication slot {slot} stayed in use; not dropped")


def _changes(workload: Any) -> int:
    counts = workload.counts
    return counts.inserts + counts.updates + counts.deletes


class SlotLoss:
    """At ``drop_at`` the slot is dropped mid-traffic; ``recover_after`` seconds later (once the
    stand-in has failed, and two seconds or more after ``last_load_ended``, the tables' previous
    loads) the recovery starts — ``reload --all --reanchor`` in the background while traffic
    goes on — and ends once every table's new load is complete and marked."""

    def __init__(self, drop_at: float, recover_after: float, last_load_ended: float = 0.0):
        self.drop_at, self.recover_after = drop_at, max(recover_after, TRUNCATE_TO_RELOAD_SECONDS)
        self.last_load_ended = last_load_ended
        self.dropped_at: float | None = None
        self.finished_at: float | None = None  # the recovery's loads complete and marked
        self.failure: str | None = None
        self.changes_at_drop = self.changes_without_slot = 0
        self.deleted_order: int | None = None  # deleted while there was no slot
        self.new_order: int | None = None  # created while there was no slot
        self.recovery: threading.Thread | None = None
        self.command: CommandRun | None = None  # reload --all --reanchor, once it has run
        self.reloaded: dict[str, int | None] | None = None
        self.error: str | None = None
        self.union_differences: dict[str, int] = {}
        self.deleted_order_in_view: bool | None = None
        self.new_order_in_view: bool | None = None

    @property
    def done(self) -> bool:
        """Whether the recovery has finished (or failed)."""
        return self.finished_at is not None

    def recover_at(self) -> float:
        """When the recovery is due: after a slot-less while (an uncaptured delete more than a
        second before the new loads start), the tables' previous loads two seconds behind."""
        return max((self.dropped_at or 0.0) + self.recover_after, self.last_load_ended + LOADS_APART_SECONDS)

    def step(self, workload: Any, dms: DmsStandIn, say: Say, command: Command) -> None:
        """Drop the slot, start the recovery, or finish it, when each is due."""
        now = time.monotonic()
        if self.dropped_at is None:
            if now >= self.drop_at:
                self._drop(workload, dms, say)
        elif self.recovery is None:
            if now >= self.recover_at() and dms.state == FAILED:
                self._recover(workload, dms, say, command)
        elif not self.done and not self.recovery.is_alive():
            self.recovery.join()
            self.finished_at = time.monotonic()
            if self.error is None and self.command is not None and not self.command.ok:
                self.error = f"reload --all --reanchor exited {self.command.code}: {self.command.problem}"
            self.reloaded = self.command.rows() if self.command is not None else None
            say(
                f"slot loss: recovered by reload --all --reanchor — a new slot, then every table loaded again "
                f"({self._loaded()}), each followed until its generation marker was in raw history"
                if self.error is None
                else f"slot loss: the recovery failed: {self.error}"
            )

    def _drop(self, workload: Any, dms: DmsStandIn, say: Say) -> None:
        lose_slot(workload.db, dms.slot)
        self.dropped_at, self.changes_at_drop = time.monotonic(), _changes(workload)
        db = workload.db
        with workload.lock:
            self.deleted_order = db.execute("select min(order_id) from orders").fetchone()[0]
            deleted = db.execute("delete from orders where order_id = %s", (self.deleted_order,)).rowcount
            workload.counts.deletes += deleted
            self.new_order = workload.next_order
            workload.new_order()
        say(
            f"slot loss: replication slot {dms.slot} dropped mid-traffic (its reader terminated first); "
            f"without a slot, order {self.deleted_order} deleted (with its lines) and order {self.new_order} created"
        )

    def _recover(self, workload: Any, dms: DmsStandIn, say: Say, command: Command) -> None:
        self.failure = dms.describe_replication().get("FailureMessages", ["?"])[0]
        self.changes_without_slot = _changes(workload) - self.changes_at_drop
        say(
            f"slot loss: DMS failed ({self.failure}); {self.changes_without_slot} changes committed without a "
            "slot; recovering: reload --all --reanchor (StartReplication reload-target) while traffic goes on"
        )

        def recover() -> None:
            try:
                self.command = command(reanchor=True)
            except Exception as exc:  # reported, and the run is not OK
                self.error = f"{type(exc).__name__}: {exc}"

        self.recovery = threading.Thread(target=recover, name="dms-reload-target", daemon=True)
        self.recovery.start()

    def _loaded(self) -> str:
        return ", ".join(f"{table} {rows}" for table, rows in sorted((self.reloaded or {}).items()))

    def finish(self, workload: Any, dms: DmsStandIn, say: Say, command: Command) -> None:
        """Run whatever is left now (a run too short to reach it still shows all of it)."""
        self.drop_at = 0.0
        self.step(workload, dms, say, command)
        deadline = time.monotonic() + FAILURE_TIMEOUT_SECONDS
        while dms.state != FAILED and self.recovery is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(max(0.0, self.recover_at() - time.monotonic()))
        self.step(workload, dms, say, command)
        if self.recovery is None:
            self.error = f"the DMS stand-in did not fail within {FAILURE_TIMEOUT_SECONDS:.0f}s of the slot's loss"
            self.finished_at = time.monotonic()
            return
        self.recovery.join()
        self.step(workload, dms, say, command)

    def observe(self, meta: Any, current_keys: set, union_differences: int) -> None:
        """What the current-state views show after the run (called per table)."""
        self.union_differences[meta.table_id] = union_differences
        if meta.table_id == "public.orders":
            self.deleted_order_in_view = (self.deleted_order,) in current_keys
            self.new_order_in_view = (self.new_order,) in current_keys

    def ok(self, tables: int) -> bool:
        """Failed on the slot's loss, recovered by the command with every table reloaded and
        marked, nothing lost or back."""
        return (
            self.error is None
            and self.command is not None
            and self.command.ok
            and self.failure is not None
            and "slot" in self.failure
            and len(self.reloaded or {}) == tables
            and self.deleted_order_in_view is False
            and self.new_order_in_view is True
        )

    def to_dict(self, dms: DmsStandIn, tables: int) -> dict[str, Any]:
        """What the slot loss did, for the report."""
        return {
            "ok": self.ok(tables),
            "slot": dms.slot,
            "failure": self.failure,
            "changesLostWithTheTask": dms.changes_lost,
            "changesWithoutSlot": self.changes_without_slot,
            "deletedOrder": self.deleted_order,
            "deletedOrderInView": self.deleted_order_in_view,
            "newOrder": self.new_order,
            "newOrderInView": self.new_order_in_view,
            "reloadedTables": self.reloaded,
            "unionOfLoadsDiffers": self.union_differences,
            "recoveryError": self.error,
            "eventErrors": list(dms.event_errors),
            "statusAfter": dms.describe_replication()["Status"],
            "command": self.command.to_dict() if self.command else None,
        }


class Reload:
    """Truncate the table on the source at ``truncate_at``; at ``reload_at`` run ``reload --table``
    in the background while traffic goes on. While DMS's reload has read the table and not yet
    written a row, a new order (with its lines) is committed: the window in which a change is in
    no snapshot and older than every load row."""

    def __init__(self, table: str, truncate_at: float, reload_at: float):
        self.table, self.truncate_at, self.reload_at = table, truncate_at, reload_at
        self.truncated = self.reloaded_rows = None
        self.union_differences = 0
        self.window_order: int | None = None
        self.window_lines = 0
        self.window_older = 0  # its CDC rows older than the reload's first load row (lost by that rule)
        self.thread: threading.Thread | None = None
        self.command: CommandRun | None = None
        self.error: str | None = None
        self.finished = False

    def not_before(self, last_load_ended: float) -> None:
        """Keep the truncate and the reload clear of the table's previous load."""
        self.truncate_at = max(self.truncate_at, last_load_ended + LOADS_APART_SECONDS - TRUNCATE_TO_RELOAD_SECONDS)
        self.reload_at = max(self.reload_at, last_load_ended + LOADS_APART_SECONDS)

    def step(self, workload: Any, dms: DmsStandIn, say: Say, command: Command) -> None:
        """Truncate, start the reload, or note what it did, when each is due."""
        now = time.monotonic()
        if self.truncated is None and now >= self.truncate_at:
            self._truncate(workload, say)
        elif self.truncated is not None and self.thread is None and now >= self.reload_at:
            self._start(workload, dms, command)
        elif self.thread is not None and not self.finished and not self.thread.is_alive():
            self._finished(dms, say)

    def _truncate(self, workload: Any, say: Say) -> None:
        with workload.lock:
            self.truncated = workload.db.execute(f"select count(*) from {self.table}").fetchone()[0]
            workload.db.execute(f"truncate {self.table}")
        # A generation starts at FullLoadStartTime floored to the second, so an uncaptured
        # TRUNCATE less than a second before the reload could bring rows back
        # (docs/analytics.md, limits): like an operator, reload well after it.
        self.reload_at = max(self.reload_at, time.monotonic() + TRUNCATE_TO_RELOAD_SECONDS)
        say(f"reload: {self.table} truncated on the source ({self.truncated} rows; DMS does not capture TRUNCATE)")

    def _start(self, workload: Any, dms: DmsStandIn, command: Command) -> None:
        def in_the_window() -> None:  # in DMS's load, between its read and its first row written
            if self.window_order is not None:
                return
            with workload.lock:
                self.window_order = workload.next_order
                workload.new_order()
                self.window_lines = workload.db.execute(
                    f"select count(*) from {self.table} where order_id = %s", (self.window_order,)
                ).fetchone()[0]

        def run() -> None:
            try:
                self.command = command([self.table])
            except Exception as exc:  # reported, and the run is not OK
                self.error = f"{type(exc).__name__}: {exc}"

        dms.during_reload = in_the_window
        self.thread = threading.Thread(target=run, name="reload-table", daemon=True)
        self.thread.start()

    def _finished(self, dms: DmsStandIn, say: Say) -> None:
        self.thread.join()
        self.finished, dms.during_reload = True, None
        if self.error is None and self.command is not None and not self.command.ok:
            self.error = f"reload --table {self.table} exited {self.command.code}: {self.command.problem}"
        self.reloaded_rows = (self.command.rows() if self.command else {}).get(self.table)
        if self.error is not None:
            say(f"reload: {self.table} not reloaded: {self.error}")
            return
        say(
            f"reload: {self.table} reloaded mid-run by reload --table (ReloadReplicationTables: {self.reloaded_rows} "
            f"rows from LOAD00000001 again, followed until its generation marker was in raw history); order "
            f"{self.window_order} ({self.window_lines} lines) committed after the read, before the first load row "
            "was written"
        )

    @property
    def done(self) -> bool:
        """Whether the reload has run (and its command ended)."""
        return self.finished

    @property
    def ok(self) -> bool:
        """Whether the command exited 0 with the table loaded again and marked."""
        return self.error is None and self.reloaded_rows is not None

    def finish(self, workload: Any, dms: DmsStandIn, say: Say, command: Command) -> None:
        """Truncate and reload now if the run ended before either was due, and wait for the command."""
        self.truncate_at = min(self.truncate_at, time.monotonic())  # a run too short to reach them shows both
        self.step(workload, dms, say, command)
        time.sleep(max(0.0, self.reload_at - time.monotonic()))
        self.step(workload, dms, say, command)
        if self.thread is not None:
            self.thread.join()
        self.step(workload, dms, say, command)

    def to_dict(self) -> dict[str, Any]:
        """What the reload did, for the report."""
        return {
            "ok": self.ok,
            "table": self.table,
            "truncatedRows": self.truncated,
            "reloadedRows": self.reloaded_rows,
            "unionOfLoadsDiffers": self.union_differences,
            "windowOrder": self.window_order,
            "windowLines": self.window_lines,
            "windowRowsOlderThanFirstLoadRow": self.window_older,
            "error": self.error,
            "command": self.command.to_dict() if self.command else None,
        }


def excluded_in_source(db: psycopg.Connection, source: Source, tables: list[str]) -> dict[str, list[str]]:
    """Per selected table, the source columns its ``excludeColumns`` patterns name (so the
    exclusion is real: the column is there, at the source)."""
    found: dict[str, list[str]] = {}
    for table_id in tables:
        schema, table = table_id.split(".", 1)
        patterns = source.excluded_columns(schema, table)
        if not patterns:
            continue
        names = [
            row[0]
            for row in db.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position",
                (schema, table),
            ).fetchall()
        ]
        found[table_id] = [n for n in names if any(like(p, n) for p in patterns)]
    return found


def scan_exclusions(files: dict[str, list[Path]], root: Path, source: Source) -> dict[str, Any]:
    """Every parquet file of raw history (downloaded under ``root``) read for its column names:
    the files, per table with exclusions, and those carrying an excluded column (none may)."""
    import pyarrow.parquet as pq

    scanned, carrying, per_table = 0, [], {}
    for table_id, paths in sorted(files.items()):
        schema, table = table_id.split(".", 1)
        patterns = source.excluded_columns(schema, table)
        for path in paths:
            names = pq.read_schema(path).names
            scanned += 1
            if patterns:
                kind = "load" if path.name.startswith("LOAD") else "marker" if "GENERATION-" in path.name else "cdc"
                counts = per_table.setdefault(table_id, {"load": 0, "cdc": 0, "marker": 0})
                counts[kind] += 1
            found = [n for n in names if any(like(p, n) for p in patterns)]
            if found:
                carrying.append({"key": str(path.relative_to(root)), "columns": found})
    return {"filesScanned": scanned, "filesByTable": per_table, "filesCarryingExcluded": carrying}
