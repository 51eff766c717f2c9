"""One measurement, in a fresh process so its peak RSS is its own:
``python -m benchmarks.case <case> <endpoint> <bucket> <key> <metadata.json>``; prints JSON."""

from __future__ import annotations

import io
import json
import sys
import time


def peak_rss_mb() -> float:
    """VmHWM: this process image's own peak RSS. (ru_maxrss would carry over the parent's
    peak across fork/exec and report the benchmark runner's memory, not this case's.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def main() -> None:
    case, endpoint, bucket, key, metadata_path = sys.argv[1:6]
    import pyarrow.parquet as pq

    from functions.common.keys import parse_key
    from functions.common.metadata import TableMetadata
    from functions.validator import checks
    from functions.validator.s3file import RangedS3File

    s3 = client(endpoint)
    meta = TableMetadata.from_json(open(metadata_path).read())
    baseline_rss = peak_rss_mb()
    head = s3.head_object(Bucket=bucket, Key=key)
    size = head["ContentLength"]
    file = RangedS3File(s3, bucket, key, size, etag=head["ETag"])
    result: dict = {}
    started = time.perf_counter()
    if case == "validator":
        verdict = checks.validate(file, size, parse_key(key), meta)
        result = {"outcome": "passed" if verdict.passed else "failed", "codes": verdict.codes, "rows": verdict.rows,
                  "chunksScanned": verdict.chunks_scanned}  # fmt: skip
    elif case == "footer":
        metadata = pq.ParquetFile(file, pre_buffer=False).metadata
        result = {"rows": metadata.num_rows}
    elif case == "decode":
        rows = 0
        # pyarrow's best: pre-buffering coalesces each row group's column reads.
        for batch in pq.ParquetFile(file, pre_buffer=True).iter_batches(batch_size=65_536):
            rows += batch.num_rows
        result = {"rows": rows}
    elif case == "pandas":
        import pandas as pd

        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        file.bytes_read, file.requests = len(body), 1
        frame = pd.read_parquet(io.BytesIO(body))
        del body
        expected = set(meta.expected_columns(parse_key(key).kind))
        problems = []
        if set(frame.columns) != expected:
            problems.append("columns")
        if frame[list(meta.primary_key)].isna().any().any():
            problems.append("null primary key")
        if not frame[meta.dms.op].isin(["I", "U", "D"]).all():
            problems.append("op")
        result = {"outcome": "failed" if problems else "passed", "codes": problems, "rows": len(frame)}
    else:
        raise SystemExit(f"unknown case {case}")
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    print(json.dumps({
        "case": case, "wall": wall, "peakRssMb": peak, "importRssMb": baseline_rss,
        "bytesRead": file.bytes_read, "requests": file.requests, "size": size, **result,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
