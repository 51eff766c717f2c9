"""Run a native parse in a child process, so a crash or a runaway costs one file only.

pyarrow is C++: a malformed file can abort the process (``terminate called after
throwing …``) or spin. The validator therefore decodes in a forked child that holds only
bytes already fetched (no sockets, no AWS clients), with a CPU-time limit: CPU seconds,
not wall time, so a container starved by its neighbours is never mistaken for a bad file.
The result comes back over a pipe (Lambda has no /dev/shm, so no multiprocessing queues).
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The largest memory growth of a child over its parent at fork, in KiB: what isolation
# adds to the process's memory (the benchmarks report it).
peak_child_growth_kib = 0

CPU_SECONDS = 20  # per child; a DMS file's window decodes in well under a second
WALL_BACKSTOP_SECONDS = 240  # only against a child blocked without using CPU: retried, not decided


@dataclass(frozen=True)
class Crashed:
    """The child died or overran its CPU budget: decided, the file is unreadable."""

    reason: str


@dataclass(frozen=True)
class TimedOut:
    """The child used no CPU for too long (a stuck container): transient, retried."""

    reason: str


def run(
    fn: Callable[..., Any], *args: Any, cpu_seconds: int = CPU_SECONDS, wall_seconds: float = WALL_BACKSTOP_SECONDS
) -> Any:
    """``fn(*args)`` in a forked child. Returns its value, re-raises its exception (as
    ``ChildError``), or returns ``Crashed`` / ``TimedOut``."""
    read_end, write_end = os.pipe()
    parent_rss = _rss_kib()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, exit without running any parent cleanup
        status = 0
        try:
            os.close(read_end)
            faulthandler.disable()  # a crash here is the expected outcome, not a report for the parent's log
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
            try:
                payload = pickle.dumps(("ok", fn(*args)))
            except Exception as exc:  # a Python-level failure: reported, not a crash
                payload = pickle.dumps(("error", type(exc).__name__, str(exc)[:2000]))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
        except BaseException:
            status = 70
        finally:
            os._exit(status)

    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + wall_seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return TimedOut(f"no result after {wall_seconds:.0f} s of wall time")
            ready, _, _ = select.select([read_end], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
    global peak_child_growth_kib
    _, status, usage = os.wait4(pid, 0)
    peak_child_growth_kib = max(peak_child_growth_kib, usage.ru_maxrss - parent_rss)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return Crashed(f"the parquet reader exceeded its CPU budget of {cpu_seconds} s")
        if number == signal.SIGKILL:
            return Crashed(f"the parquet reader was killed (CPU hard limit of {cpu_seconds + 1} s, or out of memory)")
        return Crashed(f"the parquet reader crashed ({signal.Signals(number).name})")
    if os.WEXITSTATUS(status) != 0 or not chunks:
        return Crashed(f"the parquet reader exited with status {os.WEXITSTATUS(status)}")
    result = pickle.loads(b"".join(chunks))
    if result[0] == "error":
        raise ChildError(result[1], result[2])
    return result[1]


def _rss_kib() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0


class ChildError(Exception):
    """A Python exception raised in the child (its type name and message)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message
