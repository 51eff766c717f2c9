"""Typed config of one bootstrap stack: one CloudBridge environment in an AWS account.

An account may host one environment or several (dev, preprod and prod in one account, or
dev and preprod in one and prod in another): every name the bootstrap gives AWS carries
the environment, so each environment's run owns its own state bucket, key alias and
roles. GitHub's OIDC provider is the one exception (one per URL per account): all but one
of an account's bootstrap stacks name it with ``existingOidcProviderArn``
(``bootstrap/layout.py`` checks that against the sibling stack files).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

NAMESPACE = "cloudbridge-bootstrap"
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):oidc-provider/token\.actions\.githubusercontent\.com$"
)
BUCKET_NAME_MAX = 63  # S3's limit on a bucket name
# The unprotected GitHub environment whose jobs preview and drift-check one stack.
PREVIEW_ENVIRONMENT_PREFIX = "preview-"


# The ``repo`` claim of a repository with immutable subject claims: owner@id/name@id.
IMMUTABLE_SUBJECT = r"^([A-Za-z0-9_.-]{1,39})@(\d{1,20})/([A-Za-z0-9_.-]{1,100})@(\d{1,20})$"


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
    # Repositories with GitHub's immutable subject claims (new repositories from 15 July 2026,
    # or opted in) send the ``repo`` claim as ``<owner>@<owner-id>/<name>@<repo-id>``: the trust
    # must spell it so. ``gh api repos/<owner>/<name> --jq '"\(.owner.login)@\(.owner.id)/\(.name)@\(.id)"'``
    immutable_subject: Annotated[str, StringConstraints(pattern=IMMUTABLE_SUBJECT)] | None = None
    # The account may already trust GitHub's OIDC issuer (one provider per URL per account):
    # created outside CloudBridge, or by another environment's bootstrap in the same account.
    existing_oidc_provider_arn: str | None = None
    # Bootstraps made before names carried the environment keep their state bucket and key
    # alias (cb-pulumi-state-<account>-<region>, alias/cb-pulumi-state): renaming them would
    # replace protected resources. Other environments may join the account with the new
    # names; two stacks keeping the old ones in one account and region would collide.
    legacy_state_names: bool = False
    # The region the CloudBridge stack replicates its system of record to (its cloudbridge:dr.region):
    # the deploy role may then manage the program's resources there too, and only there.
    dr_region: str | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.match(value):
            raise ValueError("not an AWS region (like eu-west-2)")
        return value

    @field_validator("dr_region")
    @classmethod
    def _dr_region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.match(value):
            raise ValueError("not an AWS region (like eu-west-1)")
        return value

    @model_validator(mode="after")
    def _dr_region_is_another(self) -> BootstrapConfig:
        if self.dr_region is not None and self.dr_region == self.region:
            raise ValueError("drRegion: must be another region than aws:region")
        return self

    @field_validator("existing_oidc_provider_arn")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and not OIDC_PROVIDER_ARN.match(value):
            raise ValueError("not the ARN of a token.actions.githubusercontent.com OIDC provider")
        return value

    @model_validator(mode="after")
    def _immutable_subject_names_the_repository(self) -> BootstrapConfig:
        if self.immutable_subject is not None:
            match = re.match(IMMUTABLE_SUBJECT, self.immutable_subject)
            if f"{match.group(1)}/{match.group(3)}" != self.repository:  # type: ignore[union-attr]
                raise ValueError("immutableSubject: must name the same owner and repository as repository")
        return self

    @model_validator(mode="after")
    def _same_account_and_short_names(self) -> BootstrapConfig:
        arn = self.existing_oidc_provider_arn
        if arn and OIDC_PROVIDER_ARN.match(arn).group(1) != self.account:  # type: ignore[union-attr]
            raise ValueError("existingOidcProviderArn: the provider must be in this stack's account")
        if len(self.state_bucket) > BUCKET_NAME_MAX:
            raise ValueError(f"region: the state bucket's name would exceed {BUCKET_NAME_MAX} characters")
        return self

    @property
    def state_bucket(self) -> str:
        """The Pulumi state bucket's name: unique per environment, account and region."""
        if self.legacy_state_names:
            return f"cb-pulumi-state-{self.account}-{self.region}"
        return f"cb-pulumi-state-{self.environment}-{self.account}-{self.region}"

    @property
    def state_key_alias(self) -> str:
        """The alias of the KMS key that encrypts the state and the stack secrets (per environment)."""
        return "alias/cb-pulumi-state" if self.legacy_state_names else f"alias/cb-pulumi-state-{self.environment}"

    @property
    def deploy_role_name(self) -> str:
        """The deploy role: IAM names are account-wide, so it carries the environment."""
        return f"cloudbridge-deploy-{self.environment}"

    @property
    def preview_role_name(self) -> str:
        """The read-only preview role (pull requests and the drift check)."""
        return f"cloudbridge-preview-{self.environment}"

    @property
    def break_glass_role_name(self) -> str:
        """The one role the program's deletion guard lets delete or unguard the system of record."""
        from components.naming import break_glass_role_name

        return break_glass_role_name(self.environment)

    @property
    def subject_repository(self) -> str:
        """The ``repo`` claim GitHub sends for this repository: with immutable ids, or its name."""
        return self.immutable_subject or self.repository

    @property
    def deploy_github_environment(self) -> str:
        """The protected GitHub environment whose jobs may assume the deploy role."""
        return self.environment

    @property
    def preview_github_environment(self) -> str:
        """The unprotected GitHub environment whose jobs may assume the preview role."""
        return f"{PREVIEW_ENVIRONMENT_PREFIX}{self.environment}"

    @property
    def creates_oidc_provider(self) -> bool:
        """Whether this stack creates the account's GitHub OIDC provider (no existing one named)."""
        return self.existing_oidc_provider_arn is None

    @property
    def oidc_provider_arn(self) -> str:
        """The ARN of the account's GitHub OIDC provider: AWS derives it from the account and URL."""
        return self.existing_oidc_provider_arn or f"arn:aws:iam::{self.account}:oidc-provider/{GITHUB_OIDC_HOST}"


def parse(stack: str, raw: dict[str, Any]) -> BootstrapConfig:
    """Validate a bootstrap stack's raw config; every problem is listed with its key."""
    try:
        return BootstrapConfig.model_validate(raw)
    except ValidationError as exc:
        raise BootstrapError(
            f"invalid bootstrap config in bootstrap/Pulumi.{stack}.yaml:\n" + "\n".join(map(_line, exc.errors()))
        ) from None


def _line(error: Any) -> str:
    """One problem as ``  - <namespace>:<key>: <message>``; the value itself is never repeated."""
    message = error["msg"].removeprefix("Value error, ")
    key = ".".join(map(str, error["loc"]))
    if not key and ": " in message:  # a cross-field check names its key at the start of its message
        key, message = message.split(": ", 1)
    return f"  - {NAMESPACE}:{key}: {message}"


KEYS = (
    "account", "environment", "repository", "immutableSubject", "existingOidcProviderArn", "legacyStateNames",
    "drRegion",
)  # fmt: skip


def raw_config(values: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap keys of a stack's config (``cloudbridge-bootstrap:<key>``, ``aws:region``)."""
    raw = {key: values[f"{NAMESPACE}:{key}"] for key in KEYS if values.get(f"{NAMESPACE}:{key}") is not None}
    raw["region"] = values.get("aws:region") or ""
    return raw


def load() -> BootstrapConfig:
    """The running bootstrap stack's config, validated (``bootstrap/layout.py`` then checks it beside its siblings)."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {f"{NAMESPACE}:{k}": cfg.get(k) for k in KEYS}
    if cfg.get("legacyStateNames") is not None:
        values[f"{NAMESPACE}:legacyStateNames"] = cfg.require_bool("legacyStateNames")
    values["aws:region"] = pulumi.Config("aws").get("region")
    return parse(pulumi.get_stack(), raw_config(values))
