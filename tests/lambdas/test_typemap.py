"""Source types → portable types, per engine (docs/dms.md, "Type mapping").

Postgres is also exercised against a real server (tests/integration); the other engines'
types are what SQLAlchemy's dialects report, built here without a server.
"""

import pytest
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql

from cloudbridge.metadata import source_type
from functions.common.typemap import SourceType, UnsupportedTypeError, map_type


def mapped(engine, sa_type):
    result = map_type(engine, source_type(sa_type), "s.t.c")
    return result.type, result.accept, result.lob


@pytest.mark.parametrize(
    "sa_type,expected",
    [
        (oracle.NUMBER(10, 2), ("float64", (), False)),  # NUMBER(p,s>0) → REAL8
        (oracle.NUMBER(9, 0), ("int32", (), False)),
        (oracle.NUMBER(18, 0), ("int64", (), False)),
        (oracle.NUMBER(30, 0), ("decimal(30,0)", (), False)),
        (oracle.NUMBER(), ("decimal(38,10)", (), False)),  # NumberDataTypeScale
        (oracle.VARCHAR2(100), ("string", (), False)),
        (oracle.NCLOB(), ("string", (), True)),
        (oracle.BLOB(), ("binary", (), True)),
        (oracle.DATE(), ("timestamp(ms)", (), False)),
        (oracle.TIMESTAMP(), ("timestamp(ms)", (), False)),
        (oracle.TIMESTAMP(timezone=True), ("string", (), False)),
        (oracle.BINARY_DOUBLE(), ("float64", (), False)),
    ],
)
def test_oracle(sa_type, expected):
    assert mapped("oracle", sa_type) == expected


@pytest.mark.parametrize(
    "sa_type,expected",
    [
        (mssql.TINYINT(), ("uint8", (), False)),
        (mssql.BIT(), ("bool", ("string",), False)),
        (mssql.MONEY(), ("decimal(19,4)", (), False)),
        (mssql.DECIMAL(12, 2), ("decimal(12,2)", (), False)),
        (mssql.NVARCHAR(40), ("string", (), False)),
        (mssql.NVARCHAR(), ("string", (), True)),  # nvarchar(max)
        (mssql.VARBINARY(16), ("binary", (), False)),
        (mssql.DATETIME2(), ("timestamp(ms)", (), False)),
        (mssql.DATETIMEOFFSET(), ("string", (), False)),
        (mssql.UNIQUEIDENTIFIER(), ("string", (), False)),
        (mssql.NTEXT(), ("string", (), True)),
    ],
)
def test_sqlserver(sa_type, expected):
    assert mapped("sqlserver", sa_type) == expected


@pytest.mark.parametrize(
    "sa_type,expected",
    [
        (mysql.INTEGER(unsigned=True), ("uint32", (), False)),
        (mysql.BIGINT(), ("int64", (), False)),
        (mysql.TINYINT(), ("int8", (), False)),
        (mysql.DECIMAL(10, 3), ("decimal(10,3)", (), False)),
        (mysql.DOUBLE(), ("float64", (), False)),
        (mysql.DATETIME(), ("timestamp(ms)", (), False)),
        (mysql.LONGTEXT(), ("string", (), True)),
        (mysql.JSON(), ("string", (), True)),
        (mysql.ENUM("a", "b"), ("string", (), False)),
    ],
)
def test_mysql(sa_type, expected):
    assert mapped("mysql", sa_type) == expected


@pytest.mark.parametrize(
    "sa_type,expected",
    [
        (postgresql.NUMERIC(), ("decimal(28,6)", (), False)),
        (postgresql.NUMERIC(39, 2), ("string", (), False)),
        (postgresql.NUMERIC(38, 38), ("decimal(38,38)", (), False)),
        (postgresql.MONEY(), ("decimal(38,4)", (), False)),
        (postgresql.BOOLEAN(), ("bool", ("string",), False)),
        (postgresql.JSONB(), ("string", (), True)),
        (postgresql.ARRAY(postgresql.INTEGER()), ("string", (), True)),
        (postgresql.TIMESTAMP(timezone=True), ("timestamp(ms)", (), False)),
        (postgresql.ENUM("a", name="e"), ("string", (), False)),
    ],
)
def test_postgres(sa_type, expected):
    assert mapped("postgres", sa_type) == expected


def test_unsupported_types_name_table_and_column():
    with pytest.raises(
        UnsupportedTypeError, match=r"^sales\.orders\.shape: oracle type SDO_GEOMETRY has no DMS parquet mapping"
    ):
        map_type("oracle", SourceType("SDO_GEOMETRY"), "sales.orders.shape")
    with pytest.raises(UnsupportedTypeError, match="unknown engine 'db2'"):
        map_type("db2", SourceType("INT"), "x")


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_timestamps_follow_the_sources_unit(unit):
    """ParquetTimestampInMillisecond decides the unit of every timestamp DMS writes."""
    for engine, name in [
        ("postgres", "TIMESTAMP"),
        ("oracle", "DATE"),
        ("sqlserver", "DATETIME2"),
        ("mysql", "DATETIME"),
    ]:
        assert map_type(engine, SourceType(name), "s.t.c", timestamp_unit=unit).type == f"timestamp({unit})"


@pytest.mark.parametrize("engine", ["postgres", "sqlserver", "mysql"])
def test_time_is_carried_as_text(engine):
    """The task's change-data-type rule writes TIME as text (Athena and Glue cannot read parquet TIME)."""
    assert map_type(engine, SourceType("TIME"), "s.t.c").type == "string"
    if engine == "postgres":
        assert map_type(engine, SourceType("TIME WITH TIME ZONE"), "s.t.c").type == "string"
