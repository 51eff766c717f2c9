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
create role dms login replication password 'dms';
grant select on public.ready_orders, public.full_identity to dms;
"""


def run(server, tables, monkeypatch, capsys, user="dms"):
    entry = {"name": "src", "engine": "postgres", "host": "127.0.0.1", "port": server.port,
             "database": server.database, "tables": tables}  # fmt: skip
    monkeypatch.setattr("cloudbridge.stackfile.source_entry", lambda stack, name: entry)
    monkeypatch.setenv("CLOUDBRIDGE_DSN", server.dsn.replace("//postgres", f"//{user}:{user}") if user else server.dsn)
    code = preflight.main(["--source", "src"])
    return code, capsys.readouterr().out


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
    code, out = run(ready, ["public.ready_orders", "public.full_identity"], monkeypatch, capsys)
    assert code == 0, out
    assert "PASS  logical replication: wal_level is logical" in out
    assert "PASS  public.full_identity: primary key: replica identity full" in out
    # numeric without precision is a warning, not a blocker
    assert "WARN  public.full_identity.amount: type" in out and "0 blocking failure(s)" in out


def test_an_unready_source_names_every_problem_and_its_fix(unready, monkeypatch, capsys):
    code, out = run(unready, ["public.%", "sales.missing"], monkeypatch, capsys, user="reader")
    assert code == 1
    for expected in (
        "FAIL  logical replication: wal_level is replica",
        "fix: set wal_level = logical",
        "FAIL  replication slot headroom: 1 of max_replication_slots 1 in use",
        "FAIL  wal_sender_timeout: 5000 ms",
        "FAIL  replication privilege: user reader may not replicate",
        "FAIL  tables sales.missing: 0 table(s) match",
        "FAIL  public.no_key: primary key: none: updates and deletes are lost",
        "FAIL  public.no_key.payload: LOB",  # one value is over the 64 KB limit
        "FAIL  public.full_identity: SELECT: not granted",
    ):
        assert expected in out, (expected, out)


def test_other_engines_are_reported_as_not_checked(monkeypatch, capsys):
    monkeypatch.setattr("cloudbridge.stackfile.source_entry", lambda stack, name: {"engine": "sqlserver"})
    assert preflight.main(["--source", "billing"]) == 0
    assert "NOT CHECKED  billing is sqlserver" in capsys.readouterr().out
