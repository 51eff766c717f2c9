"""The CLI on a user's first day: every problem a user can fix is one line on stderr naming
it and the fix, with the exit code of the one rule (0 ok, 1 findings, 2 usage or
environment); never a traceback, never a password or a webhook URL."""

import io
import json
import os
import socket
import subprocess
import sys
import time

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cloudbridge import cli, metadata, preflight, replay, secrets, stackfile, validate
from cloudbridge.plan import PROJECT_ROOT

REGION = "eu-west-2"  # the fixture stacks' aws:region
S3_FILE = "s3://cloudbridge-dev-sales-fail/public/orders/LOAD00000001.parquet"
WEBHOOK = "https://hooks.slack.com/services/T0SENTINEL/B0SENTINEL/s3ntinelS3cretToken"
SLACK_ARN = "arn:aws:secretsmanager:eu-west-2:111111111111:secret:cloudbridge/slack-webhook-Ab12Cd"
PASSWORD = "pw-s3ntinel"


def run(*args, env=None, stdin=""):
    """``python -m cloudbridge`` with no AWS identity anywhere but what ``env`` adds."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDBRIDGE_DSN", "CLOUDBRIDGE_DB_"))}
    clean.update(
        AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true"
    )
    return subprocess.run(
        [sys.executable, "-m", "cloudbridge", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env={**clean, **(env or {})}, input=stdin,
    )  # fmt: skip


def one_line(done, code=2):
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr[-3000:]
    return done.stderr.strip()


AWS_COMMANDS = {
    "replay": ["replay", "--source", "sales"],
    "validate": ["validate", S3_FILE, "--metadata", "orders.json"],
    "preflight": ["preflight", "--source", "sales", "--from-secret"],
}


# --- AWS: credentials, region, network, access ---------------------------------------------


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_no_credentials_is_one_line_in_every_aws_command(command):
    # No AWS_DEFAULT_REGION either: the region comes from the stack file, so no NoRegionError.
    done = run(*AWS_COMMANDS[command])
    assert one_line(done) == f"cloudbridge {command}: {cli.NO_CREDENTIALS}"


def test_partial_credentials_are_one_line():
    done = run(*AWS_COMMANDS["replay"], env={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"})
    assert one_line(done).startswith("cloudbridge replay: incomplete AWS credentials")


def test_an_unreachable_endpoint_is_one_line():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_ENDPOINT_URL": endpoint,
           "AWS_MAX_ATTEMPTS": "1"}  # fmt: skip
    try:
        done = run(*AWS_COMMANDS["validate"], env=env)
    finally:
        closed.close()
    assert one_line(done).startswith(f"cloudbridge validate: cannot reach AWS at {endpoint}")


def test_access_denied_is_one_line(monkeypatch, capsys):
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(s3)
    stub.add_client_error("head_object", service_error_code="AccessDenied", http_status_code=403)
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: s3)
    with stub:
        assert validate.main([S3_FILE, "--metadata", "orders.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cloudbridge validate: AWS refused HeadObject (AccessDenied)") and "AWS_PROFILE" in err
    assert len(err.splitlines()) == 1


def test_aws_clients_use_the_stack_files_region(monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("CLOUDBRIDGE_DSN", raising=False)
    regions = []
    real = boto3.client

    def spy(service, *args, **kwargs):
        regions.append((service, kwargs.get("region_name")))
        return real(service, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", spy)
    with mock_aws():
        replay.main(["--source", "sales"])  # moto has no such buckets: a one-line ClientError
        validate.main([S3_FILE, "--metadata", "orders.json"])
        preflight.main(["--source", "sales", "--from-secret"])
    assert {s for s, _ in regions} == {"s3", "glue", "secretsmanager"}
    assert {r for _, r in regions} == {REGION}
    assert "Traceback" not in capsys.readouterr().err


def test_a_stack_without_a_region_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  cloudbridge:sources: []\n")
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(tmp_path))
    with pytest.raises(stackfile.StackFileError, match="Pulumi.x.yaml has no aws:region"):
        cli.aws_client("s3", "x")


# --- stack files ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["hello\n", "config: 5\n", "- config\n", "config: [a, b]\n"])
@pytest.mark.parametrize("command", [["plan"], ["preflight", "--source", "sales"]])
def test_a_stack_file_that_is_not_a_mapping_is_one_line(tmp_path, text, command):
    (tmp_path / "Pulumi.x.yaml").write_text(text)
    done = run(*command, "--stack", "x", env={"CLOUDBRIDGE_STACKS_DIR": str(tmp_path)})
    assert one_line(done) == f"cloudbridge {command[0]}: Pulumi.x.yaml: expected a mapping with a config: block " + (
        "(see docs/config.md)"
    )


def test_an_empty_stack_file_has_no_sources(tmp_path, monkeypatch):
    (tmp_path / "Pulumi.x.yaml").write_text("")
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(tmp_path))
    assert stackfile.load("x") == {}
    with pytest.raises(stackfile.StackFileError, match="Pulumi.x.yaml has no source 'sales'"):
        stackfile.source_entry("x", "sales")


# --- the source database -------------------------------------------------------------------

SOURCE = {"name": "src", "engine": "postgres", "host": "127.0.0.1", "port": 5432, "database": "d", "tables": ["a.b"]}
DB_COMMANDS = {"preflight": ["--source", "src"], "metadata": ["extract", "--source", "src"]}


@pytest.fixture
def source_entry(monkeypatch):
    monkeypatch.setattr(stackfile, "source_entry", lambda stack, name: SOURCE)
    monkeypatch.setattr(metadata, "source_entry", lambda stack, name: SOURCE)


def main_of(command):
    return {"preflight": preflight.main, "metadata": metadata.main}[command]


@pytest.mark.parametrize(("scheme", "url"), [("postgres", "postgresql+psycopg"), ("postgresql", "postgresql+psycopg"),
                                             ("postgresql+psycopg", "postgresql+psycopg")])  # fmt: skip
def test_libpq_style_dsns_are_normalised(monkeypatch, scheme, url):
    monkeypatch.setenv("CLOUDBRIDGE_DSN", f"{scheme}://u:{PASSWORD}@db:5432/d")
    assert metadata.connection_url(SOURCE) == f"{url}://u:{PASSWORD}@db:5432/d"


@pytest.mark.parametrize("dsn", [f"mysql://u:{PASSWORD}@db/d", f"host=db password={PASSWORD}", f"pg://u:{PASSWORD}@d"])
@pytest.mark.parametrize("command", DB_COMMANDS)
def test_an_unknown_dsn_scheme_is_one_line_without_the_dsn(source_entry, monkeypatch, capsys, dsn, command):
    monkeypatch.setenv("CLOUDBRIDGE_DSN", dsn)
    assert main_of(command)(DB_COMMANDS[command]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(f"cloudbridge {command}: CLOUDBRIDGE_DSN must look like postgresql+psycopg://")
    assert len(out.err.splitlines()) == 1 and PASSWORD not in out.out + out.err


@pytest.mark.parametrize("dsn", [f"postgres://u:{PASSWORD}@db:port/d", f"postgres://u:pw@{PASSWORD}@127.0.0.1:1/d"])
def test_a_malformed_dsn_is_one_line_without_the_password(source_entry, monkeypatch, capsys, dsn):
    monkeypatch.setenv("CLOUDBRIDGE_DSN", dsn)  # a bad port; an unescaped @ (part of it would reach DNS)
    assert preflight.main(["--source", "src"]) == 2
    out = capsys.readouterr()
    assert out.err.startswith("cloudbridge preflight: CLOUDBRIDGE_DSN is not a valid URL: user:password@host")
    assert len(out.err.splitlines()) == 1 and PASSWORD not in out.out + out.err


@pytest.mark.parametrize("command", DB_COMMANDS)
def test_a_source_that_refuses_connections_is_exit_2_in_both_commands(source_entry, monkeypatch, capsys, command):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    monkeypatch.setenv("CLOUDBRIDGE_DSN", f"postgres://u:{PASSWORD}@127.0.0.1:{closed.getsockname()[1]}/d")
    try:
        assert main_of(command)([*DB_COMMANDS[command], "--metadata-dir" if command == "metadata" else "--stack",
                                 "/nonexistent" if command == "metadata" else "dev"]) == 2  # fmt: skip
    finally:
        closed.close()
    out = capsys.readouterr()
    assert "source 'src': OperationalError" in out.err and PASSWORD not in out.out + out.err
    assert len(out.err.splitlines()) == 1


def test_preflight_gives_up_on_a_port_that_never_answers(source_entry, monkeypatch, capsys):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # the kernel completes the handshake; nothing ever reads or answers
    monkeypatch.setenv("CLOUDBRIDGE_DSN", f"postgres://u:{PASSWORD}@127.0.0.1:{silent.getsockname()[1]}/d")
    started = time.monotonic()
    try:
        code = preflight.main(["--source", "src", "--connect-timeout", "2"])
    finally:
        silent.close()
    assert code == 2 and time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith("cloudbridge preflight: cannot check source 'src'") and "timeout" in err
    assert len(err.splitlines()) == 1


# --- secrets slack-webhook -----------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def store(monkeypatch, capsys, *args, stdin=WEBHOOK + "\n", secret="slack-webhook"):
    monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin))
    code = secrets.main([secret, "--stack", "dev", *args])
    out = capsys.readouterr()
    assert "s3ntinel" not in (out.out + out.err).lower(), "the secret value was printed"
    return code, out.out, out.err


def test_secrets_creates_the_webhook_secret_and_prints_its_new_arn(aws, monkeypatch, capsys):
    code, out, _ = store(monkeypatch, capsys)
    assert code == 0
    arn = aws.describe_secret(SecretId="cloudbridge/slack-webhook")["ARN"]
    assert aws.get_secret_value(SecretId=arn)["SecretString"] == WEBHOOK
    assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    assert f"created secret cloudbridge/slack-webhook: {arn}" in out
    assert f"update the cloudbridge:alerts.slackWebhookSecretArn in Pulumi.dev.yaml to {arn}" in out


def test_secrets_stores_a_new_version_of_an_existing_secret(aws, monkeypatch, capsys):
    arn = aws.create_secret(Name="cloudbridge/slack-webhook", SecretString="https://hooks.slack.com/services/a/b/c")[
        "ARN"
    ]
    code, out, _ = store(monkeypatch, capsys, "--update")
    assert code == 0 and f"stored a new version of secret cloudbridge/slack-webhook: {arn}" in out
    assert aws.get_secret_value(SecretId=arn)["SecretString"] == WEBHOOK


def test_secrets_reads_a_terminal_without_echo(aws, monkeypatch, capsys):
    prompts = []
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt: prompts.append(prompt) or WEBHOOK)
    code, _, _ = store(monkeypatch, capsys, stdin=Tty())
    assert code == 0 and prompts == ["Slack webhook URL (not echoed): "]


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        ([], "https://example.com/s3ntinel\n", "the value read is not a Slack webhook URL"),
        ([], "http://hooks.slack.com/services/T0s3ntinel/B0/x\n", "the value read is not a Slack webhook URL"),
        ([], "", "nothing read from standard input"),
        (["--update"], WEBHOOK, "no secret named cloudbridge/slack-webhook: run without --update"),
    ],
)
def test_secrets_refuses_bad_input_in_one_line_and_stores_nothing(aws, monkeypatch, capsys, args, stdin, words):
    code, _, err = store(monkeypatch, capsys, *args, stdin=stdin)
    assert code == 2 and err.startswith(f"cloudbridge secrets: {words}") and len(err.splitlines()) == 1
    assert aws.list_secrets()["SecretList"] == []


def test_secrets_create_refuses_an_existing_secret(aws, monkeypatch, capsys):
    aws.create_secret(Name="cloudbridge/slack-webhook", SecretString="https://hooks.slack.com/services/a/b/c")
    code, _, err = store(monkeypatch, capsys, "--create")
    assert code == 2 and "secret cloudbridge/slack-webhook exists: run without --create" in err


def test_the_secret_name_is_the_arn_without_its_suffix():
    assert secrets.secret_name(SLACK_ARN) == (REGION, "cloudbridge/slack-webhook")
    with pytest.raises(cli.CommandError, match="not a Secrets Manager secret ARN"):
        secrets.secret_name("arn:aws:secretsmanager:eu-west-2:111111111111:secret:webhook")


def test_the_webhook_url_is_never_taken_from_the_command_line():
    done = run("secrets", "slack-webhook", "--url", WEBHOOK)
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr


def test_a_secret_outside_the_stacks_region_is_refused_before_anything_is_read(aws, tmp_path, monkeypatch, capsys):
    text = stackfile.stack_file("dev").read_text().replace(SLACK_ARN, SLACK_ARN.replace(REGION, "us-east-1"))
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(tmp_path))
    code, _, err = store(monkeypatch, capsys, stdin=Tty())  # a read would prompt: getpass is not patched
    assert code == 2 and err.strip() == (
        "cloudbridge secrets: Pulumi.dev.yaml: the cloudbridge:alerts.slackWebhookSecretArn is in us-east-1, "
        "not the stack's aws:region"
    )


def test_secrets_stores_a_sources_credentials_as_dms_reads_them(aws, monkeypatch, capsys):
    code, out, _ = store(monkeypatch, capsys, "--source", "sales", stdin=f"dms\n{PASSWORD}\n",
                         secret="source-credentials")  # fmt: skip
    assert code == 0 and "created secret cloudbridge/dev/sales-dms: " in out
    assert "update the credentialsSecretArn of source sales in Pulumi.dev.yaml" in out
    stored = json.loads(aws.get_secret_value(SecretId="cloudbridge/dev/sales-dms")["SecretString"])
    assert stored == {"username": "dms", "password": PASSWORD, "port": 5432,
                      "host": "sales-dev.cluster-c1a2b3c4d5e6.eu-west-2.rds.amazonaws.com"}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [([], "dms\n", "source-credentials needs --source NAME"), (["--source", "sales"], "dms\n", "give the user name")],
)
def test_source_credentials_refuse_bad_input(aws, monkeypatch, capsys, args, stdin, words):
    code, _, err = store(monkeypatch, capsys, *args, stdin=stdin, secret="source-credentials")
    assert code == 2 and err.startswith(f"cloudbridge secrets: {words}") and len(err.splitlines()) == 1
    assert aws.list_secrets()["SecretList"] == []
