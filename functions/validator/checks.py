"""The validation rules: a DMS parquet file against its table's metadata.

Footer first: schema and row-group statistics decide most files without reading a
single data page. Only what statistics cannot decide (a missing null count, an Op column
whose min and max differ) is read: row group by row group, only the needed columns are
decoded, fetched forward in bounded windows (SCAN_READ_AHEAD) so that one ranged GET serves
several row groups. Memory is bounded by the window and a row group, whatever the file size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from functions.common.dms import OP_VALUES
from functions.common.keys import FileKey
from functions.common.metadata import TableMetadata, arrow_type

# Reason codes: stable, machine-readable; the message says the details.
EMPTY_FILE = "EMPTY_FILE"
NOT_PARQUET = "NOT_PARQUET"
UNRECOGNIZED_KEY = "UNRECOGNIZED_KEY"
UNKNOWN_TABLE = "UNKNOWN_TABLE"
MISSING_COLUMNS = "MISSING_COLUMNS"
UNEXPECTED_COLUMNS = "UNEXPECTED_COLUMNS"
TYPE_MISMATCH = "TYPE_MISMATCH"
NULL_IN_REQUIRED_COLUMN = "NULL_IN_REQUIRED_COLUMN"
INVALID_OP = "INVALID_OP"
NO_ROWS = "NO_ROWS"
REASON_CODES = (
    EMPTY_FILE, NOT_PARQUET, UNRECOGNIZED_KEY, UNKNOWN_TABLE, MISSING_COLUMNS,
    UNEXPECTED_COLUMNS, TYPE_MISMATCH, NULL_IN_REQUIRED_COLUMN, INVALID_OP, NO_ROWS,
)  # fmt: skip

MAGIC = b"PAR1"
# When values must be read, row groups are read in order: fetch this much per request so
# that one GET serves several column chunks (memory stays bounded by it).
SCAN_READ_AHEAD = 4 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    rows: int = 0
    row_groups: int = 0
    chunks_scanned: int = 0  # column chunks that had to be decoded

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})

    def fail(self, code: str, message: str) -> None:
        self.findings.append(Finding(code, message))


def _same_type(actual: pa.DataType, portable: str) -> bool:
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


def validate(file: IO[bytes], size: int, key: FileKey, metadata: TableMetadata | None) -> Result:
    """Check one DMS file. ``file`` must be seekable; it is read as little as possible."""
    result = Result()
    if size == 0:
        result.fail(EMPTY_FILE, "the object is empty (0 bytes)")
        return result
    if size < 12:
        result.fail(NOT_PARQUET, f"{size} bytes is too small to be parquet")
        return result
    file.seek(0)
    if file.read(4) != MAGIC:
        result.fail(NOT_PARQUET, "does not start with the parquet magic bytes")
        return result
    try:
        parquet = pq.ParquetFile(file, pre_buffer=False)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises several types for a bad footer
        result.fail(NOT_PARQUET, f"parquet footer unreadable: {exc}")
        return result

    meta = parquet.metadata
    result.rows, result.row_groups = meta.num_rows, meta.num_row_groups
    if metadata is None:
        result.fail(UNKNOWN_TABLE, f"no metadata for table {key.table_id}")
        return result
    if result.rows == 0:
        result.fail(NO_ROWS, "the file holds no rows; DMS never writes an empty file")

    expected = metadata.expected_columns(key.kind)
    names = schema.names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        result.fail(UNEXPECTED_COLUMNS, f"duplicated columns {duplicated}")
    missing = [n for n in expected if n not in names]
    unexpected = [n for n in names if n not in expected]
    if missing:
        result.fail(MISSING_COLUMNS, f"{key.kind} file lacks columns {missing}")
    if unexpected:
        result.fail(UNEXPECTED_COLUMNS, f"{key.kind} file has columns not in the metadata: {unexpected}")

    well_typed = set()
    for name in names:
        if name not in expected or name in duplicated:
            continue
        actual = schema.field(name).type
        if any(_same_type(actual, p) for p in expected[name]):
            well_typed.add(name)
        else:
            result.fail(TYPE_MISMATCH, f"column {name!r} is {actual}, metadata says {_describe(expected[name])}")

    required = [c for c in metadata.required_columns(key.kind) if c in well_typed]
    op = metadata.dms.op if metadata.dms.op in well_typed else None
    _check_values(parquet, required, op, result, file)
    return result


def _check_values(
    parquet: pq.ParquetFile, required: list[str], op: str | None, result: Result, file: IO[bytes]
) -> None:
    """Nulls in required columns and Op values: statistics first, then targeted reads."""
    meta = parquet.metadata
    # Leaf index of each top-level column (all DMS columns are flat).
    leaf = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    null_found: set[str] = set()
    op_bad: set[str] = set()

    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        if group.num_rows == 0:
            continue
        to_read: list[str] = []
        for name in required:
            if name in null_found:
                continue
            stats = group.column(leaf[name]).statistics if name in leaf else None
            if stats is not None and stats.has_null_count:
                if stats.null_count > 0:
                    null_found.add(name)
                    result.fail(
                        NULL_IN_REQUIRED_COLUMN,
                        f"column {name!r} has {stats.null_count} null(s) in row group {rg}",
                    )
            else:
                to_read.append(name)
        if op and not op_bad:
            stats = group.column(leaf[op]).statistics if op in leaf else None
            decided = (
                stats is not None
                and stats.has_min_max
                and stats.min == stats.max
                and stats.min in OP_VALUES
                and stats.has_null_count
            )
            if not decided and op not in to_read:
                to_read.append(op)
        if not to_read:
            continue
        if hasattr(file, "prefetch"):
            # One ranged GET for the chunks this row group needs (and those that follow).
            file.read_ahead = SCAN_READ_AHEAD
            file.prefetch(*_span(group, [leaf[name] for name in to_read]))
        table = parquet.read_row_group(rg, columns=to_read)
        result.chunks_scanned += len(to_read)
        for name in to_read:
            column = table.column(name)
            if name in required and name not in null_found and column.null_count:
                null_found.add(name)
                result.fail(
                    NULL_IN_REQUIRED_COLUMN, f"column {name!r} has {column.null_count} null(s) in row group {rg}"
                )
            if name == op and not op_bad:
                values = {v for v in pc.unique(column).to_pylist() if v is not None}
                bad = sorted(values - OP_VALUES)
                if bad:
                    op_bad.update(bad)
                    result.fail(INVALID_OP, f"{op!r} holds {bad[:5]} in row group {rg}; only I/U/D are valid")
        del table  # bounded memory: one row group's needed columns at a time


def _span(group, leaves: list[int]) -> tuple[int, int]:
    """Byte range covering the given column chunks of one row group."""
    starts, ends = [], []
    for i in leaves:
        chunk = group.column(i)
        start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
        starts.append(start)
        ends.append(start + chunk.total_compressed_size)
    return min(starts), max(ends)
