"""Parquet files shaped exactly as DMS writes them to S3 (see docs/dms.md).

Used by the tests, the local sandbox's DMS stand-in and the benchmarks; never by the
deployed Lambdas. Layout: ``Op`` first (I/U/D), the timestamp column as a required
string ``yyyy-MM-dd HH:mm:ss.SSSSSS``, the data columns (all optional, whatever the
source's NOT NULL), the change-sequence column added by the table-mapping rule last
(empty in full-load files);
row groups of ``RowGroupLength`` rows, statistics on, parquet 2.x.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from functions.common.dms import ROW_GROUP_LENGTH
from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata, arrow_type


def dms_timestamp(moment: datetime) -> str:
    """DMS's timestamp-column text: ``yyyy-MM-dd HH:mm:ss.SSSSSS`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_file_name(n: int) -> str:
    """Full-load files count in 8-digit upper-case hexadecimal from 1."""
    return f"LOAD{n:08X}.parquet"


def cdc_file_name(moment: datetime) -> str:
    """``YYYYMMDD-HHMMSSmmm.parquet`` (time to the millisecond)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d-%H%M%S") + f"{moment.microsecond // 1000:03d}.parquet"


def cdc_key(
    schema: str, table: str, moment: datetime, partitioned: bool = True, folder: str = "", layout: Layout = DAY
) -> str:
    """Landing key of a CDC file; with date partitioning under ``YYYY/MM/DD/`` (or
    ``YYYY/MM/DD/HH/``: the endpoint's DatePartitionSequence, the source's ``layout``)."""
    prefix = f"{folder.strip('/')}/" if folder else ""
    dated = layout.folder(moment) + "/" if partitioned else ""
    return f"{prefix}{schema}/{table}/{dated}{cdc_file_name(moment)}"


def load_key(schema: str, table: str, n: int, folder: str = "") -> str:
    """The S3 key DMS gives the ``n``-th full-load file of a table, under an optional bucket folder."""
    prefix = f"{folder.strip('/')}/" if folder else ""
    return f"{prefix}{schema}/{table}/{load_file_name(n)}"


def dms_schema(metadata: TableMetadata, kind: str, overrides: dict[str, pa.DataType] | None = None) -> pa.Schema:
    """The arrow schema of a DMS file of ``kind`` (load|cdc) for a table."""
    overrides = overrides or {}
    fields = []
    if kind == "cdc" or metadata.dms.op_in_full_load:
        fields.append(pa.field(metadata.dms.op, pa.string()))
    fields.append(pa.field(metadata.dms.timestamp, pa.string(), nullable=False))
    for column in metadata.columns:
        fields.append(pa.field(column.name, overrides.get(column.name, arrow_type(column.type))))
    if metadata.dms.change_sequence:
        fields.append(pa.field(metadata.dms.change_sequence, pa.string()))
    return pa.schema(fields)


def change_sequence(moment: datetime, counter: int) -> str:
    """``$AR_H_CHANGE_SEQ``: commit time to the hundredth of a second, then a 19-digit counter."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 10000:02d}{counter:019d}"


def dms_table(
    metadata: TableMetadata,
    kind: str,
    rows: Sequence[dict[str, Any]],
    *,
    ops: Sequence[str] | None = None,
    timestamps: Sequence[str] | None = None,
    positions: Sequence[str] | None = None,
    overrides: dict[str, pa.DataType] | None = None,
) -> pa.Table:
    """Data rows (dicts of column values) plus the DMS columns, as DMS lays them out."""
    schema = dms_schema(metadata, kind, overrides)
    n = len(rows)
    now = dms_timestamp(datetime.now(UTC))
    columns: dict[str, list[Any]] = {}
    if metadata.dms.op in schema.names:
        columns[metadata.dms.op] = list(ops) if ops is not None else ["I"] * n
    columns[metadata.dms.timestamp] = list(timestamps) if timestamps is not None else [now] * n
    for column in metadata.columns:
        columns[column.name] = [row.get(column.name) for row in rows]
    if metadata.dms.change_sequence:
        default = (
            [change_sequence(datetime(2024, 1, 1, tzinfo=UTC), i) for i in range(1, n + 1)]
            if kind == "cdc"
            else [""] * n  # full-load rows have no change order
        )
        columns[metadata.dms.change_sequence] = list(positions) if positions is not None else default
    return pa.table(columns, schema=schema)


def write(
    table: pa.Table,
    sink: str | IO[bytes] | pa.NativeFile,
    *,
    row_group_length: int = ROW_GROUP_LENGTH,
    compression: str | None = None,
    statistics: bool | Iterable[str] = True,
    dictionary: bool | Iterable[str] = True,
) -> None:
    """Write like the S3 target: parquet 2.x, statistics on, RowGroupLength rows a group.

    ``statistics`` may list the columns that get statistics, to mimic DMS writing decimal
    columns without min/max; ``dictionary`` likewise lists dictionary-encoded columns.
    """
    pq.write_table(
        table,
        sink,
        row_group_size=row_group_length,
        version="2.6",
        data_page_version="1.0",
        compression=compression or "NONE",
        use_dictionary=dictionary if isinstance(dictionary, bool) else list(dictionary),
        write_statistics=statistics if isinstance(statistics, bool) else list(statistics),
    )


def to_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    """A table as parquet bytes, written as DMS writes them (``kwargs`` override the writer's options)."""
    sink = pa.BufferOutputStream()
    write(table, sink, **kwargs)
    return sink.getvalue().to_pybytes()


_BASE_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z


def synthetic_table(
    metadata: TableMetadata,
    kind: str,
    n: int,
    *,
    start: int = 0,
    op: str = "I",
    null_at: dict[str, int] | None = None,
) -> pa.Table:
    """``n`` rows of plausible values for any table, built column-wise in arrow (fast
    enough for gigabyte files). ``op`` is one Op value, or several cycled (``"IUD"``);
    ``null_at`` puts one null into a column at a row."""
    import pyarrow.compute as pc

    ids = pa.array(range(start + 1, start + n + 1), pa.int64())
    schema = dms_schema(metadata, kind)
    arrays: dict[str, pa.Array] = {}
    if metadata.dms.op in schema.names:
        if len(op) == 1:
            arrays[metadata.dms.op] = pc.if_else(pc.is_null(ids), pa.scalar(op), pa.scalar(op))
        else:
            codes = pc.cast(pc.remainder(ids, len(op)), pa.int8())
            arrays[metadata.dms.op] = pa.DictionaryArray.from_arrays(codes, list(op)).cast(pa.string())
    stamps = pc.cast(pc.add(pc.multiply(ids, 1_000_000), _BASE_US), pa.timestamp("us"))
    arrays[metadata.dms.timestamp] = pc.cast(stamps, pa.string())  # "yyyy-MM-dd HH:mm:ss.SSSSSS"
    for i, column in enumerate(metadata.columns):
        arrays[column.name] = _synthetic_values(ids, column.type, i)
    if metadata.dms.change_sequence:
        if kind == "cdc":
            counter = pc.utf8_lpad(pc.cast(ids, pa.string()), 19, "0")
            arrays[metadata.dms.change_sequence] = pc.binary_join_element_wise("2024010100000000", counter, "")
        else:
            arrays[metadata.dms.change_sequence] = pa.repeat(pa.scalar("", pa.string()), n)
    for name, row in (null_at or {}).items():
        mask = pc.equal(ids, start + row + 1)
        arrays[name] = pc.if_else(mask, pa.scalar(None, arrays[name].type), arrays[name])
    return pa.table([arrays[f.name] for f in schema], schema=schema)


def _synthetic_values(ids: pa.Array, portable: str, salt: int) -> pa.Array:
    """One column of deterministic, scrambled values of a portable type."""
    import pyarrow.compute as pc

    mixed = pc.add(pc.multiply(ids, 2654435761 + salt), salt)
    small = pc.bit_wise_and(mixed, 0x7FFF)
    if portable in ("int8", "uint8"):
        return pc.cast(pc.bit_wise_and(mixed, 0x7F), portable)
    if portable in ("int16", "int32", "uint16", "uint32"):
        return pc.cast(small, portable)
    if portable in ("int64", "uint64"):
        return pc.cast(ids, portable)
    if portable in ("float32", "float64"):
        return pc.cast(pc.divide(pc.cast(small, pa.float64()), 7.0), portable)
    if portable.startswith("decimal("):
        type_ = arrow_type(portable)
        modulus = 10 ** min(type_.precision - type_.scale, 9)
        whole = pc.cast(pc.remainder(pc.cast(mixed, pa.int64()), modulus), pa.decimal128(38, 0))
        return pc.cast(whole, type_)
    if portable == "string":
        return pc.binary_join_element_wise("value-", pc.cast(small, pa.string()), "")
    if portable == "binary":
        return pc.cast(pc.cast(small, pa.string()), pa.binary())
    if portable == "bool":
        return pc.equal(pc.bit_wise_and(mixed, 1), 0)
    if portable == "date":
        return pc.cast(pc.cast(pc.add(pc.bit_wise_and(mixed, 0x3FF), 19_700), pa.int32()), pa.date32())
    if portable.startswith("timestamp("):
        return pc.cast(pc.add(pc.multiply(ids, 1_000_000), _BASE_US), arrow_type(portable))
    if portable.startswith("time("):
        ms = pc.cast(pc.bit_wise_and(mixed, 0x3FFFFFF), pa.int64())
        if portable == "time(ms)":
            return pc.cast(pc.cast(pc.remainder(ms, 86_400_000), pa.int32()), arrow_type(portable))
        return pc.cast(pc.multiply(pc.remainder(ms, 86_400_000), 1000), arrow_type(portable))
    raise ValueError(portable)
