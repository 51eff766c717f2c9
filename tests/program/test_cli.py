"""Every CLI command: --help, and one clear line (no traceback) for each bad input."""

import os
import subprocess
import sys

import pytest

from cloudbridge.plan import PROJECT_ROOT

COMMANDS = ["plan", "metadata", "validate", "replay", "preflight", "sandbox", "config-doc"]


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "cloudbridge", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    done = cli(command, "--help")
    assert done.returncode == 0 and "usage: python -m cloudbridge" in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan", "--stack", "nosuch"], "no stack file Pulumi.nosuch.yaml (stacks: dev, preprod, prod)"),
        (["metadata", "extract", "--stack", "nosuch", "--source", "sales"], "no stack file Pulumi.nosuch.yaml"),
        (["metadata", "extract", "--source", "nosuch"], "Pulumi.dev.yaml has no source 'nosuch'"),
        (["replay", "--source", "sales", "--since", "yesterday"], "--since yesterday: not a date"),
        (["replay", "--source", "nosuch"], "Pulumi.dev.yaml has no source 'nosuch'"),
        (["preflight", "--source", "nosuch"], "Pulumi.dev.yaml has no source 'nosuch'"),
        (["sandbox", "--rate", "0"], "must be greater than 0"),
        (["sandbox", "--scale", "0"], "must be greater than 0"),
        (
            ["sandbox", "--report", "/nonexistent/dir/report.json"],
            "--report /nonexistent/dir/report.json: cannot write",
        ),
        (["validate", "nope.parquet", "--table", "public.orders"], "nope.parquet: no such file"),
        (["nosuch"], "usage: python -m cloudbridge"),
    ],
)
def test_bad_input_is_one_clear_line(args, words):
    done = cli(*args)
    assert done.returncode != 0
    assert words in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def test_a_yaml_error_in_a_stack_file_is_one_line(tmp_path, monkeypatch):
    from cloudbridge import stackfile

    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  aws:region: [unclosed\n")
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(tmp_path))
    with pytest.raises(stackfile.StackFileError, match=r"Pulumi.broken.yaml is not valid YAML at line \d"):
        stackfile.load("broken")


def test_plan_output_is_the_same_whatever_the_hash_seed():
    outputs = {cli("plan", "--stack", "dev", env={"PYTHONHASHSEED": seed}).stdout for seed in ("1", "4242")}
    assert len(outputs) == 1 and "pipeline billing" in outputs.pop()


def test_plan_diff_shows_what_differs_between_stacks():
    done = cli("plan", "--diff", "preprod", "prod")
    assert done.returncode == 0
    assert "replication: serverless" in done.stdout and "replication instance: dms.r6i.large" in done.stdout
    assert done.stdout.startswith("--- preprod\n+++ prod")
