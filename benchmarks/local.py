"""A seekable file over an ObjectSource, for the pyarrow baselines: every read is a ranged
GET of exactly what pyarrow asks for, through the same shaped S3 as the validator."""

from __future__ import annotations

import io


class LocalRanged(io.RawIOBase):
    def __init__(self, source):
        super().__init__()
        self.source, self.pos = source, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.source.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.source.size if n is None or n < 0 else min(self.source.size, self.pos + n)
        if self.pos >= end:
            return b""
        data = self.source.fetch([(self.pos, end)])[0]
        self.pos = end
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
