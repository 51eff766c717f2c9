"""Issue 27's operations in the sandbox: a column excluded by the task's remove-column rule, one
table reloaded mid-traffic (ReloadTables), the replication slot lost and the task recovered with
reload-target — both through the reload command's own code on the stand-in's DMS API — ending
with every table equal to the source minus the excluded column, which no raw-history file carries.

The first tests are fast (no server): how the DMS stand-in reads a table-mappings document and
writes what it leaves. The others run a real PostgreSQL (slow)."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from cloudbridge.metadata import committed
from cloudbridge.sandbox import mappings as sandbox_mappings
from cloudbridge.sandbox.decoding import parse_change
from cloudbridge.sandbox.dms import FAILED, RUNNING, DmsStandIn, InvalidResourceStateError
from cloudbridge.sandbox.mappings import TableMappings, published, remove_column_rule, sandbox_source, table_mappings
from cloudbridge.sandbox.run import METADATA_ROOT
from functions.slack_alerts.formatting import Context, render

TABLES = ["public.customers", "public.products", "public.orders", "public.order_lines"]
COMMITTED = datetime(2026, 11, 24, 18, 24, 58, 734155, tzinfo=UTC)


def metadata():
    return {t.table_id: t for t in committed(METADATA_ROOT, "sales").values()}


def selection(schema: str, table: str, action: str = "include", rule_id: int = 1) -> dict:
    return {
        "rule-type": "selection",
        "rule-id": str(rule_id),
        "rule-name": f"{action}-{rule_id}",
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


# --- the table mappings, read as DMS reads them -------------------------------------------------


def test_the_sandbox_source_excludes_a_personal_data_column_through_its_table_mappings():
    """The source config's excludeColumns becomes a standard remove-column rule in the document
    the program builds (components/dms_settings.table_mappings), which the stand-in obeys."""
    source = sandbox_source(TABLES)
    assert source.exclude_columns == ["public.customers.email"]
    document = table_mappings(source)
    removals = [r for r in document["rules"] if r.get("rule-action") == "remove-column"]
    assert [r["object-locator"] for r in removals] == [
        {"schema-name": "public", "table-name": "customers", "column-name": "email"}
    ]
    assert all(r["rule-type"] == "transformation" and r["rule-target"] == "column" for r in removals)
    ids = [r["rule-id"] for r in document["rules"]]
    assert len(set(ids)) == len(ids), "rule ids stay unique"
    rules = TableMappings(document)
    assert [t for t in TABLES if rules.selects(*t.split("."))] == TABLES
    assert rules.removed("public", "customers", ["customer_id", "email", "full_name"]) == ["email"]
    assert not rules.removes("public", "orders", "email")


def test_remove_column_rules_use_dms_wildcards_and_are_case_sensitive():
    rules = TableMappings(
        {
            "rules": [
                selection("public", "%"),
                selection("public", "products", "exclude", 2),
                remove_column_rule(3, "%.cust%.%name"),
                remove_column_rule(4, "public.orders.notes"),
            ]
        }
    )
    assert rules.selects("public", "orders") and not rules.selects("public", "products")
    assert not rules.selects("audit", "orders"), "no include rule selects another schema"
    assert rules.removed("public", "customers", ["full_name", "nickname", "Full_Name", "email"]) == [
        "full_name",
        "nickname",
    ]
    assert rules.removes("public", "orders", "notes") and not rules.removes("public", "order_lines", "notes")
    assert not rules.removes("public", "orders", "Notes"), "column names are case-sensitive in transformation rules"


def test_rules_the_stand_in_cannot_honour_are_refused_not_ignored():
    by_type = remove_column_rule(1, "public.customers.%")
    by_type["object-locator"]["data-type"] = "varchar"
    with pytest.raises(ValueError, match="remove-column rule 1"):
        TableMappings({"rules": [by_type]})
    with pytest.raises(ValueError, match="unknown rule-action"):
        TableMappings({"rules": [selection("public", "%", "explicit")]})


def test_exclusions_already_in_the_programs_document_are_not_added_twice(monkeypatch):
    """Once dms_settings.table_mappings emits the remove-column rules itself, they are used as they are."""
    own = {"rules": [selection("public", "%"), remove_column_rule(2, "public.customers.email")]}
    monkeypatch.setattr(sandbox_mappings.dms_settings, "table_mappings", lambda source, table_set=0: own)
    assert table_mappings(sandbox_source(TABLES)) == own


def test_published_metadata_leaves_the_excluded_column_out():
    customers = metadata()["public.customers"]
    out = published(customers, ["email"], ["email"])
    assert [c.name for c in out.columns] == [c.name for c in customers.columns if c.name != "email"]
    if hasattr(out, "excluded"):  # the metadata format's excluded list, where it has one
        assert tuple(out.excluded) == ("email",)
    assert published(customers, [], []) is customers
    with pytest.raises(ValueError, match="primary-key"):
        published(customers, ["customer_id"])


# --- what the stand-in writes ----------------------------------------------------------------------


@pytest.fixture
def landing():
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-2")
        s3.create_bucket(Bucket="landing", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield s3


def landed_columns(s3) -> dict[str, list[str]]:
    out = {}
    for item in s3.list_objects_v2(Bucket="landing").get("Contents", []):
        body = s3.get_object(Bucket="landing", Key=item["Key"])["Body"].read()
        out[item["Key"]] = pq.read_schema(io.BytesIO(body)).names
    return out


def test_cdc_files_leave_out_removed_columns_even_ones_added_later(landing):
    """The stand-in's CDC path, fed decoded changes directly: the removed column is not written,
    nor is a column added later that a wildcard rule names; other new columns still are."""
    document = {"rules": [selection("public", "%"), remove_column_rule(2, "public.customers.%mail%")]}
    dms = DmsStandIn("", landing, "landing", list(metadata().values()), table_mappings=document)
    insert = (
        "table public.customers: INSERT: customer_id[bigint]:1 email[character varying]:'a@example.com' "
        "full_name[character varying]:'A' country_code[character]:'GB' is_active[boolean]:true "
        "credit_limit[numeric]:null created_at[timestamp with time zone]:'2026-11-24 18:24:58.7325+00'"
    )
    dms._apply([parse_change(insert)], COMMITTED)
    dms.flush(force=True)
    later = insert.replace("customer_id[bigint]:1", "customer_id[bigint]:2") + (
        " backup_email[text]:'b@example.com' loyalty_tier[text]:'gold'"
    )
    dms._apply([parse_change(later)], COMMITTED)
    dms.flush(force=True)
    columns = sorted(landed_columns(landing).values(), key=len)
    assert len(columns) == 2
    assert "email" not in columns[0] and "full_name" in columns[0] and "dms_change_seq" in columns[0]
    assert "backup_email" not in columns[1] and "loyalty_tier" in columns[1]


def test_a_failed_task_loses_its_unwritten_changes_alerts_and_refuses_reload_tables(landing):
    events = []
    dms = DmsStandIn("", landing, "landing", list(metadata().values()), on_event=events.append)
    dms._apply([parse_change("table public.orders: DELETE: order_id[bigint]:7")], COMMITTED)
    assert dms.state == RUNNING
    with pytest.raises(InvalidResourceStateError, match="running"):
        dms.reload_target()
    dms.fail('the replication slot is gone: replication slot "cloudbridge" does not exist')
    assert dms.state == FAILED and dms.changes_lost == 1
    dms.flush(force=True)
    assert landed_columns(landing) == {}, "a failed task writes nothing more"
    answer = dms.describe_replication()
    assert answer["Status"] == "failed" and "does not exist" in answer["FailureMessages"][0]
    with pytest.raises(InvalidResourceStateError, match="failed, not running"):
        dms.reload_tables([("public", "orders")])
    kind, payload = render(None, json.dumps(events[0]), Context(environment="sandbox", account="123456789012"))
    assert kind == "dms-event" and "cb-sandbox-sales" in payload["blocks"][0]["text"]["text"]


# --- against a real PostgreSQL ---------------------------------------------------------------------


@pytest.mark.slow
def test_reload_target_after_the_slot_is_lost_loses_nothing_and_resurrects_nothing(landing):
    """The stand-in alone: CDC from a slot, the slot dropped under it (the task fails), changes
    without a slot, reload-target. The new loads start after the new slot exists and after every
    change made without one; the excluded column is in none of the files."""
    import psycopg

    from cloudbridge.localpg import LocalPostgres
    from cloudbridge.sandbox.operations import lose_slot
    from cloudbridge.sandbox.traffic import Workload, create_schema

    tables = list(metadata().values())
    with LocalPostgres(database="sales") as pg, psycopg.connect(pg.conninfo, autocommit=True) as db:
        create_schema(db)
        workload = Workload(db)
        workload.seed(customers=5, products=5, orders=5)
        events = []
        document = table_mappings(sandbox_source(TABLES))
        dms = DmsStandIn(
            pg.conninfo, landing, "landing", tables, table_mappings=document, on_event=events.append,
            cdc_max_batch_interval=0.2,
        )  # fmt: skip
        stop = threading.Event()
        cdc = threading.Thread(target=dms.run, args=(stop, 0.05), daemon=True)
        try:
            dms.create_slot()
            dms.full_load()
            cdc.start()
            db.execute("update customers set full_name = 'captured' where customer_id = 1")
            time.sleep(0.5)
            lose_slot(db, dms.slot)
            dropped = datetime.now(UTC)
            db.execute("delete from orders where order_id = 1")  # without a slot: never captured
            db.execute("update customers set email = 'gone@example.com', full_name = 'no slot' where customer_id = 2")
            deadline = time.monotonic() + 10
            while dms.state != FAILED and time.monotonic() < deadline:
                time.sleep(0.05)
            assert dms.state == FAILED and "does not exist" in dms.describe_replication()["FailureMessages"][0]
            assert [e["detail"]["eventType"] for e in events] == ["REPLICATION_FAILED"]
            loaded = dms.reload_target()
            db.execute("update customers set full_name = 'after' where customer_id = 3")
            time.sleep(0.5)
        finally:
            stop.set()
            cdc.join(timeout=10)
            dms.drop_slot()
            dms.close()
        assert dms.state == RUNNING and sorted(loaded) == sorted(TABLES)
        assert loaded["public.orders"] == 4, "the order deleted without a slot is not in the new load"
        statistics = {s["TableName"]: s for s in dms.describe_table_statistics()["TableStatistics"]}
        assert all(s["FullLoadStartTime"] > dropped and not s["FullLoadReloaded"] for s in statistics.values())
        slots = db.execute("select count(*) from pg_replication_slots").fetchone()[0]
    assert slots == 0
    files = landed_columns(landing)
    customers = {k: v for k, v in files.items() if k.startswith("public/customers/")}
    assert any("/LOAD" in k for k in customers) and any("/LOAD" not in k for k in customers)
    assert all("email" not in names and "full_name" in names for names in customers.values())
    assert any(f.table == "public.customers" and f.kind == "cdc" for f in dms.files)


# --- the whole scenario ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report():
    from cloudbridge.sandbox.run import run

    return run(duration=10, scale=0.4, rate=30, batch_interval=1.0, quiet=True)


@pytest.mark.slow
def test_every_table_equals_the_source_minus_the_excluded_column(report):
    assert report["ok"], report
    assert report["exclusion"]["inSource"] == {"public.customers": ["email"]}
    for table, t in report["tables"].items():
        assert t["sourceRows"] > 0 and t["sourceRows"] == t["currentRows"], table
        assert t["missing"] == t["extra"] == t["different"] == [], table


@pytest.mark.slow
def test_the_excluded_column_is_in_no_raw_history_file(report):
    exclusion = report["exclusion"]
    assert exclusion["ok"] and exclusion["removeColumnRules"] == 1
    assert exclusion["publishedWithExcluded"] == [], "the published metadata has no email column"
    assert exclusion["filesCarryingExcluded"] == []
    assert exclusion["filesScanned"] >= report["files"]["passed"]
    customers = exclusion["filesByTable"]["public.customers"]
    # two loads (the first, reload-target's) and changes: full-load and CDC files both scanned
    assert customers["load"] >= 2 and customers["cdc"] >= 1 and customers["marker"] >= 2


@pytest.mark.slow
def test_the_source_passed_preflights_own_checks_with_its_excluded_column_not_held_against_it(report):
    """The sandbox's PostgreSQL went through cloudbridge preflight's checks, as its stack entry
    configures it, before DMS started: every check passes and the excluded column is named as such."""
    checks = report["preflight"]["checks"]
    assert checks and not [c for c in checks if c.startswith("FAIL")], checks
    assert report["preflight"]["blocking"] == [] and report["preflight"]["excluded"] == ["public.customers.email"]
    assert "PASS  public.customers.email: excluded: excludeColumns keeps it out: DMS does not carry it" in checks
    assert not [
        c for c in checks if c.startswith(("PASS  public.customers.email: type", "PASS  public.customers.email: LOB"))
    ]
    for table in report["tables"]:
        if table.startswith("public."):
            assert f"PASS  {table}: replica identity: default (primary key)" in checks
            assert f"PASS  {table}: column names: Athena can tell every carried column apart" in checks


def test_the_slot_is_lost_mid_traffic_and_recovered_with_nothing_lost_or_resurrected(report):
    loss = report["slotLoss"]
    assert loss["ok"] and loss["recoveryError"] is None
    assert "slot" in loss["failure"] and "does not exist" in loss["failure"]
    assert loss["changesWithoutSlot"] > 0
    assert sorted(loss["reloadedTables"]) == sorted(TABLES) and loss["statusAfter"] == "running"
    assert loss["deletedOrderInView"] is False, "a row deleted while there was no slot stays deleted"
    assert loss["newOrderInView"] is True, "a row created while there was no slot is in the new snapshot"
    assert loss["unionOfLoadsDiffers"]["public.orders"] >= 1, "a union of loads would bring the deleted order back"
    assert report["alerts"]["kinds"].get("dms event", 0) >= 1, "the failure reached Slack as a DMS event"


@pytest.mark.slow
def test_the_recovery_is_the_reload_commands_all_reanchor(report):
    """reload --all --reanchor, the command's code on the stand-in's DMS API: the failed replication
    is started with reload-target (not stopped first), every table followed until its marker exists."""
    command = report["slotLoss"]["command"]
    assert command["exitCode"] == 0 and command["problem"] is None
    assert command["command"].startswith("python -m cloudbridge reload --stack sandbox --source sales --all --reanchor")
    calls = command["dmsCalls"]
    assert calls["StartReplication"] == 1 and "StopReplication" not in calls, "a failed replication is not stopped"
    assert calls["DescribeReplications"] == 1 and calls["DescribeReplicationTableStatistics"] >= 2
    raw = "cb-sandbox-sales-raw-123456789012-eu-west-2"
    assert sorted(command["markers"]) == sorted(TABLES)
    assert all(f"generation marker s3://{raw}/{command['markers'][t]}" in "\n".join(command["output"]) for t in TABLES)
    assert "started with reload-target" in "\n".join(command["output"])
    assert report["dmsApi"]["errors"] == [] and report["dmsApi"]["model"].startswith("botocore ")


@pytest.mark.slow
def test_one_table_reloaded_mid_traffic_after_the_recovery(report):
    reload = report["reload"]
    assert reload["table"] == "public.order_lines" and reload["truncatedRows"] > 0
    assert reload["reloadedRows"] is not None and reload["unionOfLoadsDiffers"] > 0
    assert reload["windowLines"] > 0 and reload["windowRowsOlderThanFirstLoadRow"] == reload["windowLines"]
    assert report["tables"]["public.order_lines"]["matchesSource"]


@pytest.mark.slow
def test_the_table_reload_is_the_reload_commands_table_reload(report):
    """reload --table public.order_lines: ReloadReplicationTables, then followed until the new
    load's generation marker is in raw history — and the sandbox report says so."""
    from cloudbridge.sandbox.report import render

    reload = report["reload"]
    command = reload["command"]
    assert reload["ok"] and command["exitCode"] == 0
    assert command["command"].startswith("python -m cloudbridge reload --stack sandbox --source sales --table ")
    assert command["command"].split()[9] == "public.order_lines"
    assert command["dmsCalls"]["ReloadReplicationTables"] == 1
    assert list(command["markers"]) == ["public.order_lines"]
    assert "/GENERATION-" in command["markers"]["public.order_lines"]
    assert "  public.order_lines: loaded and marked" in command["output"]
    text = render(report)
    assert text.count("through the reload command's code: python -m cloudbridge reload") == 2
