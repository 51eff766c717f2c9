"""Load-generation markers: when a table's full load (or reload) started and ended.

A full load is the table as DMS read it, and DMS stamps each full-load row with the time
it was written to the target, not the time it was read (``TimestampColumnName``): the
files alone cannot say from which moment changes must be applied on top of the load.
DMS's table statistics can (``DescribeTableStatistics``: ``FullLoadStartTime``,
``FullLoadEndTime``, ``TableState``). A marker is a small parquet file in the table's
raw history, written once the statistics say the table's load is complete, holding two
rows in the DMS columns only:

* change sequence ``START``, timestamp = ``FullLoadStartTime`` floored to the second
  (the load read the table at or after it; commit times may be rounded to the second);
* change sequence ``END``, timestamp = ``FullLoadEndTime`` rounded up to the second, plus
  one second (every row of this load was written before it; exclusive bound).

The current-state view (``components/views.py``) uses the newest marked generation: its
full-load rows (stamped in [START, END)) and every change committed at or after START.
See docs/analytics.md. Pure data plus pyarrow (imported when a file is built).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.layout import DAY, Layout
from functions.common.metadata import TableMetadata, arrow_type

MARKER_PREFIX = "GENERATION-"
START, END = "START", "END"
COMPLETED = "Table completed"  # TableState once a table's full load has finished


def dms_text(moment: datetime) -> str:
    """A moment in the DMS timestamp column's text form (UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def bounds(started: datetime, ended: datetime) -> tuple[str, str]:
    """(START, END) of a generation, as the marker holds them."""
    start = started.astimezone(UTC).replace(microsecond=0)
    end = ended.astimezone(UTC)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    return dms_text(start), dms_text(end + timedelta(seconds=1))


def marker_key(meta: TableMetadata, started: datetime, ended: datetime, layout: Layout = DAY) -> str:
    """The raw-history key of a generation's marker (in the partition of the day, or hour, its
    load ended: the source's ``layout``)."""
    start = started.astimezone(UTC)
    return (
        f"{meta.schema}/{meta.table}/{layout.folder(ended)}/{MARKER_PREFIX}{start.strftime('%Y%m%d-%H%M%S%f')}.parquet"
    )


def completed_loads(statistics: dict[str, Any]) -> list[dict[str, Any]]:
    """The tables of a ``DescribeTableStatistics`` answer whose full load is complete."""
    return [
        t
        for t in statistics.get("TableStatistics", [])
        if t.get("TableState") == COMPLETED and t.get("FullLoadStartTime") and t.get("FullLoadEndTime")
    ]


def marker_table(meta: TableMetadata, started: datetime, ended: datetime):
    """The marker as an arrow table with the table's CDC columns (data columns null)."""
    import pyarrow as pa

    if not meta.dms.change_sequence:
        raise ValueError(f"{meta.table_id}: no change-sequence column, so no generation marker")
    start, end = bounds(started, ended)
    fields = [pa.field(meta.dms.op, pa.string()), pa.field(meta.dms.timestamp, pa.string(), nullable=False)]
    fields += [pa.field(c.name, arrow_type(c.type)) for c in meta.columns]
    fields.append(pa.field(meta.dms.change_sequence, pa.string()))
    arrays = [pa.array([None, None], pa.string()), pa.array([start, end], pa.string())]
    arrays += [pa.nulls(2, arrow_type(c.type)) for c in meta.columns]
    arrays.append(pa.array([START, END], pa.string()))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def marker_bytes(meta: TableMetadata, started: datetime, ended: datetime) -> bytes:
    """The marker file's parquet bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(marker_table(meta, started, ended), sink)
    return sink.getvalue().to_pybytes()


def write_markers(
    s3: Any, bucket: str, tables: dict[str, TableMetadata], statistics: dict[str, Any], layout: Layout = DAY
) -> list[str]:
    """Write a marker for every completed load in ``statistics``; returns the keys written.
    ``tables`` maps ``schema.table`` to metadata, ``layout`` is the source's partitions.

    Idempotent: a marker's key and bytes follow from the load's start and end, and it is
    put only if absent (``If-None-Match: *``), so a marker already written is not written
    again (no new version in the versioned raw-history bucket) and is not returned."""
    written = []
    for entry in completed_loads(statistics):
        meta = tables.get(f"{entry.get('SchemaName')}.{entry.get('TableName')}")
        if meta is None or not meta.dms.change_sequence:
            continue
        started, ended = entry["FullLoadStartTime"], entry["FullLoadEndTime"]
        key = marker_key(meta, started, ended, layout)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=marker_bytes(meta, started, ended), IfNoneMatch="*")
        except Exception as exc:  # botocore's ClientError, without importing botocore here
            if getattr(exc, "response", {}).get("Error", {}).get("Code") not in ("412", "PreconditionFailed"):
                raise
            continue  # written already
        written.append(key)
    return written
