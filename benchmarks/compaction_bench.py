"""What compaction does to a current-state query's cost, and what a compaction run costs.

The views benchmark's table (20,000 keys, a full load, then N CDC files of 2,000 changes, one a
minute), with the load's generation marker. For each history length: the view over the whole
history (today's view), and the view after a compaction run made when the last RECENT files
had not arrived yet: the Iceberg state table (written by PyIceberg from the DuckDB state, its
parquet data files) plus the tail, read as Athena reads it: partitions below the tail's ``dt``
never listed (partition projection), row groups whose DMS timestamps are all before the tail
start skipped on their statistics; with raw history partitioned by day (the default) and by
hour (``rawHistoryPartition: hour``, the same files). Both run their own SQL's DuckDB translation; DuckDB's
profiler gives the parquet bytes read. Then a compaction run's cost against the new changes it
merges, and GZIP against uncompressed CDC files: bytes on disk, bytes read, validator time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from benchmarks import views_bench
from cloudbridge import compaction_local as local
from cloudbridge import dmsfiles
from components import compaction_sql as csql
from functions.common import generations
from functions.common.layout import DAY, HOUR, Layout

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data" / "compaction"
TABLE = views_bench.TABLE
NAMES = csql.Names("cb", "public__accounts")
RECENT = 5  # files written after the run: the changes since the watermark
SETTINGS = csql.Settings(overlap_seconds=3600)  # the config's default overlap (60 minutes)
# The same source partitioned by hour (rawHistoryPartition: hour; 60-second CDC files).
HOURLY = csql.Settings(overlap_seconds=3600, layout=HOUR, file_span_seconds=60)
START = views_bench.START


def history(files: int) -> list[Path]:
    """The views benchmark's history plus the load's marker (written once)."""
    paths = views_bench.write_history(files)
    folder = views_bench.DATA / f"{files}" / "public" / "accounts" / "2026" / "01" / "01"
    marker = folder / generations.marker_key(TABLE, START, START).rsplit("/", 1)[1]
    if not marker.exists():
        marker.write_bytes(generations.marker_bytes(TABLE, START, START))
    return sorted({*paths, marker})


def by_hour(files: list[Path], count: int) -> list[Path]:
    """The same files under yyyy/MM/dd/HH folders (hard links: no copy), as the validator files
    them for a source partitioned by hour: a CDC file in the hour its name says, the load's files
    and marker in the load's hour."""
    root = DATA / "hourly" / str(count) / "public" / "accounts"
    out = []
    for path in files:
        target = root / HOUR.folder(moment_of(path)) / path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
        out.append(target)
    return sorted(out)


def partition(path: Path, layout: Layout) -> str:
    """The partition value of a raw-history path."""
    return "/".join(path.parts[-(layout.depth + 1) : -1])


def moment_of(path: Path) -> datetime:
    """When a CDC file was written (its name), the load's files at the start."""
    name = path.name
    if name.startswith(("LOAD", generations.MARKER_PREFIX)):
        return START
    return datetime.strptime(name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def _profiled(db, sql: str) -> tuple[float, int, int]:
    db.execute("set enable_profiling = 'json'")
    db.execute("set profiling_coverage = 'ALL'")
    db.execute(f"set profiling_output = '{DATA / 'profile.json'}'")
    started = time.perf_counter()
    rows = len(db.execute(sql).fetchall())
    seconds = time.perf_counter() - started
    read = json.loads(db.get_profiling_information(format="json"))["io"]["total_bytes_read"]
    db.execute("set enable_profiling = 'no_output'")
    return seconds, read, rows


def _history_view(db, files: list[Path]) -> None:
    db.execute('create schema if not exists "cb"')
    local.register_history(db, TABLE, NAMES, files)


def _compact(files: list[Path], cut: datetime, warehouse: Path, settings: csql.Settings = SETTINGS):
    """A DuckDB connection after one compaction at ``cut`` of the files written by then, and the
    state mirrored into an Iceberg table (PyIceberg, SQLite catalog)."""
    from pyiceberg.catalog.sql import SqlCatalog

    db = duckdb.connect()
    db.execute("set threads = 1")
    _history_view(db, [p for p in files if moment_of(p) <= cut])
    run = local.compact(db, TABLE, NAMES, cut=generations.dms_text(cut), settings=settings)
    shutil.rmtree(warehouse, ignore_errors=True)
    warehouse.mkdir(parents=True)
    catalog = SqlCatalog("bench", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=f"file://{warehouse}")
    catalog.create_namespace("cb")
    iceberg = local.IcebergState(catalog, "cb.public__accounts_state", TABLE, f"file://{warehouse}/state/")
    iceberg.apply(db, NAMES)
    return db, run, iceberg


def _state_and_tail(state_files: list[str], listed: list[Path], run: local.Run) -> tuple[float, int, int]:
    """The compacted view over the state's files and the listed change files: median time, bytes read, rows."""
    times, read, rows = [], 0, 0
    for _ in range(3):
        with duckdb.connect() as db:
            db.execute("set threads = 1")
            _history_view(db, listed)
            state = ", ".join(f"'{f}'" for f in state_files)
            db.execute(f"create view {NAMES.qualified(NAMES.state)} as select * from read_parquet([{state}])")
            seconds, read, rows = _profiled(db, local.view_sql(TABLE, NAMES, run))
            times.append(seconds)
    return statistics.median(times), read, rows


def compacted_read(files: list[Path], run: local.Run, iceberg, layout: Layout = DAY) -> dict:
    """The compacted view as Athena reads it: the state's data files, and the files of the
    partitions from the run's ``tail_dt`` on (by day or by hour: partition projection lists no
    other)."""
    state_files = [f["file_path"].removeprefix("file://") for f in iceberg.table.inspect.files().to_pylist()]
    tail = [p for p in files if partition(p, layout) >= run.plan["tail_dt"]]
    seconds, read, rows = _state_and_tail(state_files, tail, run)
    tail_start = datetime.fromisoformat(run.plan["tail_ts"] + "+00:00")
    tail_files = [p for p in tail if moment_of(p) >= tail_start]
    return {
        "seconds": seconds, "bytesRead": read, "rows": rows, "tailDt": run.plan["tail_dt"],
        "stateBytes": iceberg.data_bytes(), "tailBytes": sum(p.stat().st_size for p in tail_files),
        "tailFiles": len(tail_files), "listedFiles": len(tail),
    }  # fmt: skip


def view_costs(histories: list[int]) -> list[dict]:
    """Bytes read by the current-state view with and without compaction, per history length,
    with raw history partitioned by day and by hour (the same files)."""
    results = []
    for count in histories:
        files = history(count)
        size = sum(p.stat().st_size for p in files)
        cut = START + timedelta(minutes=count - RECENT, seconds=30)
        full = views_bench.measure(files, generations=True)
        db, run, iceberg = _compact(files, cut, DATA / "warehouse")
        db.close()
        daily = compacted_read(files, run, iceberg)
        db, run, iceberg = _compact(by_hour(files, count), cut, DATA / "warehouse", HOURLY)
        db.close()
        hourly = compacted_read(by_hour(files, count), run, iceberg, HOUR)
        assert hourly["rows"] == daily["rows"], "both layouts must show the same current state"
        results.append({"files": count, "bytes": size, "full": full, "compacted": daily, "hourly": hourly})
    return results


def run_costs(count: int, news: list[int]) -> list[dict]:
    """A run's cost against the files it merges: one run, then another ``k`` files later."""
    files = history(count)
    results = []
    for k in news:
        first = START + timedelta(minutes=count - max(news) - 1, seconds=30)
        db, before, _ = _compact(files, first, DATA / "warehouse-runs")
        second = first + timedelta(minutes=k)
        # Partition projection lists only the partitions from the watermark's window on.
        window_dt = (datetime.fromisoformat(before.plan["tail_ts"] + "+00:00") - timedelta(days=1)).strftime("%Y/%m/%d")
        _history_view(db, [p for p in files if moment_of(p) <= second and "/".join(p.parts[-4:-1]) >= window_dt])
        started = time.perf_counter()
        db.execute("set enable_profiling = 'json'")
        db.execute(f"set profiling_output = '{DATA / 'profile.json'}'")
        run = local.compact(db, TABLE, NAMES, cut=generations.dms_text(second), settings=SETTINGS)
        seconds = time.perf_counter() - started
        read = json.loads(db.get_profiling_information(format="json"))["io"]["total_bytes_read"]
        window = [p for p in files if first - timedelta(hours=1) <= moment_of(p) <= second and "/LOAD" not in str(p)]
        results.append(
            {"new": k, "mode": run.mode, "seconds": seconds, "mergeBytesRead": read,
             "windowFiles": len(window), "windowBytes": sum(p.stat().st_size for p in window)}
        )  # fmt: skip
        db.close()
    return results


def gzip_costs(rows: int = 200_000) -> dict:
    """One CDC file of ``rows`` changes, uncompressed and GZIP (DMS CompressionType): bytes on disk,
    bytes the view reads, and the validator's time on it (statistics mode, local reads)."""
    import random

    rng = random.Random(rows)
    moment = START + timedelta(minutes=1)
    changes = [views_bench._row(rng.randrange(views_bench.KEYS), i) for i in range(rows)]
    table = dmsfiles.dms_table(
        TABLE, "cdc", changes, ops=["U"] * rows,
        positions=[dmsfiles.change_sequence(moment, i + 1) for i in range(rows)],
        timestamps=[dmsfiles.dms_timestamp(moment)] * rows,
    )  # fmt: skip
    out = {}
    for codec in ("NONE", "GZIP"):
        folder = DATA / "gzip" / codec / "public" / "accounts" / "2026" / "01" / "01"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{dmsfiles.cdc_file_name(moment)[:-8]}.parquet"
        dmsfiles.write(table, str(path), compression=codec)
        seconds = []
        for _ in range(3):
            with duckdb.connect() as db:
                db.execute("set threads = 1")
                _history_view(db, [path])
                s, read, _ = _profiled(db, views_bench.views.duckdb_sql(TABLE, "cb", NAMES.changes))
                seconds.append(s)
        out[codec] = {"bytes": path.stat().st_size, "bytesRead": read, "viewSeconds": statistics.median(seconds),
                      "validatorSeconds": _validator_seconds(path)}  # fmt: skip
    return out


def _validator_seconds(path: Path) -> float:
    """The validator's decision on a local copy (statistics mode, in process), median of three."""
    from functions.common.keys import parse_key
    from functions.validator import checks, isolation
    from functions.validator.s3file import ObjectSource

    class LocalSource(ObjectSource):
        def _get(self, start: int, end: int) -> bytes:
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(end - start)
            self.bytes_read += len(data)
            self.requests += 1
            return data

    isolation.Worker = isolation.InProcess
    key = "public/accounts/2026/01/01/" + path.name
    times = []
    for _ in range(3):
        source = LocalSource(None, "local", key, path.stat().st_size)
        started = time.perf_counter()
        verdict = checks.validate(source, parse_key(key), TABLE, "statistics")
        times.append(time.perf_counter() - started)
        assert verdict.passed, verdict.codes
    return statistics.median(times)


def run(histories: list[int]) -> dict:
    """Every compaction measurement."""
    DATA.mkdir(parents=True, exist_ok=True)
    largest = max(h for h in histories if h >= 200) if any(h >= 200 for h in histories) else max(histories)
    return {
        "views": view_costs(histories),
        "runs": run_costs(largest, [1, 10, 100] if largest > 150 else [1, 5]),
        "gzip": gzip_costs(),
    }


MB = 1024 * 1024


def section(result: dict) -> tuple[list[str], list[tuple[str, str, bool]]]:
    """RESULTS.md's compaction tables and the targets they meet or miss."""
    lines = [
        "| CDC files | history on disk | full view: bytes read | partitions | files listed | compacted: bytes read "
        "| state (Iceberg) | tail: files / bytes | ÷ (state + tail) | ÷ full view | full view time | compacted time |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = []
    for layout, key in (("by hour", "hourly"), ("by day", "compacted")):
        for r in result["views"]:
            full, c = r["full"], r[key]
            bound = c["stateBytes"] + c["tailBytes"]
            lines.append(
                f"| {r['files']:,} | {r['bytes'] / MB:,.1f} MB | {full['bytesRead'] / MB:,.1f} MB | {layout} | "
                f"{c['listedFiles']:,} | {c['bytesRead'] / MB:,.1f} MB | {c['stateBytes'] / MB:,.2f} MB | "
                f"{c['tailFiles']} / {c['tailBytes'] / MB:,.1f} MB | {c['bytesRead'] / bound:.2f} | "
                f"{c['bytesRead'] / full['bytesRead']:.1%} | {full['seconds']:.3f} s | {c['seconds']:.3f} s |"
            )
            targets.append(
                (f"{layout}, {r['files']:,} files: compacted read ≤ 1.5× (state + tail)",
                 f"{c['bytesRead'] / bound:.2f}×", c["bytesRead"] <= 1.5 * bound)
            )  # fmt: skip
            if r["files"] == 1000:
                share = c["bytesRead"] / full["bytesRead"]
                targets.append(
                    (f"{layout}, 1,000 files: compacted read ≤ 15% of the full view's", f"{share:.1%}", share <= 0.15)
                )
        reads = [r[key]["bytesRead"] for r in result["views"] if r["files"] >= 100]
        if len(reads) > 1:
            spread = max(reads) / min(reads)
            targets.append((f"{layout}: compacted read flat in history (largest ÷ smallest, 100 files and up)",
                            f"{spread:.2f}×", spread <= 1.5))  # fmt: skip
    lines += ["", "| new files merged | window (overlap + new): files / bytes | run: bytes read | time |",
              "|---:|---:|---:|---:|"]  # fmt: skip
    for r in result["runs"]:
        lines.append(
            f"| {r['new']} | {r['windowFiles']} / {r['windowBytes'] / MB:,.1f} MB | "
            f"{r['mergeBytesRead'] / MB:,.1f} MB | {r['seconds']:.2f} s |"
        )
    runs = result["runs"]
    if len(runs) > 1:
        slope = (runs[-1]["mergeBytesRead"] - runs[0]["mergeBytesRead"]) / (
            runs[-1]["windowBytes"] - runs[0]["windowBytes"]
        )
        targets.append(("a run's bytes read grow with the window it merges (slope, bytes read per byte merged)",
                        f"{slope:.2f}", 0.5 <= slope <= 1.5))  # fmt: skip
    gz = result["gzip"]
    none, gzip = gz["NONE"], gz["GZIP"]
    lines += ["", "| CDC file (200,000 changes) | bytes on disk | view: bytes read | view time | validator time |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, g in (("uncompressed", none), ("GZIP", gzip)):
        lines.append(
            f"| {name} | {g['bytes'] / MB:,.2f} MB | {g['bytesRead'] / MB:,.2f} MB | {g['viewSeconds']:.3f} s | "
            f"{1000 * g['validatorSeconds']:.1f} ms |"
        )
    targets.append(("GZIP: bytes on disk against uncompressed (stated)", f"{gzip['bytes'] / none['bytes']:.2f}×", True))
    return lines + ["", NOTE, ""], targets


NOTE = (
    "Both layouts hold the same files and show the same current state. The tail is read from the partitions "
    "from one partition of slack before its start (a marker's END row, a CDC file spanning the boundary): by "
    "day that is the day before, and at one CDC file a minute those partitions hold up to 2,880 files whose "
    "footers are read even when their row groups are skipped on their timestamp statistics; that is what the "
    "daily read adds above state + tail, bounded by two days of files. By hour (rawHistoryPartition: hour) the "
    "listed files are the last two hours' at most, whatever the history's length. A run reads the same "
    "partitions twice (plan and MERGE) plus the state: its cost grows with the window it merges (the overlap "
    "plus the new files), about one byte read per byte merged (measured by day)."
)


def update_results(result: dict, results: Path = ROOT / "RESULTS.md") -> str:
    """Replace (or add) RESULTS.md's compaction section with this run's."""
    lines, targets = section(result)
    body = "\n".join(
        ["## Compaction", "", __doc__.strip(), "", "| target | measured | |", "|---|---:|---|",
         *[f"| {n} | {v} | {'✅ met' if ok else '❌ missed'} |" for n, v, ok in targets], "", *lines]
    )  # fmt: skip
    text = results.read_text()
    start = text.find("## Compaction")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + body + ("\n" + text[end + 1 :] if end >= 0 else "\n")
    else:
        anchor = text.find("## Lambda packages")
        text = text[:anchor] + body + "\n" + text[anchor:] if anchor >= 0 else text + "\n" + body + "\n"
    results.write_text(text)
    return body


if __name__ == "__main__":  # python -m benchmarks.compaction_bench [histories]: this section alone
    import sys

    counts = [int(c) for c in (sys.argv[1] if len(sys.argv) > 1 else "10,100,1000,10000").split(",")]
    print(update_results(run(counts)))
