"""How the current-state view's cost grows with the history behind it.

A table of 20,000 keys: one full load, then N CDC files of 2,000 changes each (updates,
some deletes and inserts), as DMS writes them. The view's own SQL (components/views.py,
translated to DuckDB by sqlglot) runs over the files, as Athena runs it over the Glue
table; DuckDB's profiler gives the parquet bytes it read — the offline stand-in for
Athena's bytes scanned, which is what Athena bills — and its time. Beside it, the same view
without the reload (generation) rule: what that rule adds.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from cloudbridge import dmsfiles
from components import views
from functions.common.metadata import Column, TableMetadata

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data" / "views"
KEYS = 20_000
CHANGES_PER_FILE = 2_000
TABLE = TableMetadata(
    source="bench",
    engine="postgres",
    schema="public",
    table="accounts",
    columns=(
        Column("account_id", "int64", nullable=False),
        Column("owner", "string"),
        Column("balance", "decimal(14,2)"),
        Column("status", "string"),
        Column("updated_at", "timestamp(ms)"),
    ),
    primary_key=("account_id",),
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def _row(key: int, version: int) -> dict:
    return {
        "account_id": key,
        "owner": f"owner-{key:06d}",
        "balance": None,
        "status": ("open", "frozen", "closed")[version % 3],
        "updated_at": START + timedelta(seconds=version),
    }


def write_history(files: int) -> list[Path]:
    """The load and ``files`` CDC files (written once, reused by later runs)."""
    folder = DATA / f"{files}"
    done = folder / "done"
    paths = sorted(folder.rglob("*.parquet"))
    if done.exists():
        return paths
    rng = random.Random(files)
    load = dmsfiles.dms_table(
        TABLE, "load", [_row(k, 0) for k in range(KEYS)], timestamps=[dmsfiles.dms_timestamp(START)] * KEYS
    )
    day = folder / "public" / "accounts" / "2026" / "01" / "01"
    day.mkdir(parents=True, exist_ok=True)
    dmsfiles.write(load, str(day / "LOAD00000001-0a.parquet"))
    sequence = 0
    for f in range(files):
        moment = START + timedelta(minutes=f + 1)
        rows, ops, positions = [], [], []
        for _ in range(CHANGES_PER_FILE):
            sequence += 1
            ops.append(rng.choices("UDI", weights=(90, 5, 5))[0])
            rows.append(_row(rng.randrange(KEYS * 11 // 10), sequence))
            positions.append(dmsfiles.change_sequence(moment, sequence))
        table = dmsfiles.dms_table(
            TABLE, "cdc", rows, ops=ops, positions=positions, timestamps=[dmsfiles.dms_timestamp(moment)] * len(rows)
        )
        folder_of_day = folder / "public" / "accounts" / moment.strftime("%Y/%m/%d")
        folder_of_day.mkdir(parents=True, exist_ok=True)
        dmsfiles.write(table, str(folder_of_day / f"{dmsfiles.cdc_file_name(moment)[:-8]}-{f:04x}.parquet"))
    done.write_text("")
    return sorted(folder.rglob("*.parquet"))


def measure(paths: list[Path], generations: bool, repeat: int = 3) -> dict:
    """Run the current-state view over ``paths`` in DuckDB; median time, bytes read and rows."""
    sql = views.duckdb_sql(TABLE, "cb", "public__accounts", generations=generations)
    listed = ", ".join(f"'{p}'" for p in paths)
    times, read, rows = [], 0, 0
    for _ in range(repeat):
        with duckdb.connect() as db:
            db.execute("set threads = 1")  # one core: comparable across runs and machines
            db.execute('create schema "cb"')
            db.execute(
                f'create view "cb"."public__accounts" as select * exclude (filename), filename as "$path" '
                f"from read_parquet([{listed}], union_by_name = true, filename = true)"
            )
            db.execute("set enable_profiling = 'json'")
            db.execute("set profiling_coverage = 'ALL'")
            db.execute(f"set profiling_output = '{DATA / 'profile.json'}'")
            started = time.perf_counter()
            rows = len(db.execute(sql).fetchall())
            times.append(time.perf_counter() - started)
            profile = json.loads(db.get_profiling_information(format="json"))
            read = profile["io"]["total_bytes_read"]
    return {"seconds": statistics.median(times), "bytesRead": read, "rows": rows}


def run(histories: list[int]) -> list[dict]:
    """Measure the view over each history length, with and without the reload rule."""
    results = []
    for files in histories:
        paths = write_history(files)
        size = sum(p.stat().st_size for p in paths)
        results.append(
            {
                "files": files,
                "changes": files * CHANGES_PER_FILE,
                "bytes": size,
                "view": measure(paths, generations=True),
                "union": measure(paths, generations=False),
            }
        )
    return results
