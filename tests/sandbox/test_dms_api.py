"""The sandbox's DMS API facade (cloudbridge/sandbox/dms_api.py) and the reload command run on it
(cloudbridge/sandbox/command.py), fast: no PostgreSQL — the stand-in's loads are instant here —
and moto's S3 in-process.

Requests and answers are held to botocore's own DMS model, so a drift between cloudbridge/reload.py
and the API fails here; the command's real ``main`` runs on the facade, and the sandbox's runner of
it prints what ``main`` prints."""

from __future__ import annotations

import re
import sys
import threading
from datetime import UTC, datetime

import boto3
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from cloudbridge import cli, reload
from cloudbridge.metadata import committed
from cloudbridge.sandbox import command as sandbox_command
from cloudbridge.sandbox.command import printed_to, reload_command
from cloudbridge.sandbox.dms import COMPLETED, RUNNING, STOPPED, DmsStandIn
from cloudbridge.sandbox.dms_api import OPERATIONS, DmsApi, service_model
from cloudbridge.sandbox.mappings import sandbox_source, table_mappings
from cloudbridge.sandbox.run import ENVIRONMENT, METADATA_ROOT
from cloudbridge.sandbox.runners import Schedule
from components.naming import Naming
from components.workspace import METADATA_DIR_ENV
from functions.common import generations, layout

TABLES = ["public.customers", "public.order_lines", "public.orders", "public.products"]
REGION, ACCOUNT = "eu-west-2", "123456789012"


class InstantStandIn(DmsStandIn):
    """The stand-in with its source left out: every load is instant, three rows a table."""

    def create_slot(self) -> str:
        return "0/0"

    def drop_slot(self) -> None:
        pass

    def close(self) -> None:
        pass

    def full_load(self) -> int:
        return sum(self._load_each(sorted(self.tables), None, reloaded=False).values())

    def _load_each(self, keys, during_load, reloaded):
        loaded = {}
        for key in keys:
            meta, started = self.tables[key], datetime.now(UTC)
            with self._lock:
                self._loading.add(key)
                self._table_state(key, "Table is being reloaded" if reloaded else "Full load")
            if during_load is not None:
                during_load()
            self._finish_load(key, meta, started, 3, reloaded)
            loaded[meta.table_id] = 3
        return loaded


@pytest.fixture
def sandbox(monkeypatch):
    """The sandbox's source and target, an instant stand-in behind the facade, moto's S3 with the
    raw-history bucket, and the marker writer on a fast schedule."""
    monkeypatch.setenv(METADATA_DIR_ENV, str(METADATA_ROOT))
    source = sandbox_source(TABLES)
    target = reload.target_of(ENVIRONMENT, source, Naming(ENVIRONMENT, ACCOUNT, REGION))
    metadata = committed(METADATA_ROOT, "sales")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=target.raw_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        standin = InstantStandIn(
            "", s3, "landing", list(metadata.values()), table_mappings=table_mappings(source),
            replication_arn=target.replications[0].arn,
        )  # fmt: skip
        standin.full_load()
        where = layout.by_name(source.raw_history_partition)  # the source's partitions: markers go there
        markers = Schedule(
            lambda: generations.write_markers(
                s3, target.raw_bucket, metadata, standin.describe_table_statistics(), where
            ),
            0.02,
            name="markers",
        )
        markers.start()
        api = DmsApi(standin)
        try:
            yield target, standin, api, s3
        finally:
            markers.stop()
            api.join()
        assert markers.errors == []


def arn(target):
    return target.replications[0].arn


# --- the facade's surface against botocore's model ---------------------------------------------------


def test_the_facade_answers_exactly_the_serverless_operations_reload_calls_under_their_boto3_names():
    model = service_model()
    assert set(OPERATIONS.values()) == {
        "DescribeReplications",
        "DescribeReplicationTableStatistics",
        "ReloadReplicationTables",
        "StopReplication",
        "StartReplication",
    }
    for method, operation in OPERATIONS.items():
        assert operation in model.operation_names and xform_name(operation) == method
        assert callable(getattr(DmsApi, method))
        assert method in boto3.client("dms", region_name=REGION).meta.method_to_api_mapping
    with pytest.raises(NotImplementedError, match="answers only"):
        DmsApi(None).describe_replication_tasks(Filters=[])  # the instance mode's: not the sandbox's
    with pytest.raises(AttributeError):
        DmsApi(None).not_an_operation  # noqa: B018


def test_requests_are_validated_like_botocore_validates_them(sandbox):
    target, _, api, _ = sandbox
    tables = [{"SchemaName": "public", "TableName": "orders"}]
    with pytest.raises(ParamValidationError, match="Unknown parameter"):
        api.reload_replication_tables(ReplicationTaskArn=arn(target), TablesToReload=tables)  # the instance name
    with pytest.raises(ParamValidationError, match="Missing required parameter"):
        api.reload_replication_tables(ReplicationConfigArn=arn(target))
    with pytest.raises(ParamValidationError, match="Missing required parameter.*TableName"):
        api.reload_replication_tables(ReplicationConfigArn=arn(target), TablesToReload=[{"SchemaName": "public"}])
    with pytest.raises(ParamValidationError, match="Invalid type"):
        api.reload_replication_tables(ReplicationConfigArn=arn(target), TablesToReload=["public.orders"])
    with pytest.raises(ParamValidationError, match="valid: \\['data-reload', 'validate-only'\\]"):
        api.reload_replication_tables(ReplicationConfigArn=arn(target), TablesToReload=tables, ReloadOption="reload")
    with pytest.raises(ParamValidationError, match="Invalid type"):
        api.describe_replication_table_statistics(ReplicationConfigArn=arn(target), MaxRecords="500")
    with pytest.raises(ParamValidationError, match="Missing required parameter.*StartReplicationType"):
        api.start_replication(ReplicationConfigArn=arn(target))
    with pytest.raises(TypeError):
        api.stop_replication(arn(target))  # boto3 takes keyword arguments only
    assert api.calls == [], "nothing invalid reached the stand-in"


def test_answers_fit_the_operations_output_shapes(sandbox):
    """Each answer is checked against botocore's output shape; one that does not fit is refused."""
    target, standin, api, _ = sandbox
    replications = api.describe_replications(Filters=[{"Name": "replication-config-arn", "Values": [arn(target)]}])[
        "Replications"
    ]
    assert [(r["ReplicationConfigArn"], r["Status"]) for r in replications] == [(arn(target), RUNNING)]
    page = api.describe_replication_table_statistics(ReplicationConfigArn=arn(target), MaxRecords=500)
    assert page["ReplicationConfigArn"] == arn(target) and "Marker" not in page
    entries = page["ReplicationTableStatistics"]
    assert sorted(f"{e['SchemaName']}.{e['TableName']}" for e in entries) == TABLES
    assert all(e["TableState"] == COMPLETED and e["FullLoadEndTime"] >= e["FullLoadStartTime"] for e in entries)
    standin.statistics[("public", "orders")]["FullLoadRows"] = "three"  # not a long
    with pytest.raises(ParamValidationError, match="FullLoadRows"):
        api.describe_replication_table_statistics(ReplicationConfigArn=arn(target))


def test_statistics_are_paged_as_reload_reads_them(sandbox):
    target, standin, api, _ = sandbox
    for n in range(41):
        standin.statistics[("public", f"t{n:02d}")] = {"SchemaName": "public", "TableName": f"t{n:02d}",
                                                        "TableState": "Before load"}  # fmt: skip
    first = api.describe_replication_table_statistics(ReplicationConfigArn=arn(target), MaxRecords=20)
    assert len(first["ReplicationTableStatistics"]) == 20 and first["Marker"]
    everything = reload.table_statistics(api, target.replications[0])  # MaxRecords 500, then Marker
    assert len(everything) == 45
    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        api.describe_replication_table_statistics(ReplicationConfigArn=arn(target), MaxRecords=1000)


def test_what_dms_refuses_comes_back_as_client_errors_and_the_unmodelled_is_not_answered(sandbox):
    target, standin, api, _ = sandbox
    tables = [{"SchemaName": "public", "TableName": "orders"}]
    with pytest.raises(ClientError) as found:
        api.reload_replication_tables(ReplicationConfigArn=arn(target) + "-other", TablesToReload=tables)
    assert reload._code(found.value) == "ResourceNotFoundFault"
    with pytest.raises(ClientError) as found:
        api.start_replication(ReplicationConfigArn=arn(target), StartReplicationType="reload-target")
    assert reload._code(found.value) == "InvalidResourceStateFault", "a running replication is stopped first"
    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        api.start_replication(ReplicationConfigArn=arn(target), StartReplicationType="from-scratch")
    with pytest.raises(NotImplementedError, match="CdcStartPosition"):
        api.start_replication(ReplicationConfigArn=arn(target), StartReplicationType="reload-target",
                              CdcStartPosition="0/16B3748")  # fmt: skip
    other = Naming(ENVIRONMENT, ACCOUNT, REGION).dms_arn("replication-config", "cb-sandbox-sales-set2")
    gone = reload.Replication(1, "cb-sandbox-sales-set2", other, True, ("public.x",))
    assert reload.replication_status(api, gone) is None, "ResourceNotFoundFault: a config never started"
    api.stop_replication(ReplicationConfigArn=arn(target))
    assert standin.state == STOPPED and reload.replication_status(api, target.replications[0]) == STOPPED
    with pytest.raises(ClientError) as found:
        api.reload_replication_tables(ReplicationConfigArn=arn(target), TablesToReload=tables)
    assert reload._code(found.value) == "InvalidResourceStateFault"
    api.start_replication(ReplicationConfigArn=arn(target), StartReplicationType="resume-processing")
    assert standin.state == RUNNING


# --- the reload command on the facade ------------------------------------------------------------------


def run_main(monkeypatch, capsys, target, api, s3, *argv):
    monkeypatch.setattr(reload, "load_target", lambda stack, source: target)
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: {"dms": api, "s3": s3}[service])
    code = reload.main(["--stack", target.stack, "--source", target.source.name, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_commands_main_reloads_a_table_on_the_facade_until_its_marker_exists(sandbox, monkeypatch, capsys):
    target, standin, api, s3 = sandbox
    before = standin.statistics[("public", "order_lines")]["FullLoadEndTime"]
    window = []
    standin.during_reload = lambda: window.append(threading.current_thread().name)
    code, out, err = run_main(
        monkeypatch, capsys, target, api, s3, "--table", "public.order_lines", "--yes", "--poll-seconds", "0.02"
    )
    assert (code, err) == (0, ""), out
    assert "ReloadReplicationTables data-reload" in out and "public.order_lines: loaded and marked" in out
    assert f"generation marker s3://{target.raw_bucket}/public/order_lines/" in out
    entry = standin.statistics[("public", "order_lines")]
    assert entry["FullLoadReloaded"] and entry["FullLoadEndTime"] > before
    assert window == ["dms-reload-tables"], "the load runs in the background, as DMS's does"
    assert [name for name, _ in api.calls][:3] == [
        "DescribeReplications",
        "DescribeReplicationTableStatistics",
        "ReloadReplicationTables",
    ]


def test_the_commands_main_reanchors_a_running_replication_on_the_facade(sandbox, monkeypatch, capsys):
    """--all --reanchor on a running replication: StopReplication, wait until stopped,
    StartReplication reload-target, every table followed until marked."""
    target, standin, api, s3 = sandbox
    code, out, err = run_main(
        monkeypatch, capsys, target, api, s3, "--all", "--reanchor", "--yes", "--poll-seconds", "0.02"
    )
    assert (code, err) == (0, ""), out
    assert "cb-sandbox-sales: stopping" in out and "cb-sandbox-sales: started with reload-target" in out
    assert all(f"{t}: loaded and marked" in out for t in TABLES)
    assert standin.state == RUNNING and standin.start_type == "reload-target"
    names = [name for name, _ in api.calls]
    assert names.count("StopReplication") == names.count("StartReplication") == 1
    assert ("StartReplication", {"ReplicationConfigArn": arn(target), "StartReplicationType": "reload-target"}) in (
        api.calls
    )


def normalised(lines):
    """The command's lines without what differs from run to run: times, markers' stamps, the states
    a poll happened to see."""
    out = []
    for line in lines:
        if re.match(r"^  \w+\.\w+: ", line):
            continue
        line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "T", line)
        out.append(re.sub(r"/\d{4}/\d\d/\d\d(?:/\d\d)?/GENERATION-\d{8}-\d+", "/D/GENERATION-S", line))
    return out


@pytest.mark.parametrize("argv", [["--table", "public.orders"], ["--all", "--reanchor"]])
def test_the_sandboxs_runner_prints_what_main_prints(sandbox, monkeypatch, capsys, argv):
    """The runner (what the sandbox calls) and the command's main, on the same facade in turn: the
    same lines, the same exit code — the runner is main's steps, not a paraphrase of them."""
    target, standin, api, s3 = sandbox
    code, out, _ = run_main(monkeypatch, capsys, target, api, s3, *argv, "--yes", "--poll-seconds", "0.02")
    tables = ["public.orders"] if "--table" in argv else None
    run = reload_command(target, api, s3, tables, reanchor="--reanchor" in argv, poll=0.02)
    assert (run.code, code) == (0, 0), run.lines
    assert normalised(run.lines) == normalised(out.splitlines())
    assert run.argv == ["--stack", "sandbox", "--source", "sales", *argv, "--yes", "--timeout", "120",
                        "--poll-seconds", "0.02"]  # fmt: skip
    assert set(run.rows()) == set(tables or TABLES) and run.ok


def test_the_runner_gives_mains_exit_code_and_line_for_a_refusal(sandbox):
    target, standin, api, s3 = sandbox
    standin.fail("the replication slot is gone")
    run = reload_command(target, api, s3, ["public.orders"])
    assert run.code == cli.USAGE and not run.ok
    assert "is failed: DMS reloads tables only while it runs" in run.problem
    assert run.lines[-1].startswith("cloudbridge reload: replication config cb-sandbox-sales is failed")
    assert [name for name, _ in api.calls] == ["DescribeReplications"], "nothing was changed"
    run = reload_command(target, api, s3, ["public.nothing"])
    assert run.code == cli.USAGE and "not a table of source 'sales'" in run.problem


def test_a_load_that_fails_ends_the_command_with_exit_1(sandbox):
    target, standin, api, s3 = sandbox

    def broken(keys, during_load=None):
        with standin._lock:
            for key in keys:
                standin._table_state(key, "Table error")
        raise RuntimeError("connection refused")

    standin.load_tables = broken
    run = reload_command(target, api, s3, ["public.orders"], poll=0.02)
    assert run.code == cli.FINDINGS and "public.orders: Table error in cb-sandbox-sales" in run.problem
    api.join()
    assert api.errors == ["dms-reload-tables: RuntimeError: connection refused"]


def test_only_the_commands_thread_is_captured():
    captured, seen = [], []
    real = sys.stdout

    class Sink:
        def write(self, text):
            seen.append(text)

        def flush(self):
            pass

    sys.stdout = Sink()
    try:
        started, done = threading.Event(), threading.Event()

        def command():
            with printed_to(captured.append):
                print("from the command")
                started.set()
                done.wait(5)

        thread = threading.Thread(target=command)
        thread.start()
        started.wait(5)
        print("from the sandbox")
        done.set()
        thread.join()
        assert isinstance(sys.stdout, Sink), "the original stream is back"
        assert sandbox_command._routed == 0
    finally:
        sys.stdout = real
    assert "".join(captured) == "from the command\n" and "".join(seen) == "from the sandbox\n"
