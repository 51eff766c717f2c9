"""``python -m cloudbridge reconcile``: a source's tables against their current state.

For each table (or ``--table``), the source's rows (read as the DMS stand-in reads them)
and the current-state view's rows are compared by primary key: keys missing from the
view, extra keys in it (a key updated away at the source stays in the view when DMS wrote
only the new key — docs/analytics.md), and keys whose values differ. Keys are grouped
into ranges of ``--range-size`` consecutive keys with a checksum per range on each side,
so a large table reports which ranges disagree before listing keys (at most
``--show`` per kind). The current state comes from Athena (the deployed view, in the
stack's workgroup) or, with ``--raw-history DIR``, from DuckDB over a local copy of the
raw-history parquet (the sandbox's way: the view's own SQL, translated).

Exit 0 when every table equals its source, 1 when any differs, 2 for usage or environment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudbridge import cli
from functions.common.metadata import TableMetadata

ATHENA_POLL_SECONDS = 1.0
ATHENA_TIMEOUT_SECONDS = 600


@dataclass
class Reconciliation:
    """One table: row counts, ranges whose checksums differ, and the keys that differ."""

    table: str
    source_rows: int = 0
    current_rows: int = 0
    ranges: int = 0
    differing_ranges: list[tuple[Any, Any]] = field(default_factory=list)
    missing: list[tuple] = field(default_factory=list)
    extra: list[tuple] = field(default_factory=list)
    different: list[tuple] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the current state equals the source."""
        return not (self.missing or self.extra or self.different)

    def lines(self, show: int) -> list[str]:
        """The report lines of this table."""
        head = f"{self.table}: {self.source_rows} source rows, {self.current_rows} current rows"
        if self.ok:
            return [f"{head}; equal ({self.ranges} key ranges)"]
        out = [f"{head}; {len(self.differing_ranges)} of {self.ranges} key ranges differ"]
        for kind, keys, why in (
            ("missing", self.missing, "in the source, not in the current state"),
            ("extra", self.extra, "in the current state, not in the source (deleted, or its key updated away)"),
            ("different", self.different, "same key, other values"),
        ):
            if keys:
                shown = ", ".join(str(k if len(k) > 1 else k[0]) for k in sorted(keys)[:show])
                more = f" … (+{len(keys) - show})" if len(keys) > show else ""
                out.append(f"  {kind} {len(keys)} ({why}): {shown}{more}")
        return out


def _checksum(rows: Iterable[tuple]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
    return digest.hexdigest()


def reconcile(meta: TableMetadata, source: list[tuple], current: list[tuple], range_size: int) -> Reconciliation:
    """Compare by primary key, in ranges of ``range_size`` consecutive source keys."""
    from cloudbridge.sandbox.analytics import normal

    names = [c.name for c in meta.columns]
    at = [names.index(k) for k in meta.primary_key]
    left = {tuple(r[i] for i in at): r for r in (normal(meta, r) for r in source)}
    right = {tuple(r[i] for i in at): r for r in (normal(meta, r) for r in current)}
    result = Reconciliation(meta.table_id, len(left), len(right))
    keys = sorted(left.keys() | right.keys(), key=repr)
    for start in range(0, len(keys), max(1, range_size)):
        chunk = keys[start : start + range_size]
        result.ranges += 1
        if _checksum(left.get(k) for k in chunk) == _checksum(right.get(k) for k in chunk):
            continue
        result.differing_ranges.append((chunk[0], chunk[-1]))
        result.missing += [k for k in chunk if k not in right]
        result.extra += [k for k in chunk if k not in left]
        result.different += [k for k in chunk if k in left and k in right and left[k] != right[k]]
    return result


# --- the current state: DuckDB over local raw history, or Athena ---------------------------


def duckdb_current(meta: TableMetadata, raw_history: Path, database: str, changes_table: str) -> list[tuple]:
    """The view's SQL (DuckDB translation) over ``raw_history/<schema>/<table>/**.parquet``."""
    from cloudbridge.sandbox import analytics

    files = sorted((raw_history / meta.schema / meta.table).rglob("*.parquet"))
    return analytics.current_state(meta, files, database, changes_table) if files else []


def athena_current(
    athena: Any,
    workgroup: str,
    database: str,
    view: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[tuple]:
    """Every row of the deployed view, through Athena in the stack's workgroup (as text)."""
    started = athena.start_query_execution(
        QueryString=f'SELECT * FROM "{database}"."{view}"',
        QueryExecutionContext={"Database": database, "Catalog": "AwsDataCatalog"},
        WorkGroup=workgroup,
    )
    query = started["QueryExecutionId"]
    deadline = clock() + ATHENA_TIMEOUT_SECONDS
    while True:
        status = athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED") or clock() >= deadline:
            reason = status.get("StateChangeReason", "timed out" if status["State"] not in ("FAILED",) else "")
            raise cli.CommandError(f"Athena query on {database}.{view} {status['State']}: {reason}", code=cli.USAGE)
        sleep(ATHENA_POLL_SECONDS)
    rows: list[tuple] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query):
        for row in page["ResultSet"]["Rows"]:
            rows.append(tuple(d.get("VarCharValue") for d in row["Data"]))
    return rows[1:]  # the first row holds the column names


def from_text(meta: TableMetadata, rows: list[tuple]) -> list[tuple]:
    """Athena's text values as the table's Python values (for comparison with the source)."""
    import pyarrow as pa

    from functions.common.metadata import arrow_type

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in meta.columns]
    typed = []
    for column, values in zip(meta.columns, columns, strict=True):
        target = arrow_type(column.type)
        if pa.types.is_boolean(target):
            typed.append([None if v is None else v.lower() == "true" for v in values])
            continue
        typed.append(pa.array(list(values), pa.string()).cast(target).to_pylist())
    return list(zip(*typed, strict=True)) if rows else []


def source_rows(url: str, meta: TableMetadata, timeout: int) -> list[tuple]:
    """The source table, read as the DMS stand-in reads it (strings as the database prints them)."""
    from sqlalchemy import text

    from cloudbridge.metadata import source_engine
    from cloudbridge.sandbox.dms import select_list

    engine = source_engine(url, timeout)
    try:
        with engine.connect() as connection:
            quoted = f'"{meta.schema}"."{meta.table}"'
            return [tuple(r) for r in connection.execute(text(f"select {select_list(meta)} from {quoted}"))]
    finally:
        engine.dispose()


@cli.command("reconcile")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge reconcile``: exit 1 when a table's current state differs from its source."""
    from cloudbridge import metadata, stackfile

    parser = cli.parser("reconcile", __doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the stack whose source and views to compare")
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    parser.add_argument("--table", help="one table, schema.table (default: every table of the source)")
    parser.add_argument("--raw-history", type=Path, help="a local copy of raw history: DuckDB instead of Athena")
    parser.add_argument("--range-size", type=int, default=10_000, help="keys per checksummed range")
    parser.add_argument("--show", type=int, default=20, help="keys listed per kind of difference")
    metadata.add_credential_options(parser)
    args = parser.parse_args(argv)
    entry = stackfile.source_entry(args.stack, args.source)
    tables = _tables(args.stack, args.source, args.table)
    url = metadata.source_url(entry, args.stack, args.from_secret)
    current = _current_reader(args.stack, args.source, args.raw_history)
    results = []
    for meta in tables:
        try:
            source = source_rows(url, meta, args.connect_timeout)
        except Exception as exc:
            problem = metadata.database_problem(exc) if hasattr(exc, "orig") else type(exc).__name__
            raise cli.CommandError(f"cannot read {meta.table_id} from source {args.source!r}: {problem}") from None
        results.append(reconcile(meta, source, current(meta), args.range_size))
        print("\n".join(results[-1].lines(args.show)))
    return cli.OK if all(r.ok for r in results) else cli.FINDINGS


def _tables(stack: str, source: str, table: str | None) -> list[TableMetadata]:
    from cloudbridge.metadata import committed
    from components.workspace import metadata_root

    tables = committed(metadata_root(), source)
    if table is not None and table not in tables:
        raise cli.CommandError(f"--table {table}: not a table of {source!r} (its tables: {', '.join(sorted(tables))})")
    return [tables[table]] if table else [tables[t] for t in sorted(tables)]


def _current_reader(stack: str, source: str, raw_history: Path | None) -> Callable[[TableMetadata], list[tuple]]:
    from components import views
    from components.naming import Naming

    database = f"cb_{stack}_{source}".replace("-", "_")  # Naming.glue_database
    if raw_history is not None:
        if not raw_history.is_dir():
            raise cli.CommandError(f"--raw-history {raw_history}: not a directory")
        return lambda meta: duckdb_current(meta, raw_history, database, Naming.glue_table(meta.schema, meta.table))
    athena = cli.aws_client("athena", stack)
    workgroup = f"cb-{stack}-analytics"
    return lambda meta: from_text(
        meta, athena_current(athena, workgroup, database, views.view_name(Naming.glue_table(meta.schema, meta.table)))
    )
