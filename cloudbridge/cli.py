"""What every ``python -m cloudbridge`` command shares: its parser, its exit codes, its AWS
clients, and one line on stderr (never a traceback) for each problem a user can fix.

One exit-code rule for every command:

* 0 — ok;
* 1 — findings: drift found, a preflight check failed, a file failed validation, replay
  left files failing, data at risk, a generated file out of date;
* 2 — usage or environment: bad arguments, a missing or malformed stack file, an unknown
  source, no AWS credentials or no access, a database that cannot be reached, an engine
  the command cannot check.

A command's ``main`` is wrapped in :func:`command`, which turns :class:`CommandError`, a
stack file's problem, a config error and botocore's credential, region, network and
access errors into ``cloudbridge <command>: <problem>; <fix>`` and exit 2. AWS clients
come from :func:`aws_client`, in the stack's ``aws:region`` (never the shell's default).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

OK, FINDINGS, USAGE = 0, 1, 2
EXIT_CODES = (
    "exit codes: 0 ok; 1 findings (drift, a failed check or file, files still failing); "
    "2 usage or environment (bad arguments, stack file or source, AWS credentials or access, "
    "a database that cannot be reached, an engine that cannot be checked)"
)
NO_CREDENTIALS = "no AWS credentials found (set AWS_PROFILE or run inside the deploy role)"
# Error codes AWS returns when the caller's identity or its permissions are the problem.
_ACCESS_CODES = frozenset(
    {
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure", "InvalidAccessKeyId",
        "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken",
        "ExpiredTokenException", "RequestExpired",
    }
)  # fmt: skip

Main = Callable[[Sequence[str] | None], int]


class CommandError(Exception):
    """A problem the user can fix, as one line naming it and the fix; exit 2 unless told."""

    def __init__(self, message: str, code: int = USAGE):
        super().__init__(message)
        self.code = code


def parser(command: str, description: str) -> argparse.ArgumentParser:
    """A command's argument parser: ``python -m cloudbridge <command>``, with the exit codes in its --help."""
    return argparse.ArgumentParser(prog=f"python -m cloudbridge {command}", description=description, epilog=EXIT_CODES)


def command(name: str) -> Callable[[Main], Main]:
    """Wrap a command's ``main``: a known problem becomes one line on stderr and exit 2."""

    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            try:
                return main(argv)
            except Exception as exc:
                problem = explain(exc)
                if problem is None:
                    raise  # a bug: its traceback is what a maintainer needs
                print(f"cloudbridge {name}: {problem}", file=sys.stderr)
                return exc.code if isinstance(exc, CommandError) else USAGE

        return run

    return wrap


def explain(exc: BaseException) -> str | None:
    """One line for an error the user can fix (its problem and the fix); None for anything else."""
    from botocore.exceptions import BotoCoreError, ClientError

    from cloudbridge.stackfile import StackFileError
    from components.config import ConfigError

    if isinstance(exc, (CommandError, StackFileError)):
        return str(exc)
    if isinstance(exc, ConfigError):
        return f"{exc.stack_file}: " + "; ".join(f"{key}: {message}" for key, message in exc.problems)
    if isinstance(exc, ClientError):
        return _client_error(exc)
    if isinstance(exc, BotoCoreError):
        return _botocore_error(exc)
    return None


def _client_error(exc: Any) -> str:
    error = exc.response.get("Error", {})
    code, operation = error.get("Code", "?"), exc.operation_name
    if code in _ACCESS_CODES:
        return (
            f"AWS refused {operation} ({code}): the credentials in use are not allowed, or expired "
            "(set AWS_PROFILE or run inside the stack account's deploy role)"
        )
    message = (str(error.get("Message") or "").splitlines() or [""])[0][:200]
    return f"AWS {operation} failed: {code}" + (f": {message}" if message else "")


def _botocore_error(exc: Any) -> str:
    from botocore import exceptions as e

    if isinstance(exc, e.NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(exc, e.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc}): set both keys, or AWS_PROFILE, or run inside the deploy role"
    if isinstance(exc, e.NoRegionError):
        return "no AWS region: set aws:region in the stack file"
    if isinstance(exc, e.ProfileNotFound):
        return f"{exc}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, e.EndpointConnectionError):
        return f"cannot reach AWS at {exc.kwargs.get('endpoint_url')}: check the network or proxy, and aws:region"
    return f"AWS: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def aws_client(service: str, stack: str) -> Any:
    """A boto3 client for ``service`` in the stack's ``aws:region`` (from its stack file)."""
    import boto3

    from cloudbridge.stackfile import region

    return boto3.client(service, region_name=region(stack))


def generated_file(path: Path, text: str, check: bool, regenerate: str) -> int:
    """Write a generated file, or with ``check`` compare it: FINDINGS (one line naming the
    command that regenerates it) when the committed file is missing or out of date."""
    from components.workspace import REPO_ROOT

    shown = path.relative_to(REPO_ROOT)
    if check:
        if not path.exists() or path.read_text() != text:
            print(f"{shown} is out of date: run {regenerate}", file=sys.stderr)
            return FINDINGS
        return OK
    path.write_text(text)
    print(f"wrote {shown}")
    return OK
