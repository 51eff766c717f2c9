"""Validator Lambda entry point: an SQS batch of S3 ObjectCreated events."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

from functions.common.keys import UnrecognizedKeyError, decode_event_key, parse_key

logger = logging.getLogger()
logger.setLevel(logging.INFO)

_s3 = None


def _client():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def _is_parquet(s3, bucket: str, key: str) -> tuple[bool, str]:
    head = s3.head_object(Bucket=bucket, Key=key)
    size = head["ContentLength"]
    if size < 12:
        return False, f"{size} bytes is too small for parquet"
    first = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-3")["Body"].read()
    last = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={size - 4}-{size - 1}")["Body"].read()
    if first != b"PAR1" or last != b"PAR1":
        return False, "missing parquet magic bytes"
    return True, ""


def _route(s3, bucket: str, key: str) -> str:
    try:
        parse_key(key)
        ok, reason = _is_parquet(s3, bucket, key)
    except UnrecognizedKeyError as exc:
        ok, reason = False, str(exc)
    target = os.environ["RAW_HISTORY_BUCKET"] if ok else os.environ["FAIL_BUCKET"]
    s3.copy_object(
        Bucket=target,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        TaggingDirective="REPLACE",
        Tagging="" if ok else f"cloudbridge-reason={reason[:250]}",
    )
    s3.delete_object(Bucket=bucket, Key=key)
    return "pass" if ok else "fail"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s3 = _client()
    failures = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            for s3_record in body.get("Records", []):
                bucket = s3_record["s3"]["bucket"]["name"]
                key = decode_event_key(s3_record["s3"]["object"]["key"])
                try:
                    outcome = _route(s3, bucket, key)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                        outcome = "already-moved"
                    else:
                        raise
                logger.info(json.dumps({"key": key, "outcome": outcome}))
        except Exception:
            logger.exception("record %s failed", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
