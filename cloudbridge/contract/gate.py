"""The contract check as ``plan`` runs it: a user's wrong value fails at ``make plan``, not only in CI."""

from __future__ import annotations

import sys
from collections.abc import Iterable

MISSING = "the AWS contract check needs policy_sentry (a dev requirement): run make setup"


def refused(plans: Iterable) -> int:
    """Print one line per value AWS would refuse (resource, argument, what AWS accepts) to stderr;
    1 when there is any, 0 when none. Raises ``cli.CommandError`` (one line, exit 2) when the
    check cannot run."""
    try:
        import policy_sentry  # noqa: F401
    except ImportError:
        from cloudbridge.cli import CommandError

        raise CommandError(MISSING) from None
    from cloudbridge.contract.aws_contract import check_plan

    lines = [f"{plan.stack}: {finding.line()}" for plan in plans for finding in check_plan(plan).findings]
    for line in lines:
        print(f"refused by AWS: {line}", file=sys.stderr)
    return 1 if lines else 0
