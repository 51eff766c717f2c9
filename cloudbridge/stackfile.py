"""Reading a stack file for the CLI, with one clear line for each way it can be wrong."""

from __future__ import annotations

from typing import Any

import yaml

from cloudbridge.plan import read_stack_config, stack_file, stacks


class StackFileError(ValueError):
    """A missing or unreadable stack file, or a source it does not name."""


def load(stack: str) -> dict[str, Any]:
    """A stack file's config block; StackFileError naming the file when it is missing or not YAML."""
    path = stack_file(stack)
    if not path.is_file():
        raise StackFileError(f"no stack file {path.name} (stacks: {', '.join(stacks()) or 'none'})")
    try:
        return read_stack_config(stack)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise StackFileError(f"{path.name} is not valid YAML{where}") from None


def source_entry(stack: str, source: str) -> dict[str, Any]:
    """A source's entry in a stack file; StackFileError naming the sources it has when it is not there."""
    config = load(stack)
    for entry in config.get("cloudbridge:sources") or []:
        if isinstance(entry, dict) and entry.get("name") == source:
            return entry
    names = [e.get("name") for e in config.get("cloudbridge:sources") or [] if isinstance(e, dict)]
    raise StackFileError(f"Pulumi.{stack}.yaml has no source {source!r} in cloudbridge:sources (sources: {names})")


def source_buckets(stack: str, source: str) -> dict[str, str]:
    """The names the program gives the source's buckets in that stack's account."""
    from components.naming import Naming

    config = load(stack)
    source_entry(stack, source)
    account = str((config.get("cloudbridge:account") or {}).get("id", ""))
    naming = Naming(environment=stack, account_id=account, region=str(config.get("aws:region", "")))
    names = {purpose: naming.bucket(source, purpose) for purpose in ("landing", "raw", "fail", "meta")}
    names["glueDatabase"] = naming.glue_database(source)
    return names
