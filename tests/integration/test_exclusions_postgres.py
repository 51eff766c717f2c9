"""``metadata extract`` with excludeColumns, against a real PostgreSQL: excluded columns leave
``columns`` for ``excluded``, whatever their type; a primary key cannot be excluded; drift."""

import json

import psycopg
import pytest

from cloudbridge import metadata as cli
from functions.common.metadata import TableMetadata

SCHEMA = """
drop schema if exists crm cascade;
create schema crm;
create table crm.customers (
    id bigint primary key,
    email varchar(320) not null,
    full_name text,
    card_number varchar(19),
    card_cvc char(3),
    home point,
    created_at timestamptz not null
);
create table crm.orders (
    order_id bigint primary key,
    customer_id bigint not null,
    card_number varchar(19),
    amount numeric(12, 2)
);
create table crm.notes (note_id integer primary key, body text);
"""


@pytest.fixture(scope="module")
def crm(postgres):
    with psycopg.connect(postgres.conninfo, autocommit=True) as connection:
        connection.execute(SCHEMA)
    yield postgres
    with psycopg.connect(postgres.conninfo, autocommit=True) as connection:
        connection.execute("drop schema crm cascade")


@pytest.fixture
def run_cli(crm, monkeypatch):
    """``python -m cloudbridge metadata …`` for a stack entry with ``excludeColumns``."""

    def run(command, root, exclude, tables=("crm.%",), **settings):
        entry = {
            "name": "crm",
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": crm.port,
            "database": crm.database,
            "tables": list(tables),
            "excludeColumns": list(exclude),
            **settings,
        }
        monkeypatch.setattr(cli, "source_entry", lambda stack, name: entry)
        monkeypatch.setenv("CLOUDBRIDGE_DSN", crm.dsn)
        return cli.main([command, "--source", "crm", "--metadata-dir", str(root)])

    return run


def read(root, table):
    return TableMetadata.from_json((root / f"crm/crm/{table}.json").read_text())


EXCLUDE = ["crm.customers.email", "crm.%.card_%", "crm.customers.home"]


def test_excluded_columns_leave_columns_and_are_listed_under_excluded(run_cli, tmp_path, capsys):
    assert run_cli("extract", tmp_path, EXCLUDE) == 0
    customers = read(tmp_path, "customers")
    assert [c.name for c in customers.columns] == ["id", "full_name", "created_at"]
    assert customers.excluded == ("card_%", "email", "home")
    orders = read(tmp_path, "orders")
    assert [c.name for c in orders.columns] == ["order_id", "customer_id", "amount"]
    assert orders.excluded == ("card_%",)
    # A pattern is kept for every table it applies to: a card_… column notes gains later is excluded too.
    notes = read(tmp_path, "notes")
    assert [c.name for c in notes.columns] == ["note_id", "body"] and notes.excluded == ("card_%",)
    err = capsys.readouterr().err
    for column in ("customers.email", "customers.card_number", "customers.card_cvc", "orders.card_number"):
        assert f"EXCLUDED crm.{column}: kept out of the lake" in err, column


def test_a_table_no_exclusion_applies_to_is_written_as_before(run_cli, tmp_path):
    assert run_cli("extract", tmp_path, ["crm.customers.email", "crm.customers.home"]) == 0
    assert '"excluded"' not in (tmp_path / "crm/crm/orders.json").read_text()
    assert read(tmp_path, "orders").excluded == ()


def test_an_excluded_column_of_an_unsupported_type_is_no_obstacle(run_cli, tmp_path, capsys):
    """crm.customers.home is a point, which DMS cannot carry: excluded, it is never mapped."""
    assert run_cli("extract", tmp_path, ["crm.customers.home"], tables=["crm.customers"]) == 0
    assert read(tmp_path, "customers").excluded == ("home",)
    assert run_cli("extract", tmp_path, [], tables=["crm.customers"]) == 1  # not excluded: a finding
    assert "crm.customers.home" in capsys.readouterr().err


def test_an_excluded_time_column_is_warned_about_the_second_transformation(run_cli, crm, tmp_path, capsys):
    """The task casts every TIME column to text; excluding one gives it a second transformation, which
    DMS documents as one too many: extract still writes the metadata, and says what to check."""
    with psycopg.connect(crm.conninfo, autocommit=True) as connection:
        connection.execute("create table crm.shifts (id integer primary key, starts time, ends timetz, note text)")
    try:
        capsys.readouterr()
        exclude = ["crm.shifts.starts", "crm.shifts.note"]
        assert run_cli("extract", tmp_path, exclude, tables=["crm.shifts"]) == 0
        err = capsys.readouterr().err
        assert "WARNING crm.shifts.starts: excluded, and a TIME column the task also casts to text" in err
        assert "EXCLUDED_COLUMN" in err and "crm.shifts.note: excluded, and" not in err  # text: one rule only
        assert [c.name for c in read(tmp_path, "shifts").columns] == ["id", "ends"]
    finally:
        with psycopg.connect(crm.conninfo, autocommit=True) as connection:
            connection.execute("drop table crm.shifts")


def test_an_exclusion_of_a_primary_key_column_is_refused(run_cli, tmp_path, capsys):
    assert run_cli("extract", tmp_path, ["crm.orders.order_id"], tables=["crm.orders"]) == 2
    err = capsys.readouterr().err
    assert "crm.orders.order_id, a primary-key column" in err and "remove it from excludeColumns" in err
    assert not list(tmp_path.rglob("*.json"))


def test_an_exclusion_matching_no_column_is_warned_about(run_cli, tmp_path, capsys):
    assert run_cli("extract", tmp_path, ["crm.customers.Email", *EXCLUDE]) == 0
    err = capsys.readouterr().err
    assert "WARNING excludeColumns 'crm.customers.Email' matches no column" in err
    assert "WARNING excludeColumns 'crm.%.card_%'" not in err


def test_added_table_sets_are_extracted_with_their_exclusions(run_cli, tmp_path):
    assert run_cli("extract", tmp_path, EXCLUDE, tables=["crm.customers"], addedTables=[["crm.orders"]]) == 0
    assert read(tmp_path, "orders").excluded == ("card_%",)
    assert sorted(p.stem for p in (tmp_path / "crm/crm").glob("*.json")) == ["customers", "orders"]


def test_the_result_is_valid_for_the_deploy_and_stable(run_cli, tmp_path, capsys):
    run_cli("extract", tmp_path, EXCLUDE)
    capsys.readouterr()
    assert run_cli("extract", tmp_path, EXCLUDE) == 0
    assert "metadata unchanged" in capsys.readouterr().out
    assert run_cli("diff", tmp_path, EXCLUDE) == 0


def test_adding_an_exclusion_is_drift_until_the_metadata_is_extracted_again(run_cli, tmp_path, capsys):
    run_cli("extract", tmp_path, EXCLUDE)
    capsys.readouterr()
    assert run_cli("diff", tmp_path, [*EXCLUDE, "crm.customers.full_name"]) == 1
    drift = json.loads(capsys.readouterr().out)["drift"]
    assert drift == [
        "crm.customers.full_name: column dropped",
        "crm.customers: excluded ['card_%', 'email', 'home'] -> ['card_%', 'email', 'full_name', 'home']",
    ]
