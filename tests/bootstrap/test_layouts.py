"""One, two or three AWS accounts for dev, preprod and prod: each environment's bootstrap
run owns its own names, so runs in one account never collide, and GitHub's OIDC provider
(one per account) is created by exactly one of an account's stacks.

The layouts are written here, with the fixtures' values and with a fork's (another
account, region and repository), and judged by the same checks a team's own stacks get
(tests/support/bootstrap_checks.py)."""

import pytest
import yaml

from bootstrap.config import BUCKET_NAME_MAX, BootstrapError, parse
from cloudbridge.plan import BOOTSTRAP_ROOT, evaluate
from components.workspace import using
from tests.support import bootstrap_checks

ENVIRONMENTS = ["dev", "preprod", "prod"]
FIXTURE = {"accounts": ["111111111111", "222222222222", "333333333333"], "region": "eu-west-2",
           "repository": "example-org/cloudbridge"}  # fmt: skip
FORK = {"accounts": ["123456789012", "210987654321", "345678901234"], "region": "us-east-1",
        "repository": "acme/data-pipes"}  # fmt: skip
# Which of the values' accounts hosts each environment.
LAYOUTS = {"one account": [0, 0, 0], "two accounts": [0, 0, 1], "three accounts": [0, 1, 2]}
PROVIDER = "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com"


def write_layout(folder, values, layout, name_the_provider=True, **extra):
    """bootstrap/Pulumi.<env>.yaml per environment; with ``name_the_provider``, the first
    environment of each account creates GitHub's OIDC provider and the others name it."""
    seen = set()
    for env, index in zip(ENVIRONMENTS, LAYOUTS[layout], strict=True):
        account = values["accounts"][index]
        config = {
            "aws:region": values["region"],
            "cloudbridge-bootstrap:account": account,
            "cloudbridge-bootstrap:environment": env,
            "cloudbridge-bootstrap:repository": values["repository"],
            **{f"cloudbridge-bootstrap:{k}": v for k, v in extra.get(env, {}).items()},
        }
        if name_the_provider and account in seen:
            config["cloudbridge-bootstrap:existingOidcProviderArn"] = PROVIDER.format(account)
        seen.add(account)
        (folder / "bootstrap").mkdir(parents=True, exist_ok=True)
        (folder / "bootstrap" / f"Pulumi.{env}.yaml").write_text(yaml.safe_dump({"config": config}))
    return folder


def evaluate_in(folder, stack):
    with using(folder):
        return evaluate(stack, program=BOOTSTRAP_ROOT)


@pytest.mark.parametrize("values", [FIXTURE, FORK], ids=["fixture values", "fork values"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("check", ["config", "trust", "policies", "names"])
def test_every_layout_passes_every_check(tmp_path, layout, values, check):
    folder = write_layout(tmp_path, values, layout)
    problems = bootstrap_checks.CHECKS[check](folder)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_two_stacks_create_the_same_physical_name(tmp_path, layout):
    """Shown on what the plans declare: bucket, key alias, the deploy, preview and break-glass roles, the
    permissions boundary, and the provider only once per account."""
    folder = write_layout(tmp_path, FORK, layout)
    plans, configs = bootstrap_checks.plans(folder), bootstrap_checks.configs(folder)
    names = [n for stack, plan in plans.items() for n in bootstrap_checks.physical_names(plan, configs[stack])]
    assert len(names) == len(set(names)) == 6 * 3 + len(set(LAYOUTS[layout]))
    providers = [n for n in names if n[0] == "OIDC provider"]
    assert sorted(p[1] for p in providers) == sorted({FORK["accounts"][i] for i in LAYOUTS[layout]})
    for stack, plan in plans.items():  # each role trusts the provider of its own account
        trust, _ = bootstrap_checks.role_documents(plan, "deploy")
        assert trust["Statement"][0]["Principal"]["Federated"] == PROVIDER.format(configs[stack].account)


def test_the_second_stack_in_an_account_is_told_to_name_the_provider(tmp_path):
    folder = write_layout(tmp_path, FORK, "two accounts", name_the_provider=False)
    for stack in ("dev", "preprod"):
        with pytest.raises(BootstrapError) as info:
            evaluate_in(folder, stack)
        other = "preprod" if stack == "dev" else "dev"
        text = str(info.value)
        assert f"bootstrap/Pulumi.{stack}.yaml" in text and f"Pulumi.{other}.yaml" in text
        assert f"cloudbridge-bootstrap:existingOidcProviderArn: {PROVIDER.format(FORK['accounts'][0])}" in text
    # prod has its account to itself: it creates the provider and nothing is in its way.
    plan = evaluate_in(folder, "prod")
    assert plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert any("existingOidcProviderArn" in p for p in bootstrap_checks.config_problems(folder))


def test_names_in_one_account_carry_the_environment(tmp_path):
    folder = write_layout(tmp_path, FORK, "one account")
    account, region = FORK["accounts"][0], FORK["region"]
    for stack, plan in bootstrap_checks.plans(folder).items():
        assert plan.outputs["stateBucket"] == f"cb-pulumi-state-{stack}-{account}-{region}"
        assert plan.outputs["secretsProvider"] == f"awskms://alias/cb-pulumi-state-{stack}?region={region}"
        assert plan.outputs["previewRoleArn"] == f"arn:aws:iam::{account}:role/cloudbridge-preview-{stack}"
        creates = bool(plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"))
        assert creates == (stack == "dev") and plan.outputs["oidcProviderArn"] == PROVIDER.format(account)


def test_legacy_state_names_keep_a_first_release_bootstrap_once_per_account(tmp_path):
    alone = write_layout(tmp_path / "alone", FORK, "three accounts", prod={"legacyStateNames": True})
    plan = bootstrap_checks.plans(alone)["prod"]
    account, region = FORK["accounts"][2], FORK["region"]
    assert plan.outputs["stateBucket"] == f"cb-pulumi-state-{account}-{region}"
    assert plan.outputs["secretsProvider"] == f"awskms://alias/cb-pulumi-state?region={region}"
    shared = write_layout(
        tmp_path / "shared", FORK, "one account", dev={"legacyStateNames": True}, prod={"legacyStateNames": True}
    )
    with pytest.raises(BootstrapError, match="legacyStateNames: Pulumi.prod.yaml keep"):
        evaluate_in(shared, "dev")
    # One stack keeping the old names beside others with the new ones: nothing collides.
    joined = write_layout(tmp_path / "joined", FORK, "one account", prod={"legacyStateNames": True})
    for check in ("config", "names"):
        assert bootstrap_checks.CHECKS[check](joined) == []


def test_the_state_bucket_name_fits_the_longest_region_and_environment():
    import botocore.session

    session = botocore.session.get_session()
    regions = {r for p in session.get_available_partitions() for r in session.get_available_regions("s3", p)}
    longest = max(regions, key=len)
    raw = {"account": "123456789012", "region": longest, "environment": "abcdefghij", "repository": "acme/data-pipes"}
    config = parse("abcdefghij", raw)
    assert len(config.state_bucket) <= BUCKET_NAME_MAX
    with pytest.raises(BootstrapError, match="cloudbridge-bootstrap:region: the state bucket's name would exceed"):
        parse("abcdefghij", {**raw, "region": "ap-southeasternmost-extended-1"})


def test_the_provider_named_must_be_in_the_stacks_account_and_the_environment_is_the_stack(tmp_path):
    raw = {"account": "123456789012", "region": "us-east-1", "environment": "dev", "repository": "acme/data-pipes"}
    with pytest.raises(BootstrapError, match="existingOidcProviderArn: the provider must be in this stack's account"):
        parse("dev", {**raw, "existingOidcProviderArn": PROVIDER.format("999999999999")})
    folder = write_layout(tmp_path, FORK, "three accounts")
    text = (folder / "bootstrap" / "Pulumi.dev.yaml").read_text()
    (folder / "bootstrap" / "Pulumi.qa.yaml").write_text(text)  # a copy still saying dev
    with pytest.raises(BootstrapError, match="environment: must be the stack's name"):
        evaluate_in(folder, "qa")


IMMUTABLE = {env: {"immutableSubject": "acme@1000123/data-pipes@987654321"} for env in ENVIRONMENTS}


@pytest.mark.parametrize("check", ["config", "trust"])
def test_a_repository_with_immutable_subject_claims(tmp_path, check):
    """GitHub sends such a repository's ``repo`` claim with ids: the roles trust that spelling
    and refuse the bare name (a recycled name's token); the checks render tokens both ways."""
    folder = write_layout(tmp_path, FORK, "three accounts", **IMMUTABLE)
    assert bootstrap_checks.CHECKS[check](folder) == []
    config = bootstrap_checks.configs(folder)["prod"]
    tokens = bootstrap_checks.subjects(config, [])
    assert tokens["the name without its ids"][0] is None
    assert "repo:acme@1000123/data-pipes@987654321:environment:prod:" in tokens["deploy"][1]


def test_an_immutable_subject_must_name_the_repository(tmp_path):
    folder = write_layout(tmp_path, FORK, "three accounts", dev={"immutableSubject": "acme@1/other@2"})
    problems = bootstrap_checks.CHECKS["config"](folder)
    assert any("immutableSubject: must name the same owner and repository" in p for p in problems), problems
