"""Ranged reads of one S3 object: exactly the byte ranges asked for, several in flight.

Every GET is pinned to the ETag that was validated (``IfMatch``), so a file replaced
mid-validation fails the read instead of mixing two files. The GETs of all files of a
batch share one pool of connections (``MAX_CONNECTIONS``).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

MAX_CONNECTIONS = 8
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """The process-wide pool of GET threads (MAX_CONNECTIONS)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _limit_malloc_arenas()
            _pool = ThreadPoolExecutor(max_workers=MAX_CONNECTIONS, thread_name_prefix="s3-range")
        return _pool


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates its own arena and rarely returns their memory:
    eight threads reading windows of bytes would hold eight windows' worth. Two suffice."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


class _Done:
    def __init__(self, value: list[bytes]):
        self.value = value

    def result(self) -> list[bytes]:
        """The bytes of every range, in order."""
        return self.value


class _Pending:
    """GETs in flight. No callbacks: nothing keeps a window's bytes alive once its reader
    has taken them (a callback closure would, in a cycle only the garbage collector breaks)."""

    def __init__(self, futures: list[Future]):
        self._futures: list[Future] | None = futures

    def result(self) -> list[bytes]:
        """The bytes of every range, in order."""
        futures, self._futures = self._futures or [], None
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


class ObjectSource:
    """``s3://bucket/key`` of a known size, read by ranges [start, end)."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int, etag: str | None = None):
        self._s3, self.bucket, self.key, self.size, self.etag = s3, bucket, key, size, etag
        self._lock = threading.Lock()
        self.bytes_read = 0
        self.requests = 0

    def _get(self, start: int, end: int) -> bytes:
        kwargs = {"Bucket": self.bucket, "Key": self.key, "Range": f"bytes={start}-{end - 1}"}
        if self.etag:
            kwargs["IfMatch"] = self.etag  # the object must not change under the validation
        data = self._s3.get_object(**kwargs)["Body"].read()
        with self._lock:
            self.requests += 1
            self.bytes_read += len(data)
        return data

    def fetch_async(self, ranges: list[tuple[int, int]]) -> _Pending | _Done:
        """Start fetching ``ranges`` (one GET each, in parallel); ``.result()`` gives their bytes."""
        ranges = [(max(0, s), min(self.size, e)) for s, e in ranges if e > s]
        if not ranges:
            return _Done([])
        return _Pending([pool().submit(self._get, s, e) for s, e in ranges])

    def fetch(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of ``ranges`` (one GET each, in parallel)."""
        return self.fetch_async(ranges).result()
