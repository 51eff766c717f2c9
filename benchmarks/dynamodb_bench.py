"""python -m benchmarks.dynamodb_bench [--batches 1000,10000] [--repeat 3] [--export ITEMS,DATA_FILES]

The DynamoDB stream converter's throughput and peak memory (issue #28): a batch of stream records as
the event source mapping delivers them (JSON: binary as base64, numbers as text), each an item of 20
attributes of mixed types — strings, numbers declared int64, decimal and string, binary, a boolean,
string/number/binary sets, a nested map and a list of maps, a null — converted to one landing file
(``functions/dynamodb_stream``: records → rows → arrow table → parquet bytes, no S3). The floor writes
the same rows with pyarrow directly: the column values already in their lake types, one
``pa.table`` and the same ``pq.write_table`` settings. Each case runs in a fresh process (its peak
RSS, imports included, is its own: VmHWM); the best of ``--repeat`` walls. Prints a Markdown table.

``--export`` measures the export converter instead (``functions/dynamodb_export``, S3 in memory): one
export of ITEMS such items in DATA_FILES gzipped data files, converted by one invocation (the
baseline) and by a chain that hands over at every chance (the most links it can take), side by
side in one process: items/s, the bytes read from the export (a link re-reads the data file its first
LOAD file starts in) and whether both wrote the same LOAD files byte for byte.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time

ATTRIBUTES = 20


def metadata():
    """The table: 20 declared attributes of mixed DynamoDB types."""
    from functions.common.metadata import Column, TableMetadata

    columns = (
        Column("id", "string", nullable=False, source_type="S"),
        Column("customer", "string", source_type="S"),
        Column("status", "string", source_type="S"),
        Column("email", "string", source_type="S"),
        Column("qty", "int64", source_type="N"),
        Column("version", "int64", source_type="N"),
        Column("price", "decimal(12,2)", source_type="N"),
        Column("tax", "decimal(12,4)", source_type="N"),
        Column("code", "string", source_type="N"),
        Column("photo", "binary", source_type="B"),
        Column("paid", "bool", source_type="BOOL"),
        Column("tags", "string", source_type="SS"),
        Column("scores", "string", source_type="NS"),
        Column("blobs", "string", source_type="BS"),
        Column("address", "string", source_type="M"),
        Column("lines", "string", source_type="L"),
        Column("created", "string", source_type="S"),
        Column("updated", "string", source_type="S"),
        Column("channel", "string", source_type="S"),
        Column("note", "string", source_type="S"),
    )
    return TableMetadata("bench", "dynamodb", "dynamodb", "orders", columns, ("id",))


def item(n: int) -> dict:
    """One item as DynamoDB JSON (what the event carries)."""
    b64 = base64.b64encode(bytes([n % 256]) * 24).decode()
    return {
        "id": {"S": f"order-{n:09d}"}, "customer": {"S": f"customer-{n % 997}"}, "status": {"S": "paid"},
        "email": {"S": f"c{n}@example.com"}, "qty": {"N": str(n % 50)}, "version": {"N": str(n)},
        "price": {"N": f"{n % 1000}.{n % 100:02d}"}, "tax": {"N": f"{n % 100}.1234"}, "code": {"N": f"{n % 10000}"},
        "photo": {"B": b64}, "paid": {"BOOL": n % 2 == 0}, "tags": {"SS": ["gift", "express", f"t{n % 7}"]},
        "scores": {"NS": ["1", "2.5", str(n % 9)]}, "blobs": {"BS": [b64[:8], b64[8:16]]},
        "address": {"M": {"city": {"S": "Leeds"}, "zip": {"N": "12345"},
                          "geo": {"M": {"lat": {"N": "53.8"}, "lon": {"N": "-1.55"}}}}},
        "lines": {"L": [{"M": {"sku": {"S": f"sku-{i}"}, "n": {"N": str(i)}}} for i in range(3)]},
        "created": {"S": "2026-03-05T10:00:00Z"}, "updated": {"S": "2026-03-05T10:05:00Z"},
        "channel": {"S": "web"}, "note": {"NULL": True},
    }  # fmt: skip


def records(count: int) -> list[dict]:
    """A batch of MODIFY records of distinct items, in stream order."""
    arn = "arn:aws:dynamodb:eu-west-2:111111111111:table/orders/stream/2026-03-05T00:00:00.000"
    out = []
    for n in range(count):
        change = {
            "ApproximateCreationDateTime": 1_772_700_000 + n // 100,
            "Keys": {"id": {"S": f"order-{n:09d}"}},
            "NewImage": item(n),
            "SequenceNumber": str(820400000000000001192334 + n),
            "SizeBytes": 900,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        out.append({"eventName": "MODIFY", "eventSourceARN": arn, "dynamodb": change})
    return json.loads(json.dumps(out))  # as the Lambda runtime hands the event over: parsed JSON


def converter(batch: list[dict]) -> int:
    """The stream converter's work on one batch: its landing file's bytes."""
    from functions.common import dynamodb as ddb
    from functions.dynamodb_stream.handler import add_record

    rows = ddb.Batch(metadata())
    for record in batch:
        add_record(rows, record)
    return len(ddb.parquet_bytes(rows.table()))


def floor(batch: list[dict]) -> int:
    """The same rows written with pyarrow directly: values already in their lake types."""
    import pyarrow as pa

    from functions.common import dynamodb as ddb
    from functions.common.metadata import arrow_type

    meta = metadata()
    converted = [{c.name: ddb.convert(r["dynamodb"]["NewImage"][c.name], c)[1] for c in meta.columns} for r in batch]
    columns = {"Op": ["U"] * len(batch), "dms_commit_ts": ["2026-03-05 10:00:00.000000"] * len(batch)}
    types = {"Op": pa.string(), "dms_commit_ts": pa.string()}
    for c in meta.columns:
        columns[c.name] = [row[c.name] for row in converted]
        types[c.name] = arrow_type(c.type)
    columns["dms_change_seq"] = [ddb.change_sequence(r["dynamodb"]["SequenceNumber"]) for r in batch]
    types["dms_change_seq"] = pa.string()
    start = time.perf_counter()  # the floor's clock: building and writing the table only
    table = pa.table({k: pa.array(v, types[k]) for k, v in columns.items()})
    size = len(ddb.parquet_bytes(table))
    floor.seconds = time.perf_counter() - start
    return size


class MemoryS3:
    """The S3 calls the export converter makes, in memory; every landing file validated at once."""

    def __init__(self, objects: dict):
        self.objects, self.read, self.landing = dict(objects), 0, {}

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3 names)
        """The object's body; the data files' bytes counted as read."""
        import io

        body = self.objects[(Bucket, Key)]
        self.read += len(body) if Key.endswith(".json.gz") else 0
        return {"Body": io.BytesIO(body)}

    def put_object(self, Bucket, Key, Body, **_):  # noqa: N803
        """Stores the object; the landing files are kept to compare the runs."""
        self.objects[(Bucket, Key)] = Body
        if Bucket == "landing":
            self.landing[Key] = Body

    def head_object(self, Bucket, Key):  # noqa: N803
        """404: the validator has taken every landing file."""
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "404"}}, "HeadObject")


def export_objects(items: int, data_files: int) -> dict:
    """A DYNAMODB_JSON export of ``items`` items in ``data_files`` gzipped data files, and the metadata."""
    import gzip

    from functions.common.metadata import metadata_key

    base, objects, manifest = "exports/AWSDynamoDB/01700000000000-bench/", {}, []
    per_file = -(-items // data_files)
    for index in range(data_files):
        numbers = range(index * per_file, min(items, (index + 1) * per_file))
        body = "".join(json.dumps({"Item": item(n)}) + "\n" for n in numbers).encode()
        key = f"AWSDynamoDB/01700000000000-bench/data/{index:04d}.json.gz"
        objects[("export", "exports/" + key)] = gzip.compress(body, compresslevel=6, mtime=0)
        manifest.append(json.dumps({"itemCount": len(numbers), "dataFileS3Key": key}))
    objects[("export", base + "manifest-files.json")] = "\n".join(manifest).encode()
    objects[("export", base + "manifest-summary.json")] = json.dumps({
        "exportArn": "arn:aws:dynamodb:eu-west-2:111111111111:table/orders/export/01700000000000-bench",
        "tableArn": "arn:aws:dynamodb:eu-west-2:111111111111:table/orders",
        "exportTime": "2026-03-05T10:00:00.000Z", "itemCount": items,
        "manifestFilesS3Key": "AWSDynamoDB/01700000000000-bench/manifest-files.json",
    }).encode()  # fmt: skip
    meta = metadata()
    objects[("meta", metadata_key(meta.schema, meta.table))] = meta.to_json().encode()
    return objects


def export_case(objects: dict, chained: bool) -> dict:
    """One conversion of the export: in one invocation, or handing over after every data file."""
    from functions.dynamodb_export import handler as export

    s3, links = MemoryS3(objects), []
    settings = export.Settings("bench", "bench", "export", "landing", "raw", "meta")
    # A chained run sees no time left after each data file, so it hands over after every one.
    clock = (lambda: time.monotonic() + 10_000) if chained else time.monotonic
    converter = export.ExportConverter(settings, s3, sleep=time.sleep, clock=clock, invoke=links.append)
    summary = "exports/AWSDynamoDB/01700000000000-bench/manifest-summary.json"
    start = time.perf_counter()
    outcome = converter.convert(summary, 900 if not chained else 0)
    while "continued" in outcome:
        _, resume = export.Resume.of(links[-1][export.CONTINUATION])
        outcome = converter.convert(summary, 0, resume)
    return {"seconds": time.perf_counter() - start, "read": s3.read, "links": len(links) + 1,
            "items": outcome["items"], "files": s3.landing}  # fmt: skip


LOAD_ROWS_WARMUP = 1_000


def export_table(items: int, data_files: int, repeat: int = 2) -> str:
    """The export converter, one invocation and chained, side by side: a Markdown table."""
    import hashlib

    from functions.dynamodb_export import handler as export

    export.LOG.setLevel("WARNING")  # one line per link otherwise
    objects = export_objects(items, data_files)
    size = sum(len(v) for (b, k), v in objects.items() if k.endswith(".json.gz"))
    export_case(export_objects(LOAD_ROWS_WARMUP, 1), chained=False)  # imports and first calls out of the timing
    runs = [(export_case(objects, chained=False), export_case(objects, chained=True)) for _ in range(repeat)]
    one = min((r[0] for r in runs), key=lambda r: r["seconds"])
    chain = min((r[1] for r in runs), key=lambda r: r["seconds"])  # best of each, alternated in one process

    def digest(files: dict) -> str:
        return hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(files.items()))).hexdigest()

    same = "yes" if digest(one["files"]) == digest(chain["files"]) and one["items"] == chain["items"] else "NO"
    lines = [
        f"Export of {items:,} items in {data_files} data files ({size / 1024 / 1024:,.1f} MB gzipped; "
        f"best of {repeat} runs each, alternated), "
        f"{len(one['files'])} LOAD files:",
        "",
        "| conversion | invocations | items/s | × one invocation's time | bytes read from the export "
        "| same LOAD files |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, run in (("one invocation (baseline)", one), ("chained, handing over at every chance", chain)):
        lines.append(
            f"| {name} | {run['links']} | {items / run['seconds']:,.0f} | {run['seconds'] / one['seconds']:.2f} "
            f"| {run['read'] / 1024 / 1024:,.1f} MB ({run['read'] / size:.2f}×) | {same} |"
        )
    return "\n".join(lines)


def case(name: str, count: int) -> dict:
    """One measurement in this process: wall and peak RSS."""
    import pyarrow.parquet  # noqa: F401 (imports out of the timing, as in a warm container)

    from benchmarks.case import peak_rss_mb

    batch = records(count)
    start = time.perf_counter()
    size = converter(batch) if name == "converter" else floor(batch)
    seconds = time.perf_counter() - start if name == "converter" else floor.seconds
    return {"case": name, "records": count, "seconds": seconds, "bytes": size, "peak_rss_mb": peak_rss_mb()}


def measure(name: str, count: int, repeat: int) -> dict:
    """The best wall of ``repeat`` fresh processes, and their largest peak RSS."""
    runs = [
        json.loads(subprocess.run([sys.executable, "-m", "benchmarks.dynamodb_bench", "--case", name, str(count)],
                                  check=True, capture_output=True, text=True).stdout)
        for _ in range(repeat)
    ]  # fmt: skip
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def main(argv: list[str] | None = None) -> None:
    """Run the cases (or one, with --case) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dynamodb_bench")
    parser.add_argument("--batches", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", nargs=2, metavar=("NAME", "RECORDS"))
    parser.add_argument("--export", metavar="ITEMS,DATA_FILES", help="the export converter, one invocation vs chained")
    args = parser.parse_args(argv)
    if args.export:
        items, data_files = (int(v) for v in args.export.split(","))
        print(export_table(items, data_files, max(1, args.repeat)))
        return
    if args.case:
        print(json.dumps(case(args.case[0], int(args.case[1]))))
        return
    lines = [
        "| batch | converter records/s | floor records/s | converter / floor "
        "| converter peak RSS | floor peak RSS | file |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count in (int(b) for b in args.batches.split(",")):
        conv, base = measure("converter", count, args.repeat), measure("floor", count, args.repeat)
        lines.append(
            f"| {count:,} | {count / conv['seconds']:,.0f} | {count / base['seconds']:,.0f} "
            f"| {base['seconds'] / conv['seconds']:.0%} of the floor's rate | {conv['peak_rss_mb']:.0f} MB "
            f"| {base['peak_rss_mb']:.0f} MB | {conv['bytes'] / 1024:,.0f} KiB |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
