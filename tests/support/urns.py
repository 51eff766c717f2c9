"""The program's own refactor guard: every resource's URN per fixture stack, checked in.

The record is ``tests/program/snapshots/<stack>.urns`` (the fixture stacks'); the
comparison is the URN guard's (``cloudbridge/urns.py``), which a team's own stacks also
run against ``urns/<stack>.urns``.
"""

from __future__ import annotations

from pathlib import Path

from cloudbridge import urns
from cloudbridge.urns import STATEFUL, Diff, compare, current_urns, urn_type  # noqa: F401 (re-exported)

SNAPSHOTS = Path(__file__).resolve().parent.parent / "program" / "snapshots"


def snapshot_path(stack: str) -> Path:
    return SNAPSHOTS / f"{stack}.urns"


def read_snapshot(stack: str) -> set[str]:
    return urns.read(snapshot_path(stack))


def write_snapshot(stack: str, plan) -> None:
    urns.write(snapshot_path(stack), plan)
