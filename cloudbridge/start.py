"""``python -m cloudbridge start``: start a CDC-only serverless source from a position or a time.

A serverless source with ``cdcStart`` is deployed with its replication configs created but not
started (the provider's ReplicationConfig has no start position). This command starts each table
set's config with ``StartReplication`` (``StartReplicationType=start-replication``) and
``CdcStartPosition`` or ``CdcStartTime``: ``--from config`` (the default) takes the stack file's
``cdcStart``; ``--from position:<pos>`` a DMS CDC start position (a ``RecoveryCheckpoint`` from
DescribeReplications, or a native position such as a PostgreSQL LSN); ``--from
time:<YYYY-MM-DDTHH:MM:SSZ>`` a commit time in UTC (not for PostgreSQL, which cannot map a time to
an LSN). A config whose replication already runs is left as it is. Instance tasks start on deploy,
from cdcStart (``cdc_start_position``/``cdc_start_time`` of the task): refused here.

Exit 0 when every config was started or already runs; 2 for usage or environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudbridge import cli
from cloudbridge.reload import Target, load_target, replication_status


@dataclass(frozen=True)
class StartPoint:
    """Where change capture starts: exactly one of a DMS position or a UTC commit time."""

    position: str | None = None
    time: datetime | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        """The StartReplication parameter it becomes (CdcStartPosition string, CdcStartTime timestamp)."""
        return {"CdcStartPosition": self.position} if self.position is not None else {"CdcStartTime": self.time}

    def __str__(self) -> str:
        return f"position {self.position}" if self.position is not None else f"time {self.time:%Y-%m-%dT%H:%M:%SZ}"


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 UTC time to the second (``2026-01-31T22:30:00Z``); one line (exit 2) otherwise."""
    from components.config import UTC_TIME

    if not UTC_TIME.match(text):
        raise cli.CommandError(f"{where}: not a UTC time to the second, like 2026-01-31T22:30:00Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise cli.CommandError(f"{where}: not a date and time (like 2026-01-31T22:30:00Z)") from None


def start_point(target: Target, value: str) -> StartPoint:
    """``config``, ``position:<pos>`` or ``time:<UTC>`` as a start point; exit 2 when it cannot be one."""
    if value == "config":
        cdc_start = target.source.cdc_start
        if cdc_start.position is not None:
            return StartPoint(position=cdc_start.position)
        return StartPoint(time=parse_time(cdc_start.time, f"Pulumi.{target.stack}.yaml cdcStart.time"))
    kind, _, rest = value.partition(":")
    if kind == "position" and rest.strip():
        return StartPoint(position=rest.strip())
    if kind == "time" and rest:
        return StartPoint(time=parse_time(rest, f"--from {value}"))
    raise cli.CommandError(f"--from {value}: give config, position:<DMS CDC start position> or time:<UTC time>")


def check_source(target: Target, point: StartPoint) -> None:
    """Only a serverless source with cdcStart is started here; PostgreSQL takes no start time."""
    source = target.source
    if not target.serverless:
        raise cli.CommandError(
            f"source {source.name!r} is an instance task: instance tasks start from cdcStart on deploy "
            "(the task's CDC start position or time)"
        )
    if source.cdc_start is None:
        raise cli.CommandError(
            f"source {source.name!r} has no cdcStart: its replications start on deploy with a full load "
            "(set cdcStart in the stack file for a CDC-only start)"
        )
    if point.time is not None and source.engine == "postgres":
        raise cli.CommandError(
            f"source {source.name!r} is PostgreSQL, which cannot start from a time (DMS cannot map a time to an "
            "LSN): give position:<LSN or checkpoint> (docs/operating.md)"
        )


def _parser() -> Any:
    parser = cli.parser("start", __doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the stack whose source to start")
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    parser.add_argument(
        "--from",
        dest="start",
        default="config",
        help="config (the stack file's cdcStart, default), position:<DMS CDC start position> or time:<UTC time>",
    )
    return parser


@cli.command("start")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge start``: start each table set's config of a CDC-only serverless source."""
    args = _parser().parse_args(argv)
    target = load_target(args.stack, args.source)
    if target.serverless and target.source.cdc_start is not None:
        point = start_point(target, args.start)
    else:
        point = StartPoint(position="")  # refused below, before anything is read
    check_source(target, point)
    dms = cli.aws_client("dms", args.stack)
    print(f"stack {target.stack}, source {target.source.name}: change capture from {point}")
    for replication in target.replications:
        if replication_status(dms, replication) == "running":
            print(f"  {replication.identifier}: already running, left as it is")
            continue
        dms.start_replication(
            ReplicationConfigArn=replication.arn, StartReplicationType="start-replication", **point.parameters
        )
        print(f"  {replication.identifier}: started ({replication.arn})")
    print("DMS provisions capacity first, then reads changes; the lag alarm and DMS events follow each replication")
    return cli.OK
