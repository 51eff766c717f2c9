"""What a landing key says: schema, table and kind of a DMS file (DMS_FACTS "Layout")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

# LOAD + 8 hex digits: full load. yyyymmdd-hhmmssSSS: CDC (optionally under date folders).
_LOAD = re.compile(r"^LOAD[0-9A-F]{8}\.parquet$")
_CDC = re.compile(r"^\d{8}-\d{9}\.parquet$")
_DATE_FOLDERS = re.compile(r"^\d{4}/\d{2}/\d{2}$")


class UnrecognizedKeyError(ValueError):
    """A landing key that is not a DMS file path."""


@dataclass(frozen=True)
class FileKey:
    key: str  # decoded object key
    schema: str
    table: str
    kind: str  # "load" | "cdc"
    partition: str | None  # "YYYY/MM/DD" for date-partitioned CDC
    filename: str

    @property
    def table_id(self) -> str:
        return f"{self.schema}.{self.table}"


def decode_event_key(raw: str) -> str:
    """S3 event keys are URL-encoded with '+' for spaces."""
    return unquote_plus(raw)


def parse_key(key: str, bucket_folder: str = "") -> FileKey:
    rest = key
    if bucket_folder:
        prefix = bucket_folder.strip("/") + "/"
        if not key.startswith(prefix):
            raise UnrecognizedKeyError(f"{key!r} is outside the bucket folder {bucket_folder!r}")
        rest = key[len(prefix) :]
    parts = rest.split("/")
    if len(parts) < 3 or not all(parts):
        raise UnrecognizedKeyError(f"{key!r} is not <schema>/<table>/<file>")
    schema, table, *middle, filename = parts
    partition = "/".join(middle) or None
    if _LOAD.match(filename) and partition is None:
        kind = "load"
    elif _CDC.match(filename) and (partition is None or _DATE_FOLDERS.match(partition)):
        kind = "cdc"
    else:
        raise UnrecognizedKeyError(f"{key!r}: {filename!r} is neither a full-load (LOAD<hex>) nor a CDC file name")
    return FileKey(key=key, schema=schema, table=table, kind=kind, partition=partition, filename=filename)
