"""The bootstrap program, evaluated under mocks: who may assume which role, what each role
may do, that the deploy role covers exactly what the program declares, and that one, two
or three AWS accounts may host dev, preprod and prod without two runs colliding.

Every expectation is derived from the stack files evaluated — the fixtures
(tests/fixtures/stacks/bootstrap) or layouts written here — never from a team's own
bootstrap/Pulumi.*.yaml (tests/support/bootstrap_checks.py holds the checks that must hold
for those too)."""

import json

import pytest

from bootstrap.config import BootstrapError, parse
from cloudbridge.plan import BOOTSTRAP_ROOT, evaluate, read_stack_config, stacks
from components.naming import permissions_boundary_arn
from components.workspace import FIXTURE_STACKS
from tests.support import bootstrap_checks
from tests.support.bootstrap_checks import github_token, role_documents
from tests.support.iam_eval import decide

BOOTSTRAP_STACKS = stacks(BOOTSTRAP_ROOT)
CONFIGS = bootstrap_checks.configs(FIXTURE_STACKS)
ASSUME = bootstrap_checks.ASSUME


@pytest.fixture(scope="module")
def bootstraps():
    return bootstrap_checks.plans(FIXTURE_STACKS)


@pytest.fixture(scope="module")
def programs():
    return {stack: evaluate(stack) for stack in BOOTSTRAP_STACKS}


def test_the_fixtures_are_the_three_environments_in_three_accounts():
    assert BOOTSTRAP_STACKS == stacks() == ["dev", "preprod", "prod"]
    assert len({c.account for c in CONFIGS.values()}) == 3


@pytest.mark.parametrize("check", sorted(bootstrap_checks.CHECKS))
def test_the_fixture_bootstrap_stacks_pass_every_check(check):
    problems = bootstrap_checks.CHECKS[check](FIXTURE_STACKS)
    assert problems == [], "\n".join(problems)


def test_a_preview_token_opens_only_its_own_stacks_preview_role(bootstraps):
    """The preview job of one stack cannot borrow another stack's preview role, and a
    pull-request job that names no environment gets no role at all."""
    repo = CONFIGS["dev"].repository
    tokens = {
        "preview-dev": f"repo:{repo}:environment:preview-dev",
        "preview-preprod": f"repo:{repo}:environment:preview-preprod",
        "pull_request": f"repo:{repo}:pull_request",
        "dev": f"repo:{repo}:environment:dev",
    }
    may = {}
    for stack, plan in bootstraps.items():
        github = {"Federated": plan.outputs["oidcProviderArn"]}
        for role in ("deploy", "preview"):
            trust, _ = role_documents(plan, role)
            for label, sub in tokens.items():
                may[stack, role, label] = decide(trust, github, ASSUME, "role", github_token(sub)) == "allow"
    assert {key for key, allowed in may.items() if allowed} == {
        ("dev", "preview", "preview-dev"),
        ("preprod", "preview", "preview-preprod"),
        ("dev", "deploy", "dev"),
    }


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_outputs_are_what_github_needs_per_environment(bootstraps, stack):
    config, outputs = CONFIGS[stack], bootstraps[stack].outputs
    backend = f"s3://cb-pulumi-state-{stack}-{config.account}-{config.region}?region={config.region}"
    assert outputs["backendUrl"] == backend
    assert outputs["secretsProvider"] == f"awskms://alias/cb-pulumi-state-{stack}?region={config.region}"
    assert outputs["githubEnvironments"] == {
        stack: {"AWS_DEPLOY_ROLE_ARN": outputs["deployRoleArn"], "AWS_REGION": config.region,
                "PULUMI_BACKEND_URL": backend},
        f"preview-{stack}": {"AWS_PREVIEW_ROLE_ARN": outputs["previewRoleArn"], "AWS_REGION": config.region,
                             "PULUMI_BACKEND_URL": backend},
    }  # fmt: skip
    assert outputs["deployRoleArn"] == f"arn:aws:iam::{config.account}:role/cloudbridge-deploy-{stack}"


# The logical identities of the first release: existing bootstraps are protected, so a
# changed URN would make Pulumi want to replace them. A rename needs a pulumi.Alias.
IDENTITIES = {
    "cloudbridge:bootstrap:AccountBootstrap::account",
    "cloudbridge:bootstrap:AccountBootstrap$aws:iam/openIdConnectProvider:OpenIdConnectProvider::github",
    "cloudbridge:bootstrap:AccountBootstrap$aws:kms/key:Key::state-key",
    "cloudbridge:bootstrap:AccountBootstrap$aws:kms/alias:Alias::state-key-alias",
    "cloudbridge:bootstrap:AccountBootstrap$cloudbridge:storage:SecureBucket::state",
    "cloudbridge:bootstrap:AccountBootstrap$aws:iam/role:Role::deploy-role",
    "cloudbridge:bootstrap:AccountBootstrap$aws:iam/role:Role$aws:iam/rolePolicy:RolePolicy::deploy-role-policy",
    "cloudbridge:bootstrap:AccountBootstrap$aws:iam/role:Role::preview-role",
    "cloudbridge:bootstrap:AccountBootstrap$aws:iam/role:Role$aws:iam/rolePolicy:RolePolicy::preview-role-policy",
}


def test_the_protected_resources_keep_their_urns(bootstraps):
    plan = bootstraps["dev"]
    prefix = "urn:pulumi:dev::cloudbridge-bootstrap::"
    identities = {r.identity.removeprefix(prefix) for r in plan.resources}
    assert IDENTITIES <= identities
    assert all(r.protect for r in plan.resources if r.identity.removeprefix(prefix) in IDENTITIES - {
        "cloudbridge:bootstrap:AccountBootstrap::account",
        *(i for i in IDENTITIES if i.endswith("-role-policy")),
    })  # fmt: skip


ARN_OF = {
    "aws:s3/bucket:Bucket": ("s3:CreateBucket", lambda r, a, g: f"arn:aws:s3:::{r.given['bucket']}"),
    "aws:iam/role:Role": ("iam:CreateRole", lambda r, a, g: f"arn:aws:iam::{a}:role/{r.given['name']}"),
    "aws:lambda/function:Function": (
        "lambda:CreateFunction", lambda r, a, g: f"arn:aws:lambda:{g}:{a}:function:{r.given['name']}"),
    "aws:sqs/queue:Queue": ("sqs:CreateQueue", lambda r, a, g: f"arn:aws:sqs:{g}:{a}:{r.given['name']}"),
    "aws:sns/topic:Topic": ("sns:CreateTopic", lambda r, a, g: f"arn:aws:sns:{g}:{a}:{r.given['name']}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "cloudwatch:PutMetricAlarm", lambda r, a, g: f"arn:aws:cloudwatch:{g}:{a}:alarm:{r.given['name']}"),
    "aws:cloudwatch/eventRule:EventRule": (
        "events:PutRule", lambda r, a, g: f"arn:aws:events:{g}:{a}:rule/{r.given['name']}"),
    "aws:cloudwatch/logGroup:LogGroup": (
        "logs:CreateLogGroup", lambda r, a, g: f"arn:aws:logs:{g}:{a}:log-group:{r.given['name']}"),
    "aws:glue/catalogDatabase:CatalogDatabase": (
        "glue:CreateDatabase", lambda r, a, g: f"arn:aws:glue:{g}:{a}:database/{r.given['name']}"),
    "aws:glue/catalogTable:CatalogTable": (
        "glue:CreateTable", lambda r, a, g: f"arn:aws:glue:{g}:{a}:table/{r.given['databaseName']}/{r.given['name']}"),
    "aws:kms/alias:Alias": ("kms:CreateAlias", lambda r, a, g: f"arn:aws:kms:{g}:{a}:{r.given['name']}"),
    "aws:athena/workgroup:Workgroup": (
        "athena:CreateWorkGroup", lambda r, a, g: f"arn:aws:athena:{g}:{a}:workgroup/{r.given['name']}"),
    # Redshift Serverless ARNs carry ids AWS assigns: creation is decided by the environment tag.
    "aws:redshiftserverless/namespace:Namespace": ("redshift-serverless:CreateNamespace", lambda r, a, g: "*"),
    "aws:redshiftserverless/workgroup:Workgroup": ("redshift-serverless:CreateWorkgroup", lambda r, a, g: "*"),
    "aws:lambda/invocation:Invocation": (
        "lambda:InvokeFunction", lambda r, a, g: f"arn:aws:lambda:{g}:{a}:function:{r.given['functionName']}"),
}  # fmt: skip
# Request context of a call on a resource the program tags with its environment.
TAGGED_TYPES = {"aws:redshiftserverless/namespace:Namespace", "aws:redshiftserverless/workgroup:Workgroup"}


def _tag_context(stack, resource_type, arn):
    """The environment tag a tag-scoped call carries: this stack's, and another's to refuse."""
    if resource_type not in TAGGED_TYPES:
        return {}, None
    tag = "aws:RequestTag/cloudbridge:environment" if arn == "*" else "aws:ResourceTag/cloudbridge:environment"
    return {tag: stack}, {tag: "dev" if stack != "dev" else "preprod"}


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_deploy_role_may_create_what_the_program_declares(bootstraps, programs, stack):
    _, policy = role_documents(bootstraps[stack], "deploy")
    account = read_stack_config(stack)["cloudbridge:account"]["id"]
    region = read_stack_config(stack)["aws:region"]
    me = {"AWS": f"arn:aws:iam::{account}:role/cloudbridge-deploy-{stack}"}
    checked = set()
    for resource in programs[stack].resources:
        if resource.type in ARN_OF and not resource.read:
            action, arn_of = ARN_OF[resource.type]
            arn = arn_of(resource, account, region)
            context, other = _tag_context(stack, resource.type, arn)
            if resource.type == "aws:iam/role:Role":  # every role it creates carries the boundary
                context = {**context, "iam:PermissionsBoundary": permissions_boundary_arn(account, stack)}
            if other:
                assert decide(policy, me, action, arn, other) == "implicit", f"{action} on another environment's"
            assert decide(policy, me, action, arn, context) == "allow", f"{action} on {arn}"
            checked.add(resource.type)
    warehouse = {t for t in ARN_OF if "redshift" in t} | {"aws:lambda/invocation:Invocation"}
    assert checked == set(ARN_OF) or checked == set(ARN_OF) - warehouse  # a stack without the warehouse
    # ...and not what belongs to another environment or to nobody.
    other = "preprod" if stack == "dev" else "dev"
    assert decide(policy, me, "s3:CreateBucket", f"arn:aws:s3:::cb-{other}-sales-raw-1-{region}") == "implicit"
    assert decide(policy, me, "iam:CreateRole", f"arn:aws:iam::{account}:role/admin") == "implicit"
    own_role = f"arn:aws:iam::{account}:role/cloudbridge-deploy-{stack}"
    assert decide(policy, me, "iam:PutRolePolicy", own_role) == "implicit"


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_state_bucket_and_secrets_key_are_safe_and_kept(bootstraps, stack):
    plan = bootstraps[stack]
    bucket = plan.named("state", "aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.retain_on_delete
    key = plan.named("state-key", "aws:kms/key:Key")
    assert key.protect and key.given["enableKeyRotation"] is True
    versioning = plan.named("state-versioning", "aws:s3/bucketVersioning:BucketVersioning").given
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    encryption = plan.named("state-encryption").given["rules"][0]["applyServerSideEncryptionByDefault"]
    assert encryption == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.inputs["arn"]}
    lifecycle = {r["id"]: r for r in plan.named("state-lifecycle").given["rules"]}
    assert lifecycle["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    deny = json.loads(plan.named("state-policy").given["policy"])
    insecure = {"aws:SecureTransport": "false"}
    assert decide(deny, {"AWS": "x"}, "s3:GetObject", f"{bucket.inputs['arn']}/k", insecure) == "deny"
    alias = plan.named("state-key-alias", "aws:kms/alias:Alias").given["name"]
    region = CONFIGS[stack].region
    assert plan.outputs["secretsProvider"] == f"awskms://{alias}?region={region}"
    assert plan.outputs["backendUrl"] == f"s3://{bucket.given['bucket']}?region={region}"


def test_bootstrap_config_errors_name_the_key_and_not_the_value():
    with pytest.raises(BootstrapError) as info:
        parse("dev", {"account": "12", "region": "eu-west-2", "environment": "dev", "repository": "p@ss word"})
    text = str(info.value)
    assert "cloudbridge-bootstrap:account" in text and "cloudbridge-bootstrap:repository" in text
    assert "p@ss word" not in text and "bootstrap/Pulumi.dev.yaml" in text


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_every_bootstrap_value_is_one_aws_accepts(bootstraps, stack):
    from tests.support import aws_contract

    findings = aws_contract.check_plan(bootstraps[stack]).findings
    assert not findings, "\n".join(map(str, findings))
