"""``python -m cloudbridge secrets slack-webhook --stack S [--create|--update]``: store the
Slack incoming-webhook URL in the secret the stack file names.

The URL is read from standard input — typed without echo at a terminal, or one line from
a pipe (``pass show slack/cloudbridge | python -m cloudbridge secrets slack-webhook``) —
never from the command line (argv is visible to every process on the machine and lands in
shell history), and it is never printed. The secret is the one
``cloudbridge:alerts.slackWebhookSecretArn`` names, in the stack's ``aws:region``: a new
version of its value is stored, or, when no secret of that name exists, it is created and
its ARN printed: AWS gives a new secret a new ARN suffix, and the notifier may read only
the ARN the stack file names, so the stack file must then be updated.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

from cloudbridge import cli

# arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters AWS adds>
SECRET_ARN = re.compile(r"^arn:aws[\w-]*:secretsmanager:(?P<region>[\w-]+):\d{12}:secret:(?P<name>.+)-[\w]{6}$")
WEBHOOK_FORM = "https://hooks.slack.com/services/T…/B…/…"


def read_secret(prompt: str, stream: TextIO | None = None) -> str:
    """A secret value from standard input: without echo at a terminal, else its first line."""
    stream = stream or sys.stdin
    if stream.isatty():
        return getpass.getpass(prompt)
    return stream.readline().strip()


def check_webhook(url: str) -> None:
    """CommandError (which never quotes the value) unless ``url`` looks like a Slack incoming webhook."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if not url:
        raise cli.CommandError("nothing read from standard input: type or pipe the webhook URL; nothing stored")
    if (
        parts.scheme != "https"
        or parts.hostname != "hooks.slack.com"
        or len(segments) < 4
        or segments[0] != "services"
        or any(c.isspace() for c in url)
    ):
        raise cli.CommandError(f"the value read is not a Slack webhook URL ({WEBHOOK_FORM}); nothing stored")


def secret_name(arn: str) -> tuple[str, str]:
    """The region and name of a secret from its ARN (the name without the suffix AWS adds)."""
    match = SECRET_ARN.match(arn)
    if not match:
        raise cli.CommandError(f"{arn!r} is not a Secrets Manager secret ARN (…:secret:<name>-<6 characters>)")
    return match["region"], match["name"]


def store(secrets: Any, name: str, value: str, mode: str) -> tuple[str, bool]:
    """Store ``value`` as a new version of secret ``name`` or create it (``mode``: create, update
    or either); the secret's ARN and whether it was created."""
    from botocore.exceptions import ClientError

    try:
        arn = secrets.describe_secret(SecretId=name)["ARN"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        arn = None
    if arn is None:
        if mode == "update":
            raise cli.CommandError(f"no secret named {name}: run without --update to create it")
        created = secrets.create_secret(Name=name, SecretString=value, Description="CloudBridge Slack webhook URL")
        return created["ARN"], True
    if mode == "create":
        raise cli.CommandError(f"secret {name} exists: run without --create to store a new version")
    secrets.put_secret_value(SecretId=arn, SecretString=value)
    return arn, False


@cli.command("secrets")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cloudbridge secrets slack-webhook``: store the webhook URL read from stdin; print where."""
    parser = cli.parser("secrets", __doc__.split("\n\n")[0])
    parser.add_argument("secret", choices=["slack-webhook"], help="which secret to store")
    parser.add_argument("--stack", default="dev", help="stack file naming the secret (default: dev)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--create", action="store_const", const="create", dest="mode", help="only create it")
    mode.add_argument("--update", action="store_const", const="update", dest="mode", help="only store a new version")
    args = parser.parse_args(argv)

    from cloudbridge import stackfile

    stack_file = f"Pulumi.{args.stack}.yaml"
    alerts = stackfile.load(args.stack).get("cloudbridge:alerts") or {}
    configured = alerts.get("slackWebhookSecretArn") if isinstance(alerts, dict) else None
    if not configured:
        raise cli.CommandError(f"{stack_file} has no cloudbridge:alerts.slackWebhookSecretArn: add the secret's ARN")
    arn_region, name = secret_name(str(configured))
    if arn_region != stackfile.region(args.stack):
        raise cli.CommandError(f"{stack_file}: the webhook secret is in {arn_region}, not the stack's aws:region")
    url = read_secret("Slack webhook URL (not echoed): ")
    check_webhook(url)
    arn, created = store(cli.aws_client("secretsmanager", args.stack), name, url, args.mode or "either")
    print(f"{'created' if created else 'stored a new version of'} secret {name}: {arn}")
    if arn != configured:
        print(f"update cloudbridge:alerts.slackWebhookSecretArn in {stack_file} to {arn} (it names {configured})")
    return cli.OK
