"""The decoding child's work: pyarrow over the fetched bytes only.

It runs in the file's isolated child (``isolation.py``): it opens the file once over the
footer's bytes, checks the schema against the metadata, then decodes each window's
planned column chunks from the parts the parent fetched (a read anywhere else names the
missing range instead of fetching it), reporting nulls and ``Op`` values. Everything it
returns is plain data.
"""

from __future__ import annotations

import io
import re
from typing import Any

from functions.common.dms import OP_VALUES
from functions.common.keys import FileKey
from functions.common.metadata import TableMetadata, arrow_type
from functions.validator.findings import (
    CORRUPT_DATA,
    MISSING_COLUMNS,
    NOT_PARQUET,
    TYPE_MISMATCH,
    UNEXPECTED_COLUMNS,
    Finding,
)


class Seekable(io.RawIOBase):
    """A read-only file of a known ``size`` for pyarrow: subclasses say how to ``read``."""

    size = 0
    pos = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position as ``io`` does."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        """Read into ``buffer``; returns the bytes read."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Sparse(Seekable):
    """The object as far as it was fetched; a read elsewhere names the missing range."""

    def __init__(self, parts: list[tuple[int, bytes]], size: int):
        super().__init__()
        self.parts = sorted(parts, key=_offset)
        self.size, self.pos = size, 0

    def read(self, n: int = -1) -> bytes:
        """Bytes from the fetched parts; an OSError names a range that was not fetched."""
        start = self.pos
        end = self.size if n is None or n < 0 else min(self.size, start + n)
        for offset, data in self.parts:
            if offset <= start and end <= offset + len(data):
                self.pos = end
                return bytes(data[start - offset : end - offset])  # a copy: parts live for one call
        raise OSError(f"CLOUDBRIDGE_MISSING {start} {end}")


def _offset(part: tuple[int, Any]) -> int:
    """A part's place in the file (memoryviews do not compare: never sort by the bytes)."""
    return part[0]


_MISSING = re.compile(r"CLOUDBRIDGE_MISSING (\d+) (\d+)")


class FileReader:
    """One file as the decoding child reads it: pyarrow opened once over the footer's bytes,
    then one window of column chunks per call.

    Made in the parent (nothing native runs there) and inherited by the child at fork.
    """

    def __init__(self, tail: tuple[int, bytes], size: int, key: FileKey, metadata: TableMetadata):
        self.tail, self.size, self.key, self.metadata = tail, size, key, metadata
        self._sparse = Sparse([tail], size)
        self._parquet: Any = None
        self._schema: tuple[list[Finding], set[str]] | None = None

    def window(self, parts: list[tuple[int, Any]], columns: dict[int, list[str]], schema: bool) -> dict:
        """Check the schema (reported when ``schema``) and decode ``columns`` of each row group.

        The reply names a byte range the plan did not foresee (``missing``) rather than
        reading it; decode errors are ``CORRUPT_DATA`` findings for their row group.
        """
        reply: dict[str, Any] = {
            "schema_findings": [], "decode_findings": [], "well_typed": [], "nulls": {}, "op_values": [],
            "op_first_bad": -1, "scanned": 0, "missing": None, "schema_error": False,
        }  # fmt: skip
        self._sparse.parts = sorted([self.tail, *parts], key=_offset)
        try:
            if self._open(reply, schema):
                self._decode(columns, reply)
        finally:
            self._sparse.parts = [self.tail]  # the parts are only valid during this call
        return reply

    def _open(self, reply: dict[str, Any], schema: bool) -> bool:
        """pyarrow's reader and the schema verdict, once; False when the reply is final."""
        import pyarrow.parquet as pq

        if self._parquet is None:
            try:
                parquet = pq.ParquetFile(self._sparse, pre_buffer=False, page_checksum_verification=True)
                self._schema = check_schema(parquet.schema_arrow, self.key, self.metadata)
            except Exception as exc:
                if not _note_missing(exc, reply):
                    reply["schema_error"] = True
                    reply["decode_findings"].append(
                        {"code": NOT_PARQUET, "message": f"parquet footer unreadable: {exc}"[:500]}
                    )
                return False
            self._parquet = parquet
        findings, well_typed = self._schema
        if schema:
            reply["schema_findings"] = [f.to_dict() for f in findings]
        reply["well_typed"] = sorted(well_typed)
        return True

    def _decode(self, columns: dict[int, list[str]], reply: dict[str, Any]) -> None:
        import pyarrow.compute as pc

        op, well_typed = self.metadata.dms.op, set(reply["well_typed"])
        op_values: set[str] = set()
        for group, names in sorted(columns.items()):
            try:
                table = self._parquet.read_row_group(group, columns=names, use_threads=False)
            except Exception as exc:
                if _note_missing(exc, reply):
                    return
                reply["decode_findings"].append(
                    {"code": CORRUPT_DATA, "message": f"row group {group} cannot be decoded: {exc}"[:500]}
                )
                continue
            reply["scanned"] += len(names)
            for name in names:
                column = table.column(name)
                if column.null_count and name not in reply["nulls"]:
                    reply["nulls"][name] = (group, column.null_count)
                if name == op and name in well_typed:
                    values = {v for v in pc.unique(column).to_pylist() if v is not None}
                    if values - OP_VALUES and reply["op_first_bad"] < 0:
                        reply["op_first_bad"] = group
                    op_values |= values
            del table  # memory: one row group's decoded columns at a time
        reply["op_values"] = sorted(op_values)


def _note_missing(exc: Exception, reply: dict[str, Any]) -> bool:
    """Whether ``exc`` is the reader asking for bytes that were not fetched (noted in the reply)."""
    missing = _MISSING.search(str(exc))
    if missing:
        reply["missing"] = (int(missing.group(1)), int(missing.group(2)))
    return missing is not None


def _same_type(actual, portable: str) -> bool:
    import pyarrow as pa

    expected = arrow_type(portable)
    if actual == expected:
        return True
    if pa.types.is_large_string(actual) and expected == pa.string():
        return True
    if pa.types.is_large_binary(actual) and expected == pa.binary():
        return True
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        # Unit must match exactly; DMS versions differ in flagging isAdjustedToUTC.
        return actual.unit == expected.unit and actual.tz in (None, "UTC", "+00:00")
    return False


def _describe(portables: tuple[str, ...]) -> str:
    return " or ".join(str(arrow_type(p)) for p in portables)


def check_schema(schema, key: FileKey, metadata: TableMetadata) -> tuple[list[Finding], set[str]]:
    """Column names and exact types against the metadata; the well-typed columns."""
    findings: list[Finding] = []
    expected = metadata.expected_columns(key.kind)
    names = schema.names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        findings.append(Finding(UNEXPECTED_COLUMNS, f"duplicated columns {duplicated}"))
    missing = [n for n in expected if n not in names]
    unexpected = [n for n in names if n not in expected]
    if missing:
        findings.append(Finding(MISSING_COLUMNS, f"{key.kind} file lacks columns {missing}"))
    if unexpected:
        findings.append(Finding(UNEXPECTED_COLUMNS, f"{key.kind} file has columns not in the metadata: {unexpected}"))
    well_typed = set()
    for name in names:
        if name not in expected or name in duplicated:
            continue
        actual = schema.field(name).type
        if any(_same_type(actual, p) for p in expected[name]):
            well_typed.add(name)
        else:
            findings.append(
                Finding(TYPE_MISMATCH, f"column {name!r} is {actual}, metadata says {_describe(expected[name])}")
            )
    return findings, well_typed
