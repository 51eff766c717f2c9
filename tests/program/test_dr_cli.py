"""``python -m cloudbridge dr status|backfill`` (cloudbridge/dr.py) on the fixture prod stack, which turns
dr on. moto neither replicates objects nor publishes replication metrics: every AWS answer here is
botocore's Stubber, with the exact parameters each call must carry (checked against botocore's models
by the Stubber itself). Bucket names, rule ids and regions are derived from the parsed stack file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cloudbridge import cli, dr
from cloudbridge.metadata import committed
from cloudbridge.plan import PROJECT_ROOT, read_stack_config
from components.naming import Naming
from components.workspace import metadata_root

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
STACK = "prod"


def naming() -> Naming:
    config = read_stack_config(STACK)
    return Naming(STACK, config["cloudbridge:account"]["id"], config["aws:region"])


def regions() -> tuple[str, str]:
    config = read_stack_config(STACK)
    return config["aws:region"], config["cloudbridge:dr"]["region"]


def sources() -> list[str]:
    return [s["name"] for s in read_stack_config(STACK)["cloudbridge:sources"]]


class Clients:
    """One Stubber-wrapped client per (service, region), handed to the command as it asks for them."""

    def __init__(self):
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.clients: dict[tuple[str, str], object] = {}

    def stub(self, service: str, region: str) -> Stubber:
        key = (service, region)
        if key not in self.stubs:
            client = boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
            self.clients[key], self.stubs[key] = client, Stubber(client)
            self.stubs[key].activate()
        return self.stubs[key]

    def make(self, service: str, region: str):
        self.stub(service, region)
        return self.clients[(service, region)]

    def done(self):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
            stub.deactivate()


@pytest.fixture
def aws(monkeypatch):
    clients = Clients()
    monkeypatch.setattr(dr, "CLIENTS", dr.Clients(make=clients.make, now=lambda: NOW))
    monkeypatch.setattr(cli, "aws_client", lambda service, stack: pytest.fail("the stack-region factory was used"))
    yield clients
    clients.done()


def metrics(clients: Clients, rule: dr.Rule, values: dict[str, float | None], failed_at_source=None):
    """The GetMetricData answers for one rule: every metric in the DR region, then failed operations in
    the primary region (``failed_at_source``: its value; an exception instance: the region's error)."""
    primary, dr_region = regions()
    expect_metrics(clients.stub("cloudwatch", dr_region), rule, values, dr.METRICS)
    failed = tuple(m for m in dr.METRICS if m[0] == "failed")
    if isinstance(failed_at_source, str):
        clients.stub("cloudwatch", primary).add_client_error("get_metric_data", failed_at_source)
    else:
        expect_metrics(clients.stub("cloudwatch", primary), rule, {"failed": failed_at_source}, failed)


def expect_metrics(stub: Stubber, rule: dr.Rule, values: dict[str, float | None], queried: tuple):
    results = [
        {"Id": key, "Label": key, "Timestamps": [NOW] if values.get(key) is not None else [],
         "Values": [values[key]] if values.get(key) is not None else [], "StatusCode": "Complete"}
        for key, _, _ in queried
    ]  # fmt: skip
    dimensions = [
        {"Name": "SourceBucket", "Value": rule.source_bucket},
        {"Name": "DestinationBucket", "Value": rule.replica_bucket},
        {"Name": "RuleId", "Value": rule.rule_id},
    ]
    expected = {
        "MetricDataQueries": [
            {
                "Id": key,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/S3", "MetricName": metric, "Dimensions": dimensions},
                    "Period": 300,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            for key, metric, stat in queried
        ],
        "StartTime": NOW - timedelta(minutes=30),
        "EndTime": NOW,
        "ScanBy": "TimestampDescending",
    }
    stub.add_response("get_metric_data", {"MetricDataResults": results}, expected)


def history(stub: Stubber, bucket: str, prefix: str, day: str | None, objects: list[tuple[str, datetime]]):
    """The listings ``newest`` makes: year, month, day folders (by Delimiter), then the day's objects."""
    if day is None:
        stub.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"})
        return
    year, month, date = day.split("/")
    level = prefix
    for part in (year, month, date):
        child = f"{level}{part}/"
        stub.add_response(
            "list_objects_v2",
            {"CommonPrefixes": [{"Prefix": f"{level}0000/"}, {"Prefix": child}], "KeyCount": 2},
            {"Bucket": bucket, "Prefix": level, "Delimiter": "/"},
        )
        level = child
    contents = [{"Key": f"{level}{name}", "LastModified": when, "Size": 10} for name, when in objects]
    stub.add_response(
        "list_objects_v2",
        {"Contents": contents[:1], "IsTruncated": True, "NextContinuationToken": "t1", "KeyCount": 1},
        {"Bucket": bucket, "Prefix": level},
    )
    stub.add_response(
        "list_objects_v2",
        {"Contents": contents[1:], "IsTruncated": False, "KeyCount": len(contents) - 1},
        {"Bucket": bucket, "Prefix": level, "ContinuationToken": "t1"},
    )


def tables(source: str):
    return sorted(committed(metadata_root(), source).values(), key=lambda m: m.table_id)


def run(capsys, *args):
    code = dr.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def expect_tables(aws: Clients, behind: str | None = None):
    """Every table of every source: the primary's and the replica's newest files (``behind``: one table
    whose replica lacks the newest file, written an hour ago)."""
    primary, dr_region = regions()
    n = naming()
    for source in sources():
        for meta in tables(source):
            prefix = f"{meta.schema}/{meta.table}/"
            newest = ("b.parquet", NOW - timedelta(hours=1))
            older = ("a.parquet", NOW - timedelta(hours=2))
            history(aws.stub("s3", primary), n.bucket(source, "raw"), prefix, "2026/12/04", [older, newest])
            replica = [older] if meta.table_id == behind else [older, newest]
            history(aws.stub("s3", dr_region), n.in_region(dr_region).bucket(source, "raw"), prefix, "2026/12/04",
                    replica)  # fmt: skip


def test_status_prints_one_line_per_rule_and_per_table_and_exits_0(aws, capsys):
    target = dr.load_target(STACK)
    assert [r.purpose for r in target.rules] == ["raw", "meta"] * len(sources())
    for rule in target.rules:
        metrics(aws, rule, {"pending": 2, "pending_bytes": 4096, "failed": 0, "latency": 12})
    expect_tables(aws)
    code, out, err = run(capsys, "status", "--stack", STACK)
    assert code == 0, out + err
    lines = out.splitlines()
    _, dr_region = regions()
    assert lines[0] == f"stack {STACK}: replication into {dr_region} (RTC on)"
    rule_lines = [line for line in lines if line.startswith("  rule ")]
    assert len(rule_lines) == len(target.rules)
    assert all("pending 2 operations / 4096 bytes, failed 0, latency 12 s" in line for line in rule_lines)
    table_lines = [line for line in lines if line.startswith("  table ")]
    assert len(table_lines) == sum(len(tables(s)) for s in sources())
    assert all("replica has the newest file" in line and "/2026/12/04/b.parquet" in line for line in table_lines)


def test_failed_operations_a_late_rule_and_a_table_behind_are_findings(aws, capsys):
    target = dr.load_target(STACK)
    raw, meta = target.rules[0], target.rules[1]
    metrics(aws, raw, {"pending": 0, "pending_bytes": 0, "failed": 0, "latency": 40}, failed_at_source=3)
    metrics(aws, meta, {"pending": 9, "pending_bytes": 100, "failed": 0, "latency": 5000})
    for rule in target.rules[2:]:
        metrics(aws, rule, {})
    behind = tables(sources()[0])[0].table_id
    expect_tables(aws, behind=behind)
    code, out, _ = run(capsys, "status", "--stack", STACK)
    assert code == cli.FINDINGS
    assert f"rule {raw.source} {raw.rule_id}" in out and "FAILED OPERATIONS" in out
    assert f"rule {meta.source} {meta.rule_id}" in out and "LATE (alarm above 900 s)" in out
    [line] = [line for line in out.splitlines() if f"table {sources()[0]} {behind}:" in line]
    assert "BEHIND" in line and "replica's newest" in line and "a.parquet" in line


def test_a_rule_without_metrics_and_a_table_without_history_are_not_findings(aws, capsys):
    target = dr.load_target(STACK)
    for rule in target.rules:
        metrics(aws, rule, {})
    primary, dr_region = regions()
    n = naming()
    for source in sources():
        for meta in tables(source):
            prefix = f"{meta.schema}/{meta.table}/"
            history(aws.stub("s3", primary), n.bucket(source, "raw"), prefix, None, [])
            history(aws.stub("s3", dr_region), n.in_region(dr_region).bucket(source, "raw"), prefix, None, [])
    code, out, _ = run(capsys, "status", "--stack", STACK)
    assert code == 0 and "no metrics in the last 30 minutes" in out and "no raw history yet" in out


def test_a_primary_region_that_does_not_answer_is_said_and_the_replica_still_reported(aws, capsys):
    """During an outage of the primary region: the DR region's metrics and replicas are still read."""
    target = dr.load_target(STACK)
    for rule in target.rules:
        metrics(aws, rule, {"pending": 0, "pending_bytes": 0, "failed": 0, "latency": 30}, "ServiceUnavailable")
    primary, dr_region = regions()
    n = naming()
    for source in sources():
        for meta in tables(source):
            prefix = f"{meta.schema}/{meta.table}/"
            newest = [("b.parquet", NOW - timedelta(hours=1))]
            history(aws.stub("s3", dr_region), n.in_region(dr_region).bucket(source, "raw"), prefix, "2026/12/04",
                    newest)  # fmt: skip
            aws.stub("s3", primary).add_client_error("list_objects_v2", "ServiceUnavailable")
    code, out, _ = run(capsys, "status", "--stack", STACK)
    assert code == 0, out
    rule_lines = [line for line in out.splitlines() if line.startswith("  rule ")]
    assert all("latency 30 s (primary region: AWS GetMetricData failed: ServiceUnavailable" in x for x in rule_lines)
    table_lines = [line for line in out.splitlines() if line.startswith("  table ")]
    assert table_lines and all("primary region unreachable" in x and "b.parquet" in x for x in table_lines)


def test_backfill_starts_one_batch_replication_job_per_rule(aws, capsys):
    primary, dr_region = regions()
    n = naming()
    target = dr.load_target(STACK)
    reports = f"arn:aws:s3:::{n.bucket('dr', 'reports')}"
    for i, rule in enumerate(target.rules):
        prefix = f"batch-replication/{rule.source}-{rule.purpose}"
        expected = {
            "AccountId": n.account_id,
            "ConfirmationRequired": False,
            "Operation": {"S3ReplicateObject": {}},
            "Report": {"Bucket": reports, "Format": "Report_CSV_20180820", "Enabled": True, "Prefix": prefix,
                       "ReportScope": "AllTasks"},
            "ClientRequestToken": ANY,
            "Description": ANY,
            "Priority": 10,
            "RoleArn": f"arn:aws:iam::{n.account_id}:role/{n.name('dr', 'backfill')}",
            "ManifestGenerator": {
                "S3JobManifestGenerator": {
                    "ExpectedBucketOwner": n.account_id,
                    "SourceBucket": f"arn:aws:s3:::{n.bucket(rule.source, rule.purpose)}",
                    "ManifestOutputLocation": {
                        "ExpectedManifestBucketOwner": n.account_id,
                        "Bucket": reports,
                        "ManifestPrefix": prefix,
                        "ManifestFormat": "S3InventoryReport_CSV_20211130",
                    },
                    "Filter": {"EligibleForReplication": True, "ObjectReplicationStatuses": ["NONE", "FAILED"]},
                    "EnableManifestOutput": True,
                }
            },
        }  # fmt: skip
        aws.stub("s3control", primary).add_response("create_job", {"JobId": f"job-{i}"}, expected)
    code, out, err = run(capsys, "backfill", "--stack", STACK)
    assert code == 0, err
    assert all(f"job job-{i} started" in out for i in range(len(target.rules)))
    assert ("cloudwatch", dr_region) not in aws.stubs  # nothing but CreateJob


def test_backfill_dry_run_prints_the_requests_and_calls_nothing(aws, capsys):
    code, out, _ = run(capsys, "backfill", "--stack", STACK, "--source", sources()[0], "--dry-run")
    assert code == 0 and not aws.stubs
    requests = [json.loads(chunk) for chunk in out.replace("}\n{", "}\x00{").split("\x00")]
    assert [r["ManifestGenerator"]["S3JobManifestGenerator"]["SourceBucket"] for r in requests] == [
        f"arn:aws:s3:::{naming().bucket(sources()[0], p)}" for p in ("raw", "meta")
    ]


def test_a_stack_without_dr_is_one_line(capsys):
    code, _, err = run(capsys, "status", "--stack", "dev")
    assert code == 2 and err.strip() == (
        "cloudbridge dr: Pulumi.dev.yaml has no disaster recovery: cloudbridge:dr.enabled is off "
        "(docs/disaster-recovery.md)"
    )


def test_an_unknown_source_is_one_line(capsys):
    code, _, err = run(capsys, "status", "--stack", STACK, "--source", "nosuch")
    assert code == 2 and err.startswith("cloudbridge dr: ") and "no source 'nosuch'" in err


@pytest.mark.parametrize("action", ["status", "backfill"])
def test_no_credentials_is_one_line(action):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                 AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "cloudbridge", "dr", action, "--stack", STACK],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=clean, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip() == f"cloudbridge dr: {cli.NO_CREDENTIALS}"


def test_the_plan_shows_the_dr_region_and_the_deletion_guard():
    done = subprocess.run(
        [sys.executable, "-m", "cloudbridge", "plan", "--stack", STACK],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    _, dr_region = regions()
    out = done.stdout
    assert f"disaster recovery into {dr_region}" in out
    for source in sources():
        assert f"replication rule raw-to-{dr_region} -> {naming().in_region(dr_region).bucket(source, 'raw')}" in out
        assert f"alarm {naming().in_region(dr_region).name(source, 'dr', 'raw', 'failed')}" in out
        assert f"Glue database {naming().glue_database(source)} at s3://" in out
    assert f"alerts topic {naming().name('dr', 'alerts')}" in out
    assert "deletion guard on" in out and naming().break_glass_role_arn in out
