"""A seekable file over an ObjectSource, for the pyarrow baselines: every read is a ranged
GET of exactly what pyarrow asks for, through the same shaped S3 as the validator."""

from __future__ import annotations

from functions.validator.reader import Seekable


class LocalRanged(Seekable):
    """A read-only seekable file whose reads are ranged GETs through an ObjectSource."""

    def __init__(self, source):
        super().__init__()
        self.source, self.size, self.pos = source, source.size, 0

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes from the current position (the rest of the object when ``n`` < 0)."""
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if self.pos >= end:
            return b""
        data = self.source.fetch([(self.pos, end)])[0]
        self.pos = end
        return data
