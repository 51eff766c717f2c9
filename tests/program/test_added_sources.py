"""Adding a source the way the README says (a stack-file entry plus its committed table
metadata, nothing else) works for every engine: the new pipeline is complete, every value
it sends to AWS is one AWS accepts, its policies are least-privilege, and nothing that
already existed changes."""

import copy
import json
import shutil

import pytest

from cloudbridge.plan import evaluate, read_stack_config
from components.config import ENGINES
from components.workspace import metadata_root
from functions.common.metadata import Column, TableMetadata
from tests.program.test_stacks import PER_PIPELINE, pipeline_resources
from tests.support import aws_contract
from tests.support.policies import least_privilege_problems

SCHEMAS = {"postgres": "public", "oracle": "APP", "sqlserver": "dbo", "mysql": "shop"}
PORTS = {"postgres": 5432, "oracle": 1521, "sqlserver": 1433, "mysql": 3306}  # each engine's usual port


def _with_source(engine: str, metadata_dir):
    """The dev stack's config with one more source of ``engine``, and its metadata written."""
    name = f"added-{engine}"
    config = copy.deepcopy(read_stack_config("dev"))
    region, account = config["aws:region"], config["cloudbridge:account"]["id"]
    config["cloudbridge:sources"].append(
        {
            "name": name,
            "engine": engine,
            "host": f"{name}.internal.example",
            "port": PORTS[engine],
            "database": "app",
            "credentialsSecretArn": f"arn:aws:secretsmanager:{region}:{account}:secret:cloudbridge/dev/{name}-Ab12Cd",
            "sourceCidr": "10.20.40.0/24",
            "caCertificateArn": f"arn:aws:dms:{region}:{account}:cert:rds-ca-rsa2048-g1",
            "tables": [f"{SCHEMAS[engine]}.items"],
            "replication": {"mode": "serverless", "maxCapacityUnits": 2},
            "cdc": True,
        }
    )
    meta = TableMetadata(
        source=name,
        engine=engine,
        schema=SCHEMAS[engine],
        table="items",
        columns=(
            Column("item_id", "int64", nullable=False),
            Column("title", "string"),
            Column("price", "decimal(10,2)"),
            Column("changed_at", "timestamp(ms)"),
        ),
        primary_key=("item_id",),
    )
    folder = metadata_dir / name / meta.schema
    folder.mkdir(parents=True)
    (folder / "items.json").write_text(meta.to_json())
    return name, config


@pytest.fixture(scope="module")
def dev(plans):
    return plans("dev")


@pytest.fixture(scope="module", params=ENGINES)
def added(request, tmp_path_factory):
    metadata_dir = tmp_path_factory.mktemp("metadata") / "metadata"
    shutil.copytree(metadata_root(), metadata_dir)
    name, config = _with_source(request.param, metadata_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLOUDBRIDGE_METADATA_DIR", str(metadata_dir))
        return name, evaluate("dev", config)


def test_the_new_pipeline_is_complete(added):
    name, plan = added
    declared = pipeline_resources(plan, name)
    assert {t: sum(1 for r in declared if r.type == t) for t in PER_PIPELINE} == PER_PIPELINE
    assert "aws:dms/replicationConfig:ReplicationConfig" in {r.type for r in declared}
    views = [r for r in declared if r.given.get("tableType") == "VIRTUAL_VIEW"]
    engine = name.removeprefix("added-")
    assert [v.given["name"] for v in views] == [f"{SCHEMAS[engine].lower()}__items_current"]


def test_every_value_of_the_new_source_is_one_aws_accepts(added):
    _, plan = added
    report = aws_contract.check_plan(plan)
    assert not report.findings, "\n".join(map(str, report.findings))


def test_the_new_sources_policies_are_least_privilege(added):
    _, plan = added
    problems = least_privilege_problems(plan)
    assert problems == []


def test_nothing_that_existed_changes(added, dev):
    """Every resource of the stack before is still there, with the same inputs."""
    _, plan = added
    after = {r.identity: r for r in plan.resources if not r.read}
    for before in (r for r in dev.resources if not r.read):
        assert before.identity in after, before.identity
        if before.type.startswith("aws:") and "policy" not in before.given:
            assert json.dumps(after[before.identity].given, sort_keys=True, default=str) == json.dumps(
                before.given, sort_keys=True, default=str
            ), before.identity
