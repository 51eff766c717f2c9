"""Compaction on DuckDB: the deployed run (components/compaction_sql.py) translated to DuckDB
by sqlglot, on DuckDB tables, for the sandbox, the tests and the benchmarks.

The change table is a DuckDB view over raw-history parquet with the ``"$path"`` Athena gives
each row and the ``dt`` partition its key holds (``register_history``); the state table is a
DuckDB table in the same connection (an Iceberg table in AWS). ``compact`` runs one
compaction as the state machine does, statement by statement, each one's answer filling the
next one's literals, and returns the view's SQL with the new watermark. What only Athena
does (OPTIMIZE, VACUUM, the refusal of a MERGE whose target row matches two source rows) is
not imitated: the MERGE's source is checked for one row per target row before it runs, the
precondition Athena enforces.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import compaction_sql as csql
from components import views
from functions.common.layout import ANY_FOLDERS
from functions.common.metadata import TableMetadata

DUCKDB_TYPES = {
    "int": "INTEGER", "bigint": "BIGINT", "string": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN",
    "double": "DOUBLE", "float": "FLOAT", "date": "DATE", "binary": "BLOB",
}  # fmt: skip
# The yyyy/MM/dd (by day) or yyyy/MM/dd/HH (by hour) folders of a raw-history key: the change
# table's partition.
PARTITION_OF_PATH = f"/({ANY_FOLDERS})/[^/]+$"


class MultipleMatchError(RuntimeError):
    """The MERGE's source holds two rows for one target row (Athena refuses such a MERGE)."""


@dataclass(frozen=True)
class Run:
    """One compaction run: what the plan decided and the view's SQL after it."""

    mode: str  # merge | rebuild | wait
    plan: dict[str, str] = field(default_factory=dict)
    watermark: dict[str, str] = field(default_factory=dict)  # what the run read before planning

    @property
    def compacted(self) -> bool:
        """Whether the state table now holds the table (merge or rebuild)."""
        return self.mode in ("merge", "rebuild")

    def view_values(self) -> dict[str, str]:
        """The view's literals: the tail start and the generation."""
        return {k: self.plan[k] for k in ("tail_dt", "tail_ts", "gen_start", "gen_end")}


def duck(sql: str) -> str:
    """Trino text as DuckDB runs it (sqlglot)."""
    import sqlglot

    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def register_history(db: Any, meta: TableMetadata, names: csql.Names, files: Iterable[Path | str]) -> None:
    """(Re)define the change table over these raw-history files, with ``"$path"`` and ``dt``."""
    files = [str(f) for f in files]
    db.execute(f"create schema if not exists {_quote(names.database)}")
    target = names.qualified(names.changes)
    if not files:  # no file yet: the table's columns, no row
        columns = ", ".join(f"cast(null as {_duck_type(t)}) as {_quote(n)}" for n, t in _change_columns(meta))
        db.execute(
            f"create or replace view {target} as select {columns}, cast(null as varchar) as "
            f"{_quote(views.PATH_COLUMN)}, cast(null as varchar) as {csql.PARTITION} where false"
        )
        return
    listed = ", ".join(_literal(f) for f in files)
    rows = f"read_parquet([{listed}], union_by_name = true, filename = true)"
    # The Glue table's columns, not the files': a column no file has yet (declared before the
    # files that carry it are replayed) reads as NULL, as Athena reads it.
    present = {r[0] for r in db.execute(f"describe select * from {rows}").fetchall()}
    absent = "".join(
        f", cast(null as {_duck_type(t)}) as {_quote(n)}" for n, t in _change_columns(meta) if n not in present
    )
    db.execute(
        f"create or replace view {target} as select * exclude (filename){absent}, "
        f"filename as {_quote(views.PATH_COLUMN)}, "
        f"regexp_extract(filename, '{PARTITION_OF_PATH}', 1) as {csql.PARTITION} from {rows}"
    )


def register_table(db: Any, names: csql.Names, table: Any) -> None:
    """Define the change table over an arrow table holding ``"$path"`` (tests): ``dt`` from the path."""
    db.execute(f"create schema if not exists {_quote(names.database)}")
    holder = f"_cb_rows_{names.changes}"
    db.register(holder, table)
    db.execute(
        f"create or replace view {names.qualified(names.changes)} as select *, "
        f"regexp_extract({_quote(views.PATH_COLUMN)}, '{PARTITION_OF_PATH}', 1) as {csql.PARTITION} from {holder}"
    )


def _change_columns(meta: TableMetadata) -> list[tuple[str, str]]:
    from components import catalog_tables

    return [(c["name"], c["type"]) for c in catalog_tables.columns(meta)]


def _duck_type(hive: str) -> str:
    return hive.upper() if hive.startswith("decimal(") else DUCKDB_TYPES.get(hive, hive.upper())


def create_state(db: Any, meta: TableMetadata, names: csql.Names) -> None:
    """The state table as a DuckDB table (the Iceberg table's columns)."""
    columns = ", ".join(f"{_quote(n)} {_duck_type(t)}" for n, t in csql.state_columns(meta))
    db.execute(f"create table if not exists {names.qualified(names.state)} ({columns})")


def _one_row(db: Any, sql: str) -> dict[str, str]:
    cursor = db.execute(duck(sql))
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return {n: ("" if v is None else str(v)) for n, v in zip(names, row, strict=True)}


def compact(
    db: Any,
    meta: TableMetadata,
    names: csql.Names,
    *,
    cut: str,
    settings: csql.Settings | None = None,
    mode: str = "run",
) -> Run:
    """One compaction run at ``cut`` (DMS timestamp text, UTC), as the state machine runs it:
    watermark, plan, then the MERGE (into a new state table on a rebuild)."""
    settings = settings or csql.Settings()
    create_state(db, meta, names)
    watermark = _one_row(db, csql.render(csql.watermark_sql(meta, names, settings), {"cut": cut, "mode": mode}))
    values = {"cut": cut, "mode": mode, **watermark}
    plan = _one_row(db, csql.render(csql.plan_sql(meta, names, settings), values))
    if plan["mode"] == "wait":
        return Run("wait", plan, watermark)
    if plan["mode"] == "rebuild":
        db.execute(f"drop table if exists {names.qualified(names.state)}")
        create_state(db, meta, names)
    merge_values = {**{k: plan[k] for k in ("from_dt", "from_ts", "gen_start", "gen_end", "tail_ts")}, "cut": cut}
    check_one_source_row_per_target(db, meta, names, merge_values)
    db.execute(duck(csql.render(csql.merge_sql(meta, names), merge_values)))
    return Run(plan["mode"], plan, watermark)


def check_one_source_row_per_target(db: Any, meta: TableMetadata, names: csql.Names, values: dict[str, str]) -> None:
    """Refuse a source with two rows for one key (or two watermark rows), as Athena's MERGE would."""
    keys = ", ".join(_quote(k) for k in meta.primary_key)
    source = duck(csql.render(csql.merge_source_sql(meta, names), values))
    duplicates = db.execute(
        f"select count(*) from (select 1 from ({source}) as s group by {keys}, {csql.OP} = '{csql.WATERMARK}' "
        "having count(*) > 1) as d"
    ).fetchone()[0]
    if duplicates:
        raise MultipleMatchError(f"{meta.table_id}: {duplicates} target rows would match more than one source row")


def view_sql(meta: TableMetadata, names: csql.Names, run: Run) -> str:
    """The analysts' view after ``run`` (DuckDB); before any compaction, the full-history view."""
    if not run.compacted:
        return views.duckdb_sql(meta, names.database, names.changes)
    return duck(csql.render(csql.view_sql(meta, names), run.view_values()))


def current_state(db: Any, meta: TableMetadata, names: csql.Names, run: Run) -> list[tuple]:
    """The table as the analysts' view shows it after ``run``."""
    return db.execute(view_sql(meta, names, run)).fetchall()


def state_rows(db: Any, meta: TableMetadata, names: csql.Names) -> list[tuple]:
    """The state's live rows (no tombstone, no watermark row), in the table's column order."""
    columns = ", ".join(_quote(c.name) for c in meta.columns)
    return db.execute(
        f"select {columns} from {names.qualified(names.state)} where {csql.OP} not in ('D', '{csql.WATERMARK}')"
    ).fetchall()


# --- the state as an Iceberg table (PyIceberg, offline) --------------------------------------


def iceberg_schema(meta: TableMetadata) -> Any:
    """The state table's Iceberg schema (what Athena's CREATE TABLE declares), every field optional."""
    from pyiceberg import types as t
    from pyiceberg.schema import Schema

    simple = {
        "int": t.IntegerType, "bigint": t.LongType, "string": t.StringType, "timestamp": t.TimestampType,
        "boolean": t.BooleanType, "double": t.DoubleType, "float": t.FloatType, "date": t.DateType,
        "binary": t.BinaryType,
    }  # fmt: skip
    fields = []
    for number, (name, hive) in enumerate(csql.state_columns(meta), start=1):
        if hive.startswith("decimal("):
            precision, scale = (int(x) for x in hive[len("decimal(") : -1].split(","))
            kind = t.DecimalType(precision, scale)
        else:
            kind = simple[hive]()
        fields.append(t.NestedField(number, name, kind, required=False))
    return Schema(*fields)


class IcebergState:
    """The state kept in an Iceberg table too: after each run, its rows are upserted by primary
    key (tombstones included) and its watermark row replaced, as the MERGE leaves them."""

    def __init__(self, catalog: Any, identifier: str, meta: TableMetadata, location: str):
        self.meta = meta
        schema = iceberg_schema(meta)
        self.table = catalog.create_table_if_not_exists(identifier, schema=schema, location=location)

    def apply(self, db: Any, names: csql.Names) -> Any:
        """Mirror the DuckDB state table; returns PyIceberg's upsert result."""
        from pyiceberg.expressions import EqualTo

        state = names.qualified(names.state)
        schema = self.table.schema().as_arrow()
        rows = db.sql(f"select * from {state} where {csql.OP} <> '{csql.WATERMARK}'").to_arrow_table()
        result = self.table.upsert(rows.cast(schema), join_cols=list(self.meta.primary_key))
        watermark = db.sql(f"select * from {state} where {csql.OP} = '{csql.WATERMARK}'").to_arrow_table()
        with warnings.catch_warnings():  # the first run finds no watermark row to replace
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            self.table.overwrite(watermark.cast(schema), overwrite_filter=EqualTo(csql.OP, csql.WATERMARK))
        return result

    def rows(self) -> Any:
        """The Iceberg table's rows (arrow)."""
        return self.table.scan().to_arrow()

    def data_bytes(self) -> int:
        """Bytes of the current snapshot's data files: what a reader of the state reads at most."""
        return sum(f["file_size_in_bytes"] for f in self.table.inspect.files().to_pylist())
