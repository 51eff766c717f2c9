"""CloudBridge bootstrap: run once per AWS account with administrator credentials.

Creates the GitHub OIDC trust, the deploy role (the account's GitHub environment only),
the read-only preview role (pull requests and the drift check), and the Pulumi state
bucket with its KMS key (the stacks' secrets provider). See the README, "First deploy".
"""

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # components/ is shared

from bootstrap.account import AccountBootstrap, AccountBootstrapArgs  # noqa: E402
from bootstrap.config import load  # noqa: E402

config = load()
account = AccountBootstrap("account", AccountBootstrapArgs(config=config))

pulumi.export("deployRoleArn", account.deploy_role.arn)
pulumi.export("previewRoleArn", account.preview_role.arn)
pulumi.export("stateBucket", account.state_bucket.name)
pulumi.export("backendUrl", account.state_bucket.name.apply(lambda b: f"s3://{b}?region={config.region}"))
pulumi.export("secretsProvider", f"awskms://{config.state_key_alias}?region={config.region}")
