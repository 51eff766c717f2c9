"""Every CLI command: --help, and one clear line (no traceback) for each bad input."""

import os
import subprocess
import sys

import pytest

from cloudbridge.__main__ import COMMANDS
from cloudbridge.plan import PROJECT_ROOT


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "cloudbridge", *args], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=180,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_the_exit_code_rule(command):
    done = cli(command, "--help")
    assert done.returncode == 0 and "usage: python -m cloudbridge" in done.stdout
    text = " ".join(done.stdout.split())  # argparse wraps the epilog
    assert "exit codes: 0 ok" in text and "2 usage or environment" in text, text


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help_lists_every_command_with_one_line(flag):
    done = cli(flag)
    assert done.returncode == 0 and done.stderr == ""
    for name, (_, text) in COMMANDS.items():
        assert f"  {name} " in done.stdout and text in done.stdout
    assert "exit codes: 0 ok; 1 findings" in done.stdout


def test_no_command_prints_usage_and_the_list_on_stderr():
    done = cli()
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: python -m cloudbridge <command>")
    assert all(f"  {name} " in done.stderr for name in COMMANDS)


def test_an_unknown_command_is_one_line():
    done = cli("nosuch")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"cloudbridge: unknown command 'nosuch'; commands: {', '.join(COMMANDS)} (see --help)"
    ]


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
        (  # a file that exists: the source is what is wrong, not its metadata
            ["validate", "cloudbridge/__init__.py", "--table", "public.orders", "--source", "nosuch"],
            "Pulumi.dev.yaml has no source 'nosuch'",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args, words):
    done = cli(*args)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    if not args[0] == "sandbox" or "--report" in args:  # argparse's own errors are usage + one line
        assert len(done.stderr.splitlines()) == 1, done.stderr


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
