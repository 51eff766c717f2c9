"""``python -m cloudbridge dr {status,backfill} --stack S``: the disaster-recovery replicas of a stack.

``status`` prints one line per replication rule (each source's raw-history and metadata bucket, and
its fail bucket with ``replicateFail``) from the replication metrics S3 publishes in the DR region
(namespace AWS/S3 by SourceBucket, DestinationBucket and RuleId: OperationsPendingReplication,
BytesPendingReplication, OperationsFailedReplication, ReplicationLatency; failed operations are read in
the primary region too, docs/disaster-recovery.md), then one line per table: the newest raw-history key
in the primary against the newest in the replica. What the primary region does not answer (an outage)
is said on its line and the rest still reported. Exit 1 when a rule has failed operations or a latency
above ``dr.latencyAlarmSeconds``, or a table's newest primary file is older than that and still not in
the replica; 0 otherwise.

``backfill`` starts S3 Batch Replication of what live replication never copies: objects written
before the rule existed, and objects whose replication failed. One S3 Batch Operations job per rule
(s3control CreateJob, operation S3ReplicateObject), in the stack's region, with a manifest S3
generates from the rule (objects eligible for replication whose status is none or failed), run as
the program's ``cb-<env>-dr-backfill`` role, manifests and completion reports written to
``cb-<env>-dr-reports-<account>-<region>``. Whoever runs it needs s3:CreateJob and iam:PassRole on
that role (docs/disaster-recovery.md, "Replicating what existed before"). ``--dry-run`` prints the
requests without sending them.

Exit codes: 0 ok; 1 findings; 2 usage or environment (a stack without ``dr.enabled``, no AWS
credentials or access: one line each).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudbridge import cli

METRICS_WINDOW = timedelta(minutes=30)  # the newest datapoint within this window is reported
PERIOD_SECONDS = 300
REPORTS_PREFIX = "batch-replication"
# The replication metrics S3 publishes per rule, with the statistic read: S3 User Guide, "Using S3
# Replication metrics" (published in the destination bucket's region).
METRICS = (
    ("pending", "OperationsPendingReplication", "Maximum"),
    ("pending_bytes", "BytesPendingReplication", "Maximum"),
    ("failed", "OperationsFailedReplication", "Sum"),
    ("latency", "ReplicationLatency", "Maximum"),
)


@dataclass
class Clients:
    """Where the command's AWS clients come from (tests put Stubber-wrapped clients here)."""

    make: Callable[[str, str], Any] = field(default=lambda service, region: _boto3_client(service, region))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


CLIENTS = Clients()


def _boto3_client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


@dataclass(frozen=True)
class Rule:
    """One replication rule of the stack: a source bucket into its replica in the DR region."""

    source: str
    purpose: str
    rule_id: str
    source_bucket: str
    replica_bucket: str


@dataclass(frozen=True)
class Target:
    """A stack with disaster recovery: its config, names in both regions, rules and tables."""

    stack: str
    config: Any  # components.config.StackConfig
    naming: Any  # components.naming.Naming
    rules: tuple[Rule, ...]

    @property
    def dr_region(self) -> str:
        """Where the replicas, their metrics and the DR catalog are."""
        return str(self.config.dr.region)

    @property
    def reports_bucket(self) -> str:
        """Where Batch Replication writes manifests and completion reports (components/dr.py)."""
        return self.naming.bucket("dr", "reports")

    @property
    def backfill_role_arn(self) -> str:
        """The role Batch Replication jobs run as (components/dr.py)."""
        return f"arn:aws:iam::{self.naming.account_id}:role/{self.naming.name('dr', 'backfill')}"


def load_target(stack: str, source: str | None = None) -> Target:
    """The stack's DR rules (of one source with ``source``); one line (exit 2) when the stack file, the
    source or the config is wrong, or the stack has no disaster recovery."""
    from cloudbridge import stackfile
    from components.naming import Naming
    from components.stack_config import parse_stack_config

    if source is not None:
        stackfile.source_entry(stack, source)  # names the sources it has when it is not there
    raw = stackfile.load(stack)
    model = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("cloudbridge:")}
    if "aws:region" in raw:
        model["region"] = raw["aws:region"]
    config = parse_stack_config(stack, model)
    if not config.dr.enabled:
        raise cli.CommandError(
            f"Pulumi.{stack}.yaml has no disaster recovery: cloudbridge:dr.enabled is off (docs/disaster-recovery.md)"
        )
    naming = Naming(config.environment, config.account.id, config.region)
    dr = naming.in_region(str(config.dr.region))
    purposes = ("raw", "meta", "fail") if config.dr.replicate_fail else ("raw", "meta")
    rules = tuple(
        Rule(s.name, purpose, naming.replication_rule_id(purpose, dr.region), naming.bucket(s.name, purpose),
             dr.bucket(s.name, purpose))
        for s in config.sources
        if source is None or s.name == source
        for purpose in purposes
    )  # fmt: skip
    return Target(stack, config, naming, rules)


# --- status ---------------------------------------------------------------------------------


def rule_metrics(cloudwatch: Any, rule: Rule, now: datetime, metrics: tuple = METRICS) -> dict[str, float | None]:
    """The newest value of each replication metric of a rule within the window (None: no data)."""
    dimensions = [
        {"Name": "SourceBucket", "Value": rule.source_bucket},
        {"Name": "DestinationBucket", "Value": rule.replica_bucket},
        {"Name": "RuleId", "Value": rule.rule_id},
    ]
    queries = [
        {
            "Id": key,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/S3", "MetricName": metric, "Dimensions": dimensions},
                "Period": PERIOD_SECONDS,
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for key, metric, stat in metrics
    ]
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=now - METRICS_WINDOW, EndTime=now, ScanBy="TimestampDescending"
    )
    values = {r["Id"]: (r.get("Values") or [None])[0] for r in answer.get("MetricDataResults", [])}
    return {key: values.get(key) for key, _, _ in metrics}


def reachable(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """A call's answer, or None and one line saying why the region did not answer (an outage)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(), None
    except (BotoCoreError, ClientError) as exc:
        return None, cli.explain(exc)


def rule_state(target: Target, rule: Rule, now: datetime) -> tuple[dict[str, float | None], str | None]:
    """A rule's metrics from the DR region, with failed operations from the primary region too."""
    values = rule_metrics(CLIENTS.make("cloudwatch", target.dr_region), rule, now)
    failed_at_source = [m for m in METRICS if m[0] == "failed"]
    cloudwatch = CLIENTS.make("cloudwatch", target.config.region)
    primary, problem = reachable(lambda: rule_metrics(cloudwatch, rule, now, tuple(failed_at_source)))
    if primary and primary["failed"] is not None:
        values["failed"] = max(values["failed"] or 0, primary["failed"])
    return values, problem


def rule_line(rule: Rule, metrics: dict[str, float | None], threshold: int) -> tuple[str, bool]:
    """One line for a rule, and whether it is a finding (failed operations, latency above the alarm)."""
    head = f"  rule {rule.source} {rule.rule_id} ({rule.source_bucket} -> {rule.replica_bucket}): "
    if all(v is None for v in metrics.values()):
        return head + "no metrics in the last 30 minutes (none published yet, or nothing replicated)", False
    number = lambda key: "-" if metrics[key] is None else f"{metrics[key]:.0f}"  # noqa: E731
    failed, latency = metrics["failed"] or 0, metrics["latency"] or 0
    finding = failed > 0 or latency > threshold
    text = (
        f"pending {number('pending')} operations / {number('pending_bytes')} bytes, failed {number('failed')}, "
        f"latency {number('latency')} s"
    )
    if finding:
        text += f" -- {'FAILED OPERATIONS' if failed > 0 else 'LATE'} (alarm above {threshold} s)"
    return head + text, finding


def _list(s3: Any, bucket: str, prefix: str, delimiter: bool) -> tuple[list[str], list[dict]]:
    """Every common prefix and object under ``prefix`` (paged)."""
    folders, objects, token = [], [], None
    while True:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            request["Delimiter"] = "/"
        if token:
            request["ContinuationToken"] = token
        page = s3.list_objects_v2(**request)
        folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        objects += page.get("Contents", [])
        if not page.get("IsTruncated"):
            return folders, objects
        token = page["NextContinuationToken"]


def newest(s3: Any, bucket: str, prefix: str) -> dict | None:
    """The newest object of a table's raw history (``<schema>/<table>/YYYY/MM/DD/<file>``): the newest
    day folder's newest object, or None when the table has none."""
    day = prefix
    for _ in ("year", "month", "day"):
        folders, _objects = _list(s3, bucket, day, delimiter=True)
        if not folders:
            return None
        day = max(folders)
    _folders, objects = _list(s3, bucket, day, delimiter=False)
    return max(objects, key=lambda o: (o["LastModified"], o["Key"])) if objects else None


def table_line(
    name: str, primary: dict | None, replica: dict | None, now: datetime, threshold: int
) -> tuple[str, bool]:
    """One line comparing a table's newest primary and replica keys, and whether the replica is behind."""
    head = f"  table {name}: "
    if primary is None:
        return head + "no raw history yet", False
    stamp = lambda o: o["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    if replica is not None and replica["Key"] == primary["Key"]:
        return head + f"replica has the newest file {primary['Key']} ({stamp(primary)})", False
    late = now - primary["LastModified"] > timedelta(seconds=threshold)
    held = f"replica's newest {replica['Key']} ({stamp(replica)})" if replica else "replica has none"
    verdict = f"BEHIND (older than {threshold} s)" if late else "replicating"
    return head + f"primary's newest {primary['Key']} ({stamp(primary)}), {held} -- {verdict}", late


def status(target: Target) -> int:
    """Print the rules' metrics and the tables' newest keys; FINDINGS when something is failing or behind."""
    from components.metadata_files import load_tables

    dr, now = target.config.dr, CLIENTS.now()
    rtc = "on" if dr.replication_time_control else "off"
    print(f"stack {target.stack}: replication into {target.dr_region} (RTC {rtc})")
    findings = 0
    for rule in target.rules:
        metrics, problem = rule_state(target, rule, now)
        line, finding = rule_line(rule, metrics, dr.latency_alarm_seconds)
        findings += finding
        print(line + (f" (primary region: {problem})" if problem else ""))
    primary_s3, replica_s3 = CLIENTS.make("s3", target.config.region), CLIENTS.make("s3", target.dr_region)
    tables = load_tables(target.config)
    for rule in (r for r in target.rules if r.purpose == "raw"):
        for meta in tables[rule.source]:
            prefix, name = f"{meta.schema}/{meta.table}/", f"{rule.source} {meta.table_id}"
            replica = newest(replica_s3, rule.replica_bucket, prefix)
            primary, problem = reachable(lambda: newest(primary_s3, rule.source_bucket, prefix))  # noqa: B023
            if problem:
                held = replica["Key"] if replica else "none"
                print(f"  table {name}: primary region unreachable ({problem}); replica's newest {held}")
                continue
            line, finding = table_line(name, primary, replica, now, dr.latency_alarm_seconds)
            findings += finding
            print(line)
    if findings:
        print(f"{findings} finding(s): docs/disaster-recovery.md, 'When replication fails or falls behind'")
        return cli.FINDINGS
    return cli.OK


# --- backfill -------------------------------------------------------------------------------


def job_request(target: Target, rule: Rule, token: str) -> dict[str, Any]:
    """CreateJob for one rule: S3ReplicateObject over a manifest S3 generates from the rule's
    configuration (objects eligible for replication, never replicated or failed)."""
    account, reports = target.naming.account_id, f"arn:aws:s3:::{target.reports_bucket}"
    prefix = f"{REPORTS_PREFIX}/{rule.source}-{rule.purpose}"
    return {
        "AccountId": account,
        "ConfirmationRequired": False,
        "Operation": {"S3ReplicateObject": {}},
        "Report": {
            "Bucket": reports,
            "Format": "Report_CSV_20180820",
            "Enabled": True,
            "Prefix": prefix,
            "ReportScope": "AllTasks",
        },
        "ClientRequestToken": token,
        "Description": f"CloudBridge {target.stack}: existing objects of {rule.source_bucket} ({rule.rule_id})",
        "Priority": 10,
        "RoleArn": target.backfill_role_arn,
        "ManifestGenerator": {
            "S3JobManifestGenerator": {
                "ExpectedBucketOwner": account,
                "SourceBucket": f"arn:aws:s3:::{rule.source_bucket}",
                "ManifestOutputLocation": {
                    "ExpectedManifestBucketOwner": account,
                    "Bucket": reports,
                    "ManifestPrefix": prefix,
                    "ManifestFormat": "S3InventoryReport_CSV_20211130",
                },
                "Filter": {"EligibleForReplication": True, "ObjectReplicationStatuses": ["NONE", "FAILED"]},
                "EnableManifestOutput": True,
            }
        },
    }


def backfill(target: Target, dry_run: bool) -> int:
    """One Batch Replication job per rule, in the stack's region (or the requests, with ``dry_run``)."""
    requests = [(rule, job_request(target, rule, str(uuid.uuid4()))) for rule in target.rules]
    if dry_run:
        for _rule, request in requests:
            print(json.dumps(request, indent=2, sort_keys=True))
        return cli.OK
    s3control = CLIENTS.make("s3control", target.config.region)
    print(f"stack {target.stack}: S3 Batch Replication of existing objects into {target.dr_region}")
    for rule, request in requests:
        job = s3control.create_job(**request)["JobId"]
        print(f"  rule {rule.source} {rule.rule_id}: job {job} started ({rule.source_bucket})")
    print(
        f"Follow them with: aws s3control describe-job --account-id {target.naming.account_id} --job-id <id> "
        f"--region {target.config.region}; completion reports in s3://{target.reports_bucket}/{REPORTS_PREFIX}/"
    )
    return cli.OK


def _parser() -> Any:
    parser = cli.parser("dr", __doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("action", choices=["status", "backfill"])
    parser.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml turns dr on")
    parser.add_argument("--source", help="one source in cloudbridge:sources (default: every source)")
    parser.add_argument("--dry-run", action="store_true", help="backfill: print the CreateJob requests only")
    return parser


@cli.command("dr")
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cloudbridge dr status|backfill --stack S [--source X] [--dry-run]``."""
    args = _parser().parse_args(argv)
    target = load_target(args.stack, args.source)
    if args.action == "status":
        return status(target)
    return backfill(target, args.dry_run)
