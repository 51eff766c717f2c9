"""AccountBootstrap: what one account needs before CloudBridge's first ``pulumi up``."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from bootstrap import policies
from bootstrap.boundary import break_glass_statements, break_glass_trust
from bootstrap.config import GITHUB_OIDC_HOST, BootstrapConfig
from bootstrap.deploy_policy import deploy_statements
from bootstrap.scope import Scope
from components.storage import SecureBucket, SecureBucketArgs
from functions.common.runtime import TAG_ENVIRONMENT, TAG_MANAGED_BY

GITHUB_ISSUER = f"https://{GITHUB_OIDC_HOST}"


@dataclass(frozen=True)
class AccountBootstrapArgs:
    """What the account bootstrap needs: the account's validated bootstrap config."""

    config: BootstrapConfig


class AccountBootstrap(pulumi.ComponentResource):
    """Once per environment in its AWS account: the KMS-encrypted Pulumi state bucket, the deploy and preview roles,
    and the account's GitHub OIDC provider unless another stack (or someone before) created it.

    Every physical name carries the environment, so an account may host several environments; the
    logical names do not need to (a URN carries the stack), and are unchanged since the first release."""

    oidc_provider_arn: pulumi.Output[str]
    state_key: aws.kms.Key
    state_bucket: SecureBucket
    deploy_role: aws.iam.Role
    preview_role: aws.iam.Role
    break_glass_role: aws.iam.Role

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("cloudbridge:bootstrap:AccountBootstrap", name, None, opts)
        config = self._config = args.config
        # Everything here guards the account's deployments: never deleted by a preview gone wrong.
        self._keep = pulumi.ResourceOptions(parent=self, protect=True)
        self._tags = {TAG_ENVIRONMENT: config.environment, TAG_MANAGED_BY: "pulumi-bootstrap"}
        self.oidc_provider_arn = self._oidc_provider()
        self.state_key = self._state_key()
        self.state_bucket = self._state_bucket()
        self.deploy_role, self.preview_role = self._roles()
        self.break_glass_role = self._break_glass_role()
        self.register_outputs(
            {
                "deploy_role_arn": self.deploy_role.arn,
                "preview_role_arn": self.preview_role.arn,
                "state_bucket": self.state_bucket.name,
                "secrets_provider": f"awskms://{config.state_key_alias}?region={config.region}",
            }
        )

    def _oidc_provider(self) -> pulumi.Output[str]:
        """GitHub's OIDC provider: created here, or one that exists already (one per URL per account)."""
        config = self._config
        if not config.creates_oidc_provider:
            return pulumi.Output.from_input(config.oidc_provider_arn)
        return aws.iam.OpenIdConnectProvider(
            "github",
            url=GITHUB_ISSUER,
            client_id_lists=["sts.amazonaws.com"],
            tags=self._tags,
            opts=self._keep,
        ).arn

    def _state_key(self) -> aws.kms.Key:
        """State and the stacks' secrets provider; administered by the account through IAM."""
        config = self._config
        root = f"arn:aws:iam::{config.account}:root"
        key = aws.kms.Key(
            "state-key",
            description=f"CloudBridge {config.environment}: Pulumi state and secrets provider (awskms://)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersKeyThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": root},
                            "Action": list(KEY_ADMIN_ACTIONS),
                            "Resource": "*",
                        }
                    ],
                }
            ),
            tags=self._tags,
            opts=self._keep,
        )
        aws.kms.Alias("state-key-alias", name=config.state_key_alias, target_key_id=key.key_id, opts=self._keep)
        return key

    def _state_bucket(self) -> SecureBucket:
        return SecureBucket(
            "state",
            SecureBucketArgs(
                bucket_name=self._config.state_bucket,
                kms_key_arn=self.state_key.arn,
                tags=self._tags,
                versioning=True,  # every checkpoint recoverable
                noncurrent_expire_after_days=90,
                retain_on_delete=True,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

    def _roles(self) -> tuple[aws.iam.Role, aws.iam.Role]:
        """The deploy role (pulumi-up.yml on main, in its gated GitHub environment only) and the read-only
        preview role (preview.yml and drift.yml in its own preview environment: another stack's are refused)."""
        config = self._config
        repo, env = config.repository, config.environment
        scope = self.state_key.arn.apply(
            lambda key: Scope(config.account, config.region, env, config.state_bucket, key, config.dr_region)
        )
        deploy_env, preview_env = config.deploy_github_environment, config.preview_github_environment
        deploy = self._role(
            "deploy",
            config.deploy_role_name,
            lambda arn: policies.deploy_trust(arn, repo, deploy_env, config.subject_repository),
            scope.apply(deploy_statements),
            f"CloudBridge {env}: pulumi up, from pulumi-up.yml on main in the gated GitHub environment {deploy_env}",
            self._tags,
        )
        preview = self._role(
            "preview",
            config.preview_role_name,
            lambda arn: policies.preview_trust(arn, repo, preview_env, config.subject_repository),
            scope.apply(policies.preview_statements),
            f"CloudBridge {env}: read-only previews and drift checks, in the GitHub environment {preview_env}",
            self._tags,
        )
        return deploy, preview

    def _break_glass_role(self) -> aws.iam.Role:
        """cloudbridge-breakglass-<env>: the one principal the program's deletion guard lets delete the
        system of record or lift the guard (docs/disaster-recovery.md, "The deletion guard"). Assumed
        with MFA by people of this account whom an administrator allows to; no GitHub workflow can."""
        config = self._config
        scope = Scope(config.account, config.region, config.environment, config.state_bucket, "", config.dr_region)
        role = aws.iam.Role(
            "break-glass-role",
            name=config.break_glass_role_name,
            description=f"CloudBridge {config.environment}: break glass to delete or unguard raw history and metadata",
            assume_role_policy=json.dumps(break_glass_trust(config.account)),
            max_session_duration=3600,
            tags=self._tags,
            opts=self._keep,
        )
        aws.iam.RolePolicy(
            "break-glass-role-policy",
            role=role.id,
            name="cloudbridge-break-glass",
            policy=json.dumps({"Version": "2012-10-17", "Statement": break_glass_statements(scope)}),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def _role(self, name, role_name, trust, statements, description, tags) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=description,
            assume_role_policy=self.oidc_provider_arn.apply(lambda arn: json.dumps(trust(arn))),
            max_session_duration=3600,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            name="cloudbridge",
            policy=statements.apply(lambda st: json.dumps({"Version": "2012-10-17", "Statement": st})),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role


KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt",
    "kms:GenerateDataKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip
