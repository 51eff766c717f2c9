"""cloudbridge preflight against real PostgreSQL servers: one ready for CDC, one not."""

import psycopg
import pytest

from cloudbridge import preflight
from cloudbridge.localpg import LocalPostgres

SCHEMA = """
create table public.ready_orders (id bigint primary key, amount numeric(12, 2), note varchar(40));
create table public.no_key (id bigint, payload text);
create table public.full_identity (id bigint, amount numeric);
alter table public.full_identity replica identity full;
create table public.by_index (id bigint not null, code text not null);
create unique index by_index_id on public.by_index (id);
alter table public.by_index replica identity using index by_index_id;
create table public.nothing (id bigint primary key);
alter table public.nothing replica identity nothing;
create table public.wide (id bigint primary key, big numeric(50, 2));
create table public.codes (id bigint primary key, "Code" text, code text, dt date);
create role dms login replication password 'dms';
grant select on all tables in schema public to dms;
grant create on schema public to dms;
"""
# The host DMS is given in the stack file: an RDS name, though the server reached is not RDS.
RDS_HOST = "sales.cluster-c1a2b3c4d5e6.eu-west-2.rds.amazonaws.com"


def run(server, tables, monkeypatch, capsys, user="dms", scheme="postgresql+psycopg", args=(), **settings):
    entry = {"name": "src", "engine": "postgres", "host": RDS_HOST, "port": server.port,
             "database": server.database, "tables": tables, **settings}  # fmt: skip
    monkeypatch.setattr("cloudbridge.stackfile.source_entry", lambda stack, name: entry)
    monkeypatch.setenv("CLOUDBRIDGE_DSN", f"{scheme}://{user}:{user}@127.0.0.1:{server.port}/{server.database}")
    code = preflight.main(["--source", "src", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def ready():
    with LocalPostgres(database="ready") as server:
        with psycopg.connect(server.conninfo, autocommit=True) as c:
            c.execute(SCHEMA)
        yield server


@pytest.fixture(scope="module")
def unready():
    settings = {
        "wal_level": "replica",
        "max_replication_slots": "1",
        "max_wal_senders": "1",
        "wal_sender_timeout": "5000",
    }
    with LocalPostgres(database="unready", settings=settings) as server:
        with psycopg.connect(server.conninfo, autocommit=True) as c:
            c.execute(SCHEMA)
            c.execute("create role reader login password 'reader'; grant select on public.ready_orders to reader")
            c.execute("select pg_create_physical_replication_slot('taken')")
            c.execute("insert into public.no_key values (1, repeat('x', 70000))")
            c.execute("grant select on public.no_key to reader")
        yield server


def test_a_ready_source_passes(ready, monkeypatch, capsys):
    code, out = run(ready, ["public.ready_orders", "public.full_identity", "public.by_index"], monkeypatch, capsys)
    assert code == 0, out
    assert "PASS  logical replication: wal_level is logical" in out
    assert "PASS  public.ready_orders: replica identity: default (primary key)" in out
    assert "PASS  public.full_identity: replica identity: full" in out
    assert "PASS  public.by_index: replica identity: index" in out
    assert "PASS  heartbeat schema public: CREATE granted" in out
    # numeric without precision is a warning, not a blocker
    assert "WARN  public.full_identity.amount: type" in out and "0 blocking failure(s)" in out
    assert "fix: give the column an explicit precision" in out


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_libpq_style_dsn_is_accepted(ready, monkeypatch, capsys, scheme):
    code, out = run(ready, ["public.ready_orders"], monkeypatch, capsys, scheme=scheme)
    assert code == 0 and "PASS  public.ready_orders: SELECT" in out, out


def test_replica_identity_nothing_blocks(ready, monkeypatch, capsys):
    code, out = run(ready, ["public.nothing"], monkeypatch, capsys)
    assert code == 1, out
    assert "FAIL  public.nothing: replica identity: nothing: updates and deletes cannot be captured" in out
    assert "fix: ALTER TABLE public.nothing REPLICA IDENTITY DEFAULT\n" in out


def test_numeric_wider_than_38_says_it_arrives_as_a_string(ready, monkeypatch, capsys):
    code, out = run(ready, ["public.wide"], monkeypatch, capsys)
    assert code == 0, out  # a warning: the values arrive, as text
    assert "WARN  public.wide.big: type: precision 50 > 38: DMS writes a string" in out
    assert "fix: DMS writes numeric(50,2) as a string: narrow it to numeric(38,s)" in out
    assert "explicit precision" not in out


def test_an_unready_source_names_every_problem_and_its_fix(unready, monkeypatch, capsys):
    code, out = run(unready, ["public.%", "sales.missing"], monkeypatch, capsys, user="reader")
    assert code == 1
    for expected in (
        "FAIL  logical replication: wal_level is replica",
        "fix: set wal_level = logical",  # self-managed: what the server says, not the stack's RDS host name
        "fix: ALTER ROLE <user> REPLICATION",
        "FAIL  replication slot headroom: 1 of max_replication_slots 1 in use",
        "FAIL  wal_sender_timeout: 5000 ms",
        "FAIL  replication privilege: user reader may not replicate",
        "FAIL  heartbeat schema public: no CREATE privilege (PostgreSQL 15+ grants none on public by default)",
        "fix: GRANT CREATE ON SCHEMA public TO <dms user>",
        "FAIL  tables sales.missing: 0 table(s) match",
        "FAIL  public.no_key: replica identity: default without a primary key: updates and deletes are lost",
        "fix: add a primary key (or ALTER TABLE public.no_key REPLICA IDENTITY FULL)",
        "FAIL  public.no_key.payload: LOB",  # one value is over the 64 KB limit
        "FAIL  public.full_identity: SELECT: not granted",
    ):
        assert expected in out, (expected, out)


def test_added_tables_are_checked_too(ready, monkeypatch, capsys):
    code, out = run(ready, ["public.ready_orders"], monkeypatch, capsys, addedTables=[["public.nothing"]])
    assert code == 1, out
    assert "FAIL  public.nothing: replica identity: nothing" in out


def test_excluded_columns_are_not_held_against_the_table(unready, monkeypatch, capsys):
    """A column excludeColumns keeps out is not carried: its LOB size (or type) blocks nothing."""
    code, out = run(unready, ["public.no_key"], monkeypatch, capsys, user="reader")
    assert "FAIL  public.no_key.payload: LOB" in out
    code, out = run(unready, ["public.no_key"], monkeypatch, capsys, user="reader", excludeColumns=["public.%.pay%"])
    assert "PASS  public.no_key.payload: excluded" in out and "payload: LOB" not in out, out


def test_column_names_athena_cannot_tell_apart_block_until_excluded(ready, monkeypatch, capsys):
    code, out = run(ready, ["public.codes"], monkeypatch, capsys)
    assert code == 1, out
    assert (
        "FAIL  public.codes: column names: column 'Code' and column 'code'; column 'dt' and partition key 'dt'" in out
    )
    assert "fix: leave one out with excludeColumns, or rename it at the source" in out
    code, out = run(
        ready, ["public.codes"], monkeypatch, capsys, excludeColumns=["public.codes.Code", "public.codes.dt"]
    )
    assert code == 0, out
    assert "PASS  public.codes: column names: Athena can tell every carried column apart" in out


def test_the_rds_fix_is_chosen_by_what_the_server_says(unready, monkeypatch, capsys):
    with psycopg.connect(unready.conninfo, autocommit=True) as c:
        c.execute("create role rds_superuser")
    try:
        code, out = run(unready, ["public.ready_orders"], monkeypatch, capsys, user="reader")
    finally:
        with psycopg.connect(unready.conninfo, autocommit=True) as c:
            c.execute("drop role rds_superuser")
    assert code == 1
    assert "fix: set rds.logical_replication = 1 in the DB parameter group" in out
    assert "fix: GRANT rds_replication TO <user>" in out and "wal_level = logical in postgresql.conf" not in out


def test_a_server_that_cannot_be_reached_is_one_line_and_exit_2(unready, monkeypatch, capsys):
    code, out = run(unready, ["public.%"], monkeypatch, capsys, user="nobody")
    assert code == 2
    assert out.startswith("cloudbridge preflight: cannot check source 'src': OperationalError") and "nobody:" not in out
    assert len(out.splitlines()) == 1, out


def test_other_engines_are_not_checked_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr("cloudbridge.stackfile.source_entry", lambda stack, name: {"engine": "sqlserver"})
    assert preflight.main(["--source", "billing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cloudbridge preflight: billing is sqlserver: preflight checks PostgreSQL sources only")
    assert "--skip-unchecked" in err and len(err.splitlines()) == 1


def test_skip_unchecked_exits_0_with_a_note(monkeypatch, capsys):
    monkeypatch.setattr("cloudbridge.stackfile.source_entry", lambda stack, name: {"engine": "sqlserver"})
    assert preflight.main(["--source", "billing", "--skip-unchecked"]) == 0
    assert "NOT CHECKED  billing is sqlserver" in capsys.readouterr().out
