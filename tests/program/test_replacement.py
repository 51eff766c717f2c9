"""What a stack change does to a running replication: the table (docs/replacement.md) and
``plan --against`` / ``plan --diff`` on fixture stacks, one test per kind of change.

Under mocks no provider runs; the effects come from cloudbridge/replacement.py, which cites
the terraform-provider-aws code (ForceNew, update functions) per resource type.
"""

import contextlib
import copy
import inspect
import io
import re
import sys

import pulumi_aws as aws
import pytest
import yaml

from cloudbridge import plan_cli, replacement
from cloudbridge.plan import read_stack_config

ARGS = {
    replacement.CONFIG: aws.dms.ReplicationConfigArgs,
    replacement.TASK: aws.dms.ReplicationTaskArgs,
    replacement.INSTANCE: aws.dms.ReplicationInstanceArgs,
    replacement.ENDPOINT: aws.dms.EndpointArgs,
    replacement.S3_ENDPOINT: aws.dms.S3EndpointArgs,
    replacement.SUBNET_GROUP: aws.dms.ReplicationSubnetGroupArgs,
}


def test_the_replacement_table_is_current():
    assert replacement.DOC.read_text() == replacement.render(), "run python -m cloudbridge.replacement"


@pytest.mark.parametrize("type_", sorted(replacement.RESOURCES))
def test_every_argument_in_the_table_is_one_of_the_pinned_providers(type_):
    """The table names pulumi-aws 7.51.1's arguments (camelCase of the Args class's parameters)."""
    parameters = set(inspect.signature(ARGS[type_].__init__).parameters)
    camel = {re.sub(r"_(\w)", lambda m: m.group(1).upper(), p) for p in parameters}
    named = set(replacement.RESOURCES[type_].force_new) | set(replacement.RESOURCES[type_].effects)
    assert {a.split(".")[0] for a in named} <= camel


def _against(tmp_path, edit, stack="dev", exit_code=0):
    """``plan --stack S --against <the stack file as it was>``: ``edit`` turns today's config into yesterday's.
    Exit 1 when a change is one DMS refuses on a started replication (the deploy would fail)."""
    before = copy.deepcopy(read_stack_config(stack))
    edit(before)
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": before}))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert plan_cli.main(["--stack", stack, "--against", str(path)]) == exit_code
    return out.getvalue().splitlines()


def _source(config, name):
    return next(s for s in config["cloudbridge:sources"] if s["name"] == name)


def _yesterday(config):
    """dev before four changes: a table added to each source, more capacity, stricter TLS."""
    _source(config, "billing")["tables"].remove("dbo.payments")
    _source(config, "sales")["tables"].remove("public.order_lines")
    _source(config, "sales")["replication"]["maxCapacityUnits"] = 8
    _source(config, "sales")["sslMode"] = "require"


@pytest.fixture(scope="module")
def changes(tmp_path_factory):
    """plan --against for _yesterday's dev (evaluated once for the tests below)."""
    # sales is serverless: its table and capacity changes are refused once it has started.
    return _against(tmp_path_factory.mktemp("against"), _yesterday, exit_code=1)


def test_adding_a_table_to_an_instance_source_stops_and_resumes_without_reloading(changes):
    [line] = [x for x in changes if "billing-replication-task: tableMappings" in x]
    assert line.startswith("!") and "resumes it from its stop position" in line
    assert "tables added: dbo.payments" in line and "not reloaded" in line
    assert not [x for x in changes if "REPLACES" in x or "DELETES" in x]


def test_adding_a_table_to_a_serverless_source_is_flagged_as_refused(changes):
    [line] = [x for x in changes if "sales-replication-config: tableMappings" in x]
    assert line.startswith("!") and "REFUSED" in line and "tables added: public.order_lines" in line


def test_a_capacity_change_of_a_running_serverless_replication_is_flagged(changes):
    [line] = [x for x in changes if "computeConfig.maxCapacityUnits" in x]
    assert line.startswith("!") and "REFUSED" in line


def test_an_endpoint_setting_is_flagged_as_refused_while_its_replication_runs(changes):
    [line] = [x for x in changes if "sales-replication-source: sslMode" in x]
    assert line.startswith("!") and "DMS refuses it" in line and "stop the replication, deploy, resume" in line


def test_turning_compression_on_for_a_running_source_is_flagged_and_does_not_fail_the_plan(tmp_path):
    def uncompressed(config):
        for source in config["cloudbridge:sources"]:
            source["compression"] = "none"

    out = _against(tmp_path, uncompressed)  # exit 0: a refused ModifyEndpoint leaves the replication running
    flagged = [x for x in out if "replication-target: compressionType" in x]
    sources = read_stack_config("dev")["cloudbridge:sources"]
    assert len(flagged) == len(sources) and all(x.startswith("!") and "DMS refuses it" in x for x in flagged)


def test_changing_a_sources_partition_layout_is_refused_naming_its_tables(tmp_path):
    """Whichever layout each source has, the other one yesterday: plan --against exits 1, one
    flagged line per source (and region), the projection's old and new format named."""
    sources = read_stack_config("dev")["cloudbridge:sources"]

    def other_layout(config):
        for source in config["cloudbridge:sources"]:
            source["rawHistoryPartition"] = "hour" if source.get("rawHistoryPartition", "day") == "day" else "day"

    out = _against(tmp_path, other_layout, exit_code=1)
    layout = [x for x in out if "parameters.projection.dt.format" in x]
    assert len(layout) >= len(sources) and all(x.startswith("!") and "lose them" in x for x in layout)
    assert all(re.search(r"yyyy/MM/dd(/HH)? -> yyyy/MM/dd(/HH)?;", x) for x in layout)
    endpoints = [x for x in out if "replication-target: datePartitionSequence" in x]
    assert len(endpoints) == sum(s.get("engine") != "dynamodb" for s in sources)


def test_switching_a_source_to_serverless_deletes_its_task_and_full_loads_again(tmp_path):
    def was_instance(config):
        _source(config, "sales")["replication"] = {"mode": "instance", "instanceClass": "dms.t3.medium"}

    out = _against(tmp_path, was_instance)
    assert any(x.startswith("!") and "sales-replication-task: (declaration) DELETES" in x for x in out)
    assert any("sales-replication-config: (declaration) creates" in x and "full-loads" in x for x in out)


def test_plan_diff_flags_a_replacing_change(capsys):
    """dev and prod name their endpoints differently: deploying prod's config over dev's would replace them."""
    assert plan_cli.main(["--diff", "dev", "prod"]) == 0
    out = capsys.readouterr().out.splitlines()
    replaced = [x for x in out if "sales-replication-target: endpointId REPLACES" in x]
    assert replaced and replaced[0].startswith("!") and "task is replaced" in replaced[0]


def test_a_force_new_argument_is_a_replacement_of_a_task():
    assert replacement.effect(replacement.TASK, "sourceEndpointArn") == replacement.REPLACE
    assert replacement.effect(replacement.TASK, "tableMappings") == replacement.RESUME
    assert replacement.effect(replacement.CONFIG, "computeConfig.replicationSubnetGroupId") == replacement.REPLACE
    assert replacement.effect(replacement.CONFIG, "tableMappings") == replacement.REFUSED


def test_against_a_git_ref_reads_the_stack_file_there_and_a_new_stack_passes(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from components.workspace import stacks_dir

    repo = tmp_path / "repo"
    shutil.copytree(stacks_dir(), repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "metadata"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "metadata only"], check=True)
    monkeypatch.setenv("CLOUDBRIDGE_STACKS_DIR", str(repo))

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert plan_cli.main(["--stack", "dev", "--against", "HEAD"]) == 0  # no Pulumi.dev.yaml there yet
    assert "new stack" in out.getvalue()
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stacks"], check=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert plan_cli.main(["--stack", "dev", "--against", "HEAD"]) == 0
    assert "replication impact: no DMS resource changes" in out.getvalue()
    with pytest.raises(SystemExit) as info, contextlib.redirect_stderr(io.StringIO()):
        sys.exit(plan_cli.main(["--stack", "dev", "--against", "no-such-ref"]))
    assert info.value.code == 2
