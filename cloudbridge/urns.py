"""``python -m cloudbridge urns {check,accept} --stack S``: the URN guard of a stack.

Pulumi identifies a resource by its URN (type, logical name, parent chain). When a URN
disappears from the program — a source removed from a stack file, a component renamed in
a refactor — ``pulumi up`` deletes that resource; for a bucket, key, Glue database or
replication that is history lost. Each stack's URNs are recorded in ``urns/<stack>.urns``
beside the stack files, and this guard compares the program with that record:

- additions pass (a new source, a new alarm): ``accept`` records them;
- a recorded resource that holds data and would be deleted or replaced — its URN gone
  with no ``pulumi.Alias`` covering it — fails, naming each one and what happens to its
  data. The one way to acknowledge a deliberate removal is ``accept``, which rewrites the
  record; the pull request's diff of ``urns/<stack>.urns`` is the reviewed acknowledgement.

Exit codes: 0 nothing at risk, 1 resources holding data would be deleted, 2 usage or a
stack that does not evaluate.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cloudbridge import cli

# Resources whose deletion or replacement loses data or history.
STATEFUL = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:glue/catalogDatabase:CatalogDatabase",
        "aws:glue/catalogTable:CatalogTable",
        "aws:dms/replicationConfig:ReplicationConfig",
        "aws:dms/replicationInstance:ReplicationInstance",
        "aws:dms/replicationTask:ReplicationTask",
        "aws:sqs/queue:Queue",
        "aws:cloudwatch/logGroup:LogGroup",
        # A provisioned source's database, its DMS user's credentials and its backups in the DR region.
        "aws:rds/instance:Instance",
        "aws:secretsmanager/secret:Secret",
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    }
)


# What the program retains when its declaration goes (``retainData``): type and logical-name suffix.
RETAINED = frozenset(
    {
        ("aws:s3/bucket:Bucket", "-raw"),
        ("aws:s3/bucket:Bucket", "-fail"),
        ("aws:s3/bucket:Bucket", "-meta"),
        ("aws:kms/key:Key", "key"),
        ("aws:glue/catalogDatabase:CatalogDatabase", "-database"),
        ("aws:rds/instance:Instance", "-database-instance"),  # components/database.py
        ("aws:secretsmanager/secret:Secret", "-database-dms-user"),
    }
)


def retainable(type_: str, name: str) -> bool:
    """Whether the program keeps this resource in the account, with retainData on, when it goes."""
    return any(type_ == t and name.endswith(suffix) for t, suffix in RETAINED)


def urn_type(urn: str) -> str:
    """The resource type of a URN (the last of its parent type chain)."""
    return urn.split("::")[-2].split("$")[-1]


def urn_name(urn: str) -> str:
    """The logical name of a URN."""
    return urn.split("::")[-1]


@dataclass
class Diff:
    """How a program's URNs differ from a record of them."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replaced_stateful: list[str] = field(default_factory=list)  # removed, stateful, no alias

    @property
    def unchanged(self) -> bool:
        """Nothing added, nothing removed."""
        return not self.added and not self.removed


def current_urns(plan) -> tuple[set[str], set[str]]:
    """(URNs the program manages, URNs their aliases cover)."""
    managed = {r.identity for r in plan.resources if not r.read}
    aliases = {a for r in plan.resources for a in r.aliases}
    return managed, aliases


def compare(recorded: set[str], plan) -> Diff:
    """The program's URNs against a record: what is new, gone, and gone with its data."""
    managed, aliases = current_urns(plan)
    diff = Diff(added=sorted(managed - recorded), removed=sorted(recorded - managed))
    diff.replaced_stateful = [u for u in diff.removed if urn_type(u) in STATEFUL and u not in aliases]
    return diff


def read(path: Path) -> set[str]:
    """The URNs recorded in a file (none when it does not exist)."""
    return set(path.read_text().split()) if path.exists() else set()


def write(path: Path, plan) -> None:
    """Record the program's URNs, sorted, one a line."""
    managed, _ = current_urns(plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u}\n" for u in sorted(managed)))


def record_path(stack: str) -> Path:
    """``urns/<stack>.urns`` beside the stack files."""
    from components.workspace import stacks_dir

    return stacks_dir() / "urns" / f"{stack}.urns"


def at_risk_message(stack: str, urns: Sequence[str], retained: bool) -> str:
    """What a removal would do to the data, and the one way to acknowledge it."""
    lines = []
    for urn in urns:
        kept = retained and retainable(urn_type(urn), urn_name(urn))
        lines.append(f"{'retained' if kept else 'DELETED '}  {urn_type(urn)}  {urn_name(urn)}")
    fate = (
        "Retained resources stay in the account with their data (the preview says `delete (retain)`); "
        "to adopt them again, re-add the source and `pulumi import` each one under its logical name "
        "(README: Data that outlives its config)."
        if retained
        else "retainData is off in this stack: every resource listed is deleted (a bucket that still "
        "holds objects makes the deletion fail, so copy and empty it first)."
    )
    return (
        f"Pulumi.{stack}.yaml: `pulumi up` would delete or replace {len(urns)} resources that hold "
        f"data, recorded in urns/{stack}.urns:\n  " + "\n  ".join(lines) + f"\n{fate}\n"
        "A rename in the program keeps its resources with a pulumi.Alias for the old name. If the "
        f"removal is deliberate, acknowledge it with `python -m cloudbridge urns accept --stack {stack}` "
        f"and commit urns/{stack}.urns: its diff is the reviewed record of what goes."
    )


def guard(stack: str, plan) -> tuple[Diff, str | None]:
    """Compare a stack's program with its record; the message when data is at risk."""
    diff = compare(read(record_path(stack)), plan)
    if diff.replaced_stateful:
        return diff, at_risk_message(stack, diff.replaced_stateful, retains_data(plan))
    return diff, None


@cli.command("urns")
def main(argv: Sequence[str] | None = None) -> int:
    """``urns check`` (exit 1 when data is at risk) or ``urns accept`` (rewrite the record)."""
    from cloudbridge import stackfile
    from cloudbridge.plan import evaluate

    parser = cli.parser("urns", "Check a stack's resources against urns/<stack>.urns, or record them.")
    parser.add_argument("action", choices=["check", "accept"])
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to evaluate (default: dev)")
    args = parser.parse_args(argv)
    stackfile.load(args.stack)  # a missing or malformed stack file is one line (cli.command)
    plan = evaluate(args.stack)
    path = record_path(args.stack)
    if args.action == "accept":
        diff = compare(read(path), plan)
        write(path, plan)
        print(f"urns/{path.name}: recorded {len(diff.added)} added, {len(diff.removed)} removed; commit it")
        return cli.OK
    diff, message = guard(args.stack, plan)
    if message:
        print(message, file=sys.stderr)
        return cli.FINDINGS
    print(f"{args.stack}: nothing recorded would be deleted ({len(diff.added)} new, not yet recorded)")
    return cli.OK


def retains_data(plan) -> bool:
    """Whether the stack keeps its data when its declarations go (``retainData``)."""
    return any(r.retain_on_delete for r in plan.resources)
