"""Metadata extraction against a real PostgreSQL: every common type, keys, drift."""

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from cloudbridge import metadata as cli
from functions.common.metadata import TableMetadata
from functions.common.typemap import UnsupportedTypeError

GOLDEN = Path(__file__).parent / "golden" / "metadata"
PATTERNS = ["sales.%", "archive.orders"]


@pytest.fixture(scope="module")
def source(postgres):
    with psycopg.connect(postgres.conninfo, autocommit=True) as connection:
        connection.execute(
            "drop schema if exists sales cascade; drop schema if exists archive cascade; drop type if exists mood"
        )
        connection.execute((Path(__file__).parent / "all_types.sql").read_text())
    return postgres


@pytest.fixture
def run_cli(source, monkeypatch):
    """``python -m cloudbridge metadata …`` against the test server, stack entry patched in."""

    def run(command, root, patterns=PATTERNS, **settings):
        entry = {
            "name": "src",
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": source.port,
            "database": source.database,
            "tables": patterns,
            **settings,
        }
        monkeypatch.setattr(cli, "source_entry", lambda stack, name: entry)
        monkeypatch.setenv("CLOUDBRIDGE_DSN", source.dsn)  # never on the command line
        return cli.main([command, "--source", "src", "--metadata-dir", str(root)])

    return run


def test_extracts_every_selected_table_like_the_golden_files(run_cli, tmp_path, capsys):
    assert run_cli("extract", tmp_path) == 0
    produced = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert produced == [
        "src/archive/orders.json",
        "src/sales/all_types.json",
        "src/sales/audit_log.json",
        "src/sales/order_lines.json",
        "src/sales/orders.json",
    ]
    for name in produced:
        assert (tmp_path / name).read_text() == (GOLDEN / name).read_text(), name


def test_type_mapping_follows_dms(run_cli, tmp_path):
    run_cli("extract", tmp_path)
    meta = TableMetadata.from_json((tmp_path / "src/sales/all_types.json").read_text())
    types = {c.name: (c.type, c.accept) for c in meta.columns}
    assert types["c_int2"] == ("int16", ())
    assert types["c_numeric_10_2"] == ("decimal(10,2)", ())
    assert types["c_numeric"] == ("decimal(28,6)", ())  # DMS truncates unqualified numeric
    assert types["c_numeric_40"] == ("string", ())
    assert types["c_money"] == ("decimal(38,4)", ())
    assert types["c_bool"] == ("bool", ("string",))
    assert types["c_real"][0] == "float32" and types["c_double"][0] == "float64"
    # timestampUnit defaults to ms (ParquetTimestampInMillisecond); TIME is cast to text.
    assert types["c_timestamptz"][0] == types["c_timestamp"][0] == "timestamp(ms)"
    assert types["c_time"][0] == "string" and types["c_date"][0] == "date"
    for name in ("c_text", "c_json", "c_jsonb", "c_uuid", "c_interval", "c_enum", "c_int_array", "c_char_3"):
        assert types[name][0] == "string", name
    assert types["c_bytea"][0] == "binary"
    assert meta.column("id").nullable is False and meta.column("c_int4").nullable is True


def test_microsecond_sources_extract_microsecond_timestamps(run_cli, tmp_path):
    run_cli("extract", tmp_path, timestampUnit="us")
    meta = TableMetadata.from_json((tmp_path / "src/sales/all_types.json").read_text())
    assert meta.column("c_timestamp").type == meta.column("c_timestamptz").type == "timestamp(us)"
    assert meta.timestamp_units() == {"us"}


def test_keys_and_schemas(run_cli, tmp_path):
    run_cli("extract", tmp_path)
    lines = TableMetadata.from_json((tmp_path / "src/sales/order_lines.json").read_text())
    assert lines.primary_key == ("order_id", "line_no")
    audit = TableMetadata.from_json((tmp_path / "src/sales/audit_log.json").read_text())
    assert audit.primary_key == ()
    sales_orders = TableMetadata.from_json((tmp_path / "src/sales/orders.json").read_text())
    archive_orders = TableMetadata.from_json((tmp_path / "src/archive/orders.json").read_text())
    assert [c.name for c in sales_orders.columns] != [c.name for c in archive_orders.columns]
    assert not (tmp_path / "src/archive/ignored.json").exists()


def test_report_names_tables_without_keys_and_lob_columns(run_cli, tmp_path, capsys):
    run_cli("extract", tmp_path)
    err = capsys.readouterr().err
    assert "WARNING sales.audit_log: no primary key" in err
    for column in (
        "sales.all_types.c_text",
        "sales.all_types.c_jsonb",
        "sales.all_types.c_bytea",
        "sales.all_types.c_varchar",
        "sales.audit_log.message",
    ):
        assert f"LOB {column}:" in err, column
    assert "LOB sales.all_types.c_varchar_30" not in err
    assert "c_numeric: numeric without precision" in err


def test_rerun_on_an_unchanged_database_changes_nothing(run_cli, tmp_path, capsys):
    run_cli("extract", tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    capsys.readouterr()
    assert run_cli("extract", tmp_path) == 0
    assert "metadata unchanged" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")} == before
    assert run_cli("diff", tmp_path) == 0


def test_diff_detects_drift_after_alter_table(run_cli, source, tmp_path, capsys):
    shutil.copytree(GOLDEN, tmp_path, dirs_exist_ok=True)
    with psycopg.connect(source.conninfo, autocommit=True) as connection:
        connection.execute("alter table sales.orders add column discount numeric(5, 2)")
        connection.execute("alter table sales.orders alter column total type numeric(14, 2)")
        connection.execute("alter table archive.orders drop column archived_on")
        connection.execute("create table sales.refunds (refund_id bigint primary key)")
    try:
        capsys.readouterr()
        assert run_cli("diff", tmp_path) == 1
        drift = json.loads(capsys.readouterr().out)["drift"]
        assert drift == [
            "archive.orders.archived_on: column dropped",
            "sales.orders.discount: column added (decimal(5,2))",
            "sales.orders.total: type decimal(12,2) -> decimal(14,2) (source numeric(12, 2) -> numeric(14, 2))",
            "sales.refunds: new table, no committed metadata",
        ]
    finally:
        with psycopg.connect(source.conninfo, autocommit=True) as connection:
            connection.execute("drop table sales.refunds")
            connection.execute("alter table sales.orders drop column discount")
            connection.execute("alter table sales.orders alter column total type numeric(12, 2)")
            connection.execute("alter table archive.orders add column archived_on date")
            connection.execute("alter table archive.orders drop column total")
            connection.execute("alter table archive.orders add column total numeric(14, 4)")
            connection.execute("update archive.orders set archived_on = current_date")
            connection.execute("alter table archive.orders alter column archived_on set not null")


def test_unsupported_type_names_table_and_column(run_cli, source, tmp_path, capsys):
    with psycopg.connect(source.conninfo, autocommit=True) as connection:
        connection.execute("create schema odd; create table odd.places (id integer primary key, spot point)")
    try:
        capsys.readouterr()
        assert run_cli("extract", tmp_path, patterns=["odd.places"]) == 1  # a finding, like preflight's
        err = capsys.readouterr().err
        assert "odd.places.spot" in err and "POINT" in err.upper()
        assert not list(tmp_path.rglob("*.json"))
    finally:
        with psycopg.connect(source.conninfo, autocommit=True) as connection:
            connection.execute("drop schema odd cascade")


def test_names_athena_cannot_tell_apart_are_a_finding_and_an_exclusion_resolves_them(run_cli, source, tmp_path, capsys):
    """Postgres keeps "Code" and code apart, Athena does not; a column dt would double the partition key."""
    with psycopg.connect(source.conninfo, autocommit=True) as connection:
        connection.execute(
            'create schema odd; create table odd.codes (id integer primary key, "Code" text, code text, dt date)'
        )
    try:
        capsys.readouterr()
        assert run_cli("extract", tmp_path, patterns=["odd.codes"]) == 1
        err = capsys.readouterr().err
        assert "odd.codes: column 'Code' and column 'code'" in err
        assert "odd.codes: column 'dt' and partition key 'dt'" in err
        assert not list(tmp_path.rglob("*.json"))
        exclude = ["odd.codes.Code", "odd.codes.dt"]
        assert run_cli("extract", tmp_path, patterns=["odd.codes"], excludeColumns=exclude) == 0
        meta = TableMetadata.from_json((tmp_path / "src/odd/codes.json").read_text())
        assert [c.name for c in meta.columns] == ["id", "code"]
    finally:
        with psycopg.connect(source.conninfo, autocommit=True) as connection:
            connection.execute("drop schema odd cascade")


def test_connection_errors_never_show_the_dsn(monkeypatch, tmp_path, capsys):
    entry = {"name": "src", "engine": "postgres", "host": "127.0.0.1", "port": 1, "database": "x", "tables": ["a.b"]}
    monkeypatch.setattr(cli, "source_entry", lambda stack, name: entry)
    monkeypatch.setenv("CLOUDBRIDGE_DB_USER", "reader")
    monkeypatch.setenv("CLOUDBRIDGE_DB_PASSWORD", "s3cr3t-pw")
    assert cli.main(["extract", "--source", "src", "--metadata-dir", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "cannot inspect source 'src'" in out.err and "s3cr3t-pw" not in out.err + out.out


def test_unsupported_type_error_is_raised_for_unknown_types():
    from functions.common.typemap import SourceType, map_type

    with pytest.raises(UnsupportedTypeError, match=r"s\.t\.c: postgres type TSVECTOR"):
        map_type("postgres", SourceType("TSVECTOR"), "s.t.c")


def test_credentials_never_come_from_the_command_line(source, monkeypatch, capsys):
    """There is no --dsn: a password on argv is visible to every process on the machine."""
    with pytest.raises(SystemExit):
        cli.main(["extract", "--source", "src", "--dsn", source.dsn])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_credentials_from_pgpassword_or_the_sources_secret(monkeypatch):
    entry = {"engine": "postgres", "host": "db", "port": 5432, "database": "sales", "credentialsSecretArn": "arn:x"}
    for name in ("CLOUDBRIDGE_DSN", "CLOUDBRIDGE_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDBRIDGE_DB_USER", "reader")
    monkeypatch.setenv("PGPASSWORD", "p@ss")
    assert cli.connection_url(entry) == "postgresql+psycopg://reader:p%40ss@db:5432/sales"

    class Secrets:
        def get_secret_value(self, SecretId):  # noqa: N803 (boto3 name)
            assert SecretId == "arn:x"
            return {"SecretString": json.dumps({"username": "dms", "password": "s3cret"})}

    assert (
        cli.connection_url(entry, from_secret=True, secrets=Secrets())
        == "postgresql+psycopg://dms:s3cret@db:5432/sales"
    )
