"""How the bootstrap stacks of one repository share AWS accounts.

One account may host one, two or three environments. Each environment's bootstrap run is
its own Pulumi stack and cannot see what the others declare, so before any resource is
declared the running stack is checked against its sibling stack files
(``bootstrap/Pulumi.<stack>.yaml``): no two stacks may give AWS the same physical name —
state bucket, key alias, role, or GitHub's OIDC provider, which exists once per account
and so is created by exactly one of the account's stacks while the others name it in
``existingOidcProviderArn``. That is a config error rather than a silent default: which
stack owns the provider is a choice the team writes down, not one the order of runs makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bootstrap.config import NAMESPACE, BootstrapConfig, BootstrapError, parse, raw_config


def stack_files(folder: Path) -> dict[str, Path]:
    """The bootstrap stack files in ``folder``, by stack name."""
    return {p.name[len("Pulumi.") : -len(".yaml")]: p for p in sorted(folder.glob("Pulumi.*.yaml"))}


def read_configs(folder: Path) -> dict[str, BootstrapConfig]:
    """The valid bootstrap configs in ``folder`` (an invalid one is reported when it runs itself)."""
    configs = {}
    for stack, path in stack_files(folder).items():
        values: dict[str, Any] = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        try:
            configs[stack] = parse(stack, raw_config(values))
        except BootstrapError:
            continue
    return configs


def physical_names(config: BootstrapConfig) -> dict[tuple[str, ...], str]:
    """Every name the stack gives AWS, scoped as AWS scopes it, with the config key that decides it."""
    account, region = config.account, config.region
    names: dict[tuple[str, ...], str] = {
        ("S3 bucket", config.state_bucket): "legacyStateNames" if config.legacy_state_names else "environment",
        ("KMS alias", account, region, config.state_key_alias): (
            "legacyStateNames" if config.legacy_state_names else "environment"
        ),
        ("IAM role", account, config.deploy_role_name): "environment",
        ("IAM role", account, config.preview_role_name): "environment",
        ("IAM role", account, config.break_glass_role_name): "environment",
    }
    if config.creates_oidc_provider:
        names[("GitHub OIDC provider", account)] = "existingOidcProviderArn"
    return names


def problems(configs: Mapping[str, BootstrapConfig]) -> dict[str, list[str]]:
    """Per stack, what its layout gets wrong: ``<key>: <message>`` lines, each naming the fix."""
    found: dict[str, list[str]] = {stack: [] for stack in configs}
    owners: dict[tuple[str, ...], list[str]] = {}
    for stack, config in configs.items():
        if config.environment != stack:
            found[stack].append(
                "environment: must be the stack's name (the GitHub environments and the CloudBridge stack carry it)"
            )
        for name in physical_names(config):
            owners.setdefault(name, []).append(stack)
    for name, stacks in owners.items():
        for stack in stacks if len(stacks) > 1 else ():
            others = ", ".join(f"Pulumi.{s}.yaml" for s in stacks if s != stack)
            found[stack].append(_collision(name, physical_names(configs[stack])[name], others, configs[stack]))
    return found


def _collision(name: tuple[str, ...], key: str, others: str, config: BootstrapConfig) -> str:
    """The message for a name another stack gives AWS too, naming the fix."""
    if name[0] == "GitHub OIDC provider":
        return (
            f"{key}: {others} also create(s) GitHub's OIDC provider in account {config.account}, which AWS "
            f"allows once per account: exactly one of these stacks creates it (bootstrap that one first); "
            f"set {NAMESPACE}:{key}: {config.oidc_provider_arn} in the others"
        )
    if key == "legacyStateNames":
        return f"{key}: {others} keep(s) the same names in this account and region: only one stack there may keep them"
    return f"{key}: {name[0]} {name[-1]} is also declared by {others} in the same account"


def check(stack: str, config: BootstrapConfig, folder: Path | None = None) -> None:
    """Raise BootstrapError if the running stack collides with a sibling (``folder``: its stack files)."""
    from components.workspace import stacks_dir

    configs = read_configs(folder or stacks_dir() / "bootstrap")
    configs[stack] = config  # the running stack's own values, as Pulumi gave them
    mine = problems(configs)[stack]
    if mine:
        raise BootstrapError(
            f"bootstrap/Pulumi.{stack}.yaml does not fit beside the other bootstrap stacks:\n"
            + "\n".join(f"  - {NAMESPACE}:{line}" for line in mine)
        )
