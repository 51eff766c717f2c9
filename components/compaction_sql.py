"""Compacted current state: the SQL of each table's Iceberg state table, its MERGE, and the
analysts' view over state + tail (docs/analytics.md, "Compaction").

Everything here is Trino text, as Athena runs it; the local runner (``cloudbridge/
compaction_local.py``) runs sqlglot's DuckDB translation of the same text. A run is four
statements, each a template whose ``{{name}}`` placeholders the orchestrator (the state
machine in AWS, Python locally) fills with literals from the previous statement's answer:

1. ``watermark``: the state table's watermark row, and from it the window to look at;
2. ``plan``: markers and loads in that window: merge, rebuild (a newer generation, a new
   schema, the first run) or wait (a full-load table with no marker yet), the generation,
   the MERGE's source window, and the new tail start;
3. ``merge``: the window's changes, one row per key (the latest by change sequence), merged
   into the state (deletes kept as tombstones: a change re-applied later never resurrects a
   deleted row), and the watermark row advanced, in one transaction;
4. ``view``: the analysts' view with the watermark as literals: the state plus the changes
   since the tail start. Literals, not a join on the watermark row: Athena prunes partitions
   and skips row groups only on predicates it knows when it plans the query.

The rule is the view's (components/views.py): the newest complete load generation, full-load
rows first, latest change per key by change sequence, deletes removed. Pure data: no Pulumi.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from components import views
from functions.common import generations as markers
from functions.common.layout import DAY, HOUR_NAME, Layout
from functions.common.metadata import TableMetadata, glue_type

STATE_SUFFIX = "_state"
OP, TS, SEQ = "_cb_op", "_cb_ts", "_cb_seq"
GEN_START, GEN_END, TAIL, CUT, FINGERPRINT = "_cb_gen_start", "_cb_gen_end", "_cb_tail", "_cb_cut", "_cb_fingerprint"
WATERMARK = "W"  # the watermark row's _cb_op; data rows hold I, U or D
PARTITION = "dt"  # the change tables' partition column (yyyy/MM/dd or yyyy/MM/dd/HH)
NO_END = views.NO_END
MARKER = views.MARKER_FILE
# Iceberg has no tinyint or smallint (Athena's Iceberg types): the state keeps them as int and
# the view casts them back; its timestamps are microseconds, the change table's milliseconds.
ICEBERG_TYPES = {"tinyint": "int", "smallint": "int"}
VIEW_CASTS = ("tinyint", "smallint", "timestamp")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Settings:
    """How a table is compacted (docs/analytics.md, "Compaction"; the config's ``compaction``)."""

    # The tail starts this long before the last run: a file validated within this long of its
    # changes' commit (or load) time is in the tail even if the run missed it.
    overlap_seconds: int = 3600
    # A sweep run re-merges the raw-history days this far back: files validated later.
    late_days: int = 3
    # A load (first LOAD file) started less than this long ago and not yet marked holds the
    # tail back to its start, so its marker can switch the view without a run.
    reload_hours: int = 24
    # The source is CDC only (cdcStart): no load, no marker; every change counts.
    cdc_only: bool = False
    # The source's raw-history partitions (rawHistoryPartition), by day or by hour.
    layout: Layout = DAY
    # Longest time one file's changes can span (the source's CDC batch interval): a change can
    # sit in the partition of a commit up to this much older than its own.
    file_span_seconds: int = 60

    @property
    def slack_hours(self) -> int:
        """Hourly layout: how many partitions before a moment's own the windows start (at least one)."""
        return max(1, -(-self.file_span_seconds // 3600))


@dataclass(frozen=True)
class Names:
    """Where one table's history, state and view are."""

    database: str
    changes: str  # the change table, <schema>__<table>

    @property
    def state(self) -> str:
        """The Iceberg state table."""
        return f"{self.changes}{STATE_SUFFIX}"

    @property
    def view(self) -> str:
        """The analysts' current-state view."""
        return views.view_name(self.changes)

    def qualified(self, table: str) -> str:
        """``"database"."table"`` for DML."""
        return f"{_q(self.database)}.{_q(table)}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def render(template: str, values: dict[str, str]) -> str:
    """The template with each ``{{name}}`` replaced by its value as SQL string content (quotes
    doubled); every placeholder must be given."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]).replace("'", "''"), template)


def placeholders(template: str) -> list[str]:
    """The names a template needs, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def fingerprint(meta: TableMetadata) -> str:
    """What the state table's layout follows from: a new one means a rebuild."""
    parts = [meta.table_id, ",".join(meta.primary_key), meta.dms.op, meta.dms.timestamp, meta.dms.change_sequence or ""]
    parts += [f"{c.name}:{c.type}" for c in meta.columns]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def state_columns(meta: TableMetadata) -> list[tuple[str, str]]:
    """The state table's columns (name, Hive/Iceberg type): the data, then the latest change's
    DMS columns, then the watermark row's."""
    data = [(c.name, ICEBERG_TYPES.get(glue_type(c.type), glue_type(c.type))) for c in meta.columns]
    bookkeeping = [OP, TS, SEQ, GEN_START, GEN_END, TAIL, CUT, FINGERPRINT]
    return data + [(name, "string") for name in bookkeeping]


# --- time arithmetic on DMS timestamp text ('yyyy-MM-dd HH:mm:ss.SSSSSS', UTC) ------------


def _minus_seconds(text: str, seconds: int) -> str:
    """``text`` minus ``seconds``, floored to the second (a lower bound only widens a window)."""
    return (
        f"date_format(date_add('second', -{seconds}, CAST(substr({text}, 1, 19) AS timestamp)), "
        "'%Y-%m-%d %H:%i:%s') || '.000000'"
    )


def _partition_before(text: str, settings: Settings, days: int = 0) -> str:
    """The partition a window from ``text`` starts at: ``days`` days before (a sweep), else one
    partition of slack. By day, the day before: a marker's END row (the load's end plus up to
    two seconds) can sit in the partition of the day before, and a CDC file's changes in the
    partition of its first commit. By hour, as many hours before as a file can span (at least
    one). Partition values sort as text, so ``dt >= <this>`` is the window."""
    if settings.layout.name != HOUR_NAME:
        return f"date_format(date_add('day', -{days or 1}, CAST(substr({text}, 1, 10) AS date)), '%Y/%m/%d')"
    unit, amount = ("day", days) if days else ("hour", settings.slack_hours)
    hour = f"CAST(substr({text}, 1, 13) || ':00:00' AS timestamp)"
    return f"date_format(date_add('{unit}', -{amount}, {hour}), '{settings.layout.trino_format}')"


# --- 1. the watermark -----------------------------------------------------------------------


def watermark_sql(meta: TableMetadata, names: Names, settings: Settings) -> str:
    """One row: whether the state holds a usable watermark (its row exists, same layout), its
    generation and tail, and the window the plan reads: since the tail (run), the last
    ``late_days`` days of partitions (sweep), or everything (rebuild, first run, new layout).
    Placeholders: cut, mode (run | sweep | rebuild)."""
    ok = f"(w.{FINGERPRINT} = '{fingerprint(meta)}')"
    run, sweep = f"{ok} AND '{{{{mode}}}}' = 'run'", f"{ok} AND '{{{{mode}}}}' = 'sweep'"
    return (
        f"SELECT CASE WHEN {ok} THEN 'true' ELSE 'false' END AS w_ok, "
        f"COALESCE(w.{GEN_START}, '') AS w_start, COALESCE(w.{GEN_END}, '') AS w_end, "
        f"CASE WHEN {run} THEN {_partition_before('w.' + TAIL, settings)} "
        f"WHEN {sweep} THEN {_partition_before(chr(39) + '{{cut}}' + chr(39), settings, settings.late_days)} "
        "ELSE '' END AS window_dt, "
        f"CASE WHEN {run} THEN w.{TAIL} ELSE '' END AS window_ts "
        "FROM (SELECT 1 AS _cb_one) AS _cb_one LEFT JOIN ("
        f"SELECT {GEN_START}, {GEN_END}, {TAIL}, {FINGERPRINT} FROM {names.qualified(names.state)} "
        f"WHERE {OP} = '{WATERMARK}') AS w ON TRUE"
    )


# --- 2. the plan ----------------------------------------------------------------------------


def _window(meta: TableMetadata, names: Names) -> str:
    stamp, seq = _q(meta.dms.timestamp), _q(meta.dms.change_sequence or "")
    return (
        f"_cb_window AS (SELECT {_q(views.PATH_COLUMN)} AS _cb_path, {stamp} AS _cb_ts, COALESCE({seq}, '') AS _cb_seq "
        f"FROM {names.qualified(names.changes)} "
        f"WHERE {_q(PARTITION)} >= '{{{{window_dt}}}}' AND {stamp} >= '{{{{window_ts}}}}'), "
        f"_cb_marks AS ({_marks('_cb_window', '_cb_path', '_cb_seq', '_cb_ts')}), "
        "_cb_newest AS (SELECT max(_cb_s) AS _cb_s FROM _cb_marks)"
    )


def _marks(source: str, path: str, seq: str, stamp: str) -> str:
    """Each marker whose END row is in ``source``: its START from its name (the marker writer
    names it after the load's start: ``generations.marker_key``; floored to the second, as its
    START row), its END from that row. A long load's START row can be older than a window
    its END row is in."""
    digits = f"regexp_extract({path}, '{markers.MARKER_PREFIX}(\\d{{8}}-\\d{{6}})', 1)"
    parts = ", ".join(
        f"substr({digits}, {a}, {n})" + (f", '{sep}'" if sep else "")
        for a, n, sep in ((1, 4, "-"), (5, 2, "-"), (7, 2, " "), (10, 2, ":"), (12, 2, ":"), (14, 2, ".000000"))
    )
    return (
        f"SELECT {path} AS _cb_path, concat({parts}) AS _cb_s, max({stamp}) AS _cb_e FROM {source} "
        f"WHERE {path} LIKE '{MARKER}' AND {seq} = '{markers.END}' GROUP BY {path}"
    )


def _generation(settings: Settings) -> str:
    """The generation to compact: a marker in the window newer than the watermark's (or any,
    without a usable watermark), else the watermark's; '' for a CDC-only table; NULL: wait."""
    newer = "n._cb_s IS NOT NULL AND ('{{w_ok}}' <> 'true' OR n._cb_s > '{{w_start}}')"
    cdc = "TRUE" if settings.cdc_only else "FALSE"
    end_of_newest = "(SELECT max(_cb_e) FROM _cb_marks WHERE _cb_s = n._cb_s)"
    return (
        f"_cb_generation AS (SELECT CASE WHEN {newer} THEN n._cb_s WHEN '{{{{w_ok}}}}' = 'true' THEN '{{{{w_start}}}}' "
        f"WHEN {cdc} THEN '' END AS _cb_start, "
        f"CASE WHEN {newer} THEN {end_of_newest} WHEN '{{{{w_ok}}}}' = 'true' THEN '{{{{w_end}}}}' "
        f"WHEN {cdc} THEN '{NO_END}' END AS _cb_end FROM _cb_newest AS n)"
    )


def plan_sql(meta: TableMetadata, names: Names, settings: Settings) -> str:
    """One row: mode (merge | rebuild | wait), the generation, the MERGE's source window and the
    new tail start: the cut minus the overlap, held back to a load started in the last
    ``reload_hours`` and not yet marked (its marker must find the whole load in the tail).
    Placeholders: cut, mode, w_ok, w_start, w_end, window_dt, window_ts."""
    cut = "'{{cut}}'"
    recent = _minus_seconds(cut, settings.reload_hours * 3600)
    pending = (
        "_cb_pending AS (SELECT min(w._cb_ts) AS _cb_first FROM _cb_window AS w CROSS JOIN _cb_generation AS g "
        f"WHERE w._cb_seq = '' AND w._cb_path NOT LIKE '{MARKER}' AND w._cb_ts >= g._cb_end AND w._cb_ts >= {recent})"
    )
    rebuild = "'{{w_ok}}' <> 'true' OR '{{mode}}' = 'rebuild' OR g._cb_start <> '{{w_start}}'"
    tail = (
        f"least({_minus_seconds(cut, settings.overlap_seconds)}, "
        f"COALESCE({_minus_seconds('p._cb_first', settings.overlap_seconds)}, "
        f"{_minus_seconds(cut, settings.overlap_seconds)}))"
    )
    generation_start = "CASE WHEN g._cb_start = '' THEN '' ELSE " + _partition_before("g._cb_start", settings) + " END"
    return (
        f"WITH {_window(meta, names)}, {_generation(settings)}, {pending} "
        f"SELECT CASE WHEN g._cb_start IS NULL THEN 'wait' WHEN {rebuild} THEN 'rebuild' ELSE 'merge' END AS mode, "
        "COALESCE(g._cb_start, '') AS gen_start, COALESCE(g._cb_end, '') AS gen_end, "
        f"CASE WHEN {rebuild} THEN {generation_start} ELSE '{{{{window_dt}}}}' END AS from_dt, "
        f"CASE WHEN {rebuild} THEN g._cb_start ELSE '{{{{window_ts}}}}' END AS from_ts, "
        f"{tail} AS tail_ts, {_partition_before(tail, settings)} AS tail_dt "
        "FROM _cb_generation AS g CROSS JOIN _cb_pending AS p"
    )


# --- 3. the MERGE ---------------------------------------------------------------------------


def _latest(meta: TableMetadata, names: Names, where: str) -> str:
    """One row per key: its latest change (full-load rows first), with its DMS columns."""
    columns = ", ".join(_q(c.name) for c in meta.columns)
    keys = ", ".join(_q(k) for k in meta.primary_key)
    stamp, seq = _q(meta.dms.timestamp), _q(meta.dms.change_sequence or "")
    return (
        f"SELECT {columns}, {OP}, {TS}, {SEQ} FROM (SELECT {columns}, {_q(meta.dms.op)} AS {OP}, {stamp} AS {TS}, "
        f"COALESCE({seq}, '') AS {SEQ}, row_number() OVER (PARTITION BY {keys} "
        f"ORDER BY COALESCE({seq}, '') DESC, {stamp} DESC) AS _cb_rank "
        f"FROM {names.qualified(names.changes)} WHERE {where}) AS _cb_latest WHERE _cb_rank = 1"
    )


def merge_source_sql(meta: TableMetadata, names: Names) -> str:
    """The MERGE's source: the window's latest change per key under the generation's rule, and
    the new watermark row. One row per target row: Athena refuses a MERGE in which a target
    row matches more than one source row. Placeholders: from_dt, from_ts, gen_start, gen_end,
    tail_ts, cut."""
    stamp, seq = _q(meta.dms.timestamp), _q(meta.dms.change_sequence or "")
    where = (
        f"{_q(PARTITION)} >= '{{{{from_dt}}}}' AND {stamp} >= '{{{{from_ts}}}}' "
        f"AND {_q(views.PATH_COLUMN)} NOT LIKE '{MARKER}' AND {stamp} >= '{{{{gen_start}}}}' "
        f"AND (COALESCE({seq}, '') <> '' OR {stamp} < '{{{{gen_end}}}}')"
    )
    nulls = ", ".join(f"CAST(NULL AS {_trino(t)}) AS {_q(n)}" for n, t in state_columns(meta)[: len(meta.columns)])
    watermark = (
        f"SELECT {nulls}, '{WATERMARK}' AS {OP}, '{{{{tail_ts}}}}' AS {TS}, '' AS {SEQ}, "
        f"'{{{{gen_start}}}}' AS {GEN_START}, '{{{{gen_end}}}}' AS {GEN_END}, '{{{{tail_ts}}}}' AS {TAIL}, "
        f"'{{{{cut}}}}' AS {CUT}, '{fingerprint(meta)}' AS {FINGERPRINT}"
    )
    marks = ", ".join(f"CAST(NULL AS varchar) AS {n}" for n in (GEN_START, GEN_END, TAIL, CUT, FINGERPRINT))
    return f"SELECT *, {marks} FROM ({_latest(meta, names, where)}) AS _cb_changes UNION ALL {watermark}"


def merge_sql(meta: TableMetadata, names: Names) -> str:
    """The MERGE: a newer change (by sequence, then timestamp) replaces a key's row, a new key
    is inserted (tombstones too), the watermark row is replaced. Placeholders as
    ``merge_source_sql``."""
    values = [_q(c.name) for c in meta.columns if c.name not in meta.primary_key]
    every = [_q(n) for n, _ in state_columns(meta)]
    keys = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in meta.primary_key)
    newer = f"(s.{SEQ} > t.{SEQ} OR (s.{SEQ} = t.{SEQ} AND s.{TS} > t.{TS}))"
    marks = [TS, GEN_START, GEN_END, TAIL, CUT, FINGERPRINT]
    return (
        f"MERGE INTO {names.qualified(names.state)} AS t USING ({merge_source_sql(meta, names)}) AS s "
        f"ON (s.{OP} = '{WATERMARK}' AND t.{OP} = '{WATERMARK}') OR ({keys}) "
        f"WHEN MATCHED AND s.{OP} = '{WATERMARK}' THEN UPDATE SET {', '.join(f'{m} = s.{m}' for m in marks)} "
        f"WHEN MATCHED AND {newer} THEN UPDATE SET "
        + ", ".join(f"{c} = s.{c}" for c in [*values, OP, TS, SEQ])
        + f" WHEN NOT MATCHED THEN INSERT ({', '.join(every)}) VALUES ({', '.join('s.' + c for c in every)})"
    )


_TRINO = {"string": "varchar", "int": "integer", "float": "real", "binary": "varbinary", "timestamp": "timestamp(6)"}


def _trino(hive: str) -> str:
    return hive if hive.startswith("decimal(") else _TRINO.get(hive, hive)


# --- 4. the view ----------------------------------------------------------------------------


def view_sql(meta: TableMetadata, names: Names) -> str:
    """The analysts' view: the state (tombstones and watermark row left out) plus the tail, the
    changes stamped since the tail start, resolved by the view's rule. A marker in the tail
    newer than the state's generation, whose load started since the tail start, switches to
    it, computed from the tail alone (the run holds the tail back to a load in progress, see
    ``plan_sql``); an older start waits for the next run. Placeholders: tail_dt, tail_ts,
    gen_start, gen_end."""
    names_only = [c.name for c in meta.columns]
    columns = ", ".join(_q(n) for n in names_only)
    keys = ", ".join(_q(k) for k in meta.primary_key)
    stamp, seq = _q(meta.dms.timestamp), _q(meta.dms.change_sequence or "")
    cast = {c.name: views.presto_type(c.type) for c in meta.columns if glue_type(c.type) in VIEW_CASTS}
    state_columns_cast = ", ".join(
        f"CAST(s.{_q(n)} AS {cast[n]}) AS {_q(n)}" if n in cast else f"s.{_q(n)}" for n in names_only
    )
    tail = (
        f"_cb_tail AS (SELECT {columns}, {_q(meta.dms.op)} AS {OP}, {stamp} AS {TS}, COALESCE({seq}, '') AS {SEQ}, "
        f"{_q(views.PATH_COLUMN)} AS _cb_path FROM {names.qualified(names.changes)} "
        f"WHERE {_q(PARTITION)} >= '{{{{tail_dt}}}}' AND {stamp} >= '{{{{tail_ts}}}}')"
    )
    marks = (
        f"_cb_marks AS ({_marks('_cb_tail', '_cb_path', SEQ, TS)}), "
        "_cb_newer AS (SELECT _cb_s, max(_cb_e) AS _cb_e FROM _cb_marks WHERE _cb_s = (SELECT max(_cb_s) "
        "FROM _cb_marks WHERE _cb_s > '{{gen_start}}' AND _cb_s >= '{{tail_ts}}') GROUP BY _cb_s), "
        "_cb_generation AS (SELECT COALESCE(max(_cb_s), '{{gen_start}}') AS _cb_start, "
        "COALESCE(max(_cb_e), '{{gen_end}}') AS _cb_end, count(*) = 0 AS _cb_kept FROM _cb_newer)"
    )
    rows = (
        f"_cb_rows AS (SELECT {state_columns_cast}, s.{OP}, s.{TS}, s.{SEQ} FROM {names.qualified(names.state)} AS s "
        f"CROSS JOIN _cb_generation AS g WHERE s.{OP} <> '{WATERMARK}' AND g._cb_kept "
        f"UNION ALL SELECT {columns}, {OP}, {TS}, {SEQ} FROM _cb_tail CROSS JOIN _cb_generation AS g "
        f"WHERE _cb_path NOT LIKE '{MARKER}' AND {TS} >= g._cb_start AND ({SEQ} <> '' OR {TS} < g._cb_end))"
    )
    return (
        f"WITH {tail}, {marks}, {rows} SELECT {columns} FROM (SELECT {columns}, {OP}, "
        f"row_number() OVER (PARTITION BY {keys} ORDER BY {SEQ} DESC, {TS} DESC) AS _cb_rank FROM _cb_rows) "
        f"AS _cb_latest WHERE _cb_rank = 1 AND {OP} <> 'D'"
    )


# --- DDL and maintenance (Athena) -----------------------------------------------------------


def _ddl_name(names: Names, table: str) -> str:
    return f"`{names.database}`.`{table}`"


def create_sql(meta: TableMetadata, names: Names, location: str, *, snapshot_age_seconds: int) -> str:
    """CREATE TABLE IF NOT EXISTS for the Iceberg state table (Athena DDL: backquoted names)."""
    columns = ", ".join(f"`{n}` {t}" for n, t in state_columns(meta))
    return (
        f"CREATE TABLE IF NOT EXISTS {_ddl_name(names, names.state)} ({columns}) LOCATION '{location}' "
        f"TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', "
        f"'vacuum_max_snapshot_age_seconds'='{snapshot_age_seconds}')"
    )


def drop_sql(names: Names) -> str:
    """DROP TABLE IF EXISTS for the state table (Athena deletes an Iceberg table's data with it)."""
    return f"DROP TABLE IF EXISTS {_ddl_name(names, names.state)}"


def optimize_sql(names: Names) -> str:
    """Rewrite small files and fold delete files into data files (Athena OPTIMIZE, bin packing)."""
    return f"OPTIMIZE {names.database}.{names.state} REWRITE DATA USING BIN_PACK"


def vacuum_sql(names: Names) -> str:
    """Expire old snapshots and remove orphan files (Athena VACUUM)."""
    return f"VACUUM {names.database}.{names.state}"
