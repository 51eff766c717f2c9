"""Source column types → the portable types DMS writes to parquet, per engine.

Follows docs/dms.md, "Type mapping". Input is a plain ``SourceType`` (what SQLAlchemy's
inspector reports, normalised by the CLI), so the rules are pure and testable for every
engine without a database of that engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from functions.common.metadata import decimal


class UnsupportedTypeError(ValueError):
    """A source type DMS cannot carry to parquet (or that we do not know)."""


@dataclass(frozen=True)
class SourceType:
    """A column's type as the source database declares it."""

    name: str  # upper-case type name, e.g. NUMERIC, VARCHAR, TIMESTAMP
    precision: int | None = None
    scale: int | None = None
    length: int | None = None
    unsigned: bool = False
    timezone: bool = False
    is_array: bool = False


@dataclass(frozen=True)
class Mapped:
    """Where DMS's type mapping takes a source type: the portable type, LOB or not, and notes."""

    type: str
    accept: tuple[str, ...] = ()
    lob: bool = False  # carried as a LOB: limited LOB mode may truncate it
    notes: tuple[str, ...] = field(default_factory=tuple)


# The task casts every TIME column to text (change-data-type rule): DMS would write parquet
# TIME, which Athena and Glue cannot read.
_TIME_AS_STRING = Mapped("string", notes=("time: written as text by the task's change-data-type rule",))


def cast_by_the_task(mapped: Mapped) -> bool:
    """Whether the task's own change-data-type rule (TIME to text) transforms this column."""
    return mapped is _TIME_AS_STRING


def _numeric(t: SourceType, engine: str) -> Mapped:
    if t.precision is None:
        if engine == "postgres":
            # DMS maps an unqualified Postgres numeric to NUMERIC(28,6): digits beyond are lost.
            return Mapped(decimal(28, 6), notes=("numeric without precision: DMS writes decimal(28,6) and truncates",))
        if engine == "oracle":
            return Mapped(decimal(38, 10), notes=("NUMBER without precision: decimal(38,10) per NumberDataTypeScale",))
        return Mapped(decimal(38, 10))
    scale = t.scale or 0
    if t.precision > 38:
        return Mapped("string", notes=(f"precision {t.precision} > 38: DMS writes a string",))
    return Mapped(decimal(t.precision, scale))


def _postgres(t: SourceType) -> Mapped:
    n = t.name
    if t.is_array:
        return Mapped("string", lob=True, notes=("array: DMS writes it as text (NCLOB)",))
    simple = {
        "SMALLINT": "int16", "INT2": "int16", "INTEGER": "int32", "INT": "int32", "INT4": "int32",
        "BIGINT": "int64", "INT8": "int64", "REAL": "float32", "FLOAT4": "float32",
        "DOUBLE PRECISION": "float64", "DOUBLE_PRECISION": "float64", "FLOAT8": "float64",
        "DATE": "date", "UUID": "string", "INTERVAL": "string", "ENUM": "string",
        "INET": "string", "CIDR": "string", "MACADDR": "string", "CITEXT": "string",
    }  # fmt: skip
    if n in simple:
        return Mapped(simple[n])
    if n in ("NUMERIC", "DECIMAL"):
        return _numeric(t, "postgres")
    if n == "MONEY":
        return Mapped(decimal(38, 4))
    if n in ("BOOLEAN", "BOOL"):
        # Written as BOOLEAN or as a string, by DMS version and MapBooleanAsBoolean.
        return Mapped("bool", accept=("string",))
    if n in ("VARCHAR", "CHARACTER VARYING", "CHAR", "CHARACTER", "BPCHAR"):
        if t.length is None and n in ("VARCHAR", "CHARACTER VARYING"):
            return Mapped("string", lob=True, notes=("varchar without length: DMS treats it as a LOB",))
        return Mapped("string")
    if n in ("TEXT", "JSON", "JSONB", "HSTORE", "XML"):
        return Mapped("string", lob=True, notes=(f"{n.lower()}: carried as a LOB",))
    if n == "BYTEA":
        return Mapped("binary", lob=True, notes=("bytea: carried as a LOB",))
    if n in ("TIME", "TIME WITHOUT TIME ZONE", "TIMETZ", "TIME WITH TIME ZONE"):
        return _TIME_AS_STRING
    if n in ("TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        return Mapped("timestamp(us)")
    raise UnsupportedTypeError(n)


def _oracle(t: SourceType) -> Mapped:
    n = t.name
    if n == "NUMBER":
        if t.precision is None:
            return _numeric(t, "oracle")
        if (t.scale or 0) > 0:
            return Mapped("float64", notes=("NUMBER(p,s>0): DMS writes REAL8 (double)",))
        if t.precision <= 9:
            return Mapped("int32")
        if t.precision <= 18:
            return Mapped("int64")
        return Mapped(decimal(min(t.precision, 38), 0))
    if n in ("INTEGER", "INT", "SMALLINT"):
        return Mapped(decimal(38, 0), notes=("Oracle INTEGER is NUMBER(38): decimal(38,0)",))
    simple = {"BINARY_FLOAT": "float32", "BINARY_DOUBLE": "float64", "FLOAT": "float64", "DATE": "timestamp(us)"}
    if n in simple:
        return Mapped(simple[n])
    if n in ("VARCHAR2", "NVARCHAR2", "VARCHAR", "CHAR", "NCHAR", "ROWID", "UROWID"):
        return Mapped("string")
    if n in ("CLOB", "NCLOB", "LONG"):
        return Mapped("string", lob=True, notes=(f"{n}: LOB; needs a primary key to be captured",))
    if n in ("BLOB", "LONG RAW"):
        return Mapped("binary", lob=True, notes=(f"{n}: LOB; needs a primary key to be captured",))
    if n == "RAW":
        return Mapped("binary")
    if n == "TIMESTAMP":
        return Mapped("string") if t.timezone else Mapped("timestamp(us)")
    if n in (
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP WITH LOCAL TIME ZONE",
        "INTERVAL DAY TO SECOND",
        "INTERVAL YEAR TO MONTH",
    ):
        return Mapped("string")
    raise UnsupportedTypeError(n)


def _sqlserver(t: SourceType) -> Mapped:
    n = t.name
    simple = {
        "TINYINT": "uint8", "SMALLINT": "int16", "INT": "int32", "INTEGER": "int32", "BIGINT": "int64",
        "REAL": "float32", "FLOAT": "float64", "DATE": "date",
        "DATETIME": "timestamp(us)", "DATETIME2": "timestamp(us)", "SMALLDATETIME": "timestamp(us)",
        "DATETIMEOFFSET": "string", "UNIQUEIDENTIFIER": "string",
    }  # fmt: skip
    if n in simple:
        return Mapped(simple[n])
    if n == "TIME":
        return _TIME_AS_STRING
    if n == "BIT":
        return Mapped("bool", accept=("string",))
    if n in ("DECIMAL", "NUMERIC"):
        return _numeric(t, "sqlserver")
    if n == "MONEY":
        return Mapped(decimal(19, 4))
    if n == "SMALLMONEY":
        return Mapped(decimal(10, 4))
    if n in ("CHAR", "NCHAR", "VARCHAR", "NVARCHAR"):
        if t.length is None or t.length < 0:  # (max)
            return Mapped("string", lob=True, notes=(f"{n.lower()}(max): carried as a LOB",))
        return Mapped("string")
    if n in ("TEXT", "NTEXT", "XML"):
        return Mapped("string", lob=True, notes=(f"{n.lower()}: carried as a LOB",))
    if n in ("BINARY", "VARBINARY", "IMAGE"):
        if n == "IMAGE" or t.length is None or t.length < 0:
            return Mapped("binary", lob=True, notes=(f"{n.lower()}: carried as a LOB",))
        return Mapped("binary")
    raise UnsupportedTypeError(n)


def _mysql(t: SourceType) -> Mapped:
    n = t.name
    ints = {
        "TINYINT": "int8",
        "SMALLINT": "int16",
        "MEDIUMINT": "int32",
        "INT": "int32",
        "INTEGER": "int32",
        "BIGINT": "int64",
    }
    if n in ints:
        return Mapped(ints[n].replace("int", "uint") if t.unsigned else ints[n])
    if n in ("DECIMAL", "NUMERIC"):
        return _numeric(t, "mysql")
    simple = {
        "FLOAT": "float32", "DOUBLE": "float64", "REAL": "float64", "DATE": "date",
        "DATETIME": "timestamp(us)", "TIMESTAMP": "timestamp(us)", "YEAR": "int16",
        "ENUM": "string", "SET": "string",
    }  # fmt: skip
    if n in simple:
        return Mapped(simple[n])
    if n == "TIME":
        return _TIME_AS_STRING
    if n in ("BOOLEAN", "BOOL"):
        return Mapped("int8", notes=("MySQL BOOLEAN is TINYINT(1)",))
    if n in ("CHAR", "VARCHAR"):
        return Mapped("string")
    if n in ("TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "JSON"):
        return Mapped("string", lob=True, notes=(f"{n.lower()}: carried as a LOB",))
    if n in ("BINARY", "VARBINARY", "BIT"):
        return Mapped("binary")
    if n in ("TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB"):
        return Mapped("binary", lob=True, notes=(f"{n.lower()}: carried as a LOB",))
    raise UnsupportedTypeError(n)


_ENGINES = {"postgres": _postgres, "oracle": _oracle, "sqlserver": _sqlserver, "mysql": _mysql}


def map_type(engine: str, source_type: SourceType, where: str = "", timestamp_unit: str = "ms") -> Mapped:
    """The portable type of a column; ``where`` (schema.table.column) names it in errors.

    ``timestamp_unit`` is the source's ``timestampUnit``: the unit DMS writes timestamps in."""
    try:
        mapper = _ENGINES[engine]
    except KeyError:
        raise UnsupportedTypeError(f"unknown engine {engine!r}") from None
    try:
        mapped = mapper(source_type)
    except UnsupportedTypeError:
        raise UnsupportedTypeError(
            f"{where or 'column'}: {engine} type {source_type.name} has no DMS parquet mapping; "
            "exclude the column or table, or cast it in a view"
        ) from None
    if mapped.type.startswith("timestamp("):
        return replace(mapped, type=f"timestamp({timestamp_unit})")
    return mapped
