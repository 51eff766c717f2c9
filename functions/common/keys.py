"""What a landing key says: schema, table and kind of a DMS file (docs/dms.md, "Layout").

Full-load files are ``LOAD`` + 8 hex digits; every other parquet object is a CDC file:
DMS's CDC names are timestamps whose precision varies with settings, so no exact pattern
is relied on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from functions.common.layout import ANY_FOLDERS, Layout

_LOAD = re.compile(r"^LOAD[0-9A-F]{8}\.parquet$")
_PARQUET = re.compile(r"^[^/]+\.parquet$")
_DATE_FOLDERS = re.compile(f"^{ANY_FOLDERS}$")


class UnrecognizedKeyError(ValueError):
    """A landing key that is not a DMS file path."""


@dataclass(frozen=True)
class FileKey:
    """What a landing key says: schema, table, kind (load or cdc), file name, date folder."""

    key: str  # decoded object key
    schema: str
    table: str
    kind: str  # "load" | "cdc"
    partition: str | None  # "YYYY/MM/DD" or "YYYY/MM/DD/HH" for date-partitioned CDC
    filename: str

    @property
    def table_id(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"


def decode_event_key(raw: str) -> str:
    """S3 event keys are URL-encoded with '+' for spaces."""
    return unquote_plus(raw)


def parse_key(key: str, bucket_folder: str = "", layout: Layout | None = None) -> FileKey:
    """The FileKey of a landing key (after an optional bucket folder); UnrecognizedKeyError otherwise.

    With the source's ``layout``, a CDC file's date folders must be that layout's: a file under
    the other one would land in a partition the catalog's projection never lists."""
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
    elif (
        _PARQUET.match(filename) and not _LOAD.match(filename) and (partition is None or _DATE_FOLDERS.match(partition))
    ):
        kind = "cdc"
    else:
        raise UnrecognizedKeyError(
            f"{key!r}: expected <schema>/<table>/LOAD<8 hex>.parquet "
            "or <schema>/<table>/[YYYY/MM/DD/[HH/]]<name>.parquet"
        )
    if kind == "cdc" and partition is not None and layout is not None and not layout.pattern.match(partition):
        raise UnrecognizedKeyError(
            f"{key!r}: date folders {partition!r} are not the source's {layout.name} partitions "
            f"({layout.projection_format}): was the source's rawHistoryPartition changed while DMS ran?"
        )
    return FileKey(key=key, schema=schema, table=table, kind=kind, partition=partition, filename=filename)
