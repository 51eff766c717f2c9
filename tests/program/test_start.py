"""start: a CDC-only serverless source's configs started from the stack file's cdcStart, a position or a
time (botocore's Stubber, exact parameters, checked against the DMS model); every refusal one line with
exit 2. The stacks are the fixture's dev with cdcStart added; ARNs come from the parsed stack."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
import yaml
from botocore.stub import Stubber

from cloudbridge import cli, start
from cloudbridge.plan import PROJECT_ROOT, read_stack_config
from components.naming import Naming
from components.workspace import FIXTURE_STACKS, METADATA_DIR_ENV, STACKS_DIR_ENV

POSITION = "0/3A0001C8"
TIME = "2026-11-30T23:00:00Z"
SLOT = "cloudbridge_start"  # PostgreSQL reads a position through the slot created there


def config_arn(identifier):
    config = read_stack_config("dev")
    return Naming("dev", config["cloudbridge:account"]["id"], config["aws:region"]).dms_arn(
        "replication-config", identifier
    )


@pytest.fixture
def stack(tmp_path, monkeypatch):
    """Write dev with edits: ``stack(sales={...}, billing={...})`` updates each source's entry."""

    def write(**edits):
        config = copy.deepcopy(read_stack_config("dev"))
        for source in config["cloudbridge:sources"]:
            source.update(edits.get(source["name"], {}))
        (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
        monkeypatch.setenv(STACKS_DIR_ENV, str(tmp_path))
        monkeypatch.setenv(METADATA_DIR_ENV, str(FIXTURE_STACKS / "metadata"))

    return write


@pytest.fixture
def dms(monkeypatch):
    region = read_stack_config("dev")["aws:region"]
    client = boto3.client("dms", region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def status(dms, identifier, value):
    found = [{"ReplicationConfigArn": config_arn(identifier), "Status": value}] if value else []
    dms.add_response(
        "describe_replications",
        {"Replications": found},
        {"Filters": [{"Name": "replication-config-arn", "Values": [config_arn(identifier)]}]},
    )


def started(dms, identifier, **cdc):
    dms.add_response(
        "start_replication",
        {"Replication": {"ReplicationConfigArn": config_arn(identifier), "Status": "starting"}},
        {"ReplicationConfigArn": config_arn(identifier), "StartReplicationType": "start-replication", **cdc},
    )


def run_main(capsys, *args):
    code = start.main(["--stack", "dev", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_each_table_sets_config_starts_from_the_stack_files_position(stack, dms, capsys):
    stack(sales={"tables": ["public.customers", "public.orders"], "addedTables": [["public.products"]],
                 "cdcStart": {"position": POSITION, "slotName": SLOT}})  # fmt: skip
    for identifier in ("cb-dev-sales", "cb-dev-sales-set2"):
        status(dms, identifier, None)  # never started: DMS lists no replication yet
        started(dms, identifier, CdcStartPosition=POSITION)
    code, out, err = run_main(capsys, "--source", "sales")
    assert (code, err) == (0, "")
    assert f"change capture from position {POSITION}" in out and "cb-dev-sales-set2: started" in out


def test_a_position_given_on_the_command_line_wins(stack, dms, capsys):
    stack(sales={"cdcStart": {"position": POSITION, "slotName": SLOT}})
    checkpoint = "checkpoint:V1#27#0/3B000000:1975:-1:2002:0#0#*#0#93"
    status(dms, "cb-dev-sales", "stopped")  # a restart from a checkpoint after a stop
    started(dms, "cb-dev-sales", CdcStartPosition=checkpoint)
    assert run_main(capsys, "--source", "sales", "--from", f"position:{checkpoint}")[0] == 0


def test_a_time_is_sent_as_a_utc_timestamp(stack, dms, capsys):
    serverless = {"mode": "serverless", "maxCapacityUnits": 2}
    stack(billing={"replication": serverless, "cdcStart": {"time": TIME}})
    status(dms, "cb-dev-billing", None)
    started(dms, "cb-dev-billing", CdcStartTime=datetime(2026, 11, 30, 23, 0, 0, tzinfo=UTC))
    code, out, _ = run_main(capsys, "--source", "billing")
    assert code == 0 and f"change capture from time {TIME}" in out


def test_a_running_replication_is_left_as_it_is(stack, dms, capsys):
    stack(sales={"cdcStart": {"position": POSITION, "slotName": SLOT}})
    status(dms, "cb-dev-sales", "running")
    code, out, _ = run_main(capsys, "--source", "sales")
    assert code == 0 and "cb-dev-sales: already running, left as it is" in out


AT_POSITION = {"sales": {"cdcStart": {"position": POSITION, "slotName": SLOT}}}
NOT_POSTGRES = "source 'sales' is PostgreSQL, which cannot start from a time"


@pytest.mark.parametrize(
    ("edits", "args", "words"),
    [
        ({}, ["--source", "billing"], "source 'billing' is an instance task: instance tasks start from cdcStart"),
        ({}, ["--source", "sales"], "source 'sales' has no cdcStart: its replications start on deploy"),
        (AT_POSITION, ["--source", "sales", "--from", f"time:{TIME}"], NOT_POSTGRES),
        ({"sales": {"cdcStart": {"time": TIME}}}, ["--source", "sales"],
         "DMS cannot start a PostgreSQL source from a time"),
        (AT_POSITION, ["--source", "sales", "--from", "time:yesterday"],
         "--from time:yesterday: not a UTC time to the second"),
        (AT_POSITION, ["--source", "sales", "--from", "time:2026-02-30T00:00:00Z"],
         "--from time:2026-02-30T00:00:00Z: not a date and time"),
        (AT_POSITION, ["--source", "sales", "--from", "lsn:0/1"],
         "--from lsn:0/1: give config, position:<DMS CDC start position> or time:<UTC time>"),
        (AT_POSITION, ["--source", "sales", "--from", "position:"], "--from position:: give config"),
        ({}, ["--source", "nosuch"], "Pulumi.dev.yaml has no source 'nosuch'"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_before_any_aws_call(stack, monkeypatch, capsys, edits, args, words):
    stack(**edits)
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: pytest.fail("AWS was called"))
    code, out, err = run_main(capsys, *args)
    assert code == 2 and err.startswith("cloudbridge start: ") and words in err and len(err.splitlines()) == 1, err


def test_an_unknown_stack_is_one_line(capsys):
    code = start.main(["--stack", "nosuch", "--source", "sales"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cloudbridge start: no stack file Pulumi.nosuch.yaml")


def test_no_credentials_is_one_line(stack):
    stack(sales={"cdcStart": {"position": POSITION, "slotName": SLOT}})
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                 AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "cloudbridge", "start", "--stack", "dev", "--source", "sales"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=clean, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip() == f"cloudbridge start: {cli.NO_CREDENTIALS}"


def test_the_start_parameters_are_the_dms_models():
    """The provider's ReplicationConfig has no start position: this call is the only place it is sent."""
    model = botocore.session.get_session().get_service_model("dms")
    members = model.operation_model("StartReplication").input_shape.members
    assert {"ReplicationConfigArn", "StartReplicationType", "CdcStartPosition", "CdcStartTime"} <= set(members)
    assert (members["CdcStartPosition"].type_name, members["CdcStartTime"].type_name) == ("string", "timestamp")
    assert "start-replication" in members["StartReplicationType"].documentation
    point = start.StartPoint(time=datetime(2026, 1, 1, tzinfo=UTC))
    assert set(point.parameters) <= set(members) and set(start.StartPoint(position="x").parameters) <= set(members)
