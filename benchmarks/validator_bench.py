"""The validator against its baselines, side by side, on DMS-shaped files of 10 MB to 1 GB.

Files are read through a local HTTP S3 (benchmarks/s3server.py), so every read is a real
ranged GET. Each measurement runs in a fresh process (its own peak RSS).

  validator pass   LOAD file, statistics everywhere: the footer decides
  validator fail   the same with a null primary key in the last row group
  validator scan   CDC file with mixed I/U/D and no statistics on the key: values are read
  pandas           naive baseline: download the object, pandas.read_parquet, same rules
  footer           floor: pyarrow reading only the footer
  decode           floor: pyarrow decoding every column of every row group
"""

from __future__ import annotations

import json
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


def files_for(size_mb: int) -> dict[str, str]:
    """Landing keys (relative to the bucket dir) of the three files of one size."""
    target = size_mb * MB
    folder = DATA / BUCKET
    keys = {
        "pass": f"public/orders/LOAD{size_mb:08X}.parquet",
        "fail": f"public/orders/LOAD{size_mb + 0x10000:08X}.parquet",
        "scan": CDC_KEY.replace("120000000", f"{120000000 + size_mb:09d}"),
    }
    write_file(folder / keys["pass"], target, "load")
    write_file(folder / keys["fail"], target, "load", null_last_pk=True)
    write_file(folder / keys["scan"], target, "cdc", op="IUD", pk_stats=False)
    return keys


def measure(case: str, endpoint: str, key: str, metadata: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.case", case, endpoint, BUCKET, key, str(metadata)],
            capture_output=True, text=True, check=True, cwd=ROOT.parent, timeout=3600,
        )  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(runs[0])
    best["wall"] = statistics.median(r["wall"] for r in runs)
    best["peakRssMb"] = max(r["peakRssMb"] for r in runs)
    best["runs"] = len(runs)
    return best


def run(sizes: list[int], repeat: int = 3) -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    metadata = DATA / "orders.json"
    metadata.write_text(TABLE.to_json())
    started = time.perf_counter()
    keys = {size: files_for(size) for size in sizes}
    generated = time.perf_counter() - started
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.s3server", str(DATA)], stdout=subprocess.PIPE, text=True, cwd=ROOT.parent
    )
    try:
        endpoint = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        results = {}
        for size in sizes:
            k = keys[size]
            reps = repeat if size < 1000 else 1
            results[size] = {
                "validator pass": measure("validator", endpoint, k["pass"], metadata, reps),
                "validator fail": measure("validator", endpoint, k["fail"], metadata, reps),
                "validator scan": measure("validator", endpoint, k["scan"], metadata, reps),
                "pandas": measure("pandas", endpoint, k["pass"], metadata, 1),
                "footer": measure("footer", endpoint, k["pass"], metadata, reps),
                "decode": measure("decode", endpoint, k["pass"], metadata, reps),
                "decode (scan file)": measure("decode", endpoint, k["scan"], metadata, reps),
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"sizes": results, "generationSeconds": generated}
