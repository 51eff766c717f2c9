"""A read-only, seekable file over one S3 object, read with ranged GETs.

pyarrow reads a parquet footer and then only the column chunks it is asked for, so a
validation that statistics can decide costs a few kilobytes, not the object.
"""

from __future__ import annotations

import io
from typing import Any

_CACHE_LIMIT = 1 << 20


class RangedS3File(io.RawIOBase):
    """File-like view of ``s3://bucket/key`` pinned to one ETag (``IfMatch``)."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int, etag: str | None = None):
        super().__init__()
        self._s3, self.bucket, self.key, self.size, self.etag = s3, bucket, key, size, etag
        self._pos = 0
        self._cache_start = 0
        self._cache = b""
        # Bytes fetched beyond a read, for sequential scans of row groups: one GET then
        # serves the next few column chunks. 0 (the default) reads exactly what is asked.
        self.read_ahead = 0
        self.bytes_read = 0  # bytes fetched from S3
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) from S3, in one request."""
        kwargs = {"Bucket": self.bucket, "Key": self.key, "Range": f"bytes={start}-{end - 1}"}
        if self.etag:
            kwargs["IfMatch"] = self.etag  # the object must not change under the validation
        data = self._s3.get_object(**kwargs)["Body"].read()
        self.requests += 1
        self.bytes_read += len(data)
        return data

    def _ensure(self, start: int, end: int) -> None:
        """Make the cache hold [start, end): reuse what it holds of the beginning, fetch
        the rest in one GET, plus ``read_ahead`` bytes for the reads that follow."""
        cache_start, cache_end = self._cache_start, self._cache_start + len(self._cache)
        if cache_start <= start and end <= cache_end:
            return
        head = self._cache[start - cache_start :] if cache_start <= start < cache_end else b""
        fetch_from = start + len(head)
        fetched = self._fetch(fetch_from, min(self.size, max(end, fetch_from + self.read_ahead)))
        self._cache_start, self._cache = start, head + fetched

    def prefetch(self, start: int, end: int) -> None:
        """One GET for a range about to be read piecewise (a row group's column chunks)."""
        self._ensure(max(0, start), min(self.size, end))

    def read(self, size: int = -1) -> bytes:
        start = self._pos
        end = self.size if size is None or size < 0 else min(self.size, start + size)
        if start >= end:
            return b""
        self._ensure(start, end)
        data = self._cache[start - self._cache_start : end - self._cache_start]
        if len(self._cache) > max(_CACHE_LIMIT, self.read_ahead):
            # A large one-off read (a whole column chunk): not worth keeping.
            self._cache_start, self._cache = 0, b""
        self._pos = end
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
