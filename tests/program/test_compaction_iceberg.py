"""The state as an Iceberg table (PyIceberg, SQLite catalog, offline): the schema Athena's
CREATE TABLE declares holds every column of the DuckDB state, and upserting each run's state
by primary key (tombstones included) leaves the Iceberg table equal to it, one snapshot per
commit, parquet data files under the table's location. OPTIMIZE and VACUUM are Athena's and
are not imitated here (docs/analytics.md, "Compaction")."""

from __future__ import annotations

import duckdb
import pytest

from cloudbridge import compaction_local as local
from components import compaction_sql as csql
from tests.program.test_compaction import SECOND, history, on_time, run_at
from tests.program.test_current_state_property import META, NAMES

pytest.importorskip("pyiceberg")


def catalog(tmp_path):
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    store = SqlCatalog("local", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"file://{warehouse}")
    store.create_namespace("cb")
    return store, warehouse


def test_the_iceberg_schema_is_the_state_tables():
    schema = local.iceberg_schema(META)
    assert [f.name for f in schema.fields] == [n for n, _ in csql.state_columns(META)]
    assert {str(f.field_type) for f in schema.fields} == {"int", "string"}
    assert not any(f.required for f in schema.fields)


def test_each_run_upserted_into_iceberg_equals_the_duckdb_state(tmp_path):
    store, warehouse = catalog(tmp_path)
    location = f"file://{warehouse}/public/t/"
    iceberg = local.IcebergState(store, "cb.t_state", META, location)
    h = history()
    results = []
    with duckdb.connect() as db:
        for moment in (h.now + SECOND, h.now + 2 * SECOND):
            run_at(db, h, on_time(h), moment)
            results.append(iceberg.apply(db, NAMES))
            expected = db.execute(f"select * from {NAMES.qualified(NAMES.state)}").fetchall()
            mirrored = [tuple(r.values()) for r in iceberg.rows().to_pylist()]
            assert sorted(map(repr, mirrored)) == sorted(map(repr, expected))
        h.now += SECOND
        h.commit([("upsert", 1, 11)])
        h.now += SECOND
        h.commit([("delete", 2)])
        run_at(db, h, on_time(h), h.now + SECOND)
        results.append(iceberg.apply(db, NAMES))
    live = {r["k"]: r["v"] for r in iceberg.rows().to_pylist() if r[csql.OP] not in ("D", csql.WATERMARK)}
    assert live == {1: 11, 3: 30}
    tombstones = {r["k"] for r in iceberg.rows().to_pylist() if r[csql.OP] == "D"}
    assert tombstones == {0, 2}  # deletes are kept: a change re-applied later must not resurrect them
    assert (results[0].rows_inserted, results[1].rows_inserted, results[1].rows_updated) == (4, 0, 0)
    assert (results[2].rows_updated, results[2].rows_inserted) == (2, 0)  # key 1 updated, key 2 deleted
    assert len(iceberg.table.snapshots()) >= 3
    files = list((warehouse / "public" / "t" / "data").glob("*.parquet"))
    assert files and iceberg.data_bytes() > 0
