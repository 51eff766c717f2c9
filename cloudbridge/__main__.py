"""``python -m cloudbridge <command>``."""

from __future__ import annotations

import sys

# command -> (module with main(argv) -> int, one line for --help)
COMMANDS = {
    "plan": ("cloudbridge.plan_cli", "what a stack would deploy, or how two stacks differ (offline)"),
    "preflight": ("cloudbridge.preflight", "check a source database is ready for CDC, with the fix for each problem"),
    "metadata": (
        "cloudbridge.metadata",
        "extract a source's table metadata (DynamoDB: from sampled items), or diff the live schema with it",
    ),
    "validate": ("cloudbridge.validate", "run the validator's checks on one local or S3 parquet file"),
    "replay": ("cloudbridge.replay", "re-validate a source's quarantined files after a fix; move those that pass"),
    "urns": ("cloudbridge.urns", "check or accept the recorded resource identities of a stack"),
    "secrets": ("cloudbridge.secrets", "store the Slack webhook URL in the stack's secret, read from stdin"),
    "sandbox": ("cloudbridge.sandbox.run", "run the whole pipeline on this machine, end to end"),
    "reconcile": ("cloudbridge.reconcile", "compare a source's tables with their current-state views, key by key"),
    "reload": ("cloudbridge.reload", "load tables again (all, re-anchored, after a lost slot) and follow them"),
    "start": ("cloudbridge.start", "start a CDC-only serverless source from its cdcStart, a position or a time"),
    "dr": ("cloudbridge.dr", "replication into the DR region: status per rule and table, or backfill older objects"),
    "source-init": ("cloudbridge.source_init", "create a provisioned database's DMS user (run in the VPC)"),
    "config-doc": ("cloudbridge.configdoc", "write docs/config.md from the config models (or --check it)"),
}


def usage() -> str:
    """The top-level help: every command with one line."""
    from cloudbridge.cli import EXIT_CODES

    width = max(map(len, COMMANDS))
    lines = ["usage: python -m cloudbridge <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "python -m cloudbridge <command> --help shows a command's options.", EXIT_CODES]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``python -m cloudbridge <command>`` to the command's module."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(usage(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] not in COMMANDS:
        print(
            f"cloudbridge: unknown command {args[0]!r}; commands: {', '.join(COMMANDS)} (see --help)", file=sys.stderr
        )
        return 2
    import importlib

    return importlib.import_module(COMMANDS[args[0]][0]).main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
