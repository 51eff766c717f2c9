"""The bootstrap's part in disaster recovery (issue #29): the deploy role in the DR region and its
attack paths, the boundary's replication ceiling, the break-glass role, and the deletion guard
evaluated with both sides of the decision (the bucket policy the program declares and the identity
policies the bootstrap declares). Every ARN is derived from the fixture stack files."""

from __future__ import annotations

import json

import pytest

from bootstrap.config import BootstrapError, parse, raw_config
from cloudbridge.plan import BOOTSTRAP_ROOT, read_stack_config, stacks
from components.naming import Naming
from components.storage import GUARD_SID_PREFIX, GUARDED_BUCKET_ACTIONS, GUARDED_OBJECT_ACTIONS
from tests.bootstrap.deploy_support import REGION_KEY, TAG, stack
from tests.support.iam_eval import decide, decide_all

STACKS = stacks()
DR_STACKS = [s for s in STACKS if read_stack_config(s, BOOTSTRAP_ROOT).get("cloudbridge-bootstrap:drRegion")]
FOREIGN = "999999999999"


def dr_region(name: str) -> str:
    return read_stack_config(name, BOOTSTRAP_ROOT)["cloudbridge-bootstrap:drRegion"]


def names(s) -> Naming:
    return Naming(s.environment, s.account, s.region)


def test_the_fixtures_bootstrap_a_dr_region_where_the_program_turns_it_on():
    program = [s for s in STACKS if (read_stack_config(s).get("cloudbridge:dr") or {}).get("enabled")]
    assert DR_STACKS == program and DR_STACKS
    for name in DR_STACKS:
        assert dr_region(name) == read_stack_config(name)["cloudbridge:dr"]["region"]


def test_the_dr_region_must_be_another_region():
    values = read_stack_config("prod", BOOTSTRAP_ROOT)
    values["cloudbridge-bootstrap:drRegion"] = values["aws:region"]
    with pytest.raises(BootstrapError, match="drRegion: must be another region"):
        parse("prod", raw_config(values))


# --- the deploy role -------------------------------------------------------------------------------


def dr_attacks(s, region: str) -> list[tuple[str, str, str, dict]]:
    """(name, action, resource, context): each must be refused to the deploy role."""
    n, acct, env = names(s), s.account, s.environment
    third = "ap-southeast-2" if "ap-southeast-2" not in (s.region, region) else "sa-east-1"
    at_dr = {REGION_KEY: region}
    role = lambda name: f"arn:aws:iam::{acct}:role/{name}"  # noqa: E731
    to_s3 = {**{REGION_KEY: s.region}, "iam:PassedToService": "s3.amazonaws.com"}
    other_tags = {f"aws:ResourceTag/{TAG}": "other", "aws:ResourceTag/cloudbridge:managed-by": "pulumi"}
    return [
        ("pass the validator's role to S3", "iam:PassRole", role(n.name("sales", "validator")), to_s3),
        ("pass a foreign role to S3", "iam:PassRole", role("admin"), to_s3),
        ("pass another environment's replication role to S3", "iam:PassRole", role("cb-other-dr-replication"), to_s3),
        ("pass the replication role to EC2", "iam:PassRole", role(n.name("dr", "replication")),
         {REGION_KEY: s.region, "iam:PassedToService": "ec2.amazonaws.com"}),
        ("replicate a foreign bucket", "s3:PutReplicationConfiguration", "arn:aws:s3:::payroll-exports",
         {REGION_KEY: s.region}),
        ("replicate the Pulumi state", "s3:PutReplicationConfiguration", f"arn:aws:s3:::{s.state_bucket}",
         {REGION_KEY: s.region}),
        ("replicate the landing bucket", "s3:PutReplicationConfiguration",
         f"arn:aws:s3:::{n.bucket('sales', 'landing')}", {REGION_KEY: s.region}),
        ("replicate another environment's raw history", "s3:PutReplicationConfiguration",
         f"arn:aws:s3:::cb-other-sales-raw-{acct}-{s.region}", {REGION_KEY: s.region}),
        ("create a program-named bucket in a third region", "s3:CreateBucket",
         f"arn:aws:s3:::{n.in_region(third).bucket('sales', 'raw')}", {REGION_KEY: third}),
        ("tag a foreign key in the DR region with the environment", "kms:TagResource",
         f"arn:aws:kms:{region}:{acct}:key/1234abcd-foreign",
         {**at_dr, f"aws:RequestTag/{TAG}": env, "aws:RequestTag/cloudbridge:managed-by": "pulumi"}),
        ("schedule the deletion of another environment's key in the DR region", "kms:ScheduleKeyDeletion",
         f"arn:aws:kms:{region}:{acct}:key/1234abcd-other", {**at_dr, **other_tags}),
        ("subscribe to a foreign topic in the DR region", "sns:Subscribe", f"arn:aws:sns:{region}:{acct}:payroll",
         at_dr),
        ("replace a foreign function in the DR region", "lambda:UpdateFunctionCode",
         f"arn:aws:lambda:{region}:{acct}:function:admin-tool", at_dr),
        ("change the break-glass role's policy", "iam:PutRolePolicy", n.break_glass_role_arn,
         {REGION_KEY: s.region, "iam:PermissionsBoundary": s.boundary_arn}),
        ("assume the break-glass role", "sts:AssumeRole", n.break_glass_role_arn, {REGION_KEY: s.region}),
    ]  # fmt: skip


@pytest.mark.parametrize("name", DR_STACKS)
def test_every_dr_attack_path_is_refused(name):
    s = stack(name)
    allowed = [
        (n, a, r) for n, a, r, ctx in dr_attacks(s, dr_region(name)) if decide_all(s.deploy, a, r, ctx) == "allow"
    ]
    assert allowed == []


@pytest.mark.parametrize("name", DR_STACKS)
def test_the_deploy_role_replicates_only_the_system_of_record_and_passes_only_the_replication_role(name):
    s, n = stack(name), names(stack(name))
    for purpose in ("raw", "meta", "fail"):
        arn = f"arn:aws:s3:::{n.bucket('sales', purpose)}"
        assert decide_all(s.deploy, "s3:PutReplicationConfiguration", arn, {REGION_KEY: s.region}) == "allow"
    context = {REGION_KEY: s.region, "iam:PassedToService": "s3.amazonaws.com"}
    replication = f"arn:aws:iam::{s.account}:role/{n.name('dr', 'replication')}"
    assert decide_all(s.deploy, "iam:PassRole", replication, context) == "allow"


@pytest.mark.parametrize("name", sorted(set(STACKS) - set(DR_STACKS)))
def test_without_a_dr_region_the_deploy_role_replicates_nothing(name):
    s, n = stack(name), names(stack(name))
    raw = f"arn:aws:s3:::{n.bucket('sales', 'raw')}"
    assert decide_all(s.deploy, "s3:PutReplicationConfiguration", raw, {REGION_KEY: s.region}) != "allow"
    context = {REGION_KEY: s.region, "iam:PassedToService": "s3.amazonaws.com"}
    assert decide_all(s.deploy, "iam:PassRole", f"arn:aws:iam::{s.account}:role/{n.name('dr', 'replication')}",
                      context) != "allow"  # fmt: skip


@pytest.mark.parametrize("name", DR_STACKS)
def test_the_preview_role_reads_the_dr_region_and_writes_nothing_there(name):
    from tests.support.bootstrap_checks import role_documents

    s = stack(name)
    _, preview = role_documents(s.bootstrap, "preview")
    replica = f"arn:aws:s3:::{names(s).in_region(dr_region(name)).bucket('sales', 'raw')}"
    at_dr = {REGION_KEY: dr_region(name)}
    assert decide(preview, {}, "s3:GetReplicationConfiguration", replica, at_dr) == "allow"
    assert decide(preview, {}, "s3:GetBucketPolicy", replica, at_dr) == "allow"
    for action in ("s3:PutBucketPolicy", "s3:DeleteBucket", "s3:PutReplicationConfiguration"):
        assert decide(preview, {}, action, replica, at_dr) != "allow", action


# --- the boundary: what S3 replication may do as the program's roles -------------------------------------


@pytest.mark.parametrize("name", DR_STACKS)
def test_the_boundary_lets_replication_write_only_into_the_dr_regions_own_buckets(name):
    s, n = stack(name), names(stack(name))
    replica = n.in_region(dr_region(name)).bucket("sales", "raw")
    source = n.bucket("sales", "raw")
    region = {REGION_KEY: s.region}
    assert decide(s.boundary, {}, "s3:ReplicateObject", f"arn:aws:s3:::{replica}/x", region) == "allow"
    assert decide(s.boundary, {}, "s3:InitiateReplication", f"arn:aws:s3:::{source}/x", region) == "allow"
    for action, resource in [
        ("s3:ReplicateObject", "arn:aws:s3:::someone-elses-bucket/x"),  # exfiltration
        ("s3:ReplicateObject", f"arn:aws:s3:::{source}/x"),  # into the primary
        ("s3:ReplicateObject", f"arn:aws:s3:::cb-other-sales-raw-{s.account}-{dr_region(name)}/x"),
        ("s3:InitiateReplication", "arn:aws:s3:::someone-elses-bucket/x"),
        ("s3:PutInventoryConfiguration", "arn:aws:s3:::someone-elses-bucket"),
        ("s3:PutBucketPolicy", f"arn:aws:s3:::{replica}"),
        ("s3:DeleteObjectVersion", f"arn:aws:s3:::{replica}/x"),
        ("kms:Decrypt", s.state_key_arn),
    ]:
        assert decide(s.boundary, {}, action, resource, region) != "allow", (action, resource)


# --- the break-glass role and the deletion guard --------------------------------------------------------


def break_glass(s) -> tuple[dict, dict]:
    role = s.bootstrap.named("break-glass-role", "aws:iam/role:Role")
    policy = s.bootstrap.named("break-glass-role-policy", "aws:iam/rolePolicy:RolePolicy")
    assert role.given["name"] == names(s).break_glass_role_arn.rsplit("/", 1)[1]
    assert role.protect is True  # a preview gone wrong never removes it
    return json.loads(role.given["assumeRolePolicy"]), json.loads(policy.given["policy"])


@pytest.mark.parametrize("name", STACKS)
def test_the_break_glass_role_is_assumed_with_mfa_by_this_accounts_people_only(name):
    s = stack(name)
    trust, _ = break_glass(s)
    me = {"AWS": f"arn:aws:iam::{s.account}:root"}
    assert decide(trust, me, "sts:AssumeRole", "role", {"aws:MultiFactorAuthPresent": "true"}) == "allow"
    assert decide(trust, me, "sts:AssumeRole", "role", {"aws:MultiFactorAuthPresent": "false"}) != "allow"
    assert decide(trust, me, "sts:AssumeRole", "role", {}) != "allow"
    foreign = {"AWS": f"arn:aws:iam::{FOREIGN}:root"}
    assert decide(trust, foreign, "sts:AssumeRole", "role", {"aws:MultiFactorAuthPresent": "true"}) != "allow"
    github = {"Federated": s.bootstrap.outputs["oidcProviderArn"]}
    assert decide(trust, github, "sts:AssumeRoleWithWebIdentity", "role", {}) != "allow"


@pytest.mark.parametrize("name", STACKS)
def test_the_break_glass_role_may_only_delete_and_unguard_the_programs_buckets(name):
    s = stack(name)
    _, policy = break_glass(s)
    n = names(s)
    regions = [s.region, *([dr_region(name)] if name in DR_STACKS else [])]
    for region in regions:
        bucket = f"arn:aws:s3:::{n.in_region(region).bucket('sales', 'raw')}"
        for action in GUARDED_BUCKET_ACTIONS:
            assert decide(policy, {}, action, bucket) == "allow", (action, bucket)
        for action in GUARDED_OBJECT_ACTIONS:
            assert decide(policy, {}, action, f"{bucket}/x") == "allow", (action, bucket)
    for action, resource in [
        ("s3:DeleteBucket", f"arn:aws:s3:::{s.state_bucket}"),
        ("s3:DeleteObjectVersion", f"arn:aws:s3:::{s.state_bucket}/.pulumi/stacks/x.json"),
        ("s3:DeleteBucket", "arn:aws:s3:::payroll-exports"),
        ("s3:DeleteBucket", f"arn:aws:s3:::cb-other-sales-raw-{s.account}-{s.region}"),
        ("s3:GetObject", f"arn:aws:s3:::{n.bucket('sales', 'raw')}/x"),
        ("iam:CreateRole", f"arn:aws:iam::{s.account}:role/x"),
    ]:
        assert decide(policy, {}, action, resource) != "allow", (action, resource)


def same_account_decision(identity: list[dict], bucket_policy: dict, who: str, action: str, resource: str) -> str:
    """S3 within one account: allowed when an identity policy or the bucket policy allows and neither denies."""
    context = {"aws:PrincipalArn": who, "aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
    resource_side = decide(bucket_policy, {"AWS": who}, action, resource, context)
    identity_side = decide_all(identity, action, resource, context)
    if "deny" in (resource_side, identity_side):
        return "deny"
    return "allow" if "allow" in (resource_side, identity_side) else "implicit"


@pytest.mark.parametrize("name", ["preprod", "prod"])
def test_the_deletion_guard_refuses_the_deploy_role_and_lets_the_break_glass_role_through(name):
    """Both sides of the decision: the program's bucket policies (the guard) and the bootstrap's identity
    policies. The deploy role's own policy allows DeleteBucket and PutLifecycleConfiguration on the
    program's buckets: the guard is what refuses it."""
    s = stack(name)
    _, glass = break_glass(s)
    n = names(s)
    deploy, glass_arn = f"arn:aws:iam::{s.account}:role/cloudbridge-deploy-{name}", n.break_glass_role_arn
    policies = [
        p for p in s.program.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if any(st["Sid"].startswith(GUARD_SID_PREFIX) for st in json.loads(p.inputs["policy"])["Statement"])
    ]  # fmt: skip
    assert len(policies) >= 2
    for bucket_policy in policies:
        document = json.loads(bucket_policy.inputs["policy"])
        bucket = next(st["Resource"][0] for st in document["Statement"] if st["Sid"] == "DenyInsecureTransport")
        calls = [(a, bucket) for a in GUARDED_BUCKET_ACTIONS] + [(a, f"{bucket}/x") for a in GUARDED_OBJECT_ACTIONS]
        for action, resource in calls:
            assert same_account_decision(s.deploy, document, deploy, action, resource) == "deny", (action, resource)
            assert same_account_decision([glass], document, glass_arn, action, resource) == "allow", (action, resource)
        # The guard takes nothing else from the deploy role: it still deploys the bucket's other settings.
        for action in ("s3:PutEncryptionConfiguration", "s3:PutBucketTagging"):
            assert same_account_decision(s.deploy, document, deploy, action, bucket) == "allow", action
