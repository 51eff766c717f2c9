"""reload: the DMS calls per mode and table set (botocore's Stubber, exact parameters), following a
reload until its load is complete and its generation marker exists, and one line with the rule's
exit code for every bad input. ARNs and buckets come from the parsed fixture stack, never literals."""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import boto3
import botocore.session
import pytest
import yaml
from botocore.stub import Stubber

from cloudbridge import cli, reload
from cloudbridge.plan import PROJECT_ROOT, read_stack_config
from components.naming import Naming
from components.workspace import FIXTURE_STACKS, METADATA_DIR_ENV, STACKS_DIR_ENV

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
OLD = (datetime(2026, 1, 5, 3, 0, 0, tzinfo=UTC), datetime(2026, 1, 5, 3, 20, 0, tzinfo=UTC))
NEW = (NOW + timedelta(seconds=40, microseconds=250_000), NOW + timedelta(minutes=7, seconds=3, microseconds=5))


class Tty(io.StringIO):
    def isatty(self):
        return True


class FakeClock(reload.Clock):
    def __init__(self):
        self.t, self.slept = 0.0, []
        super().__init__(now=lambda: NOW, monotonic=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds):
        self.slept.append(seconds)
        self.t += seconds


def naming(stack="dev"):
    config = read_stack_config(stack)
    return Naming(stack, config["cloudbridge:account"]["id"], config["aws:region"])


def config_arn(identifier, stack="dev"):
    return naming(stack).dms_arn("replication-config", identifier)


def task_arn(identifier, stack="dev"):
    return naming(stack).dms_arn("task", identifier)


def raw_bucket(source, stack="dev"):
    return naming(stack).bucket(source, "raw")


def marker(table, load=NEW):
    schema, name = table.split(".")
    return f"{schema}/{name}/{load[1]:%Y/%m/%d}/GENERATION-{load[0]:%Y%m%d-%H%M%S%f}.parquet"


def entry(table, state="Table completed", load=OLD, rows=10):
    schema, name = table.split(".")
    return {"SchemaName": schema, "TableName": name, "TableState": state, "FullLoadStartTime": load[0],
            "FullLoadEndTime": load[1], "FullLoadRows": rows}  # fmt: skip


@pytest.fixture
def aws(monkeypatch):
    """Stubbed DMS and S3 clients in the fixture stack's region; the clock never sleeps."""
    region = read_stack_config("dev")["aws:region"]
    keys = {"region_name": region, "aws_access_key_id": "x", "aws_secret_access_key": "y"}
    clients = {"dms": boto3.client("dms", **keys), "s3": boto3.client("s3", **keys)}
    stubs = {name: Stubber(client) for name, client in clients.items()}
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: clients[service])
    clock = FakeClock()
    monkeypatch.setattr(reload, "CLOCK", clock)
    for stub in stubs.values():
        stub.activate()
    yield stubs["dms"], stubs["s3"], clock
    for stub in stubs.values():
        stub.deactivate()
        stub.assert_no_pending_responses()


def serverless_status(dms, identifier, status):
    found = [{"ReplicationConfigArn": config_arn(identifier), "Status": status}] if status else []
    dms.add_response(
        "describe_replications",
        {"Replications": found},
        {"Filters": [{"Name": "replication-config-arn", "Values": [config_arn(identifier)]}]},
    )


def task_status(dms, identifier, status):
    dms.add_response(
        "describe_replication_tasks",
        {"ReplicationTasks": [{"ReplicationTaskArn": task_arn(identifier), "Status": status}]},
        {"Filters": [{"Name": "replication-task-arn", "Values": [task_arn(identifier)]}], "WithoutSettings": True},
    )


def serverless_stats(dms, identifier, entries, marker_in=None, marker_out=None):
    expected = {"ReplicationConfigArn": config_arn(identifier), "MaxRecords": 500}
    if marker_in:
        expected["Marker"] = marker_in
    answer = {"ReplicationTableStatistics": entries, **({"Marker": marker_out} if marker_out else {})}
    dms.add_response("describe_replication_table_statistics", answer, expected)


def task_stats(dms, identifier, entries):
    dms.add_response(
        "describe_table_statistics",
        {"TableStatistics": entries},
        {"ReplicationTaskArn": task_arn(identifier), "MaxRecords": 500},
    )


def head(s3, source, table, present=True, load=NEW):
    params = {"Bucket": raw_bucket(source), "Key": marker(table, load)}
    if present:
        s3.add_response("head_object", {}, params)
    else:
        s3.add_client_error("head_object", service_error_code="404", http_status_code=404, expected_params=params)


def to_reload(*tables):
    return [{"SchemaName": t.split(".")[0], "TableName": t.split(".")[1]} for t in tables]


def run_main(capsys, *args):
    code = reload.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- the calls, per mode ---------------------------------------------------------------------


def test_a_serverless_table_is_reloaded_and_followed_until_its_marker_exists(aws, capsys):
    dms, s3, clock = aws
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders"), entry("public.customers")])
    dms.add_response(
        "reload_replication_tables",
        {"ReplicationConfigArn": config_arn("cb-dev-sales")},
        {"ReplicationConfigArn": config_arn("cb-dev-sales"), "TablesToReload": to_reload("public.orders"),
         "ReloadOption": "data-reload"},
    )  # fmt: skip
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders", "Table is being reloaded")])
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders", load=NEW)])
    head(s3, "sales", "public.orders", present=False)  # loaded, the marker writer has not run yet
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders", load=NEW, rows=1234)])
    head(s3, "sales", "public.orders")

    code, out, err = run_main(capsys, "--stack", "dev", "--source", "sales", "--table", "public.orders", "--yes")
    assert (code, err) == (0, "")
    assert "ReloadReplicationTables data-reload" in out and "public.orders: Table is being reloaded" in out
    assert "public.orders: loaded, waiting for its generation marker" in out
    assert f"generation marker s3://{raw_bucket('sales')}/{marker('public.orders')}" in out
    assert "1234 rows" in out and clock.slept == [reload.POLL_SECONDS] * 2


def test_an_instance_table_goes_through_reload_tables(aws, capsys):
    dms, s3, _ = aws
    task_status(dms, "cb-dev-billing", "running")
    task_stats(dms, "cb-dev-billing", [entry("dbo.invoices")])
    dms.add_response(
        "reload_tables",
        {"ReplicationTaskArn": task_arn("cb-dev-billing")},
        {"ReplicationTaskArn": task_arn("cb-dev-billing"), "TablesToReload": to_reload("dbo.invoices"),
         "ReloadOption": "data-reload"},
    )  # fmt: skip
    elsewhere = timezone(timedelta(hours=2))  # botocore gives DMS's times in the machine's time zone
    task_stats(dms, "cb-dev-billing", [entry("dbo.invoices", load=tuple(t.astimezone(elsewhere) for t in NEW))])
    head(s3, "billing", "dbo.invoices")
    code, out, err = run_main(capsys, "--stack", "dev", "--source", "billing", "--table", "dbo.invoices", "--yes")
    assert (code, err) == (0, "") and "ReloadTables data-reload" in out
    assert f"loaded {NEW[0]:%Y-%m-%d %H:%M:%S} to {NEW[1]:%Y-%m-%d %H:%M:%S} UTC" in out


def test_all_reloads_every_table_of_the_source(aws, capsys):
    dms, _, _ = aws
    tables = ["public.customers", "public.order_lines", "public.orders", "public.products"]
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry(t) for t in tables[:2]], marker_out="page2")
    serverless_stats(dms, "cb-dev-sales", [entry(t) for t in tables[2:]], marker_in="page2")
    dms.add_response(
        "reload_replication_tables",
        {"ReplicationConfigArn": config_arn("cb-dev-sales")},
        {"ReplicationConfigArn": config_arn("cb-dev-sales"), "TablesToReload": to_reload(*tables),
         "ReloadOption": "data-reload"},
    )  # fmt: skip
    code, out, _ = run_main(capsys, "--stack", "dev", "--source", "sales", "--all", "--yes", "--no-wait")
    assert code == 0 and "reload requested for 4 table(s)" in out


def test_reloads_go_ten_tables_per_call():
    dms = boto3.client("dms", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="y")
    replication = reload.Replication(0, "cb-dev-x", config_arn("cb-dev-x"), True, ("s.%",))
    tables = [f"s.t{i:02}" for i in range(12)]
    with Stubber(dms) as stub:
        for batch in (tables[:10], tables[10:]):
            stub.add_response(
                "reload_replication_tables",
                {},
                {"ReplicationConfigArn": replication.arn, "TablesToReload": to_reload(*batch),
                 "ReloadOption": "data-reload"},
            )  # fmt: skip
        reload.request_reload(dms, replication, tables)
        stub.assert_no_pending_responses()


def test_reanchor_stops_the_replication_and_restarts_it_with_reload_target(aws, capsys):
    dms, s3, clock = aws
    tables = ["public.customers", "public.order_lines", "public.orders", "public.products"]
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry(t) for t in tables])
    dms.add_response("stop_replication", {"Replication": {"Status": "stopping"}},
                     {"ReplicationConfigArn": config_arn("cb-dev-sales")})  # fmt: skip
    serverless_status(dms, "cb-dev-sales", "stopping")
    serverless_status(dms, "cb-dev-sales", "stopped")
    dms.add_response(
        "start_replication",
        {"Replication": {"Status": "starting"}},
        {"ReplicationConfigArn": config_arn("cb-dev-sales"), "StartReplicationType": "reload-target"},
    )
    dms.add_client_error("describe_replication_table_statistics", "InvalidResourceStateFault", "provisioning")
    serverless_stats(dms, "cb-dev-sales", [entry(t, load=NEW) for t in tables])
    for table in tables:
        head(s3, "sales", table)
    args = ("--stack", "dev", "--source", "sales", "--all", "--reanchor", "--yes")
    code, out, err = run_main(capsys, *args)
    assert (code, err) == (0, "")
    assert "stop if running, then StartReplication reload-target" in out and "pg_replication_slots" in out
    assert "cb-dev-sales: started with reload-target" in out and len(clock.slept) == 2


def test_reanchor_of_a_failed_task_starts_it_without_stopping(aws, capsys):
    dms, _, _ = aws
    task_status(dms, "cb-dev-billing", "failed")
    task_stats(dms, "cb-dev-billing", [entry("dbo.invoices"), entry("dbo.payments")])
    dms.add_response(
        "start_replication_task",
        {"ReplicationTask": {"Status": "starting"}},
        {"ReplicationTaskArn": task_arn("cb-dev-billing"), "StartReplicationTaskType": "reload-target"},
    )
    args = ("--stack", "dev", "--source", "billing", "--all", "--reanchor", "--yes", "--no-wait")
    code, out, _ = run_main(capsys, *args)
    assert code == 0 and "StartReplicationTask reload-target" in out


# --- table sets ------------------------------------------------------------------------------


@pytest.fixture
def table_sets(tmp_path, monkeypatch):
    """dev with public.order_lines added as the serverless source's second table set."""
    config = copy.deepcopy(read_stack_config("dev"))
    sales = next(s for s in config["cloudbridge:sources"] if s["name"] == "sales")
    sales["tables"].remove("public.order_lines")
    sales["addedTables"] = [["public.order_lines"]]
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    monkeypatch.setenv(STACKS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(METADATA_DIR_ENV, str(FIXTURE_STACKS / "metadata"))
    return tmp_path


def test_a_table_of_an_added_set_goes_to_that_sets_config(table_sets, aws, capsys):
    dms, _, _ = aws
    sets = (("cb-dev-sales", "public.orders"), ("cb-dev-sales-set2", "public.order_lines"))
    for identifier, _ in sets:
        serverless_status(dms, identifier, "running")
    for identifier, table in sets:
        serverless_stats(dms, identifier, [entry(table)])
    for identifier, table in sets:
        dms.add_response(
            "reload_replication_tables",
            {"ReplicationConfigArn": config_arn(identifier)},
            {"ReplicationConfigArn": config_arn(identifier), "TablesToReload": to_reload(table),
             "ReloadOption": "data-reload"},
        )  # fmt: skip
    args = ("--stack", "dev", "--source", "sales", "--table", "public.orders", "--table", "public.order_lines")
    code, out, _ = run_main(capsys, *args, "--yes", "--no-wait")
    assert code == 0 and "cb-dev-sales-set2: ReloadReplicationTables" in out


# --- refusals: one line, the rule's exit code, nothing changed --------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--source", "sales", "--table", "public.nope"], "--table public.nope: not a table of source 'sales'"),
        (["--source", "sales", "--table", "public.%"], "--table public.%: give one table as schema.table"),
        (["--source", "sales", "--table", "orders"], "--table orders: give one table as schema.table"),
        (["--source", "nosuch", "--all"], "Pulumi.dev.yaml has no source 'nosuch'"),
        (["--source", "sales", "--table", "public.orders", "--reanchor"], "--reanchor restarts every table"),
    ],
)
def test_bad_input_is_one_line_before_any_aws_call(monkeypatch, capsys, args, words):
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: pytest.fail("AWS was called"))
    code, _, err = run_main(capsys, "--stack", "dev", *args)
    assert code == 2 and err.startswith(f"cloudbridge reload: {words}") and len(err.splitlines()) == 1


def test_an_unknown_stack_is_one_line(capsys):
    code, _, err = run_main(capsys, "--stack", "nosuch", "--source", "sales", "--all")
    assert code == 2 and err.startswith("cloudbridge reload: no stack file Pulumi.nosuch.yaml (stacks: ")


def test_a_replication_that_does_not_run_is_refused(aws, capsys):
    dms, _, _ = aws
    serverless_status(dms, "cb-dev-sales", "stopped")
    code, _, err = run_main(capsys, "--stack", "dev", "--source", "sales", "--table", "public.orders", "--yes")
    assert code == 2 and "cb-dev-sales is stopped: DMS reloads tables only while it runs" in err
    assert "--all --reanchor" in err and len(err.splitlines()) == 1


def test_without_a_terminal_and_without_yes_nothing_is_reloaded(aws, capsys, monkeypatch):
    dms, _, _ = aws
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders")])
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, out, err = run_main(capsys, "--stack", "dev", "--source", "sales", "--table", "public.orders")
    assert code == 2 and err.strip() == (
        "cloudbridge reload: standard input is not a terminal: nothing was reloaded; pass --yes to go ahead"
    )
    assert "what happens:" in out  # it said what it would do before refusing


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 2), ("", 2)])
def test_a_terminal_is_asked(aws, capsys, monkeypatch, answer, code):
    dms, _, _ = aws
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders")])
    if code == 0:
        dms.add_response("reload_replication_tables", {}, None)
    monkeypatch.setattr(sys, "stdin", Tty(answer))
    result, out, err = run_main(capsys, "--stack", "dev", "--source", "sales", "--table", "public.orders",
                                "--no-wait")  # fmt: skip
    assert result == code and "reload 1 table(s) of sales in dev? [y/N]" in out
    assert code == 0 or err.strip() == "cloudbridge reload: not confirmed: nothing was reloaded"


def test_a_table_error_is_exit_1_naming_the_table(aws, capsys):
    dms, _, _ = aws
    task_status(dms, "cb-dev-billing", "running")
    task_stats(dms, "cb-dev-billing", [entry("dbo.payments")])
    dms.add_response("reload_tables", {}, None)
    task_stats(dms, "cb-dev-billing", [entry("dbo.payments", "Table error")])
    code, _, err = run_main(capsys, "--stack", "dev", "--source", "billing", "--table", "dbo.payments", "--yes")
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith("cloudbridge reload: dbo.payments: Table error in cb-dev-billing (log group dms-tasks-")


def test_a_reload_that_does_not_finish_in_time_is_exit_1(aws, capsys):
    dms, _, clock = aws
    serverless_status(dms, "cb-dev-sales", "running")
    serverless_stats(dms, "cb-dev-sales", [entry("public.orders")])
    dms.add_response("reload_replication_tables", {}, None)
    for _ in range(3):
        serverless_stats(dms, "cb-dev-sales", [entry("public.orders", "Table is being reloaded")])
    args = ("--stack", "dev", "--source", "sales", "--table", "public.orders", "--yes", "--timeout", "60")
    code, _, err = run_main(capsys, *args)
    assert code == 1 and "not finished after 60 s: public.orders (Table is being reloaded)" in err
    assert clock.slept == [30.0, 30.0]


def test_a_marker_check_without_list_permission_says_which_permission(aws, capsys):
    dms, s3, _ = aws
    task_status(dms, "cb-dev-billing", "running")
    task_stats(dms, "cb-dev-billing", [entry("dbo.invoices")])
    dms.add_response("reload_tables", {}, None)
    task_stats(dms, "cb-dev-billing", [entry("dbo.invoices", load=NEW)])
    s3.add_client_error("head_object", service_error_code="403", http_status_code=403)  # S3's answer without ListBucket
    code, _, err = run_main(capsys, "--stack", "dev", "--source", "billing", "--table", "dbo.invoices", "--yes")
    assert code == 2 and "s3:ListBucket so that a marker not yet written is a 404" in err and len(err.splitlines()) == 1


def test_a_cdc_only_source_is_refused(table_sets, monkeypatch, capsys):
    path = table_sets / "Pulumi.dev.yaml"
    document = yaml.safe_load(path.read_text())
    sales = next(s for s in document["config"]["cloudbridge:sources"] if s["name"] == "sales")
    sales["cdcStart"] = {"position": "0/3A0001C8", "slotName": "cloudbridge_start"}
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: pytest.fail("AWS was called"))
    code, _, err = run_main(capsys, "--stack", "dev", "--source", "sales", "--all")
    assert code == 2 and "is CDC-only (cdcStart): DMS reloads tables only of full-load" in err


def test_no_credentials_is_one_line():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                 AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "cloudbridge", "reload", "--stack", "dev", "--source", "sales", "--table",
         "public.orders", "--yes"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=clean, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip() == f"cloudbridge reload: {cli.NO_CREDENTIALS}"


# --- the contract: every call and parameter is in botocore's DMS model --------------------------


def test_the_calls_are_the_dms_models():
    model = botocore.session.get_session().get_service_model("dms")
    for operation, parameters in {
        "ReloadReplicationTables": {"ReplicationConfigArn", "TablesToReload", "ReloadOption"},
        "ReloadTables": {"ReplicationTaskArn", "TablesToReload", "ReloadOption"},
        "StartReplication": {"ReplicationConfigArn", "StartReplicationType"},
        "StartReplicationTask": {"ReplicationTaskArn", "StartReplicationTaskType"},
        "StopReplication": {"ReplicationConfigArn"},
        "StopReplicationTask": {"ReplicationTaskArn"},
        "DescribeReplicationTableStatistics": {"ReplicationConfigArn", "MaxRecords", "Marker"},
        "DescribeTableStatistics": {"ReplicationTaskArn", "MaxRecords", "Marker"},
    }.items():
        assert parameters <= set(model.operation_model(operation).input_shape.members), operation
    assert "data-reload" in model.shape_for("ReloadOptionValue").enum
    assert "reload-target" in model.shape_for("StartReplicationTaskTypeValue").enum
    table_state = model.shape_for("TableStatistics").members["TableState"].documentation
    assert all(state in table_state for state in {reload.COMPLETED, *reload.FAILED_STATES})
