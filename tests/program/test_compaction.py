"""Compaction's edge cases, one history each, through the DuckDB run of the deployed SQL
(cloudbridge/compaction_local.py) against the reference model: a reload marked after the last
run, a reload older than the hold-back, a file validated later than the overlap and the sweep
that takes it in, CDC-only tables, a table not yet marked, a new layout, and the refusal of a
MERGE source with two rows for one key. The property test (test_current_state_property.py)
covers generated histories."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from cloudbridge import compaction_local as local
from components import compaction_sql as csql
from functions.common.layout import DAY, HOUR
from functions.common.metadata import TableMetadata
from tests.program.test_current_state_property import META, NAMES, arrow
from tests.support import current_state_model as model

SECOND = 1_000_000
SETTINGS = csql.Settings(overlap_seconds=2)


def history(marked: bool = True) -> model.History:
    """Keys 0-2 loaded (marked or not), then a few changes a second apart."""
    h = model.History()
    h.source.update({0: 0, 1: 1, 2: 2})
    model.load(h, [], [], [], marked=marked, files=1)
    for key, value in ((1, 10), (3, 30), (0, None)):
        h.now += SECOND
        h.commit([("delete", key)] if value is None else [("upsert", key, value)])
    return h


def on_time(h: model.History) -> dict[str, int]:
    return dict(h.written)


def show(db, run: local.Run, rows: list[model.Row]) -> dict:
    local.register_table(db, NAMES, arrow(rows))
    return dict(local.current_state(db, META, NAMES, run))


def run_at(db, h: model.History, arrival: dict[str, int], moment: int, **kwargs) -> local.Run:
    local.register_table(db, NAMES, arrow(model.arrived_by(h.rows, arrival, moment)))
    return local.compact(db, META, NAMES, cut=model.text(moment), settings=kwargs.pop("settings", SETTINGS), **kwargs)


def test_a_reload_marked_after_the_last_run_switches_the_view_without_a_run():
    h = history()
    with duckdb.connect() as db:
        first = run_at(db, h, on_time(h), h.now + SECOND)
        assert first.mode == "rebuild"  # the first run builds the state
        h.source.pop(3)  # an operation DMS does not capture, then a reload
        h.now += 3 * SECOND
        model.load(h, [], [], [], marked=True, files=2)
        h.now += SECOND
        h.commit([("upsert", 2, 20)])
        assert show(db, first, h.rows) == model.current_state(h.rows) == {1: 10, 2: 20}
        second = run_at(db, h, on_time(h), h.now + SECOND)
        assert second.mode == "rebuild" and second.plan["gen_start"] > first.plan["gen_start"]
        assert dict(local.state_rows(db, META, NAMES)) == {1: 10, 2: 20}


def test_a_run_during_a_reload_holds_the_tail_back_to_the_reload():
    """A run while a six-second reload is loading: the tail starts before the reload, so its
    marker switches the view at once. With no hold-back (reload_hours 0), the documented limit
    for loads longer than reload_hours: the view keeps the previous generation and misses the
    changes DMS cached during the load until the run after the marker rebuilds the state."""
    for reload_hours, switched in ((24, True), (0, False)):
        h = history()
        settings = csql.Settings(overlap_seconds=2, reload_hours=reload_hours)
        with duckdb.connect() as db:
            first = run_at(db, h, on_time(h), h.now + SECOND, settings=settings)
            h.source.pop(3)
            h.now += 3 * SECOND
            started = h.now
            model.load(h, [], [], [[("upsert", 2, 20)]], marked=True, files=1, duration=6 * SECOND)
            during = run_at(db, h, on_time(h), started + 4 * SECOND, settings=settings)
            assert (first.mode, during.mode) == ("rebuild", "merge")
            assert (show(db, during, h.rows) == model.current_state(h.rows)) is switched
            after = run_at(db, h, on_time(h), h.now + SECOND, settings=settings)
            assert after.mode == "rebuild"
            assert show(db, after, h.rows) == model.current_state(h.rows) == {1: 10, 2: 20}


def test_a_file_validated_later_than_the_overlap_waits_for_the_sweep():
    h = history()
    arrival = on_time(h)
    late = max((p for p in arrival if "/cdc-" in p), key=arrival.get)  # the delete of key 0
    arrival[late] += 20 * SECOND
    with duckdb.connect() as db:
        run = run_at(db, h, arrival, h.now + 10 * SECOND)  # its changes are older than the tail start
        assert show(db, run, h.rows) != model.current_state(h.rows)  # the documented limit
        run = run_at(db, h, arrival, arrival[late] + 5 * SECOND)
        assert show(db, run, h.rows) != model.current_state(h.rows)  # a run reads since its tail only
        run = run_at(db, h, arrival, arrival[late] + 5 * SECOND, mode="sweep")
        assert run.mode == "merge"
        assert show(db, run, h.rows) == model.current_state(h.rows) == {1: 10, 2: 2, 3: 30}


def test_a_cdc_only_table_is_compacted_without_markers():
    h = model.History()
    for key in range(4):
        h.now += SECOND
        h.commit([("upsert", key, key * 10)])
    h.now += SECOND
    h.commit([("delete", 2)])
    with duckdb.connect() as db:
        assert run_at(db, h, on_time(h), h.now + SECOND).mode == "wait"  # a full-load table waits for its marker
    with duckdb.connect() as db:
        cdc_only = csql.Settings(overlap_seconds=2, cdc_only=True)
        run = run_at(db, h, on_time(h), h.now + SECOND, settings=cdc_only)
        assert run.mode == "rebuild" and run.plan["gen_start"] == ""
        h.now += 5 * SECOND
        h.commit([("upsert", 9, 90)])
        assert show(db, run, h.rows) == model.current_state(h.rows) == {0: 0, 1: 10, 3: 30, 9: 90}
        assert run_at(db, h, on_time(h), h.now + SECOND, settings=cdc_only).mode == "merge"


def test_a_table_whose_load_is_not_marked_keeps_the_full_view():
    h = history(marked=False)
    with duckdb.connect() as db:
        run = run_at(db, h, on_time(h), h.now + SECOND)
        assert run.mode == "wait" and not run.compacted
        assert local.view_sql(META, NAMES, run) == local.views.duckdb_sql(META, "cb", "t")
        assert show(db, run, h.rows) == model.current_state(h.rows)


def test_a_new_layout_rebuilds_the_state():
    h = history()
    wider = TableMetadata.from_dict(
        {**META.to_dict(), "columns": [*META.to_dict()["columns"], {"name": "w", "type": "string"}]}
    )
    assert csql.fingerprint(wider) != csql.fingerprint(META)
    with duckdb.connect() as db:
        run_at(db, h, on_time(h), h.now + SECOND)
        assert run_at(db, h, on_time(h), h.now + 2 * SECOND).mode == "merge"
        local.register_table(db, NAMES, arrow(h.rows).append_column("w", arrow(h.rows)["Op"]))
        run = local.compact(db, wider, NAMES, cut=model.text(h.now + 3 * SECOND), settings=SETTINGS)
        assert run.mode == "rebuild"
        assert {r[0] for r in local.state_rows(db, wider, NAMES)} == {1, 2, 3}


def test_a_merge_source_with_two_rows_for_one_key_is_refused(monkeypatch):
    h = history()
    undeduplicated = csql.merge_source_sql

    def without_rank(meta, names):
        return undeduplicated(meta, names).replace("WHERE _cb_rank = 1", "WHERE TRUE")

    monkeypatch.setattr(csql, "merge_source_sql", without_rank)
    with duckdb.connect() as db, pytest.raises(local.MultipleMatchError, match="more than one source row"):
        run_at(db, h, on_time(h), h.now + SECOND)


def test_literals_are_escaped_and_every_placeholder_is_filled():
    template = "SELECT '{{a}}' AS a, '{{b}}' AS b"
    assert csql.render(template, {"a": "it's", "b": "x"}) == "SELECT 'it''s' AS a, 'x' AS b"
    with pytest.raises(KeyError, match="b"):
        csql.render(template, {"a": "x"})


def test_the_view_and_the_merge_read_by_literal_partition_and_timestamp():
    """Athena prunes partitions and skips row groups on predicates it knows when planning: the
    windows are literals, never a join on the watermark row."""
    view = csql.render(
        csql.view_sql(META, NAMES), {"tail_dt": "2026/01/01", "tail_ts": "x", "gen_start": "", "gen_end": "y"}
    )
    assert """"dt" >= '2026/01/01' AND "dms_commit_ts" >= 'x'""" in view
    merge = csql.merge_sql(META, NAMES)
    assert """"dt" >= '{{from_dt}}' AND "dms_commit_ts" >= '{{from_ts}}'""" in merge
    assert csql.placeholders(csql.view_sql(META, NAMES)) == ["tail_dt", "tail_ts", "gen_start", "gen_end"]


def test_narrow_integers_and_timestamps_keep_their_declared_types():
    """Iceberg has no smallint and holds microsecond timestamps: the view casts the state's
    columns back to the types the Glue view declares."""
    meta = TableMetadata.from_dict(
        {
            "formatVersion": 2, "source": "s", "engine": "postgres", "schema": "public", "table": "t",
            "primaryKey": ["k"],
            "columns": [{"name": "k", "type": "int16", "nullable": False}, {"name": "at", "type": "timestamp(ms)"}],
            "dmsColumns": {"changeSequence": "dms_change_seq"},
        }
    )  # fmt: skip
    state = dict(csql.state_columns(meta))
    assert state["k"] == "int" and state["at"] == "timestamp"
    view = csql.view_sql(meta, NAMES)
    assert 'CAST(s."k" AS smallint)' in view and 'CAST(s."at" AS timestamp(3))' in view


def test_a_declared_column_no_file_carries_yet_reads_as_null(tmp_path):
    """Metadata published before the files carrying a new column are replayed: the change table
    has the catalog's columns (Athena reads a column a file lacks as NULL), so the run that
    meets the new layout rebuilds instead of failing, and the replayed files fill the column."""
    import dataclasses

    import pyarrow.parquet as pq

    from functions.common.metadata import Column

    h = history()
    files = []
    for path in sorted({r.path for r in h.rows}):  # each file of the history as raw history holds it
        file = tmp_path / "public" / path
        file.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow([r for r in h.rows if r.path == path]).drop(["$path"]), file)
        files.append(file)
    wider = dataclasses.replace(META, columns=(*META.columns, Column("note", "string")))
    with duckdb.connect() as db:
        local.register_history(db, wider, NAMES, files)
        assert db.execute(f"select count(*), count(note) from {NAMES.qualified(NAMES.changes)}").fetchone() == (
            len(h.rows),
            0,
        )
        run = local.compact(db, wider, NAMES, cut=model.text(h.now + SECOND), settings=SETTINGS)
        assert run.mode == "rebuild"
        expected = {key: (value, None) for key, value in model.current_state(h.rows).items()}
        assert {row[0]: row[1:] for row in local.current_state(db, wider, NAMES, run)} == expected


@pytest.mark.parametrize("span_seconds, hours", [(60, 1), (3600, 1), (3601, 2), (7200, 2)])
def test_hourly_windows_start_as_many_hours_back_as_a_file_can_span(span_seconds, hours):
    """By hour (rawHistoryPartition hour), a run's tail and the view read from the partition
    ``hours`` before the tail's own: enough for a file whose changes span the CDC batch
    interval; by day, from the day before. The answers equal the reference model's."""
    h = model.History(layout=HOUR)
    h.now = 3 * 3600 * SECOND + 30 * SECOND  # 01:00:30 on the second day
    h.source.update({0: 0, 1: 1})
    model.load(h, [], [], [], marked=True, files=1)
    h.now += SECOND
    h.commit([("upsert", 1, 10)])
    hourly = csql.Settings(overlap_seconds=2, layout=HOUR, file_span_seconds=span_seconds)
    with duckdb.connect() as db:
        run = run_at(db, h, on_time(h), h.now + SECOND, settings=hourly)
        tail = datetime.fromisoformat(run.plan["tail_ts"] + "+00:00")
        assert run.plan["tail_dt"] == HOUR.folder(tail.replace(minute=0, second=0) - timedelta(hours=hours))
        assert dict(local.state_rows(db, META, NAMES)) == model.current_state(h.rows) == {0: 0, 1: 10}
        assert show(db, run, h.rows) == {0: 0, 1: 10}
        daily = run_at(db, h, on_time(h), h.now + 2 * SECOND, settings=csql.Settings(overlap_seconds=2))
        assert daily.plan["tail_dt"] == DAY.folder(tail - timedelta(days=1))  # a day layout's windows
