"""``python -m cloudbridge reload``, run by the sandbox on its DMS stand-in: the command's own code.

``reload_command`` runs what the command's ``main`` runs with ``--yes`` (cloudbridge/reload.py),
step for step and through the same functions — its argument parser, ``check_source``,
``assign`` or ``every_table``, ``replication_status`` and ``check_states``, the baseline
statistics, ``plan_lines``, ``request_reload`` or (``--all --reanchor``) ``reanchor``, then a
``Follower`` until every table's new load is complete and its generation marker is in raw
history, and ``report`` — against a boto3-shaped DMS client (cloudbridge/sandbox/dms_api.py,
every request checked against botocore's model) and the local S3. Only what ``main`` reads from
the stack file (the target, the clients) is given instead. What the command prints is captured
per thread (the sandbox's traffic and progress go on meanwhile), and its exit code is the one
``main`` would return. A test and demo tool: nothing of it is deployed.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cloudbridge import cli, reload
from cloudbridge.metadata import committed
from components.workspace import metadata_root

POLL_SECONDS = 0.2  # the sandbox's --poll-seconds (the command's default is 30)
TIMEOUT_SECONDS = 120  # its --timeout: a stuck load is reported, not waited for all day


@dataclass
class CommandRun:
    """One run of the reload command: its arguments, output, exit code and the tables it followed."""

    argv: list[str]
    code: int | None = None  # what main would return; None when it raised (a bug, not an exit)
    lines: list[str] = field(default_factory=list)
    problem: str | None = None  # the one line an exit 1 or 2 prints on stderr, or the bug
    progress: list[reload.Progress] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)  # DMS operations it called, each checked against botocore
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether it exited 0: every table loaded again and marked."""
        return self.code == cli.OK

    def rows(self) -> dict[str, int | None]:
        """Rows of each table's new load, per its table statistics."""
        return {p.table: p.entry.get("FullLoadRows") for p in self.progress if p.done}

    def to_dict(self) -> dict[str, Any]:
        """For the report."""
        return {
            "command": "python -m cloudbridge reload " + " ".join(self.argv),
            "exitCode": self.code,
            "problem": self.problem,
            "dmsCalls": dict(sorted(self.calls.items())),
            "markers": {p.table: p.marker for p in self.progress if p.done},
            "seconds": round(self.seconds, 2),
            "output": self.lines,
        }


def arguments(target: reload.Target, tables: list[str] | None, reanchor: bool, poll: float, timeout: int) -> list[str]:
    """The command line an operator would type (``--all`` when no table is named)."""
    argv = ["--stack", target.stack, "--source", target.source.name]
    argv += [part for table in tables for part in ("--table", table)] if tables else ["--all"]
    argv += ["--reanchor"] if reanchor else []
    return argv + ["--yes", "--timeout", str(timeout), "--poll-seconds", str(poll)]


def reload_command(
    target: reload.Target,
    dms: Any,
    s3: Any,
    tables: list[str] | None = None,
    reanchor: bool = False,
    poll: float = POLL_SECONDS,
    timeout: int = TIMEOUT_SECONDS,
    say: Callable[[str], None] = lambda line: None,
) -> CommandRun:
    """``reload --table …`` (or ``--all [--reanchor]``) ``--yes`` on ``target``, through the command's code;
    each line it prints goes to ``say`` as well as into the run."""
    run = CommandRun(arguments(target, tables, reanchor, poll, timeout))
    first_call, started = len(getattr(dms, "calls", [])), time.monotonic()
    output = _Lines(run.lines, say)
    with printed_to(output):
        try:
            run.code = _main(run, target, dms, s3)
        except Exception as exc:
            problem = cli.explain(exc)  # what the command's wrapper turns into one line and an exit code
            if problem is None:
                run.problem = f"{type(exc).__name__}: {exc}"
            else:
                run.code = exc.code if isinstance(exc, cli.CommandError) else cli.USAGE
                run.problem = problem
                print(f"cloudbridge reload: {problem}")  # stderr, for the operator
    output("\n" if output.partial else "")
    run.calls.update(name for name, _ in getattr(dms, "calls", [])[first_call:])
    run.seconds = time.monotonic() - started
    return run


def _main(run: CommandRun, target: reload.Target, dms: Any, s3: Any) -> int:
    """reload.main after its stack file is read: the same steps, in the same order."""
    args = reload._parser().parse_args(run.argv)  # the command's own options
    if args.reanchor and not args.all:
        raise cli.CommandError("--reanchor restarts every table of the source's replications: use it with --all")
    reload.check_source(target)
    groups = reload.assign(target, args.table) if args.table else {r: [] for r in target.replications}
    statuses = {r: reload.replication_status(dms, r) for r in groups}
    reload.check_states(target, statuses, args.reanchor)
    baselines = {r: reload.statistics_or_none(dms, r) or {} for r in groups}
    if args.all:
        groups = reload.every_table(target, baselines)
    print("\n".join(reload.plan_lines(target, groups, args.reanchor)))
    requested_at = reload.CLOCK.now()
    for replication, names in groups.items():
        if args.reanchor:
            reload.reanchor(dms, replication, statuses[replication], args.poll_seconds)
        else:
            reload.request_reload(dms, replication, names)
            print(f"  {replication.identifier}: reload requested for {len(names)} table(s)")
    run.progress = [
        reload.Progress(table, replication, (baselines[replication].get(table) or {}).get("FullLoadEndTime"))
        for replication, names in groups.items()
        for table in names
    ]
    metadata = committed(metadata_root(), target.source.name)
    reload.Follower(target, dms, s3, metadata).follow(run.progress, requested_at, args.poll_seconds, args.timeout)
    reload.report(target, run.progress)
    return cli.OK


# --- what the command prints, per thread --------------------------------------------------------


class _Lines:
    """Collects printed text as lines; passes each complete one on."""

    def __init__(self, lines: list[str], say: Callable[[str], None]):
        self.lines, self.say, self.partial = lines, say, ""

    def __call__(self, text: str) -> None:
        *complete, self.partial = (self.partial + text).split("\n")
        for line in complete:
            self.lines.append(line)
            self.say(line)


class _Router:
    """``sys.stdout`` while a command runs: what a capturing thread prints goes to its sink (which
    may print in turn, to the original stream), everything else where it went before."""

    def __init__(self, default: Any):
        self.default, self.local = default, threading.local()

    def write(self, text: str) -> int:
        """To the thread's sink, or to the original stream."""
        sink = getattr(self.local, "sink", None)
        if sink is None:
            return self.default.write(text)
        self.local.sink = None  # what the sink prints goes to the original stream
        try:
            sink(text)
        finally:
            self.local.sink = sink
        return len(text)

    def flush(self) -> None:
        """Flush the original stream (a sink has nothing to flush)."""
        if getattr(self.local, "sink", None) is None:
            self.default.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.default, name)


_ROUTING = threading.Lock()
_routed = 0  # threads capturing now


@contextlib.contextmanager
def printed_to(sink: Callable[[str], None]) -> Iterator[None]:
    """What this thread prints in the block goes to ``sink``; other threads print as before."""
    global _routed
    with _ROUTING:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)
        router, _routed = sys.stdout, _routed + 1
    router.local.sink = sink
    try:
        yield
    finally:
        router.local.sink = None
        with _ROUTING:
            _routed -= 1
            if not _routed and sys.stdout is router:
                sys.stdout = router.default
