"""``python -m cloudbridge preflight`` for a DynamoDB source: are its tables ready to be captured?

Per table, through the DynamoDB API in the stack's region (``DescribeTable``,
``DescribeContinuousBackups``, ``ListTagsOfResource``): it exists and is ACTIVE, its stream is on with
``NEW_AND_OLD_IMAGES`` (the converter writes deletes from the old image and every other change
from the new one), point-in-time recovery is on (``ExportTableToPointInTime`` needs it), and it is
tagged ``cloudbridge:environment=<stack>`` (the deploy role exports only tables so tagged). Each
failure comes with the command that fixes it; exit 1 while anything blocks (docs/dynamodb.md,
"Prerequisites"). The deploy refuses the same tables (components/dynamodb_source.py).
"""

from __future__ import annotations

from typing import Any

from cloudbridge import cli
from cloudbridge.checks import Check
from functions.common.runtime import TAG_ENVIRONMENT

VIEW_TYPE = "NEW_AND_OLD_IMAGES"


def _stream_check(table: str, description: dict[str, Any]) -> Check:
    spec = description.get("StreamSpecification") or {}
    enable = (
        f"aws dynamodb update-table --table-name {table} "
        f"--stream-specification StreamEnabled=true,StreamViewType={VIEW_TYPE}"
    )
    if not spec.get("StreamEnabled"):
        return Check(f"{table} stream", False, "no stream", enable)
    view = spec.get("StreamViewType")
    if view != VIEW_TYPE:
        return Check(
            f"{table} stream",
            False,
            f"the stream carries {view}, the converter needs {VIEW_TYPE}",
            f"a stream's view type cannot change: disable it (update-table --stream-specification "
            f"StreamEnabled=false), then {enable}; the new stream starts empty, so deploy again to export anew",
        )
    return Check(f"{table} stream", True, f"{VIEW_TYPE}, {description.get('LatestStreamArn', '?')}")


def _recovery_check(table: str, backups: dict[str, Any]) -> Check:
    status = (
        backups.get("ContinuousBackupsDescription", {})
        .get("PointInTimeRecoveryDescription", {})
        .get("PointInTimeRecoveryStatus", "DISABLED")
    )
    return Check(
        f"{table} point-in-time recovery",
        status == "ENABLED",
        status,
        f"aws dynamodb update-continuous-backups --table-name {table} "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
    )


def _tag_check(dynamodb: Any, table: str, arn: str, environment: str) -> Check:
    tags = {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])}
    value = tags.get(TAG_ENVIRONMENT)
    return Check(
        f"{table} tagged for {environment}",
        value == environment,
        f"{TAG_ENVIRONMENT}={value}" if value else f"no {TAG_ENVIRONMENT} tag",
        f"aws dynamodb tag-resource --resource-arn {arn} --tags Key={TAG_ENVIRONMENT},Value={environment} "
        "(the deploy role exports only tables tagged for its environment)",
    )


def table_checks(dynamodb: Any, table: str, environment: str | None = None) -> list[Check]:
    """The checks of one table (a missing table is one failed check); with ``environment``, also the tag
    that lets that environment's deploy role export it."""
    try:
        description = dynamodb.describe_table(TableName=table)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        region = dynamodb.meta.region_name
        return [Check(f"{table} exists", False, f"no table {table} in {region}", "fix the name in tables")]
    status = description.get("TableStatus")
    checks = [Check(f"{table} exists", status == "ACTIVE", f"status {status}", "wait until the table is ACTIVE")]
    checks.append(_stream_check(table, description))
    checks.append(_recovery_check(table, dynamodb.describe_continuous_backups(TableName=table)))
    if environment is not None:
        checks.append(_tag_check(dynamodb, table, description["TableArn"], environment))
    return checks


def run(entry: dict[str, Any], stack: str, dynamodb: Any | None = None) -> int:
    """Check every table of a DynamoDB source entry; print each check; the exit code."""
    dynamodb = dynamodb or cli.aws_client("dynamodb", stack)
    tables = entry.get("tables") or []
    if not isinstance(tables, list) or not tables:
        raise cli.CommandError(f"source {entry.get('name')!r} lists no tables; add them under tables")
    checks = [check for table in tables for check in table_checks(dynamodb, str(table), stack)]
    for check in checks:
        print(check.line())
    blocking = [c for c in checks if not c.ok and c.blocking]
    print(f"{len(checks)} checks: {len(blocking)} blocking failure(s), 0 warning(s)")
    return cli.FINDINGS if blocking else cli.OK
