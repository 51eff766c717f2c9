"""Typed config of one bootstrap stack (one AWS account = one CloudBridge environment)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from pydantic.alias_generators import to_camel

NAMESPACE = "cloudbridge-bootstrap"
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")


class BootstrapError(ValueError):
    """A bootstrap stack file value that is missing or invalid; the message names each key."""

    pass


class BootstrapConfig(BaseModel):
    """The bootstrap stack's config: account, region, environment, deploying repository, OIDC provider."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True)

    account: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    region: str
    environment: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,9}$")]
    # owner/name of the GitHub repository whose workflows deploy this account.
    repository: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,39}/[A-Za-z0-9_.-]{1,100}$")]
    # The account may already trust GitHub's OIDC issuer (one provider per URL per account).
    existing_oidc_provider_arn: str | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.match(value):
            raise ValueError("not an AWS region (like eu-west-2)")
        return value

    @field_validator("existing_oidc_provider_arn")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and not re.match(
            r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$", value
        ):
            raise ValueError("not the ARN of a token.actions.githubusercontent.com OIDC provider")
        return value

    @property
    def state_bucket(self) -> str:
        """The Pulumi state bucket's name: unique per account and region."""
        return f"cb-pulumi-state-{self.account}-{self.region}"

    @property
    def state_key_alias(self) -> str:
        """The alias of the KMS key that encrypts the state and the stack secrets."""
        return "alias/cb-pulumi-state"


def parse(stack: str, raw: dict[str, Any]) -> BootstrapConfig:
    """Validate a bootstrap stack's raw config; every problem is listed with its key."""
    try:
        return BootstrapConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  - {NAMESPACE}:{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise BootstrapError(
            f"invalid bootstrap config in bootstrap/Pulumi.{stack}.yaml:\n" + "\n".join(lines)
        ) from None


def load() -> BootstrapConfig:
    """The running bootstrap stack's config, validated."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    raw = {k: cfg.get(k) for k in ("account", "environment", "repository", "existingOidcProviderArn")}
    raw = {k: v for k, v in raw.items() if v is not None}
    raw["region"] = pulumi.Config("aws").get("region") or ""
    return parse(pulumi.get_stack(), raw)
