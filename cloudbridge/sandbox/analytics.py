"""The analytics side: DuckDB over the validated parquet, current state vs the source.

Current state of a table = for each primary key, its latest change by the DMS change
sequence ($AR_H_CHANGE_SEQ; full-load rows have none and come first), unless that change
is a delete. It must equal the source table row for row.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cloudbridge.sandbox.dms import select_list, to_arrow_value
from functions.common.metadata import TableMetadata


@dataclass
class Comparison:
    """A table's current state (from the view) compared with the source: keys missing, extra or different."""

    table: str
    source_rows: int
    current_rows: int
    missing: list[Any] = field(default_factory=list)  # in the source, not in current state
    extra: list[Any] = field(default_factory=list)  # in current state, not in the source
    different: list[Any] = field(default_factory=list)  # same key, other values

    @property
    def differing_keys(self) -> set:
        """Every key on which the two sides disagree."""
        return set(self.missing) | set(self.extra) | set(self.different)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as it appears in the sandbox report."""
        return {
            "sourceRows": self.source_rows,
            "currentRows": self.current_rows,
            "missing": [list(k) for k in sorted(self.missing)],
            "extra": [list(k) for k in sorted(self.extra)],
            "different": [list(k) for k in sorted(self.different)],
        }


def download(s3: Any, bucket: str, into: Path, seen: set[str] | None = None) -> dict[str, list[Path]]:
    """Every object of the raw-history bucket, grouped by ``schema.table``; with ``seen``, only the
    keys not in it, which it then holds too (raw history is only ever added to)."""
    files: dict[str, list[Path]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if seen is not None:
                if key in seen:
                    continue
                seen.add(key)
            schema, table = key.split("/")[:2]
            path = into / key
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(path))
            files.setdefault(f"{schema}.{table}", []).append(path)
    return files


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def current_state(
    meta: TableMetadata, files: list[Path], database: str, changes_table: str, *, generations: bool = True
) -> list[tuple]:
    """The deployed current-state view, run by DuckDB: the view's own Trino text (from
    components/views.py) translated by sqlglot, over the validated parquet standing in for
    the Glue table of changes (with the "$path" column Athena and Spectrum give each row)."""
    from components import views

    sql = views.duckdb_sql(meta, database, changes_table, generations=generations)
    with duckdb.connect() as connection:
        connection.execute(f"create schema {_quote(database)}")
        # A view cannot take parameters: the file list is written out as literals.
        paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
        connection.execute(
            f"create view {_quote(database)}.{_quote(changes_table)} as "
            f"select * exclude (filename), filename as {_quote(views.PATH_COLUMN)} "
            f"from read_parquet([{paths}], union_by_name = true, filename = true)"
        )
        return connection.execute(sql).fetchall()


def normal(meta: TableMetadata, row: tuple) -> tuple:
    """A row with each value as DMS writes it for its column (what the comparison compares)."""
    out = []
    for column, value in zip(meta.columns, row, strict=True):
        value = to_arrow_value(column.type, value)
        if column.type == "float32" and value is not None:
            value = struct.unpack("f", struct.pack("f", value))[0]
        out.append(value)
    return tuple(out)


def compare(meta: TableMetadata, source_rows: list[tuple], current_rows: list[tuple]) -> Comparison:
    """Compare source rows with current-state rows by primary key, values normalised to the table's types."""
    names = [c.name for c in meta.columns]
    key_at = [names.index(k) for k in meta.primary_key]
    source = {tuple(r[i] for i in key_at): r for r in (normal(meta, r) for r in source_rows)}
    current = {tuple(r[i] for i in key_at): r for r in (normal(meta, r) for r in current_rows)}
    result = Comparison(meta.table_id, len(source), len(current))
    result.missing = [k for k in source if k not in current]
    result.extra = [k for k in current if k not in source]
    result.different = [k for k in source if k in current and source[k] != current[k]]
    return result


def keys(meta: TableMetadata, rows: list[tuple]) -> set[tuple]:
    """The primary keys of rows in the table's column order (as the view returns them)."""
    names = [c.name for c in meta.columns]
    key_at = [names.index(k) for k in meta.primary_key]
    return {tuple(row[i] for i in key_at) for row in rows}


def source_rows(connection: Any, meta: TableMetadata) -> list[tuple]:
    """The source table read exactly as the DMS stand-in reads it."""
    return connection.execute(f"select {select_list(meta)} from {_quote(meta.schema)}.{_quote(meta.table)}").fetchall()


def older_than_first_load_row(meta: TableMetadata, files: list[Path], column: str, value: Any) -> int:
    """Changes to rows where ``column = value`` committed before the newest load's first row
    was written: what a generation starting at that row's stamp would drop."""
    from components import views

    paths = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    stamp, seq = _quote(meta.dms.timestamp), _quote(meta.dms.change_sequence or "")
    with duckdb.connect() as connection:
        rows = f"read_parquet([{paths}], union_by_name = true, filename = true)"
        generation_file = views.GENERATION_FILE.replace("%", "")
        first = connection.execute(
            f"select max(s) from (select min({stamp}) as s from {rows} "
            f"where filename like '%{generation_file}%' group by filename)"
        ).fetchone()[0]
        return connection.execute(
            f"select count(*) from {rows} where coalesce({seq}, '') <> '' and {_quote(column)} = ? and {stamp} < ?",
            [value, first],
        ).fetchone()[0]
