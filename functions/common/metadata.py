"""Table metadata: one JSON document per source table, and its portable column types.

The portable vocabulary is small and maps one-to-one to the arrow types DMS writes into
parquet (docs/dms.md, "Type mapping"), and to Glue/Athena types:

    int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64
    decimal(p,s) string binary bool date time(ms) time(us) timestamp(ms) timestamp(us)

A column may list other portable types it also ``accept``s (a Postgres boolean is
written as BOOLEAN or as a string depending on the DMS version and endpoint setting).

``excluded`` (optional; absent means none) lists the columns kept out of the lake, by name or
as DMS ``%`` patterns: the stack's ``excludeColumns`` that apply to the table. DMS removes
them, none is in ``columns`` (so neither in Glue nor in the views), and the validator fails a
file that still carries one (``EXCLUDED_COLUMN``). It is an addition to format version 2, not
a new version: a reader that ignores the key still fails such a file, as a column not in the
metadata (``UNEXPECTED_COLUMNS``), and files without it read as before.
Pure Python; pyarrow is imported only by ``arrow_type``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from functions.common.dms import OP_COLUMN, TIMESTAMP_COLUMN, locator_matches
from functions.common.runtime import PARTITION_KEY

FORMAT_VERSION = 2
# Version 1 named the ordering column "streamPosition" and made it mandatory.
_READABLE_VERSIONS = (1, 2)

_SIMPLE = {
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "string", "binary", "bool", "date",
}  # fmt: skip
_DECIMAL = re.compile(r"^decimal\((\d{1,2}),(\d{1,2})\)$")
_UNIT = re.compile(r"^(time|timestamp)\((ms|us)\)$")
_TIMESTAMP = re.compile(r"^timestamp\((ms|us)\)$")


class MetadataError(ValueError):
    """Malformed table metadata; the message names the table (and column)."""


# The current-state views and compacted tables name their own columns with this prefix.
RESERVED_PREFIX = "_cb_"


def name_clashes(columns: list[str] | tuple[str, ...], dms: DmsColumns) -> list[str]:
    """The names in a table's Glue definition that Athena cannot tell apart, one line per clash.

    Athena lower-cases column names, and the Glue table holds the DMS columns and the partition
    key beside the source's columns: ``Name`` and ``name``, a column ``op`` beside DMS's ``Op``,
    or a column ``dt`` beside the partition key make one descriptor with duplicate columns, and
    every query of the table fails (``HIVE_INVALID_METADATA``). Names starting with
    ``RESERVED_PREFIX`` would clash with the views' and compacted tables' own columns.
    """
    owners: dict[str, list[str]] = {}
    named = [(n, "column") for n in columns] + [(n, "DMS column") for n in sorted(dms.names())]
    for name, what in [*named, (PARTITION_KEY, "partition key")]:
        owners.setdefault(name.lower(), []).append(f"{what} {name!r}")
    out = [" and ".join(found) for found in owners.values() if len(found) > 1]
    out += [
        f"column {n!r} starts with {RESERVED_PREFIX!r}, the views' and compacted tables' own columns"
        for n in columns
        if n.lower().startswith(RESERVED_PREFIX)
    ]
    return out


def check_type(portable: str) -> str:
    """The portable type, or ValueError naming what is wrong with it."""
    if portable in _SIMPLE or _UNIT.match(portable):
        return portable
    match = _DECIMAL.match(portable)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if 1 <= precision <= 38 and 0 <= scale <= precision:
            return portable
    raise ValueError(f"unknown portable type {portable!r}")


def decimal(precision: int, scale: int) -> str:
    """(precision, scale) of a ``decimal(p,s)`` type."""
    return check_type(f"decimal({precision},{scale})")


def arrow_type(portable: str):
    """The arrow type DMS writes for a portable type."""
    import pyarrow as pa

    simple = {
        "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
        "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
        "float32": pa.float32(), "float64": pa.float64(), "string": pa.string(),
        "binary": pa.binary(), "bool": pa.bool_(), "date": pa.date32(),
    }  # fmt: skip
    if portable in simple:
        return simple[portable]
    match = _DECIMAL.match(portable)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    match = _UNIT.match(portable)
    if match:
        kind, unit = match.groups()
        return (
            pa.time32(unit)
            if (kind, unit) == ("time", "ms")
            else (pa.time64(unit) if kind == "time" else pa.timestamp(unit))
        )
    raise ValueError(f"unknown portable type {portable!r}")


def glue_type(portable: str) -> str:
    """The Glue/Athena (Hive) type of a portable type."""
    mapping = {
        "int8": "tinyint", "int16": "smallint", "int32": "int", "int64": "bigint",
        "uint8": "smallint", "uint16": "int", "uint32": "bigint", "uint64": "decimal(20,0)",
        "float32": "float", "float64": "double", "string": "string", "binary": "binary",
        "bool": "boolean", "date": "date",
        "time(ms)": "string", "time(us)": "string",  # Athena has no TIME type for parquet
        "timestamp(ms)": "timestamp", "timestamp(us)": "timestamp",
    }  # fmt: skip
    if portable in mapping:
        return mapping[portable]
    if _DECIMAL.match(portable):
        return portable
    raise ValueError(f"unknown portable type {portable!r}")


@dataclass(frozen=True)
class Column:
    """One source column: name, portable type, nullability, accepted alternative types."""

    name: str
    type: str
    nullable: bool = True
    accept: tuple[str, ...] = ()  # other portable types DMS may write for this column
    source_type: str = ""

    def types(self) -> tuple[str, ...]:
        """The types a file may carry for this column: its own, then the accepted ones the
        Glue column (``glue_type(self.type)``) can read. Athena reads a parquet column only
        as its own type or a few widenings, never a string as a boolean or the reverse, so
        an accepted type with another Glue type is not passed (docs/validation.md)."""
        return (self.type, *self.readable_accept())

    def readable_accept(self) -> tuple[str, ...]:
        """The accepted types whose Glue type is the column's own."""
        return tuple(t for t in self.accept if glue_type(t) == glue_type(self.type))


@dataclass(frozen=True)
class DmsColumns:
    """The columns DMS adds and their names in this table's files."""

    op: str = OP_COLUMN
    timestamp: str = TIMESTAMP_COLUMN
    # The ordering column a transformation rule adds ($AR_H_CHANGE_SEQ), or None when the
    # task adds none: such a table's files carry no change order.
    change_sequence: str | None = "dms_change_seq"
    op_in_full_load: bool = True  # IncludeOpForFullLoad

    def names(self) -> set[str]:
        """The names of the DMS columns (the change sequence only when the table has one)."""
        return {self.op, self.timestamp} | ({self.change_sequence} if self.change_sequence else set())


@dataclass(frozen=True)
class TableMetadata:
    """What the validator checks a table's files against, and what the catalog and views are built from."""

    source: str
    engine: str
    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    dms: DmsColumns = field(default_factory=DmsColumns)
    # Column names, or DMS % patterns, kept out of the lake (the stack's excludeColumns).
    excluded: tuple[str, ...] = ()

    @property
    def table_id(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"

    def is_excluded(self, name: str) -> bool:
        """Whether a column called ``name`` is one the lake must not hold."""
        return any(locator_matches(pattern, name) for pattern in self.excluded)

    def excluded_in(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """The excluded columns among ``names``, in their order."""
        return [name for name in names if self.is_excluded(name)]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    def expected_columns(self, kind: str) -> dict[str, tuple[str, ...]]:
        """Every column a DMS file of ``kind`` (load|cdc) holds, with its accepted types."""
        expected: dict[str, tuple[str, ...]] = {}
        if kind == "cdc" or self.dms.op_in_full_load:
            expected[self.dms.op] = ("string",)
        expected[self.dms.timestamp] = ("string",)
        if self.dms.change_sequence:
            expected[self.dms.change_sequence] = ("string",)
        for column in self.columns:
            expected[column.name] = column.types()
        return expected

    def required_columns(self, kind: str) -> tuple[str, ...]:
        """Columns that may never hold a null: the primary key and what DMS always fills
        (the change sequence only in CDC files: full-load rows have none)."""
        required = list(self.primary_key) + [self.dms.timestamp]
        if kind == "cdc" and self.dms.change_sequence:
            required.append(self.dms.change_sequence)
        if kind == "cdc" or self.dms.op_in_full_load:
            required.insert(0, self.dms.op)
        return tuple(required)

    def timestamp_units(self) -> set[str]:
        """Units of the table's timestamp columns (``ms``/``us``)."""
        return {m.group(1) for c in self.columns for t in c.types() if (m := _TIMESTAMP.match(t))}

    def with_timestamp_unit(self, unit: str) -> TableMetadata:
        """The same table as DMS writes it with ParquetTimestampInMillisecond set for ``unit``."""
        from dataclasses import replace

        def convert(portable: str) -> str:
            return f"timestamp({unit})" if _TIMESTAMP.match(portable) else portable

        columns = tuple(
            replace(c, type=convert(c.type), accept=tuple(convert(t) for t in c.accept)) for c in self.columns
        )
        return replace(self, columns=columns)

    # --- JSON ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the metadata file."""
        return {
            "formatVersion": FORMAT_VERSION,
            "source": self.source,
            "engine": self.engine,
            "schema": self.schema,
            "table": self.table,
            "primaryKey": list(self.primary_key),
            "columns": [
                {
                    "name": c.name,
                    "type": c.type,
                    "nullable": c.nullable,
                    **({"accept": list(c.accept)} if c.accept else {}),
                    **({"sourceType": c.source_type} if c.source_type else {}),
                }
                for c in self.columns
            ],
            **({"excluded": list(self.excluded)} if self.excluded else {}),
            "dmsColumns": {
                "op": self.dms.op,
                "timestamp": self.dms.timestamp,
                "changeSequence": self.dms.change_sequence,
                "opInFullLoad": self.dms.op_in_full_load,
            },
        }

    def to_json(self) -> str:
        """Stable text: the same metadata always serialises to the same bytes."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "") -> TableMetadata:
        """Metadata from its JSON shape; MetadataError naming the file and what is wrong."""
        where = origin or (f"{data.get('schema', '?')}.{data.get('table', '?')}" if isinstance(data, dict) else "?")
        try:
            if not isinstance(data, dict):
                raise TypeError(f"must be a JSON object, not {type(data).__name__}")
            version = data.get("formatVersion")
            if version not in _READABLE_VERSIONS:
                raise ValueError(f"formatVersion must be {FORMAT_VERSION}")
            columns = []
            for raw in data["columns"]:
                try:
                    columns.append(
                        Column(
                            name=str(raw["name"]),
                            type=check_type(raw["type"]),
                            nullable=bool(raw.get("nullable", True)),
                            accept=tuple(check_type(t) for t in raw.get("accept", ())),
                            source_type=str(raw.get("sourceType", "")),
                        )
                    )
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"column {raw.get('name', '?')!r}: {exc}") from None
            names = [c.name for c in columns]
            if len(set(names)) != len(names):
                raise ValueError("duplicate column names")
            primary_key = tuple(data.get("primaryKey", ()))
            missing = [k for k in primary_key if k not in names]
            if missing:
                raise ValueError(f"primary key columns {missing} are not columns")
            dms = _dms_columns(data.get("dmsColumns", {}), version)
            clash = dms.names() & set(names)
            if clash:
                raise ValueError(f"columns {sorted(clash)} clash with the DMS-added columns")
            clashes = name_clashes(names, dms)
            if clashes:
                raise ValueError(
                    f"names Athena cannot tell apart (it lower-cases them): {'; '.join(clashes)}; "
                    "leave the source column out (excludeColumns) or rename it at the source"
                )
            excluded = _excluded(data.get("excluded", []), names, dms)
            return cls(
                source=str(data["source"]),
                engine=str(data["engine"]),
                schema=str(data["schema"]),
                table=str(data["table"]),
                columns=tuple(columns),
                primary_key=primary_key,
                dms=dms,
                excluded=excluded,
            )
        except KeyError as exc:
            raise MetadataError(f"metadata of {where}: missing key {exc}") from None
        except (AttributeError, TypeError, ValueError) as exc:  # any wrong shape is invalid metadata
            raise MetadataError(f"metadata of {where}: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes, origin: str = "") -> TableMetadata:
        """Metadata from a metadata file's text; MetadataError naming ``where`` and what is wrong."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MetadataError(f"metadata {origin}: not JSON ({exc})") from None
        return cls.from_dict(data, origin)


def _dms_columns(raw_dms: dict[str, Any], version: int) -> DmsColumns:
    """The ``dmsColumns`` block; ValueError for what CloudBridge's tasks never write."""
    ordering = raw_dms.get("streamPosition") if version == 1 else raw_dms.get("changeSequence")
    if ordering is not None and not isinstance(ordering, str):
        raise ValueError("dmsColumns.changeSequence must be a column name or null")
    if raw_dms.get("opInFullLoad", True) is not True:
        raise ValueError(
            "dmsColumns.opInFullLoad must be true: CloudBridge always sets IncludeOpForFullLoad, and "
            "without Op in full-load files their rows could not be told from deletes nor read by one "
            "Glue table"
        )
    return DmsColumns(
        op=raw_dms.get("op", OP_COLUMN),
        timestamp=raw_dms.get("timestamp", TIMESTAMP_COLUMN),
        change_sequence=ordering or None,
    )


def _excluded(raw: Any, names: list[str], dms: DmsColumns) -> tuple[str, ...]:
    """The ``excluded`` list; ValueError when it is not a list of distinct names or patterns, or
    when one of them matches a column the files must carry (a listed column, a DMS column)."""
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise ValueError("excluded must be a list of column names (or DMS % patterns)")
    if len(set(raw)) != len(raw):
        raise ValueError("excluded lists a column twice")
    for pattern in raw:
        kept = [n for n in [*names, *sorted(dms.names())] if locator_matches(pattern, n)]
        if kept:
            raise ValueError(
                f"excluded {pattern!r} matches {kept}, which the files carry: an excluded column is never "
                "in columns (nor one of the DMS columns)"
            )
    return tuple(raw)


def metadata_key(schema: str, table: str) -> str:
    """Where a table's metadata lives, in the repo (under metadata/<source>/) and in S3."""
    return f"{schema}/{table}.json"
