"""``python -m cloudbridge replay --source NAME [--stack S] [--table schema.table]
[--since YYYY-MM-DD] [--dry-run]``: re-validate the quarantine after a fix.

Every current object of the source's fail bucket (a newer metadata may now accept it) is
validated again **where it lies** — never dropped back into landing, where its name could
clash with a file DMS writes — against the metadata published now:

* passing: copied to exactly the raw-history key it would have had had it passed on
  arrival (derived from the landing key, ETag and time recorded when it was quarantined),
  then its fail object is deleted (the versioned fail bucket keeps the old version);
* still failing: its reasons are updated as object tags (no new version, the expiry
  clock is not reset).

Safe to run twice or concurrently: a file already replayed is no longer a current object,
copies are keyed deterministically and skipped when present, deletes are pinned to the
ETag that was validated. AWS credentials come from the environment (a role of the
account); bucket names and region from the stack file. Exit status 1 when files are still
failing (see ``cloudbridge.cli``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from cloudbridge import cli
from functions.common.keys import UnrecognizedKeyError, parse_key
from functions.common.layout import DAY, Layout
from functions.common.metadata import MetadataError
from functions.common.runtime import ALERT_MARKERS, OUTCOME_TAG, REASONS_TAG, REPLAYED_TAG
from functions.validator import checks, findings, routing
from functions.validator.metadata_store import MetadataStore
from functions.validator.partitions import Partitions
from functions.validator.s3file import ObjectSource


@dataclass
class Summary:
    """What a replay did: files seen, moved to raw-history, still failing, skipped, and why they fail."""

    seen: int = 0
    replayed: int = 0  # passed now: moved to raw-history
    still_failing: int = 0
    skipped: int = 0  # filtered out, or changed/removed while running
    reasons: Counter = field(default_factory=Counter)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (fail key, raw-history key)

    def to_dict(self) -> dict[str, Any]:
        """The summary as printed in JSON."""
        return {
            "seen": self.seen,
            "replayed": self.replayed,
            "stillFailing": self.still_failing,
            "skipped": self.skipped,
            "reasons": dict(self.reasons),
        }


def _current_objects(s3: Any, bucket: str, prefix: str = ""):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].startswith(ALERT_MARKERS):
                yield obj


def replay(
    s3: Any,
    *,
    fail_bucket: str,
    raw_bucket: str,
    metadata_bucket: str,
    table: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    mode: str = "statistics",
    say: Callable[[str], None] = print,
    partitions: Partitions | None = None,
    layout: Layout = DAY,
) -> Summary:
    """Validate quarantined files again (after a metadata fix) and move those that now pass to
    raw-history, into the partitions of the source's ``layout`` (as the validator would)."""
    store = MetadataStore(s3, metadata_bucket, ttl=0)
    run = _Run(s3, fail_bucket, raw_bucket, store, mode, dry_run, say, partitions, layout)
    prefix = table.replace(".", "/", 1) + "/" if table else ""
    for listed in _current_objects(s3, fail_bucket, prefix):
        run.summary.seen += 1
        if since and listed["LastModified"] < since:
            run.summary.skipped += 1
            continue
        run.one(listed["Key"])
    return run.summary


@dataclass
class _Run:
    """One replay: its buckets and settings, and what it has done so far."""

    s3: Any
    fail_bucket: str
    raw_bucket: str
    store: MetadataStore  # ttl 0: always the metadata published now
    mode: str
    dry_run: bool
    say: Callable[[str], None]
    partitions: Partitions | None
    layout: Layout
    summary: Summary = field(default_factory=Summary)

    def one(self, key: str) -> None:
        """Validate one quarantined file again; move it if it passes, retag it if not."""
        head = routing.head(self.s3, self.fail_bucket, key)
        if head is None:  # replayed concurrently
            self.summary.skipped += 1
            return
        landing, quarantined = self._objects(key, head)
        try:
            findings, file_key = self._validate(key, head, landing.key)
        except _GoneError:
            self.summary.skipped += 1
            return
        if findings:
            self._still_failing(key, head, findings)
        else:
            self._move(key, head, quarantined, routing.raw_history_key(file_key, landing, self.layout), landing)

    def _objects(self, key: str, head: dict) -> tuple[routing.LandingObject, routing.LandingObject]:
        """The file as it first landed (key, ETag, arrival time recorded at quarantine), and as it is now."""
        meta = head.get("Metadata", {})
        landing_key = unquote(meta.get(routing.LANDING_KEY, "")) or key
        arrived = meta.get(routing.LANDING_MODIFIED)
        landing = routing.LandingObject(
            bucket="landing",
            key=landing_key,
            size=head["ContentLength"],
            etag=meta.get(routing.SOURCE_ETAG, head["ETag"]),
            last_modified=datetime.fromisoformat(arrived) if arrived else head["LastModified"],
        )
        quarantined = routing.LandingObject(
            self.fail_bucket, key, head["ContentLength"], head["ETag"], head["LastModified"]
        )
        return landing, quarantined

    def _validate(self, key: str, head: dict, landing_key: str) -> tuple[list, Any]:
        """The validator's findings for the file now (with today's metadata), and its parsed key."""
        try:
            file_key = parse_key(landing_key, layout=self.layout)
        except UnrecognizedKeyError as exc:
            return [findings.Finding(findings.UNRECOGNIZED_KEY, str(exc))], None
        try:
            metadata = self.store.get(file_key.schema, file_key.table)
        except MetadataError as exc:
            return [findings.Finding(findings.METADATA_INVALID, str(exc))], file_key
        source = ObjectSource(self.s3, self.fail_bucket, key, head["ContentLength"], etag=head["ETag"])
        try:
            return checks.validate(source, file_key, metadata, self.mode).findings, file_key
        except ClientError as exc:
            if _gone(exc):  # replayed (or replaced) by a concurrent run meanwhile
                raise _GoneError from exc
            raise

    def _still_failing(self, key: str, head: dict, findings: list) -> None:
        self.summary.still_failing += 1
        self.summary.reasons.update(f.code for f in findings)
        self.say(f"still failing  {key}: {', '.join(sorted({f.code for f in findings}))}")
        if self.dry_run:
            return
        try:
            _retag(self.s3, self.fail_bucket, key, findings, head.get("VersionId"))
        except ClientError as exc:
            if not _gone(exc):
                raise

    def _move(self, key: str, head: dict, quarantined, destination: str, landing) -> None:
        self.summary.replayed += 1
        self.summary.moved.append((key, destination))
        self.say(
            f"{'would replay' if self.dry_run else 'replayed'}       {key} -> s3://{self.raw_bucket}/{destination}"
        )
        if self.dry_run:
            return
        try:
            routing.copy_to(
                self.s3, quarantined, self.raw_bucket, destination, outcome="passed", findings=[], landing=landing
            )
            self.s3.delete_object(Bucket=self.fail_bucket, Key=key, IfMatch=head["ETag"])
        except ClientError as exc:
            if not _gone(exc):
                raise
        _register(self.partitions, destination, self.say)


class _GoneError(Exception):
    """The quarantined file changed or went away while it was being replayed."""


def _register(partitions: Partitions | None, destination: str, say: Callable[[str], None]) -> None:
    """The replayed file's date partition, for Spectrum (as the validator does for new files)."""
    error = partitions.try_ensure(destination) if partitions else None
    if error:
        say(f"partition not registered for {destination}: {error}")


def _gone(error: ClientError) -> bool:
    return routing.not_found(error) or routing.precondition_failed(error)


def _retag(s3: Any, bucket: str, key: str, findings: list, version: str | None) -> None:
    codes = " ".join(sorted({f.code for f in findings}))
    tags = [
        {"Key": OUTCOME_TAG, "Value": "failed"},
        {"Key": REASONS_TAG, "Value": routing.tag_value(codes)},
        {"Key": REPLAYED_TAG, "Value": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    ]
    kwargs = {"VersionId": version} if version else {}
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags}, **kwargs)


@cli.command("replay")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge replay``: re-validate a source's quarantined files, optionally dry."""
    parser = cli.parser("replay", __doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="source name in cloudbridge:sources")
    parser.add_argument("--stack", default="dev", help="stack whose buckets to use (default: dev)")
    parser.add_argument("--table", help="only this schema.table")
    parser.add_argument("--since", help="only files quarantined on or after this date (YYYY-MM-DD)")
    parser.add_argument("--dry-run", action="store_true", help="validate and report; move and tag nothing")
    parser.add_argument("--mode", choices=checks.MODES, default="statistics")
    args = parser.parse_args(argv)

    from cloudbridge.stackfile import source_buckets, source_layout

    try:
        since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC) if args.since else None
    except ValueError:
        raise cli.CommandError(f"--since {args.since}: not a date (YYYY-MM-DD)") from None
    if args.table and "." not in args.table:
        raise cli.CommandError("--table must be schema.table")
    buckets = source_buckets(args.stack, args.source)
    summary = replay(
        cli.aws_client("s3", args.stack),
        fail_bucket=buckets["fail"],
        raw_bucket=buckets["raw"],
        metadata_bucket=buckets["meta"],
        table=args.table,
        since=since,
        dry_run=args.dry_run,
        mode=args.mode,
        partitions=Partitions(cli.aws_client("glue", args.stack), buckets["glueDatabase"], buckets["raw"]),
        layout=source_layout(args.stack, args.source),
    )
    print(
        f"{summary.seen} quarantined file(s) seen: {summary.replayed} {'would be ' if args.dry_run else ''}replayed, "
        f"{summary.still_failing} still failing, {summary.skipped} skipped"
    )
    return cli.FINDINGS if summary.still_failing else cli.OK
