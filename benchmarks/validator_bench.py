"""The validator against its floors and baselines, side by side, on DMS-shaped files.

Files are read through a local HTTP S3 shaped like S3 from a Lambda (benchmarks/s3server.py:
20 ms to the first byte, 80 MB/s per connection, at most 8 requests at once), so every read
is a real ranged GET. Each measurement runs in a fresh process (its own peak RSS).

  statistics     LOAD file with statistics: the footer decides (validator, statistics mode)
  null key       the same with a null primary key in the last row group
  scan           CDC file with mixed I/U/D written without statistics: the needed columns
                 (Op, key, DMS columns) are fetched and decoded, nothing else
  full           validator in full mode on the statistics file: every page decoded
  decode         baseline: pyarrow decoding every column of the file, pre-buffered (its best)
  batch of 10    ten scan files validated as one SQS batch is (FILE_WORKERS at once)
  direct         the scan case without the child process: the isolation overhead's baseline
  fetch          the scan case's GETs alone, nothing decoded: what this machine's HTTP client
                 and the local S3 (sharing its two cores) allow for those bytes
  pandas         naive baseline: download the object, pandas.read_parquet, same rules
  floor          least wall time the shaped S3 allows for the bytes the decision needs
                 (footer + needed chunks) in the requests made, the footer read first
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from cloudbridge import dmsfiles
from functions.common.dms import ROW_GROUP_LENGTH
from functions.common.metadata import Column, TableMetadata

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
BUCKET = "landing"
MB = 1024 * 1024

TABLE = TableMetadata(
    source="bench",
    engine="postgres",
    schema="public",
    table="orders",
    columns=(
        Column("order_id", "int64", nullable=False),
        Column("customer_id", "int32"),
        Column("quantity", "int32"),
        Column("amount", "decimal(12,2)"),
        Column("unit_price", "decimal(10,4)"),
        Column("status", "string"),
        Column("note", "string"),
        Column("created_at", "timestamp(us)"),
        Column("updated_at", "timestamp(us)"),
        Column("is_active", "bool", accept=("string",)),
    ),
    primary_key=("order_id",),
)
CDC_KEY = "public/orders/2026/11/24/20261124-120000000.parquet"


def write_file(
    path: Path, target_bytes: int, kind: str, *, op: str = "I", null_last_pk: bool = False, pk_stats: bool = True
) -> None:
    """Write a DMS-shaped parquet file of about ``target_bytes`` at ``path`` (kept if it exists: files are cached)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sample = dmsfiles.to_bytes(dmsfiles.synthetic_table(TABLE, kind, 100_000, op=op))
    rows = max(ROW_GROUP_LENGTH, int(target_bytes / (len(sample) / 100_000)) // ROW_GROUP_LENGTH * ROW_GROUP_LENGTH)
    schema = dmsfiles.dms_schema(TABLE, kind)
    stats = True if pk_stats else [f.name for f in schema if f.name != "order_id"]
    chunk = 500_000
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(
        tmp,
        schema,
        version="2.6",
        data_page_version="1.0",
        compression="NONE",
        use_dictionary=True,
        write_statistics=stats,
    ) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            null_at = {"order_id": n - 1} if null_last_pk and start + n == rows else None
            writer.write_table(
                dmsfiles.synthetic_table(TABLE, kind, n, start=start, op=op, null_at=null_at),
                row_group_size=ROW_GROUP_LENGTH,
            )
    tmp.rename(path)


def write_plain(path: Path, target_bytes: int) -> None:
    """A CDC file as DMS writes it with EnableStatistics=false."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sample = dmsfiles.to_bytes(dmsfiles.synthetic_table(TABLE, "cdc", 100_000, op="IUD"), statistics=False)
    rows = max(ROW_GROUP_LENGTH, int(target_bytes / (len(sample) / 100_000)) // ROW_GROUP_LENGTH * ROW_GROUP_LENGTH)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(
        tmp, dmsfiles.dms_schema(TABLE, "cdc"), version="2.6", data_page_version="1.0", compression="NONE",
        use_dictionary=True, write_statistics=False,
    ) as writer:  # fmt: skip
        for start in range(0, rows, 500_000):
            n = min(500_000, rows - start)
            writer.write_table(
                dmsfiles.synthetic_table(TABLE, "cdc", n, start=start, op="IUD"), row_group_size=ROW_GROUP_LENGTH
            )
    tmp.rename(path)


def files_for(size_mb: int, batch: int = 0) -> dict[str, object]:
    """Landing keys (relative to the bucket dir) of the files of one size."""
    target = size_mb * MB
    folder = DATA / BUCKET
    keys: dict[str, object] = {
        "statistics": f"public/orders/LOAD{size_mb:08X}.parquet",
        "null key": f"public/orders/LOAD{size_mb + 0x10000:08X}.parquet",
        "scan": CDC_KEY.replace("120000000", f"{120000000 + size_mb:09d}"),
    }
    write_file(folder / keys["statistics"], target, "load")
    write_file(folder / keys["null key"], target, "load", null_last_pk=True)
    write_plain(folder / keys["scan"], target)
    copies = []
    for i in range(batch):  # the batch: the scan file under ten keys (hard links: no extra disk)
        key = str(keys["scan"]).replace(".parquet", f"-{i}.parquet")
        if not (folder / key).exists():
            os.link(folder / keys["scan"], folder / key)
        copies.append(key)
    keys["batch"] = copies
    return keys


def measure(case: str, endpoint: str, keys: list[str], metadata: Path, repeat: int) -> dict:
    """Run one case ``repeat`` times, each in a fresh process: the median wall time and the largest RSS."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.case", case, endpoint, BUCKET, str(metadata), *keys],
            capture_output=True, text=True, check=True, cwd=ROOT.parent, timeout=3600,
        )  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(runs[0])
    best["wall"] = statistics.median(r["wall"] for r in runs)
    best["peakRssMb"] = max(r["peakRssMb"] for r in runs)
    best["childPeakRssMb"] = max(r["childPeakRssMb"] for r in runs)
    best["childGrowthMb"] = max(r["childGrowthMb"] for r in runs)
    best["runs"] = len(runs)
    return best


def run(sizes: list[int], repeat: int = 3, batch_size: int = 100) -> dict:
    """Generate the files, start the shaped server and measure every case at every size side by side."""
    DATA.mkdir(parents=True, exist_ok=True)
    metadata = DATA / "orders.json"
    metadata.write_text(TABLE.to_json())
    started = time.perf_counter()
    keys = {size: files_for(size, batch=10 if size == batch_size else 0) for size in sizes}
    generated = time.perf_counter() - started
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.s3server", str(DATA), "shaped"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT.parent,
    )  # fmt: skip
    try:
        endpoint = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        results = {}
        for size in sizes:
            k = keys[size]
            reps = repeat if size < 1000 else 1
            cases = {
                "statistics": measure("validator", endpoint, [k["statistics"]], metadata, reps),
                "null key": measure("validator", endpoint, [k["null key"]], metadata, reps),
                "scan": measure("validator", endpoint, [k["scan"]], metadata, reps),
                "direct": measure("validator-direct", endpoint, [k["scan"]], metadata, reps),
                "fetch": measure("fetch", endpoint, [k["scan"]], metadata, reps),
                "full": measure("validator-full", endpoint, [k["statistics"]], metadata, reps),
                "decode": measure("decode", endpoint, [k["statistics"]], metadata, reps),
            }
            if k["batch"]:
                cases["batch of 10"] = measure("batch", endpoint, k["batch"], metadata, 1)
            if size == sizes[0]:
                cases["pandas"] = measure("pandas", endpoint, [k["statistics"]], metadata, 1)
            results[size] = cases
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"sizes": results, "generationSeconds": generated}
