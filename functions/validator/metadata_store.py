"""Table metadata as the validator reads it: from the metadata bucket, cached per container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from functions.common.metadata import MetadataError, TableMetadata, metadata_key
from functions.validator import routing

METADATA_TTL_SECONDS = 300


class MetadataStore:
    """Table metadata from the metadata bucket: one GET per table per container (and per
    TTL, so a deploy that changes metadata is picked up), never a listing."""

    def __init__(
        self, s3: Any, bucket: str, ttl: float = METADATA_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self._s3, self._bucket, self._ttl, self._clock = s3, bucket, ttl, clock
        self._cache: dict[tuple[str, str], tuple[float, TableMetadata | MetadataError | None]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, schema: str, table: str) -> TableMetadata | None:
        """The table's metadata, None if there is none; MetadataError if it cannot be
        used (decided: every file of the table fails with the reason until it is fixed)."""
        with self._lock:  # concurrent files of one table: one GET
            now = self._clock()
            cached = self._cache.get((schema, table))
            if not cached or now - cached[0] >= self._ttl:
                cached = (now, self._fetch(schema, table))
                self._cache[(schema, table)] = cached
        if isinstance(cached[1], MetadataError):
            raise cached[1]
        return cached[1]

    def _fetch(self, schema: str, table: str) -> TableMetadata | MetadataError | None:
        key = metadata_key(schema, table)
        self.fetches += 1
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            return TableMetadata.from_json(body, f"s3://{self._bucket}/{key}")
        except ClientError as exc:  # S3 trouble is transient, except a missing object
            if not routing.not_found(exc):
                raise
            return None
        except MetadataError as exc:
            return exc
