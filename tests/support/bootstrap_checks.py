"""Checks that must hold for ANY set of bootstrap stacks: the fixtures, the account layouts
the tests generate, or a team's own ``bootstrap/Pulumi.<stack>.yaml``.

Each check takes a stacks folder laid out like the repository (``<folder>/bootstrap/
Pulumi.<stack>.yaml``, and ``<folder>/Pulumi.<stack>.yaml`` for the CloudBridge stacks)
and returns problems as text, expecting nothing of the accounts, region, repository or
stack names a team chose — every expectation is derived from the stack files themselves:

config    every bootstrap stack file validates and fits beside the others (bootstrap/layout.py)
trust     the deploy role trusts only pulumi-up.yml on main in its own GitHub environment, the
          preview role only preview.yml of a pull request and drift.yml of main in
          ``preview-<env>``; no other stack's token, no pull request naming a deploy
          environment (with its own workflow or main's), no other branch, workflow, audience
          or identity provider is let in (the trust conditions evaluated on tokens whose
          ``sub`` is rendered as GitHub renders it under the repository's subject template)
policies  the deploy role: actions one by one, ``*`` only where AWS allows nothing narrower;
          the preview role writes only state locks, the stack's key (to load it) and the drift alert
names     no two stacks give AWS the same physical name (bucket, key alias, role, policy, OIDC provider),
          and no stack's roles reach another stack's state in the same account
program   every CloudBridge stack has a bootstrap stack of the same account and region (and DR region)
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
    ("DriftAlert", "sns:Publish"), ("DriftAlertKey", "kms:Decrypt"), ("DriftAlertKey", "kms:GenerateDataKey"),
    ("LoadStacks", "kms:Decrypt"), ("StateLocks", "s3:DeleteObject"), ("StateLocks", "s3:PutObject"),
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


def rendered_sub(
    repository: str,
    ref: str,
    workflow: str,
    environment: str | None = None,
    event: str = "push",
    keys: tuple[str, ...] = policies.SUBJECT_CLAIM_KEYS,
) -> str:
    """The ``sub`` GitHub gives a job, rendered from its claims as GitHub documents it, apart from
    the bootstrap's own code: ``key:value`` per template key, ``repo`` as ``repo:<owner>/<name>``,
    ``context`` as ``environment:<name>``, else ``pull_request``, else ``ref:<ref>``, and ``:`` in a
    value written ``%3A``. ``workflow`` is the ``job_workflow_ref`` claim (``<owner>/<name>/
    .github/workflows/<file>@<ref>``: the job's own workflow at the run's ref, or the reusable
    workflow it calls)."""
    if environment:
        context = f"environment:{environment.replace(':', '%3A')}"
    else:
        context = "pull_request" if event == "pull_request" else f"ref:{ref}"
    claims = {"repo": repository, "ref": ref, "job_workflow_ref": workflow, "environment": environment or ""}
    parts = [context if key == "context" else f"{key}:{claims[key].replace(':', '%3A')}" for key in keys]
    return ":".join(parts)


def workflow_at(repository: str, file: str, ref: str) -> str:
    """A ``job_workflow_ref``: ``file`` of ``repository``'s .github/workflows at ``ref``."""
    return f"{repository}/.github/workflows/{file}@{ref}"


PR = "refs/pull/7/merge"  # a pull request's run
MAIN = "refs/heads/main"


def subjects(config: BootstrapConfig, others: list[BootstrapConfig]) -> dict[str, tuple[str | None, str]]:
    """Tokens to try on a stack's roles, each with a label and the one role that must accept it
    (``None``: neither): its own deployment, preview and drift check, what a pull request could
    ask for, other branches, workflows and repositories, tokens before the subject template,
    and every other stack's."""
    repo, env = config.repository, config.environment
    deploy_env, preview_env = config.deploy_github_environment, config.preview_github_environment
    up, preview, drift = "pulumi-up.yml", "preview.yml", "drift.yml"

    def token(environment, ref, workflow, event="push", repository=config.subject_repository):
        return rendered_sub(repository, ref, workflow, environment, event)

    tried = {
        "deploy": ("deploy", token(deploy_env, MAIN, workflow_at(repo, up, MAIN))),
        "preview": ("preview", token(preview_env, PR, workflow_at(repo, preview, PR), "pull_request")),
        "drift": ("preview", token(preview_env, MAIN, workflow_at(repo, drift, MAIN), "schedule")),
        # A pull request may name any environment in its own workflows, or call main's deployment.
        "pull request naming the deploy environment": (
            None, token(deploy_env, PR, workflow_at(repo, preview, PR), "pull_request")),
        "pull request calling its own pulumi-up.yml": (
            None, token(deploy_env, PR, workflow_at(repo, up, PR), "pull_request")),
        "pull request calling main's pulumi-up.yml": (
            None, token(deploy_env, PR, workflow_at(repo, up, MAIN), "pull_request")),
        "pull_request without environment": (None, token(None, PR, workflow_at(repo, preview, PR), "pull_request")),
        "pulumi-up.yml of another branch": (None, token(deploy_env, MAIN, workflow_at(repo, up, "refs/heads/next"))),
        "push to another branch": (
            None, token(deploy_env, "refs/heads/next", workflow_at(repo, up, "refs/heads/next"))),
        "another workflow of main": (None, token(deploy_env, MAIN, workflow_at(repo, drift, MAIN))),
        "another repository's pulumi-up.yml": (
            None, token(deploy_env, MAIN, workflow_at(f"{repo}-fork", up, MAIN))),
        "main branch without environment": (None, token(None, MAIN, workflow_at(repo, up, MAIN))),
        "another workflow in a pull request": (
            None, token(preview_env, PR, workflow_at(repo, "ci.yml", PR), "pull_request")),
        "preview.yml pushed to a branch": (
            None, token(preview_env, "refs/heads/next", workflow_at(repo, preview, "refs/heads/next"))),
        "drift.yml run from a branch": (
            None, token(preview_env, "refs/heads/next", workflow_at(repo, drift, "refs/heads/next"))),
        "shared preview environment": (None, token("preview", PR, workflow_at(repo, preview, PR), "pull_request")),
        "another repository": (None, token(deploy_env, MAIN, workflow_at(repo, up, MAIN), repository=f"{repo}-fork")),
        "another environment": (None, token(f"{env}x", MAIN, workflow_at(repo, up, MAIN))),
        # With immutable subject claims GitHub sends ids: a name-only claim is another repository's (recycled name).
        "the name without its ids": (
            None if config.immutable_subject else "deploy",
            token(deploy_env, MAIN, workflow_at(repo, up, MAIN), repository=repo),
        ),
        # The default template (before the repository's subject template is set) names no workflow.
        "default-template deploy": (None, f"repo:{repo}:environment:{deploy_env}"),
        "default-template preview": (None, f"repo:{repo}:environment:{preview_env}"),
        "default-template pull_request": (None, f"repo:{repo}:pull_request"),
    }  # fmt: skip
    for other in others:
        tried[f"deploy of {other.environment}"] = (
            None,
            token(other.deploy_github_environment, MAIN, workflow_at(repo, up, MAIN)),
        )
        tried[f"preview of {other.environment}"] = (
            None,
            token(other.preview_github_environment, PR, workflow_at(repo, preview, PR), "pull_request"),
        )
    own = {sub for label, (_, sub) in tried.items() if label in ("deploy", "preview", "drift")}
    # a stack named like a probe is not a probe
    return {label: t for label, t in tried.items() if label in ("deploy", "preview", "drift") or t[1] not in own}


def trust_problems(folder: Path) -> list[str]:
    """Who may assume each stack's roles, decided by evaluating the trust policies."""
    found, known = [], configs(folder)
    for stack, plan in plans(folder).items():
        config = known[stack]
        github = {"Federated": plan.outputs["oidcProviderArn"]}
        tokens = subjects(config, [c for s, c in known.items() if s != stack])
        for role in ("deploy", "preview"):
            trust, _ = role_documents(plan, role)
            for label, (accepted_by, sub) in tokens.items():
                allowed = decide(trust, github, ASSUME, "role", github_token(sub)) == "allow"
                if allowed != (accepted_by == role):
                    found.append(f"{stack}: the {role} role {'accepts' if allowed else 'refuses'} the token: {label}")
            own = tokens[role][1]
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
        elif _dr_region(values) != config.dr_region:
            found.append(
                f"Pulumi.{stack}.yaml: cloudbridge:dr.region is {_dr_region(values)}, bootstrap/Pulumi.{stack}.yaml's "
                f"drRegion {config.dr_region}: the deploy role may deploy only where the bootstrap says"
            )
    return found


def _dr_region(values: dict) -> str | None:
    """The DR region a CloudBridge stack file turns on, if any."""
    dr = values.get("cloudbridge:dr") or {}
    return dr.get("region") if isinstance(dr, dict) and dr.get("enabled") else None


CHECKS: dict[str, Callable[[Path], list[str]]] = {
    "config": config_problems,
    "trust": trust_problems,
    "policies": policy_problems,
    "names": name_problems,
    "program": program_problems,
}
