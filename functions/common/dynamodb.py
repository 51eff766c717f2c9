"""DynamoDB items as DMS-shaped rows: what the stream and export converters write (docs/dynamodb.md).

A DynamoDB table lands like a relational one: ``dynamodb/<table>/LOAD<hex>.parquet`` from a full
export and ``dynamodb/<table>/YYYY/MM/DD/<name>.parquet`` from the stream, with the columns DMS
adds (``Op``, the commit-time text, the change sequence) and one column per attribute the table's
metadata declares. DynamoDB has no schema: the metadata is the schema. Each declared column names
its DynamoDB type in ``sourceType`` and its lake type in ``type``:

=========================  =====================================================================
sourceType                 type
=========================  =====================================================================
``S``                      ``string``
``N``                      ``decimal(p,s)``, ``int64`` or ``string`` (the number's text)
``B``                      ``binary``
``BOOL``                   ``bool``
``SS NS BS M L``           ``string``: the value as JSON (sets sorted, numbers as JSON numbers,
                           binary as base64)
=========================  =====================================================================

A value that does not fit its declaration (another DynamoDB type, a number outside the declared
decimal or int64) is not coerced: its column is written as a struct with one string field per
DynamoDB type found (``struct<N: string, S: string>``), which the validator refuses as
``TYPE_MISMATCH`` naming the column. An attribute the metadata does not declare is written as a
column of its own (``S``: string, ``N``: its text, ``B``: binary, ``BOOL``: bool, others JSON), which
the validator refuses as ``UNEXPECTED_COLUMNS``: the file is quarantined with the reason and
replayed once the metadata declares it. ``NULL`` and a missing attribute are nulls.

The change sequence is the stream record's ``SequenceNumber`` zero-padded to 40 digits (the most
the API gives it), so text order is numeric order: DynamoDB assigns sequence numbers "reflecting
the order in which the record was published to the stream", and its DescribeStream example shows
them growing along a shard's lineage (parent, then child), where their digit count grows too —
text order of the unpadded numbers would put a child's ``1683…`` before its parent's ``8204…``.
Pure Python; pyarrow is imported where a table is built.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation
from typing import Any

from functions.common.layout import DAY, Layout
from functions.common.metadata import Column, DmsColumns, TableMetadata, arrow_type

ENGINE = "dynamodb"
# The lake schema of every DynamoDB table: dynamodb/<table>/… in the buckets, dynamodb__<table> in Glue,
# metadata/<source>/dynamodb/<table>.json in the repository.
SCHEMA = "dynamodb"
SEQUENCE_DIGITS = 40
CHANGE_SEQUENCE = re.compile(rb"[0-9]{40}")
OPS = {"INSERT": "I", "MODIFY": "U", "REMOVE": "D"}
# DynamoDB's attribute types, and the lake types a declared attribute of each may have.
JSON_TYPES = ("SS", "NS", "BS", "M", "L")
SOURCE_TYPES = ("S", "N", "B", "BOOL", *JSON_TYPES)
_INT64 = (-(2**63), 2**63 - 1)
ROW_GROUP_LENGTH = 10_000  # as DMS's RowGroupLength (docs/dms.md)
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")  # DynamoDB's table-name rule


class ConversionError(ValueError):
    """A stream record or export line that cannot become a row (not a data problem: a broken input)."""


def lake_table(name: str) -> str:
    """The lake name of a DynamoDB table: its name with ``.`` and ``-`` as ``_`` (Glue and Athena
    identifiers), as the metadata file, landing folder and Glue table are named."""
    return re.sub(r"[.-]", "_", name)


def unknown_table(source: str, table: str) -> TableMetadata:
    """Metadata declaring nothing, for a table without published metadata: every attribute lands
    undeclared and the validator quarantines the files as ``UNKNOWN_TABLE`` (replayed once it is published)."""
    return TableMetadata(source, ENGINE, SCHEMA, lake_table(table), (), (), DmsColumns())


def declaration_problem(column: Column) -> str | None:
    """Why a DynamoDB table's column declaration is unusable, or None."""
    kind, portable = column.source_type, column.type
    if kind not in SOURCE_TYPES:
        return f"sourceType {kind!r} is not a DynamoDB type ({', '.join(SOURCE_TYPES)})"
    allowed = {"S": ("string",), "B": ("binary",), "BOOL": ("bool",)}.get(kind, ("string",))
    if kind == "N" and (portable in ("int64", "string") or portable.startswith("decimal(")):
        return None
    if portable not in allowed:
        wanted = "decimal(p,s), int64 or string" if kind == "N" else " or ".join(allowed)
        return f"a {kind} attribute is declared {wanted}, not {portable}"
    return None


def change_sequence(sequence_number: str) -> str:
    """The change-sequence text of a stream record: its SequenceNumber, zero-padded to 40 digits."""
    if not isinstance(sequence_number, str) or not sequence_number.isdigit() or len(sequence_number) > 40:
        raise ConversionError(f"SequenceNumber {sequence_number!r} is not 1 to 40 digits")
    return sequence_number.rjust(SEQUENCE_DIGITS, "0")


def moment(value: Any) -> datetime:
    """A stream record's ApproximateCreationDateTime (epoch seconds in Lambda events, a datetime
    through boto3) or an export's ISO 8601 time, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    raise ConversionError(f"not a time: {value!r}")


def commit_text(when: datetime) -> str:
    """The commit-time column's text (as DMS's: ``yyyy-MM-dd HH:mm:ss.SSSSSS``, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- values ------------------------------------------------------------------------------


def type_of(value: Mapping[str, Any]) -> str:
    """The DynamoDB type of a typed value (``{"S": "x"}`` is ``S``)."""
    return _only(value)[0]


def _only(value: Mapping[str, Any]) -> tuple[str, Any]:
    """(type, inner value) of a typed value."""
    if type(value) is dict and len(value) == 1:  # the common case, without the ABC check
        return next(iter(value.items()))
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ConversionError(f"not a DynamoDB attribute value: {str(value)[:80]}")
    return next(iter(value.items()))


def _bytes(value: Any) -> bytes:
    """Binary as boto3 gives it (bytes) or as JSON carries it (base64 text)."""
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else base64.b64decode(value)


def _base64(value: Any) -> str:
    """Binary as base64 text (JSON carries it so already)."""
    return value if isinstance(value, str) else base64.b64encode(bytes(value)).decode()


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept (C-accelerated)


def _number(text: str) -> str:
    """A DynamoDB number as a JSON number literal: as DynamoDB holds it when that is one already,
    else normalised exactly (never through a float)."""
    if _JSON_NUMBER.fullmatch(text):
        return text
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ConversionError(f"not a number: {text!r}") from None
    return format(number, "f") if -30 <= number.as_tuple().exponent <= 30 else str(number)


def to_json(value: Mapping[str, Any]) -> str:
    """A typed value as compact JSON text: maps with sorted keys, sets sorted (numbers by value),
    numbers as JSON numbers exactly as DynamoDB holds them, binary as base64."""
    kind, inner = _only(value)
    if kind == "S":
        return _STRING(inner)
    if kind == "N":
        return _number(inner)
    if kind == "M":
        return "{" + ",".join(_STRING(k) + ":" + to_json(v) for k, v in sorted(inner.items())) + "}"
    if kind == "L":
        return "[" + ",".join(to_json(v) for v in inner) + "]"
    if kind == "BOOL":
        return "true" if inner else "false"
    if kind == "NULL":
        return "null"
    if kind == "B":
        return _STRING(_base64(inner))
    if kind == "SS":
        return "[" + ",".join(_STRING(x) for x in sorted(inner)) + "]"
    if kind == "NS":
        return "[" + ",".join(_number(x) for x in sorted(inner, key=_decimal)) + "]"
    if kind == "BS":
        return "[" + ",".join(_STRING(x) for x in sorted(_base64(b) for b in inner)) + "]"
    raise ConversionError(f"unknown DynamoDB type {kind!r}")


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ConversionError(f"not a number: {text!r}") from None


def text_of(value: Mapping[str, Any]) -> str:
    """A value's text in a mismatch struct's field: S and N as they are, the rest as JSON."""
    kind, inner = _only(value)
    return inner if kind in ("S", "N") else to_json(value)


def convert(value: Mapping[str, Any], column: Column) -> tuple[bool, Any]:
    """(fits, lake value) of a typed value for a declared column; fits is False when the value's
    DynamoDB type, or a number's size, does not fit the declaration (nulls always fit)."""
    kind, inner = _only(value)
    if kind == "NULL":
        return True, None
    if kind != column.source_type:
        return False, None
    if kind == "S":
        return True, inner
    if kind == "N":
        return _declared_number(inner, column.type)
    if kind == "B":
        return True, _bytes(inner)
    if kind == "BOOL":
        return True, bool(inner)
    return True, to_json(value)


_INTEGER = re.compile(r"-?[0-9]{1,19}")
# Python's default context keeps 28 digits: scaling or quantizing a number of decimal(38,s) under it
# rounds (a wrong value) or raises InvalidOperation (a batch failing for ever). This one is exact,
# and would raise rather than drop a digit.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact])


def _declared_number(text: str, portable: str) -> tuple[bool, Any]:
    if portable == "string":
        return True, text
    if portable == "int64":
        if _INTEGER.fullmatch(text):  # the common case, without a Decimal
            whole = int(text)
            return (True, whole) if _INT64[0] <= whole <= _INT64[1] else (False, None)
        number = _decimal(text)
        fits = number == number.to_integral_value() and _INT64[0] <= number <= _INT64[1]
        return (True, int(number)) if fits else (False, None)
    precision, scale, quantum = _decimal_limits(portable)
    number = _decimal(text)
    scaled = number.scaleb(scale, context=_EXACT)
    if scaled != scaled.to_integral_value(context=_EXACT) or abs(scaled) >= Decimal(10) ** precision:
        return False, None
    return True, number.quantize(quantum, context=_EXACT)


@functools.cache
def _decimal_limits(portable: str) -> tuple[int, int, Decimal]:
    """(precision, scale, the quantum of that scale) of a ``decimal(p,s)`` type."""
    kind = arrow_type(portable)
    return kind.precision, kind.scale, Decimal(1).scaleb(-kind.scale)


def undeclared(value: Mapping[str, Any]) -> tuple[str, Any]:
    """(lake type, value) of an attribute the metadata does not declare."""
    kind, inner = _only(value)
    if kind == "NULL":
        return "", None
    if kind in ("S", "N"):
        return "string", inner
    if kind == "B":
        return "binary", _bytes(inner)
    if kind == "BOOL":
        return "bool", bool(inner)
    return "string", to_json(value)


# --- rows and files ----------------------------------------------------------------------


class Batch:
    """The rows of one landing file of a table, in the order they were added."""

    def __init__(self, meta: TableMetadata):
        self.meta = meta
        self.items: list[Mapping[str, Any]] = []
        self.ops: list[str] = []
        self.stamps: list[str] = []
        self.sequences: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Mapping[str, Any], op: str, stamp: str, sequence: str) -> None:
        """One row: the item (a full image, attribute name → typed value) and its DMS columns."""
        if not isinstance(item, Mapping):
            raise ConversionError(f"not an item: {str(item)[:80]}")
        self.items.append(item)
        self.ops.append(op)
        self.stamps.append(stamp)
        self.sequences.append(sequence)

    def table(self):
        """The rows as an arrow table laid out as DMS lays out its files: ``Op``, the commit time,
        the declared columns, the undeclared attributes (sorted), the change sequence."""
        import pyarrow as pa

        meta, dms = self.meta, self.meta.dms
        fields = [pa.field(dms.op, pa.string()), pa.field(dms.timestamp, pa.string(), nullable=False)]
        arrays = [pa.array(self.ops, pa.string()), pa.array(self.stamps, pa.string())]
        for column in meta.columns:
            array = self._declared(column)
            fields.append(pa.field(column.name, array.type))
            arrays.append(array)
        declared = {c.name for c in meta.columns}
        for name in sorted({k for item in self.items for k in item} - declared):
            array = self._undeclared(name)
            fields.append(pa.field(name, array.type))
            arrays.append(array)
        if dms.change_sequence:
            fields.append(pa.field(dms.change_sequence, pa.string()))
            arrays.append(pa.array(self.sequences, pa.string()))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def _declared(self, column: Column):
        import pyarrow as pa

        name, kind, values = column.name, column.source_type, []
        append = values.append
        for item in self.items:
            value = item.get(name)
            if value is None:
                append(None)
                continue
            if kind == "S" and type(value) is dict and len(value) == 1 and "S" in value:
                append(value["S"])  # the common case, without a call
                continue
            fits, converted = convert(value, column)
            if not fits:
                return self._mismatch(name)
            append(converted)
        return pa.array(values, arrow_type(column.type))

    def _undeclared(self, name: str):
        import pyarrow as pa

        pairs = [undeclared(item[name]) if name in item else ("", None) for item in self.items]
        kinds = {kind for kind, _ in pairs if kind}
        if len(kinds) > 1:
            return self._mismatch(name)
        return pa.array([v for _, v in pairs], arrow_type(kinds.pop() if kinds else "string"))

    def _mismatch(self, name: str):
        """A column whose values do not fit one type: a struct with a string field per DynamoDB
        type found, each row's value in its own type's field (the validator's TYPE_MISMATCH)."""
        import pyarrow as pa

        typed = [item.get(name) for item in self.items]
        kinds = sorted({type_of(v) for v in typed if v is not None} - {"NULL"})
        struct = pa.struct([pa.field(kind, pa.string()) for kind in kinds])
        rows = [None if v is None or type_of(v) == "NULL" else {type_of(v): text_of(v)} for v in typed]
        return pa.array(rows, struct)


def parquet_bytes(table) -> bytes:
    """A table as the landing file's bytes: parquet 2.x, statistics on, RowGroupLength rows a group
    (the validator decides most files from the footer's statistics)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(
        table, sink, row_group_size=ROW_GROUP_LENGTH, version="2.6", compression="snappy", write_statistics=True
    )
    return sink.getvalue().to_pybytes()


# --- landing keys ------------------------------------------------------------------------


def load_key(table: str, number: int) -> str:
    """The landing key of the ``number``-th full-load file of a table's export (from 1)."""
    return f"{SCHEMA}/{lake_table(table)}/LOAD{number:08X}.parquet"


def cdc_key(table: str, first: datetime, first_sequence: str, rows: int, layout: Layout = DAY) -> str:
    """The landing key of a stream batch's file: under its first record's UTC day (or hour: the
    source's ``layout``), named after that record's time and sequence number and the row count
    (the same batch, retried, has the same key; a smaller retried batch, after a bisection, another)."""
    when = first.astimezone(UTC)
    return f"{SCHEMA}/{lake_table(table)}/{layout.folder(when)}/{when:%Y%m%d-%H%M%S}-{first_sequence}-{rows}.parquet"


def stream_table(event_source_arn: str) -> str:
    """The table a stream record comes from (``arn:…:table/<name>/stream/<label>``)."""
    match = re.search(r":table/([^/]+)/stream/", event_source_arn or "")
    if not match:
        raise ConversionError(f"not a DynamoDB stream ARN: {event_source_arn!r}")
    return match.group(1)


def items_of(lines: Iterable[bytes | str]) -> Iterable[Mapping[str, Any]]:
    """The items of an export data file in DynamoDB JSON (JSON lines of ``{"Item": {...}}``)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)["Item"]
        except (ValueError, KeyError, TypeError):
            raise ConversionError(f"line {number} is not a DynamoDB JSON item") from None
