"""``python -m cloudbridge reload``: load one table again, or every table of a source.

``--table schema.table`` (repeatable) or ``--all``: each table is matched against the source's
table sets (``tables``, then each ``addedTables`` entry; DMS ``%`` wildcards) to find the
replication that captures it, and each replication gets one reload call per ten tables:
``ReloadReplicationTables`` for a serverless config, ``ReloadTables`` for an instance task
(``ReloadOption=data-reload``). ``--all --reanchor`` is the way back when a replication's
source position is lost (a PostgreSQL slot dropped or invalidated, a failover): each
replication is stopped if it runs and started again with ``reload-target``, which loads every
table again and captures changes from the restart on (docs/operating.md).

Before acting it says what will happen — a new load generation per table; the current-state
views switch to it only once its generation marker exists — and asks, unless ``--yes``
(without a terminal it refuses). Then it follows DMS's table statistics until each table shows
a full load that ended after the request, and the marker of that load in raw history.

Exit 0 when every table's reload is loaded and marked (or requested, with ``--no-wait``);
1 when a table's load fails or does not finish within ``--timeout``; 2 for usage or environment.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudbridge import cli
from functions.common.dms import locator_matches

# Reloading tables during a task (DMS user guide): "You can reload up to 10 tables from a task."
RELOAD_BATCH = 10
POLL_SECONDS = 30.0
TIMEOUT_SECONDS = 4 * 3600
STOP_TIMEOUT_SECONDS = 1800
PAGE_SIZE = 500  # DescribeTableStatistics: 20..500 records per page
# With no earlier statistics to compare with, a load counts when it started at most this long
# before the request (the DMS host's clock against this machine's; both on NTP).
CLOCK_ALLOWANCE = timedelta(seconds=60)
COMPLETED = "Table completed"  # TableState once a table's (re)load has finished
FAILED_STATES = frozenset({"Table error", "Table cancelled", "Table does not exist"})
# Answers that mean "not yet": statistics of a replication still provisioning or restarting.
NOT_YET = frozenset({"InvalidResourceStateFault", "Throttling", "ThrottlingException"})
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
CONCRETE_TABLE = re.compile(r"^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$")
# Replication states: never run (reload-target would be its first run: DMS says use
# start-replication), stopped for good, or on its way there.
NEVER_RAN = frozenset({"ready", "created"})
STOPPED = frozenset({"stopped", "failed"})


@dataclass
class Clock:
    """Time as the command sees it (tests inject their own: no sleeping)."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


CLOCK = Clock()


# --- the source's replications -------------------------------------------------------------


@dataclass(frozen=True)
class Replication:
    """One DMS replication of a source: a serverless config per table set, or the instance task."""

    table_set: int
    identifier: str
    arn: str
    serverless: bool
    patterns: tuple[str, ...]

    @property
    def kind(self) -> str:
        """What DMS calls it."""
        return "replication config" if self.serverless else "replication task"

    @property
    def log_group(self) -> str:
        """The CloudWatch log group DMS writes its log to (components/replication.py)."""
        prefix = "dms-serverless-replication-" if self.serverless else "dms-tasks-"
        return prefix + self.identifier

    def selects(self, table: str) -> bool:
        """Whether one of its table-mapping patterns selects ``schema.table``."""
        return any(like(pattern, table) for pattern in self.patterns)


@dataclass(frozen=True)
class Target:
    """A stack's source, parsed and validated, with its replications' DMS identities."""

    stack: str
    source: Any  # components.config.Source
    naming: Any  # components.naming.Naming
    replications: tuple[Replication, ...]

    @property
    def serverless(self) -> bool:
        """Whether the source replicates through DMS Serverless configs (else an instance task)."""
        return self.replications[0].serverless

    @property
    def mode(self) -> str:
        """The source's replication mode, as its stack file says it."""
        return "serverless" if self.serverless else "instance"

    @property
    def raw_bucket(self) -> str:
        """The raw-history bucket, where generation markers are written."""
        return self.naming.bucket(self.source.name, "raw")


like = locator_matches  # DMS object-locator matching (functions/common/dms.py)


def load_target(stack: str, source_name: str) -> Target:
    """The stack's source and its replications; one line (exit 2) when the stack file, the
    source or the config is wrong."""
    from cloudbridge import stackfile
    from components.naming import Naming
    from components.stack_config import parse_stack_config

    stackfile.source_entry(stack, source_name)  # names the stacks, or the sources, when not there
    raw = stackfile.load(stack)
    model = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("cloudbridge:")}
    if "aws:region" in raw:
        model["region"] = raw["aws:region"]
    config = parse_stack_config(stack, model)
    source = next(s for s in config.sources if s.name == source_name)
    return target_of(stack, source, Naming(config.environment, config.account.id, config.region))


def target_of(stack: str, source: Any, naming: Any) -> Target:
    """A parsed source's replications and their DMS identities under ``naming`` (no stack file
    read: the local sandbox builds its source's target this way)."""
    serverless = source.replication.mode == "serverless"
    kind = "replication-config" if serverless else "task"
    replications = []
    for index, patterns in enumerate(source.table_sets):
        identifier = naming.replication_id(source.name, index)
        arn = naming.dms_arn(kind, identifier)
        replications.append(Replication(index, identifier, arn, serverless, tuple(patterns)))
    return Target(stack, source, naming, tuple(replications))


def assign(target: Target, tables: Iterable[str]) -> dict[Replication, list[str]]:
    """Each named table under the replication that captures it; one line (exit 2) for a pattern
    or a table the source does not select."""
    groups: dict[Replication, list[str]] = {}
    for table in tables:
        if not CONCRETE_TABLE.match(table):
            raise cli.CommandError(
                f"--table {table}: give one table as schema.table (DMS reloads tables, not % patterns)"
            )
        owner = next((r for r in target.replications if r.selects(table)), None)
        if owner is None:
            selected = ", ".join(p for r in target.replications for p in r.patterns)
            raise cli.CommandError(
                f"--table {table}: not a table of source {target.source.name!r} (it selects {selected})"
            )
        if table not in groups.setdefault(owner, []):
            groups[owner].append(table)
    return groups


def every_table(target: Target, statistics: dict[Replication, dict[str, dict]]) -> dict[Replication, list[str]]:
    """Every table of every replication: its concrete entries, the committed metadata's tables and
    the tables DMS reports, each under the replication whose patterns select it."""
    from cloudbridge.metadata import committed
    from components.workspace import metadata_root

    known = set(committed(metadata_root(), target.source.name))
    groups = {}
    for replication in target.replications:
        names = {p for p in replication.patterns if CONCRETE_TABLE.match(p)}
        names |= {t for t in known | set(statistics.get(replication, {})) if replication.selects(t)}
        groups[replication] = sorted(names)
    if not any(groups.values()):
        raise cli.CommandError(f"source {target.source.name!r}: no table to reload (no metadata, no DMS statistics)")
    return {r: tables for r, tables in groups.items() if tables}


# --- DMS ------------------------------------------------------------------------------------


def replication_status(dms: Any, replication: Replication) -> str | None:
    """The replication's status in lower case; None when DMS reports no replication (a serverless
    config never started)."""
    from botocore.exceptions import ClientError

    arn_filter = [{"Name": "replication-config-arn" if replication.serverless else "replication-task-arn",
                   "Values": [replication.arn]}]  # fmt: skip
    try:
        if replication.serverless:
            found = dms.describe_replications(Filters=arn_filter)["Replications"]
        else:
            found = dms.describe_replication_tasks(Filters=arn_filter, WithoutSettings=True)["ReplicationTasks"]
    except ClientError as exc:
        if not (replication.serverless and _code(exc) == "ResourceNotFoundFault"):
            raise
        found = []
    if not found and not replication.serverless:
        raise cli.CommandError(
            f"no replication task {replication.identifier} in this account and region: is the stack deployed?"
        )
    return str(found[0].get("Status", "")).lower() if found else None


def table_statistics(dms: Any, replication: Replication) -> dict[str, dict]:
    """The replication's table statistics by ``schema.table``, every page."""
    if replication.serverless:
        call, arn_name, key = (
            dms.describe_replication_table_statistics,
            "ReplicationConfigArn",
            "ReplicationTableStatistics",
        )
    else:
        call, arn_name, key = dms.describe_table_statistics, "ReplicationTaskArn", "TableStatistics"
    request: dict[str, Any] = {arn_name: replication.arn, "MaxRecords": PAGE_SIZE}
    tables: dict[str, dict] = {}
    while True:
        page = call(**request)
        for entry in page.get(key, []):
            tables[f"{entry.get('SchemaName')}.{entry.get('TableName')}"] = entry
        if not page.get("Marker"):
            return tables
        request["Marker"] = page["Marker"]


def statistics_or_none(dms: Any, replication: Replication) -> dict[str, dict] | None:
    """The table statistics, or None while DMS cannot report them yet (provisioning, throttled)."""
    from botocore.exceptions import ClientError

    try:
        return table_statistics(dms, replication)
    except ClientError as exc:
        if _code(exc) not in NOT_YET:
            raise
        return None


def request_reload(dms: Any, replication: Replication, tables: list[str]) -> None:
    """ReloadReplicationTables / ReloadTables, ten tables per call, as data reloads."""
    call = dms.reload_replication_tables if replication.serverless else dms.reload_tables
    arn_name = "ReplicationConfigArn" if replication.serverless else "ReplicationTaskArn"
    for start in range(0, len(tables), RELOAD_BATCH):
        batch = [_table_to_reload(table) for table in tables[start : start + RELOAD_BATCH]]
        call(**{arn_name: replication.arn, "TablesToReload": batch, "ReloadOption": "data-reload"})


def _table_to_reload(table: str) -> dict[str, str]:
    schema, name = table.split(".", 1)
    return {"SchemaName": schema, "TableName": name}


def reanchor(dms: Any, replication: Replication, status: str | None, poll: float) -> None:
    """Stop the replication if it runs, wait until it has stopped, start it with reload-target."""
    arn_name = "ReplicationConfigArn" if replication.serverless else "ReplicationTaskArn"
    if status == "running":
        stop = dms.stop_replication if replication.serverless else dms.stop_replication_task
        stop(**{arn_name: replication.arn})
        print(f"  {replication.identifier}: stopping")
    if status not in STOPPED:
        _wait_stopped(dms, replication, poll)
    if replication.serverless:
        dms.start_replication(ReplicationConfigArn=replication.arn, StartReplicationType="reload-target")
    else:
        dms.start_replication_task(ReplicationTaskArn=replication.arn, StartReplicationTaskType="reload-target")
    print(f"  {replication.identifier}: started with reload-target")


def _wait_stopped(dms: Any, replication: Replication, poll: float) -> None:
    deadline = CLOCK.monotonic() + STOP_TIMEOUT_SECONDS
    while (status := replication_status(dms, replication)) not in STOPPED:
        if CLOCK.monotonic() >= deadline:
            raise cli.CommandError(
                f"{replication.identifier} is still {status} after {STOP_TIMEOUT_SECONDS} s, so it was not restarted "
                "(replications listed before it were): run the command again once it has stopped",
                code=cli.FINDINGS,
            )
        CLOCK.sleep(poll)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


# --- checks before acting --------------------------------------------------------------------


def check_states(target: Target, statuses: dict[Replication, str | None], reanchor_: bool) -> None:
    """Refuse (exit 2) before anything is changed: a reload needs a running replication, a
    re-anchor one that ran before and is running or stopped."""
    for replication, status in statuses.items():
        shown = status or "never started"
        if not reanchor_ and status != "running":
            raise cli.CommandError(
                f"{replication.kind} {replication.identifier} is {shown}: DMS reloads tables only while it runs "
                "(start or resume it; if its source position is lost, use --all --reanchor: docs/operating.md)"
            )
        if reanchor_ and (status is None or status in NEVER_RAN):
            raise cli.CommandError(
                f"{replication.kind} {replication.identifier} is {shown}: it has never run, so there is nothing "
                "to re-anchor (its first start loads every table)"
            )
        if reanchor_ and status not in STOPPED | {"running", "stopping"}:
            raise cli.CommandError(
                f"{replication.kind} {replication.identifier} is {shown}: wait until it runs or has stopped, "
                "then run the command again"
            )


def check_source(target: Target) -> None:
    """A CDC-only source (cdcStart) has no full load to repeat: refuse (exit 2)."""
    if target.source.cdc_start is not None:
        raise cli.CommandError(
            f"source {target.source.name!r} is CDC-only (cdcStart): DMS reloads tables only of full-load and "
            "full-load-and-CDC replications (Reloading tables during a task)"
        )


def plan_lines(target: Target, groups: dict[Replication, list[str]], reanchor_: bool) -> list[str]:
    """What the command will do and what the views show meanwhile, before it asks."""
    source, naming = target.source, target.naming
    lines = [
        f"stack {target.stack} (account {naming.account_id}, {naming.region}), source {source.name} ({target.mode}):"
    ]
    for replication, tables in groups.items():
        if reanchor_:
            call = "stop if running, then " + (
                "StartReplication reload-target" if replication.serverless else "StartReplicationTask reload-target"
            )
        else:
            call = ("ReloadReplicationTables" if replication.serverless else "ReloadTables") + " data-reload"
        lines.append(f"  {replication.identifier}: {call} ({replication.arn})")
        lines += [f"    {table}" for table in tables]
    return lines + _consequences(target, reanchor_)


def _consequences(target: Target, reanchor_: bool) -> list[str]:
    writer = target.naming.name(target.source.name, "generations")
    lines = ["what happens:"]
    if reanchor_:
        slot = (
            " (PostgreSQL: through a replication slot that must be usable: check pg_replication_slots after the "
            "restart, docs/operating.md)"
            if target.source.engine == "postgres"
            else ""
        )
        lines.append(
            "  - each replication is restarted with reload-target: every table is loaded again and changes are "
            f"captured from the restart on{slot}; until a table's new load is marked, its view shows the previous "
            "generation and only the changes captured before the position was lost"
        )
    else:
        lines.append("  - DMS loads each table again while change capture keeps running")
    lines += [
        "  - each load is a new load generation in raw history; nothing is deleted (TargetTablePrepMode "
        "DO_NOTHING): earlier loads and changes stay as history",
        "  - each current-state view keeps showing the previous generation (and every change since it began) "
        f"until the new load is complete and {writer} has written its generation marker (polled every "
        "5 minutes); then it shows the new load and every change committed since it began",
    ]
    return lines


def confirm(question: str) -> None:
    """Ask on a terminal; refuse (exit 2) without one, or when the answer is not yes."""
    if not sys.stdin.isatty():
        raise cli.CommandError("standard input is not a terminal: nothing was reloaded; pass --yes to go ahead")
    print(f"{question} [y/N] ", end="", flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise cli.CommandError("not confirmed: nothing was reloaded")


# --- following the loads ---------------------------------------------------------------------


@dataclass
class Progress:
    """One table's reload as the command follows it."""

    table: str
    replication: Replication
    after: datetime | None  # FullLoadEndTime before the request: a newer end is this reload's
    state: str = "requested"
    entry: dict = field(default_factory=dict)
    marker: str = ""  # the marker's key once it exists, or why none is expected
    done: bool = False
    failed: bool = False


def is_new_load(progress: Progress, entry: dict, requested_at: datetime) -> bool:
    """Whether the statistics show a completed load that ended after the request."""
    started, ended = entry.get("FullLoadStartTime"), entry.get("FullLoadEndTime")
    if entry.get("TableState") != COMPLETED or not started or not ended:
        return False
    if progress.after is not None:
        return ended > progress.after
    return started >= requested_at - CLOCK_ALLOWANCE


class Follower:
    """Polls the table statistics and the raw-history bucket until every table is loaded and marked."""

    def __init__(self, target: Target, dms: Any, s3: Any, tables: dict[str, Any]):
        self.target, self.dms, self.s3, self.tables = target, dms, s3, tables

    def follow(self, progress: list[Progress], requested_at: datetime, poll: float, timeout: float) -> None:
        """Until every table is done; CommandError (exit 1) on a failed table or the timeout."""
        deadline = CLOCK.monotonic() + timeout
        while True:
            for replication in dict.fromkeys(p.replication for p in progress if not p.done):
                statistics = statistics_or_none(self.dms, replication)
                for item in (p for p in progress if p.replication == replication and not p.done):
                    self._advance(item, (statistics or {}).get(item.table), requested_at)
            failed = [p for p in progress if p.failed]
            if failed:
                raise cli.CommandError(_failure(failed), code=cli.FINDINGS)
            if all(p.done for p in progress):
                return
            if CLOCK.monotonic() >= deadline:
                raise cli.CommandError(_timeout(progress, timeout), code=cli.FINDINGS)
            CLOCK.sleep(poll)

    def _advance(self, item: Progress, entry: dict | None, requested_at: datetime) -> None:
        state = item.state
        if entry is not None and entry.get("TableState") in FAILED_STATES:
            item.state, item.failed = entry["TableState"], True
        elif entry is not None and is_new_load(item, entry, requested_at):
            item.entry = entry
            item.marker, item.done = self._marker(item.table, entry)
            item.state = "loaded and marked" if item.done else "loaded, waiting for its generation marker"
        elif entry is not None:
            item.state = str(entry.get("TableState") or state)
        if item.state != state:
            print(f"  {item.table}: {item.state}", flush=True)

    def _marker(self, table: str, entry: dict) -> tuple[str, bool]:
        """The load's marker key and whether it exists (or why none is expected, and True)."""
        from functions.common.generations import marker_key
        from functions.common.layout import by_name

        meta = self.tables.get(table)
        if meta is None or not meta.dms.change_sequence:
            why = "no metadata" if meta is None else "no change-sequence column"
            return f"none expected ({why}: the table has no current-state view)", True
        layout = by_name(self.target.source.raw_history_partition)
        key = marker_key(meta, entry["FullLoadStartTime"], entry["FullLoadEndTime"], layout)
        try:
            self.s3.head_object(Bucket=self.target.raw_bucket, Key=key)
        except Exception as exc:  # botocore's ClientError
            if _code(exc) in ("403", "AccessDenied"):
                raise cli.CommandError(
                    f"HeadObject on s3://{self.target.raw_bucket}/{key} was refused (403): the marker check needs "
                    "s3:GetObject on the raw-history bucket, and s3:ListBucket so that a marker not yet written is "
                    "a 404; the reload itself was requested"
                ) from None
            if _code(exc) not in MISSING:
                raise
            return key, False
        return key, True


def _failure(failed: list[Progress]) -> str:
    named = "; ".join(f"{p.table}: {p.state} in {p.replication.identifier} (log group {p.replication.log_group})"
                      for p in failed)  # fmt: skip
    return f"{named}; the view keeps its previous generation; fix the cause and reload the table again"


def _timeout(progress: list[Progress], timeout: float) -> str:
    waiting = ", ".join(f"{p.table} ({p.state})" for p in progress if not p.done)
    return f"not finished after {int(timeout)} s: {waiting}; DMS carries on: follow its table statistics"


def report(target: Target, progress: list[Progress]) -> None:
    """One line per table: the load it now shows and where its marker is."""
    for item in progress:
        entry = item.entry
        rows = entry.get("FullLoadRows")
        started, ended = (entry[k].astimezone(UTC) for k in ("FullLoadStartTime", "FullLoadEndTime"))
        load = f"loaded {started:%Y-%m-%d %H:%M:%S} to {ended:%Y-%m-%d %H:%M:%S} UTC"  # botocore: local time zone
        load += f", {rows} rows" if rows is not None else ""
        where = f"s3://{target.raw_bucket}/{item.marker}" if not item.marker.startswith("none") else item.marker
        print(f"{item.table}: {load}; generation marker {where}")
    if any(not item.marker.startswith("none") for item in progress):
        print("each marked table's current-state view now shows its new load and the changes since it began")


# --- the command ---------------------------------------------------------------------------


def _parser() -> Any:
    parser = cli.parser("reload", __doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the stack whose source to reload")
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--table", action="append", help="schema.table to reload (repeat for more)")
    which.add_argument("--all", action="store_true", help="every table of every replication of the source")
    parser.add_argument(
        "--reanchor", action="store_true", help="with --all: restart each replication with reload-target (a lost slot)"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    parser.add_argument("--no-wait", action="store_true", help="return once DMS has accepted the request")
    parser.add_argument("--timeout", type=int, default=TIMEOUT_SECONDS, help="seconds to follow the loads")
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS, help="seconds between polls")
    return parser


@cli.command("reload")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge reload``: exit 1 when a table's reload fails or does not finish in time."""
    args = _parser().parse_args(argv)
    if args.reanchor and not args.all:
        raise cli.CommandError("--reanchor restarts every table of the source's replications: use it with --all")
    if args.timeout <= 0 or args.poll_seconds <= 0:
        raise cli.CommandError("--timeout and --poll-seconds must be greater than 0")
    target = load_target(args.stack, args.source)
    check_source(target)
    groups = assign(target, args.table) if args.table else {r: [] for r in target.replications}
    dms = cli.aws_client("dms", args.stack)
    statuses = {r: replication_status(dms, r) for r in groups}
    check_states(target, statuses, args.reanchor)
    baselines = {r: statistics_or_none(dms, r) or {} for r in groups}
    if args.all:
        groups = every_table(target, baselines)
    print("\n".join(plan_lines(target, groups, args.reanchor)))
    if not args.yes:
        confirm(f"reload {sum(map(len, groups.values()))} table(s) of {target.source.name} in {target.stack}?")
    requested_at = CLOCK.now()
    for replication, tables in groups.items():
        if args.reanchor:
            reanchor(dms, replication, statuses[replication], args.poll_seconds)
        else:
            request_reload(dms, replication, tables)
            print(f"  {replication.identifier}: reload requested for {len(tables)} table(s)")
    if args.no_wait:
        print(f"requested; each view switches once its generation marker appears in s3://{target.raw_bucket}/")
        return cli.OK
    return _follow(target, dms, groups, baselines, requested_at, args)


def _follow(target: Target, dms: Any, groups: dict, baselines: dict, requested_at: datetime, args: Any) -> int:
    from cloudbridge.metadata import committed
    from components.workspace import metadata_root

    progress = [
        Progress(table, replication, (baselines[replication].get(table) or {}).get("FullLoadEndTime"))
        for replication, tables in groups.items()
        for table in tables
    ]
    tables = committed(metadata_root(), target.source.name)
    Follower(target, dms, cli.aws_client("s3", target.stack), tables).follow(
        progress, requested_at, args.poll_seconds, args.timeout
    )
    report(target, progress)
    return cli.OK
