"""A provisioned source's database (components/database.py) and the deploy role: every call the
provider makes for it (bootstrap/inventory_database.py) is allowed on the concrete ARNs of what the
program declares, in every fixture stack (prod with its DR region: the automated backups replicated
there); and what the new grants (bootstrap/deploy_database.py) could be turned against is refused."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from bootstrap.inventory import resource_arn_formats, rows_of
from cloudbridge.plan import evaluate, read_stack_config, stacks
from tests.bootstrap.deploy_support import REGION_KEY, TAG, Arns, arn_matches_format, context, stack
from tests.support.iam_eval import decide_all

STACKS = stacks()
DATABASE_TYPES = ("aws:rds/", "aws:secretsmanager/", "aws:kms/", "aws:vpc/securityGroupIngressRule")


def provisioned(name: str) -> dict:
    """The stack's config with a provisioned postgres source (dev has one; elsewhere the first postgres source)."""
    config = copy.deepcopy(read_stack_config(name))
    sources = config["cloudbridge:sources"]
    if any(s.get("provision") for s in sources):
        return config
    source = next(s for s in sources if s["engine"] == "postgres")
    for key in ("host", "credentialsSecretArn", "credentialsKmsKeyArn", "sourceCidr", "sourceSecurityGroupId",
                "rdsInstanceIdentifier", "rdsClusterIdentifier"):  # fmt: skip
        source.pop(key, None)
    source["provision"] = {"instanceClass": "db.r6g.large", "adminSecurityGroupId": "sg-0123456789abcdef0"}
    return config


@pytest.fixture(scope="module", params=STACKS)
def deployed(request):
    base = stack(request.param)
    return dataclasses.replace(base, program=evaluate(request.param, provisioned(request.param)))


def test_the_deploy_role_may_deploy_a_provisioned_database(deployed):
    s, arns = deployed, Arns(deployed)
    declared = [r for r in s.program.resources if r.custom and not r.read and r.type.startswith(DATABASE_TYPES)]
    assert {r.type for r in declared} >= {"aws:rds/instance:Instance", "aws:secretsmanager/secret:Secret"}
    if read_stack_config(s.name).get("cloudbridge:dr", {}).get("enabled"):
        assert any(r.type.endswith("InstanceAutomatedBackupsReplication") for r in declared)
    denied, shapes = [], []
    for r in declared:
        for row in rows_of(r.type):
            for arn in arns.of(row, r):
                formats = resource_arn_formats(row.action)
                if arn != "*" and not arn_matches_format(arn, formats):
                    shapes.append(f"{row.type} {row.action} on {arn}: IAM authorises it on {formats}")
                if decide_all(s.deploy, row.action, arn, context(s, arns, row, r)) != "allow":
                    denied.append(f"{r.name}: {row.action} on {arn} ({row.source})")
    assert shapes == [], "\n".join(shapes)
    assert denied == [], "\n".join(sorted(set(denied)))


def attacks(s) -> list[tuple]:
    """(what, action, resource, context): each must be refused."""
    env, acct, region = s.environment, s.account, {REGION_KEY: s.region}
    own = {f"aws:ResourceTag/{TAG}": env, "aws:ResourceTag/cloudbridge:managed-by": "pulumi", **region}
    other = {f"aws:ResourceTag/{TAG}": "other", **region}
    env_request = {f"aws:RequestTag/{TAG}": env, "aws:RequestTag/cloudbridge:managed-by": "pulumi", **region}
    payroll, theirs = s.arn("rds", "db:payroll"), s.arn("rds", "db:cb-other-sales-db")
    secret = s.arn("secretsmanager", f"secret:cb-{env}-sales-dms-user-Ab12Cd")
    final = s.arn("rds", f"snapshot:cb-{env}-sales-db-final")
    return [
        ("modify a DB instance that is not CloudBridge's", "rds:ModifyDBInstance", payroll, region),
        ("turn off another environment's deletion protection", "rds:ModifyDBInstance", theirs, other),
        ("delete a DB instance that is not CloudBridge's", "rds:DeleteDBInstance", payroll, region),
        ("delete another environment's DB instance", "rds:DeleteDBInstance", theirs, other),
        ("tag a foreign DB instance as this environment's", "rds:AddTagsToResource", payroll, env_request),
        ("reboot a foreign DB instance", "rds:RebootDBInstance", payroll, region),
        ("turn TLS off in a foreign parameter group", "rds:ModifyDBParameterGroup", s.arn("rds", "pg:payroll"), region),
        ("snapshot a foreign DB instance", "rds:CreateDBSnapshot", payroll, region),
        ("share its own final snapshot", "rds:ModifyDBSnapshotAttribute", final, own),
        ("copy a snapshot out", "rds:CopyDBSnapshot", final, own),
        ("replicate a foreign instance's backups", "rds:StartDBInstanceAutomatedBackupsReplication", payroll, region),
        ("restore a foreign instance's snapshot into its own", "rds:RestoreDBInstanceFromDBSnapshot",
         s.arn("rds", "snapshot:payroll-nightly"), region),
        ("read the master user's password", "secretsmanager:GetSecretValue",
         s.arn("secretsmanager", "secret:rds!db-0f0f0f0f-Ab12Cd"), region),
        ("read the DMS user's password", "secretsmanager:GetSecretValue", secret, own),
        ("overwrite the DMS user's password", "secretsmanager:PutSecretValue", secret, own),
        ("create a secret outside its names", "secretsmanager:CreateSecret", s.arn("secretsmanager", "secret:payroll"),
         env_request),
        ("delete a foreign secret", "secretsmanager:DeleteSecret", s.arn("secretsmanager", "secret:payroll-Ab12Cd"),
         region),
        ("open a foreign secret to another account", "secretsmanager:PutResourcePolicy", secret, own),
        ("delete the master user's secret", "secretsmanager:DeleteSecret",
         s.arn("secretsmanager", "secret:rds!db-0f0f0f0f-Ab12Cd"), region),
        ("create a service-linked role for another service", "iam:CreateServiceLinkedRole",
         f"arn:aws:iam::{acct}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS",
         {**region, "iam:AWSServiceName": "ec2.amazonaws.com"}),
    ]  # fmt: skip


@pytest.mark.parametrize("name", STACKS)
def test_what_the_database_grants_could_be_turned_against_is_refused(name):
    s = stack(name)
    allowed = [
        what for what, action, resource, ctx in attacks(s) if decide_all(s.deploy, action, resource, ctx) == "allow"
    ]
    assert allowed == [], allowed
