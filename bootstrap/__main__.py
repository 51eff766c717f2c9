"""CloudBridge bootstrap: run once per environment, in its AWS account, with administrator credentials.

Creates the deploy role (the environment's gated GitHub environment only), the read-only
preview role (its ``preview-<env>`` GitHub environment only: pull requests and the drift
check), the Pulumi state bucket with its KMS key (the stacks' secrets provider), and the
account's GitHub OIDC provider unless it exists. One account may host several
environments (docs/deploying.md, "Layouts").
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # components/ is shared

from bootstrap import layout  # noqa: E402
from bootstrap.account import AccountBootstrap, AccountBootstrapArgs  # noqa: E402
from bootstrap.boundary import DeployGuardrails  # noqa: E402
from bootstrap.config import load  # noqa: E402
from bootstrap.scope import Scope  # noqa: E402
from functions.common.runtime import TAG_ENVIRONMENT, TAG_MANAGED_BY  # noqa: E402

config = load()
layout.check(pulumi.get_stack(), config)  # before anything is declared: no run may collide with a sibling's names
account = AccountBootstrap("account", AccountBootstrapArgs(config=config))
# The permissions boundary of every role the program creates, and the deploy role's denials.
guardrails = DeployGuardrails(
    "guardrails",
    account.state_key.arn.apply(
        lambda key: Scope(config.account, config.region, config.environment, config.state_bucket, key, config.dr_region)
    ),
    account.deploy_role,
    {TAG_ENVIRONMENT: config.environment, TAG_MANAGED_BY: "pulumi-bootstrap"},
)

pulumi.export("deployRoleArn", account.deploy_role.arn)
pulumi.export("previewRoleArn", account.preview_role.arn)
pulumi.export("stateBucket", account.state_bucket.name)
backend_url = account.state_bucket.name.apply(lambda b: f"s3://{b}?region={config.region}")
pulumi.export("backendUrl", backend_url)
pulumi.export("secretsProvider", f"awskms://{config.state_key_alias}?region={config.region}")
pulumi.export("oidcProviderArn", account.oidc_provider_arn)
pulumi.export("permissionsBoundaryArn", guardrails.boundary.arn)
pulumi.export("breakGlassRoleArn", account.break_glass_role.arn)
# What to set in GitHub, per environment (docs/deploying.md, "GitHub environments").
pulumi.export(
    "githubEnvironments",
    {
        config.deploy_github_environment: {
            "AWS_DEPLOY_ROLE_ARN": account.deploy_role.arn,
            "AWS_REGION": config.region,
            "PULUMI_BACKEND_URL": backend_url,
        },
        config.preview_github_environment: {
            "AWS_PREVIEW_ROLE_ARN": account.preview_role.arn,
            "AWS_REGION": config.region,
            "PULUMI_BACKEND_URL": backend_url,
        },
    },
)
