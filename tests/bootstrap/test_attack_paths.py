"""Proof the deploy role cannot make itself more: each attack path, evaluated against the
deploy role's policies (grants and guardrails) as the bootstrap declares them for every
fixture stack, is refused; where a step could pass, the next one (what the new role or
grant would do) is refused by the permissions boundary."""

import pytest

from cloudbridge.plan import stacks
from tests.bootstrap.deploy_support import REGION_KEY, TAG, stack
from tests.support.iam_eval import decide, decide_all

STACKS = stacks()
FOREIGN = "999999999999"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def attacks(s):
    """(name, action, resource, context): each must be refused."""
    acct, env, r = s.account, s.environment, s.region
    role = f"arn:aws:iam::{acct}:role/cb-{env}-admin"
    region = {REGION_KEY: r}
    own_tags = {f"aws:ResourceTag/{TAG}": env, "aws:ResourceTag/cloudbridge:managed-by": "pulumi", **region}
    foreign_key = s.arn("kms", "key/1234abcd-foreign")
    other_region = "eu-west-1" if r != "eu-west-1" else "us-east-1"
    env_request = {f"aws:RequestTag/{TAG}": env, "aws:RequestTag/cloudbridge:managed-by": "pulumi"}
    return [*_network_attacks(s, other_region, env_request), *_storage_attacks(s), *_mapping_attacks(s, env_request),
        *_compaction_attacks(s),
        ("create an admin role without the boundary", "iam:CreateRole", role, region),
        ("create an admin role with another boundary", "iam:CreateRole", role,
         {**region, "iam:PermissionsBoundary": f"arn:aws:iam::{acct}:policy/loose"}),
        ("create a role with the boundary, then attach AdministratorAccess", "iam:AttachRolePolicy", role,
         {**region, "iam:PermissionsBoundary": s.boundary_arn, "iam:PolicyARN": ADMIN}),
        ("attach AdministratorAccess to dms-vpc-role", "iam:AttachRolePolicy", f"arn:aws:iam::{acct}:role/dms-vpc-role",
         {**region, "iam:PermissionsBoundary": s.boundary_arn, "iam:PolicyARN": ADMIN}),
        ("rewrite the trust of dms-vpc-role to another account", "iam:UpdateAssumeRolePolicy",
         f"arn:aws:iam::{acct}:role/dms-vpc-role", {**region, "iam:PermissionsBoundary": s.boundary_arn}),
        ("put an inline policy on a role without the boundary", "iam:PutRolePolicy",
         f"arn:aws:iam::{acct}:role/cb-{env}-validator", region),
        ("put an inline policy on the deploy role itself", "iam:PutRolePolicy",
         f"arn:aws:iam::{acct}:role/cloudbridge-deploy-{env}", {**region, "iam:PermissionsBoundary": s.boundary_arn}),
        ("remove the boundary", "iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{acct}:role/cb-{env}-validator",
         {**region, "iam:PermissionsBoundary": s.boundary_arn}),
        ("replace the boundary with a looser policy", "iam:PutRolePermissionsBoundary",
         f"arn:aws:iam::{acct}:role/cb-{env}-validator",
         {**region, "iam:PermissionsBoundary": f"arn:aws:iam::{acct}:policy/loose"}),
        ("edit the boundary policy", "iam:CreatePolicyVersion", s.boundary_arn, region),
        ("make another version of the boundary the default", "iam:SetDefaultPolicyVersion", s.boundary_arn, region),
        ("pass a foreign role to Lambda", "iam:PassRole", f"arn:aws:iam::{acct}:role/admin",
         {**region, "iam:PassedToService": "lambda.amazonaws.com"}),
        ("pass its own role to EC2", "iam:PassRole", f"arn:aws:iam::{acct}:role/cb-{env}-validator",
         {**region, "iam:PassedToService": "ec2.amazonaws.com"}),
        ("tag a foreign KMS key with the environment", "kms:TagResource", foreign_key,
         {**region, f"aws:RequestTag/{TAG}": env, "aws:RequestTag/cloudbridge:managed-by": "pulumi"}),
        ("decrypt with a foreign key", "kms:Decrypt", foreign_key, region),
        ("decrypt with the state key outside S3 (it carries the environment's tag)", "kms:CreateGrant",
         s.state_key_arn, {**region, f"aws:ResourceTag/{TAG}": env}),
        ("put a key policy on the state key", "kms:PutKeyPolicy", s.state_key_arn,
         {**region, f"aws:ResourceTag/{TAG}": env, "aws:ResourceTag/cloudbridge:managed-by": "pulumi"}),
        ("schedule the state key's deletion", "kms:ScheduleKeyDeletion", s.state_key_arn,
         {**region, f"aws:ResourceTag/{TAG}": env, "aws:ResourceTag/cloudbridge:managed-by": "pulumi"}),
        ("retag the state key as the program's", "kms:TagResource", s.state_key_arn,
         {**region, f"aws:ResourceTag/{TAG}": env, "aws:ResourceTag/cloudbridge:managed-by": "pulumi-bootstrap",
          "aws:RequestTag/cloudbridge:managed-by": "pulumi"}),
        ("open a foreign security group", "ec2:AuthorizeSecurityGroupIngress",
         s.arn("ec2", "security-group/sg-foreign"), region),
        ("delete a foreign security group", "ec2:DeleteSecurityGroup", s.arn("ec2", "security-group/sg-foreign"),
         {**region, f"aws:ResourceTag/{TAG}": "other"}),
        ("tag a foreign security group with the environment", "ec2:CreateTags",
         s.arn("ec2", "security-group/sg-foreign"), {**region, f"aws:RequestTag/{TAG}": env}),
        ("delete a foreign VPC endpoint", "ec2:DeleteVpcEndpoints", s.arn("ec2", "vpc-endpoint/vpce-foreign"), region),
        ("delete a foreign DMS task", "dms:DeleteReplicationTask", s.arn("dms", "task:foreign"), region),
        ("tag a foreign DMS task with the environment", "dms:AddTagsToResource", s.arn("dms", "task:foreign"),
         {**region, f"aws:RequestTag/{TAG}": env}),
        ("put a cross-account bucket policy on a foreign bucket", "s3:PutBucketPolicy", "arn:aws:s3:::payroll-exports",
         region),
        ("put a bucket policy on the state bucket", "s3:PutBucketPolicy", f"arn:aws:s3:::{s.state_bucket}", region),
        ("put a bucket policy on another environment's bucket", "s3:PutBucketPolicy",
         f"arn:aws:s3:::cb-other-sales-raw-{acct}-{r}", region),
        ("invoke a foreign Lambda function", "lambda:InvokeFunction", s.arn("lambda", "function:admin-tool"), region),
        ("update a foreign function's code", "lambda:UpdateFunctionCode", s.arn("lambda", "function:admin-tool"),
         region),
        ("delete a foreign log group", "logs:DeleteLogGroup", s.arn("logs", "log-group:/aws/cloudtrail"), region),
        ("create a user", "iam:CreateUser", f"arn:aws:iam::{acct}:user/backdoor", region),
        ("create access keys", "iam:CreateAccessKey", f"arn:aws:iam::{acct}:user/admin", region),
        ("assume another role", "sts:AssumeRole", f"arn:aws:iam::{acct}:role/admin", region),
        ("modify the account's GitHub trust", "iam:UpdateOpenIDConnectProviderThumbprint",
         f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com", region),
        ("delete a foreign Redshift namespace", "redshift-serverless:DeleteNamespace",
         s.arn("redshift-serverless", "namespace/foreign"), region),
        ("tag a foreign Redshift namespace with the environment", "redshift-serverless:TagResource",
         s.arn("redshift-serverless", "namespace/foreign"), {**region, f"aws:RequestTag/{TAG}": env}),
        ("rewrite the trust of a program role that lacks the boundary", "iam:UpdateAssumeRolePolicy",
         f"arn:aws:iam::{acct}:role/cb-{env}-validator", own_tags),
    ]  # fmt: skip


def _network_attacks(s, other_region: str, env_request: dict) -> list[tuple]:
    """The network grants added for the provider's own calls: tagging new rules (TagNewRules),
    the interfaces DMS leaves (RemoveLingeringInterfaces), private DNS (PrivateDnsOfInterfaceEndpoints)."""
    acct, env, r = s.account, s.environment, s.region
    region = {REGION_KEY: r}
    rule = s.arn("ec2", "security-group-rule/sgr-0other")
    eni = "network-interface/eni-0foreign"
    zone, associate = "arn:aws:route53:::hostedzone/Z0FOREIGN", "route53:AssociateVPCWithHostedZone"
    other_tag = {f"aws:ResourceTag/{TAG}": "other", "aws:ResourceTag/cloudbridge:managed-by": "pulumi"}
    return [
        ("tag a security-group rule already tagged for another environment", "ec2:CreateTags", rule,
         {**region, **env_request, **other_tag}),
        ("retag a rule of this environment's bootstrap as the program's", "ec2:CreateTags", rule,
         {**region, **env_request, f"aws:ResourceTag/{TAG}": env,
          "aws:ResourceTag/cloudbridge:managed-by": "pulumi-bootstrap"}),
        ("tag an untagged rule with another environment's tags", "ec2:CreateTags", rule,
         {**region, f"aws:RequestTag/{TAG}": "other", "aws:RequestTag/cloudbridge:managed-by": "pulumi"}),
        ("delete a network interface of another account", "ec2:DeleteNetworkInterface",
         f"arn:aws:ec2:{r}:{FOREIGN}:{eni}", region),
        ("delete a network interface of another region", "ec2:DeleteNetworkInterface",
         f"arn:aws:ec2:{other_region}:{acct}:{eni}", {REGION_KEY: other_region}),
        ("associate a VPC of another region with a private hosted zone", associate, zone,
         {**region, "route53:VPCs": [f"VPCId=vpc-1,VPCRegion={other_region}"]}),
        ("associate VPCs of this and another region with a private hosted zone at once", associate, zone,
         {**region, "route53:VPCs": [f"VPCId=vpc-1,VPCRegion={r}", f"VPCId=vpc-2,VPCRegion={other_region}"]}),
    ]  # fmt: skip


def _storage_attacks(s) -> list[tuple]:
    """The grants added for the object's delete (every version, metadata buckets only) and read
    (S3's AWS managed key, by its alias only)."""
    acct, env, r = s.account, s.environment, s.region
    region = {REGION_KEY: r}
    raw = f"arn:aws:s3:::cb-{env}-sales-raw-{acct}-{r}"
    foreign_key = s.arn("kms", "key/1234abcd-foreign")
    return [
        ("destroy an old version of a Pulumi state object", "s3:DeleteObjectVersion",
         f"arn:aws:s3:::{s.state_bucket}/.pulumi/stacks/cloudbridge/{env}.json", region),
        ("destroy an old version of a raw-history object", "s3:DeleteObjectVersion", f"{raw}/orders/part-0.parquet",
         region),
        ("list the versions of the state bucket", "s3:ListBucketVersions", f"arn:aws:s3:::{s.state_bucket}", region),
        ("list the versions of a raw-history bucket", "s3:ListBucketVersions", raw, region),
        ("describe a foreign key by its id", "kms:DescribeKey", foreign_key, region),
        ("describe a foreign key by another alias", "kms:DescribeKey", foreign_key,
         {**region, "kms:RequestAlias": "alias/payroll"}),
        ("decrypt with S3's managed key by its alias", "kms:Decrypt", foreign_key,
         {**region, "kms:RequestAlias": "alias/aws/s3"}),
    ]  # fmt: skip


def _mapping_attacks(s, env_request: dict) -> list[tuple]:
    """The event source mappings' own tags (TagOwnEventSourceMappings, UntagOwnEventSourceMappings)."""
    region = {REGION_KEY: s.region}
    mapping = s.arn("lambda", "event-source-mapping:0f1e2d3c-foreign")
    other = {f"aws:ResourceTag/{TAG}": "other"}
    return [
        ("retag another environment's event source mapping as this one's", "lambda:TagResource", mapping,
         {**region, **env_request, **other}),
        ("tag an event source mapping with another environment's tag", "lambda:TagResource", mapping,
         {**region, f"aws:RequestTag/{TAG}": "other"}),
        ("untag another environment's event source mapping", "lambda:UntagResource", mapping, {**region, **other}),
        ("tag another environment's function through the mapping grant", "lambda:TagResource",
         s.arn("lambda", "function:cb-other-validator"), {**region, **env_request}),
    ]  # fmt: skip


def _compaction_attacks(s) -> list[tuple]:
    """The compaction's grants (StateMachines, Schedules, passing roles to states and scheduler)."""
    region = {REGION_KEY: s.region}
    acct, env = s.account, s.environment
    machine = s.arn("states", f"stateMachine:cb-{env}-sales-compaction")
    return [
        ("start a compaction state machine (its role runs Athena and Glue)", "states:StartExecution", machine, region),
        ("create a state machine outside the environment's names", "states:CreateStateMachine",
         s.arn("states", "stateMachine:exfiltrate"), region),
        ("rewrite another environment's state machine", "states:UpdateStateMachine",
         s.arn("states", "stateMachine:cb-other-sales-compaction"), region),
        ("schedule outside the environment's names", "scheduler:CreateSchedule",
         s.arn("scheduler", "schedule/default/exfiltrate"), region),
        ("schedule in another group", "scheduler:CreateSchedule",
         s.arn("scheduler", f"schedule/other/cb-{env}-sales-compaction-run"), region),
        ("pass the deploy role itself to Step Functions", "iam:PassRole",
         f"arn:aws:iam::{acct}:role/cloudbridge-deploy-{env}",
         {**region, "iam:PassedToService": "states.amazonaws.com"}),
        ("pass a foreign role to EventBridge Scheduler", "iam:PassRole", f"arn:aws:iam::{acct}:role/admin",
         {**region, "iam:PassedToService": "scheduler.amazonaws.com"}),
    ]  # fmt: skip


@pytest.mark.parametrize("name", STACKS)
def test_every_attack_path_is_refused(name):
    s = stack(name)
    allowed = [(n, a, r) for n, a, r, ctx in attacks(s) if decide_all(s.deploy, a, r, ctx) == "allow"]
    assert allowed == [], allowed
    assert len(attacks(s)) >= 12


@pytest.mark.parametrize("name", STACKS)
def test_a_role_under_the_boundary_can_do_nothing_in_iam_and_nothing_with_the_state(name):
    """Whatever the deploy role writes into a program role's policy, the boundary is its ceiling."""
    s = stack(name)
    region = {REGION_KEY: s.region}
    for action, resource in [
        ("iam:CreateRole", f"arn:aws:iam::{s.account}:role/x"),
        ("iam:PassRole", f"arn:aws:iam::{s.account}:role/admin"),
        ("sts:AssumeRole", f"arn:aws:iam::{FOREIGN}:role/x"),
        ("kms:Decrypt", s.state_key_arn),
        ("s3:GetObject", f"arn:aws:s3:::{s.state_bucket}/.pulumi/stacks/x.json"),
        ("s3:GetObject", "arn:aws:s3:::payroll-exports/x"),
        ("s3:PutBucketPolicy", f"arn:aws:s3:::cb-{s.environment}-sales-raw-{s.account}-{s.region}"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{s.region}:{FOREIGN}:secret:x"),
        ("ec2:AuthorizeSecurityGroupIngress", s.arn("ec2", "security-group/sg-1")),
        ("lambda:UpdateFunctionCode", s.arn("lambda", "function:x")),
        # A compaction role (or a state machine running with one) reaches no other account's
        # state machines, no foreign workgroup, no catalog of another environment.
        ("states:StartExecution", s.arn("states", "stateMachine:exfiltrate")),
        ("athena:StartQueryExecution", s.arn("athena", "workgroup/primary")),
        ("glue:DeleteTable", s.arn("glue", "table/finance/payroll")),
        ("glue:UpdateTable", s.arn("glue", "table/cb_other_sales/public__t_current")),
    ]:
        assert decide(s.boundary, {}, action, resource, region) != "allow", (action, resource)
