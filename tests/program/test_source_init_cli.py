"""``cloudbridge source-init`` on bad input: every problem is one line on stderr naming it and the fix,
exit 2 (usage or environment), never a traceback, never a password. The dev fixture stack's
provisioned source is the one source-init serves; the real run is tests/integration."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cloudbridge import cli, secrets, source_init
from cloudbridge.localpg import free_port
from cloudbridge.plan import PROJECT_ROOT, read_stack_config

MASTER = {"username": "cbadmin", "password": "m4ster-s3ntinel"}


def provisioned_source() -> tuple[str, dict]:
    """The dev fixture's provisioned source (name, entry): no literal of the stack file."""
    entry = next(s for s in read_stack_config("dev")["cloudbridge:sources"] if s.get("provision"))
    return entry["name"], entry


def region() -> str:
    return read_stack_config("dev")["aws:region"]


def run(*args):
    """``python -m cloudbridge`` with no AWS identity anywhere."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDBRIDGE_DSN"))}
    clean.update(
        AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true"
    )
    return subprocess.run(
        [sys.executable, "-m", "cloudbridge", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env=clean,
    )  # fmt: skip


def one_line(code, err, expected=2):
    assert code == expected, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture
def aws(monkeypatch):
    """moto's Secrets Manager (the master secret; the DMS secret as the program declares it, empty);
    RDS stubbed, its responses checked against botocore's RDS model."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        store = boto3.client("secretsmanager", region_name=region())
        master = store.create_secret(Name="rds!db-sentinel", SecretString=json.dumps(MASTER))["ARN"]
        rds = boto3.client("rds", region_name=region())
        stub = Stubber(rds)
        stub.activate()
        monkeypatch.setattr(cli, "aws_client", lambda service, stack: {"secretsmanager": store, "rds": rds}[service])
        yield store, stub, master
        stub.deactivate()


def instance(stub, master, port=5432, status="available"):
    name, _ = provisioned_source()
    identifier = f"cb-dev-{name}-db"
    stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": identifier,
                    "DBInstanceStatus": status,
                    "Endpoint": {"Address": "127.0.0.1", "Port": port},
                    "MasterUserSecret": {"SecretArn": master, "SecretStatus": "active"},
                }
            ]
        },  # fmt: skip
        {"DBInstanceIdentifier": identifier},
    )


def init(capsys, *args):
    name, _ = provisioned_source()
    code = source_init.main(["--stack", "dev", "--source", name, *args])
    return code, capsys.readouterr().err


def test_it_is_a_command():
    done = run("--help")
    assert done.returncode == 0 and "source-init" in done.stdout


def test_a_source_without_provision_is_refused_in_one_line(capsys):
    other = next(s for s in read_stack_config("dev")["cloudbridge:sources"] if not s.get("provision"))
    code = source_init.main(["--stack", "dev", "--source", other["name"]])
    line = one_line(code, capsys.readouterr().err)
    assert "has no provision:" in line and "docs/source-prerequisites.md" in line


def test_an_unknown_source_is_one_line(capsys):
    code = source_init.main(["--stack", "dev", "--source", "nosuch"])
    assert "has no source 'nosuch'" in one_line(code, capsys.readouterr().err)


def test_verify_full_without_the_ca_bundle_is_one_line(capsys):
    line = one_line(*init(capsys))
    assert "--sslrootcert" in line and "--sslmode require" in line


def test_no_credentials_is_one_line():
    name, _ = provisioned_source()
    done = run("source-init", "--stack", "dev", "--source", name, "--sslmode", "require")
    assert one_line(done.returncode, done.stderr) == f"cloudbridge source-init: {cli.NO_CREDENTIALS}"


def test_preflight_of_a_provisioned_source_without_credentials_is_one_line():
    name, _ = provisioned_source()
    done = run("preflight", "--stack", "dev", "--source", name, "--from-secret")
    assert one_line(done.returncode, done.stderr) == f"cloudbridge preflight: {cli.NO_CREDENTIALS}"


def test_an_instance_not_deployed_yet_is_one_line(aws, capsys):
    _, stub, _ = aws
    stub.add_client_error("describe_db_instances", "DBInstanceNotFound", http_status_code=404)
    line = one_line(*init(capsys, "--sslmode", "require"))
    assert "deploy the stack first" in line


def test_a_missing_dms_secret_is_one_line(aws, capsys):
    _, stub, master = aws
    instance(stub, master)
    line = one_line(*init(capsys, "--sslmode", "require"))
    assert "no secret cb-dev-" in line and "deploy the stack first" in line


def test_an_unreachable_database_is_one_line_without_the_password(aws, capsys):
    store, stub, master = aws
    name, _ = provisioned_source()
    store.create_secret(Name=f"cb-dev-{name}-dms-user")
    instance(stub, master, port=free_port())
    line = one_line(*init(capsys, "--sslmode", "require", "--connect-timeout", "2"))
    assert "cannot initialise" in line and "adminSecurityGroupId" in line
    assert MASTER["password"] not in line
    assert store.list_secret_version_ids(SecretId=f"cb-dev-{name}-dms-user")["Versions"] == []  # nothing stored


def test_secrets_refuses_a_provisioned_sources_credentials(capsys):
    name, _ = provisioned_source()
    code = secrets.main(["source-credentials", "--stack", "dev", "--source", name])
    assert "source-init" in one_line(code, capsys.readouterr().err)
