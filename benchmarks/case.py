"""One measurement, in a fresh process so its peak RSS is its own:
``python -m benchmarks.case <case> <endpoint> <bucket> <metadata.json> <key> [<key> …]``;
prints JSON.

Cases: ``validator`` (statistics mode), ``validator-full``, ``validator-direct`` (no
child process: the isolation overhead's baseline), ``batch`` (all keys validated as one
SQS batch is: FILE_WORKERS at once), ``decode`` (pyarrow decoding the whole file, its
best), ``pandas`` (download + pandas.read_parquet + the same rules)."""

from __future__ import annotations

import io
import json
import resource
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


def children_peak_rss_mb() -> float:
    """The largest decoding child's peak RSS (counts pages it shares with the parent too:
    an upper bound of what it adds)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def client(endpoint: str):
    """An S3 client for the shaped local server (path-style addressing, 16 pooled connections)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, max_pool_connections=16),
    )


def main() -> None:
    """Run one case on the given keys and print its measurements as one JSON line."""
    case, endpoint, bucket, metadata_path, *keys = sys.argv[1:]
    from functions.common.metadata import TableMetadata
    from functions.validator import checks, isolation
    from functions.validator.s3file import ObjectSource

    checks.preload_reader()  # as the validator's module does once per container, before any file
    s3 = client(endpoint)
    meta = TableMetadata.from_json(open(metadata_path).read())
    baseline_rss = peak_rss_mb()
    sources = []
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        sources.append(ObjectSource(s3, bucket, key, head["ContentLength"], etag=head["ETag"]))
    if case == "validator-direct":  # the same work without the child process
        isolation.Worker = isolation.InProcess
    if case not in CASES:
        raise SystemExit(f"unknown case {case}")
    started, cpu_started = time.perf_counter(), time.process_time()
    result = CASES[case](sources, meta, s3)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({
        "case": case, "wall": wall, "cpu": cpu, "peakRssMb": peak_rss_mb(), "childPeakRssMb": children_peak_rss_mb(),
        "childGrowthMb": max(0, isolation.peak_child_growth_kib) / 1024,
        "importRssMb": baseline_rss, "bytesRead": sum(s.bytes_read for s in sources),
        "requests": sum(s.requests for s in sources), "size": sum(s.size for s in sources), **result,
    }))  # fmt: skip


def _validator(mode: str):
    def case(sources, meta, s3) -> dict:
        from functions.common.keys import parse_key
        from functions.validator import checks

        source = sources[0]
        verdict = checks.validate(source, parse_key(source.key), meta, mode)
        return {"outcome": "passed" if verdict.passed else "failed", "codes": verdict.codes, "rows": verdict.rows,
                "chunksScanned": verdict.chunks_scanned, "bytesNeeded": verdict.needed_bytes}  # fmt: skip

    return case


def _fetch(sources, meta, s3) -> dict:
    """The scan's GETs with this machine's HTTP stack, nothing decoded."""
    from functions.common.keys import parse_key
    from functions.validator import checks
    from functions.validator import footer as pf

    source = sources[0]
    size = source.size
    tail = source.fetch([(max(0, size - checks.FOOTER_READ), size)])[0]
    length = pf.footer_length(tail, size)
    if length + 8 > len(tail):
        tail = source.fetch([(size - length - 8, size)])[0]
    footer = pf.parse(tail, size)
    names = [leaf.path for leaf in footer.leaves]
    required = [c for c in meta.required_columns(parse_key(source.key).kind) if c in names]
    plan = checks._Plan(footer, required, meta.dms.op if meta.dms.op in names else None, False)
    for pending in [source.fetch_async(w.ranges()) for w in plan.windows()]:
        pending.result()
    return {"outcome": "", "rows": footer.num_rows, "bytesNeeded": source.bytes_read}


def _batch(sources, meta, s3) -> dict:
    """The files validated as one SQS batch is (FILE_WORKERS at once)."""
    from concurrent.futures import ThreadPoolExecutor

    from functions.common.keys import parse_key
    from functions.validator import checks, handler

    with ThreadPoolExecutor(handler.FILE_WORKERS) as pool:
        verdicts = list(pool.map(lambda s: checks.validate(s, parse_key(s.key), meta), sources))
    return {"outcome": "passed" if all(v.passed for v in verdicts) else "failed",
            "codes": sorted({c for v in verdicts for c in v.codes}), "rows": sum(v.rows for v in verdicts),
            "bytesNeeded": sum(v.needed_bytes for v in verdicts), "files": len(verdicts)}  # fmt: skip


def _decode(sources, meta, s3) -> dict:
    """pyarrow's best: pre-buffering coalesces each row group's column reads."""
    import pyarrow.parquet as pq

    from benchmarks.local import LocalRanged

    rows = 0
    for batch in pq.ParquetFile(LocalRanged(sources[0]), pre_buffer=True).iter_batches(batch_size=65_536):
        rows += batch.num_rows
    return {"rows": rows}


def _pandas(sources, meta, s3) -> dict:
    """The naive baseline: download the object, pandas.read_parquet, the same rules."""
    import pandas as pd

    from functions.common.keys import parse_key

    source = sources[0]
    body = s3.get_object(Bucket=source.bucket, Key=source.key)["Body"].read()
    source.bytes_read, source.requests = len(body), 1
    frame = pd.read_parquet(io.BytesIO(body))
    del body
    expected = set(meta.expected_columns(parse_key(source.key).kind))
    problems = []
    if set(frame.columns) != expected:
        problems.append("columns")
    if frame[list(meta.primary_key)].isna().any().any():
        problems.append("null primary key")
    if not frame[meta.dms.op].isin(["I", "U", "D"]).all():
        problems.append("op")
    return {"outcome": "failed" if problems else "passed", "codes": problems, "rows": len(frame)}


CASES = {
    "validator": _validator("statistics"),
    "validator-direct": _validator("statistics"),
    "validator-full": _validator("full"),
    "fetch": _fetch,
    "batch": _batch,
    "decode": _decode,
    "pandas": _pandas,
}


if __name__ == "__main__":
    main()
