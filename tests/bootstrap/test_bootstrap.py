"""The bootstrap program, evaluated under mocks: who may assume which role, what each role
may do, that the deploy role covers exactly what the program declares, and that one, two
or three AWS accounts may host dev, preprod and prod without two runs colliding.

Every expectation is derived from the stack files evaluated — the fixtures
(tests/fixtures/stacks/bootstrap) or layouts written here — never from a team's own
bootstrap/Pulumi.*.yaml (tests/support/bootstrap_checks.py holds the checks that must hold
for those too)."""

import json
import re

import pytest

from bootstrap import policies
from bootstrap.config import BootstrapError, parse
from cloudbridge.plan import BOOTSTRAP_ROOT, PROJECT_ROOT, evaluate, read_stack_config, stacks
from components.naming import permissions_boundary_arn
from components.workspace import FIXTURE_STACKS
from tests.support import bootstrap_checks
from tests.support.bootstrap_checks import MAIN, github_token, rendered_sub, role_documents, workflow_at
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
    pr = "refs/pull/12/merge"
    tokens = {
        "preview-dev": rendered_sub(repo, pr, workflow_at(repo, "preview.yml", pr), "preview-dev", "pull_request"),
        "preview-preprod": rendered_sub(
            repo, pr, workflow_at(repo, "preview.yml", pr), "preview-preprod", "pull_request"),
        "pull_request": rendered_sub(repo, pr, workflow_at(repo, "preview.yml", pr), event="pull_request"),
        "dev": rendered_sub(repo, MAIN, workflow_at(repo, "pulumi-up.yml", MAIN), "dev"),
    }  # fmt: skip
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


def test_the_deploy_role_trusts_the_reusable_deployment_on_main_only(bootstraps):
    """The deploy role of prod trusts one subject: pulumi-up.yml as it is on main, in a run of
    main, in the environment prod. A pull request naming prod (with its own workflow, or calling
    main's pulumi-up.yml) and pulumi-up.yml of another branch are refused; the right one is not."""
    config, plan = CONFIGS["prod"], bootstraps["prod"]
    repo, pr, branch = config.repository, "refs/pull/12/merge", "refs/heads/next"
    trust, _ = role_documents(plan, "deploy")
    github = {"Federated": plan.outputs["oidcProviderArn"]}

    def may(sub):
        return decide(trust, github, ASSUME, "role", github_token(sub)) == "allow"

    sub = f"repo:{repo}:environment:prod:ref:{MAIN}:job_workflow_ref:{repo}/.github/workflows/pulumi-up.yml@{MAIN}"
    assert rendered_sub(repo, MAIN, workflow_at(repo, "pulumi-up.yml", MAIN), "prod") == sub
    assert trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [sub]
    assert may(sub)
    assert not may(rendered_sub(repo, pr, workflow_at(repo, "preview.yml", pr), "prod", "pull_request"))
    assert not may(rendered_sub(repo, pr, workflow_at(repo, "evil.yml", pr), "prod", "pull_request"))
    assert not may(rendered_sub(repo, pr, workflow_at(repo, "pulumi-up.yml", MAIN), "prod", "pull_request"))
    assert not may(rendered_sub(repo, MAIN, workflow_at(repo, "pulumi-up.yml", branch), "prod"))
    assert not may(rendered_sub(repo, branch, workflow_at(repo, "pulumi-up.yml", branch), "prod"))
    assert not may(f"repo:{repo}:environment:prod")  # the default template: no workflow named


def test_the_documented_subject_template_is_the_one_the_roles_trust():
    """docs/deploying.md sets the repository's template with one gh api command; its claim keys
    are those the trust policies are written for (bootstrap/policies.py)."""
    text = (PROJECT_ROOT / "docs" / "deploying.md").read_text()
    commands = re.findall(
        r"gh api -X PUT \"repos/\{owner\}/\{repo\}/actions/oidc/customization/sub\"[^\n]*\n[^\n]*", text
    )
    assert len(commands) == 1, commands
    body = json.loads(re.search(r"'(\{.*\})'", commands[0]).group(1))
    assert body == {"use_default": False, "include_claim_keys": list(policies.SUBJECT_CLAIM_KEYS)}


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_drift_check_may_publish_its_alert_on_the_encrypted_topic(bootstraps, stack):
    """The alerts topic is encrypted with the stack's key (tagged with its environment, its key
    policy delegating to the account's IAM): the preview role may publish, and use that key
    through SNS only: not directly, not another environment's key."""
    config = CONFIGS[stack]
    _, policy = role_documents(bootstraps[stack], "preview")
    me = {"AWS": f"arn:aws:iam::{config.account}:role/cloudbridge-preview-{stack}"}
    topic = f"arn:aws:sns:{config.region}:{config.account}:cb-{stack}-alerts"
    key = f"arn:aws:kms:{config.region}:{config.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    tagged = {"aws:ResourceTag/cloudbridge:environment": stack}
    via_sns = {**tagged, "kms:ViaService": f"sns.{config.region}.amazonaws.com"}
    assert decide(policy, me, "sns:Publish", topic) == "allow"
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert decide(policy, me, action, key, via_sns) == "allow", action
        assert decide(policy, me, action, key, tagged) == "implicit", f"{action} outside SNS"
        assert decide(policy, me, action, key, {**via_sns, "kms:ViaService": "s3.amazonaws.com"}) == "implicit"
        other = {**via_sns, "aws:ResourceTag/cloudbridge:environment": "preprod" if stack != "preprod" else "dev"}
        assert decide(policy, me, action, key, other) == "implicit", f"{action} on another environment's key"
    assert decide(policy, me, "kms:Encrypt", key, via_sns) == "implicit"


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_topic_key_is_tagged_and_lets_the_accounts_iam_grant_its_use(programs, stack):
    """The IAM grant above suffices only while the program's key (components/platform.py) carries
    the environment tag and its key policy delegates use of the key to the account's IAM; were
    either to change, the preview role would need a statement in the key policy."""
    account = read_stack_config(stack)["cloudbridge:account"]["id"]
    program = programs[stack]  # the stack region's alerts topic (a DR region has its own: test_dr.py)
    [topic] = [
        r
        for r in program.of_type("aws:sns/topic:Topic")
        if r.given["name"].endswith("-alerts") and program.region_of(r) == program.home_region
    ]
    keys = programs[stack].of_type("aws:kms/key:Key")
    [key] = [r for r in keys if r.inputs["arn"] == topic.given["kmsMasterKeyId"]]
    [provider] = [r for r in programs[stack].of_type("pulumi:providers:aws") if key.provider.startswith(r.urn + "::")]
    default_tags = provider.given["defaultTags"]  # provider inputs arrive as JSON text
    default_tags = json.loads(default_tags) if isinstance(default_tags, str) else default_tags
    tags = {**default_tags["tags"], **key.given["tags"]}  # as AWS gets them: tags_all
    assert tags["cloudbridge:environment"] == stack
    root = {"AWS": f"arn:aws:iam::{account}:root"}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert decide(json.loads(key.given["policy"]), root, action, "*") == "allow", action


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
