"""Reading a stack file for the CLI, with one clear line for each way it can be wrong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from cloudbridge.plan import stack_file, stacks

if TYPE_CHECKING:
    from functions.common.layout import Layout


class StackFileError(ValueError):
    """A missing or unreadable stack file, or a source it does not name."""


def load(stack: str) -> dict[str, Any]:
    """A stack file's config block; StackFileError naming the file when it is missing, not YAML,
    or not a mapping with a ``config:`` mapping (``hello``, ``config: 5``)."""
    path = stack_file(stack)
    if not path.is_file():
        raise StackFileError(f"no stack file {path.name} (stacks: {', '.join(stacks()) or 'none'})")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise StackFileError(f"{path.name} is not valid YAML{where}") from None
    config = document.get("config") if isinstance(document, dict) else document  # a scalar or list fails below
    if config is not None and not isinstance(config, dict):
        raise StackFileError(f"{path.name}: expected a mapping with a config: block (see docs/config.md)")
    return dict(config or {})


def region(stack: str) -> str:
    """The stack's ``aws:region``: every AWS call the CLI makes for a stack goes there."""
    value = load(stack).get("aws:region")
    if not isinstance(value, str) or not value:
        raise StackFileError(f"Pulumi.{stack}.yaml has no aws:region: add it under config:")
    return value


def _sources(stack: str) -> list[Any]:
    sources = load(stack).get("cloudbridge:sources") or []
    if not isinstance(sources, list):
        raise StackFileError(f"Pulumi.{stack}.yaml: cloudbridge:sources must be a list of sources")
    return sources


def source_entry(stack: str, source: str) -> dict[str, Any]:
    """A source's entry in a stack file; StackFileError naming the sources it has when it is not there."""
    sources = _sources(stack)
    for entry in sources:
        if isinstance(entry, dict) and entry.get("name") == source:
            return entry
    names = [e.get("name") for e in sources if isinstance(e, dict)]
    raise StackFileError(f"Pulumi.{stack}.yaml has no source {source!r} in cloudbridge:sources (sources: {names})")


def source_layout(stack: str, source: str) -> Layout:
    """The source's raw-history partitions (``rawHistoryPartition``, day unless set)."""
    from functions.common.layout import by_name

    value = source_entry(stack, source).get("rawHistoryPartition", "day")
    try:
        return by_name(value)
    except ValueError as exc:
        raise StackFileError(f"Pulumi.{stack}.yaml, source {source!r}: rawHistoryPartition: {exc}") from None


def source_buckets(stack: str, source: str) -> dict[str, str]:
    """The names the program gives the source's buckets in that stack's account."""
    from components.naming import Naming

    config = load(stack)
    source_entry(stack, source)
    account = config.get("cloudbridge:account")
    account = str(account.get("id", "")) if isinstance(account, dict) else ""
    naming = Naming(environment=stack, account_id=account, region=str(config.get("aws:region", "")))
    names = {purpose: naming.bucket(source, purpose) for purpose in ("landing", "raw", "fail", "meta")}
    names["glueDatabase"] = naming.glue_database(source)
    return names
