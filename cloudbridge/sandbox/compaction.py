"""Compaction in the sandbox: each source's state machine, locally.

On its schedule (``run``), and once after the quarantine replay (``sweep``), every table with a
current-state view is compacted by the deployed statements (components/compaction_sql.py)
translated to DuckDB (cloudbridge/compaction_local.py): over the raw history the source's bucket
holds at that moment (downloaded as it grows, as Athena reads it), into a DuckDB state table
standing in for the Iceberg one. The analysts' view is then the compacted one, state + tail with
the last run's watermark as literals, and it must equal the source as the full-history view does.

The sandbox lasts a minute, not days, so its settings are scaled down from the defaults: a run
every few seconds, a tail a few seconds long. A file validated later than the tail's overlap
after its changes' commit (the quarantined files replayed after the schema change) is in no
run's window and not in the tail: the sweep after the replay merges it, as the daily sweep does
in AWS.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from cloudbridge import compaction_local as local
from cloudbridge.dmsfiles import dms_timestamp
from cloudbridge.sandbox import analytics
from components import compaction_sql as csql
from components.compaction import compactable
from components.naming import Naming
from functions.common.metadata import TableMetadata


# Scaled to the sandbox's minute (defaults in AWS: hourly runs, a 60-minute overlap, daily sweeps):
# about eight runs over the traffic, so that the slot loss's and the reload's new generations each
# meet a run of their own.
def run_period(traffic_seconds: float) -> float:
    """Seconds between two scheduled runs for this much traffic."""
    return max(1.0, min(6.0, traffic_seconds / 8))


SETTINGS = csql.Settings(overlap_seconds=4, late_days=1, reload_hours=1)


@dataclass
class TableRuns:
    """One table's runs: how many of each mode, the last compacting one, and errors."""

    modes: Counter = field(default_factory=Counter)
    last: local.Run | None = None
    errors: list[str] = field(default_factory=list)


class Compactor:
    """One source's compaction: its raw-history bucket mirrored into ``root``, a DuckDB state
    table per compactable table, and each table's last run (whose watermark the view uses)."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        database: str,
        tables: list[TableMetadata],
        root: Path,
        settings: csql.Settings = SETTINGS,
    ):
        self.s3, self.bucket, self.database, self.root = s3, bucket, database, root
        self.tables, self.settings = tables, settings
        self.db = duckdb.connect()
        self.files: dict[str, list[Path]] = {}
        self._seen: set[str] = set()
        self.runs: dict[str, TableRuns] = {}
        self._lock = threading.Lock()  # the schedule's thread and the final sweep never overlap

    def names(self, meta: TableMetadata) -> csql.Names:
        """Where the table's change table and state table are (the Glue names)."""
        return csql.Names(self.database, Naming.glue_table(meta.schema, meta.table))

    def sync(self) -> None:
        """Download the raw-history objects not yet seen."""
        for table_id, paths in analytics.download(self.s3, self.bucket, self.root, self._seen).items():
            self.files.setdefault(table_id, []).extend(paths)

    def tick(self, mode: str = "run") -> None:
        """One execution of the state machine: every compactable table, at the same cut."""
        with self._lock:
            self.sync()
            cut = dms_timestamp(datetime.now(UTC))
            for meta in compactable(self.tables):
                runs = self.runs.setdefault(meta.table_id, TableRuns())
                names = self.names(meta)
                try:
                    local.register_history(self.db, meta, names, self.files.get(meta.table_id, []))
                    run = local.compact(self.db, meta, names, cut=cut, settings=self.settings, mode=mode)
                except Exception as exc:  # a failed execution: the view keeps its last watermark
                    runs.errors.append(f"{mode} at {cut}: {type(exc).__name__}: {exc}")
                    continue
                runs.modes[run.mode] += 1
                if run.compacted:
                    runs.last = run

    def current_state(self, meta: TableMetadata) -> list[tuple]:
        """The analysts' view as the last run left it (state + tail), over everything arrived."""
        with self._lock:
            self.sync()
            names = self.names(meta)
            local.register_history(self.db, meta, names, self.files.get(meta.table_id, []))
            run = (self.runs.get(meta.table_id) or TableRuns()).last or local.Run("wait")
            return local.current_state(self.db, meta, names, run)

    def describe(self, meta: TableMetadata) -> dict[str, Any]:
        """What the view reads for this table: the state's rows and the tail's rows, against the history's."""
        runs = self.runs.get(meta.table_id) or TableRuns()
        names, run = self.names(meta), runs.last
        history = self._count(f"select count(*) from {names.qualified(names.changes)}")
        out: dict[str, Any] = {"runs": dict(runs.modes), "errors": runs.errors[:5], "historyRows": history}
        if run is None:
            return {**out, "compacted": False}
        stamp = '"' + meta.dms.timestamp.replace('"', '""') + '"'
        tail = self._count(
            f"select count(*) from {names.qualified(names.changes)} where {csql.PARTITION} >= ? and {stamp} >= ?",
            [run.plan["tail_dt"], run.plan["tail_ts"]],
        )
        state = self._count(
            f"select count(*) from {names.qualified(names.state)} where {csql.OP} <> '{csql.WATERMARK}'"
        )
        return {**out, "compacted": True, "stateRows": state, "tailRows": tail, "tailStart": run.plan["tail_ts"]}

    def _count(self, sql: str, parameters: list[Any] | None = None) -> int:
        with self._lock:
            return int(self.db.execute(sql, parameters or []).fetchone()[0])

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.db.close()
