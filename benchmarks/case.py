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
    case, endpoint, bucket, metadata_path, *keys = sys.argv[1:]
    import pyarrow.parquet as pq

    from functions.common.keys import parse_key
    from functions.common.metadata import TableMetadata
    from functions.validator import checks, handler, isolation
    from functions.validator.s3file import ObjectSource

    s3 = client(endpoint)
    meta = TableMetadata.from_json(open(metadata_path).read())
    baseline_rss = peak_rss_mb()
    sources = []
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        sources.append(ObjectSource(s3, bucket, key, head["ContentLength"], etag=head["ETag"]))
    source = sources[0]
    result: dict = {}
    if case == "validator-direct":  # the same work without the child process
        isolation.run = lambda fn, *args, **kw: fn(*args)
    started = time.perf_counter()
    if case in ("validator", "validator-full", "validator-direct"):
        mode = "full" if case == "validator-full" else "statistics"
        verdict = checks.validate(source, parse_key(keys[0]), meta, mode)
        result = {"outcome": "passed" if verdict.passed else "failed", "codes": verdict.codes, "rows": verdict.rows,
                  "chunksScanned": verdict.chunks_scanned, "bytesNeeded": verdict.needed_bytes}  # fmt: skip
    elif case == "fetch":  # the scan's GETs with this machine's HTTP stack, nothing decoded
        from functions.validator import footer as pf

        size = source.size
        tail = source.fetch([(max(0, size - checks.FOOTER_READ), size)])[0]
        length = pf.footer_length(tail, size)
        if length + 8 > len(tail):
            tail = source.fetch([(size - length - 8, size)])[0]
        meta_ = pf.parse(tail, size)
        names = [leaf.path for leaf in meta_.leaves]
        required = [c for c in meta.required_columns(parse_key(keys[0]).kind) if c in names]
        plan = checks._Plan(meta_, required, meta.dms.op if meta.dms.op in names else None, False)
        pending = [source.fetch_async(w.ranges()) for w in plan.windows()]
        for p in pending:
            p.result()
        result = {"outcome": "", "rows": meta_.num_rows, "bytesNeeded": source.bytes_read}
    elif case == "batch":
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(handler.FILE_WORKERS) as pool:
            verdicts = list(pool.map(lambda s: checks.validate(s, parse_key(s.key), meta), sources))
        result = {"outcome": "passed" if all(v.passed for v in verdicts) else "failed",
                  "codes": sorted({c for v in verdicts for c in v.codes}), "rows": sum(v.rows for v in verdicts),
                  "bytesNeeded": sum(v.needed_bytes for v in verdicts), "files": len(verdicts)}  # fmt: skip
    elif case == "decode":
        from benchmarks.local import LocalRanged

        rows = 0
        file = LocalRanged(source)
        # pyarrow's best: pre-buffering coalesces each row group's column reads.
        for batch in pq.ParquetFile(file, pre_buffer=True).iter_batches(batch_size=65_536):
            rows += batch.num_rows
        result = {"rows": rows}
    elif case == "pandas":
        import pandas as pd

        body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
        source.bytes_read, source.requests = len(body), 1
        frame = pd.read_parquet(io.BytesIO(body))
        del body
        expected = set(meta.expected_columns(parse_key(keys[0]).kind))
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
    print(json.dumps({
        "case": case, "wall": wall, "peakRssMb": peak_rss_mb(), "childPeakRssMb": children_peak_rss_mb(),
        "childGrowthMb": max(0, isolation.peak_child_growth_kib) / 1024,
        "importRssMb": baseline_rss, "bytesRead": sum(s.bytes_read for s in sources),
        "requests": sum(s.requests for s in sources), "size": sum(s.size for s in sources), **result,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
