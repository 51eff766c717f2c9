"""Run native parsing in a child process, so a crash or a runaway costs one file only.

pyarrow is C++: a malformed file can abort the process (``terminate called after
throwing …``) or spin. The validator therefore decodes in a forked child that holds only
bytes already fetched (no sockets, no AWS clients: it closes every inherited descriptor),
with a CPU-time limit per call: CPU seconds, not wall time, so a container starved by its
neighbours is never mistaken for a bad file.

One child serves one file (a ``Worker``): it is forked once and then decodes that file's
windows one after another, so the fork, pyarrow's footer parse and a cold allocator are
paid once per file rather than once per window. A window's bytes reach it through an
anonymous shared mapping made before the fork (one copy, no pickling); requests and
replies travel over pipes. Lambda has no ``/dev/shm``, so multiprocessing's queues and
named shared memory are not an option; anonymous shared mappings and pipes need none.
"""

from __future__ import annotations

import faulthandler
import mmap
import os
import pickle
import resource
import select
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The largest memory growth of a child over its parent at fork, in KiB: what isolation
# adds to the process's memory (the benchmarks report it).
peak_child_growth_kib = 0

CPU_SECONDS = 20  # per call; a DMS file's window decodes in well under a second
WALL_BACKSTOP_SECONDS = 240  # only against a child blocked without using CPU: retried, not decided
EXIT_GRACE_SECONDS = 5  # a child whose request pipe closed exits at once; past this it is killed
_LENGTH = struct.Struct("<Q")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Crashed:
    """The child died or overran its CPU budget: decided, the file is unreadable."""

    reason: str


@dataclass(frozen=True)
class TimedOut:
    """The child used no CPU for too long (a stuck container): transient, retried."""

    reason: str


class ChildError(Exception):
    """A Python exception raised in the child (its type name and message)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


class Worker:
    """A forked child that runs ``fn(parts, *args)`` once per ``call``.

    ``parts`` are ``(offset, bytes)`` pairs; the child sees them as ``(offset, memoryview)``
    over the shared mapping, valid during that call only. A call whose parts exceed the
    mapping restarts the child with a larger one. After a crash or a timeout every later
    call returns the same verdict.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        capacity: int,
        *,
        cpu_seconds: int = CPU_SECONDS,
        wall_seconds: float = WALL_BACKSTOP_SECONDS,
    ):
        self._fn, self.cpu_seconds, self.wall_seconds = fn, cpu_seconds, wall_seconds
        self.verdict: Crashed | TimedOut | None = None
        self.forks = 0
        self._start(capacity)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the parent side ------------------------------------------------------------

    def call(self, parts: list[tuple[int, bytes]], *args: Any) -> Any:
        """``fn(parts, *args)`` in the child: its value, ``ChildError``, or ``Crashed``/``TimedOut``."""
        if self.verdict is not None:
            return self.verdict
        needed = sum(len(data) for _, data in parts)
        if needed > self.capacity:
            self.close()
            self._start(needed + needed // 4)
        layout, at = [], 0
        for offset, data in parts:
            self._shared[at : at + len(data)] = data
            layout.append((offset, at, len(data)))
            at += len(data)
        try:
            _send(self._requests, pickle.dumps((layout, args)))
        except OSError:  # the child is gone (it died between calls)
            return self._fail(self._reap())
        return self._reply()

    def close(self) -> None:
        """End the child (it exits when its request pipe closes) and release the mapping."""
        if self.pid is None:
            return
        os.close(self._requests)
        os.close(self._replies)
        if self.verdict is None:
            self._reap(grace_seconds=EXIT_GRACE_SECONDS)
        self._shared.close()
        self.pid = None

    def _start(self, capacity: int) -> None:
        self.capacity = max(capacity, mmap.PAGESIZE)
        # MAP_SHARED | MAP_ANONYMOUS: the same pages in parent and child, no file, no /dev/shm.
        self._shared = mmap.mmap(-1, self.capacity)
        requests_read, self._requests = os.pipe()
        self._replies, replies_write = os.pipe()
        self._parent_rss = _rss_kib()
        self.pid = os.fork()
        if self.pid == 0:
            _serve(self._fn, self._shared, requests_read, replies_write, self.cpu_seconds)
        self.forks += 1
        os.close(requests_read)
        os.close(replies_write)

    def _reply(self) -> Any:
        cpu_at_start = _cpu_seconds(self.pid)
        deadline = time.monotonic() + self.wall_seconds
        buffer = b""
        while True:
            wanted = _LENGTH.size + (_LENGTH.unpack_from(buffer)[0] if len(buffer) >= _LENGTH.size else 0)
            if len(buffer) >= _LENGTH.size and len(buffer) >= wanted:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._fail(TimedOut(f"no result after {self.wall_seconds:.0f} s of wall time"), kill=True)
            ready, _, _ = select.select([self._replies], [], [], min(remaining, 1.0))
            if not ready:
                if _cpu_seconds(self.pid) - cpu_at_start > self.cpu_seconds + 2:  # a child ignoring SIGXCPU
                    return self._fail(Crashed(self._over_budget()), kill=True)
                continue
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:  # the child died mid-call
                return self._fail(self._reap())
            buffer += chunk
        result = pickle.loads(buffer[_LENGTH.size :])
        if result[0] == "error":
            raise ChildError(result[1], result[2])
        return result[1]

    def _fail(self, verdict: Crashed | TimedOut, kill: bool = False) -> Crashed | TimedOut:
        if kill:
            os.kill(self.pid, signal.SIGKILL)
            self._reap()
        self.verdict = verdict
        return verdict

    def _reap(self, grace_seconds: float | None = None) -> Crashed:
        """Wait for the child (killing it after ``grace_seconds``); what its end says about the file."""
        global peak_child_growth_kib
        deadline = None if grace_seconds is None else time.monotonic() + grace_seconds
        pid, status, usage = os.wait4(self.pid, 0 if deadline is None else os.WNOHANG)
        while pid == 0:  # still running: it should be leaving, having seen its request pipe close
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.001)
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        peak_child_growth_kib = max(peak_child_growth_kib, usage.ru_maxrss - self._parent_rss)
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            if number == signal.SIGXCPU:
                return Crashed(self._over_budget())
            if number == signal.SIGKILL:
                return Crashed("the parquet reader was killed (over its CPU budget, or out of memory)")
            return Crashed(f"the parquet reader crashed ({signal.Signals(number).name})")
        return Crashed(f"the parquet reader exited with status {os.WEXITSTATUS(status)}")

    def _over_budget(self) -> str:
        return f"the parquet reader exceeded its CPU budget of {self.cpu_seconds} s"


class InProcess:
    """``Worker``'s interface without the child: the baseline that measures what isolation costs."""

    def __init__(self, fn: Callable[..., Any], capacity: int, **_: Any):
        self._fn, self.capacity, self.forks = fn, capacity, 0

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, parts: list[tuple[int, bytes]], *args: Any) -> Any:
        """``fn(parts, *args)`` here."""
        return self._fn([(offset, memoryview(data)) for offset, data in parts], *args)

    def close(self) -> None:
        """Nothing to end."""


# --- the child side -------------------------------------------------------------------


def _serve(fn: Callable[..., Any], shared: mmap.mmap, requests: int, replies: int, cpu_seconds: int) -> None:
    """The child's loop: one request, one reply, until the request pipe closes. Never returns."""
    status = 0
    try:
        faulthandler.disable()  # a crash here is the expected outcome, not a report for the parent's log
        _close_inherited(keep={requests, replies})
        view = memoryview(shared)
        while True:
            request = _receive(requests)
            if request is None:
                break
            layout, args = pickle.loads(request)
            parts = [(offset, view[at : at + length]) for offset, at, length in layout]
            _limit_cpu(cpu_seconds)
            try:
                reply = pickle.dumps(("ok", fn(parts, *args)))
            except Exception as exc:  # a Python-level failure: reported, not a crash
                reply = pickle.dumps(("error", type(exc).__name__, str(exc)[:2000]))
            del parts
            _send(replies, reply)
    except BaseException:
        status = 70
    finally:
        os._exit(status)  # no parent cleanup (atexit, buffered files) runs in the child


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor but stdio and ``keep``: sockets to AWS, and other files'
    pipes (a worker forked by another thread would otherwise hold them open)."""
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the listing's own descriptor, already closed
                pass


def _limit_cpu(seconds: int) -> None:
    """This call may use ``seconds`` more CPU seconds: SIGXCPU past that."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + 1 + seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(_LENGTH.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> bytes | None:
    """One length-prefixed message, or None at end of file."""
    head = _read_exactly(fd, _LENGTH.size)
    return None if head is None else _read_exactly(fd, _LENGTH.unpack(head)[0])


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _rss_kib() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0
