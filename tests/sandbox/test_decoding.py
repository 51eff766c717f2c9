"""Parsing test_decoding output (the format checked against a real server in the sandbox test)."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

from cloudbridge.sandbox.decoding import parse_change, parse_commit, python_value
from cloudbridge.sandbox.dms import to_arrow_value


def test_insert_with_every_kind_of_literal():
    line = (
        "table public.t: INSERT: id[integer]:1 s[text]:'it''s \"q\"' a[integer[]]:'{1,2}' "
        "ts[timestamp with time zone]:'2026-11-24 18:24:58.7325+00' tm[time without time zone]:'12:34:56.789' "
        "b[bytea]:'\\x00ff' n[numeric]:1.50 \"Weird Col\"[character varying]:'x y' e[order_status]:'paid' "
        "f[real]:1.25 d[date]:'2024-01-02' bo[boolean]:true z[text]:null"
    )
    change = parse_change(line)
    assert (change.schema, change.table, change.action) == ("public", "t", "INSERT")
    values = {name: python_value(v) for name, v in change.columns.items()}
    assert values == {
        "id": 1,
        "s": 'it\'s "q"',
        "a": "{1,2}",
        "ts": datetime(2026, 11, 24, 18, 24, 58, 732500, tzinfo=UTC),
        "tm": time(12, 34, 56, 789000),
        "b": b"\x00\xff",
        "n": Decimal("1.50"),
        "Weird Col": "x y",
        "e": "paid",
        "f": 1.25,
        "d": date(2024, 1, 2),
        "bo": True,
        "z": None,
    }
    assert change.columns["a"].type == "integer[]"


def test_update_with_changed_key_takes_the_new_tuple():
    change = parse_change("table public.t: UPDATE: old-key: id[integer]:1 new-tuple: id[integer]:2 s[text]:null")
    assert change.action == "UPDATE" and python_value(change.columns["id"]) == 2 and change.columns["s"].text is None


def test_delete_carries_the_key_and_quoted_names():
    change = parse_change('table "Sales Data"."Order Lines": DELETE: order_id[bigint]:7 line_no[smallint]:2')
    assert (change.schema, change.table, change.action) == ("Sales Data", "Order Lines", "DELETE")
    assert {k: python_value(v) for k, v in change.columns.items()} == {"order_id": 7, "line_no": 2}


def test_begin_and_commit_lines():
    assert parse_change("BEGIN 732") is None
    assert parse_commit("COMMIT 732 (at 2026-11-24 18:24:58.734155+00)") == datetime(
        2026, 11, 24, 18, 24, 58, 734155, tzinfo=UTC
    )
    assert parse_commit("table public.t: DELETE: id[integer]:1") is None


def test_unchanged_toast_values_are_not_invented():
    change = parse_change("table public.t: UPDATE: id[integer]:1 big[text]:unchanged-toast-datum")
    assert change.columns["big"].text is None


def test_truncate_is_recognised_without_a_tuple():
    """Postgres logs TRUNCATE with its flags, not a tuple; the stand-in, like DMS, drops it."""
    for line in ("table public.order_lines: TRUNCATE: (no-flags)", "table public.order_lines: TRUNCATE: cascade"):
        change = parse_change(line)
        assert (change.schema, change.table, change.action, change.columns) == ("public", "order_lines", "TRUNCATE", {})


def test_a_numeric_with_more_digits_than_pythons_default_context_is_written_exactly():
    """numeric(38,10) holds 38 digits; the stand-in writes them as DMS does, none rounded away."""
    value = Decimal("1234567890123456789012345678.0123456789")
    assert to_arrow_value("decimal(38,10)", value) == value
    assert to_arrow_value("decimal(38,2)", Decimal("999999999999999999999999999999999999.5")) == Decimal(
        "999999999999999999999999999999999999.50"
    )
