"""Moving a validated file out of the landing bucket without ever losing or doubling it.

copy (server-side, multipart when large, pinned to the validated ETag) → delete (only
that ETag). Destination keys are deterministic, and the copy records the landing ETag,
so a redelivered event or a retry after a crash between copy and delete finds its copy
in place and only finishes the delete.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from botocore.exceptions import ClientError

from functions.common.keys import FileKey
from functions.common.layout import DAY, Layout
from functions.common.runtime import OUTCOME_TAG, REASONS_TAG

SOURCE_ETAG = "cloudbridge-source-etag"
LANDING_KEY = "cloudbridge-landing-key"
# When the landing object was written: with its key and ETag, what its raw-history key is
# derived from, so a replay from the fail bucket lands exactly where a first pass would.
LANDING_MODIFIED = "cloudbridge-landing-modified"
REASONS = REASONS_TAG
MULTIPART_THRESHOLD = 64 * 1024 * 1024  # copy_object handles up to 5 GB; parts go in parallel
_METADATA_BUDGET = 1800  # S3 user metadata is limited to 2 KB in all


@dataclass(frozen=True)
class LandingObject:
    """An object as it was when validated: bucket, key, size, ETag, time it landed."""

    bucket: str
    key: str
    size: int
    etag: str  # as S3 returns it, quoted
    last_modified: datetime


def not_found(error: ClientError) -> bool:
    """Whether an S3 error says the object is not there."""
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def precondition_failed(error: ClientError) -> bool:
    """Whether an S3 error says the object changed (ETag condition)."""
    return error.response.get("Error", {}).get("Code") in ("412", "PreconditionFailed")


def head(s3: Any, bucket: str, key: str) -> dict | None:
    """The object's HEAD, or None if it is gone."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def etag_token(etag: str) -> str:
    """The first 16 hex digits of an ETag, for keys."""
    return re.sub(r"[^0-9a-f]", "", etag.lower())[:16]


def raw_history_key(file_key: FileKey, obj: LandingObject, layout: Layout = DAY) -> str:
    """``<schema>/<table>/<partition>/<name>-<etag>.parquet``, the partition in the source's
    ``layout`` (``YYYY/MM/DD`` or ``YYYY/MM/DD/HH``).

    The partition is the CDC commit-date folders (or the time a CDC file name starts with),
    else the landing object's own time (full-load files), so every file sits in one
    partition. The ETag keeps a same-day reload from overwriting an earlier LOAD file.
    """
    stamped = layout.of_stamp(file_key.filename) if file_key.kind == "cdc" else None
    # else: full load, or a CDC name that carries no date
    partition = file_key.partition or stamped or layout.folder(obj.last_modified)
    stem = file_key.filename.rsplit(".", 1)[0]
    return f"{file_key.schema}/{file_key.table}/{partition}/{stem}-{etag_token(obj.etag)}.parquet"


def fail_key(obj: LandingObject) -> str:
    """The landing key itself: the fail bucket mirrors landing (it is versioned)."""
    return obj.key


def reasons_metadata(findings: list[dict[str, str]]) -> str:
    """The reasons as ASCII JSON that fits S3's user-metadata budget."""
    kept: list[dict[str, str]] = []
    for finding in findings:
        trial = kept + [{"code": finding["code"], "message": finding["message"][:300]}]
        if len(json.dumps(trial, ensure_ascii=True)) > _METADATA_BUDGET:
            break
        kept = trial
    return json.dumps(kept, ensure_ascii=True)


def tag_value(text: str) -> str:
    """S3 tag values: up to 256 of letters, digits, spaces and + - = . _ : / @."""
    return re.sub(r"[^A-Za-z0-9 +\-=._:/@]", "_", text)[:256]


def copy_to(
    s3: Any,
    obj: LandingObject,
    bucket: str,
    key: str,
    *,
    outcome: str,
    findings: list[dict[str, str]],
    transfer_config: Any = None,
    landing: LandingObject | None = None,
) -> bool:
    """Server-side copy of ``obj`` to ``bucket/key`` unless that copy already exists.

    ``landing`` is the object as it arrived in landing when ``obj`` is a later copy of it
    (a replay from the fail bucket): the copy records the landing object's identity.
    Returns False when an earlier attempt had already copied this very object.
    """
    landing = landing or obj
    existing = head(s3, bucket, key)
    if existing and existing.get("Metadata", {}).get(SOURCE_ETAG) == landing.etag:
        return False
    metadata = {
        SOURCE_ETAG: landing.etag,
        LANDING_KEY: quote(landing.key, safe="/"),
        LANDING_MODIFIED: landing.last_modified.astimezone(UTC).isoformat(),
    }
    tags = {OUTCOME_TAG: outcome}
    if findings:
        metadata[REASONS] = reasons_metadata(findings)
        tags[REASONS_TAG] = tag_value(" ".join(sorted({f["code"] for f in findings})))
    s3.copy(
        {"Bucket": obj.bucket, "Key": obj.key},
        bucket,
        key,
        ExtraArgs={
            "CopySourceIfMatch": obj.etag,  # exactly the bytes that were validated
            "Metadata": metadata,
            "MetadataDirective": "REPLACE",
            "Tagging": urlencode(tags),
            "TaggingDirective": "REPLACE",
        },
        Config=transfer_config,
    )
    return True


def delete_landing(s3: Any, obj: LandingObject) -> str:
    """Delete the landing object if it is still the one that was copied."""
    try:
        s3.delete_object(Bucket=obj.bucket, Key=obj.key, IfMatch=obj.etag)
    except ClientError as exc:
        if not_found(exc):
            return "already-deleted"
        if precondition_failed(exc):
            # DMS wrote a new object under the same key: it has an event of its own.
            return "replaced"
        raise
    return "deleted"
