"""CdcReadyPostgres (components/database.py) as the program declares it, under mocks: a provisioned
source's RDS for PostgreSQL instance, its parameter group, network, secrets, backups and the
pipeline wired to it. Expectations come from the parsed stack config, never from literals of a
stack file; parameter names and values are checked against what AWS documents (the contract's
table, cloudbridge/contract/rds_contracts.py)."""

from __future__ import annotations

import copy
import json

import pytest

from cloudbridge.contract import rds_contracts
from cloudbridge.plan import evaluate, read_stack_config
from components import database
from components.config import ConfigError
from components.stack_config import parse_stack_config
from tests.support import aws_contract

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SECRET = "aws:secretsmanager/secret:Secret"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
SG = "aws:ec2/securityGroup:SecurityGroup"
DR_SECRET = "arn:aws:secretsmanager:{region}:{account}:secret:cloudbridge/slack-webhook-Dr12Ab"


def parsed(stack, config=None):
    """The stack's config as the program reads it (region and sources' provision parsed)."""
    raw = dict(config if config is not None else read_stack_config(stack))
    values = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("cloudbridge:")}
    return parse_stack_config(stack, {**values, "region": raw.get("aws:region")})


def provisioned(stack, config=None):
    """The parsed sources that ask for a database (provision:)."""
    return [s for s in parsed(stack, config).sources if s.provision is not None]


def provision_in(stack, config, **settings):
    """``config`` with its first postgres source turned into a provisioned one (host, secret and network dropped)."""
    config = copy.deepcopy(config)
    source = next(s for s in config["cloudbridge:sources"] if s["engine"] == "postgres")
    for key in ("host", "credentialsSecretArn", "credentialsKmsKeyArn", "sourceCidr", "sourceSecurityGroupId",
                "rdsInstanceIdentifier", "rdsClusterIdentifier"):  # fmt: skip
        source.pop(key, None)
    source["provision"] = {"instanceClass": "db.r6g.large", **settings}
    return config, source["name"]


@pytest.fixture(scope="module")
def dev():
    """The dev fixture stack: it provisions one source's database (the dev example)."""
    sources = provisioned("dev")
    assert sources, "the dev fixture stack provisions a source's database"
    return evaluate("dev"), sources[0]


@pytest.fixture(scope="module")
def prod():
    """prod with its postgres source provisioned (retained data, deletion protection, its DR region on)."""
    config, name = provision_in("prod", read_stack_config("prod"), backupRetentionDays=14)
    return evaluate("prod", config), next(s for s in provisioned("prod", config) if s.name == name), config


def instance_of(plan, source):
    return plan.named(f"{source.name}-database-instance", INSTANCE)


def test_the_instance_is_private_encrypted_and_managed_by_rds(dev):
    plan, source = dev
    given, key = instance_of(plan, source).given, plan.named("key").inputs["arn"]
    naming = f"cb-{plan.stack}-{source.name}-db"
    assert given["identifier"] == naming and given["engine"] == "postgres"
    assert given["engineVersion"] == source.provision.engine_version
    assert given["instanceClass"] == source.provision.instance_class
    assert given["dbName"] == source.database and given["port"] == source.port
    assert given["publiclyAccessible"] is False
    assert given["storageEncrypted"] is True and given["storageType"] == "gp3"
    assert given["kmsKeyId"] == key and given["performanceInsightsKmsKeyId"] == key
    # The master password: generated and kept by RDS in Secrets Manager, under the stack's key; never given.
    assert given["manageMasterUserPassword"] is True and given["masterUserSecretKmsKeyId"] == key
    assert "password" not in given and "passwordWo" not in given
    assert given["performanceInsightsEnabled"] is True
    assert given["performanceInsightsRetentionPeriod"] == source.provision.performance_insights_retention_days
    subnets = plan.named(f"{source.name}-database-subnets", "aws:rds/subnetGroup:SubnetGroup").given
    assert subnets["subnetIds"] == read_stack_config(plan.stack)["cloudbridge:network"]["subnetIds"]
    assert given["dbSubnetGroupName"] == subnets["name"]


def test_backups_are_kept_as_configured(dev, prod):
    for plan, source, *_ in (dev, prod):
        assert instance_of(plan, source).given["backupRetentionPeriod"] == source.provision.backup_retention_days
    assert prod[1].provision.backup_retention_days >= 7


@pytest.mark.parametrize("stack", ["dev", "preprod", "prod"])
def test_multi_az_outside_dev(stack):
    config, name = provision_in(stack, read_stack_config(stack))
    plan = evaluate(stack, config)
    source = next(s for s in provisioned(stack, config) if s.name == name)
    assert instance_of(plan, source).given["multiAz"] is (stack != "dev")


@pytest.mark.parametrize("stack", ["preprod", "prod"])
def test_preprod_and_prod_cannot_turn_multi_az_off(stack):
    config, _ = provision_in(stack, read_stack_config(stack), multiAz=False)
    with pytest.raises(ConfigError) as error:
        parsed(stack, config)
    assert any(key.endswith("provision.multiAz") for key, _ in error.value.problems), error.value.problems


def test_prod_keeps_at_least_a_week_of_backups():
    config, _ = provision_in("prod", read_stack_config("prod"), backupRetentionDays=3)
    with pytest.raises(ConfigError) as error:
        parsed("prod", config)
    assert [key for key, _ in error.value.problems] == ["cloudbridge:sources[0].provision.backupRetentionDays"]


def test_deletion_protection_and_a_final_snapshot_in_prod_not_in_dev(dev, prod):
    plan, source, config = prod
    given = instance_of(plan, source).given
    assert given["deletionProtection"] is True and given["skipFinalSnapshot"] is False
    assert given["finalSnapshotIdentifier"] == f"cb-prod-{source.name}-db-final"
    assert given["deleteAutomatedBackups"] is False
    kept = {r.name for r in plan.resources if r.retain_on_delete}
    assert {f"{source.name}-database-instance", f"{source.name}-database-dms-user"} <= kept
    plan, source = dev
    given = instance_of(plan, source).given
    assert given["deletionProtection"] is False and given["skipFinalSnapshot"] is True
    assert not instance_of(plan, source).retain_on_delete  # dev retains no data (retainData default)


def test_the_parameter_group_turns_cdc_on_with_documented_names_and_values(dev):
    plan, source = dev
    group = plan.named(f"{source.name}-database-{source.provision.parameter_group_family}", PARAMETER_GROUP).given
    assert group["family"] == f"postgres{source.provision.engine_version}"
    assert instance_of(plan, source).given["parameterGroupName"] == group["name"]
    values = {p["name"]: p for p in group["parameters"]}
    # Each name one AWS documents, its value one AWS accepts, its apply method the one RDS takes.
    assert rds_contracts.check_parameters(group["parameters"]) == []
    assert set(values) == set(rds_contracts.PARAMETERS)
    assert values["rds.logical_replication"]["value"] == "1"
    assert values["rds.force_ssl"]["value"] == "1"
    slots = str(source.provision.replication_slots)
    assert values["max_replication_slots"]["value"] == slots and values["max_wal_senders"]["value"] == slots
    assert int(slots) > len(source.table_sets)
    timeout = int(values["wal_sender_timeout"]["value"])
    assert timeout == 0 or timeout >= 10000  # DMS: a CDC task fails below 10000 ms
    assert {values[n]["applyMethod"] for n in ("rds.logical_replication", "max_replication_slots")} == {
        "pending-reboot"
    }


def test_the_security_group_admits_only_the_dms_security_group(dev):
    plan, source = dev
    group = plan.named(f"{source.name}-database-sg", SG)
    dms_group = plan.named(f"{source.name}-replication-sg", SG)
    assert instance_of(plan, source).given["vpcSecurityGroupIds"] == [f"{group.name}-id"]
    assert not group.given.get("ingress") and group.given["egress"] == []
    rules = [r.given for r in plan.of_type(INGRESS) if r.given["securityGroupId"] == f"{group.name}-id"]
    assert rules and all(r["referencedSecurityGroupId"] == f"{dms_group.name}-id" for r in rules), rules
    assert all(r["fromPort"] == r["toPort"] == source.port and "cidrIpv4" not in r for r in rules)
    # ... and DMS sends to that group only, on the database port.
    to_source = [e for e in dms_group.given["egress"] if e["fromPort"] == source.port]
    assert to_source == [{**to_source[0], "securityGroups": [f"{group.name}-id"]}]
    assert "cidrBlocks" not in to_source[0]


def test_a_named_admin_group_is_admitted_too(stack_config):
    config, name = provision_in("dev", stack_config("dev"), adminSecurityGroupId="sg-0123456789abcdef0")
    plan = evaluate("dev", config)
    rules = [r.given for r in plan.of_type(INGRESS) if r.given["securityGroupId"] == f"{name}-database-sg-id"]
    assert sorted(r["referencedSecurityGroupId"] for r in rules) == sorted(
        ["sg-0123456789abcdef0", f"{name}-replication-sg-id"]
    )


def test_the_pipeline_reads_the_dms_users_secret_and_waits_for_it(dev):
    plan, source = dev
    secret = plan.named(f"{source.name}-database-dms-user", SECRET)
    assert secret.given["name"] == f"cb-{plan.stack}-{source.name}-dms-user"
    assert "secretString" not in secret.given  # empty until source-init fills it
    arn, key = secret.inputs["arn"], plan.named("key").inputs["arn"]
    endpoint = plan.named(f"{source.name}-replication-source", "aws:dms/endpoint:Endpoint").given
    assert endpoint["secretsManagerArn"] == arn
    policy = plan.named(f"{source.name}-replication-secrets-role-policy", "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.given["policy"])["Statement"]}
    assert statements["ReadSourceCredentials"]["Resource"] == [arn]
    assert statements["DecryptSourceCredentials"]["Resource"] == [key]
    assert statements["DecryptSourceCredentials"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{parsed(plan.stack).region}.amazonaws.com"}
    }
    assert source.provision.dms_user_ready is False
    configs = [r for r in plan.of_type("aws:dms/replicationConfig:ReplicationConfig") if r.name.startswith(source.name)]
    assert configs and all(r.given["startReplication"] is False for r in configs)


def test_the_replication_starts_once_the_dms_user_is_ready(stack_config):
    config = stack_config("dev")
    entry = next(s for s in config["cloudbridge:sources"] if s.get("provision"))
    entry["provision"]["dmsUserReady"] = True
    plan = evaluate("dev", config)
    configs = [
        r for r in plan.of_type("aws:dms/replicationConfig:ReplicationConfig") if r.name.startswith(entry["name"])
    ]
    assert configs and all(r.given["startReplication"] is True for r in configs)


def test_the_source_disk_alarms_watch_the_provisioned_instance(dev):
    plan, source = dev
    alarms = {
        r.name.rsplit("-monitoring-", 1)[1]: r.given
        for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.name.startswith(f"{source.name}-monitoring-") and r.given.get("namespace") == "AWS/RDS"
    }
    assert set(alarms) == {"slot-lag", "transaction-logs", "free-storage"}
    identifier = database.instance_identifier(_naming(plan.stack), source.name)
    assert {a["dimensions"]["DBInstanceIdentifier"] for a in alarms.values()} == {identifier}


def test_automated_backups_are_replicated_to_the_dr_region_when_dr_is_on(prod):
    plan, source, config = prod
    region = config["cloudbridge:dr"]["region"]
    replication = plan.named(f"{source.name}-database-backups-{region}", BACKUPS)
    assert plan.region_of(replication) == region
    assert replication.given["sourceDbInstanceArn"] == instance_of(plan, source).inputs["arn"]
    assert replication.given["retentionPeriod"] == source.provision.backup_retention_days
    key = plan.named(f"{source.name}-database-backups-key", "aws:kms/key:Key")
    assert plan.region_of(key) == region and replication.given["kmsKeyId"] == key.inputs["arn"]
    assert f":{region}:" in key.inputs["arn"]
    assert replication.retain_on_delete and key.retain_on_delete


def test_no_backup_replication_without_dr(dev):
    plan, _ = dev
    assert plan.of_type(BACKUPS) == []


def test_dr_backups_in_dev_too(stack_config):
    config = stack_config("dev")
    account, region = config["cloudbridge:account"]["id"], "eu-west-1"
    config["cloudbridge:dr"] = {
        "enabled": True, "region": region, "slackWebhookSecretArn": DR_SECRET.format(region=region, account=account)
    }  # fmt: skip
    plan = evaluate("dev", config)
    (replication,) = plan.of_type(BACKUPS)
    assert plan.region_of(replication) == region


def test_every_database_value_is_one_aws_accepts(dev, prod):
    for plan, *_ in (dev, prod):
        findings = [f for f in aws_contract.check_plan(plan).findings]
        assert findings == [], "\n".join(map(str, findings))


def test_a_static_parameter_applied_immediately_is_caught(monkeypatch):
    original = database.parameters

    def immediate(provision):
        return [(n, v, "immediate") for n, v, _ in original(provision)]

    monkeypatch.setattr(database, "parameters", immediate)
    findings = aws_contract.check_plan(evaluate("dev")).findings
    named = {f.argument for f in findings if f.resource.endswith("-database-postgres16")}
    assert "parameters:[0].applyMethod" in named and "parameters:[2].applyMethod" in named, findings


def test_an_undocumented_parameter_or_value_is_caught():
    problems = rds_contracts.check_parameters(
        [{"name": "rds.logical_replcation", "value": "1"}, {"name": "wal_sender_timeout", "value": "5000"}]
    )
    assert [where for where, _ in problems] == ["[0].name", "[1].value"]


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ({"host": "db.example.com"}, "cloudbridge:sources[0]"),
        ({"credentialsSecretArn": "arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-Ab12Cd"},
         "cloudbridge:sources[0]"),
        ({"sourceCidr": "10.0.0.0/16"}, "cloudbridge:sources[0]"),
        ({"engine": "mysql"}, "cloudbridge:sources[0]"),
        ({"provision": {"instanceClass": "m5.large"}}, "cloudbridge:sources[0].provision.instanceClass"),
        ({"provision": {"instanceClass": "db.t4g.medium", "engineVersion": "12"}},
         "cloudbridge:sources[0].provision.engineVersion"),
        ({"provision": {"instanceClass": "db.t4g.medium", "performanceInsightsRetentionDays": 30}},
         "cloudbridge:sources[0].provision.performanceInsightsRetentionDays"),
        ({"provision": {"instanceClass": "db.t4g.medium", "dmsUsername": "postgres"}},
         "cloudbridge:sources[0].provision.dmsUsername"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(stack_config, edit, key):
    config = stack_config("dev")
    index = next(i for i, s in enumerate(config["cloudbridge:sources"]) if s.get("provision"))
    config["cloudbridge:sources"][index].update(edit)
    key = key.replace("sources[0]", f"sources[{index}]")
    with pytest.raises(ConfigError) as error:
        parsed("dev", config)
    assert key in [k for k, _ in error.value.problems], error.value.problems


def _naming(stack):
    from components.naming import Naming

    config = parsed(stack)
    return Naming(config.environment, config.account.id, config.region)
