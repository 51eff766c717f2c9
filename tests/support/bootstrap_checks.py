"""Checks that must hold for ANY set of bootstrap stacks: the fixtures, the account layouts
the tests generate, or a team's own ``bootstrap/Pulumi.<stack>.yaml``.

Each check takes a stacks folder laid out like the repository (``<folder>/bootstrap/
Pulumi.<stack>.yaml``, and ``<folder>/Pulumi.<stack>.yaml`` for the CloudBridge stacks)
and returns problems as text, expecting nothing of the accounts, region, repository or
stack names a team chose — every expectation is derived from the stack files themselves:

config    every bootstrap stack file validates and fits beside the others (bootstrap/layout.py)
trust     the deploy role trusts only its own GitHub environment, the preview role only
          ``preview-<env>``; no other stack's token, no pull_request or branch token, no
          other audience or identity provider is let in (the trust conditions evaluated)
policies  the deploy role: actions one by one, ``*`` only where AWS allows nothing narrower;
          the preview role writes only state locks, the stack's key (to load it) and the drift alert
names     no two stacks give AWS the same physical name (bucket, key alias, role, policy, OIDC provider),
          and no stack's roles reach another stack's state in the same account
program   every CloudBridge stack has a bootstrap stack of the same account and region
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import yaml

from bootstrap import policies
from bootstrap.config import BootstrapConfig, BootstrapError, parse, raw_config
from bootstrap.layout import problems as layout_problems
from cloudbridge.plan import BOOTSTRAP_ROOT, Plan, evaluate, stacks
from components.workspace import using
from tests.support.iam_eval import decide

ASSUME = "sts:AssumeRoleWithWebIdentity"
# Writes the preview role may make: Pulumi's lock objects, loading the stack, the drift alert.
PREVIEW_WRITES = [
    ("DriftAlert", "sns:Publish"), ("LoadStacks", "kms:Decrypt"),
    ("StateLocks", "s3:DeleteObject"), ("StateLocks", "s3:PutObject"),
]  # fmt: skip


def bootstrap_stacks(folder: Path) -> list[str]:
    """The bootstrap stacks of ``folder``."""
    with using(folder):
        return stacks(BOOTSTRAP_ROOT)


def configs(folder: Path) -> dict[str, BootstrapConfig]:
    """Each valid bootstrap stack's config, read from its file."""
    found = {}
    for stack in bootstrap_stacks(folder):
        text = (folder / "bootstrap" / f"Pulumi.{stack}.yaml").read_text()
        try:
            found[stack] = parse(stack, raw_config((yaml.safe_load(text) or {}).get("config") or {}))
        except BootstrapError:
            continue
    return found


@functools.cache
def _evaluated(folder: Path, stack: str) -> Plan:
    with using(folder):
        return evaluate(stack, program=BOOTSTRAP_ROOT)


def plans(folder: Path) -> dict[str, Plan]:
    """Every bootstrap stack of ``folder`` evaluated under mocks (cached per folder and stack)."""
    return {stack: _evaluated(folder.resolve(), stack) for stack in bootstrap_stacks(folder)}


def config_problems(folder: Path) -> list[str]:
    """Stack files that do not validate, evaluate, or fit beside each other."""
    found = []
    for stack in bootstrap_stacks(folder):
        try:
            _evaluated(folder.resolve(), stack)
        except BootstrapError as exc:
            found.append(str(exc))
    for stack, lines in layout_problems(configs(folder)).items():
        found += [f"Pulumi.{stack}.yaml: {line}" for line in lines]
    return sorted(set(found))


def role_documents(plan: Plan, name: str) -> tuple[dict, dict]:
    """A bootstrap role's trust policy and its inline policy."""
    role = plan.named(f"{name}-role", "aws:iam/role:Role")
    policy = plan.named(f"{name}-role-policy", "aws:iam/rolePolicy:RolePolicy")
    return json.loads(role.given["assumeRolePolicy"]), json.loads(policy.given["policy"])


def github_token(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    """The request context of AssumeRoleWithWebIdentity with a GitHub Actions token."""
    host = policies.GITHUB_OIDC_HOST
    return {f"{host}:sub": sub, f"{host}:aud": aud}


def subjects(config: BootstrapConfig, others: list[BootstrapConfig]) -> dict[str, str]:
    """Tokens to try on a stack's roles: its own two environments', every other stack's, and
    tokens no role may accept, each with a label."""
    repo, env = config.repository, config.environment
    tried = {
        "deploy": policies.github_subject(repo, config.deploy_github_environment),
        "preview": policies.github_subject(repo, config.preview_github_environment),
        "pull_request": f"repo:{repo}:pull_request",
        "main branch": f"repo:{repo}:ref:refs/heads/main",
        "shared preview environment": policies.github_subject(repo, "preview"),
        "another repository": policies.github_subject(f"{repo}-fork", env),
        "another environment": policies.github_subject(repo, f"{env}x"),
    }
    for other in others:
        tried[f"deploy of {other.environment}"] = policies.github_subject(repo, other.deploy_github_environment)
        tried[f"preview of {other.environment}"] = policies.github_subject(repo, other.preview_github_environment)
    own = {tried["deploy"], tried["preview"]}  # a stack named like a probe is not a probe
    return {label: sub for label, sub in tried.items() if label in ("deploy", "preview") or sub not in own}


def trust_problems(folder: Path) -> list[str]:
    """Who may assume each stack's roles, decided by evaluating the trust policies."""
    found, known = [], configs(folder)
    for stack, plan in plans(folder).items():
        config = known[stack]
        github = {"Federated": plan.outputs["oidcProviderArn"]}
        tokens = subjects(config, [c for s, c in known.items() if s != stack])
        for role in ("deploy", "preview"):
            trust, _ = role_documents(plan, role)
            for label, sub in tokens.items():
                allowed = decide(trust, github, ASSUME, "role", github_token(sub)) == "allow"
                if allowed != (label == role):
                    found.append(f"{stack}: the {role} role {'accepts' if allowed else 'refuses'} a {label} token")
            own = tokens[role]
            if decide(trust, github, ASSUME, "role", github_token(own, aud="sigstore")) == "allow":
                found.append(f"{stack}: the {role} role accepts a token for another audience")
            stranger = {"Federated": "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com"}
            if decide(trust, stranger, ASSUME, "role", github_token(own)) == "allow":
                found.append(f"{stack}: the {role} role trusts another account's identity provider")
    return found


def _deploy_policy_problems(stack: str, policy: dict) -> list[str]:
    """Wildcard actions, unknown actions, and ``*`` resources without a reason or condition."""
    from policy_sentry.querying.actions import get_action_data

    found = []
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            service, name = action.split(":")
            if "*" in action or not get_action_data(service, name):
                found.append(f"{stack}: deploy role: {action} is a wildcard or no IAM action")
        if "*" in statement["Resource"] and "Condition" not in statement:
            unexplained = [a for a in statement["Action"] if a not in policies.UNSCOPED]
            found += [f"{stack}: deploy role: {a} on * without a reason or condition" for a in unexplained]
        elif "*" not in statement["Resource"]:
            found += [
                f"{stack}: deploy role: {statement['Sid']} on an unscoped resource {r}"
                for r in statement["Resource"]
                if r.endswith(":*:*:*")
            ]
    return found


def _preview_policy_problems(stack: str, policy: dict) -> list[str]:
    """Anything the preview role may do beyond reading, locking the state and the drift alert."""
    from policy_sentry.querying.actions import get_action_data

    writes, found = [], []
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            service, name = action.split(":")
            data = get_action_data(service, name)
            if not data:
                found.append(f"{stack}: preview role: {action} is no IAM action")
            elif data[service][0]["access_level"] not in ("Read", "List"):
                writes.append((statement["Sid"], action))
        if statement["Sid"] == "StateLocks" and not all(r.endswith("/.pulumi/locks/*") for r in statement["Resource"]):
            found.append(f"{stack}: preview role: state writes beyond the lock objects")
    if sorted(writes) != PREVIEW_WRITES:
        found.append(f"{stack}: preview role writes {sorted(writes)}")
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    for forbidden in ("sts:AssumeRole", "secretsmanager:GetSecretValue", "lambda:InvokeFunction"):
        if forbidden in actions:
            found.append(f"{stack}: preview role may {forbidden}")
    return found


def policy_problems(folder: Path) -> list[str]:
    """What each stack's deploy and preview roles may do beyond what they need."""
    found = []
    for stack, plan in plans(folder).items():
        found += _deploy_policy_problems(stack, role_documents(plan, "deploy")[1])
        found += _preview_policy_problems(stack, role_documents(plan, "preview")[1])
    return found


def physical_names(plan: Plan, config: BootstrapConfig) -> set[tuple[str, ...]]:
    """The names a bootstrap plan gives AWS, scoped as AWS scopes them (read from what it declares)."""
    names: set[tuple[str, ...]] = set()
    for bucket in plan.of_type("aws:s3/bucket:Bucket"):
        names.add(("S3 bucket", bucket.given["bucket"]))
    for alias in plan.of_type("aws:kms/alias:Alias"):
        names.add(("KMS alias", config.account, config.region, alias.given["name"]))
    for role in plan.of_type("aws:iam/role:Role"):
        names.add(("IAM role", config.account, role.given["name"]))
    for policy in plan.of_type("aws:iam/policy:Policy"):  # managed policies: account-wide names too
        names.add(("IAM policy", config.account, policy.given["name"]))
    for provider in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
        names.add(("OIDC provider", config.account, provider.given["url"]))
    return names


def _reach_problems(stack: str, plan: Plan, other: str, other_plan: Plan) -> list[str]:
    """A stack's roles must not write another stack's state or resources, nor read its state."""
    bucket = other_plan.named("state", "aws:s3/bucket:Bucket").given["bucket"]
    found = []
    for role in ("deploy", "preview"):
        _, policy = role_documents(plan, role)
        me = {"AWS": f"arn:aws:iam::000000000000:role/{stack}-{role}"}
        for action, arn in (
            ("s3:GetObject", f"arn:aws:s3:::{bucket}/.pulumi/stacks/x.json"),
            ("s3:PutObject", f"arn:aws:s3:::{bucket}/.pulumi/locks/x.json"),
            ("s3:CreateBucket", f"arn:aws:s3:::cb-{other}-sales-raw"),
        ):
            if decide(policy, me, action, arn) != "implicit":
                found.append(f"{stack}: the {role} role may {action} on {other}'s {arn}")
    return found


def name_problems(folder: Path) -> list[str]:
    """Physical names two stacks share, and roles that reach another stack's state."""
    known, evaluated = configs(folder), plans(folder)
    owners: dict[tuple[str, ...], list[str]] = {}
    for stack, plan in evaluated.items():
        for name in physical_names(plan, known[stack]):
            owners.setdefault(name, []).append(stack)
    found = [f"{' and '.join(s)} both create {' '.join(n)}" for n, s in sorted(owners.items()) if len(s) > 1]
    for stack, plan in evaluated.items():
        for other, other_plan in evaluated.items():
            if other != stack:
                found += _reach_problems(stack, plan, other, other_plan)
    return found


def program_problems(folder: Path) -> list[str]:
    """CloudBridge stacks without a bootstrap stack of the same account and region."""
    known, found = configs(folder), []
    with using(folder):
        program_stacks = stacks()
    for stack in program_stacks:
        values = (yaml.safe_load((folder / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {}
        account = (values.get("cloudbridge:account") or {}).get("id")
        config = known.get(stack)
        if config is None:
            found.append(f"Pulumi.{stack}.yaml: no valid bootstrap/Pulumi.{stack}.yaml")
        elif (config.account, config.region) != (str(account), values.get("aws:region")):
            found.append(f"Pulumi.{stack}.yaml: another account or region than bootstrap/Pulumi.{stack}.yaml")
    return found


CHECKS: dict[str, Callable[[Path], list[str]]] = {
    "config": config_problems,
    "trust": trust_problems,
    "policies": policy_problems,
    "names": name_problems,
    "program": program_problems,
}
