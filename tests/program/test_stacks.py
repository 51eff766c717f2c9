"""Each stack file evaluates to the expected pipelines, in its own account."""

import json

import pytest

from cloudbridge.plan import read_stack_config
from tests.support import stack_checks

PIPELINE = "cloudbridge:pipeline:ExtractionPipeline"

# What every pipeline declares, whatever its replication mode.
PER_PIPELINE = {
    "aws:s3/bucket:Bucket": 4,
    "aws:s3/bucketPolicy:BucketPolicy": 4,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 4,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 4,
    "aws:s3/bucketVersioning:BucketVersioning": 3,  # not the landing bucket
    "aws:dms/endpoint:Endpoint": 1,
    "aws:dms/s3Endpoint:S3Endpoint": 1,
    "aws:sqs/queue:Queue": 2,
    "aws:s3/bucketNotification:BucketNotification": 1,
    "aws:lambda/function:Function": 2,  # the validator and the generation-marker writer
    "aws:cloudwatch/eventRule:EventRule": 2,  # DMS events and the marker writer's schedule
    "aws:lambda/permission:Permission": 1,  # the schedule invokes the marker writer
    "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
    "aws:glue/catalogDatabase:CatalogDatabase": 1,
}


def sources(stack):
    return read_stack_config(stack)["cloudbridge:sources"]


def pipeline_resources(plan, name):
    pipeline = next(r for r in plan.of_type(PIPELINE) if r.name == name)
    return [r for r in plan.descendants(pipeline.urn) if r.custom]


def test_one_pipeline_per_source(plan, stack):
    assert sorted(r.name for r in plan.of_type(PIPELINE)) == sorted(s["name"] for s in sources(stack))


def test_each_pipeline_declares_its_resources(plan, stack):
    for source in sources(stack):
        declared = pipeline_resources(plan, source["name"])
        counts = {t: sum(1 for r in declared if r.type == t) for t in PER_PIPELINE}
        assert counts == PER_PIPELINE, source["name"]
        types = {r.type for r in declared}
        if source["replication"]["mode"] == "serverless":
            assert "aws:dms/replicationConfig:ReplicationConfig" in types
            assert "aws:dms/replicationInstance:ReplicationInstance" not in types
        else:
            assert {
                "aws:dms/replicationInstance:ReplicationInstance",
                "aws:dms/replicationTask:ReplicationTask",
            } <= types
            assert "aws:dms/replicationConfig:ReplicationConfig" not in types


def test_the_fixture_stacks_exercise_both_replication_modes_and_several_engines():
    """What the fixture stacks demonstrate, so every mode and several engines are under test."""
    all_sources = [s for stack in ("dev", "preprod", "prod") for s in sources(stack)]
    assert len({s["engine"] for s in all_sources}) >= 2
    assert {s["replication"]["mode"] for s in all_sources} == {"serverless", "instance"}


def test_stacks_are_different_accounts():
    accounts = {read_stack_config(s)["cloudbridge:account"]["id"] for s in ("dev", "preprod", "prod")}
    assert len(accounts) == 3


def test_every_resource_goes_through_the_stack_provider(plan, stack):
    """One explicit provider, locked to the stack's account, using the workflow's ambient
    credentials: it assumes no role, so a pull request's preview never holds deploy rights."""
    providers = plan.of_type("pulumi:providers:aws")
    dr = (read_stack_config(stack).get("cloudbridge:dr") or {}).get("enabled")
    assert [p.name for p in providers] == ["aws", "aws-dr"] if dr else ["aws"]  # the DR region's: test_dr.py
    account = read_stack_config(stack)["cloudbridge:account"]
    for provider in providers:
        assert json.loads(provider.inputs["allowedAccountIds"]) == [account["id"]]
        assert "assumeRoles" not in provider.given and "assumeRole" not in provider.given
        assert not any("deploy" in str(v) for v in provider.given.values())
    aws_resources = [r for r in plan.resources if r.custom and r.type.startswith("aws:")]
    assert aws_resources
    for r in aws_resources:
        assert any(r.provider.startswith(p.urn + "::") for p in providers), (
            f"{r.name} ({r.type}) uses {r.provider or 'the default provider'}"
        )


def test_components_parent_their_resources(plan):
    """Nothing but the provider and top-level components sits directly under the stack."""
    top = [r for r in plan.resources if r.parent.endswith(f"pulumi:pulumi:Stack::cloudbridge-{plan.stack}")]
    assert {r.type for r in top} <= {
        "pulumi:providers:aws", "cloudbridge:platform:Platform", PIPELINE, "cloudbridge:warehouse:Warehouse",
        "cloudbridge:dr:DisasterRecovery", "cloudbridge:database:CdcReadyPostgres",
    }  # fmt: skip


def test_names_carry_environment_and_source(plan, stack):
    for source in sources(stack):
        for r in pipeline_resources(plan, source["name"]):
            if r.type == "aws:s3/bucket:Bucket":
                assert r.inputs["bucket"].startswith(f"cb-{stack}-{source['name']}-")
            if "tags" in r.inputs:
                assert r.inputs["tags"].get("cloudbridge:source") == source["name"], r.name
    tags = json.loads(plan.of_type("pulumi:providers:aws")[0].inputs["defaultTags"])["tags"]
    assert tags["cloudbridge:environment"] == stack


def test_outputs_name_every_pipeline(plan, stack):
    assert set(plan.outputs["pipelines"]) == {s["name"] for s in sources(stack)}
    assert plan.outputs["alertsTopicArn"].endswith(f":cb-{stack}-alerts")


@pytest.mark.parametrize("stack_name", ["dev"])
def test_adding_a_source_adds_one_pipeline_and_changes_nothing_else(
    plans, stack_config, stack_name, tmp_path, monkeypatch
):
    import shutil

    from cloudbridge.plan import evaluate
    from components.workspace import metadata_root
    from functions.common.metadata import Column, TableMetadata

    before = plans(stack_name)
    # A source is one config entry plus its tables' metadata.
    shutil.copytree(metadata_root(), tmp_path / "metadata")
    accounts = TableMetadata(
        "crm", "postgres", "crm", "accounts", (Column("account_id", "int64", False),), ("account_id",)
    )
    (tmp_path / "metadata/crm/crm").mkdir(parents=True)
    (tmp_path / "metadata/crm/crm/accounts.json").write_text(accounts.to_json())
    monkeypatch.setenv("CLOUDBRIDGE_METADATA_DIR", str(tmp_path / "metadata"))
    config = stack_config(stack_name)
    new = dict(config["cloudbridge:sources"][0], name="crm", tables=["crm.accounts"], database="crm")
    new["credentialsSecretArn"] = new["credentialsSecretArn"].replace("sales-dms", "crm-dms")
    config["cloudbridge:sources"].append(new)
    after = evaluate(stack_name, config)

    old = {r.urn: r for r in before.resources}
    added = [r for r in after.resources if r.urn not in old]
    pipelines = [r for r in added if r.type == PIPELINE]
    assert [p.name for p in pipelines] == ["crm"]
    crm = {r.urn for r in after.descendants(pipelines[0].urn)} | {pipelines[0].urn}
    assert {r.urn for r in added} == crm, "resources outside the new pipeline were added"
    assert all(r.urn in {a.urn for a in after.resources} for r in before.resources), "a resource disappeared"
    for r in after.resources:
        if r.urn in old:
            assert r.inputs == old[r.urn].inputs, f"{r.name} changed"


def test_data_outlives_its_declaration_in_preprod_and_prod(plan, stack):
    """Removing a source (or renaming it in a refactor) leaves its history, quarantine,
    metadata, key and catalog in the account; dev may clean up after itself."""
    holders = [r for r in plan.resources if stack_checks.holds_data(r)]
    assert len(holders) >= 5
    expected = stack != "dev"
    for resource in holders:
        assert resource.retain_on_delete is expected, f"{stack}: {resource.type} {resource.name}"
    # What keeps a retained bucket private and encrypted stays with it.
    for guard in plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        # Landing (transit), query results and Iceberg state tables (rebuilt from raw history) are not kept.
        if not any(part in guard.name for part in ("-landing", "analytics-results", "analytics-state")):
            assert guard.retain_on_delete is expected
    # Nothing is protected: protect would make every preview that removes a source fail.
    assert not any(r.protect for r in plan.resources)


def test_retention_is_config_driven(stack_config):
    from cloudbridge.plan import evaluate

    config = stack_config("prod")
    config["cloudbridge:retainData"] = False
    plan = evaluate("prod", config)
    assert not any(r.retain_on_delete for r in plan.resources)
    # ...and the stack-agnostic retention check refuses exactly that outside dev.
    assert stack_checks.retention(plan) and all("retainData is off" in p for p in stack_checks.retention(plan))
