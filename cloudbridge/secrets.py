"""``python -m cloudbridge secrets {slack-webhook,source-credentials} --stack S [--source NAME]
[--create|--update]``: store a secret the stack file names, read from standard input.

slack-webhook       the Slack incoming-webhook URL, in ``cloudbridge:alerts.slackWebhookSecretArn``
source-credentials  the DMS user's name and password, in the source's ``credentialsSecretArn``
                    (as DMS reads it: username, password, and host and port from the stack file)

Values are read from standard input — the URL or password typed without echo at a
terminal, or lines from a pipe (``pass show slack/cloudbridge | python -m cloudbridge
secrets slack-webhook``; user name then password for source-credentials) — never from the
command line (argv is visible to every process on the machine and lands in shell
history), and are never printed. The secret is stored in the stack's ``aws:region`` under
the name in the ARN the stack file gives: a new version of its value, or, when no secret
of that name exists, a new secret whose ARN is printed: AWS gives a new secret a new ARN
suffix, and the functions and DMS may read only the ARN the stack file names, so the
stack file must then be updated.
"""

from __future__ import annotations

import getpass
import json
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


def store(secrets: Any, name: str, value: str, mode: str, description: str = "") -> tuple[str, bool]:
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
        created = secrets.create_secret(Name=name, SecretString=value, Description=description)
        return created["ARN"], True
    if mode == "create":
        raise cli.CommandError(f"secret {name} exists: run without --create to store a new version")
    secrets.put_secret_value(SecretId=arn, SecretString=value)
    return arn, False


def _target(args: Any, stack_file: str) -> tuple[str, str, dict[str, Any]]:
    """Which config key names the secret, the ARN it gives, and the source's entry (if any)."""
    from cloudbridge import stackfile

    if args.secret == "slack-webhook":
        alerts = stackfile.load(args.stack).get("cloudbridge:alerts") or {}
        key, entry = "cloudbridge:alerts.slackWebhookSecretArn", {}
        configured = alerts.get("slackWebhookSecretArn") if isinstance(alerts, dict) else None
    else:
        if not args.source:
            raise cli.CommandError("source-credentials needs --source NAME")
        entry = stackfile.source_entry(args.stack, args.source)
        if entry.get("provision"):
            raise cli.CommandError(
                f"source {args.source!r} is a database CloudBridge provisions: its DMS user and secret come from "
                f"python -m cloudbridge source-init --stack {args.stack} --source {args.source}"
            )
        key, configured = f"credentialsSecretArn of source {args.source}", entry.get("credentialsSecretArn")
    if not configured:
        raise cli.CommandError(f"{stack_file} has no {key}: add the secret's ARN")
    return key, str(configured), entry


def read_credentials(entry: dict[str, Any]) -> str:
    """The DMS user's secret as DMS reads it: user name and password from stdin, host and port from the stack."""
    user = (input("DMS user name: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
    password = read_secret(f"password of {user} (not echoed): ")
    if not user or not password:
        raise cli.CommandError("give the user name, then the password, on standard input; nothing stored")
    return json.dumps({"username": user, "password": password, "host": entry.get("host"), "port": entry.get("port")})


@cli.command("secrets")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cloudbridge secrets``: store a secret the stack names, read from stdin; print where."""
    parser = cli.parser("secrets", __doc__.split("\n\n")[0])
    parser.add_argument("secret", choices=["slack-webhook", "source-credentials"], help="which secret to store")
    parser.add_argument("--stack", default="dev", help="stack file naming the secret (default: dev)")
    parser.add_argument("--source", help="source-credentials: the source in cloudbridge:sources")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--create", action="store_const", const="create", dest="mode", help="only create it")
    mode.add_argument("--update", action="store_const", const="update", dest="mode", help="only store a new version")
    args = parser.parse_args(argv)

    from cloudbridge.stackfile import region

    stack_file = f"Pulumi.{args.stack}.yaml"
    key, configured, entry = _target(args, stack_file)
    arn_region, name = secret_name(configured)
    if arn_region != region(args.stack):  # checked before anything is typed
        raise cli.CommandError(f"{stack_file}: the {key} is in {arn_region}, not the stack's aws:region")
    if args.secret == "slack-webhook":
        value = read_secret("Slack webhook URL (not echoed): ")
        check_webhook(value)
    else:
        value = read_credentials(entry)
    secrets = cli.aws_client("secretsmanager", args.stack)
    arn, created = store(secrets, name, value, args.mode or "either", f"CloudBridge {args.secret}")
    print(f"{'created' if created else 'stored a new version of'} secret {name}: {arn}")
    if arn != configured:
        print(f"update the {key} in {stack_file} to {arn} (it names {configured})")
    return cli.OK
