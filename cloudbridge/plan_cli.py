"""``python -m cloudbridge plan``: what a stack would deploy, as text for a reviewer.

One line per resource a reviewer looks for, with the settings that matter (TLS, capacity,
retention, validation mode, ...), read from the declared inputs — what would really be
sent — not from the config. ``--diff A B`` shows what differs between two stacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cloudbridge import cli
from cloudbridge.plan import Declared, Plan, evaluate, whole_numbers
from functions.common.runtime import ValidatorEnv


def describe(plan: Plan) -> list[str]:
    """What a stack deploys, with the settings a reviewer looks for, in a fixed order:
    platform first, then pipelines by name; within each, resources by kind then name.
    Built from the declared inputs (what would really be sent), not from the config."""
    lines = [f"stack {plan.stack}: {sum(r.custom for r in plan.resources)} resources"]
    lines += _platform_lines(plan)
    lines += _warehouse_lines(plan)
    lines += _endpoint_lines(plan)
    lines += _guard_lines(plan)
    lines += _dr_lines(plan)
    for pipeline in sorted(plan.of_type("cloudbridge:pipeline:ExtractionPipeline"), key=lambda r: r.name):
        children = sorted(plan.descendants(pipeline.urn), key=lambda r: (r.type, r.name))
        lines.append(f"  pipeline {pipeline.name}: {sum(r.custom for r in children)} resources")
        lines += [
            f"    {_PIPELINE_LINES[r.type](whole_numbers(r.given), r)}" for r in children if r.type in _PIPELINE_LINES
        ]
    lines.append("  by type:")
    lines += [f"    {n:4d}  {type_}" for type_, n in plan.counts().items()]
    return lines


def _retained(r: Declared) -> str:
    return " [retained on delete]" if r.retain_on_delete else ""


def _platform_lines(plan: Plan) -> list[str]:
    lines = []
    key = next((r for r in plan.of_type("aws:kms/key:Key")), None)
    if key:
        rotation = "on" if key.given.get("enableKeyRotation") else "OFF"
        lines.append(f"  platform: KMS key (rotation {rotation}){_retained(key)}")
    for workgroup in plan.of_type("aws:athena/workgroup:Workgroup"):
        if plan.region_of(workgroup) != plan.home_region:
            continue  # the DR region's: _dr_lines
        config = workgroup.given.get("configuration", {})
        lines.append(
            f"  Athena workgroup {workgroup.given.get('name')}: "
            f"{config.get('engineVersion', {}).get('selectedEngineVersion')}, "
            f"at most {config.get('bytesScannedCutoffPerQuery', 0) / 1024**3:.0f} GiB scanned per query"
        )
    return lines


def _endpoint_lines(plan: Plan) -> list[str]:
    lines = []
    for endpoint in sorted(plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"), key=lambda r: r.name):
        if endpoint.read:
            lines.append(f"  VPC endpoint {endpoint.name}: existing {endpoint.given['id']} (referenced, not managed)")
        else:
            lines.append(
                f"  VPC endpoint {endpoint.name}: creates {endpoint.given['serviceName']} "
                f"({endpoint.given['vpcEndpointType']})"
            )
    return lines


def _multi_az(given: dict[str, Any]) -> str:
    return ", multi-AZ" if given.get("multiAz") else ""


def _table_line(g: dict[str, Any], r: Declared) -> str:
    kind = "view" if g.get("tableType") == "VIRTUAL_VIEW" else "table"
    return f"{kind} {g.get('databaseName')}.{g.get('name')}"


def _function_line(g: dict[str, Any], r: Declared) -> str:
    env = (g.get("environment") or {}).get("variables", {})
    return (
        f"function {g.get('name')}: {g.get('memorySize')} MB, {g.get('timeout')} s, "
        f"validation {env.get(ValidatorEnv.VALIDATION_MODE, '-')}"
    )


# One line per resource of these types in a pipeline: (given inputs, resource) -> text.
_PIPELINE_LINES: dict[str, Callable[[dict[str, Any], Declared], str]] = {
    "aws:dms/endpoint:Endpoint": lambda g, r: (
        f"source endpoint: {g.get('engineName')} {g.get('databaseName')}, TLS {g.get('sslMode')}"
    ),
    "aws:dms/replicationConfig:ReplicationConfig": lambda g, r: (
        f"replication: serverless {g.get('replicationType')}, "
        f"up to {g.get('computeConfig', {}).get('maxCapacityUnits')} DCU{_multi_az(g.get('computeConfig', {}))}"
    ),
    "aws:dms/replicationInstance:ReplicationInstance": lambda g, r: (
        f"replication instance: {g.get('replicationInstanceClass')}, {g.get('allocatedStorage')} GB{_multi_az(g)}"
    ),
    "aws:dms/replicationTask:ReplicationTask": lambda g, r: f"replication task: {g.get('migrationType')}",
    "aws:s3/bucket:Bucket": lambda g, r: f"bucket {g.get('bucket')}{_retained(r)}",
    "aws:glue/catalogTable:CatalogTable": _table_line,
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda g, r: (
        f"alarm {g.get('name')}: {g.get('comparisonOperator')} {g.get('threshold')}, "
        f"missing data {g.get('treatMissingData')}"
    ),
    "aws:lambda/function:Function": _function_line,
    "aws:cloudwatch/logGroup:LogGroup": lambda g, r: f"log group {g.get('name')}: {g.get('retentionInDays')} days",
    # A DynamoDB source's capture (docs/dynamodb.md).
    "aws:dynamodb/tableExport:TableExport": lambda g, r: (
        f"export {str(g.get('tableArn')).rsplit('/', 1)[-1]}: {g.get('exportType')} {g.get('exportFormat')}, "
        f"{g.get('s3SseAlgorithm')} -> s3://{g.get('s3Bucket')}/{g.get('s3Prefix')}"
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": lambda g, r: (
        f"stream {str(g.get('eventSourceArn')).split(':table/')[-1].split('/')[0]}: {g.get('startingPosition')}, "
        f"batch {g.get('batchSize')}, retries {g.get('maximumRetryAttempts')}, max age "
        f"{g.get('maximumRecordAgeInSeconds')} s, bisect {g.get('bisectBatchOnFunctionError')}, on failure -> "
        f"{str(((g.get('destinationConfig') or {}).get('onFailure') or {}).get('destinationArn')).rsplit(':', 1)[-1]}"
        if ":table/" in str(g.get("eventSourceArn"))
        else f"queue mapping {str(g.get('eventSourceArn')).rsplit(':', 1)[-1]}: batch {g.get('batchSize')}"
    ),
}


def _guard_lines(plan: Plan) -> list[str]:
    """The deletion guard (components/storage.py): which buckets deny deletion, and to whom they allow it."""
    from components.storage import GUARD_SID_PREFIX

    guarded, exempt, actions = [], set(), set()
    for policy in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        statements = json.loads(policy.given.get("policy") or "{}").get("Statement", [])
        guard = [st for st in statements if st.get("Sid", "").startswith(GUARD_SID_PREFIX)]
        if guard:
            guarded.append(policy.name.removesuffix("-policy"))
            actions |= {a for st in guard for a in st["Action"]}
            exempt |= {st["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] for st in guard}
    if not guarded:
        return ["  deletion guard: off (cloudbridge:dataProtection.deletionGuard)"]
    return [
        f"  deletion guard on {len(guarded)} buckets ({', '.join(sorted(guarded))}): {', '.join(sorted(actions))} "
        f"denied to all but {', '.join(sorted(exempt))}"
    ]


def _dr_lines(plan: Plan) -> list[str]:
    """The DR region (components/dr.py): replication rules, replicas, catalog, topic and alarms there."""
    components = plan.of_type("cloudbridge:dr:DisasterRecovery")
    if not components:
        return ["  disaster recovery: off (cloudbridge:dr.enabled)"]
    children = sorted(plan.descendants(components[0].urn), key=lambda r: (r.type, r.name))
    [region] = {plan.region_of(r) for r in children if r.type == "aws:s3/bucket:Bucket"} - {plan.home_region}
    lines = [f"  disaster recovery into {region}: {sum(r.custom for r in children)} resources"]
    for r in children:
        g = whole_numbers(r.given)
        if r.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig":
            lines += [f"    {_replication_rule(rule)}" for rule in g.get("rules", [])]
        elif r.type in _DR_LINES:
            lines.append(f"    {_DR_LINES[r.type](g, r)}")
    return lines


def _replication_rule(rule: dict[str, Any]) -> str:
    destination = rule.get("destination", {})
    rtc = destination.get("replicationTime", {})
    timing = f"RTC {rtc.get('time', {}).get('minutes')} min" if rtc.get("status") == "Enabled" else "no RTC"
    sse = rule.get("sourceSelectionCriteria", {}).get("sseKmsEncryptedObjects", {}).get("status") == "Enabled"
    markers = rule.get("deleteMarkerReplication", {}).get("status") == "Enabled"
    return (
        f"replication rule {rule.get('id')} -> {destination.get('bucket', '').removeprefix('arn:aws:s3:::')}: "
        f"{'SSE-KMS objects included' if sse else 'SSE-KMS objects LEFT OUT'}, "
        f"delete markers {'replicated' if markers else 'not replicated'}, {timing}"
    )


_DR_LINES: dict[str, Callable[[dict[str, Any], Declared], str]] = {
    "aws:s3/bucket:Bucket": lambda g, r: f"bucket {g.get('bucket')}{_retained(r)}",
    "aws:kms/key:Key": lambda g, r: f"KMS key (rotation {'on' if g.get('enableKeyRotation') else 'OFF'}){_retained(r)}",
    "aws:sns/topic:Topic": lambda g, r: f"alerts topic {g.get('name')}",
    "aws:lambda/function:Function": lambda g, r: f"function {g.get('name')}",
    "aws:iam/role:Role": lambda g, r: f"role {g.get('name')}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": _PIPELINE_LINES["aws:cloudwatch/metricAlarm:MetricAlarm"],
    "aws:glue/catalogDatabase:CatalogDatabase": lambda g, r: f"Glue database {g.get('name')} at {g.get('locationUri')}",
    "aws:glue/catalogTable:CatalogTable": _table_line,
    "aws:athena/workgroup:Workgroup": lambda g, r: f"Athena workgroup {g.get('name')}",
}


def _warehouse_lines(plan: Plan) -> list[str]:
    """The Redshift warehouse in a few lines, or that it is off."""
    workgroups = plan.of_type("aws:redshiftserverless/workgroup:Workgroup")
    if not workgroups:
        return ["  Redshift warehouse: off (cloudbridge:analytics.redshift.enabled)"]
    lines = []
    for workgroup in workgroups:
        given = workgroup.given
        most = given.get("maxCapacity")
        capacity = f"{int(given.get('baseCapacity', 0))}-{int(most) if most else 'default'} RPU"
        access = "public" if given.get("publiclyAccessible") else "private"
        lines.append(f"  Redshift warehouse {given.get('workgroupName')}: serverless, {capacity}, {access}")
    for namespace in plan.of_type("aws:redshiftserverless/namespace:Namespace"):
        given = namespace.given
        secret = "managed by Secrets Manager" if given.get("manageAdminPassword") else "SET IN STATE"
        lines.append(
            f"    namespace {given.get('namespaceName')}: database {given.get('dbName')}, admin password {secret}"
        )
    for invocation in sorted(plan.of_type("aws:lambda/invocation:Invocation"), key=lambda r: r.name):
        payload = json.loads(invocation.given.get("input") or "{}")
        lines.append(f"    source {payload.get('source')}: {len(payload.get('statements', []))} statements")
        for sql in payload.get("statements", []):
            lines.append(f"      {sql.split(' AS ', 1)[0] if sql.startswith('CREATE OR REPLACE VIEW') else sql}")
    return lines


@cli.command("plan")
def main(argv: list[str] | None = None) -> int:
    """``python -m cloudbridge plan``: print what a stack would deploy, or how two stacks differ."""
    import difflib

    parser = cli.parser("plan", __doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to evaluate (default: dev)")
    parser.add_argument("--diff", nargs=2, metavar=("STACK_A", "STACK_B"), help="what differs between two stacks")
    parser.add_argument("--outputs", action="store_true", help="also print the stack outputs")
    parser.add_argument(
        "--against",
        metavar="FILE_OR_REF",
        help="what changes from the stack as it was (an older stack file, or a git ref), "
        "flagging what replaces, stops or reloads a replication (docs/replacement.md); exit 1 when DMS "
        "would refuse a change to a started replication, or a source's partition layout changes",
    )
    args = parser.parse_args(argv)
    from cloudbridge import replacement
    from cloudbridge.contract import gate
    from cloudbridge.stackfile import load

    wanted = args.diff or [args.stack]
    described, plans = {}, {}
    for stack in wanted:
        load(stack)  # a missing or broken stack file: one line, not a traceback
        plan = plans[stack] = evaluate(stack)
        described[stack] = describe(plan)
    if gate.refused(plans.values()):  # a value AWS would refuse: one line each, exit 1
        return cli.FINDINGS
    if args.against:
        baseline = replacement.baseline_config(args.stack, args.against)
        if baseline is None:
            print(f"replication impact: {args.stack} is a new stack at {args.against}: nothing runs yet")
            return 0
        before = evaluate(args.stack, baseline)
        lines = list(difflib.unified_diff(describe(before), described[args.stack], "before", "after", lineterm="", n=0))
        print("\n".join(lines + replacement.report(before, plan)))
        # A change DMS refuses on a started replication fails the deploy and leaves it stopped; a
        # new partition layout hides the history already written.
        blocking = [c for c in replacement.impact(before, plan) if c.effect in replacement.BLOCKING]
        return cli.FINDINGS if blocking else 0
    if args.diff:
        a, b = args.diff
        lines = list(difflib.unified_diff(described[a], described[b], fromfile=a, tofile=b, lineterm="", n=0))
        print("\n".join(lines) if lines else f"{a} and {b} deploy the same")
        print("\n".join(replacement.report(plans[a], plans[b])))
        return 0
    print("\n".join(described[args.stack]))
    if args.outputs:
        print(json.dumps(plan.outputs, indent=2, sort_keys=True, default=str))
    return 0
