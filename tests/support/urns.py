"""Resource identity: every resource's URN (type + logical name + parent chain) per stack.

Pulumi identifies a resource by its URN. A refactor that changes a URN — a renamed
logical name, a new parent component — makes Pulumi delete the old resource and create a
new one; for a bucket, key, database or replication that is data loss in production.
The checked-in snapshot makes every URN change a reviewed diff, and a stateful resource
may only leave the snapshot when an alias on its new declaration covers the old URN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Resources whose replacement loses data or history.
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
    }
)
SNAPSHOTS = Path(__file__).resolve().parent.parent / "program" / "snapshots"


def urn_type(urn: str) -> str:
    return urn.split("::")[-2].split("$")[-1]


def snapshot_path(stack: str) -> Path:
    return SNAPSHOTS / f"{stack}.urns"


@dataclass
class Diff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    replaced_stateful: list[str] = field(default_factory=list)  # removed, stateful, no alias

    @property
    def unchanged(self) -> bool:
        return not self.added and not self.removed


def current_urns(plan) -> tuple[set[str], set[str]]:
    """(URNs the program manages, URNs their aliases cover)."""
    managed = {r.identity for r in plan.resources if not r.read}
    aliases = {a for r in plan.resources for a in r.aliases}
    return managed, aliases


def compare(snapshot: set[str], plan) -> Diff:
    managed, aliases = current_urns(plan)
    diff = Diff(added=sorted(managed - snapshot), removed=sorted(snapshot - managed))
    diff.replaced_stateful = [u for u in diff.removed if urn_type(u) in STATEFUL and u not in aliases]
    return diff


def read_snapshot(stack: str) -> set[str]:
    path = snapshot_path(stack)
    return set(path.read_text().split()) if path.exists() else set()


def write_snapshot(stack: str, plan) -> None:
    managed, _ = current_urns(plan)
    snapshot_path(stack).write_text("".join(f"{u}\n" for u in sorted(managed)))
