"""The bootstrap program, evaluated under mocks per account: who may assume which role,
what each role may do, and that the deploy role covers exactly what the program declares."""

import json

import pytest

from bootstrap import policies
from cloudbridge.plan import BOOTSTRAP_ROOT, evaluate, read_stack_config, stacks
from tests.support.iam_eval import decide

BOOTSTRAP_STACKS = stacks(BOOTSTRAP_ROOT)
REPO = "example-org/cloudbridge"


@pytest.fixture(scope="module")
def bootstraps():
    return {stack: evaluate(stack, program=BOOTSTRAP_ROOT) for stack in BOOTSTRAP_STACKS}


@pytest.fixture(scope="module")
def programs():
    return {stack: evaluate(stack) for stack in BOOTSTRAP_STACKS}


def role(plan, name):
    resource = plan.named(f"{name}-role", "aws:iam/role:Role")
    policy = plan.named(f"{name}-role-policy", "aws:iam/rolePolicy:RolePolicy")
    return json.loads(resource.given["assumeRolePolicy"]), json.loads(policy.given["policy"])


def token(sub, aud="sts.amazonaws.com"):
    host = policies.GITHUB_OIDC_HOST
    return {f"{host}:sub": sub, f"{host}:aud": aud}


def test_every_account_of_the_program_has_a_bootstrap():
    assert BOOTSTRAP_STACKS == stacks() == ["dev", "preprod", "prod"]
    for stack in BOOTSTRAP_STACKS:
        program = read_stack_config(stack)["cloudbridge:account"]["id"]
        assert read_stack_config(stack, BOOTSTRAP_ROOT)["cloudbridge-bootstrap:account"] == program


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_only_the_environment_may_deploy_and_only_the_preview_environment_may_preview(bootstraps, stack):
    plan = bootstraps[stack]
    provider = plan.named("github", "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.given["url"] == "https://token.actions.githubusercontent.com"
    assert provider.given["clientIdLists"] == ["sts.amazonaws.com"]
    github = {"Federated": provider.inputs["arn"]}
    deploy_trust, _ = role(plan, "deploy")
    preview_trust, _ = role(plan, "preview")
    action, arn = "sts:AssumeRoleWithWebIdentity", "role"

    def may(trust, sub, aud="sts.amazonaws.com", who=github):
        return decide(trust, who, action, arn, token(sub, aud)) == "allow"

    own_env = f"repo:{REPO}:environment:{stack}"
    assert may(deploy_trust, own_env)
    for sub in (f"repo:{REPO}:environment:preview", f"repo:{REPO}:pull_request", f"repo:{REPO}:environment:other",
                f"repo:other-org/cloudbridge:environment:{stack}", f"repo:{REPO}:ref:refs/heads/feature"):  # fmt: skip
        assert not may(deploy_trust, sub), sub
    assert not may(deploy_trust, own_env, aud="sigstore")
    assert not may(deploy_trust, own_env, who={"Federated": "arn:aws:iam::999999999999:oidc-provider/x"})
    # Previews of pull requests and the drift check run in the `preview` environment.
    assert may(preview_trust, f"repo:{REPO}:environment:preview")
    assert not may(preview_trust, own_env) and not may(preview_trust, "repo:other-org/cloudbridge:environment:preview")


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_deploy_role_has_no_wildcard_actions_and_unscoped_resources_only_where_aws_allows_nothing_narrower(
    bootstraps, stack
):
    from policy_sentry.querying.actions import get_action_data

    _, policy = role(bootstraps[stack], "deploy")
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            assert "*" not in action, action
            service, name = action.split(":")
            assert get_action_data(service, name), f"{action} is not an IAM action"
        if "*" in statement["Resource"]:
            unexplained = [
                a for a in statement["Action"] if a not in policies.UNSCOPED and "Condition" not in statement
            ]
            assert unexplained == [], f"{statement['Sid']}: {unexplained} on * without a reason or condition"
        else:
            for resource in statement["Resource"]:
                assert resource != "*" and not resource.endswith(":*:*:*"), resource
    iam_statements = [s for s in policy["Statement"] if any(a.startswith("iam:") for a in s["Action"])]
    for statement in iam_statements:  # never iam:* on arbitrary roles
        for resource in statement["Resource"]:
            assert (
                resource == "*"
                and statement["Action"] == ["iam:ListRoles"]
                or f"role/cb-{stack}-" in resource
                or "role/dms-" in resource
                or resource.endswith(
                    (
                        "/aws-service-role/dms.amazonaws.com/AWSServiceRoleForDMSServerless",
                        "/aws-service-role/redshift.amazonaws.com/AWSServiceRoleForRedshift",
                    )
                )
            ), resource


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_preview_role_reads_and_writes_only_locks_and_the_drift_alert(bootstraps, stack):
    from policy_sentry.querying.actions import get_action_data

    _, policy = role(bootstraps[stack], "preview")
    writes = []
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            service, name = action.split(":")
            data = get_action_data(service, name)
            assert data, action
            level = data[service][0]["access_level"]
            if level not in ("Read", "List"):
                writes.append((statement["Sid"], action))
    assert sorted(writes) == [
        ("DriftAlert", "sns:Publish"), ("LoadStacks", "kms:Decrypt"),
        ("StateLocks", "s3:DeleteObject"), ("StateLocks", "s3:PutObject"),
    ]  # fmt: skip
    locks = next(s for s in policy["Statement"] if s["Sid"] == "StateLocks")
    assert all(r.endswith("/.pulumi/locks/*") for r in locks["Resource"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not {a for a in actions if a.startswith("sts:Assume")}, "the preview role cannot become another role"
    assert "secretsmanager:GetSecretValue" not in actions and "lambda:InvokeFunction" not in actions
    assert not any(s["Resource"] == ["*"] and "s3:GetObject" in s["Action"] for s in policy["Statement"])


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


@pytest.mark.parametrize("stack", BOOTSTRAP_STACKS)
def test_the_deploy_role_may_create_what_the_program_declares(bootstraps, programs, stack):
    _, policy = role(bootstraps[stack], "deploy")
    account = read_stack_config(stack)["cloudbridge:account"]["id"]
    region = read_stack_config(stack)["aws:region"]
    me = {"AWS": f"arn:aws:iam::{account}:role/cloudbridge-deploy-{stack}"}
    checked = set()
    for resource in programs[stack].resources:
        if resource.type in ARN_OF and not resource.read:
            action, arn_of = ARN_OF[resource.type]
            arn = arn_of(resource, account, region)
            context = {}
            if resource.type in TAGGED_TYPES:
                tag = (
                    "aws:RequestTag/cloudbridge:environment"
                    if arn == "*"
                    else "aws:ResourceTag/cloudbridge:environment"
                )
                context = {tag: stack}
                other = {tag: "dev" if stack != "dev" else "preprod"}
                assert decide(policy, me, action, arn, other) == "implicit", f"{action} on another environment's"
            assert decide(policy, me, action, arn, context) == "allow", f"{action} on {arn}"
            checked.add(resource.type)
    warehouse = {t for t in ARN_OF if "redshift" in t} | {"aws:lambda/invocation:Invocation"}
    assert checked == set(ARN_OF) or checked == set(ARN_OF) - warehouse  # a stack without the warehouse
    # ...and not what belongs to another environment or to nobody.
    other = "preprod" if stack == "dev" else "dev"
    assert decide(policy, me, "s3:CreateBucket", f"arn:aws:s3:::cb-{other}-sales-raw-1-eu-west-2") == "implicit"
    assert decide(policy, me, "iam:CreateRole", f"arn:aws:iam::{account}:role/admin") == "implicit"
    assert (
        decide(policy, me, "iam:PutRolePolicy", f"arn:aws:iam::{account}:role/cloudbridge-deploy-{stack}") == "implicit"
    )


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
    assert (
        decide(deny, {"AWS": "x"}, "s3:GetObject", f"{bucket.inputs['arn']}/k", {"aws:SecureTransport": "false"})
        == "deny"
    )
    assert plan.outputs["secretsProvider"] == "awskms://alias/cb-pulumi-state?region=eu-west-2"
    assert plan.outputs["backendUrl"] == f"s3://{bucket.given['bucket']}?region=eu-west-2"


def test_bootstrap_config_errors_name_the_key_and_not_the_value():
    from bootstrap.config import BootstrapError, parse

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
