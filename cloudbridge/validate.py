"""``python -m cloudbridge validate FILE|s3://bucket/key --table schema.table``: the
validator's exact checks on one file, by hand ("why did this fail?").

The table's metadata comes from ``--metadata PATH`` (a metadata JSON file) or from the
committed metadata of ``--source`` in ``--stack``'s stack file. A local file is read the
way the Lambda reads S3 (ranged reads, footer first, decoding in an isolated child).
Exit status: 0 passed, 1 failed, 2 bad input (see ``cloudbridge.cli``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cloudbridge import cli
from functions.common.keys import FileKey, UnrecognizedKeyError, parse_key
from functions.common.metadata import MetadataError, TableMetadata


class LocalSource:
    """A local file with the ObjectSource interface the validator reads through."""

    def __init__(self, path: Path):
        self.path, self.size = path, path.stat().st_size
        self.bytes_read = self.requests = 0

    def fetch(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of each (start, end) range, counted as the validator's requests would be."""
        out = []
        with open(self.path, "rb") as fh:
            for start, end in ranges:
                fh.seek(start)
                out.append(fh.read(max(0, min(end, self.size) - start)))
                self.requests += 1
                self.bytes_read += len(out[-1])
        return out

    def fetch_async(self, ranges):
        """The same ranges, already fetched (a local read has nothing to overlap)."""
        from functions.validator.s3file import _Done

        return _Done(self.fetch(ranges))


def _file_key(name: str, table: str) -> FileKey:
    """Schema, table and kind: from the key when it is a DMS path, else from --table."""
    try:
        parsed = parse_key(name)
        if table and parsed.table_id != table:
            raise cli.CommandError(f"{name} is a file of {parsed.table_id}, not --table {table}")
        return parsed
    except UnrecognizedKeyError:
        if not table or "." not in table:
            raise cli.CommandError("--table schema.table is required for a file outside a DMS key layout") from None
        schema, table_name = table.split(".", 1)
        filename = Path(name).name
        kind = "load" if filename.startswith("LOAD") else "cdc"
        return FileKey(key=name, schema=schema, table=table_name, kind=kind, partition=None, filename=filename)


def _metadata(args: argparse.Namespace, key: FileKey) -> TableMetadata:
    from cloudbridge.metadata import committed
    from cloudbridge.stackfile import source_entry
    from components.workspace import metadata_root

    if args.metadata:
        if not args.metadata.is_file():
            raise cli.CommandError(f"--metadata {args.metadata}: no such file")
        try:
            return TableMetadata.from_json(args.metadata.read_text(), str(args.metadata))
        except MetadataError as exc:
            raise cli.CommandError(str(exc)) from None
    if not args.source:
        raise cli.CommandError("give --metadata PATH, or --source NAME (with --stack) to use its committed metadata")
    source_entry(args.stack, args.source)  # "no such source" before "no metadata"
    tables = committed(metadata_root(), args.source)
    if key.table_id not in tables:
        raise cli.CommandError(
            f"no committed metadata for {key.table_id} of source {args.source!r}: "
            f"run python -m cloudbridge metadata extract --stack {args.stack} --source {args.source}"
        )
    return tables[key.table_id]


def _source(target: str, stack: str) -> tuple[Any, str]:
    if target.startswith("s3://"):
        from functions.validator.s3file import ObjectSource

        bucket, _, key = target[5:].partition("/")
        s3 = cli.aws_client("s3", stack)
        head = s3.head_object(Bucket=bucket, Key=key)
        return ObjectSource(s3, bucket, key, head["ContentLength"], etag=head["ETag"]), key
    path = Path(target)
    if not path.is_file():
        raise cli.CommandError(f"{target}: no such file")
    return LocalSource(path), target


@cli.command("validate")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge validate``: run the validator's checks on one local or S3 file and print the verdict."""
    from functions.validator import checks

    parser = cli.parser("validate", __doc__.split("\n\n")[0])
    parser.add_argument("file", help="a local parquet file or s3://bucket/key")
    parser.add_argument("--table", default="", help="schema.table (needed when the path is not a DMS key)")
    parser.add_argument("--metadata", type=Path, help="the table's metadata JSON file")
    parser.add_argument("--source", help="use the committed metadata of this source")
    parser.add_argument(
        "--stack", default="dev", help="stack file naming the source, and the region of s3:// (default: dev)"
    )
    parser.add_argument("--mode", choices=checks.MODES, default="statistics")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)

    source, name = _source(args.file, args.stack)
    key = _file_key(name if args.file.startswith("s3://") else Path(name).as_posix(), args.table)
    metadata = _metadata(args, key)
    verdict = checks.validate(source, key, metadata, args.mode)
    report = {
        "file": args.file,
        "table": key.table_id,
        "kind": key.kind,
        "mode": args.mode,
        "outcome": "passed" if verdict.passed else "failed",
        "rows": verdict.rows,
        "rowGroups": verdict.row_groups,
        "reasons": [f.to_dict() for f in verdict.findings],
        "bytesRead": source.bytes_read,
        "chunksScanned": verdict.chunks_scanned,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['outcome'].upper()}: {args.file} ({key.table_id}, {key.kind}, {verdict.rows:,} rows)")
        for finding in verdict.findings:
            print(f"  {finding.code}: {finding.message}")
    return cli.OK if verdict.passed else cli.FINDINGS
